/*
 * Developer Portal: the playground (an ES module; its parts live in
 * apps/playground/static/playground/). No dependencies, nothing global.
 *
 * A thin client of the public API, used as any program would use it: POST
 * /api/v1/classify with wait=0 (the answer says at once where the job stands), then
 * GET /api/v1/jobs/{id}?wait=... (the server answers the moment the job finishes, or
 * after the wait with where it stands now) until the job is done. The session cookie and
 * the X-CSRFToken header stand in for an API key; the same plan limits apply. History and
 * sharing use /playground/api/runs/.
 *
 * The page hands over its data in two JSON blocks (never executed, so the CSP allows them):
 *   #playground-config   models, limits, URLs, who is looking, inputs from the query string
 *   #playground-strings  every text shown here, translated; plurals as {"one", "other"}
 */
import { initCode } from "../playground/code.js";
import { initHistory } from "../playground/history.js";
import { exportData, renderResults, renderTiming } from "../playground/results.js";
import { announce, api, button, chars, link, make, roundMs, translator } from "../playground/util.js";

// Each GET holds a server thread for up to LONG_POLL_S while the job runs, so the result
// shows the moment it exists and the status refreshes every LONG_POLL_S. Only while a
// result is near: for LONG_POLL_FOR_MS, in a visible tab, with a worker online; otherwise
// plain GETs with backoff, which hold nothing between them.
const LONG_POLL_S = 2;
const LONG_POLL_FOR_MS = 30 * 1000;
const POLL_FIRST_MS = 1000;
const POLL_GROWTH = 1.6;
const POLL_MAX_MS = 5000;
const POLL_HIDDEN_MS = 10000; // a background tab checks rarely
const GIVE_UP_MS = 5 * 60 * 1000;
// A job that finishes within this shows its result without a flash of "Queued".
const PENDING_GRACE_MS = 150;

const root = document.querySelector("[data-playground]");
if (root && document.getElementById("pg-form")) {
  start(root);
}

function start(root) {
  const $ = (id) => document.getElementById(id);
  const config = JSON.parse($("playground-config").textContent);
  const lang = document.documentElement.lang || "en";
  const t = translator(JSON.parse($("playground-strings").textContent), lang);
  const el = {
    form: $("pg-form"), model: $("pg-model"), version: $("pg-version"), info: $("pg-model-info"),
    compare: $("pg-compare"), compareFields: $("pg-compare-fields"), modelB: $("pg-model-b"),
    versionB: $("pg-version-b"), text: $("pg-text"), split: $("pg-split"), counter: $("pg-counter"),
    inputError: $("pg-input-error"), file: $("pg-file"), fileNote: $("pg-file-note"),
    drop: root.querySelector("[data-drop]"), run: $("pg-run"), clear: $("pg-clear"), limits: $("pg-limits"),
    anon: $("pg-anon-left"), signIn: $("pg-sign-in"), status: $("pg-status"), statusDetail: $("pg-status-detail"),
    error: $("pg-error"), timing: $("pg-timing"), results: $("pg-results"), resultTools: $("pg-result-tools"),
    summary: $("pg-summary"), history: $("pg-history"), historyEmpty: $("pg-history-empty"),
  };
  const models = Object.fromEntries(config.models.map((model) => [model.id, model]));
  const state = { running: false, generation: 0, last: null, view: "cards", retryTimer: null, usage: null, rate: "" };
  const ctx = {
    root, config, el, t, lang, models, state, currentInputs,
    percents: new Intl.NumberFormat(lang, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 }),
  };
  const code = initCode(ctx);
  const history = el.history ? initHistory(ctx, { rerun, showProblem }) : null;
  const limits = config.limits;

  /* ----------------------------------------------------------------------------------
   * Model picker
   * -------------------------------------------------------------------------------- */
  function fillVersions(select, model, chosen) {
    select.textContent = "";
    if (!model) {
      return;
    }
    select.appendChild(new Option(t("version_default", { version: model.version }), ""));
    model.versions.filter((v) => v.version !== model.version).forEach((v) => {
      const label = v.status === "deprecated" ? t("version_deprecated", { version: v.version }) : `v${v.version}`;
      select.appendChild(new Option(label, String(v.version)));
    });
    const pinned = chosen !== model.version && model.versions.some((v) => v.version === chosen);
    select.value = pinned ? String(chosen) : ""; // a retired or unknown version falls back to the newest
  }

  function versionOf(select, model) {
    return select.value ? parseInt(select.value, 10) : model.version;
  }

  function renderModelInfo() {
    const model = models[el.model.value];
    el.info.textContent = "";
    if (!model) {
      return;
    }
    const head = make("p", "cluster pg-model-meta");
    head.appendChild(make("span", "badge badge-primary", model.task));
    head.appendChild(make("span", "badge", `v${versionOf(el.version, model)}`));
    const labels = make("span", "pg-labels");
    labels.appendChild(make("span", "muted", t("labels")));
    model.labels.forEach((label) => labels.appendChild(make("span", "badge", label)));
    head.appendChild(labels);
    el.info.appendChild(head);
    if (model.description) {
      el.info.appendChild(make("p", "pg-model-summary", model.description));
    }
    el.info.appendChild(make("p", "small")).appendChild(link(model.url, t("model_page")));
    if (model.examples.length) {
      const box = make("div", "pg-examples");
      box.appendChild(make("p", "label", t("examples")));
      const list = make("ul", "cluster pg-example-list");
      model.examples.forEach((example) => {
        list.appendChild(make("li")).appendChild(button(example, "btn btn-secondary btn-sm pg-example",
          () => setInputs([example])));
      });
      if (model.examples.length > 1) {
        list.appendChild(make("li")).appendChild(button(t("examples_all"), "btn btn-link btn-sm",
          () => setInputs(model.examples.slice(0, limits.max_inputs))));
      }
      box.appendChild(list);
      el.info.appendChild(box);
    }
    updateRunnable();
  }

  function updateRunnable() {
    const needsAccount = (model) => !config.user.authenticated && model && !model.anonymous;
    const blocked = needsAccount(models[el.model.value]) ||
      (el.compare.checked && needsAccount(models[el.modelB.value]));
    if (el.signIn) {
      el.signIn.hidden = !blocked;
    }
    el.run.disabled = state.running || !models[el.model.value] || blocked || Boolean(state.retryTimer);
  }

  function onModelChange(select, versionSelect) {
    fillVersions(versionSelect, models[select.value]);
    if (select === el.model) {
      renderModelInfo();
      const path = config.urls.model_template.replace("__model__", encodeURIComponent(select.value));
      window.history.replaceState(null, "", path + window.location.search);
    }
    updateRunnable();
    code.update();
  }

  function pickCompareDefault() {
    const a = models[el.model.value];
    if (!a) {
      return;
    }
    const otherVersion = a.versions.find((v) => v.version !== a.version);
    if (otherVersion) {
      el.modelB.value = a.id;
      fillVersions(el.versionB, a, otherVersion.version);
    } else {
      const other = config.models.find((m) => m.id !== a.id) || a;
      el.modelB.value = other.id;
      fillVersions(el.versionB, other);
    }
  }

  /* ----------------------------------------------------------------------------------
   * Inputs: lines, counters and limits before they are hit, files
   * -------------------------------------------------------------------------------- */
  function currentInputs() {
    const text = el.text.value;
    if (!el.split.checked) {
      return text.trim() ? [text.trim()] : [];
    }
    return text.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
  }

  function setInputs(inputs) {
    el.text.value = inputs.join("\n");
    if (inputs.length > 1) {
      el.split.checked = true;
    }
    updateCounter();
    el.text.focus();
  }

  function inputProblem(inputs) {
    if (!inputs.length) {
      return t("error_empty");
    }
    if (inputs.length > limits.max_inputs) {
      return t("error_too_many", { n: inputs.length, max: limits.max_inputs });
    }
    const index = inputs.findIndex((text) => chars(text) > limits.max_chars);
    if (index < 0) {
      return "";
    }
    const n = chars(inputs[index]);
    return inputs.length === 1
      ? t("error_too_long_one", { n, max: limits.max_chars })
      : t("error_too_long", { index: index + 1, n, max: limits.max_chars });
  }

  function updateCounter() {
    const inputs = currentInputs();
    const longest = inputs.reduce((most, text) => Math.max(most, chars(text)), 0);
    const over = inputs.length > limits.max_inputs || longest > limits.max_chars;
    el.counter.textContent = t("counter", {
      n: inputs.length, max: limits.max_inputs, chars: longest, max_chars: limits.max_chars,
    });
    el.counter.classList.toggle("is-over", over);
    el.counter.classList.toggle("is-near", !over &&
      (inputs.length >= limits.max_inputs * 0.9 || longest >= limits.max_chars * 0.9));
    if (!el.inputError.hidden && !inputProblem(inputs)) {
      showInputError("");
    }
    code.update();
  }

  function showInputError(message) {
    el.inputError.textContent = message;
    el.inputError.hidden = !message;
    if (message) {
      el.text.setAttribute("aria-invalid", "true");
    } else {
      el.text.removeAttribute("aria-invalid");
    }
  }

  function parseCsv(text) {
    const rows = [];
    let row = [];
    let cell = "";
    let quoted = false;
    for (let i = 0; i < text.length; i += 1) {
      const c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') {
          cell += '"';
          i += 1;
        } else if (c === '"') {
          quoted = false;
        } else {
          cell += c;
        }
      } else if (c === '"') {
        quoted = true;
      } else if (c === ",") {
        row.push(cell);
        cell = "";
      } else if (c === "\n" || c === "\r") {
        if (c === "\r" && text[i + 1] === "\n") {
          i += 1;
        }
        row.push(cell);
        rows.push(row);
        row = [];
        cell = "";
      } else {
        cell += c;
      }
    }
    if (cell || row.length) {
      row.push(cell);
      rows.push(row);
    }
    return rows;
  }

  /* The text column of a CSV: one named text/sentence/input/review/content, else the first. */
  function csvTexts(text) {
    let rows = parseCsv(text.replace(/^\ufeff/, ""));
    if (!rows.length) {
      return [];
    }
    const header = rows[0].map((cell) => cell.trim().toLowerCase());
    let column = ["text", "sentence", "input", "review", "content"].map((n) => header.indexOf(n)).find((i) => i >= 0);
    if (column === undefined) {
      column = 0;
    } else {
      rows = rows.slice(1);
    }
    return rows.map((r) => (r[column] || "").replace(/\s+/g, " "));
  }

  async function loadFile(file) {
    if (!file) {
      return;
    }
    const name = file.name || "";
    const isCsv = /\.csv$/i.test(name) || file.type === "text/csv";
    const refuse = (message) => {
      el.fileNote.textContent = message;
      el.fileNote.classList.add("is-error");
      announce(message);
    };
    el.fileNote.classList.remove("is-error");
    if (!isCsv && !/\.txt$/i.test(name) && file.type !== "text/plain") {
      refuse(t("file_wrong_type", { name }));
      return;
    }
    if (file.size > limits.file_max_bytes) {
      refuse(t("file_too_big", { name, max: Math.round(limits.file_max_bytes / 1024) }));
      return;
    }
    const text = await file.text();
    const texts = (isCsv ? csvTexts(text) : text.split(/\r?\n/)).map((s) => s.trim()).filter(Boolean);
    if (!texts.length) {
      refuse(t("file_empty", { name }));
      return;
    }
    el.split.checked = true;
    setInputs(texts.slice(0, limits.max_inputs));
    let note = t("file_loaded", { n: Math.min(texts.length, limits.max_inputs), name });
    if (texts.length > limits.max_inputs) {
      note += ` ${t("file_cut", { total: texts.length, max: limits.max_inputs })}`;
    }
    el.fileNote.textContent = note;
    announce(note);
  }

  /* ----------------------------------------------------------------------------------
   * Running: submit, poll with backoff, say where the job stands
   * -------------------------------------------------------------------------------- */
  function setStatus(kind, text, detail) {
    root.setAttribute("data-state", kind);
    if (el.status.textContent !== text) {
      el.status.textContent = text; // role=status: read out only when it changes
    }
    el.statusDetail.textContent = detail || "";
  }

  /* On a phone the result sits below the form: bring the status into view. */
  function revealStatus() {
    const box = el.status.parentElement.getBoundingClientRect();
    if (box.top > window.innerHeight || box.bottom < 0) {
      const smooth = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      el.status.parentElement.scrollIntoView({ behavior: smooth ? "smooth" : "auto", block: "start" });
    }
  }

  function clearOutput() {
    el.error.textContent = "";
    el.timing.textContent = "";
    el.results.textContent = "";
    el.summary.textContent = "";
    el.resultTools.hidden = true;
  }

  function describePending(body, side, started) {
    const waited = t("waited", { n: Math.round((Date.now() - started) / 1000) });
    const name = `${side.model} v${body.version || side.version}`;
    if (body.status === "running") {
      return {
        key: "running",
        text: t("status_running", { model: name }),
        detail: t("status_running_detail", { worker: body.worker || "?", n: body.batch_size || 0 }),
      };
    }
    const queue = body.queue || { jobs_ahead: 0, workers_online: 0 };
    const ahead = queue.jobs_ahead ? t("jobs_ahead", { n: queue.jobs_ahead }) : t("next_in_line");
    if (!queue.workers_online) {
      return { key: "no-worker", text: t("status_no_worker", { model: name }), detail: `${ahead} · ${waited}` };
    }
    const online = t("workers_online", { n: queue.workers_online });
    return { key: "queued", text: t("status_queued", { model: name }), detail: `${ahead} · ${online} · ${waited}` };
  }

  /* Whether the next GET should wait on the server: see LONG_POLL_S. A job queued with
   * no worker online will not finish soon (it still ends when the plain polls see it). */
  function longPoll(stands, started) {
    const queue = stands && stands.queue;
    const noWorker = stands && stands.status === "queued" && queue && !queue.workers_online;
    return !document.hidden && !noWorker && Date.now() - started < LONG_POLL_FOR_MS;
  }

  /* Resolves with {job} when finished, {problem} on an error, {gaveUp} after GIVE_UP_MS,
   * or null when a newer run replaced this one. ``stands`` is the job's last pending body. */
  function poll(side, generation, onPending, stands) {
    return new Promise((resolve) => {
      let delay = POLL_FIRST_MS;
      const started = Date.now();
      // Plain GETs back off; a long poll asks again at once, as it waited on the server
      // (at least LONG_POLL_S a round, should the server answer sooner).
      const schedule = (minimum) => {
        let pause = minimum;
        if (!longPoll(stands, started)) {
          pause = Math.max(pause, delay);
          delay = Math.min(Math.round(delay * POLL_GROWTH), POLL_MAX_MS);
        }
        window.setTimeout(tick, document.hidden ? Math.max(pause, POLL_HIDDEN_MS) : pause);
      };
      const tick = async () => {
        if (generation !== state.generation) {
          resolve(null);
          return;
        }
        const url = new URL(side.url, window.location.href);
        const held = longPoll(stands, started);
        if (held) {
          url.searchParams.set("wait", String(LONG_POLL_S));
        }
        const asked = Date.now();
        const response = await api("GET", url.href);
        if (generation !== state.generation) {
          resolve(null);
          return;
        }
        if (response.status === 200) {
          resolve({ job: response.body });
          return;
        }
        let minimum = 0;
        if (response.status === 202) {
          stands = response.body;
          onPending(response.body, started);
          minimum = held ? Math.max(LONG_POLL_S * 1000 - (Date.now() - asked), 0) : 0;
        } else if (response.status === 429) {
          minimum = (parseInt(response.headers.get("Retry-After"), 10) || 5) * 1000;
        } else if (response.status !== 0) {
          resolve({ problem: response });
          return;
        } else {
          minimum = delay; // status 0: the network blinked; try again later
        }
        if (Date.now() - started > GIVE_UP_MS) {
          resolve({ gaveUp: true });
          return;
        }
        schedule(minimum);
      };
      schedule(0);
    });
  }

  function submit() {
    if (state.running) {
      return;
    }
    const inputs = currentInputs();
    const problem = inputProblem(inputs);
    if (problem) {
      showInputError(problem);
      el.text.focus();
      announce(problem);
      return;
    }
    showInputError("");
    const a = models[el.model.value];
    const sides = [{ model: a.id, version: versionOf(el.version, a), pinned: Boolean(el.version.value) }];
    if (el.compare.checked) {
      const b = models[el.modelB.value];
      const second = { model: b.id, version: versionOf(el.versionB, b), pinned: Boolean(el.versionB.value) };
      if (second.model === sides[0].model && second.version === sides[0].version) {
        showInputError(t("error_compare_same"));
        el.modelB.focus();
        return;
      }
      // Both versions are named, so that the comparison stays the same when a new one is published.
      sides[0].pinned = second.pinned = true;
      sides.push(second);
    }
    run(inputs, sides);
  }

  async function send(inputs, side) {
    const body = { model: side.model, inputs, wait: 0 };
    if (side.pinned) {
      body.version = side.version;
    }
    const response = await api("POST", config.urls.classify, body);
    noteRateHeaders(response);
    if (response.status !== 200 && response.status !== 202) {
      showProblem(response);
      return null;
    }
    return {
      ...side,
      job: response.body.id,
      version: response.body.version || side.version,
      url: response.body.url || config.urls.job_template.replace("__job__", response.body.id),
      done: response.status === 200 ? response.body : null,
      first: response.body,
    };
  }

  async function run(inputs, sides) {
    state.running = true;
    state.generation += 1;
    const generation = state.generation;
    updateRunnable();
    clearOutput();
    root.setAttribute("aria-busy", "true");
    setStatus("sending", t("status_sending"), "");
    revealStatus();
    const sent = [];
    for (const side of sides) {
      const result = await send(inputs, side);
      if (!result) {
        break;
      }
      sent.push(result);
    }
    if (!sent.length) {
      finish();
      return;
    }
    const sentAt = Date.now();
    const grace = sent[0].done ? null : window.setTimeout(() => {
      // Unless the job finished, a newer run started or a poll said more already.
      if (generation === state.generation && root.getAttribute("data-state") === "sending") {
        const shown = describePending(sent[0].first, sent[0], sentAt);
        setStatus(shown.key, shown.text, shown.detail);
      }
    }, PENDING_GRACE_MS);
    const recorded = history ? history.record(sent) : Promise.resolve();
    const outcomes = await follow(sent, generation);
    window.clearTimeout(grace);
    if (generation !== state.generation) {
      return;
    }
    finish();
    const done = showOutcomes(inputs, sent, outcomes);
    if (done && history) {
      await recorded;
      history.finished(done);
    }
  }

  function follow(sent, generation) {
    const pending = {};
    return Promise.all(sent.map((side, index) => {
      if (side.done) {
        return Promise.resolve({ job: side.done });
      }
      return poll(side, generation, (body, started) => {
        pending[index] = describePending(body, side, started);
        const shown = pending[0] || pending[index];
        const detail = Object.values(pending).map((p) => p.detail).join(" | ");
        setStatus(shown.key, shown.text, detail);
      }, side.first).then((outcome) => {
        delete pending[index];
        return outcome;
      });
    }));
  }

  function finish() {
    state.running = false;
    root.removeAttribute("aria-busy");
    updateRunnable();
  }

  function noteRateHeaders(response) {
    const remaining = parseInt(response.headers.get("RateLimit-Remaining"), 10);
    const limit = parseInt(response.headers.get("RateLimit-Limit"), 10);
    if (Number.isNaN(remaining) || !limit) {
      return;
    }
    if (!config.user.authenticated) {
      // Only an accepted run's headers describe the hourly allowance (a refused one shows
      // the per-minute limit every caller has).
      if (el.anon && (response.status === 200 || response.status === 202)) {
        el.anon.textContent = t("anon_left", { n: remaining, max: limit });
      }
    } else {
      state.rate = t("rate_left", { n: remaining, max: limit });
      renderLimits();
    }
  }

  /* ----------------------------------------------------------------------------------
   * Errors, stated plainly
   * -------------------------------------------------------------------------------- */
  function showError(title, text, extras = [], detail = "") {
    // The role=alert region stays in the page; a new box inside it is read out.
    const box = make("div", "alert alert-error pg-error-box");
    const body = box.appendChild(make("div", "stack stack-sm"));
    body.appendChild(make("p", "pg-error-title", title));
    if (text) {
      body.appendChild(make("p", null, text));
    }
    if (detail) {
      body.appendChild(make("p", "small pg-error-detail", detail));
    }
    extras.forEach((node) => body.appendChild(node));
    el.error.textContent = "";
    el.error.appendChild(box);
  }

  function signInLinks() {
    const p = make("p", "cluster");
    p.append(link(config.urls.login, t("sign_in"), "btn btn-primary btn-sm"),
      link(config.urls.signup, t("sign_up"), "btn btn-secondary btn-sm"));
    return p;
  }

  function countdown(seconds) {
    const until = Date.now() + seconds * 1000;
    const line = make("p", "pg-retry");
    const tick = () => {
      const left = Math.max(Math.ceil((until - Date.now()) / 1000), 0);
      line.textContent = left ? t("retry_in", { n: left }) : t("retry_now");
      if (!left) {
        window.clearInterval(state.retryTimer);
        state.retryTimer = null;
        updateRunnable();
      }
    };
    window.clearInterval(state.retryTimer);
    state.retryTimer = window.setInterval(tick, 1000);
    tick();
    return line;
  }

  function showProblem(response) {
    const body = response.body || {};
    const detail = body.detail || "";
    const retry = parseInt(response.headers.get("Retry-After"), 10) || 0;
    setStatus("error", t("status_not_sent"), "");
    const kind = response.status === 0 ? "network" : body.type;
    if (kind === "network") {
      showError(t("err_network_title"), t("err_network"));
    } else if (kind === "invalid_input") {
      showError(t("err_invalid_title"), t("err_invalid"), [], detail);
    } else if (kind === "rate_limited" && !config.user.authenticated) {
      if (el.anon) {
        el.anon.textContent = t("anon_left", { n: 0, max: config.anonymous.per_hour });
      }
      const minutes = Math.max(Math.ceil(retry / 60), 1);
      showError(t("err_anon_limit_title"), t("err_anon_limit", { n: config.anonymous.per_hour, minutes }),
        [signInLinks()]);
    } else if (kind === "rate_limited") {
      showError(t("err_rate_title"), t("err_rate", { n: retry }), [countdown(retry || 1)]);
    } else if (kind === "quota_exceeded") {
      const more = make("p");
      more.appendChild(link(config.urls.keys, t("request_more"), "btn btn-secondary btn-sm"));
      showError(t("err_quota_title"), t("err_quota"), [more], detail);
    } else if (kind === "concurrency_limited") {
      showError(t("err_concurrency_title"), t("err_concurrency"), [], detail);
    } else if (kind === "model_retired") {
      showError(t("err_retired_title"), t("err_retired"), [], detail);
    } else if (kind === "model_not_found") {
      showError(t("err_not_found_title"), t("err_not_found"), [], detail);
    } else if (kind === "authentication_required") {
      showError(t("err_sign_in_title"), t("err_sign_in"), [signInLinks()]);
    } else if (kind === "forbidden") {
      showError(t("err_forbidden_title"), t("err_forbidden"));
    } else {
      showError(t("err_generic_title"), t("err_generic", { status: response.status }), [], detail);
    }
  }

  function jobFailure(job) {
    const detail = (job.error && job.error.detail) || "";
    if (/given up|stopped its worker/i.test(detail)) {
      return [t("err_worker_lost_title"), t("err_worker_lost"), detail];
    }
    return [t("err_failed_title"), t("err_failed"), detail];
  }

  /* Shows what came back; returns the finished sides, or null when there is nothing to show. */
  function showOutcomes(inputs, sides, outcomes) {
    const done = [];
    for (let i = 0; i < outcomes.length; i += 1) {
      const outcome = outcomes[i];
      if (!outcome) {
        return null;
      }
      if (outcome.gaveUp) {
        setStatus("waiting", t("status_gave_up"), "");
        showError(t("err_slow_title"), t("err_slow"), [button(t("check_again"), "btn btn-secondary btn-sm",
          () => resume(inputs, sides))]);
        return null;
      }
      if (outcome.problem) {
        showProblem(outcome.problem);
        return null;
      }
      if (outcome.job.status !== "succeeded") {
        const [title, text, detail] = jobFailure(outcome.job);
        setStatus("error", t("status_failed"), "");
        showError(title, text, [], detail);
        return null;
      }
      done.push({ side: sides[i], job: outcome.job });
    }
    state.last = { inputs, sides: done };
    setStatus("done", t("status_done", { ms: roundMs(done[0].job.timing.total_ms || 0) }),
      done.length > 1 ? t("status_done_compare") : "");
    renderTiming(ctx, done);
    renderResults(ctx);
    loadUsage();
    return done;
  }

  async function resume(inputs, sides) {
    state.running = true;
    state.generation += 1;
    const generation = state.generation;
    clearOutput();
    updateRunnable();
    const outcomes = await follow(sides, generation);
    if (generation === state.generation) {
      finish();
      showOutcomes(inputs, sides, outcomes);
    }
  }

  function rerun(detail) {
    const [a, b] = detail.sides;
    // Asked for explicitly: stop following the current job (it still finishes, and the
    // history keeps it) and run this one.
    state.generation += 1;
    finish();
    if (!models[a.model]) {
      showError(t("err_retired_title"), t("err_retired"));
      return;
    }
    el.model.value = a.model;
    fillVersions(el.version, models[a.model], a.version);
    renderModelInfo();
    el.compare.checked = !el.compare.disabled && Boolean(b && models[b.model]);
    el.compareFields.hidden = !el.compare.checked;
    if (el.compare.checked) {
      el.modelB.value = b.model;
      fillVersions(el.versionB, models[b.model], b.version);
    }
    setInputs(detail.inputs);
    submit();
  }

  /* ----------------------------------------------------------------------------------
   * Plan limits, shown before they are hit
   * -------------------------------------------------------------------------------- */
  function renderLimits() {
    const usage = state.usage;
    if (!usage) {
      return;
    }
    const line = t("plan_line", {
      plan: config.user.plan || usage.plan, rpm: usage.requests_per_minute, quota: usage.inputs_limit, left: usage.inputs_remaining,
    });
    el.limits.textContent = state.rate ? `${line} ${state.rate}` : line;
    el.limits.classList.toggle("is-near", usage.inputs_remaining < usage.inputs_limit * 0.1);
  }

  async function loadUsage() {
    if (!config.user.authenticated) {
      return;
    }
    const response = await api("GET", config.urls.usage);
    if (response.ok) {
      state.usage = response.body;
      renderLimits();
    }
  }

  /* ---------------------------------------------------------------------------------- */
  fillVersions(el.version, models[el.model.value], config.initial.version);
  pickCompareDefault();
  renderModelInfo();
  updateCounter();
  el.model.addEventListener("change", () => onModelChange(el.model, el.version));
  el.version.addEventListener("change", () => { renderModelInfo(); code.update(); });
  el.modelB.addEventListener("change", () => onModelChange(el.modelB, el.versionB));
  el.compare.addEventListener("change", () => {
    el.compareFields.hidden = !el.compare.checked;
    updateRunnable();
  });
  el.text.addEventListener("input", updateCounter);
  el.split.addEventListener("change", updateCounter);
  el.form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  el.form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submit();
    }
  });
  el.clear.addEventListener("click", () => {
    state.generation += 1;
    finish();
    el.text.value = "";
    el.fileNote.textContent = "";
    showInputError("");
    clearOutput();
    setStatus("idle", t("status_idle"), "");
    updateCounter();
    el.text.focus();
  });
  el.file.addEventListener("change", () => {
    loadFile(el.file.files[0]);
    el.file.value = "";
  });
  const carriesFiles = (event) => event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files");
  ["dragenter", "dragover"].forEach((name) => el.drop.addEventListener(name, (event) => {
    if (carriesFiles(event)) {
      event.preventDefault();
      el.drop.classList.add("is-dragging");
    }
  }));
  ["dragleave", "drop"].forEach((name) => el.drop.addEventListener(name, () => el.drop.classList.remove("is-dragging")));
  el.drop.addEventListener("drop", (event) => {
    if (carriesFiles(event) && event.dataTransfer.files.length) {
      event.preventDefault();
      loadFile(event.dataTransfer.files[0]);
    }
  });
  root.querySelectorAll("[data-view]").forEach((toggle) => toggle.addEventListener("click", () => {
    state.view = toggle.getAttribute("data-view");
    if (state.last) {
      renderResults(ctx);
    }
  }));
  root.querySelectorAll("[data-export]").forEach((toggle) => toggle.addEventListener("click", () => {
    exportData(ctx, toggle.getAttribute("data-export"));
  }));
  setStatus("idle", t("status_idle"), "");
  loadUsage();
  if (history) {
    history.load();
  }
  root.setAttribute("data-ready", "true");
}
