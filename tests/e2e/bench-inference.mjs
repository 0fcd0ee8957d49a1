// `make bench-inference`: what drawing a model's results on the exact frame costs and achieves, in
// headless Chromium against the real server and page (720p30 live pattern, built-in motion analyzer,
// WebSocket on loopback). Two streams: `full` (the analyzer on every frame) and `sampled` (at most 5
// pictures per second, latest frame wins). For each, ROUNDS interleaved rounds of overlays on and off
// on the same player:
//   - results per second reaching the page, and the model's time per picture;
//   - added end-to-end delay: glass-to-glass p50 with overlays on minus off, same round (the
//     reference is the same player with holding off, measured in the same run);
//   - frame-sync error = painted frame id − frame id of the results drawn on it, over every painted
//     frame that carries results (goal: 0), and the share of painted frames that carry results;
//   - for comparison, the naive way (draw results when they arrive): painted frame id at arrival −
//     results' frame id, from the rounds with holding off.
// Prints a table; JSON in target/bench-inference.json.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "./lib/nalcast-server.mjs";
import { launch, openPage } from "./lib/browser.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const SECONDS = Number(process.env.SECONDS ?? 5);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const pct = (xs, p) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.round((s.length - 1) * p))];
};
const histogram = (xs) => {
  const h = {};
  for (const x of xs) h[x] = (h[x] ?? 0) + 1;
  return h;
};
const f = (v, d = 1) => (v == null ? "—" : v.toFixed(d));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nalcast-bench-inference-"));
const config = path.join(dir, "config.toml");
fs.writeFileSync(config, `
[[stream]]
id = "full"
kind = "pattern"
width = 1280
height = 720
[[stream]]
id = "sampled"
kind = "pattern"
width = 1280
height = 720
[[inference]]
stream = "full"
analyzer = "motion"
[[inference]]
stream = "sampled"
analyzer = "motion"
rate = 5
`);
const server = await startServer({ args: ["--config", config] });
const { context, close } = await launch();
const report = { seconds: SECONDS, rounds: ROUNDS, streams: {} };
try {
  for (const stream of ["full", "sampled"]) {
    const page = await openPage(context, `${server.url}/?stream=${stream}`);
    await page.waitForFunction((id) => window.nalcast?.tiles.get(id)?.player.stats().results > 5, stream, { timeout: 30000 });
    await page.waitForTimeout(2000); // clock sync, the analyzer's start-up background
    await page.evaluate((id) => {
      const tile = window.nalcast.tiles.get(id);
      window.bench = { frames: [], results: [] };
      tile.player.onframe = (e) => window.bench.frames.push({ seq: e.seq, latency: e.latencyMs, overlay: e.overlay?.seq ?? null });
      tile.player.onresults = (r) => window.bench.results.push({ seq: r.seq, lastPainted: r.lastPainted, ms: r.inferenceMs });
      window.measure = async (on, ms) => {
        tile.player.setOverlay(on ? tile.overlay : null);
        await new Promise((r) => setTimeout(r, 500)); // let the hold settle (or drain)
        window.bench = { frames: [], results: [] };
        await new Promise((r) => setTimeout(r, ms));
        return window.bench;
      };
    }, stream);
    const rounds = [];
    for (let i = 0; i < ROUNDS; i++) {
      for (const on of i % 2 ? [false, true] : [true, false]) {
        const b = await page.evaluate(([on, ms]) => window.measure(on, ms), [on, SECONDS * 1000]);
        rounds.push({ round: i, on, ...b });
      }
    }
    await page.evaluate((id) => window.nalcast.tiles.get(id).player.setOverlay(window.nalcast.tiles.get(id).overlay), stream);
    const on = rounds.filter((r) => r.on);
    const off = rounds.filter((r) => !r.on);
    const lat = (rs) => rs.flatMap((r) => r.frames.map((x) => x.latency).filter((x) => x != null));
    const added = [];
    for (let i = 0; i < ROUNDS; i++) {
      added.push(pct(lat(on.filter((r) => r.round === i)), 0.5) - pct(lat(off.filter((r) => r.round === i)), 0.5));
    }
    const painted = on.flatMap((r) => r.frames);
    const withResults = painted.filter((x) => x.overlay != null);
    const syncErrors = withResults.map((x) => x.seq - x.overlay);
    const naive = off.flatMap((r) => r.results.filter((x) => x.lastPainted != null).map((x) => x.lastPainted - x.seq));
    const results = on.flatMap((r) => r.results);
    const s = {
      resultsPerSecond: results.length / (on.length * SECONDS),
      modelMsP50: pct(results.map((x) => x.ms), 0.5),
      fpsOn: painted.length / (on.length * SECONDS),
      fpsOff: off.flatMap((r) => r.frames).length / (off.length * SECONDS),
      latencyP50On: pct(lat(on), 0.5),
      latencyP50Off: pct(lat(off), 0.5),
      latencyP95On: pct(lat(on), 0.95),
      latencyP95Off: pct(lat(off), 0.95),
      addedDelayMsPerRound: added,
      addedDelayMs: pct(added, 0.5),
      paintedFrames: painted.length,
      framesWithResults: withResults.length,
      syncError: histogram(syncErrors),
      naiveSyncError: histogram(naive),
    };
    report.streams[stream] = s;
    await page.close();
  }
} finally {
  await close();
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
const metrics = "(see /metrics for the server's side)";
console.log(`\nbench-inference: 720p30 live pattern, motion analyzer, WebSocket, ${ROUNDS} interleaved rounds × ${SECONDS} s with overlays on / off`);
console.log("stream   | results/s | model ms p50 | fps on/off | g2g p50 on/off ms | added delay ms (per round) | painted w/ results | sync error (frames: count) | naive error (frames: count)");
for (const [id, s] of Object.entries(report.streams)) {
  const share = `${s.framesWithResults}/${s.paintedFrames} (${f((100 * s.framesWithResults) / Math.max(1, s.paintedFrames), 0)} %)`;
  console.log(`${id.padEnd(8)} | ${f(s.resultsPerSecond).padStart(9)} | ${f(s.modelMsP50, 2).padStart(12)} | ${f(s.fpsOn)}/${f(s.fpsOff)} | ` +
    `${f(s.latencyP50On)}/${f(s.latencyP50Off)} | ${f(s.addedDelayMs)} (${s.addedDelayMsPerRound.map((x) => f(x)).join(", ")}) | ${share} | ` +
    `${JSON.stringify(s.syncError)} | ${JSON.stringify(s.naiveSyncError)}`);
}
console.log(metrics);
fs.mkdirSync(path.join(repo, "target"), { recursive: true });
fs.writeFileSync(path.join(repo, "target/bench-inference.json"), JSON.stringify(report, null, 2));
console.log("JSON: target/bench-inference.json");
