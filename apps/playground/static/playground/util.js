/*
 * Playground helpers shared by the modules of static/js/playground.js: translated text,
 * DOM building (text only, never HTML), announcements and the JSON API call.
 */

/* Translated text from the page's #playground-strings block: plurals are {one, other},
 * placeholders %(name)s; numbers are formatted for the page's language. */
export function translator(strings, lang) {
  const numbers = new Intl.NumberFormat(lang);
  return function t(key, params) {
    let text = strings[key];
    if (text === undefined) {
      return key;
    }
    if (typeof text === "object") {
      text = params && params.n === 1 ? text.one : text.other;
    }
    return text.replace(/%\((\w+)\)s/g, (match, name) => {
      if (!params || !(name in params)) {
        return match;
      }
      const value = params[name];
      return typeof value === "number" ? numbers.format(value) : String(value);
    });
  };
}

/* Milliseconds to one decimal: a duration computed from two timestamps carries float noise
 * (1173.3100000000002), which is never worth showing. null and undefined pass through. */
export function roundMs(value) {
  return value === null || value === undefined ? value : Math.round(value * 10) / 10;
}

export function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined && text !== null) {
    node.textContent = text;
  }
  return node;
}

export function link(href, text, className) {
  const a = make("a", className, text);
  a.href = href;
  return a;
}

export function button(text, className, onClick) {
  const node = make("button", className, text);
  node.type = "button";
  if (onClick) {
    node.addEventListener("click", onClick);
  }
  return node;
}

/* The polite live region of base.html; cleared first so a repeat is read out again. */
export function announce(message) {
  const region = document.getElementById("live-region");
  if (!region || !message) {
    return;
  }
  region.textContent = "";
  window.setTimeout(() => { region.textContent = message; }, 50);
}

/* Characters as the API counts them (code points, not UTF-16 units). */
export function chars(text) {
  return Array.from(text).length;
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

/* One JSON request with the session cookie and, when it changes something, the CSRF
 * header. Never rejects: a network failure answers status 0. */
export async function api(method, url, body) {
  const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (method !== "GET") {
    options.headers["X-CSRFToken"] = csrfToken();
  }
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (error) {
    return { ok: false, status: 0, headers: new Headers(), body: null };
  }
  let data = null;
  if (response.status !== 204) {
    try {
      const raw = await response.text();
      data = raw ? JSON.parse(raw) : null;
    } catch (error) {
      data = null;
    }
  }
  return { ok: response.ok, status: response.status, headers: response.headers, body: data };
}
