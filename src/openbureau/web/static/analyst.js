// The analyst's page: fetch the model report with the admin key (a header, so it never sits
// in a URL or a log) and show it in a sandboxed frame (no scripts run inside).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const KEY = "openbureau.adminKey";
  const form = document.getElementById("admin-form");
  const frame = document.getElementById("report");

  async function show() {
    OB.say("report-status", "Drawing the report (a few seconds the first time)…");
    try {
      const r = await fetch("/analyst/report", { headers: { "X-Admin-Key": sessionStorage.getItem(KEY) || "" } });
      if (!r.ok) {
        const body = await r.json().catch(() => ({}));
        throw new Error(`${r.status}: ${body.detail || "the report is not available"}`);
      }
      frame.srcdoc = await r.text();
      frame.hidden = false;
      OB.say("report-status", `Model ${r.headers.get("X-Model-Id")}.`, "ok");
    } catch (e) {
      frame.hidden = true;
      OB.say("report-status", e.message, "error");
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, document.getElementById("admin-key").value.trim());
    show();
  });
  if (sessionStorage.getItem(KEY)) show();
});
