// Three small charts drawn as inline SVG: the score dial, the factor pentagon (radar) and the
// score history line. Why our own ~150 lines instead of a charting library: three fixed
// shapes, text that stays text (screen readers and tests read the numbers from the DOM),
// nothing to vendor, license or update. Each chart is role="img" with an aria-label that
// says what it shows in words.
"use strict";

const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const LOW = 350, HIGH = 950;
  const BAND_COLOURS = { poor: "#c0392b", fair: "#d9822b", good: "#c9a400",
    "very good": "#4c9a2a", excellent: "#1e7b4a" };

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  function root(width, height, label, id) {
    const s = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img",
      "aria-label": label, id, focusable: "false" });
    s.append(svg("title", {}, label));
    return s;
  }

  const polar = (cx, cy, r, a) => [cx + r * Math.cos(a), cy - r * Math.sin(a)];
  const clamp = (x, lo, hi) => Math.max(lo, Math.min(hi, x));

  /** The score on a half dial from 350 to 950, coloured by band. */
  function dial(score, band, bands, id = "dial") {
    const cx = 150, cy = 150, r = 118;
    const angle = (s) => Math.PI * (1 - (clamp(s, LOW, HIGH) - LOW) / (HIGH - LOW));
    const s = root(300, 172, `Score ${Math.round(score)} on a scale from 350 to 950, band ${band}`, id);
    s.dataset.score = String(score);
    const edges = [...bands.map((b) => b.low), HIGH];
    bands.forEach((b, i) => {
      const [x1, y1] = polar(cx, cy, r, angle(edges[i]));
      const [x2, y2] = polar(cx, cy, r, angle(edges[i + 1]));
      s.append(svg("path", { d: `M${x1},${y1} A${r},${r} 0 0 1 ${x2},${y2}`, fill: "none",
        stroke: BAND_COLOURS[b.name] || "#888", "stroke-width": 22, "data-band": b.name }));
    });
    // a marker on the arc where the score sits, so the number in the middle stays clear
    const [mx, my] = polar(cx, cy, r, angle(score));
    s.append(svg("circle", { cx: mx, cy: my, r: 12, fill: "#fff", stroke: "#1d2330",
      "stroke-width": 5, class: "dial-marker" }));
    for (const v of [LOW, 550, 650, 750, HIGH]) {
      const [tx, ty] = polar(cx, cy, r + 20, angle(v));
      s.append(svg("text", { x: tx, y: ty + 4, "text-anchor": "middle", "font-size": 11,
        fill: "#5a6272" }, v));
    }
    s.append(svg("text", { x: cx, y: cy - 18, "text-anchor": "middle", "font-size": 44,
      "font-weight": 700, fill: "#1d2330", class: "dial-score" }, Math.round(score)));
    s.append(svg("text", { x: cx, y: cy + 14, "text-anchor": "middle", "font-size": 18,
      fill: "#1d2330", "font-weight": 600, class: "dial-band" }, band));
    return s;
  }

  /** The five factors as a pentagon: each axis is the share of that factor's best
   *  attainable points the person earns. */
  function radar(factors, id = "radar") {
    const cx = 170, cy = 150, r = 100, n = factors.length;
    const words = factors.map((f) => `${f.name} ${Math.round(f.share * 100)}%`).join(", ");
    const s = root(340, 300, `Factor pentagon: share of the best attainable points per factor: ${words}`, id);
    const at = (i, k) => polar(cx, cy, r * k, Math.PI / 2 - (2 * Math.PI * i) / n);
    for (const k of [0.25, 0.5, 0.75, 1]) {
      const pts = factors.map((_, i) => at(i, k).join(",")).join(" ");
      s.append(svg("polygon", { points: pts, fill: "none", stroke: "#d7dbe2" }));
    }
    factors.forEach((f, i) => {
      const [x, y] = at(i, 1);
      s.append(svg("line", { x1: cx, y1: cy, x2: x, y2: y, stroke: "#d7dbe2" }));
      const [lx, ly] = at(i, 1.22);
      s.append(svg("text", { x: lx, y: ly + 4, "text-anchor": "middle", "font-size": 13,
        fill: "#1d2330" }, f.name));
    });
    const pts = factors.map((f, i) => at(i, clamp(f.share, 0, 1)).join(",")).join(" ");
    s.append(svg("polygon", { points: pts, fill: "rgba(31,95,191,.28)", stroke: "#1f5fbf",
      "stroke-width": 2, class: "radar-shape" }));
    factors.forEach((f, i) => {
      const [x, y] = at(i, clamp(f.share, 0, 1));
      s.append(svg("circle", { cx: x, cy: y, r: 4, fill: "#1f5fbf" },
        svg("title", {}, `${f.name}: ${f.points.toFixed(1)} points`)));
    });
    return s;
  }

  /** Published scores over time (oldest left), on the 350-950 axis. */
  function line(points, id = "history-chart") {
    const w = 360, h = 220, left = 40, right = 14, top = 14, bottom = 30;
    const label = points.length
      ? `Score history: ${points.map((p) => `${p.label} ${Math.round(p.score)}`).join(", ")}`
      : "Score history: no published scores";
    const s = root(w, h, label, id);
    const y = (v) => top + (h - top - bottom) * (1 - (v - LOW) / (HIGH - LOW));
    const x = (i) => points.length < 2 ? (left + w - right) / 2
      : left + ((w - left - right) * i) / (points.length - 1);
    for (const v of [350, 550, 650, 750, 950]) {
      s.append(svg("line", { x1: left, x2: w - right, y1: y(v), y2: y(v), stroke: "#e3e6eb" }));
      s.append(svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 12,
        fill: "#5a6272" }, v));
    }
    if (points.length > 1) {
      s.append(svg("polyline", { points: points.map((p, i) => `${x(i)},${y(p.score)}`).join(" "),
        fill: "none", stroke: "#1f5fbf", "stroke-width": 2.5, class: "history-line" }));
    }
    points.forEach((p, i) => {
      s.append(svg("circle", { cx: x(i), cy: y(p.score), r: 5, fill: "#1f5fbf", class: "history-point" },
        svg("title", {}, `${p.label}: ${Math.round(p.score)}`)));
      if (points.length <= 4 || i === 0 || i === points.length - 1) {
        s.append(svg("text", { x: x(i), y: h - 10, "text-anchor": "middle", "font-size": 12,
          fill: "#5a6272" }, p.label));
      }
    });
    return s;
  }

  return { dial, radar, line, BAND_COLOURS };
})();
