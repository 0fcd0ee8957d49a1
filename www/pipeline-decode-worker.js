// DecodePipeline's decode worker: nalcast's Decoder on access units from the page; each picture goes
// as I420 planes with the decoder's row strides (one copy out of wasm memory, no repacking) in a
// pooled transferable buffer to the paint worker, which sends the buffer back.
// Access units wait in a queue while no buffer is free, so a slow painter slows decoding instead of
// growing memory. Every message carries the running counts of units decoded and pictures out.
let dec = null;
let port = null;
const free = []; // ArrayBuffers back from the paint worker
let outstanding = 0; // buffers at the paint worker
const MAX_BUFFERS = 3;
const queue = [];
let decodeStart = 0;
let units = 0; // access units (and flushes) decoded so far
let pictures = 0; // pictures out of the decoder so far

function take(size) {
  const i = free.findIndex((b) => b.byteLength >= size);
  if (i >= 0) return free.splice(i, 1)[0];
  if (free.length) free.pop(); // too small (the picture size changed): let it go
  return new ArrayBuffer(size);
}

// decodeEach's sink: returns where to copy the picture, and posts it once the copy is done.
let pending = null;
function sink(width, height, timestamp, matrix, fullRange, yStride, uvStride) {
  post();
  const size = yStride * (height - 1) + width + 2 * (uvStride * ((height >> 1) - 1) + (width >> 1));
  const buffer = take(size);
  pictures++;
  pending = { buffer, width, height, timestamp, matrix, fullRange, yStride, uvStride, decodeMs: performance.now() - decodeStart };
  return new Uint8Array(buffer, 0, size);
}

function post() {
  if (!pending) return;
  outstanding++;
  port.postMessage({ type: "picture", ...pending, units, pictures }, [pending.buffer]);
  pending = null;
}

function pump() {
  while (queue.length && outstanding + 1 <= MAX_BUFFERS) {
    const m = queue.shift();
    let error = null;
    decodeStart = performance.now();
    try {
      if (m.type === "flush") dec.flushEach(sink);
      else dec.decodeEach(new Uint8Array(m.data), m.timestamp, sink);
    } catch (e) {
      if (pending) pictures--;
      pending = null;
      error = String(e?.message ?? e);
    }
    units++;
    // The page learns the counts from the picture's "painted" event (one message fewer per
    // picture); only a unit that ends without a picture, or with an error, is reported from here.
    if (pending) post();
    else self.postMessage({ type: "decoded", units, pictures, error });
  }
}

self.onmessage = async (e) => {
  const m = e.data;
  if (m.type === "init") {
    try {
      const nalcast = await import(m.pkg);
      await nalcast.default();
      dec = new nalcast.Decoder();
      dec.lowDelay = m.lowDelay !== false; // access units in, each picture out at once
      dec.keepStrides = true; // the paint worker takes the planes as they are
      port = m.port;
      port.onmessage = (r) => {
        if (r.data.type === "recycle") {
          outstanding--;
          free.push(r.data.buffer);
          pump();
        }
      };
      self.postMessage({ type: "ready" });
    } catch (err) {
      self.postMessage({ type: "error", message: `decode worker: ${err?.message ?? err}` });
    }
    return;
  }
  queue.push(m);
  pump();
};
