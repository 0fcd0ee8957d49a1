// End to end for every transport: the real server and page in headless Chromium, the live pattern
// played over websocket, http, webrtc and webrtc-realtime in turn. Pictures must advance; painted
// frame ids must be consecutive except where the player reported a drop; and the frame number
// stamped into the picture on the canvas must be the frame id the player says it painted.
import assert from "node:assert/strict";
import { startServer } from "./lib/nalcast-server.mjs";
import { launch, openPage } from "./lib/browser.mjs";

const TRANSPORTS = (process.env.TRANSPORTS ?? "websocket,http,webrtc,webrtc-realtime").split(",");
const server = await startServer();
const { context, close } = await launch();
let failures = 0;
try {
  for (const transport of TRANSPORTS) {
    const page = await openPage(context, `${server.url}/?stream=pattern&transport=${transport}`);
    try {
      await page.waitForFunction(() => window.nalcast?.tiles.get("pattern")?.player.stats().frames > 0, null, { timeout: 20000 });
      // The hook and the loss counts it is compared with are taken together: a frame skipped
      // between two evaluate calls would be a hole nobody reported.
      const before = await page.evaluate(() => {
        window.painted = [];
        window.mismatch = [];
        const tile = window.nalcast.tiles.get("pattern");
        tile.player.onframe = (e) => {
          window.painted.push(e.seq);
          // Read the stamp now: the picture on the canvas is the one just painted.
          const px = tile.canvas.getContext("2d").getImageData(0, 0, 256, 16).data;
          let n = 0;
          for (let bit = 0; bit < 16; bit++) n = n * 2 + (px[(8 * 256 + bit * 16 + 8) * 4] > 128 ? 1 : 0);
          if (n !== e.seq % 65536) window.mismatch.push([e.seq, n]);
        };
        return tile.player.stats();
      });
      await page.waitForTimeout(3000);
      const r = await page.evaluate(() => ({
        painted: window.painted,
        mismatch: window.mismatch,
        stats: window.nalcast.tiles.get("pattern").player.stats(),
      }));
      const lostReported = r.stats.dropped + r.stats.skipped - (before.dropped + before.skipped);
      let holes = 0;
      for (let i = 1; i < r.painted.length; i++) holes += r.painted[i] - r.painted[i - 1] - 1;
      console.log(`${transport.padEnd(16)} painted ${r.painted.length} in 3 s, holes ${holes}, reported lost ${lostReported}, ` +
        `latency p50 ${r.stats.latencyMs?.toFixed(1)} ms, errors ${r.stats.errors}, stamp mismatches ${r.mismatch.length}`);
      assert.ok(r.painted.length >= 45, `${transport}: frames advance (${r.painted.length} in 3 s)`);
      assert.ok(holes <= lostReported, `${transport}: ${holes} missing frame ids but only ${lostReported} reported lost`);
      assert.equal(r.mismatch.length, 0, `${transport}: canvas stamp != painted id: ${JSON.stringify(r.mismatch.slice(0, 5))}`);
      assert.equal(r.stats.errors, 0, `${transport}: decoder errors`);
      assert.ok(r.stats.latencyMs > 0 && r.stats.latencyMs < 1000, `${transport}: latency ${r.stats.latencyMs} ms is plausible`);
      assert.equal(r.stats.transport, transport);
    } catch (e) {
      failures++;
      console.error(`${transport}: FAILED: ${e.message}`);
    } finally {
      await page.close();
    }
  }
  // The comparison page plays the stream over all four transports at once.
  const page = await openPage(context, `${server.url}/compare.html?stream=pattern`);
  try {
    await page.waitForFunction(() => window.nalcast?.players?.every((p) => p.player.stats().frames > 10), null, { timeout: 20000 });
    await page.waitForTimeout(2500);
    const rows = await page.evaluate(() => [...document.querySelectorAll("#rows tr")].map((tr) => tr.innerText));
    console.log(`compare page: ${rows.length} rows\n  ${rows.join("\n  ")}`);
    assert.equal(rows.length, 4);
  } catch (e) {
    failures++;
    console.error(`compare page: FAILED: ${e.message}`);
  } finally {
    await page.close();
  }
} finally {
  await close();
  await server.close();
}

// auto: with WebRTC switched off on the server, the player falls back to WebSocket by itself.
{
  const fs = await import("node:fs");
  const os = await import("node:os");
  const config = `${os.tmpdir()}/nalcast-auto-${process.pid}.toml`;
  fs.writeFileSync(config, "[webrtc]\nenabled = false\n[[stream]]\nid = \"pattern\"\nkind = \"pattern\"\nwidth = 640\nheight = 360\n");
  const server2 = await startServer({ args: ["--config", config] });
  const b = await launch();
  try {
    const page = await openPage(b.context, `${server2.url}/?stream=pattern&transport=auto`);
    await page.waitForFunction(() => window.nalcast?.tiles.get("pattern")?.player.stats().frames > 5, null, { timeout: 30000 });
    const s = await page.evaluate(() => window.nalcast.tiles.get("pattern").player.stats());
    console.log(`auto without WebRTC: now on ${s.transport} after ${s.reconnects} reconnect(s), ${s.frames} frames`);
    assert.equal(s.transport, "websocket");
  } catch (e) {
    failures++;
    console.error(`auto fallback: FAILED: ${e.message}`);
  } finally {
    await b.close();
    await server2.close();
    fs.rmSync(config, { force: true });
  }
}
if (failures) process.exit(1);
console.log("transports: ok");
