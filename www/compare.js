// Transports side by side: one Player per transport on the same stream, live numbers in a table,
// overhead from the server's per-transport counters.
import init, { Player } from "./pkg/nalcast.js";

const $ = (sel, root = document) => root.querySelector(sel);
const TRANSPORTS = ["websocket", "http", "webrtc", "webrtc-realtime"];
const fmt = (v, d = 0, unit = "") => (v == null || Number.isNaN(v) ? "—" : `${v.toFixed(d)}${unit}`);
let players = [];
let streamInfo = null;
let lastCounters = null;
const overhead = {};

async function counters() {
  const text = await (await fetch("/metrics")).text();
  const read = (name, t) => Number(text.match(new RegExp(`${name}\\{transport="${t}"\\} (\\d+)`))?.[1] ?? NaN);
  const out = {};
  for (const t of ["websocket", "http", "webrtc"]) out[t] = { wire: read("nalcast_transport_bytes_total", t), video: read("nalcast_transport_video_bytes_total", t) };
  return out;
}

async function refreshOverhead() {
  const now = await counters();
  if (lastCounters) {
    for (const t of Object.keys(now)) {
      const dv = now[t].video - lastCounters[t].video;
      if (dv > 0) overhead[t] = ((now[t].wire - lastCounters[t].wire) / dv - 1) * 100;
    }
  }
  lastCounters = now;
}

function render() {
  const rows = players.map(({ transport, player }) => {
    const s = player.stats();
    const kind = transport.startsWith("webrtc") ? "webrtc" : transport;
    return `<tr><td>${transport}</td><td>${fmt(s.latencyMs, 1, " ms")}</td><td>${fmt(s.latencyP95Ms, 1, " ms")}</td><td>${fmt(s.fps)}</td>` +
      `<td>${fmt(s.bitrateKbps, 0, " kbit/s")}</td><td>${fmt(streamInfo ? streamInfo.bitrate / 1000 : null, 0, " kbit/s")}</td>` +
      `<td>${fmt(overhead[kind], 2, " %")}</td><td>${s.dropped + s.skipped}</td><td>${fmt(s.firstFrameMs, 0, " ms")}</td></tr>`;
  });
  $("#rows").innerHTML = rows.join("");
}

function play(stream) {
  for (const p of players) {
    p.player.close();
    p.player.free();
  }
  players = [];
  $("#grid").innerHTML = "";
  for (const transport of TRANSPORTS) {
    const el = $("#tile").content.firstElementChild.cloneNode(true);
    $(".name", el).textContent = transport;
    $("#grid").append(el);
    const player = new Player($("canvas", el), { server: location.origin, stream, transport });
    players.push({ transport, player });
  }
  window.nalcast = { players };
}

try {
  await init();
  const streams = await (await fetch("/api/streams")).json();
  const select = $("#stream");
  select.innerHTML = streams.map((s) => `<option>${s.id}</option>`).join("");
  const wanted = new URLSearchParams(location.search).get("stream") ?? streams[0]?.id;
  select.value = wanted;
  select.onchange = () => play(select.value);
  play(wanted);
  setInterval(render, 500);
  setInterval(async () => {
    const list = await (await fetch("/api/streams")).json();
    streamInfo = list.find((s) => s.id === select.value) ?? null;
    await refreshOverhead();
  }, 2000);
} catch (e) {
  $("#status").textContent = `cannot start: ${e.message}`;
}
