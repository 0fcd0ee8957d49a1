// The page with `?worker=1`: the pattern stream decoded and painted in a DecoderPool worker
// (www/decoder-pool.js) — frames advance at the stream's rate, the stamp read back from the canvas
// gives a plausible latency, nothing errs, a trap in the worker's wasm instance is recovered from —
// and, with and without workers, a tile scrolled out of view has the server pause its stream
// (nothing received, nothing decoded, counted as paused) and resumes from a keyframe when it is back
// in view. A pool whose package cannot load gives up cleanly.
import assert from "node:assert/strict";
import { startServer } from "./lib/nalcast-server.mjs";
import { launch, openPage } from "./lib/browser.mjs";

// Reads the frame number and capture time stamped into the picture (see page.test.mjs), drawing the
// canvas — which may belong to a worker — onto a scratch canvas first.
const read = (page) =>
  page.evaluate(() => {
    const tile = window.nalcast.tiles.get("pattern");
    const scratch = document.createElement("canvas");
    scratch.width = 256;
    scratch.height = 64;
    const ctx = scratch.getContext("2d");
    ctx.drawImage(tile.canvas, 0, 0, 256, 64, 0, 0, 256, 64);
    const px = ctx.getImageData(0, 0, 256, 64).data;
    const word = (row) => {
      let n = 0;
      for (let bit = 0; bit < 16; bit++) n = n * 2 + (px[((row * 16 + 8) * 256 + bit * 16 + 8) * 4] > 128 ? 1 : 0);
      return n;
    };
    const offset = tile.player.clockOffsetMs ?? 0;
    return { frame: word(0), captureMs: word(1) * 2 ** 32 + word(2) * 2 ** 16 + word(3), nowServerMs: Date.now() + offset, stats: tile.player.stats() };
  });

const stats = (page) => page.evaluate(() => window.nalcast.tiles.get("pattern").player.stats());
const move = (page, away) =>
  page.evaluate((away) => {
    window.nalcast.tiles.get("pattern").el.style.transform = away ? "translateY(8000px)" : "";
  }, away);

async function checkPausing(page, label) {
  const before = await stats(page);
  await move(page, true);
  // The observer runs and frames in flight land: wait (bounded) until no frame was painted for
  // 300 ms, rather than a fixed time that a loaded machine may overrun.
  await page.evaluate(() => { window.lastCount = undefined; });
  await page.waitForFunction(() => {
    const n = window.nalcast.tiles.get("pattern").player.stats().frames;
    const now = performance.now();
    if (window.lastCount !== n) [window.lastCount, window.lastChange] = [n, now];
    return now - window.lastChange >= 300;
  }, null, { timeout: 10000, polling: 50 });
  const a = await stats(page);
  const settled = Date.now();
  await page.waitForTimeout(1500);
  const b = await stats(page);
  assert.ok(before.bitrateKbps > 50, `${label}: ${before.bitrateKbps} kbit/s received while in view`);
  assert.ok(b.frames - a.frames <= 1, `${label}: ${b.frames - a.frames} frames painted while out of view`);
  // The server paused the stream: no frames arrive, only pongs (the bitrate is over the last second).
  assert.ok(b.bitrateKbps < before.bitrateKbps / 50, `${label}: ${b.bitrateKbps} kbit/s received while out of view`);
  assert.equal(b.state, "live", `${label}: a paused stream is not stalled`);
  await move(page, false);
  const outOfView = (Date.now() - settled) / 1000; // the stream was paused all this time, and more
  await page.waitForFunction((n) => window.nalcast.tiles.get("pattern").player.stats().frames > n + 10, b.frames, { timeout: 5000 });
  const c = await stats(page);
  assert.ok(c.keyframeRequests > a.keyframeRequests, `${label}: resuming asked for a keyframe`);
  assert.equal(c.errors, a.errors, `${label}: decoder errors after resuming`);
  // The server's gap on resuming tells how many frames it held back.
  assert.ok(c.paused - before.paused >= 30 * outOfView * 0.8, `${label}: only ${c.paused - before.paused} frames counted as paused in ${outOfView.toFixed(1)} s out of view`);
  assert.equal(c.dropped, before.dropped, `${label}: paused frames are not counted as dropped`);
  console.log(`worker: ${label}: out of view ${b.bitrateKbps} kbit/s received (${before.bitrateKbps.toFixed(0)} in view), ` +
    `${b.frames - a.frames} painted, ${c.paused - before.paused} frames paused; back in view, painting again`);
}

const server = await startServer();
const { context, close } = await launch();
try {
  const page = await openPage(context, `${server.url}/?stream=pattern&worker=1`, { verbose: !!process.env.VERBOSE });
  await page.waitForFunction(() => window.nalcast?.tiles.get("pattern")?.player.stats().frames > 0, null, { timeout: 30000 });
  await page.waitForTimeout(2500);
  const a = await read(page);
  await page.waitForTimeout(1000);
  const b = await read(page);
  const advanced = (b.frame - a.frame + 65536) % 65536;
  const stampLatency = b.nowServerMs - b.captureMs;
  const pool = await page.evaluate(() => window.nalcast.pool.load());
  console.log(`worker: pool ${JSON.stringify(pool)}, ${b.stats.width}x${b.stats.height}, frame ${a.frame} -> ${b.frame} in 1 s, fps ${b.stats.fps}, ` +
    `latency shown ${b.stats.latencyMs?.toFixed(1)} ms, from the stamp ${stampLatency.toFixed(1)} ms, decode ${b.stats.decodeMs?.toFixed(2)} ms in the worker, errors ${b.stats.errors}`);
  assert.equal(b.stats.worker, true, "stats say the decoder runs in a worker");
  assert.deepEqual(pool, [1]);
  assert.equal(b.stats.width, 1280);
  assert.ok(advanced >= 15 && advanced <= 45, `frames advanced by ${advanced} in one second`);
  assert.ok(b.stats.fps >= 15, `fps ${b.stats.fps}`);
  assert.ok(b.stats.latencyMs > 0 && b.stats.latencyMs < 1000, `latency ${b.stats.latencyMs} ms is plausible`);
  assert.ok(stampLatency > 0 && stampLatency < 1500, `latency from the stamp ${stampLatency} ms`);
  assert.equal(b.stats.errors, 0, "no decoder errors");
  // A trap in the worker's wasm instance: the worker starts a fresh one and playback resumes.
  const t = await stats(page);
  await page.evaluate(() => window.nalcast.pool.testHookTrap());
  await page.waitForFunction((n) => window.nalcast.tiles.get("pattern").player.stats().frames > n + 30, t.frames, { timeout: 10000 });
  const u = await stats(page);
  assert.equal(await page.evaluate(() => window.nalcast.pool.recoveries), 1, "the worker recovered once");
  console.log(`worker: after a trap in the worker: fresh instance, ${u.frames - t.frames} frames painted since, ${u.errors} decode errors (what was in flight), ${u.keyframeRequests - t.keyframeRequests} keyframe requests`);
  await checkPausing(page, "worker");
  await page.close();

  const plain = await openPage(context, `${server.url}/?stream=pattern`);
  await plain.waitForFunction(() => window.nalcast?.tiles.get("pattern")?.player.stats().frames > 10, null, { timeout: 30000 });
  assert.equal((await stats(plain)).worker, false);
  await checkPausing(plain, "page");

  // A pool whose package does not load retries, then gives up and says so: the stream gets the
  // error, refuses further access units, and nothing stays counted in flight.
  const failure = await plain.evaluate(async () => {
    const { DecoderPool } = await import("/decoder-pool.js");
    const pool = new DecoderPool({ size: 1, pkg: new URL("/pkg/missing.js", location.href).href });
    const remote = pool.attach(document.createElement("canvas"));
    const errors = [];
    remote.ondecoded = (_seq, error) => error && errors.push(error);
    const t0 = performance.now();
    const unit = new Uint8Array([0, 0, 0, 1, 0x65, 0x88]);
    const accepted = [1, 2, 3].map((seq) => remote.decode(unit, seq, true));
    while (!remote.failed && performance.now() - t0 < 15000) await new Promise((r) => setTimeout(r, 50));
    const snapshot = await remote.snapshot();
    return { ms: performance.now() - t0, error: remote.failed, errors, accepted, after: remote.decode(unit, 4, true), failures: pool.failures, inFlight: remote.inFlight, snapshot: snapshot.width };
  });
  assert.deepEqual(failure.accepted, [true, true, true], "queued while the package was still loading");
  assert.ok(failure.error?.includes("missing.js"), `the error names the package: ${failure.error}`);
  assert.ok(failure.ms > 1000 && failure.ms < 15000, `gave up after retrying, in ${failure.ms} ms`);
  assert.equal(failure.failures, 1, "one worker given up");
  assert.equal(failure.after, false, "access units refused once the worker gave up");
  assert.equal(failure.inFlight, 0, "nothing left in flight");
  assert.ok(failure.errors.length >= 1, "the stream was told");
  assert.equal(failure.snapshot, 0, "a snapshot of a failed stream is empty, not pending");
  console.log(`worker: a package that does not load: given up after ${failure.ms.toFixed(0)} ms, ${failure.errors.length} error(s) to the stream: ${failure.error}`);
  await plain.close();
  console.log("worker.test: ok");
} finally {
  await close();
  await server.close();
}
