// `make bench-latency`: glass-to-glass latency (capture on the server → painted in the page) and
// time to first frame, in headless Chromium, for the 720p30 live test pattern over WebSocket on
// loopback. The references, from the same run: one frame interval of the stream (the latency goal)
// and 150 ms (the time-to-first-frame goal).
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "./lib/server.mjs";
import { startServer } from "./lib/nalcast-server.mjs";
import { launch, openPage } from "./lib/browser.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const SECONDS = Number(process.env.SECONDS ?? 15);
const JOINS = Number(process.env.JOINS ?? 10);
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.round((s.length - 1) * p))];
};

const nalcast = await startServer({ args: ["--source", "p=pattern:1280x720@30"] });
const pages = await serve({ "/pkg/": path.join(repo, "www/pkg"), "/t/": path.join(here, "pages") });
const { context, close } = await launch();
try {
  // The transport benchmark's page, over WebSocket.
  const page = await openPage(context, `${pages.url}/t/bench-transport.html?server=${encodeURIComponent(nalcast.url)}`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 30000 });
  await page.waitForTimeout(1500); // the encoder's first GOP
  const ttff = [];
  for (let i = 0; i < JOINS; i++) {
    ttff.push(await page.evaluate(() => window.firstFrame("websocket")));
    await page.waitForTimeout(137 * (i + 1) % 1000); // join at different points of the GOP
  }
  await page.evaluate(() => window.begin("websocket"));
  await page.waitForTimeout(3000); // clock sync and the join's catch-up
  await page.evaluate(() => window.mark());
  await page.waitForTimeout(SECONDS * 1000);
  const r = await page.evaluate(() => window.end());
  const api = await (await fetch(`${nalcast.url}/api/streams`)).json();
  const fps = api.find((s) => s.id === "p")?.fps || 30;
  const interval = 1000 / fps;
  const l = r.latencies;
  console.log(`bench-latency: 720p30 test pattern, WebSocket, loopback, headless Chromium; ${l.length} frames over ${SECONDS} s; ${JOINS} joins`);
  console.log(`glass-to-glass ms: p50 ${pct(l, 0.5).toFixed(1)} | p95 ${pct(l, 0.95).toFixed(1)} | p99 ${pct(l, 0.99).toFixed(1)} | max ${Math.max(...l).toFixed(1)}`);
  console.log(`  vs one frame interval (${interval.toFixed(1)} ms): p50 ${(pct(l, 0.5) / interval).toFixed(2)}x`);
  console.log(`decode+paint ms (last frames): ${r.after.decodeMs.toFixed(2)}`);
  console.log(`time to first frame ms: p50 ${pct(ttff, 0.5).toFixed(0)} | max ${Math.max(...ttff).toFixed(0)}  (vs 150 ms goal: p50 ${(pct(ttff, 0.5) / 150).toFixed(2)}x)`);
  console.log(`delivered: ${r.after.fps} fps at the end, dropped ${r.after.dropped}, skipped ${r.after.skipped}, errors ${r.after.errors}`);
} finally {
  await close();
  await pages.close();
  await nalcast.close();
}
