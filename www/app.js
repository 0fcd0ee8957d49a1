// The page: plays an H.264 Annex-B clip one access unit per frame interval, decoded and painted by
// nalcast's wasm module (Decoder.decodeAndPaint), looping, with live statistics.
import init, { Decoder, accessUnits, version } from "./pkg/nalcast.js";

const $ = (id) => document.getElementById(id);
const canvas = $("screen");
const FPS = 30;

let clip = null; // { data, units: [[start, end], ...] }
let decoder = null;
let index = 0;
let playing = true;
const stats = { painted: 0, decodeMs: [], frameTimes: [], errors: 0, codec: "" };

function setStatus(text) {
  $("status").textContent = text;
}

function load(data, name) {
  const flat = accessUnits(data);
  const units = [];
  for (let i = 0; i + 1 < flat.length; i += 2) units.push([flat[i], flat[i + 1]]);
  if (!units.length) throw new Error(`${name}: no H.264 access units found (is it an Annex-B .h264 file?)`);
  clip = { data, units };
  decoder?.free();
  decoder = new Decoder();
  index = 0;
  window.nalcastPlayer.loops = 0;
  setStatus(`${name}: ${units.length} pictures, ${(data.length / 1024).toFixed(0)} KiB — nalcast ${version()}`);
}

async function loadUrl(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  load(new Uint8Array(await res.arrayBuffer()), url);
}

function step() {
  if (!clip || !playing) return;
  if (index >= clip.units.length) {
    index = 0; // loop; the clip starts with an IDR, so decoding simply continues
    window.nalcastPlayer.loops++;
  }
  const [start, end] = clip.units[index++];
  const t0 = performance.now();
  const n = decoder.decodeAndPaint(clip.data.subarray(start, end), canvas);
  const t1 = performance.now();
  stats.decodeMs.push(t1 - t0);
  if (stats.decodeMs.length > 60) stats.decodeMs.shift();
  if (decoder.lastError) stats.errors++;
  if (n > 0) {
    stats.painted += n;
    stats.frameTimes.push(t1);
    while (stats.frameTimes.length && t1 - stats.frameTimes[0] > 1000) stats.frameTimes.shift();
  }
  stats.codec = decoder.codec ?? "";
}

function renderStats() {
  const avg = stats.decodeMs.reduce((a, b) => a + b, 0) / Math.max(1, stats.decodeMs.length);
  const rows = [
    ["fps", stats.frameTimes.length.toFixed(0)],
    ["decode+paint", `${avg.toFixed(2)} ms`],
    ["frames", String(stats.painted)],
    ["errors", String(stats.errors)],
    ["size", `${canvas.width}×${canvas.height}`],
    ["codec", stats.codec || "—"],
  ];
  $("stats").innerHTML = rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("");
}

let last = 0;
function tick(now) {
  if (now - last >= 1000 / FPS - 1) {
    last = now;
    try {
      step();
    } catch (e) {
      setStatus(`error: ${e.message}`);
    }
  }
  requestAnimationFrame(tick);
}

window.nalcastPlayer = { stats, loops: 0 };

$("play").onclick = () => {
  playing = !playing;
  $("play").textContent = playing ? "Pause" : "Play";
};
$("source").onchange = (e) => loadUrl(e.target.value).catch((err) => setStatus(err.message));
$("file").onchange = async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  try {
    load(new Uint8Array(await file.arrayBuffer()), file.name);
  } catch (err) {
    setStatus(err.message);
  }
};
$("snapshot").onclick = () => {
  const a = document.createElement("a");
  a.download = `nalcast-${Date.now()}.png`;
  a.href = canvas.toDataURL("image/png");
  a.click();
};
$("fullscreen").onclick = () => canvas.parentElement.requestFullscreen?.();

try {
  await init();
  await loadUrl("/sample.h264");
  setInterval(renderStats, 500);
  requestAnimationFrame(tick);
} catch (e) {
  setStatus(`cannot start: ${e.message}`);
}
