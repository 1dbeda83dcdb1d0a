/*
 * Showing a finished run: the timing breakdown, each input's labels as bars sorted by
 * score (the winner highlighted, truncation noted), a table view, a side-by-side
 * comparison with differing predictions marked, and CSV/JSON export.
 *
 * ctx.state.last = {inputs: [text], sides: [{side: {model, version}, job: <API job>}]}
 */
import { announce, make, roundMs } from "./util.js";

function ms(t, value) {
  return value === null || value === undefined ? "–" : t("ms", { n: roundMs(value) });
}

function sideName(item) {
  return `${item.side.model} v${item.job.version}`;
}

export function renderTiming(ctx, done) {
  const { t, el } = ctx;
  el.timing.textContent = "";
  done.forEach((item) => {
    const timing = item.job.timing || {};
    const box = make("div", "pg-timing-row");
    box.appendChild(make("p", "pg-timing-title", sideName(item)));
    const bar = make("div", "pg-timing-bar");
    bar.setAttribute("aria-hidden", "true");
    const other = Math.max((timing.total_ms || 0) - (timing.queued_ms || 0) - (timing.inference_ms || 0), 0);
    [["queue", timing.queued_ms], ["inference", timing.inference_ms], ["other", other]].forEach(([name, value]) => {
      const segment = make("span", `pg-timing-${name}`);
      segment.style.flexGrow = String(Math.max(value || 0, 0)); // the CSSOM, which the CSP allows
      bar.appendChild(segment);
    });
    box.appendChild(bar);
    const list = make("dl", "pg-timing-list");
    [
      ["queue", t("timing_queue"), ms(t, timing.queued_ms)],
      ["inference", t("timing_inference"), ms(t, timing.inference_ms)],
      ["total", t("timing_total"), ms(t, timing.total_ms)],
      ["batch", t("timing_batch"), String(item.job.batch_size || "–")],
    ].forEach(([name, term, value]) => {
      const group = make("div", `pg-timing-${name}`);
      group.appendChild(make("dt", null, term));
      group.appendChild(make("dd", null, value));
      list.appendChild(group);
    });
    box.appendChild(list);
    el.timing.appendChild(box);
  });
}

/* Label columns in the model's own order: a job read back from the database may list its
 * scores in another order (PostgreSQL's jsonb does not keep the order of keys). */
function labelsOf(ctx, item) {
  const scores = Object.keys(item.job.results[0].scores || {});
  const model = ctx.models[item.side.model];
  const known = model ? model.labels.filter((label) => scores.includes(label)) : [];
  return known.length === scores.length ? known : scores;
}

function sortedScores(result) {
  return Object.entries(result.scores || {})
    .map(([label, score]) => ({ label, score }))
    .sort((x, y) => y.score - x.score);
}

function scoreList(ctx, result, index) {
  const { t, percents } = ctx;
  const list = make("ul", "pg-scores");
  list.setAttribute("aria-label", t("scores_for", { n: index + 1 }));
  sortedScores(result).forEach((entry) => {
    const winner = entry.label === result.label;
    const item = make("li", winner ? "pg-score is-winner" : "pg-score");
    item.appendChild(make("span", "pg-score-label", entry.label));
    const meter = document.createElement("meter");
    meter.min = 0;
    meter.max = 1;
    meter.value = entry.score;
    meter.setAttribute("aria-hidden", "true"); // the percentage beside it says the same
    item.appendChild(meter);
    item.appendChild(make("span", "pg-score-value", percents.format(entry.score)));
    if (winner) {
      item.appendChild(make("span", "badge badge-success pg-top", t("top_label")));
    }
    list.appendChild(item);
  });
  return list;
}

function differs(last, index) {
  const [a, b] = last.sides;
  return Boolean(b) && a.job.results[index].label !== b.job.results[index].label;
}

function summary(ctx) {
  const { t } = ctx;
  const last = ctx.state.last;
  if (last.sides.length < 2) {
    return t("results_count", { n: last.inputs.length });
  }
  const different = last.inputs.filter((text, i) => differs(last, i)).length;
  return different
    ? t("compare_differ", { n: different, total: last.inputs.length })
    : t("compare_agree", { n: last.inputs.length });
}

export function renderResults(ctx) {
  const { t, el, root } = ctx;
  const last = ctx.state.last;
  el.results.textContent = "";
  el.resultTools.hidden = false;
  el.summary.textContent = summary(ctx);
  root.querySelectorAll("[data-view]").forEach((toggle) => {
    toggle.setAttribute("aria-pressed", toggle.getAttribute("data-view") === ctx.state.view ? "true" : "false");
  });
  if (ctx.state.view === "table") {
    el.results.appendChild(resultTable(ctx));
    return;
  }
  const compared = last.sides.length > 1;
  const list = make("ol", "pg-result-list");
  last.inputs.forEach((text, i) => {
    const item = make("li", differs(last, i) ? "pg-result card is-different" : "pg-result card");
    const head = make("div", "pg-result-head");
    head.appendChild(make("span", "pg-index", `#${i + 1}`));
    head.appendChild(make("q", "pg-input-text", text));
    if (differs(last, i)) {
      head.appendChild(make("span", "badge badge-warning", t("differs")));
    }
    item.appendChild(head);
    const grid = make("div", compared ? "pg-compare-grid" : "");
    last.sides.forEach((side) => {
      const result = side.job.results[i];
      const column = make("div", "pg-side");
      if (compared) {
        column.appendChild(make("p", "pg-side-title", sideName(side)));
      }
      column.appendChild(scoreList(ctx, result, i));
      if (result.truncated) {
        column.appendChild(make("p", "pg-truncated small", t("truncated")));
      }
      grid.appendChild(column);
    });
    item.appendChild(grid);
    list.appendChild(item);
  });
  el.results.appendChild(list);
}

function resultTable(ctx) {
  const { t, percents } = ctx;
  const last = ctx.state.last;
  const compared = last.sides.length > 1;
  const labels = compared ? [] : labelsOf(ctx, last.sides[0]);
  const wrap = make("div", "table-wrap");
  wrap.tabIndex = 0;
  const table = make("table", "table pg-table");
  table.appendChild(make("caption", "visually-hidden", t("table_caption")));
  const columns = ["#", t("col_input")].concat(
    compared
      ? last.sides.map(sideName).concat([t("col_same")])
      : [t("col_label"), t("col_score")].concat(labels),
  );
  const head = make("tr");
  columns.forEach((name) => {
    const th = make("th", null, name);
    th.scope = "col";
    head.appendChild(th);
  });
  table.appendChild(make("thead")).appendChild(head);
  const body = make("tbody");
  last.inputs.forEach((text, i) => {
    const row = make("tr", differs(last, i) ? "is-different" : "");
    const number = make("th", "num", String(i + 1));
    number.scope = "row";
    row.appendChild(number);
    const input = make("td", "pg-table-input", text);
    if (last.sides.some((side) => side.job.results[i].truncated)) {
      input.appendChild(make("span", "pg-truncated small", ` ${t("truncated_short")}`));
    }
    row.appendChild(input);
    if (compared) {
      last.sides.forEach((side) => {
        const r = side.job.results[i];
        row.appendChild(make("td", null, `${r.label} (${percents.format(r.score)})`));
      });
      const same = make("td", null, differs(last, i) ? "" : t("same"));
      if (differs(last, i)) {
        same.appendChild(make("span", "badge badge-warning", t("differs")));
      }
      row.appendChild(same);
    } else {
      const r = last.sides[0].job.results[i];
      row.appendChild(make("td", "pg-winner", r.label));
      row.appendChild(make("td", "num", percents.format(r.score)));
      labels.forEach((label) => row.appendChild(make("td", "num", percents.format(r.scores[label]))));
    }
    body.appendChild(row);
  });
  table.appendChild(body);
  wrap.appendChild(table);
  return wrap;
}

function csvCell(value) {
  let text = String(value === null || value === undefined ? "" : value);
  if (/^[=+\-@\t\r]/.test(text)) {
    text = `'${text}`; // a spreadsheet must not read an input as a formula
  }
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvRows(ctx, last) {
  if (last.sides.length > 1) {
    const [a, b] = last.sides;
    const rows = [["input", `${sideName(a)} label`, "score", `${sideName(b)} label`, "score", "differs"]];
    last.inputs.forEach((text, i) => {
      const ra = a.job.results[i];
      const rb = b.job.results[i];
      rows.push([text, ra.label, ra.score, rb.label, rb.score, differs(last, i) ? "yes" : "no"]);
    });
    return rows;
  }
  const results = last.sides[0].job.results;
  const labels = labelsOf(ctx, last.sides[0]);
  const rows = [["input", "label", "score", ...labels, "truncated"]];
  last.inputs.forEach((text, i) => {
    const r = results[i];
    rows.push([text, r.label, r.score, ...labels.map((label) => r.scores[label]), r.truncated ? "yes" : "no"]);
  });
  return rows;
}

export function exportData(ctx, kind) {
  const last = ctx.state.last;
  if (!last) {
    return;
  }
  let content;
  if (kind === "json") {
    content = JSON.stringify({
      inputs: last.inputs,
      runs: last.sides.map((s) => ({
        model: s.side.model, version: s.job.version, id: s.job.id, results: s.job.results,
        timing: Object.fromEntries(Object.entries(s.job.timing || {}).map(([key, value]) => [key, roundMs(value)])),
      })),
    }, null, 2);
  } else {
    content = csvRows(ctx, last).map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
  }
  const blob = new Blob([content], { type: kind === "json" ? "application/json" : "text/csv;charset=utf-8" });
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `playground-${last.sides[0].side.model}-${stamp}.${kind}`;
  document.body.appendChild(a);
  a.click();
  window.setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  announce(ctx.t("exported", { name: a.download }));
}
