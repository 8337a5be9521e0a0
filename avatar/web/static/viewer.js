// The viewer page: receives the show over WebRTC, sends chat over a data channel.
// window.avatarStats is read by the end-to-end tests (and is handy in the console).
"use strict";

const stats = { frames: 0, width: 0, height: 0, audioPeak: 0, captions: [], state: "new" };
window.avatarStats = stats;

const $ = (id) => document.getElementById(id);
const video = $("video");
let channel = null;
// The microphone is asked for only when the page is opened with ?mic=1 (the "Ask by voice" button
// reloads with it): then the offer carries a sendrecv audio line; the track stays disabled (silence)
// except while the button is held.
// On /console/studio (operator sign-in) the co-host's microphone is always open (no button to hold).
const studio = location.pathname === "/console/studio";
const wantsMic = studio || new URLSearchParams(location.search).get("mic") === "1";
let micTrack = null;
stats.transcripts = [];
stats.interims = [];

function setStatus(text) { $("status").textContent = text; }

function countFrames() {
  if (!("requestVideoFrameCallback" in HTMLVideoElement.prototype)) return;
  const onFrame = (_now, meta) => {
    stats.frames += 1;
    stats.width = meta.width;
    stats.height = meta.height;
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}

// A portrait (9:16) programme is centred when the phone crops it (its card is on the right, not
// its host on the left, as in a landscape one).
video.addEventListener("resize", () => {
  video.classList.toggle("portrait", video.videoHeight > video.videoWidth);
});

function meterAudio(stream) {
  // Measures what arrives, whether or not the page is muted, so tests can check for sound.
  const context = new AudioContext();
  const source = context.createMediaStreamSource(stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 2048;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    const rms = Math.sqrt(sum / samples.length);
    stats.audioPeak = Math.max(stats.audioPeak, rms);
  }, 100);
  context.resume();
}

function addChat(name, text, platform) {
  const item = document.createElement("li");
  const who = document.createElement("b");
  who.textContent = (platform ? "[" + platform + "] " : "") + name + ": ";
  item.append(who, document.createTextNode(text));
  $("chat").append(item);
  while ($("chat").children.length > 100) $("chat").firstChild.remove();
  $("chat").scrollTop = $("chat").scrollHeight;
}

const buyLinks = {};  // product id -> its counted buy link (/go/<id>), for products that have one

function markCurrent(id) {
  for (const li of $("products").children) li.classList.toggle("current", li.dataset.id === id);
  // The product on air gets the big Buy button under the picture.
  const buy = $("buy-now");
  buy.hidden = !buyLinks[id];
  if (buyLinks[id]) buy.href = buyLinks[id] + "?from=card";
}

function onMessage(event) {
  let msg;
  try { msg = JSON.parse(event.data); } catch { return; }
  if (msg.type === "caption") {
    $("caption").textContent = msg.text;
    stats.captions.push(msg.text);
    if (stats.captions.length > 200) stats.captions.shift();
  } else if (msg.type === "chat") {
    addChat(msg.name, msg.text, msg.platform);
  } else if (msg.type === "notice") {
    $("notice").textContent = msg.text;
    setTimeout(() => { if ($("notice").textContent === msg.text) $("notice").textContent = ""; }, 6000);
  } else if (msg.type === "product") {
    markCurrent(msg.id);
  } else if (msg.type === "transcript") {
    $("heard").textContent = msg.final ? (studio ? "You said: " : "You asked: ") + msg.text : "Listening…";
    $("heard").classList.remove("interim");
    if (msg.final) stats.transcripts.push(msg.text);
  } else if (msg.type === "interim") {
    // What was understood so far, greyed while the person speaks; the final transcript replaces it.
    $("heard").textContent = msg.text + "…";
    $("heard").classList.add("interim");
    stats.interims.push(msg.text);
    if (stats.interims.length > 100) stats.interims.shift();
  }
}

async function loadProducts() {
  const response = await fetch("/api/products");
  const data = await response.json();
  const lang = navigator.language.startsWith("zh") ? "zh" : "en";
  for (const p of data.products) {
    const li = document.createElement("li");
    li.dataset.id = p.id;
    if (p.image) {
      const img = document.createElement("img");
      img.src = p.image;
      img.alt = "";
      li.append(img);
    }
    const text = document.createElement("div");
    const name = document.createElement("div");
    name.textContent = p.name[lang] || p.name.en;
    const price = document.createElement("div");
    price.className = "price";
    price.textContent = p.promo_price || p.price;
    if (p.promo_price) {
      const was = document.createElement("s");
      was.textContent = p.price;
      price.append(was);
    }
    text.append(name, price);
    li.append(text);
    if (p.buy) {
      buyLinks[p.id] = p.buy;
      const buy = document.createElement("a");
      buy.className = "buy";
      buy.href = p.buy + "?from=list";
      buy.target = "_blank";
      buy.rel = "noopener";
      buy.textContent = lang === "zh" ? "购买" : "Buy";
      li.append(buy);
    }
    $("products").append(li);
  }
  markCurrent(data.current);
}

async function connect() {
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  if (micTrack) {
    pc.addTransceiver(micTrack, { direction: "sendrecv" });
  } else {
    pc.addTransceiver("audio", { direction: "recvonly" });
  }
  channel = pc.createDataChannel("chat");
  channel.onmessage = onMessage;
  const stream = new MediaStream();
  pc.ontrack = (event) => {
    stream.addTrack(event.track);
    video.srcObject = stream;
    if (event.track.kind === "audio") meterAudio(new MediaStream([event.track]));
  };
  pc.onconnectionstatechange = () => {
    stats.state = pc.connectionState;
    setStatus(pc.connectionState === "connected" ? "● LIVE" : pc.connectionState);
    if (pc.connectionState === "failed") setTimeout(() => location.reload(), 3000);
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
    setTimeout(resolve, 2000);  // enough candidates for a LAN; do not hang on a slow STUN path
  });
  const response = await fetch(studio ? "/console/offer" : "/offer", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    // The studio's co-host speaks on air (their voice interrupts the host); a viewer asks in turn.
    body: JSON.stringify({
      sdp: pc.localDescription.sdp,
      type: pc.localDescription.type,
      role: studio ? "studio" : "viewer",
    }),
  });
  if (!response.ok) {
    setStatus("Could not connect: " + (await response.json()).error);
    return;
  }
  await pc.setRemoteDescription(await response.json());
}

$("chat-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("message").value.trim();
  if (!text || !channel || channel.readyState !== "open") return;
  channel.send(JSON.stringify({ type: "chat", name: $("name").value || "viewer", text }));
  $("message").value = "";
});

// On a phone the product list is a bag over the video, opened and closed with its button.
$("bag").addEventListener("click", () => {
  const open = document.body.classList.toggle("bag-open");
  $("bag").setAttribute("aria-expanded", String(open));
});

$("unmute").addEventListener("click", () => {
  video.muted = false;
  video.play();
  $("unmute").hidden = true;
});

function talk(on) {
  if (!micTrack) {
    if (on && !wantsMic) location.search = "?mic=1";  // ask for the microphone, then reconnect with it
    return;
  }
  micTrack.enabled = on;
  $("talk").setAttribute("aria-pressed", String(on));
  $("talk").classList.toggle("on", on);
}
window.avatarTalk = talk;  // the end-to-end test holds the button this way

const button = $("talk");
button.addEventListener("pointerdown", () => talk(true));
for (const name of ["pointerup", "pointerleave", "pointercancel"]) button.addEventListener(name, () => talk(false));
button.addEventListener("keydown", (event) => { if (event.key === " " && !event.repeat) talk(true); });
button.addEventListener("keyup", (event) => { if (event.key === " ") talk(false); });

async function openMic() {
  if (!wantsMic || !navigator.mediaDevices) return;
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    micTrack = stream.getAudioTracks()[0] || null;
    if (micTrack) micTrack.enabled = studio;  // a viewer's mic is silent until the button is held
    if (studio) {
      $("talk").hidden = true;
      $("name").value = $("name").value || "co-host";
      stats.studio = true;
    }
  } catch (error) {
    $("notice").textContent = "No microphone: " + error.message;
  }
}

countFrames();
loadProducts().catch((error) => console.error(error));
openMic().then(connect).catch((error) => setStatus("Could not connect: " + error));
