// End to end: model results drawn on exactly the frame they describe. `make run`'s server (the live
// pattern with the built-in motion analyzer), the real page in headless Chromium, on every
// transport. For each painted picture that carries an overlay: the overlay's frame id must equal the
// painted frame id and the frame number stamped into the picture, one of its boxes must cover the
// pattern's orange square at that frame's known position (and fit it tightly), and the box must be
// visibly drawn on the overlay canvas. The toggle must stop holding and drawing while frames go on.
import assert from "node:assert/strict";
import { startServer } from "./lib/nalcast-server.mjs";
import { launch, openPage } from "./lib/browser.mjs";
import { check, watch } from "./lib/overlays.mjs";

const TRANSPORTS = (process.env.TRANSPORTS ?? "websocket,http,webrtc,webrtc-realtime").split(",");
const SECONDS = Number(process.env.SECONDS ?? 3);

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
      const r = await watch(page, "pattern", SECONDS * 1000);
      const withOverlay = r.seen.filter((e) => e.overlay);
      const problems = check(r.seen);
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
