// The analyst's page: fetch the model report with the admin key (a header, so it never sits
// in a URL or a log) and show it in a sandboxed frame (no scripts run inside). A picker lists
// the registered models (GET /admin/models) so any of them can be shown.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const KEY = "openbureau.adminKey";
  const form = document.getElementById("admin-form");
  const frame = document.getElementById("report");
  const pick = document.getElementById("model-pick");
  const adminHeaders = () => ({ "X-Admin-Key": sessionStorage.getItem(KEY) || "" });

  async function loadModels() {
    try {
      const list = await OB.api("GET", "/admin/models", { headers: adminHeaders() });
      const chosen = pick.value;
      OB.fill(
        pick,
        OB.el("option", { value: "" }, "The model in service (current score version)"),
        list.models.map((m) => {
          const auc = m.metrics && m.metrics.holdout_auc;
          const label = `${m.model_id} · ${m.state}` + (auc ? ` · AUC ${auc.toFixed(3)}` : "");
          return OB.el("option", { value: m.model_id, "data-state": m.state }, label);
        }),
      );
      pick.value = [...pick.options].some((o) => o.value === chosen) ? chosen : "";
      document.getElementById("model-row").hidden = list.models.length === 0;
    } catch (e) {
      document.getElementById("model-row").hidden = true;
    }
  }

  let shown = 0; // the latest request wins: an earlier, slower report never replaces it

  async function show() {
    const mine = ++shown;
    OB.say("report-status", "Drawing the report (a few seconds the first time)…");
    const model = pick.value;
    const url = model ? `/analyst/report?model=${encodeURIComponent(model)}` : "/analyst/report";
    try {
      const r = await fetch(url, { headers: adminHeaders() });
      if (mine !== shown) return;
      if (!r.ok) {
        const body = await r.json().catch(() => ({}));
        throw new Error(`${r.status}: ${body.detail || "the report is not available"}`);
      }
      const page = await r.text();
      if (mine !== shown) return;
      frame.srcdoc = page;
      frame.hidden = false;
      const state = r.headers.get("X-Model-State");
      const where = r.headers.get("X-In-Service") === "True" ? "in service" : "not in service";
      OB.say("report-status", `Model ${r.headers.get("X-Model-Id")}${state ? ` (${state})` : ""}, ${where}.`, "ok");
      frame.dataset.model = r.headers.get("X-Model-Id");
    } catch (e) {
      if (mine !== shown) return;
      frame.hidden = true;
      OB.say("report-status", e.message, "error");
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, document.getElementById("admin-key").value.trim());
    loadModels();
    show();
  });
  pick.addEventListener("change", show);
  if (sessionStorage.getItem(KEY)) {
    loadModels();
    show();
  }
});
