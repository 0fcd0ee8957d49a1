// `make bench-impair`: each transport — websocket, http, webrtc, webrtc-realtime — through a lossy,
// slow network, and through the same relay unimpaired for comparison. This kernel has no netem, so
// the network is emulated in userspace by tests/e2e/lib/impair.mjs; the output says so. The server
// runs in its own network namespace, so its 127.0.0.1 is not the browser's: the browser reaches the
// relay at the addresses the server announces (127.0.0.1:HTTP, and 127.0.0.1:UDP as its WebRTC
// candidate), and the relay reaches the server through a Unix socket (lib/netns-bridge.mjs). (The
// server's `[webrtc] advertise` cannot be used for this: a STUN request that arrives on an address
// other than an announced candidate is discarded by str0m's ICE agent.)
// Prints glass-to-glass latency percentiles, painted fps, frames lost, reconnects and stalls.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "./lib/server.mjs";
import { freePort, startServer } from "./lib/nalcast-server.mjs";
import { freeUdpPort, startImpairProxy } from "./lib/impair.mjs";
import { launch, openPage } from "./lib/browser.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const TRANSPORTS = (process.env.TRANSPORTS ?? "websocket,http,webrtc,webrtc-realtime").split(",");
const SECONDS = Number(process.env.SECONDS ?? 10);
const LOSS = Number(process.env.LOSS ?? 0.02);
const DELAY_MS = Number(process.env.DELAY_MS ?? 50);
const JITTER_MS = Number(process.env.JITTER_MS ?? 0);
const [W, H] = (process.env.SIZE ?? "1280x720").split("x").map(Number);
const pct = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.round((s.length - 1) * p))];
};

const NS = `nalcast-impair-${process.pid}`;
execFileSync("ip", ["netns", "add", NS]);
process.on("exit", () => {
  try {
    execFileSync("ip", ["netns", "del", NS], { stdio: "ignore" });
  } catch {}
});
execFileSync("ip", ["netns", "exec", NS, "ip", "link", "set", "lo", "up"]);
const httpPort = await freePort();
const udpPort = await freeUdpPort(); // free here, for the relay; the server binds it in its namespace
const sock = path.join(os.tmpdir(), `nalcast-bridge-${process.pid}`);
const bridge = spawn("ip", ["netns", "exec", NS, process.execPath, path.join(here, "lib/netns-bridge.mjs"), sock, String(httpPort), String(udpPort)], {
  stdio: ["pipe", "pipe", "inherit"],
});
process.on("exit", () => bridge.kill("SIGKILL"));
await new Promise((resolve, reject) => {
  bridge.stdout.once("data", resolve);
  bridge.on("exit", (code) => reject(new Error(`netns bridge exited with ${code}`)));
});
const proxy = await startImpairProxy({ bridge: sock, frontUdpPort: udpPort });
const config = path.join(os.tmpdir(), `nalcast-impair-${process.pid}.toml`);
fs.writeFileSync(config, [
  "[webrtc]",
  `bind = "127.0.0.1:${udpPort}"`,
  "[[stream]]", 'id = "p"', 'kind = "pattern"', `width = ${W}`, `height = ${H}`, "",
].join("\n"));
const nalcast = await startServer({ prefix: ["ip", "netns", "exec", NS], listen: `127.0.0.1:${httpPort}`, args: ["--config", config] });
const pages = await serve({ "/pkg/": path.join(repo, "www/pkg"), "/t/": path.join(here, "pages") });
const { context, close } = await launch();
const via = `http://127.0.0.1:${proxy.tcpPort}`;
const scenarios = [
  { name: "through the relay, unimpaired", up: {}, down: {} },
  {
    name: `${(LOSS * 100).toFixed(1)} % loss + ${DELAY_MS} ms delay${JITTER_MS ? ` ± ${JITTER_MS} ms jitter` : ""} each way`,
    up: { loss: LOSS, delayMs: DELAY_MS, jitterMs: JITTER_MS },
    down: { loss: LOSS, delayMs: DELAY_MS, jitterMs: JITTER_MS },
  },
];
const rows = [];
try {
  const page = await openPage(context, `${pages.url}/t/bench-transport.html?server=${encodeURIComponent(via)}`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 30000 });
  for (const sc of scenarios) {
    proxy.set(sc);
    for (const t of TRANSPORTS) {
      const c0 = { ...proxy.counters };
      await page.evaluate((x) => window.begin(x), t);
      await page.waitForTimeout(3000); // connect, and past the join's catch-up burst
      await page.evaluate(() => window.mark());
      await page.waitForTimeout(SECONDS * 1000);
      const r = await page.evaluate(() => window.end());
      let holes = 0;
      for (let i = 1; i < r.seqs.length; i++) holes += Math.max(0, r.seqs[i] - r.seqs[i - 1] - 1);
      const c1 = proxy.counters;
      rows.push({
        sc: sc.name, t,
        p50: pct(r.latencies, 0.5), p95: pct(r.latencies, 0.95), p99: pct(r.latencies, 0.99),
        fps: r.seqs.length / SECONDS,
        holes,
        reported: (r.after.dropped + r.after.skipped) - (r.before.dropped + r.before.skipped),
        reconnects: r.after.reconnects - r.before.reconnects,
        stalls: r.after.stalls - r.before.stalls,
        udp: `${c1.udpDropped - c0.udpDropped}/${c1.udpIn - c0.udpIn}`,
        tcp: `${c1.tcpLost - c0.tcpLost}/${c1.tcpSegments - c0.tcpSegments}`,
      });
      console.error(`  ${sc.name} / ${t}: done`);
    }
  }
} finally {
  await close();
  await pages.close();
  await nalcast.close();
  await proxy.close();
  bridge.stdin.end();
  fs.rmSync(config, { force: true });
  for (const p of [`${sock}.tcp`, `${sock}.udp`]) fs.rmSync(p, { force: true });
}
console.log(`bench-impair: ${W}x${H} 30 fps test pattern, headless Chromium, ${SECONDS} s per transport per network`);
console.log("NOTE: userspace network emulation (tests/e2e/lib/impair.mjs), not netem: this kernel has no sch_netem.");
console.log("      UDP datagrams are dropped/delayed for real; TCP loss is modelled as one extra round trip of");
console.log("      head-of-line delay per lost 1448-byte segment (no congestion-window reaction).");
console.log("network                          | transport        | latency p50 | p95      | p99      | painted fps | frames lost (reported) | reconnects | stalls | UDP dropped/relayed | TCP segs 'lost'/relayed");
for (const x of rows) {
  const f = (v) => `${v.toFixed(1).padStart(6)} ms`;
  console.log(`${x.sc.padEnd(32)} | ${x.t.padEnd(16)} | ${f(x.p50)}   | ${f(x.p95)} | ${f(x.p99)} | ${x.fps.toFixed(1).padStart(11)} | ${String(x.holes).padStart(11)} (${x.reported}) | ${String(x.reconnects).padStart(10)} | ${String(x.stalls).padStart(6)} | ${x.udp.padStart(19)} | ${x.tcp}`);
}
