// Analytics page: numbers from /console/api/analytics; charts drawn on the server by matplotlib
// (/console/api/charts/<name>.svg), so the page draws none itself.
"use strict";
const TABLES = ["transcripts", "questions", "answers", "compliance", "operator_actions", "viewers",
  "viewer_sessions", "clicks", "on_air"];
const $ = (id) => document.getElementById(id);

function cell(tr, value) {
  const td = document.createElement("td");
  td.textContent = value;
  tr.appendChild(td);
}

function number(value, digits) {
  return value === null || value === undefined ? "–" : (+value).toFixed(digits);
}

async function load() {
  const days = $("days").value;
  const response = await fetch("/console/api/analytics?days=" + days, { credentials: "same-origin" });
  if (response.status === 401) { location.href = "/console"; return; }
  const data = await response.json();
  if (!response.ok) { $("totals").textContent = data.error || "no data"; return; }
  const t = data.totals;
  $("totals").textContent = `${t.questions} questions · ${t.answers} answers · ${t.unanswered} unanswered · ` +
    `${t.compliance_interventions} compliance interventions (${t.compliance_blocks} blocked) · ` +
    `${data.unique_viewers} unique viewers`;
  const lat = data.answer_latency;
  $("latency").textContent = lat.count ? `p50 ${lat.p50_s.toFixed(2)} s · p95 ${lat.p95_s.toFixed(2)} s · ${lat.count} answers` : "no answers yet";
  const stamp = Date.now();  // a fresh picture on each refresh
  for (const img of document.querySelectorAll("img[data-chart]")) {
    img.src = `/console/api/charts/${img.dataset.chart}.svg?days=${days}&t=${stamp}`;
  }
  const products = $("products").tBodies[0];
  products.replaceChildren();
  for (const p of data.products || []) {
    const tr = document.createElement("tr");
    const rates = Object.entries(p.comments_per_min).map(([s, r]) => `${s} ${number(r, 2)}`).join(" · ");
    for (const v of [p.name || p.product, number(p.on_air_s / 60, 1), p.mentions, p.questions, p.clicks,
      number(p.clicks_per_min, 2), p.click_through === null ? "–" : (100 * p.click_through).toFixed(1) + " %",
      p.peak_viewers, number(p.avg_viewers, 1), p.unique_viewers, rates]) cell(tr, v);
    products.appendChild(tr);
  }
  const body = $("unanswered").tBodies[0];
  body.replaceChildren();
  for (const q of data.unanswered) {
    const tr = document.createElement("tr");
    for (const v of [new Date(q.t * 1000).toLocaleString(), q.name, q.text, q.product, q.status]) cell(tr, v);
    body.appendChild(tr);
  }
  $("report-products").href = `/console/api/report/products.csv?days=${days}`;
  $("report-comments").href = `/console/api/report/comments.csv?days=${days}`;
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
