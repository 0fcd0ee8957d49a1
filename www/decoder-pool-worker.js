// A DecoderPool worker: one nalcast wasm instance, one Decoder per stream it hosts, each painting
// onto its stream's OffscreenCanvas. Answers every access unit with `decoded` (and what was painted).
// If the instance traps (a WebAssembly.RuntimeError poisons it), the worker loads a fresh instance
// under another URL, gives every stream a new decoder on the same canvas, and carries on; the
// streams' players see decode errors for what was in flight and resume at the next keyframe.
// If the package does not load (network, a broken deployment), it tries again after 0.5, 1 and 2 s,
// then gives up: it says so (`failed`) and answers every access unit with that error.
let nalcast = null;
let pkg = null;
let instances = 0;
let loadFailures = 0;
let failed = null; // why loading gave up, once it has
const LOAD_TRIES = 4;
const waiting = []; // messages that came before an instance was ready
const streams = new Map(); // id → { dec, canvas }

function newDecoder() {
  const dec = new nalcast.Decoder();
  dec.lowDelay = true; // the Player sends whole access units: paint each picture at once
  return dec;
}

async function load() {
  instances += 1;
  let module;
  try {
    module = await import(instances === 1 ? pkg : `${pkg}?instance=${instances}`);
    await module.default();
  } catch (e) {
    loadFailures += 1;
    const error = `cannot load ${pkg}: ${e?.message ?? e}`;
    if (loadFailures < LOAD_TRIES) {
      setTimeout(load, 250 * 2 ** loadFailures);
      return;
    }
    failed = error;
    self.postMessage({ type: "failed", error });
    for (const w of waiting.splice(0)) handle(w);
    return;
  }
  loadFailures = 0;
  nalcast = module; // only now: messages that arrive meanwhile must queue behind the earlier ones
  for (const s of streams.values()) s.dec = newDecoder(); // after a trap: the old ones are poisoned
  for (const w of waiting.splice(0)) handle(w);
}

function recover(error) {
  if (!nalcast) return;
  console.error(`nalcast decoder worker: the wasm instance trapped (${error.message}); starting a fresh one`);
  nalcast = null;
  self.postMessage({ type: "recovered", instances: instances + 1 });
  load();
}

function handle(m) {
  if (failed) {
    if (m.type === "decode") self.postMessage({ type: "decoded", id: m.id, seq: m.seq, error: failed, painted: null });
    if (m.type === "snapshot") self.postMessage({ type: "snapshot", id: m.id, width: 0, height: 0, data: new ArrayBuffer(0) });
    return;
  }
  if (!nalcast) {
    waiting.push(m);
    return;
  }
  try {
    handleLoaded(m);
  } catch (e) {
    // Whatever went wrong, an access unit is always answered, so the page's count of what is in
    // flight stays true.
    if (m.type === "decode") self.postMessage({ type: "decoded", id: m.id, seq: m.seq, error: String(e?.message ?? e), painted: null });
    else console.error("nalcast decoder worker:", e);
  }
}

function handleLoaded(m) {
  if (m.type === "open") {
    streams.set(m.id, { dec: newDecoder(), canvas: m.canvas });
  } else if (m.type === "close") {
    streams.get(m.id)?.dec.free();
    streams.delete(m.id);
  } else if (m.type === "trap") {
    // Test hook: make this instance trap as a bug would.
    try {
      nalcast.testHookTrap();
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) recover(e);
    }
  } else if (m.type === "decode") {
    const s = streams.get(m.id);
    if (!s) return;
    const t0 = performance.now();
    let error = null;
    let painted = null;
    try {
      const before = s.dec.lastTimestamp;
      const n = s.dec.decodeAndPaint(new Uint8Array(m.data), m.paint ? s.canvas : undefined, m.seq);
      error = s.dec.lastError ?? null;
      if (m.paint && n > 0 && s.dec.lastTimestamp !== undefined && s.dec.lastTimestamp !== before) {
        painted = { seq: s.dec.lastTimestamp, decodeMs: performance.now() - t0, width: s.canvas.width, height: s.canvas.height, at: performance.timeOrigin + performance.now() };
      }
    } catch (e) {
      error = String(e?.message ?? e);
      if (e instanceof WebAssembly.RuntimeError) recover(e);
    }
    self.postMessage({ type: "decoded", id: m.id, seq: m.seq, error, painted });
  } else if (m.type === "snapshot") {
    const s = streams.get(m.id);
    const { width = 0, height = 0 } = s?.canvas ?? {};
    const data = width && height ? s.canvas.getContext("2d").getImageData(0, 0, width, height).data.buffer : new ArrayBuffer(0);
    self.postMessage({ type: "snapshot", id: m.id, width, height, data }, [data]);
  }
}

self.onmessage = (e) => {
  const m = e.data;
  if (m.type === "init") {
    pkg = m.pkg;
    load();
  } else {
    handle(m);
  }
};
