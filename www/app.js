// The page: lists the server's streams, plays the chosen ones side by side with nalcast's wasm
// Player (WebSocket → OpenH264 in wasm → canvas), with live statistics, fullscreen and snapshots.
// If the wasm instance ever traps, instance.js loads a fresh one and the players are recreated.
// `?worker=1` decodes and paints in a DecoderPool (workers sized to the cores) instead of on this
// thread. Tiles scrolled out of view, or a hidden page, stop decoding until seen again.
import { Instances } from "./instance.js";
import { DecoderPool } from "./decoder-pool.js";

const $ = (sel, root = document) => root.querySelector(sel);
const tiles = new Map(); // stream id → { player, el, timer }
const instances = new Instances(recreatePlayers);
window.nalcast = { tiles, instances };

const params = new URLSearchParams(location.search);
const transport = params.get("transport") ?? "websocket";
// A viewer token (`?token=…`), needed when the server requires one; sent with every request.
const token = params.get("token") ?? undefined;
// Model results over the video (`?overlay=0` starts with them off; each tile has a toggle).
const overlayDefault = params.get("overlay") !== "0";
const pool = params.get("worker") === "1" ? new DecoderPool() : null;
window.nalcast.pool = pool;
const visibility = new IntersectionObserver((entries) => {
  for (const e of entries) {
    const tile = [...tiles.values()].find((t) => t.el === e.target);
    if (!tile) continue;
    tile.inView = e.isIntersecting;
    showing(tile);
  }
});
document.addEventListener("visibilitychange", () => tiles.forEach(showing));
function showing(tile) {
  tile.player.setVisible(tile.inView && !document.hidden);
}
const fmt = (v, digits = 0, unit = "") => (v == null ? "—" : `${v.toFixed(digits)}${unit}`);

function renderStats(tile) {
  const s = tile.player.stats();
  tile.last = s;
  const rows = [
    ["via", s.transport],
    ["state", s.state],
    ["fps", fmt(s.fps)],
    ["bitrate", `${fmt(s.bitrateKbps)} kbit/s`],
    ["decode", fmt(s.decodeMs, 2, " ms")],
    ["latency", fmt(s.latencyMs, 0, " ms")],
    ["p95", fmt(s.latencyP95Ms, 0, " ms")],
    ["dropped", String(s.dropped + s.skipped)],
    ["decoder", `${s.worker ? "worker" : "page"}${s.paused ? ` · ${s.paused} paused` : ""}`],
    ["frames", String(s.frames)],
    ["size", s.width ? `${s.width}×${s.height}` : "—"],
    ["results", s.results ? `${fmt(s.resultsPerSecond)}/s` : "—"],
    ["model", fmt(s.modelMs, 1, " ms")],
    ["age", fmt(s.resultAgeMs, 0, " ms")],
    ["held", s.overlay ? fmt(s.holdMs, 0, " ms") : "off"],
    ["recovered", String(instances.recoveries)],
  ];
  $(".stats", tile.el).innerHTML = rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("");
}

function open(id) {
  if (tiles.has(id)) return;
  // Imported into this document (not cloned inside the template's inert one): a canvas handed to a
  // worker must belong to a document that renders, or its pictures never reach the screen.
  const el = document.importNode($("#tile").content.firstElementChild, true);
  $(".name", el).textContent = id;
  const canvas = $("canvas.video", el);
  const overlay = $("canvas.overlay", el);
  const tile = { id, el, canvas, overlay, showOverlay: overlayDefault, inView: true };
  $("#grid").append(el);
  if (pool) tile.remote = pool.attach(canvas);
  tile.player = newPlayer(instances.current.module, tile);
  $("[data-act=overlay]", el).setAttribute("aria-pressed", String(tile.showOverlay));
  tile.timer = setInterval(() => {
    try {
      renderStats(tile);
    } catch (e) {
      if (!instances.report(e)) throw e;
    }
  }, 500);
  el.addEventListener("click", (e) => {
    const act = e.target.dataset?.act;
    if (act === "close") close(id);
    if (act === "overlay") {
      tile.showOverlay = !tile.showOverlay;
      e.target.setAttribute("aria-pressed", String(tile.showOverlay));
      tile.player.setOverlay(tile.showOverlay ? overlay : null);
    }
    if (act === "fullscreen") $(".stage", el).requestFullscreen?.();
    if (act === "snapshot") {
      const a = document.createElement("a");
      a.download = `${id}-${new Date().toISOString().replace(/[:.]/g, "-")}.png`;
      const copy = document.createElement("canvas"); // the video canvas may belong to a worker
      copy.width = canvas.width;
      copy.height = canvas.height;
      copy.getContext("2d").drawImage(canvas, 0, 0);
      a.href = copy.toDataURL("image/png");
      a.click();
    }
  });
  tiles.set(id, tile);
  visibility.observe(el);
  markSelected();
}

function newPlayer(module, tile) {
  const player = new module.Player(tile.canvas, { server: location.origin, stream: tile.id, transport, token });
  if (tile.remote) player.setDecoder(tile.remote);
  if (tile.showOverlay) player.setOverlay(tile.overlay);
  player.setVisible(tile.inView && !document.hidden);
  return player;
}

/** Stops a player as far as its (possibly trapped) instance still allows. */
function stopPlayer(player) {
  try {
    player.close();
    player.free();
  } catch {
    // a poisoned instance: its memory goes with the page
  }
}

/** After a trap: every tile gets a player from the fresh instance, on the same canvas. */
function recreatePlayers(module, recoveries) {
  for (const tile of tiles.values()) {
    stopPlayer(tile.player);
    tile.player = newPlayer(module, tile);
  }
  $("#status").textContent = `nalcast ${module.version()} · recovered from ${recoveries} trap${recoveries === 1 ? "" : "s"}`;
}

function close(id) {
  const tile = tiles.get(id);
  if (!tile) return;
  clearInterval(tile.timer);
  stopPlayer(tile.player);
  tile.remote?.close();
  visibility.unobserve(tile.el);
  tile.el.remove();
  tiles.delete(id);
  markSelected();
}

function markSelected() {
  for (const b of document.querySelectorAll("#streams button")) b.setAttribute("aria-pressed", String(tiles.has(b.dataset.id)));
}

async function loadStreams() {
  const res = await fetch(token ? `/api/streams?token=${encodeURIComponent(token)}` : "/api/streams");
  if (res.status === 401) throw new Error("this server needs a viewer token: open the page with ?token=…");
  if (!res.ok) throw new Error(`/api/streams: HTTP ${res.status}`);
  const streams = await res.json();
  const list = $("#streams");
  list.innerHTML = "";
  for (const s of streams) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.id = s.id;
    const size = s.width ? `${s.width}×${s.height}` : "starting";
    b.innerHTML = `<span>${s.id}</span><span class="meta">${s.kind} · ${size} · ${fmt(s.fps)} fps · ${fmt(s.bitrate / 1000)} kbit/s · ${s.viewers} watching</span>`;
    b.onclick = () => (tiles.has(s.id) ? close(s.id) : open(s.id));
    li.append(b);
    list.append(li);
  }
  markSelected();
  return streams;
}

try {
  const module = await instances.load();
  $("#status").textContent = `nalcast ${module.version()}`;
  const streams = await loadStreams();
  const wanted = params.getAll("stream");
  for (const id of wanted.length ? wanted : streams.slice(0, 1).map((s) => s.id)) open(id);
  setInterval(() => loadStreams().catch(() => {}), 5000);
} catch (e) {
  $("#status").textContent = `cannot start: ${e.message}`;
}
