// Operator console: state over a websocket (falls back to polling), actions over the JSON API.
"use strict";
const $ = (id) => document.getElementById(id);
let state = null;
const MAX_CHAT_LINES = 100;

function text(el, value) { el.textContent = value == null ? "" : String(value); }

function say(message, isError) {
  text($("message"), message);
  $("message").className = isError ? "error" : "";
}

async function api(path, body) {
  const response = await fetch("/console/api/" + path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body || {}),
  });
  let data = {};
  try { data = await response.json(); } catch (e) { /* not JSON */ }
  if (response.status === 401) { location.reload(); }
  if (!response.ok) { say(data.error || ("HTTP " + response.status), true); return null; }
  return data;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement("td");
    if (cell instanceof Node) td.appendChild(cell); else text(td, cell);
    tr.appendChild(td);
  }
  return tr;
}

function button(label, onClick) {
  const b = document.createElement("button");
  text(b, label);
  b.addEventListener("click", onClick);
  return b;
}

function render(s) {
  state = s;
  const health = s.health || {};
  const pill = $("status");
  text(pill, (health.status || "?") + " · " + (health.viewers || 0) + " viewers" + (s.paused ? " · paused" : "") + (s.muted ? " · MUTED" : ""));
  pill.className = "pill " + (health.status === "ok" ? "ok" : "degraded");
  text($("pause"), s.paused ? "Resume host" : "Pause host");
  $("pause").classList.toggle("active", s.paused);
  text($("mute"), s.muted ? "Unmute" : "Emergency mute");
  $("mute").classList.toggle("active", s.muted);
  const select = $("product");
  if (select.options.length !== s.products.length) {
    select.replaceChildren();
    for (const p of s.products) {
      const option = document.createElement("option");
      option.value = p.id; text(option, p.name);
      select.appendChild(option);
    }
  }
  if (document.activeElement !== select) select.value = s.current_product;
  const queue = $("queue").tBodies[0];
  queue.replaceChildren();
  for (const q of s.queue) {
    const actions = document.createElement("span");
    actions.appendChild(button(q.pinned ? "pinned" : "Pin", () => api("queue/" + q.id + "/pin")));
    actions.appendChild(button("Skip", () => api("queue/" + q.id + "/skip")));
    const who = (q.platform ? "[" + q.platform + "] " : "") + q.name;
    queue.appendChild(row([who + (q.count > 1 ? " ×" + q.count : ""), q.text, Math.round(q.age_s) + " s", actions]));
  }
  const stages = $("stages").tBodies[0];
  stages.replaceChildren();
  for (const [name, st] of Object.entries(health.stages || {})) {
    stages.appendChild(row([name, st.state, st.errors, st.restarts, st.last_error]));
  }
  // Platform chat (Twitch, YouTube, ingest bridges): a failing one shows its error and retry.
  const sources = $("sources").tBodies[0];
  sources.replaceChildren();
  for (const [name, src] of Object.entries((health.chat_sources || {}).sources || {})) {
    const state = src.state + (src.retry_in_s != null ? " (retry in " + src.retry_in_s + " s)" : "");
    sources.appendChild(row([name, state, src.comments, src.accepted, src.malformed, src.failures, src.last_error || ""]));
  }
}

function onMessage(message) {
  if (message.type === "state") render(message.state);
  else if (message.type === "caption") text($("caption"), message.text);
  else if (message.type === "chat") {
    const li = document.createElement("li");
    text(li, (message.platform ? "[" + message.platform + "] " : "") + message.name + ": " + message.text);
    const chat = $("chat");
    chat.appendChild(li);
    while (chat.children.length > MAX_CHAT_LINES) chat.removeChild(chat.firstChild);
    chat.scrollTop = chat.scrollHeight;
  }
}

function connect() {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/console/ws");
  ws.onmessage = (event) => { try { onMessage(JSON.parse(event.data)); } catch (e) { /* ignore */ } };
  ws.onclose = () => { text($("status"), "reconnecting…"); $("status").className = "pill down"; setTimeout(connect, 2000); };
}

function refreshPreview() {
  const img = new Image();
  img.onload = () => { $("preview").src = img.src; setTimeout(refreshPreview, 1000); };
  img.onerror = () => setTimeout(refreshPreview, 2000);
  img.src = "/snapshot.png?t=" + Date.now();
}

$("pause").addEventListener("click", () => api("pause", { paused: !(state && state.paused) }));
$("mute").addEventListener("click", () => api("mute", { muted: !(state && state.muted) }));
$("promo").addEventListener("click", async () => {
  const r = await api("promotion", { id: $("product").value });
  if (r) say("Promotion queued: " + r.text);
});
$("reload").addEventListener("click", async () => { if (await api("reload")) say("Scene reloaded."); });
$("product").addEventListener("change", async () => {
  if (await api("product", { id: $("product").value })) say("Switching product.");
});
$("say-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const r = await api("say", { text: $("say").value });
  if (r) { say("Queued: " + r.text); $("say").value = ""; }
});
connect();
refreshPreview();
