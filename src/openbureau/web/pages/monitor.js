// The drift page: fetch the monitor's page with the admin key (a header, so it never sits in
// a URL or a log) and show it in a sandboxed frame (no scripts run inside). The key is kept
// under the same name as on the analyst page, so signing in on one serves both.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const KEY = "openbureau.adminKey";
  const form = document.getElementById("admin-form");
  const frame = document.getElementById("monitor");

  async function show() {
    OB.say("monitor-status", "Comparing the population with the development sample…");
    try {
      const r = await fetch("/analyst/monitor/report", { headers: { "X-Admin-Key": sessionStorage.getItem(KEY) || "" } });
      if (!r.ok) {
        const body = await r.json().catch(() => ({}));
        throw new Error(`${r.status}: ${body.detail || "the drift page is not available"}`);
      }
      frame.srcdoc = await r.text();
      frame.hidden = false;
      const status = r.headers.get("X-Monitor-Status");
      OB.say("monitor-status", `Model ${r.headers.get("X-Model-Id")}: status ${status}.`, status === "ok" ? "ok" : "error");
    } catch (e) {
      frame.hidden = true;
      OB.say("monitor-status", e.message, "error");
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, document.getElementById("admin-key").value.trim());
    show();
  });
  if (sessionStorage.getItem(KEY)) show();
});
