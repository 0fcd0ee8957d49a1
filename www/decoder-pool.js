// DecoderPool: decoding and painting of many streams on a few workers, sized to the cores.
//
//   const pool = new DecoderPool();                // navigator.hardwareConcurrency workers at most
//   const remote = pool.attach(canvas);            // the canvas now belongs to a worker
//   player.setDecoder(remote);                     // the Player posts access units to it
//   remote.close();                                // when the stream's tile goes away
//
// Each worker runs its own nalcast wasm instance with one Decoder per stream it hosts, painting
// straight from the decoder's buffers onto the stream's OffscreenCanvas (decodeAndPaint). Streams go
// to the worker hosting the fewest; a worker starts when first needed. A stream's access units
// queue in its worker; more than MAX_IN_FLIGHT undecoded ones and `decode` refuses the next (the
// Player then skips to a keyframe) — a slow worker never grows memory without bound.

const here = new URL(".", import.meta.url);
export const MAX_IN_FLIGHT = 30; // about a second of video at 30 fps

export class DecoderPool {
  constructor({ size = Math.max(1, Math.min(navigator.hardwareConcurrency || 2, 8)), pkg = new URL("pkg/nalcast.js", here).href } = {}) {
    this.size = size;
    this.pkg = pkg;
    this.workers = []; // { worker, streams: Map<id, RemoteDecoder> }
    this.nextId = 1;
    this.recoveries = 0; // fresh wasm instances its workers started after a trap
    this.failures = 0; // workers given up: their package did not load, or their script failed
  }

  /** Hands `canvas` (an HTMLCanvasElement without a context yet) to a worker; returns its decoder. */
  attach(canvas) {
    const offscreen = canvas.transferControlToOffscreen();
    let slot = this.workers.find((w) => w.streams.size === 0);
    if (!slot && this.workers.length < this.size) slot = this.spawn();
    slot ??= this.workers.reduce((a, b) => (b.streams.size < a.streams.size ? b : a));
    const id = this.nextId++;
    const remote = new RemoteDecoder(this, slot, id);
    slot.streams.set(id, remote);
    slot.worker.postMessage({ type: "open", id, canvas: offscreen }, [offscreen]);
    return remote;
  }

  /** Test hook: makes every worker's wasm instance trap as a bug would (they recover). */
  testHookTrap() {
    for (const w of this.workers) w.worker.postMessage({ type: "trap" });
  }

  /** How many streams each worker hosts. */
  load() {
    return this.workers.map((w) => w.streams.size);
  }

  spawn() {
    const worker = new Worker(new URL("decoder-pool-worker.js", here), { type: "module" });
    const slot = { worker, streams: new Map() };
    worker.onmessage = (e) => {
      if (e.data.type === "recovered") this.recoveries++;
      else if (e.data.type === "failed") this.fail(slot, e.data.error);
      else slot.streams.get(e.data.id)?.message(e.data);
    };
    // The worker's script itself failed (it did not load, or threw outside a handler).
    worker.onerror = (e) => {
      this.fail(slot, `decoder worker: ${e.message ?? "failed"}`);
    };
    worker.postMessage({ type: "init", pkg: this.pkg });
    this.workers.push(slot);
    return slot;
  }

  /** A worker that cannot decode: its streams get the error and refuse access units from now on
   * (their canvases belong to it, so they cannot move); new streams go to other workers. */
  fail(slot, error) {
    if (slot.failed) return;
    slot.failed = error;
    this.failures++;
    this.workers = this.workers.filter((w) => w !== slot);
    for (const r of slot.streams.values()) r.fail(error);
  }

  release(slot, id) {
    slot.streams.delete(id);
    slot.worker.postMessage({ type: "close", id });
  }
}

/** One stream's decoder in a pool worker: what `Player.setDecoder` takes. */
export class RemoteDecoder {
  constructor(pool, slot, id) {
    this.pool = pool;
    this.slot = slot;
    this.id = id;
    this.inFlight = 0;
    this.onpainted = null; // (seq, decodeMs, width, height, paintedAtMs)
    this.ondecoded = null; // (seq, error | undefined)
    this.snapshots = [];
    this.closed = false;
    this.failed = null; // why the worker gave up, once it has
  }

  /** Queues an access unit (copied). Returns false if the worker is too far behind to take it, or
   * cannot decode at all. */
  decode(bytes, seq, paint) {
    if (this.closed || this.failed || this.inFlight >= MAX_IN_FLIGHT) return false;
    const copy = bytes.slice();
    this.inFlight++;
    this.slot.worker.postMessage({ type: "decode", id: this.id, data: copy.buffer, seq, paint }, [copy.buffer]);
    return true;
  }

  /** What is on the canvas now: `{ width, height, data }` (RGBA), from the worker. */
  snapshot() {
    return new Promise((resolve) => {
      this.snapshots.push(resolve);
      this.slot.worker.postMessage({ type: "snapshot", id: this.id });
    });
  }

  /** The worker gave up: nothing in flight will be answered. */
  fail(error) {
    this.failed = error;
    this.inFlight = 0;
    this.ondecoded?.(0, error);
    for (const resolve of this.snapshots.splice(0)) resolve({ width: 0, height: 0, data: new Uint8Array(0) });
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.pool.release(this.slot, this.id);
  }

  message(m) {
    if (m.type === "decoded") {
      this.inFlight = Math.max(0, this.inFlight - 1);
      this.ondecoded?.(m.seq, m.error ?? undefined);
      if (m.painted) this.onpainted?.(m.painted.seq, m.painted.decodeMs, m.painted.width, m.painted.height, m.painted.at - performance.timeOrigin);
    } else if (m.type === "snapshot") {
      this.snapshots.shift()?.({ width: m.width, height: m.height, data: new Uint8Array(m.data) });
    }
  }
}
