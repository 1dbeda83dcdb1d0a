/*
 * "View code": the request the playground is about to send, as curl, Python (requests)
 * and JavaScript (fetch), with the key read from PORTAL_API_KEY. Tabs follow the ARIA
 * tabs pattern (arrow keys, Home, End).
 */

export function initCode(ctx) {
  const { el, t, config } = ctx;
  const panel = document.getElementById("pg-code");
  const toggle = document.getElementById("pg-code-toggle");
  const tabs = Array.from(panel.querySelectorAll("[role=tab]"));
  const keyHint = () => t("code_key_hint", { url: config.urls.keys_absolute });

  function body() {
    const model = ctx.models[el.model.value];
    const inputs = ctx.currentInputs();
    const request = { model: model ? model.id : "", inputs: inputs.length ? inputs : [t("example_text")] };
    if (el.version.value) {
      request.version = parseInt(el.version.value, 10);
    }
    request.wait = 10;
    return request;
  }

  function update() {
    if (panel.hidden) {
      return;
    }
    const url = config.urls.classify_absolute;
    const request = body();
    const json = JSON.stringify(request, null, 2);
    const shell = JSON.stringify(request).replace(/'/g, "'\\''");
    document.getElementById("pg-code-curl").textContent = [
      `# export PORTAL_API_KEY=pk_...   # ${keyHint()}`,
      `curl -sS -X POST '${url}' \\`,
      '  -H "Authorization: Bearer $PORTAL_API_KEY" \\',
      "  -H 'Content-Type: application/json' \\",
      `  -d '${shell}'`,
    ].join("\n");
    document.getElementById("pg-code-python").textContent = [
      "import os",
      "",
      "import requests",
      "",
      `# ${keyHint()}`,
      "response = requests.post(",
      `    "${url}",`,
      "    headers={\"Authorization\": f\"Bearer {os.environ['PORTAL_API_KEY']}\"},",
      `    json=${json.replace(/\n/g, "\n    ")},`,
      "    timeout=40,",
      ")",
      "response.raise_for_status()",
      'job = response.json()  # 202: still queued, poll job["url"]',
      'for result in job.get("results", []):',
      '    print(result["label"], result["score"])',
    ].join("\n");
    document.getElementById("pg-code-js").textContent = [
      `// ${keyHint()}`,
      `const response = await fetch("${url}", {`,
      '  method: "POST",',
      "  headers: {",
      "    Authorization: `Bearer ${process.env.PORTAL_API_KEY}`,",
      '    "Content-Type": "application/json",',
      "  },",
      `  body: JSON.stringify(${json.replace(/\n/g, "\n  ")}),`,
      "});",
      "const job = await response.json(); // 202: still queued, poll job.url",
      "for (const result of job.results ?? []) console.log(result.label, result.score);",
    ].join("\n");
  }

  function select(tab, focus) {
    tabs.forEach((other) => {
      const on = other === tab;
      other.setAttribute("aria-selected", on ? "true" : "false");
      other.tabIndex = on ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !on;
    });
    if (focus) {
      tab.focus();
    }
  }

  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => select(tab, false));
    tab.addEventListener("keydown", (event) => {
      const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (next === undefined) {
        return;
      }
      event.preventDefault();
      select(tabs[(next + tabs.length) % tabs.length], true);
    });
  });
  toggle.addEventListener("click", () => {
    const open = panel.hidden;
    panel.hidden = !open;
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    update();
  });
  return { update };
}
