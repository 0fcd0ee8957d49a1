// DecodePipeline's paint worker: owns the page canvas as an OffscreenCanvas and paints each I420
// picture from the decode worker (planes with row strides) with nalcast's PicturePainter (SIMD RGBA
// + putImageData), then returns the buffer to the decode worker and tells the page.
let painter = null;

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
      self.postMessage({ type: "painted", timestamp: p.timestamp, width: p.width, height: p.height, decodeMs: p.decodeMs, at: performance.timeOrigin + performance.now() });
    } catch (err) {
      self.postMessage({ type: "error", message: `paint worker: ${err?.message ?? err}` });
    }
    port.postMessage({ type: "recycle", buffer: p.buffer }, [p.buffer]);
  };
  self.postMessage({ type: "ready" });
};
