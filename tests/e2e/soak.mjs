// `make soak MINUTES=N`: the 720p30 live pattern served to a headless-Chromium page with one
// player per transport, plus LOAD plain HTTP-streaming viewers from node, for N minutes. Prints per
// minute the glass-to-glass latency percentiles of the page's players and the frames they painted,
// and at start and end the server's RSS, the page's JS heap and its wasm memory. Fails if latency
// drifts (last minute's p50 more than 20 ms above the first's), if the wasm heap's live bytes grow
// by more than 1 MiB after the first minute (a leak; the memory's size may still step up from
// fragmentation, which is printed), or if the server's RSS grows by more than 64 MiB after it.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "./lib/server.mjs";
import { startServer } from "./lib/nalcast-server.mjs";
import { launch, openPage } from "./lib/browser.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const MINUTES = Number(process.env.MINUTES ?? 10);
const BUCKET_S = Number(process.env.BUCKET_SECONDS ?? 60);
const LOAD = Number(process.env.LOAD ?? 50);
const TRANSPORTS = process.env.TRANSPORTS ?? "websocket,http,webrtc,webrtc-realtime";
const pct = (xs, p) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.round((s.length - 1) * p))];
};
const mib = (bytes) => (bytes / 1048576).toFixed(1);
const rss = (pid) => {
  const m = fs.readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) * 1024 : NaN;
};

const nalcast = await startServer({ args: ["--source", "p=pattern:1280x720@30"] });
const pages = await serve({ "/pkg/": path.join(repo, "www/pkg"), "/t/": path.join(here, "pages") });
const { context, close } = await launch();
const stop = new AbortController();
let loadBytes = 0;
let loadFailures = 0;
const loadViewer = async () => {
  while (!stop.signal.aborted) {
    try {
      const res = await fetch(`${nalcast.url}/http/streams/p`, { signal: stop.signal });
      for await (const chunk of res.body) loadBytes += chunk.length;
    } catch {
      if (!stop.signal.aborted) loadFailures++;
    }
  }
};
let failed = false;
try {
  const page = await openPage(context, `${pages.url}/t/soak.html?server=${encodeURIComponent(nalcast.url)}&transports=${TRANSPORTS}`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 30000 });
  const cdp = await context.newCDPSession(page);
  const heap = async () => (await cdp.send("Runtime.getHeapUsage")).usedSize;
  const loads = Array.from({ length: LOAD }, loadViewer);
  await page.waitForTimeout(3000); // first GOP, clock sync
  await page.evaluate(() => window.take());
  const start = { rss: rss(nalcast.pid), heap: await heap(), ...(await page.evaluate(() => window.memory())) };
  console.log(`soak: 720p30 pattern, ${MINUTES} min in ${BUCKET_S}-s buckets, page players: ${TRANSPORTS}, ${LOAD} node HTTP viewers`);
  console.log(`start: server RSS ${mib(start.rss)} MiB | page JS heap ${mib(start.heap)} MiB | wasm memory ${mib(start.memory)} MiB, ${mib(start.live)} MiB live`);
  const buckets = Math.max(1, Math.round((MINUTES * 60) / BUCKET_S));
  const rows = [];
  let afterFirst = null;
  for (let b = 1; b <= buckets; b++) {
    const bytes0 = loadBytes;
    await page.waitForTimeout(BUCKET_S * 1000);
    const taken = await page.evaluate(() => window.take());
    const all = taken.flatMap((t) => t.latencies);
    const row = {
      bucket: b,
      p50: pct(all, 0.5), p95: pct(all, 0.95), p99: pct(all, 0.99),
      fps: taken.map((t) => `${t.transport} ${(t.frames / BUCKET_S).toFixed(1)}`).join(", "),
      rss: rss(nalcast.pid), heap: await heap(), ...(await page.evaluate(() => window.memory())),
      loadMbps: ((loadBytes - bytes0) * 8) / BUCKET_S / 1e6,
    };
    rows.push(row);
    if (b === 1) afterFirst = row;
    console.log(
      `[${b}] latency ms p50 ${row.p50.toFixed(1)} p95 ${row.p95.toFixed(1)} p99 ${row.p99.toFixed(1)} | fps ${row.fps} | ` +
        `RSS ${mib(row.rss)} MiB | heap ${mib(row.heap)} MiB | wasm ${mib(row.memory)} MiB (${mib(row.live)} live) | load ${row.loadMbps.toFixed(1)} Mbit/s`,
    );
  }
  const end = rows[rows.length - 1];
  console.log(`end:   server RSS ${mib(end.rss)} MiB | page JS heap ${mib(end.heap)} MiB | wasm memory ${mib(end.memory)} MiB, ${mib(end.live)} MiB live | load-viewer reconnects ${loadFailures}`);
  const checks = [
    [`latency p50 drift ${(end.p50 - rows[0].p50).toFixed(1)} ms ≤ 20`, end.p50 - rows[0].p50 <= 20],
    [`wasm heap live bytes after bucket 1: ${mib(afterFirst.live)} → ${mib(end.live)} MiB (≤ +1)`, end.live - afterFirst.live <= 1048576],
    [`server RSS after bucket 1: ${mib(afterFirst.rss)} → ${mib(end.rss)} MiB (≤ +64)`, end.rss - afterFirst.rss <= 64 * 1048576],
    [`every page player painted in the last bucket`, !end.fps.split(", ").some((f) => f.endsWith(" 0.0"))],
  ];
  for (const [what, ok] of checks) {
    console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
    if (!ok) failed = true;
  }
} finally {
  stop.abort();
  await close();
  await pages.close();
  await nalcast.close();
}
if (failed) process.exit(1);
