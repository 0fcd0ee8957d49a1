// End to end: model results drawn on exactly the frame they describe. `make run`'s server (the live
// pattern with the built-in motion analyzer), the real page in headless Chromium, on every
// transport. For each painted picture that carries an overlay: the overlay's frame id must equal the
// painted frame id and the frame number stamped into the picture, one of its boxes must cover the
// pattern's orange square at that frame's known position (and fit it tightly), and the box must be
// visibly drawn on the overlay canvas. The toggle must stop holding and drawing while frames go on.
import assert from "node:assert/strict";
import { startServer } from "./lib/nalcast-server.mjs";
import { launch, openPage } from "./lib/browser.mjs";

const TRANSPORTS = (process.env.TRANSPORTS ?? "websocket,http,webrtc,webrtc-realtime").split(",");
const SECONDS = Number(process.env.SECONDS ?? 3);

/** The pattern's square in picture `n` (server/src/sources/pattern.rs `square`). */
function square(n, width, height) {
  const side = Math.max(Math.floor(height / 4), 2) & ~1;
  const travel = Math.max(width - side, 2);
  const x = ((n * 8) % travel) & ~1;
  const y = Math.max(Math.floor(height / 2) - Math.floor(side / 2), 0) & ~1;
  return { x, y, side };
}

const server = await startServer();
const { context, close } = await launch();
const failures = [];
try {
  for (const transport of TRANSPORTS) {
    const page = await openPage(context, `${server.url}/?stream=pattern&transport=${transport}`);
    try {
      await page.waitForFunction(() => window.nalcast?.tiles.get("pattern")?.player.stats().results > 5, null, { timeout: 20000 });
      // The analyzer's first picture is its background: where the square was then shows as motion
      // until absorbed (1.5 s); skip that start-up.
      await page.waitForTimeout(1500);
      await page.evaluate(() => {
        window.seen = [];
        const tile = window.nalcast.tiles.get("pattern");
        tile.player.onframe = (e) => {
          // Read the stamp and the overlay now: both canvases hold what was just painted.
          const px = tile.canvas.getContext("2d").getImageData(0, 0, 256, 16).data;
          let stamp = 0;
          for (let bit = 0; bit < 16; bit++) stamp = stamp * 2 + (px[(8 * 256 + bit * 16 + 8) * 4] > 128 ? 1 : 0);
          const entry = { seq: e.seq, stamp, w: e.width, h: e.height, overlay: e.overlay ?? null, edges: [] };
          if (e.overlay) {
            const ctx = tile.overlay.getContext("2d");
            for (const [x, y, w, h] of e.overlay.boxes) {
              const p = ctx.getImageData(Math.round(x), Math.round(y + h / 2), 1, 1).data;
              entry.edges.push([p[0], p[1], p[2], p[3]]);
            }
          }
          window.seen.push(entry);
        };
      });
      await page.waitForTimeout(SECONDS * 1000);
      const r = await page.evaluate(() => ({ seen: window.seen, stats: window.nalcast.tiles.get("pattern").player.stats() }));
      const withOverlay = r.seen.filter((e) => e.overlay);
      const problems = [];
      for (const e of withOverlay) {
        if (e.overlay.seq !== e.seq) problems.push(`overlay of frame ${e.overlay.seq} drawn on frame ${e.seq}`);
        if (e.stamp !== e.seq % 65536) problems.push(`frame ${e.seq} shows stamp ${e.stamp}`);
        const sq = square(e.stamp, e.w, e.h);
        const i = e.overlay.boxes.findIndex(([x, y, w, h]) =>
          x <= sq.x + 2 && y <= sq.y + 2 && x + w >= sq.x + sq.side - 2 && y + h >= sq.y + sq.side - 2);
        if (i < 0) {
          problems.push(`frame ${e.seq}: no box covers the square ${JSON.stringify(sq)}: ${JSON.stringify(e.overlay.boxes)}`);
          continue;
        }
        const [, , w, h] = e.overlay.boxes[i];
        if (w > sq.side + 16 || h > sq.side + 16) problems.push(`frame ${e.seq}: box ${w}x${h} is loose around a ${sq.side} square`);
        const [red, green, , alpha] = e.edges[i];
        if (!(alpha >= 200 && green > 128 && red < 128)) problems.push(`frame ${e.seq}: box edge not drawn (rgba ${e.edges[i]})`);
      }
      const share = withOverlay.length / Math.max(r.seen.length, 1);
      const s = r.stats;
      console.log(`overlay ${transport}: ${r.seen.length} frames painted in ${SECONDS} s, ${withOverlay.length} with their results ` +
        `(${(share * 100).toFixed(0)} %), results ${s.resultsPerSecond}/s, model ${s.modelMs?.toFixed(2)} ms, ` +
        `age at paint ${s.resultAgeMs?.toFixed(1)} ms, held ${s.holdMs?.toFixed(1)} ms, late ${s.resultsLate}, ` +
        `latency p50 ${s.latencyMs?.toFixed(1)} ms, fps ${s.fps}`);
      assert.ok(r.seen.length >= SECONDS * 20, `${transport}: only ${r.seen.length} frames painted`);
      assert.ok(share >= 0.8, `${transport}: only ${withOverlay.length} of ${r.seen.length} painted frames carried their results`);
      assert.deepEqual(problems.slice(0, 5), [], `${transport}: ${problems.length} overlay problems`);
      assert.ok(s.resultsPerSecond >= 15 && s.modelMs >= 0 && s.resultAgeMs != null && s.resultAgeMs < 1000, `${transport}: stats ${JSON.stringify(s)}`);

      // The toggle: overlays off → nothing held or drawn, pictures continue; on again → drawn again.
      await page.click("[data-act=overlay]");
      const off = await page.evaluate(async () => {
        const tile = window.nalcast.tiles.get("pattern");
        const before = tile.player.stats();
        window.seen = [];
        await new Promise((r) => setTimeout(r, 1000));
        const o = tile.overlay;
        const px = o.width ? o.getContext("2d").getImageData(0, 0, o.width, o.height).data : [];
        let drawn = 0;
        for (let i = 3; i < px.length; i += 4) drawn += px[i] > 0 ? 1 : 0;
        return { before, after: tile.player.stats(), painted: window.seen.length, drawn };
      });
      assert.ok(off.painted >= 15, `${transport}: ${off.painted} frames in 1 s with overlays off`);
      assert.equal(off.after.overlays, off.before.overlays, `${transport}: overlays drawn while off`);
      assert.equal(off.after.holdMs, 0, `${transport}: frames held while overlays are off`);
      assert.equal(off.drawn, 0, `${transport}: the overlay canvas was not cleared`);
      await page.click("[data-act=overlay]");
      await page.waitForFunction((n) => window.nalcast.tiles.get("pattern").player.stats().overlays > n + 10, off.after.overlays, { timeout: 5000 });
      console.log(`overlay ${transport}: ok (toggle: ${off.painted} frames in 1 s with overlays off, none drawn)`);
    } catch (e) {
      failures.push(`${transport}: ${e.message}`);
      console.error(`overlay ${transport}: FAILED: ${e.message}`);
    } finally {
      await page.close();
    }
  }
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const analysed = Number(/nalcast_inference_frames_total\{stream="pattern",model="motion"\} (\d+)/.exec(metrics)?.[1] ?? 0);
  assert.ok(analysed > 0, "/metrics counts analysed frames");
} finally {
  await close();
  await server.close();
}
if (failures.length) {
  console.error(`overlay: ${failures.length} transport(s) failed`);
  process.exit(1);
}
console.log("overlay: ok");
