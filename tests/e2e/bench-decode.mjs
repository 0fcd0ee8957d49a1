// `make bench-decode`: nalcast's wasm OpenH264 (through its public JS API) side by side with the
// browser's WebCodecs VideoDecoder and tinyh264 (npm, Broadway's wasm successor, in its own worker),
// on the clips scripts/make-clips.sh makes, in one headless Chromium run. For every clip: decode only
// and decode + paint, REPS interleaved repetitions, medians of frames/s, of the p50/p95 interval
// between pictures, and of CPU ms per frame (all Chromium processes, from /proc). Then the ratios and
// the goals of issue 7, the paint paths compared on the same pictures, and the .wasm size. nalcast
// runs two ways: on the main thread (Decoder.decodeAndPaint) and as www/pipeline.js's two workers
// (decode | SIMD RGBA + putImageData on an OffscreenCanvas, overlapped); the main thread's longest
// stall during each run is measured with a 4 ms timer.
// Results also go to target/bench-decode.json.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";
import { serve } from "./lib/server.mjs";
import { launch, openPage } from "./lib/browser.mjs";
import { chromiumCpuMs } from "./lib/cpu.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const data = path.join(repo, "bench-data");
const REPS = Number(process.env.REPS ?? 3);
const CLIPS = ["360p-baseline", "720p-baseline", "1080p-baseline", "1080p-high-bframes", "720p-motion-baseline"];
const clips = CLIPS.filter((c) => fs.existsSync(path.join(data, `${c}.h264`)));
if (clips.length !== CLIPS.length) {
  console.error(`bench-decode: missing clips in bench-data/ (run scripts/make-clips.sh): ${CLIPS.filter((c) => !clips.includes(c)).join(", ")}`);
  process.exit(2);
}
const GZIP_LIMIT_KIB = 160;
const median = (xs) => (xs.length ? [...xs].sort((a, b) => a - b)[xs.length >> 1] : null);
const isHigh = (codec) => !/^avc1\.42/.test(codec);

const server = await serve({
  "/pkg/": path.join(repo, "www/pkg"),
  "/t/": path.join(here, "pages"),
  "/clips/": data,
  "/tiny/": path.join(here, "node_modules/tinyh264/es"),
  "/w/": path.join(repo, "www"),
});
const browser = await launch();
const VARIANTS = [
  { key: "ours", run: (p) => p.evaluate(() => window.runOurs(false)) },
  { key: "webcodecs", run: (p, codec) => p.evaluate((c) => window.runWebCodecs(c, false), codec) },
  { key: "tinyh264", run: (p, codec) => (isHigh(codec) ? { error: "tinyh264 decodes Baseline only" } : p.evaluate(() => window.runTiny(false))) },
  { key: "oursPaint", run: (p) => p.evaluate(() => window.runOurs(true)) },
  { key: "oursWorkers", run: (p) => p.evaluate(() => window.runPipeline()) },
  { key: "webcodecsPaint", run: (p, codec) => p.evaluate((c) => window.runWebCodecs(c, true), codec) },
  { key: "tinyh264Paint", run: (p, codec) => (isHigh(codec) ? { error: "tinyh264 decodes Baseline only" } : p.evaluate(() => window.runTiny(true))) },
];
const rows = [];
try {
  const page = await openPage(browser.context, `${server.url}/t/bench-decode.html`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 30000 });
  let warm = false;
  for (const clip of clips) {
    await page.evaluate((u) => window.load(u), `/clips/${clip}.h264`);
    const first = await page.evaluate(() => window.runOurs(false));
    const codec = first.codec;
    if (!warm) {
      // Let every engine compile and tier up once before anything is timed.
      for (const v of VARIANTS) await v.run(page, codec);
      warm = true;
    }
    const runs = Object.fromEntries(VARIANTS.map((v) => [v.key, []]));
    const errors = {};
    for (let rep = 0; rep < REPS; rep++) {
      for (let i = 0; i < VARIANTS.length; i++) {
        const v = VARIANTS[(i + rep) % VARIANTS.length]; // rotate the order between repetitions
        const cpu0 = chromiumCpuMs(browser.profile);
        const r = await v.run(page, codec);
        const cpu = chromiumCpuMs(browser.profile) - cpu0;
        if (r.error) errors[v.key] = r.error;
        else runs[v.key].push({ ...r, cpuPerFrame: r.frames ? cpu / r.frames : null });
      }
    }
    const summary = (key) => {
      const xs = runs[key];
      if (!xs.length) return { error: errors[key] ?? "no runs" };
      return {
        fps: median(xs.map((x) => x.fps)),
        p50: median(xs.map((x) => x.p50)),
        p95: median(xs.map((x) => x.p95)),
        cpuMsPerFrame: median(xs.map((x) => x.cpuPerFrame)),
        stall: median(xs.map((x) => x.stall)),
        frames: median(xs.map((x) => x.frames)),
        runs: xs.map((x) => +x.fps.toFixed(1)),
      };
    };
    // Paint paths on the same 60 pictures (the nalcast one is the difference of its two runs above).
    await page.evaluate(() => window.keepPictures(60));
    const gl = [], vf = [];
    for (let rep = 0; rep < REPS; rep++) {
      gl.push(await page.evaluate(() => window.paintWebGL()));
      vf.push(await page.evaluate(() => window.paintVideoFrame()));
    }
    const row = { clip, codec, units: first.frames, decodeErrors: first.errors };
    for (const v of VARIANTS) row[v.key] = summary(v.key);
    const ours = row.ours, oursPaint = row.oursPaint;
    row.paintMs = {
      rgbaPutImageData: ours.fps && oursPaint.fps ? 1000 / oursPaint.fps - 1000 / ours.fps : null,
      webgl2: median(gl.filter((x) => x != null)),
      videoFrameDrawImage: median(vf),
    };
    rows.push(row);
    console.error(`bench-decode: ${clip} done`);
  }
  await page.close();
} finally {
  await browser.close();
  await server.close();
}

// ---- report ----
const f1 = (x) => (x == null ? "n/a" : x.toFixed(1));
const f2 = (x) => (x == null ? "n/a" : x.toFixed(2));
const ratio = (a, b) => (a?.fps == null || b?.fps == null ? null : a.fps / b.fps);
const rx = (x) => (x == null ? "n/a" : `${x.toFixed(2)}x`);
const NAMES = { ours: "nalcast", webcodecs: "WebCodecs", tinyh264: "tinyh264" };
console.log(`bench-decode: median of ${REPS} interleaved runs, headless Chromium (software, --disable-gpu), this machine`);
console.log("ms/frame = interval between pictures out of a saturated decoder; CPU = all Chromium processes / frames");
console.log("");
console.log(["clip", "decoder", "decode fps", "ms p50", "ms p95", "CPU ms/f", "+paint fps", "ms p50", "ms p95", "CPU ms/f", "main thread stall ms"].join(" | "));
console.log(Array(11).fill("---").join(" | "));
for (const x of rows) {
  for (const k of ["ours", "oursWorkers", "webcodecs", "tinyh264"]) {
    const d = k === "oursWorkers" ? {} : x[k], p = k === "oursWorkers" ? x.oursWorkers : x[`${k}Paint`];
    const name = k === "oursWorkers" ? "nalcast, 2 workers" : NAMES[k];
    if (d.error || p.error) {
      console.log([x.clip, name, d.error ?? p.error, "", "", "", "", "", "", "", ""].join(" | "));
      continue;
    }
    console.log([x.clip, name, f1(d.fps), f2(d.p50), f2(d.p95), f2(d.cpuMsPerFrame), f1(p.fps), f2(p.p50), f2(p.p95), f2(p.cpuMsPerFrame), f1(p.stall)].join(" | "));
  }
}
console.log("");
console.log("ratios: nalcast decode only / theirs; +paint: nalcast's faster path (2 workers or main thread) / theirs");
console.log(["clip", "codec", "decode vs WebCodecs", "+paint vs WebCodecs", "decode vs tinyh264", "+paint vs tinyh264", "+paint path"].join(" | "));
console.log(Array(7).fill("---").join(" | "));
const goals = [];
for (const x of rows) {
  const workers = (x.oursWorkers.fps ?? 0) >= (x.oursPaint.fps ?? 0);
  const best = workers ? x.oursWorkers : x.oursPaint;
  const dw = ratio(x.ours, x.webcodecs), pw = ratio(best, x.webcodecsPaint);
  const dt = ratio(x.ours, x.tinyh264), pt = ratio(best, x.tinyh264Paint);
  console.log([x.clip, x.codec, rx(dw), rx(pw), rx(dt), rx(pt), workers ? "2 workers" : "main thread"].join(" | "));
  const need = isHigh(x.codec) ? 0.5 : 0.75;
  goals.push([`${x.clip}: decode + paint ≥ 1.00x WebCodecs`, pw, 1.0]);
  goals.push([`${x.clip}: decode only ≥ ${need.toFixed(2)}x WebCodecs`, dw, need]);
  if (dt != null) goals.push([`${x.clip}: decode ≥ 2x tinyh264`, dt, 2.0], [`${x.clip}: decode + paint ≥ 2x tinyh264`, pt, 2.0]);
}
console.log("");
console.log("paint paths, ms per 1 picture already decoded (median): nalcast SIMD RGBA + putImageData = (decode+paint) − (decode) | WebGL2 3 textures + shader | VideoFrame + drawImage");
for (const x of rows) console.log(`  ${x.clip}: ${f2(x.paintMs.rgbaPutImageData)} | ${f2(x.paintMs.webgl2)} | ${f2(x.paintMs.videoFrameDrawImage)}`);
const wasm = fs.readFileSync(path.join(repo, "www/pkg/nalcast_bg.wasm"));
const gz = zlib.gzipSync(wasm, { level: 9 }).length / 1024;
console.log("");
console.log(`wasm size: ${(wasm.length / 1024).toFixed(1)} KiB raw, ${gz.toFixed(1)} KiB gzip -9 (goal ≤ ${GZIP_LIMIT_KIB})`);
goals.push([`.wasm gzip ≤ ${GZIP_LIMIT_KIB} KiB`, GZIP_LIMIT_KIB / gz, 1.0]);
console.log("");
console.log("goals:");
for (const [name, value, need] of goals) {
  const shown = name.startsWith(".wasm") ? `${gz.toFixed(1)} KiB` : rx(value);
  console.log(`  ${value != null && value >= need ? "met    " : "NOT met"}  ${name}: ${shown}`);
}
fs.mkdirSync(path.join(repo, "target"), { recursive: true });
fs.writeFileSync(
  path.join(repo, "target/bench-decode.json"),
  JSON.stringify({ reps: REPS, wasm: { bytes: wasm.length, gzipKiB: +gz.toFixed(1) }, clips: rows, goals: goals.map(([name, value, need]) => ({ name, value, need, met: value != null && value >= need })) }, null, 2),
);
console.log("JSON: target/bench-decode.json");
