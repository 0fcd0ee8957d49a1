// DecodePipeline: H.264 decoding and painting off the main thread, on two cores.
//
//   const p = new DecodePipeline(canvas);       // the canvas is handed to the paint worker
//   await p.ready;
//   p.decode(accessUnitBytes, timestamp);       // one whole access unit; copied, returns at once
//   (new DecodePipeline(canvas, { lowDelay: false }) accepts any grouping of NAL units instead,
//   each picture then coming out when the next one starts)
//   p.onpicture = ({ timestamp, width, height, painted, decodeMs }) => {};
//   await p.idle(8);                            // wait until at most 8 access units are in flight
//   await p.flush();                            // everything sent so far decoded and painted
//   const { width, height, data } = await p.snapshot(); // RGBA now on the canvas
//   p.close();
//
// A decode worker runs nalcast's OpenH264 (`Decoder.decodeEach`) and passes each picture as I420
// planes with the decoder's row strides (one copy, no repacking) in a transferable buffer to a
// paint worker, which converts it (SIMD) and puts it on the canvas through an OffscreenCanvas
// (`PicturePainter`); the buffers go back to the decode worker and are reused, so steady state
// allocates nothing per frame. Decoding picture n+1 overlaps with painting picture n. The main thread
// only posts access units and receives small events, as few as it can: a message between threads
// wakes one, which on a busy machine takes the CPU from a worker. So `onpicture` calls come in
// batches when pictures are painted less than 4 ms apart (each with its own `painted` time), and
// the decode worker reports an access unit itself only when it gives no picture or an error.
// `performance.now()` times in events are on this page's clock.

const here = new URL(".", import.meta.url);

export class DecodePipeline {
  constructor(canvas, { pkg = new URL("pkg/nalcast.js", here).href, lowDelay = true } = {}) {
    if (!(canvas instanceof HTMLCanvasElement)) throw new TypeError("DecodePipeline needs an HTMLCanvasElement");
    this.onpicture = null;
    this.onerror = null;
    this.sent = 0; // access units posted
    this.decodedUnits = 0; // access units the decode worker finished
    this.pictures = 0; // pictures that came out of the decoder
    this.painted = 0; // pictures on the canvas
    this.errors = 0;
    this.unpainted = 0; // pictures the paint worker failed to paint
    this.crashed = false; // a worker died: nothing more will come
    this.waiters = [];
    const channel = new MessageChannel();
    this.decoder = new Worker(new URL("pipeline-decode-worker.js", here), { type: "module" });
    this.painter = new Worker(new URL("pipeline-paint-worker.js", here), { type: "module" });
    const offscreen = canvas.transferControlToOffscreen();
    const started = (w) =>
      new Promise((resolve, reject) => {
        w.onmessage = (e) => (e.data.type === "ready" ? resolve() : reject(new Error(e.data.message)));
        w.onerror = (e) => reject(new Error(e.message));
      });
    const both = Promise.all([started(this.decoder), started(this.painter)]);
    this.decoder.postMessage({ type: "init", pkg, lowDelay, port: channel.port1 }, [channel.port1]);
    this.painter.postMessage({ type: "init", pkg, port: channel.port2, canvas: offscreen }, [channel.port2, offscreen]);
    this.ready = both.then(() => {
      this.decoder.onmessage = (e) => this.fromDecoder(e.data);
      this.painter.onmessage = (e) => this.fromPainter(e.data);
      this.decoder.onerror = this.painter.onerror = (e) => {
        this.crashed = true;
        this.fail(e.message);
      };
    });
  }

  /** Queues one access unit (or any complete NAL units). The bytes are copied. */
  decode(bytes, timestamp = 0) {
    const copy = bytes.slice();
    this.decoder.postMessage({ type: "decode", data: copy.buffer, timestamp }, [copy.buffer]);
    this.sent++;
  }

  /** Resolves when at most `n` access units are still waiting to be decoded, or a worker died. */
  idle(n = 0) {
    return this.until(() => this.crashed || this.sent - this.decodedUnits <= n);
  }

  /** Ends the stream: resolves when every picture (held-back ones too) is painted, or has failed
   *  to paint. An access unit that fails to decode gives no picture, so it is not waited for. */
  async flush() {
    this.decoder.postMessage({ type: "flush" });
    this.sent++;
    await this.until(() => this.crashed || this.decodedUnits === this.sent);
    await this.until(() => this.crashed || this.painted + this.unpainted >= this.pictures);
  }

  /** What is on the canvas now: `{ width, height, data }` with `data` RGBA bytes. */
  snapshot() {
    return new Promise((resolve) => {
      this.snapshotWaiter = resolve;
      this.painter.postMessage({ type: "snapshot" });
    });
  }

  close() {
    this.decoder.terminate();
    this.painter.terminate();
    for (const w of this.waiters) w.reject(new Error("DecodePipeline closed"));
    this.waiters = [];
  }

  until(test) {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ test, resolve, reject }));
  }

  wake() {
    this.waiters = this.waiters.filter((w) => (w.test() ? (w.resolve(), false) : true));
  }

  fail(message) {
    this.errors++;
    if (this.onerror) this.onerror(new Error(message));
    this.wake();
  }

  counts(m) {
    if (m.units > this.decodedUnits) this.decodedUnits = m.units;
    if (m.pictures > this.pictures) this.pictures = m.pictures;
  }

  fromDecoder(m) {
    if (m.type === "decoded") {
      this.counts(m);
      if (m.error) this.fail(m.error);
    }
    this.wake();
  }

  fromPainter(m) {
    if (m.units !== undefined) this.counts(m);
    if (m.type === "painted") {
      for (const p of m.batch) {
        this.counts(p);
        this.painted++;
        if (this.onpicture) {
          this.onpicture({ timestamp: p.timestamp, width: p.width, height: p.height, decodeMs: p.decodeMs, painted: p.at - performance.timeOrigin });
        }
      }
    } else if (m.type === "snapshot" && this.snapshotWaiter) {
      this.snapshotWaiter({ width: m.width, height: m.height, data: new Uint8Array(m.data) });
      this.snapshotWaiter = null;
    } else if (m.type === "error") {
      if (m.pictures !== undefined) this.unpainted++; // a picture that will never be painted
      this.fail(m.message);
    }
    this.wake();
  }
}
