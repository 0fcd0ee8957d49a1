// End to end: `make run`'s server, the real page, headless Chromium. The page plays the live test
// pattern through the wasm Player; the frame number and capture time stamped into each picture are
// read back from the canvas: frames must advance at the stream's rate, and the page's latency
// figure must agree with the latency measured from the stamp. The decoder module must arrive
// compressed.
import assert from "node:assert/strict";
import { startServer } from "./lib/nalcast-server.mjs";
import { launch, openPage } from "./lib/browser.mjs";

const server = await startServer();
const { context, close } = await launch();
try {
  const t0 = Date.now();
  const page = await openPage(context, `${server.url}/?stream=pattern`);
  await page.waitForFunction(() => window.nalcast?.tiles.get("pattern")?.player.stats().frames > 0, null, { timeout: 30000 });
  const firstFrameMs = await page.evaluate(() => window.nalcast.tiles.get("pattern").player.stats().firstFrameMs);
  const read = () =>
    page.evaluate(() => {
      const tile = window.nalcast.tiles.get("pattern");
      const c = tile.canvas;
      const px = c.getContext("2d").getImageData(0, 0, 256, 64).data;
      const word = (row) => {
        let n = 0;
        for (let bit = 0; bit < 16; bit++) n = n * 2 + (px[((row * 16 + 8) * 256 + bit * 16 + 8) * 4] > 128 ? 1 : 0);
        return n;
      };
      const captureMs = word(1) * 2 ** 32 + word(2) * 2 ** 16 + word(3);
      const s = tile.player.stats();
      const offset = tile.player.clockOffsetMs ?? 0;
      return { frame: word(0), captureMs, nowServerMs: Date.now() + offset, stats: s, w: c.width, h: c.height };
    });
  await page.waitForTimeout(2500); // let clock sync and latency statistics settle
  const a = await read();
  await page.waitForTimeout(1000);
  const b = await read();
  const advanced = (b.frame - a.frame + 65536) % 65536;
  const stampLatency = b.nowServerMs - b.captureMs;
  console.log(`page: ${b.w}x${b.h}, frame ${a.frame} -> ${b.frame} in 1 s, fps ${b.stats.fps}, ` +
    `latency shown ${b.stats.latencyMs?.toFixed(1)} ms (p95 ${b.stats.latencyP95Ms?.toFixed(1)}), from the picture's stamp ${stampLatency.toFixed(1)} ms, ` +
    `first frame ${firstFrameMs?.toFixed(0)} ms after connecting, dropped ${b.stats.dropped}, skipped ${b.stats.skipped}, errors ${b.stats.errors}`);
  assert.equal(b.w, 1280);
  assert.equal(b.h, 720);
  assert.ok(advanced >= 15 && advanced <= 45, `frames advanced by ${advanced} in one second`);
  assert.ok(b.stats.fps >= 15, `fps ${b.stats.fps}`);
  assert.ok(b.stats.latencyMs > 0 && b.stats.latencyMs < 1000, `latency ${b.stats.latencyMs} ms is plausible`);
  assert.ok(stampLatency > 0 && stampLatency < 1500, `latency from the stamp ${stampLatency} ms`);
  assert.equal(b.stats.errors, 0, "no decoder errors");
  // The decoder module came compressed (make wasm writes brotli and gzip copies; the server sends
  // the one the browser accepts) and the browser unpacked it: it is running.
  const wasm = await page.evaluate(() =>
    performance.getEntriesByType("resource").filter((e) => e.name.endsWith("nalcast_bg.wasm")).map((e) => [e.encodedBodySize, e.decodedBodySize]));
  console.log(`page: nalcast_bg.wasm transferred as ${wasm.map(([enc, dec]) => `${(enc / 1024).toFixed(1)} KiB for ${(dec / 1024).toFixed(1)} KiB`).join(", ")}`);
  assert.equal(wasm.length, 1, "the module is fetched once");
  assert.ok(wasm[0][0] > 0 && wasm[0][0] * 2 < wasm[0][1], `module sent compressed: ${wasm[0][0]} bytes for ${wasm[0][1]}`);
  // The API lists the viewer.
  const api = await (await fetch(`${server.url}/api/streams`)).json();
  assert.ok(api.find((s) => s.id === "pattern").viewers >= 1);
  console.log(`page: ok (${Date.now() - t0} ms)`);
} finally {
  await close();
  await server.close();
}
