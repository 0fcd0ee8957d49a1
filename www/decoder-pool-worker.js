// A DecoderPool worker: one nalcast wasm instance, one Decoder per stream it hosts, each painting
// onto its stream's OffscreenCanvas. Answers every access unit with `decoded` (and what was painted).
let nalcast = null;
const waiting = []; // messages that came before the instance was ready
const streams = new Map(); // id → { dec, canvas }

function handle(m) {
  if (m.type === "open") {
    const dec = new nalcast.Decoder();
    dec.lowDelay = true; // the Player sends whole access units: paint each picture at once
    streams.set(m.id, { dec, canvas: m.canvas });
  } else if (m.type === "close") {
    streams.get(m.id)?.dec.free();
    streams.delete(m.id);
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
    }
    self.postMessage({ type: "decoded", id: m.id, seq: m.seq, error, painted });
  } else if (m.type === "snapshot") {
    const s = streams.get(m.id);
    const { width = 0, height = 0 } = s?.canvas ?? {};
    const data = width && height ? s.canvas.getContext("2d").getImageData(0, 0, width, height).data.buffer : new ArrayBuffer(0);
    self.postMessage({ type: "snapshot", id: m.id, width, height, data }, [data]);
  }
}

self.onmessage = async (e) => {
  const m = e.data;
  if (m.type !== "init") {
    if (nalcast) handle(m);
    else waiting.push(m);
    return;
  }
  const module = await import(m.pkg);
  await module.default();
  nalcast = module; // only now: messages that arrive meanwhile must queue behind the earlier ones
  for (const w of waiting.splice(0)) handle(w);
};
