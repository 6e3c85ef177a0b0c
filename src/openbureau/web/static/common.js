// Shared helpers for the openbureau pages: calling the JSON API, building DOM safely
// (text is always set with textContent, never parsed as HTML), formatting.
"use strict";

const OB = (() => {
  const TOKEN = "openbureau.token";

  /** Build an element: el("li", {class: "x"}, "text", child). Attribute values are set,
   *  strings become text nodes, so API data can never inject markup. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function fill(target, ...children) {
    const node = typeof target === "string" ? document.getElementById(target) : target;
    node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
    return node;
  }

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  /** The API's `detail` as one sentence (FastAPI field errors are a list). */
  function detailText(body, status) {
    const d = body && body.detail;
    if (typeof d === "string") return d;
    if (Array.isArray(d)) return d.map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`).join("; ");
    return `request failed (${status})`;
  }

  async function api(method, path, { body, headers } = {}) {
    const init = { method, headers: { Accept: "application/json", ...(headers || {}) } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const r = await fetch(path, init);
    if (r.status === 204) return null;
    const type = r.headers.get("content-type") || "";
    const data = type.includes("json") ? await r.json() : await r.text();
    if (!r.ok) throw new ApiError(r.status, detailText(data, r.status));
    return data;
  }

  const token = {
    get: () => sessionStorage.getItem(TOKEN),
    set: (t) => sessionStorage.setItem(TOKEN, t),
    clear: () => sessionStorage.removeItem(TOKEN),
  };

  /** A person's request: the bearer token from sign-in; back to sign-in when it is gone. */
  async function me(method, path, body) {
    const t = token.get();
    if (!t) {
      location.assign("/");
      throw new ApiError(401, "not signed in");
    }
    try {
      return await api(method, path, { body, headers: { Authorization: `Bearer ${t}` } });
    } catch (e) {
      if (e.status === 401) {
        token.clear();
        location.assign("/?expired=1");
      }
      throw e;
    }
  }

  const num = (x, digits = 0) =>
    x === null || x === undefined || Number.isNaN(x) ? "—" : Number(x).toFixed(digits);
  const signed = (x, digits = 1) => (x > 0 ? "+" : x < 0 ? "−" : "±") + Math.abs(x).toFixed(digits);
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
  const day = (iso) => (iso ? String(iso).slice(0, 10) : "—");
  const words = (s) => String(s).replaceAll("_", " ");

  /** Say something in a status line (an aria-live region) with a class for its tone. */
  function say(id, text, tone) {
    const node = document.getElementById(id);
    node.textContent = text;
    node.className = tone || "muted";
  }

  return { el, fill, api, me, token, num, signed, when, day, words, say, ApiError };
})();
