// A person's page: everything comes from the /me API with the person's own token; each
// section loads on its own, so one failing endpoint leaves the rest of the page working.
"use strict";

(() => {
  const { el, fill, me, num, signed, when, day, words, say } = OB;
  const FACTORS = ["history", "behavior", "capacity", "identity", "network"];
  let model = { inputs: [], factor_max: {}, bands: [] };
  let lastScore = null;

  const fmtValue = (v) =>
    v === null || v === undefined ? "not on file" : Number.isInteger(v) ? String(v) : Number(v).toFixed(2);

  // --- score, factors, reasons ---------------------------------------------------------

  // a bar set through CSSOM: the pages' CSP refuses inline style attributes
  function bar(share) {
    const inner = el("span");
    inner.style.width = `${Math.round(Math.max(0, Math.min(1, share)) * 100)}%`;
    return el("div", { class: "bar", "aria-hidden": "true" }, inner);
  }

  function renderScore(s) {
    lastScore = s;
    fill("who", `your score (${s.person_id})`);
    fill("dial-box", Charts.dial(s.score, s.band, model.bands));
    const meta = [`Scored on ${day(s.scored_on)}`, `score version ${s.version}`, `model ${s.model_id}`];
    if (s.corrected_by_dispute) meta.push(`corrected by dispute ${s.corrected_by_dispute} (published: ${num(s.published_score)})`);
    fill("score-meta", meta.join(" · "));
    fill(
      "dispute-scores",
      s.open_disputes.map((d) =>
        el("div", { class: "both", "data-dispute": d.dispute, "aria-label": `Dispute ${d.dispute}: both scores` },
          el("div", {}, el("div", { class: "muted" }, "Score that counts"),
            el("div", { class: "big dispute-counts" }, num(s.score))),
          el("div", {}, el("div", { class: "muted" }, `Without the disputed ${words(d.table)} record`),
            el("div", { class: "big dispute-without" }, num(d.score_without)),
            el("div", { class: "muted" }, `${d.band_without} · decided by ${day(d.deadline)}`)))),
    );
    const factors = FACTORS.map((f) => {
      const points = s.subscores[f];
      const max = model.factor_max[f] || 0;
      return { name: f, points, max, share: max > 0 ? points / max : 0 };
    });
    fill("radar-box", Charts.radar(factors));
    fill(
      "factor-list",
      [...factors].sort((a, b) => b.points - a.points).map((f) =>
        el("li", { "data-factor": f.name },
          el("strong", {}, f.name), " ", el("span", { class: "points" }, `${num(f.points, 1)} points`),
          f.max > 0 ? el("span", { class: "muted" }, ` of ${num(f.max, 1)} possible`) : el("span", { class: "muted" }, " (not used by this model)"),
          bar(f.share))),
    );
    fill(
      "reason-list",
      s.reasons.length
        ? s.reasons.map((r) => el("li", {}, r.text, " ", el("span", { class: "muted" }, `(${words(r.factor)}, costs ${num(r.points, 1)} points)`)))
        : [el("li", {}, "Nothing costs you points: every input is at its best.")],
    );
  }

  function renderHistory(h) {
    const points = [...h.scores].reverse().map((s) => ({ score: s.score, label: `v${s.version} ${day(s.scored_on)}` }));
    fill("history-box", Charts.line(points));
  }

  // --- what-if ---------------------------------------------------------------------------

  const sliders = new Map(); // feature -> {input, values, start, output}
  let whatIfSeq = 0;
  let whatIfTimer = null;

  function changes() {
    const out = {};
    for (const [name, s] of sliders) {
      const i = Number(s.input.value);
      if (i !== s.start) out[name] = s.values[i];
    }
    return out;
  }

  function showWhatIf(score, band, before) {
    const node = document.getElementById("whatif-score");
    node.textContent = num(score);
    node.dataset.score = String(score);
    fill("whatif-band", band);
    fill("whatif-delta", before === null ? "" : `${signed(score - before)} points vs now`);
  }

  async function runWhatIf() {
    const seq = ++whatIfSeq;
    const ch = changes();
    if (Object.keys(ch).length === 0) {
      showWhatIf(lastScore.score, lastScore.band, lastScore.score);
      say("whatif-status", "No change: this is your score.");
      return;
    }
    say("whatif-status", "Asking the model…");
    try {
      const r = await me("POST", "/me/what-if", { changes: ch });
      if (seq !== whatIfSeq) return; // a newer slider move is on its way
      showWhatIf(r.score_after, r.band_after, r.score_before);
      const top = r.reasons_after[0];
      say("whatif-status", `${Object.keys(ch).length} input(s) changed. ${top ? `Biggest cost then: ${top.text}` : ""}`);
    } catch (e) {
      if (seq === whatIfSeq) say("whatif-status", e.message, "error");
    }
  }

  function scheduleWhatIf() {
    clearTimeout(whatIfTimer);
    whatIfTimer = setTimeout(runWhatIf, 120);
  }

  function sliderText(s) {
    const i = Number(s.input.value);
    return i === s.start ? `${fmtValue(s.current)} (now)` : `${fmtValue(s.values[i])} (now ${fmtValue(s.current)})`;
  }

  async function setupWhatIf(score) {
    const inputs = model.inputs;
    if (!inputs.length) {
      say("whatif-status", "The model in service has no input you can change by acting.");
      return;
    }
    let probe;
    try {
      // the API tells each input's current value in its answer; the values sent here are
      // only a probe and never shown
      probe = await me("POST", "/me/what-if", { changes: Object.fromEntries(inputs.map((i) => [i.name, i.values[0]])) });
    } catch (e) {
      say("whatif-status", `What-if is not available: ${e.message}`, "error");
      return;
    }
    const current = Object.fromEntries(probe.changes.map((c) => [c.feature, c.current]));
    const box = document.getElementById("whatif-sliders");
    const missing = [];
    for (const inp of inputs) {
      const cur = current[inp.name];
      if (cur === null || cur === undefined) {
        missing.push(words(inp.name));
        continue;
      }
      let start = 0;
      inp.values.forEach((v, i) => { if (v <= cur) start = i; });
      const id = `whatif-${inp.name}`;
      const input = el("input", { type: "range", id, min: 0, max: inp.values.length - 1, step: 1,
        value: start, "data-feature": inp.name, "aria-describedby": `${id}-help` });
      const output = el("output", { for: id, id: `${id}-value` });
      const s = { input, values: inp.values, start, current: cur, output };
      sliders.set(inp.name, s);
      const update = () => {
        output.textContent = sliderText(s);
        input.setAttribute("aria-valuetext", sliderText(s));
      };
      update();
      input.addEventListener("input", () => { update(); scheduleWhatIf(); });
      box.append(el("div", { class: "slider" },
        el("label", { for: id }, words(inp.name), " ", el("span", { class: "pill" }, inp.factor)),
        input, output,
        el("div", { class: "muted", id: `${id}-help` }, inp.description, ` Up to ${num(inp.max_points, 1)} points.`)));
    }
    showWhatIf(score.score, score.band, score.score);
    say("whatif-status", missing.length ? `Not on file, so not movable: ${missing.join(", ")}.` : "Move a slider.");
    document.getElementById("whatif-reset").addEventListener("click", () => {
      for (const s of sliders.values()) {
        s.input.value = s.start;
        s.input.dispatchEvent(new Event("input"));
      }
    });
  }

  function tryPath(path) {
    for (const c of path.changes) {
      const s = sliders.get(c.feature);
      if (!s) continue;
      const i = s.values.findIndex((v) => Math.abs(v - c.proposed) < 1e-9);
      if (i >= 0) {
        s.input.value = i;
        s.input.dispatchEvent(new Event("input"));
      }
    }
    document.getElementById("whatif").scrollIntoView();
  }

  // --- benefits ----------------------------------------------------------------------------

  function renderBenefits(b) {
    const item = (d) => el("li", { "data-offer": d.offer }, el("strong", {}, d.title), ` (from ${num(d.threshold)}) `,
      el("div", { class: "muted" }, d.explanation));
    fill("benefits-unlocked", b.unlocked.length ? b.unlocked.map(item) : [el("li", { class: "muted" }, "None yet.")]);
    fill("benefits-locked", b.locked.length ? b.locked.map(item) : [el("li", { class: "muted" }, "You have unlocked every benefit.")]);
    const box = document.getElementById("benefits-path");
    if (b.next_threshold === null) return fill(box, el("p", {}, "You are above every threshold."));
    if (!b.path) return fill(box, el("p", {}, `Next threshold ${num(b.next_threshold)}. `, el("span", { class: "muted" }, b.path_unavailable || "")));
    fill(box,
      el("p", {}, `Next threshold ${num(b.next_threshold)}: ${b.path.message}.`),
      el("ul", { class: "plain" }, b.path.changes.map((c) =>
        el("li", {}, `${c.description} — from ${fmtValue(c.current)} to ${fmtValue(c.proposed)} `,
          el("span", { class: "muted" }, `(+${num(c.points, 1)} points)`)))),
      b.path.changes.length ? el("button", { type: "button", class: "secondary", id: "try-path", onclick: () => tryPath(b.path) }, "Try this in what-if") : null);
  }

  // --- consents and access log -------------------------------------------------------------

  async function loadPurposes() {
    const purposes = await OB.api("GET", "/purposes");
    fill("consent-purpose", Object.entries(purposes).filter(([, p]) => p.permitted).map(([name, p]) =>
      el("option", { value: name, title: p.description }, words(name))));
  }

  async function loadConsents() {
    const rows = await me("GET", "/me/consents");
    const tbody = document.querySelector("#consent-table tbody");
    fill(tbody, rows.length ? [...rows].reverse().map((c) => {
      const state = c.active ? "active" : c.revoked_at ? `revoked ${when(c.revoked_at)}` : "expired";
      return el("tr", { "data-consent": c.id, "data-partner": c.partner, "data-state": c.active ? "active" : "inactive" },
        el("td", {}, c.partner), el("td", {}, words(c.purpose), c.share_number ? " (number)" : " (threshold only)"),
        el("td", {}, day(c.expires_at)), el("td", { class: c.active ? "granted" : "muted" }, state),
        el("td", {}, c.active ? el("button", { type: "button", class: "danger", "aria-label": `Revoke consent for ${c.partner}, ${words(c.purpose)}`,
          onclick: () => revoke(c) }, "Revoke") : ""));
    }) : [el("tr", {}, el("td", { colspan: 5, class: "muted" }, "You have given no consent: no partner can look you up."))]);
  }

  async function revoke(c) {
    try {
      await me("DELETE", `/me/consents/${c.id}`);
      say("consent-status", `Revoked: ${c.partner} can no longer look you up for ${words(c.purpose)}.`, "ok");
      await loadConsents();
    } catch (e) {
      say("consent-status", e.message, "error");
    }
  }

  async function grant(ev) {
    ev.preventDefault();
    const partner = document.getElementById("consent-partner").value.trim();
    const days = Number(document.getElementById("consent-days").value);
    if (!partner) return say("consent-status", "Enter the partner's name.", "error");
    if (!(days >= 1 && days <= 730)) return say("consent-status", "A consent lasts 1 to 730 days.", "error");
    const body = {
      partner,
      purpose: document.getElementById("consent-purpose").value,
      expires_at: new Date(Date.now() + days * 86400000).toISOString(),
      share_number: document.getElementById("consent-share").checked,
    };
    try {
      await me("POST", "/me/consents", body);
      say("consent-status", `Granted: ${partner} may look you up for ${words(body.purpose)} for ${days} days.`, "ok");
      await loadConsents();
    } catch (e) {
      say("consent-status", e.message, "error");
    }
  }

  async function loadAccessLog() {
    const rows = await me("GET", "/me/access-log");
    const tbody = document.querySelector("#access-table tbody");
    fill(tbody, rows.length ? rows.map((r) => {
      const adverse = r.action === "decision" && r.outcome === "granted" && r.reason.startsWith("declined");
      return el("tr", { "data-seq": r.seq, "data-outcome": r.outcome },
        el("td", {}, when(r.at)), el("td", {}, r.partner),
        el("td", {}, `${r.action} · ${words(r.purpose)}`),
        el("td", {}, el("span", { class: r.outcome }, r.outcome), el("div", { class: "muted" }, r.reason),
          adverse ? el("button", { type: "button", class: "secondary", "aria-label": `Ask a person to review decision ${r.seq}`,
            onclick: () => askReview(r) }, "Ask for human review") : null));
    }) : [el("tr", {}, el("td", { colspan: 4, class: "muted" }, "Nobody has looked you up."))]);
  }

  async function askReview(r) {
    const statement = window.prompt("What should the reviewer know?", "I believe this decision is wrong.");
    if (!statement) return;
    try {
      const out = await me("POST", "/me/reviews", { decision_seq: r.seq, statement });
      say("review-status", `Review ${out.id} requested: ${out.status}.`, "ok");
    } catch (e) {
      say("review-status", e.message, "error");
    }
  }

  // --- disputes ---------------------------------------------------------------------------

  let records = [];

  async function loadRecords() {
    const out = await me("GET", "/me/records");
    records = out.records.filter((r) => r.disputable);
    const select = document.getElementById("dispute-record");
    if (!records.length) {
      fill(select, el("option", { value: "" }, out.unavailable || "No record to dispute"));
      document.getElementById("dispute-open").disabled = true;
      return;
    }
    const groups = new Map();
    records.forEach((r, i) => {
      if (!groups.has(r.table)) groups.set(r.table, el("optgroup", { label: words(r.table) }));
      const key = Object.entries(r.key).map(([k, v]) => `${words(k)} ${v}`).join(", ");
      const lin = `${r.lineage.batch_id}:${r.lineage.file_id}:${r.lineage.row}`;
      groups.get(r.table).append(el("option", { value: i, "data-table": r.table, "data-lineage": lin }, key));
    });
    fill(select, [...groups.values()]);
  }

  async function loadDisputes() {
    const rows = await me("GET", "/me/disputes");
    fill("dispute-list", rows.length ? [...rows].reverse().map((d) =>
      el("li", { "data-dispute": d.id, "data-status": d.status },
        el("strong", {}, `Dispute ${d.id}: ${words(d.table)} — ${d.status}`),
        el("div", {}, `Score with the record ${num(d.score_before)}, without it `,
          el("strong", { class: "score-without" }, num(d.score_without)), ` (${d.band_without})`),
        el("div", { class: "muted" }, d.resolution_note ? `Resolved: ${d.resolution_note}` : `Decided by ${day(d.deadline)}`)))
      : [el("li", { class: "muted" }, "No disputes.")]);
  }

  async function openDispute(ev) {
    ev.preventDefault();
    const record = records[Number(document.getElementById("dispute-record").value)];
    const statement = document.getElementById("dispute-statement").value.trim();
    if (!record) return say("dispute-status", "Choose the record you dispute.", "error");
    if (!statement) return say("dispute-status", "Say why the record is wrong.", "error");
    say("dispute-status", "Rescoring your file without the record…");
    try {
      const d = await me("POST", "/me/disputes", { table: record.table, lineage: record.lineage, statement });
      say("dispute-status", `Dispute ${d.id} opened. Without the record your score would be ${num(d.score_without)}.`, "ok");
      document.getElementById("dispute-statement").value = "";
      await Promise.all([me("GET", "/me/score").then(renderScore), loadDisputes(), loadRecords()]);
    } catch (e) {
      say("dispute-status", e.message, "error");
    }
  }

  // --- freeze, export, sign out -------------------------------------------------------------

  function renderFreeze(f) {
    const btn = document.getElementById("freeze-toggle");
    btn.dataset.frozen = String(f.frozen);
    btn.textContent = f.frozen ? "Lift the freeze" : "Freeze my file";
    fill("freeze-state", f.frozen
      ? el("span", {}, el("strong", { class: "denied" }, "Frozen"), ` since ${when(f.since)}: lookups for ${f.refused_purposes.map(words).join(", ")} are refused.`)
      : el("span", {}, el("strong", { class: "granted" }, "Not frozen"), `. Freezing refuses lookups for ${f.refused_purposes.map(words).join(", ")}.`));
  }

  async function toggleFreeze() {
    const frozen = document.getElementById("freeze-toggle").dataset.frozen === "true";
    try {
      renderFreeze(await me(frozen ? "DELETE" : "POST", "/me/freeze"));
    } catch (e) {
      fill("freeze-state", el("span", { class: "error" }, e.message));
    }
  }

  async function exportData() {
    say("export-status", "Collecting everything held on you…");
    try {
      const data = await me("GET", "/me/export");
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
      const a = el("a", { href: URL.createObjectURL(blob), download: "openbureau-my-data.json" });
      document.body.append(a);
      a.click();
      a.remove();
      say("export-status", "Downloaded openbureau-my-data.json.", "ok");
    } catch (e) {
      say("export-status", e.message, "error");
    }
  }

  async function signOut() {
    try { await me("POST", "/auth/logout"); } catch { /* signed out either way */ }
    OB.token.clear();
    location.assign("/");
  }

  // --- start --------------------------------------------------------------------------------

  const guard = (what, p, target) => p.catch((e) => {
    if (target) fill(target, el("p", { class: "error" }, `${what}: ${e.message}`));
  });

  document.addEventListener("DOMContentLoaded", async () => {
    if (!OB.token.get()) return location.assign("/");
    document.getElementById("signout").addEventListener("click", signOut);
    document.getElementById("consent-form").addEventListener("submit", grant);
    document.getElementById("dispute-form").addEventListener("submit", openDispute);
    document.getElementById("freeze-toggle").addEventListener("click", toggleFreeze);
    document.getElementById("export").addEventListener("click", exportData);
    let score;
    try {
      [model, score] = await Promise.all([OB.api("GET", "/web/model.json"), me("GET", "/me/score")]);
    } catch (e) {
      say("page-status", e.message, "error");
      return;
    }
    renderScore(score);
    say("page-status", "");
    await Promise.all([
      guard("History", me("GET", "/me/history").then(renderHistory), "history-box"),
      guard("What-if", setupWhatIf(score), "whatif-sliders"),
      guard("Benefits", me("GET", "/me/benefits").then(renderBenefits), "benefits-path"),
      guard("Purposes", loadPurposes(), "consent-status"),
      guard("Consents", loadConsents(), "consent-status"),
      guard("Access log", loadAccessLog(), "review-status"),
      guard("Records", loadRecords(), "dispute-status"),
      guard("Disputes", loadDisputes(), "dispute-list"),
      guard("Freeze", me("GET", "/me/freeze").then(renderFreeze), "freeze-state"),
    ]);
    document.body.dataset.ready = "true";
  });
})();
