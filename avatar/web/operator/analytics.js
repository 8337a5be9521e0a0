// Analytics page: charts drawn as inline SVG by this script (no library, nothing fetched elsewhere).
"use strict";
const NS = "http://www.w3.org/2000/svg";
const TABLES = ["transcripts", "questions", "answers", "compliance", "operator_actions", "viewers"];
const $ = (id) => document.getElementById(id);

function el(name, attrs, parent) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function label(svg, x, y, value, anchor) {
  const t = el("text", { x, y, "text-anchor": anchor || "start" }, svg);
  t.textContent = value;
}

function bars(svg, items, color) {
  svg.replaceChildren();
  const W = +svg.getAttribute("width"), H = +svg.getAttribute("height");
  if (!items.length) { label(svg, 10, 20, "no data yet"); return; }
  const max = Math.max(...items.map((d) => d.value), 1);
  const row = Math.min(28, (H - 10) / items.length);
  items.forEach((d, i) => {
    const w = (W - 170) * d.value / max;
    label(svg, 0, i * row + row * 0.65, d.label.slice(0, 22));
    el("rect", { x: 140, y: i * row + 3, width: Math.max(1, w), height: row - 6, fill: color }, svg);
    label(svg, 145 + w, i * row + row * 0.65, String(d.value));
  });
}

function line(svg, series, keys, colors) {
  svg.replaceChildren();
  const W = +svg.getAttribute("width"), H = +svg.getAttribute("height"), P = 30;
  if (!series.length) { label(svg, 10, 20, "no data yet"); return; }
  const t0 = series[0].t, t1 = Math.max(series[series.length - 1].t, t0 + 1);
  const max = Math.max(...series.flatMap((d) => keys.map((k) => d[k] || 0)), 1e-9);
  const x = (t) => P + (W - 2 * P) * (t - t0) / (t1 - t0);
  const y = (v) => H - P - (H - 2 * P) * v / max;
  el("line", { x1: P, y1: H - P, x2: W - P, y2: H - P, stroke: "#666" }, svg);
  label(svg, 2, P, max.toFixed(max < 10 ? 2 : 0));
  label(svg, P, H - 8, new Date(t0 * 1000).toLocaleString());
  label(svg, W - P, H - 8, new Date(t1 * 1000).toLocaleString(), "end");
  keys.forEach((k, i) => {
    const points = series.map((d) => x(d.t) + "," + y(d[k] || 0)).join(" ");
    el("polyline", { points, fill: "none", stroke: colors[i], "stroke-width": 2 }, svg);
    series.forEach((d) => el("circle", { cx: x(d.t), cy: y(d[k] || 0), r: 2.5, fill: colors[i] }, svg));
  });
}

async function load() {
  const days = $("days").value;
  const response = await fetch("/console/api/analytics?days=" + days, { credentials: "same-origin" });
  if (response.status === 401) { location.href = "/console"; return; }
  const data = await response.json();
  if (!response.ok) { $("totals").textContent = data.error || "no data"; return; }
  const t = data.totals;
  $("totals").textContent = `${t.questions} questions · ${t.answers} answers · ${t.unanswered} unanswered · ` +
    `${t.compliance_interventions} compliance interventions (${t.compliance_blocks} blocked)`;
  bars($("per-product"), data.questions_per_product.map((d) => ({ label: d.product, value: d.count })), "#4f9dff");
  bars($("per-source"), (data.comments_per_source || []).map((d) => ({ label: d.source, value: d.count })), "#c9a227");
  bars($("clicks"), (data.clicks_per_product || []).map((d) => ({ label: d.product, value: d.count })), "#3fb950");
  const lat = data.answer_latency;
  $("latency").textContent = lat.count ? `p50 ${lat.p50_s.toFixed(2)} s · p95 ${lat.p95_s.toFixed(2)} s · ${lat.count} answers` : "no answers yet";
  line($("latency-chart"), lat.series, ["avg_s"], ["#ffb84f"]);
  line($("viewers-chart"), data.viewers_series, ["max", "avg", "unique"], ["#6fdc8c", "#3a8f55", "#c9a227"]);
  line($("compliance-chart"), data.compliance_series, ["total", "blocked"], ["#aaa", "#ff5c5c"]);
  const body = $("unanswered").tBodies[0];
  body.replaceChildren();
  for (const q of data.unanswered) {
    const tr = document.createElement("tr");
    for (const v of [new Date(q.t * 1000).toLocaleString(), q.name, q.text, q.product, q.status]) {
      const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  const exports = $("exports");
  exports.replaceChildren();
  for (const table of TABLES) {
    const a = document.createElement("a");
    a.href = `/console/api/export/${table}.csv?days=${days}`;
    a.textContent = table + ".csv";
    exports.appendChild(a);
    exports.appendChild(document.createTextNode(" "));
  }
}

$("days").addEventListener("change", load);
load();
setInterval(load, 60000);
