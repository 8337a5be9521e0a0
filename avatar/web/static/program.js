// The programme page for an OBS browser source: the show full-window, no controls, no chat.
// It plays with sound when the browser allows it (OBS does), muted otherwise, and reconnects on
// its own. window.avatarStats is read by the end-to-end tests.
"use strict";

const stats = { frames: 0, width: 0, height: 0, state: "new", muted: false };
window.avatarStats = stats;
const video = document.getElementById("video");

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

async function play() {
  try {
    video.muted = false;
    await video.play();
  } catch {
    video.muted = true;  // a browser that blocks sound without a click still shows the picture
    stats.muted = true;
    await video.play().catch(() => {});
  }
}

async function connect() {
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  const stream = new MediaStream();
  pc.ontrack = (event) => {
    stream.addTrack(event.track);
    video.srcObject = stream;
    play();
  };
  pc.onconnectionstatechange = () => {
    stats.state = pc.connectionState;
    if (pc.connectionState === "failed" || pc.connectionState === "closed") setTimeout(() => location.reload(), 3000);
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
    setTimeout(resolve, 2000);
  });
  const response = await fetch("/offer", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type, role: "viewer" }),
  });
  if (!response.ok) {
    setTimeout(() => location.reload(), 3000);
    return;
  }
  await pc.setRemoteDescription(await response.json());
}

countFrames();
connect().catch(() => setTimeout(() => location.reload(), 3000));
