// The /rehearse page: microphone -> 16 kHz int16 chunks posted about once a second; the server
// answers with the live transcript, meters and the audience's questions.
"use strict";

const RATE = 16000;
const POST_EVERY_MS = 1000;
const MAX_POST_SAMPLES = RATE * 4;  // the server takes at most 5 s per post
const $ = (id) => document.getElementById(id);

let take = null;        // {id, product}
let stream = null;
let context = null;
let pending = [];       // Int16Array chunks not yet posted
let posting = false;
let timer = null;
let asked = 0;
let stopping = false;

function message(text) {
  const box = $("messages");
  box.textContent = "";
  for (const line of text ? [].concat(text) : []) {
    const div = document.createElement("div");
    div.textContent = line;
    box.appendChild(div);
  }
}

async function loadInfo() {
  const info = await (await fetch("/api/rehearse")).json();
  $("scene").textContent = `${info.scene} · ${info.language} · host ${info.host}`;
  $("pace-unit").textContent = info.language === "zh" ? "chars / min" : "words / min";
  for (const p of info.products) {
    const option = document.createElement("option");
    option.value = p.id;
    option.textContent = p.name;
    $("product").appendChild(option);
  }
  showProduct();
}

function showProduct() {
  const product = $("product").value;
  $("model-answer").src = `/api/rehearse/model-answer/${product}.wav`;
  $("avatar").src = `/api/rehearse/avatar/${product}.png`;
}

// Linear resampling to 16 kHz; the browser's rate is usually 48 kHz.
function toInt16(samples, fromRate) {
  const ratio = fromRate / RATE;
  const out = new Int16Array(Math.floor(samples.length / ratio));
  for (let i = 0; i < out.length; i++) {
    const pos = i * ratio;
    const j = Math.floor(pos);
    const frac = pos - j;
    const a = samples[j] || 0;
    const b = samples[j + 1] || a;
    const v = Math.max(-1, Math.min(1, a + (b - a) * frac));
    out[i] = v < 0 ? v * 32768 : v * 32767;
  }
  return out;
}

async function postPending() {
  if (posting || !take || pending.length === 0) return;
  posting = true;
  const all = new Int16Array(pending.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of pending) { all.set(c, at); at += c.length; }
  // Audio that piled up (a slow network) goes in several posts, oldest first.
  const body = all.slice(0, MAX_POST_SAMPLES);
  pending = all.length > MAX_POST_SAMPLES ? [all.slice(MAX_POST_SAMPLES)] : [];
  try {
    const response = await fetch(`/api/rehearse/takes/${take.id}/audio`, {
      method: "POST", headers: {"Content-Type": "application/octet-stream"}, body: body.buffer,
    });
    const state = await response.json();
    if (!response.ok) message(state.error || "the server refused the audio");
    else render(state);
  } catch (error) {
    message(`could not reach the server: ${error}`);
  } finally {
    posting = false;
  }
}

function render(state) {
  const lines = $("transcript");
  lines.textContent = "";
  for (const line of state.lines) {
    const p = document.createElement("p");
    const at = document.createElement("small");
    at.textContent = `${line.start.toFixed(1)}s`;
    p.appendChild(at);
    p.appendChild(document.createTextNode(line.text));
    lines.appendChild(p);
  }
  lines.scrollTop = lines.scrollHeight;
  const m = state.meters;
  $("pace").textContent = Math.round(m.pace);
  $("fillers").textContent = m.fillers;
  $("pauses").textContent = m.pauses;
  $("seconds").textContent = Math.round(state.seconds);
  $("level").style.width = `${Math.max(0, Math.min(100, (m.level_dbfs + 60) * 100 / 50))}%`;
  message(state.messages);
  if (state.questions.length > asked) {
    const q = state.questions[state.questions.length - 1];
    asked = state.questions.length;
    $("question").textContent = `Viewer: ${q.text}`;
    $("question").classList.add("asking");
    $("avatar").src = `/api/rehearse/avatar/${take.product}.png?q=${encodeURIComponent(q.text)}`;
    const audio = $("question-audio");
    audio.src = `/api/rehearse/takes/${take.id}/questions/${q.n}.wav`;
    audio.play().catch(() => {});  // autoplay may be blocked; the bubble still shows the question
  }
}

async function start(event) {
  event.preventDefault();
  message("");
  try {
    stream = await navigator.mediaDevices.getUserMedia({audio: {echoCancellation: true, noiseSuppression: false}});
  } catch (error) {
    message(`The microphone is not available (${error.name}): allow it in the browser and try again.`);
    return;
  }
  const response = await fetch("/api/rehearse/takes", {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({host: $("host").value, product: $("product").value}),
  });
  const state = await response.json();
  if (!response.ok) { message(state.error); stream.getTracks().forEach((t) => t.stop()); return; }
  take = {id: state.id, product: state.product};
  document.body.dataset.take = take.id;
  asked = 0;
  stopping = false;
  $("report").textContent = "";
  context = new AudioContext();
  const source = context.createMediaStreamSource(stream);
  const processor = context.createScriptProcessor(4096, 1, 1);
  processor.onaudioprocess = (e) => {
    if (take && !stopping) pending.push(toInt16(e.inputBuffer.getChannelData(0), context.sampleRate));
  };
  source.connect(processor);
  processor.connect(context.destination);
  timer = setInterval(postPending, POST_EVERY_MS);
  $("start").disabled = true;
  $("stop").disabled = false;
  $("product").disabled = true;
}

async function stop() {
  if (!take) return;
  stopping = true;
  $("stop").disabled = true;
  clearInterval(timer);
  for (let i = 0; i < 200 && (posting || pending.length); i++) {
    if (!posting) await postPending();
    else await new Promise((r) => setTimeout(r, 50));
  }
  if (stream) stream.getTracks().forEach((t) => t.stop());
  if (context) await context.close();
  $("report").textContent = "Judging the take…";
  const response = await fetch(`/api/rehearse/takes/${take.id}/stop`, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: "{}",
  });
  const result = await response.json();
  const link = document.createElement("a");
  link.id = "report-link";
  link.href = result.report_url;
  link.textContent = "Open the report";
  $("report").textContent = "";
  $("report").appendChild(link);
  take = null;
  $("start").disabled = false;
  $("product").disabled = false;
  window.open(result.report_url, "_self");
}

// A page closed mid-take keeps its partial report ("abandoned").
window.addEventListener("pagehide", () => {
  if (take && !stopping) {
    navigator.sendBeacon(`/api/rehearse/takes/${take.id}/stop`, JSON.stringify({status: "abandoned"}));
  }
});

$("setup").addEventListener("submit", start);
$("stop").addEventListener("click", stop);
$("product").addEventListener("change", showProduct);
loadInfo();
