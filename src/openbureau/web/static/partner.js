// A partner's console: a consented lookup (threshold proof, the number only with consent)
// and an eligibility decision (on a decline, the reasons and the adverse-action notice).
"use strict";

(() => {
  const { el, fill, api, num, words, say } = OB;
  const KEY = "openbureau.partnerKey";
  const key = () => sessionStorage.getItem(KEY);
  const call = (method, path, body) => api(method, path, { body, headers: { "X-API-Key": key() || "" } });

  function denied(box, e) {
    fill(box, el("p", { class: "result", "data-outcome": "denied" },
      el("span", { class: "denied" }, `Denied (${e.status})`), ": ", e.message));
  }

  async function loadOffers() {
    if (!key()) return;
    try {
      const offers = await call("GET", "/partner/offers");
      fill("decision-offer", offers.map((o) => el("option", { value: o.code }, `${o.title} (from ${num(o.min_score)})`)));
      say("key-status", `Key accepted: ${offers.length} offer(s) you may decide on.`, "ok");
    } catch (e) {
      say("key-status", e.message, "error");
    }
  }

  async function lookup(ev) {
    ev.preventDefault();
    const box = document.getElementById("lookup-result");
    const body = {
      person: document.getElementById("lookup-person").value.trim(),
      purpose: document.getElementById("lookup-purpose").value,
      threshold: Number(document.getElementById("lookup-threshold").value),
    };
    try {
      const r = await call("POST", "/partner/lookup", body);
      fill(box, el("div", { class: "result", "data-outcome": "granted", "data-meets": String(r.meets_threshold) },
        el("p", {}, el("span", { class: "granted" }, "Granted"), ` · ${words(r.purpose)}`),
        el("p", { class: "big proof" }, `score ≥ ${num(r.threshold)}: ${r.meets_threshold ? "yes" : "no"}`),
        r.score !== null ? el("p", {}, "Score (shared with consent): ", el("strong", { class: "shared-score" }, num(r.score)), ` · ${r.band}`)
          : el("p", { class: "muted" }, "The person shared a threshold proof, not the number."),
        r.under_dispute ? el("p", { class: "warn" }, `Under dispute: if upheld, ≥ ${num(r.threshold)} would be ${r.meets_threshold_if_dispute_upheld ? "yes" : "no"}`,
          r.score_if_dispute_upheld !== null ? ` (score ${num(r.score_if_dispute_upheld)})` : "", ".") : null,
        el("p", { class: "muted" }, `Scored on ${r.scored_on} by model ${r.model_id}.`)));
    } catch (e) {
      denied(box, e);
    }
  }

  async function decide(ev) {
    ev.preventDefault();
    const box = document.getElementById("decision-result");
    const body = {
      person: document.getElementById("decision-person").value.trim(),
      offer: document.getElementById("decision-offer").value,
    };
    try {
      const r = await call("POST", "/partner/decision", body);
      const notice = r.adverse_action;
      fill(box, el("div", { class: "result", "data-eligible": String(r.eligible) },
        el("p", { class: "big" }, r.eligible ? "Eligible" : "Declined"),
        el("p", {}, r.explanation),
        r.reasons.length ? el("div", {}, el("h3", {}, "Key reasons"),
          el("ol", { class: "reasons", id: "decline-reasons" }, r.reasons.map((x) =>
            el("li", {}, x.text, " ", el("span", { class: "muted" }, `(${words(x.factor)}, ${num(x.points, 1)} points)`))))) : null,
        r.under_dispute ? el("p", { class: "warn" }, `Under dispute: if upheld, eligible would be ${r.eligible_if_dispute_upheld ? "yes" : "no"}.`) : null,
        notice ? el("details", { id: "adverse-notice" }, el("summary", {}, "Adverse-action notice to send"),
          el("pre", { class: "table-wrap" }, JSON.stringify(notice, null, 2))) : null));
    } catch (e) {
      denied(box, e);
    }
  }

  document.addEventListener("DOMContentLoaded", async () => {
    document.getElementById("key-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(KEY, document.getElementById("api-key").value.trim());
      loadOffers();
    });
    document.getElementById("lookup-form").addEventListener("submit", lookup);
    document.getElementById("decision-form").addEventListener("submit", decide);
    try {
      const purposes = await api("GET", "/purposes");
      fill("lookup-purpose", Object.entries(purposes).filter(([, p]) => p.permitted).map(([name, p]) =>
        el("option", { value: name, title: p.description }, words(name))));
    } catch (e) {
      say("key-status", e.message, "error");
    }
    await loadOffers();
    document.body.dataset.ready = "true";
  });
})();
