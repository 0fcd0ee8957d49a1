// DecodePipeline's paint worker: owns the page canvas as an OffscreenCanvas and paints each I420
// picture from the decode worker (planes with row strides) with nalcast's PicturePainter (SIMD RGBA
// + putImageData), then returns the buffer to the decode worker and tells the page.
let painter = null;
// "painted" events go to the page at once, or, within BATCH_MS of the last ones, together a little later.
const BATCH_MS = 4;
let batch = [];
let lastSent = -1e9;
let timer = 0;
function send() {
  if (timer) clearTimeout(timer);
  timer = 0;
  if (!batch.length) return;
  self.postMessage({ type: "painted", batch });
  batch = [];
  lastSent = performance.now();
}

self.onmessage = async (e) => {
  const m = e.data;
  if (m.type !== "init") return;
  try {
    const nalcast = await import(m.pkg);
    await nalcast.default();
    painter = new nalcast.PicturePainter(m.canvas);
  } catch (err) {
    self.postMessage({ type: "error", message: `paint worker: ${err?.message ?? err}` });
    return;
  }
  const canvas = m.canvas;
  self.onmessage = (s) => {
    // The page asks what is on the canvas (tests compare it with a direct paint).
    if (s.data.type !== "snapshot") return;
    send();
    const { width, height } = canvas;
    const data = width && height ? canvas.getContext("2d").getImageData(0, 0, width, height).data.buffer : new ArrayBuffer(0);
    self.postMessage({ type: "snapshot", width, height, data }, [data]);
  };
  const port = m.port;
  port.onmessage = (r) => {
    const p = r.data;
    if (p.type !== "picture") return;
    try {
      painter.paint(new Uint8Array(p.buffer), p.width, p.height, p.matrix, p.fullRange, p.yStride, p.uvStride);
      const now = performance.now();
      batch.push({ units: p.units, pictures: p.pictures, timestamp: p.timestamp, width: p.width, height: p.height, decodeMs: p.decodeMs, at: performance.timeOrigin + now });
      if (now - lastSent >= BATCH_MS) send();
      else if (!timer) timer = setTimeout(send, BATCH_MS - (now - lastSent));
    } catch (err) {
      send();
      self.postMessage({ type: "error", message: `paint worker: ${err?.message ?? err}`, units: p.units, pictures: p.pictures });
    }
    port.postMessage({ type: "recycle", buffer: p.buffer }, [p.buffer]);
  };
  self.postMessage({ type: "ready" });
};
