// `make bench-grid`: the real page playing a grid of live streams (STREAMS × SIZE@30 test patterns
// over WebSocket), decoding on the page's main thread vs in a DecoderPool of workers (?worker=1), and
// with half of the tiles scrolled out of view (paused). For each: frames/s per tile, glass-to-glass
// p50, the main thread's busy share (Chromium's own TaskDuration for the page, via the DevTools
// protocol), its longest stall (a 4 ms timer's lateness), and all Chromium processes' CPU.
// The reference is the page-thread mode in the same run.
import { startServer } from "./lib/nalcast-server.mjs";
import { launch, openPage } from "./lib/browser.mjs";
import { chromiumCpuMs } from "./lib/cpu.mjs";

const STREAMS = Number(process.env.STREAMS ?? 4);
const SIZE = process.env.SIZE ?? "1280x720";
const SECONDS = Number(process.env.SECONDS ?? 8);
const ids = Array.from({ length: STREAMS }, (_, i) => `s${i}`);
const nalcast = await startServer({ args: ids.flatMap((id) => ["--source", `${id}=pattern:${SIZE}@30`]) });
const browser = await launch();

async function measure(query, hide = 0) {
  const page = await openPage(browser.context, `${nalcast.url}/?${ids.map((id) => `stream=${id}`).join("&")}&overlay=0&${query}`);
  await page.setViewportSize({ width: 2560, height: 2560 }); // every tile in view
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  await page.waitForFunction((n) => window.nalcast?.tiles.size === n && [...window.nalcast.tiles.values()].every((t) => t.player.stats().frames > 0), STREAMS, { timeout: 30000 });
  if (hide) {
    await page.evaluate((k) => [...window.nalcast.tiles.values()].slice(0, k).forEach((t) => (t.el.style.transform = "translateY(20000px)")), hide);
  }
  await page.waitForTimeout(2500); // clock sync, catch-up, the pool's workers warm
  const taskSeconds = async () => (await cdp.send("Performance.getMetrics")).metrics.find((m) => m.name === "TaskDuration").value;
  const before = await page.evaluate(() => {
    window.benchStall = { last: performance.now(), worst: 0, on: true };
    const tick = () => {
      const s = window.benchStall;
      const now = performance.now();
      s.worst = Math.max(s.worst, now - s.last - 4);
      s.last = now;
      if (s.on) setTimeout(tick, 4);
    };
    setTimeout(tick, 4);
    return [...window.nalcast.tiles.values()].map((t) => t.player.stats().frames);
  });
  const task0 = await taskSeconds();
  const cpu0 = chromiumCpuMs(browser.profile);
  const t0 = Date.now();
  await page.waitForTimeout(SECONDS * 1000);
  const wall = (Date.now() - t0) / 1000;
  const cpu = (chromiumCpuMs(browser.profile) - cpu0) / 10 / wall; // % of one core
  const busy = ((await taskSeconds()) - task0) / wall;
  const after = await page.evaluate(() => {
    window.benchStall.on = false;
    return { stall: window.benchStall.worst, tiles: [...window.nalcast.tiles.values()].map((t) => t.player.stats()) };
  });
  await page.close();
  const shown = after.tiles.slice(hide);
  const fps = shown.map((s, i) => (s.frames - before[i + hide]) / wall);
  const lat = shown.map((s) => s.latencyMs).filter((x) => x != null).sort((a, b) => a - b);
  return {
    mode: query.includes("worker=1") ? "worker pool" : "page thread",
    hidden: hide,
    fpsMin: Math.min(...fps),
    fpsMean: fps.reduce((a, b) => a + b, 0) / fps.length,
    latencyP50: lat[lat.length >> 1],
    mainBusyPct: busy * 100,
    stallMs: after.stall,
    cpuPct: cpu,
    errors: after.tiles.reduce((a, s) => a + s.errors, 0),
    paused: after.tiles.reduce((a, s) => a + s.paused, 0),
  };
}

const rows = [];
try {
  for (let rep = 0; rep < 2; rep++) {
    rows.push(await measure("worker=0"));
    rows.push(await measure("worker=1"));
  }
  rows.push(await measure("worker=1", STREAMS >> 1));
} finally {
  await browser.close();
  await nalcast.close();
}
const f = (x, d = 1) => (x == null ? "n/a" : x.toFixed(d));
console.log(`bench-grid: ${STREAMS} × ${SIZE}@30 live patterns on the page, ${SECONDS} s windows, headless Chromium, 2 cores`);
console.log(["mode", "tiles out of view", "fps/tile min", "fps/tile mean", "g2g p50 ms", "main thread busy %", "longest stall ms", "Chromium CPU % of a core", "errors"].join(" | "));
console.log(Array(9).fill("---").join(" | "));
for (const r of rows) console.log([r.mode, r.hidden, f(r.fpsMin), f(r.fpsMean), f(r.latencyP50), f(r.mainBusyPct), f(r.stallMs), f(r.cpuPct, 0), r.errors].join(" | "));
const med = (mode) => rows.filter((r) => r.mode === mode && r.hidden === 0);
const page = med("page thread"), pool = med("worker pool");
const avg = (xs, k) => xs.reduce((a, r) => a + r[k], 0) / xs.length;
console.log(`main thread busy: worker pool ${f(avg(pool, "mainBusyPct"))} % vs page thread ${f(avg(page, "mainBusyPct"))} % (${f(avg(pool, "mainBusyPct") / avg(page, "mainBusyPct"), 2)}x)`);
const half = rows.find((r) => r.hidden);
console.log(`half the tiles out of view: Chromium CPU ${f(half.cpuPct, 0)} % vs ${f(avg(pool, "cpuPct"), 0)} % with all in view (${f(half.cpuPct / avg(pool, "cpuPct"), 2)}x)`);
