/*
 * The signed-in developer's recent runs (/playground/api/runs/): model, first input,
 * label, time; re-run, share (a read-only page for others) and delete.
 */
import { announce, api, button, make } from "./util.js";

export function initHistory(ctx, { rerun, showProblem }) {
  const { t, el, config, lang } = ctx;
  const list = el.history;
  const empty = el.historyEmpty;
  const relative = Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(lang, { numeric: "auto" }) : null;
  const dates = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
  let latest = null; // the run just recorded, until its job finishes

  function when(iso) {
    const date = new Date(iso);
    const seconds = Math.round((date.getTime() - Date.now()) / 1000);
    if (relative && Math.abs(seconds) < 60) {
      return relative.format(seconds, "second");
    }
    if (relative && Math.abs(seconds) < 3600) {
      return relative.format(Math.round(seconds / 60), "minute");
    }
    if (relative && Math.abs(seconds) < 86400) {
      return relative.format(Math.round(seconds / 3600), "hour");
    }
    return dates.format(date);
  }

  /* The run's sharing state as the server has it: the link, a copy button and "Stop
   * sharing" while it is shared; nothing while it is not. */
  function sharePanel(run) {
    const panel = make("div", "pg-share");
    panel.hidden = !run.shared;
    if (!run.shared) {
      return panel;
    }
    const field = make("input", "pg-share-url");
    field.type = "text";
    field.readOnly = true;
    field.value = run.page_url;
    field.id = `pg-share-${run.id}`;
    field.setAttribute("aria-label", t("share_link"));
    const copy = button(t("copy_link"), "copy-button"); // portal.js copies [data-copy-target]
    copy.setAttribute("data-copy-target", field.id);
    copy.setAttribute("data-copy-announce", t("copied"));
    panel.appendChild(make("p", "small pg-share-state", t("shared_state")));
    const row = make("div", "input-group");
    row.appendChild(field);
    row.appendChild(copy);
    panel.appendChild(row);
    const stop = button(t("stop_sharing"), "btn btn-danger-outline btn-sm pg-share-stop", () => setShared(run, false));
    panel.appendChild(stop);
    return panel;
  }

  function item(run) {
    const node = make("li", "pg-history-item");
    node.setAttribute("data-run", run.id);
    const title = make("p", "pg-history-title");
    title.appendChild(make("strong", null, run.sides.map((s) => `${s.model} v${s.version}`).join(" ↔ ")));
    const time = make("time", "muted small", when(run.created_at));
    time.dateTime = run.created_at;
    time.title = dates.format(new Date(run.created_at));
    title.append(" ", time);
    node.appendChild(title);
    const text = make("p", "pg-history-input truncate", run.first_input);
    text.title = run.first_input;
    node.appendChild(text);
    const meta = make("p", "cluster pg-history-meta");
    run.sides.forEach((side) => {
      const label = side.label || t(`status_${side.status}_short`);
      meta.appendChild(make("span", side.label ? "badge badge-success" : "badge", label));
    });
    if (run.input_count > 1) {
      meta.appendChild(make("span", "muted small", t("more_inputs", { n: run.input_count - 1 })));
    }
    node.appendChild(meta);
    const actions = make("div", "cluster pg-history-actions");
    const again = button(t("rerun"), "btn btn-secondary btn-sm", () => rerunRun(run));
    again.setAttribute("aria-label", t("rerun_label", { input: run.first_input.slice(0, 60) }));
    // Share only ever turns sharing on (again): it never revokes a link already handed out.
    const share = button(t("share"), "btn btn-secondary btn-sm pg-share-button", () => setShared(run, true));
    const remove = button(t("delete"), "btn btn-danger-outline btn-sm");
    remove.addEventListener("click", () => confirmDelete(run, node, remove));
    actions.append(again, share, remove);
    node.appendChild(actions);
    node.appendChild(sharePanel(run));
    return node;
  }

  function put(run, first) {
    const existing = list.querySelector(`[data-run="${run.id}"]`);
    const fresh = item(run);
    if (existing) {
      existing.replaceWith(fresh);
    } else if (first) {
      list.insertBefore(fresh, list.firstChild);
    } else {
      list.appendChild(fresh);
    }
    empty.hidden = list.children.length > 0;
    return fresh;
  }

  async function rerunRun(run) {
    const response = await api("GET", run.url);
    if (!response.ok) {
      showProblem(response);
      return;
    }
    rerun(response.body);
  }

  async function setShared(run, shared) {
    const response = await api("PATCH", run.url, { shared });
    if (!response.ok) {
      showProblem(response);
      return;
    }
    if (latest && latest.id === run.id) {
      latest.shared = response.body.shared; // finished() redraws it from this copy
    }
    const fresh = put(response.body, false);
    const target = shared ? fresh.querySelector(".pg-share-url") : fresh.querySelector(".pg-share-button");
    if (target) {
      target.focus();
      if (shared) {
        target.select();
      }
    }
    announce(response.body.shared ? t("share_on") : t("share_off"));
  }

  function confirmDelete(run, node, trigger) {
    const box = make("div", "pg-confirm cluster");
    box.appendChild(make("span", null, t("delete_confirm")));
    const yes = button(t("delete"), "btn btn-danger btn-sm", async () => {
      const response = await api("DELETE", run.url);
      if (!response.ok && response.status !== 404) {
        showProblem(response);
        return;
      }
      if (latest && latest.id === run.id) {
        latest = null; // its job may still finish: that must not bring the run back
      }
      const next = node.nextElementSibling || node.previousElementSibling;
      node.remove();
      empty.hidden = list.children.length > 0;
      announce(t("deleted"));
      (next ? next.querySelector("button") : el.text).focus();
    });
    const no = button(t("cancel"), "btn btn-secondary btn-sm", () => {
      box.remove();
      trigger.hidden = false;
      trigger.focus();
    });
    box.append(yes, no);
    trigger.hidden = true;
    trigger.parentNode.appendChild(box);
    yes.focus();
  }

  return {
    async load() {
      const response = await api("GET", config.urls.runs);
      if (response.ok) {
        list.textContent = "";
        response.body.results.forEach((run) => list.appendChild(item(run)));
        empty.hidden = response.body.results.length > 0;
      }
    },
    /* Remember the jobs just sent as a run; returns when the server has it. */
    async record(sides) {
      const body = { job: sides[0].job };
      if (sides[1]) {
        body.compare_job = sides[1].job;
      }
      const response = await api("POST", config.urls.runs, body);
      if (response.ok) {
        latest = response.body;
        put(latest, true);
      }
    },
    /* The finished jobs' first labels, before the server has recorded them. */
    finished(done) {
      if (!latest || latest.sides[0].job !== done[0].job.id) {
        return;
      }
      latest.sides.forEach((side, index) => {
        if (done[index]) {
          side.status = "succeeded";
          side.label = done[index].job.results[0].label;
        }
      });
      put(latest, false);
    },
  };
}
