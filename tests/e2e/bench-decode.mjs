// `make bench-decode`: frames per second of nalcast's wasm OpenH264 (through the public JS API)
// beside the browser's WebCodecs VideoDecoder, on the same clips, in one headless Chromium run.
// Decode only, and decode + paint on a 2D canvas. Repetitions are interleaved; medians are printed.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";
import { serve } from "./lib/server.mjs";
import { launch, openPage } from "./lib/browser.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const data = path.join(repo, "bench-data");
const REPS = Number(process.env.REPS ?? 3);
const clips = ["720p-baseline", "1080p-baseline", "1080p-high-bframes"].filter((c) => fs.existsSync(path.join(data, `${c}.h264`)));
if (!clips.length) {
  console.error("bench-decode: no clips in bench-data/ (run scripts/make-clips.sh)");
  process.exit(2);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const server = await serve({ "/pkg/": path.join(repo, "www/pkg"), "/t/": path.join(here, "pages"), "/clips/": data });
const { context, close } = await launch();
const rows = [];
try {
  const page = await openPage(context, `${server.url}/t/bench-decode.html`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 30000 });
  for (const name of clips) {
    const url = `/clips/${name}.h264`;
    const runs = { ours: [], oursPaint: [], wc: [], wcPaint: [] };
    let codec = "", frames = 0, p50 = [], p95 = [], wcError = null;
    for (let rep = 0; rep < REPS; rep++) {
      const o = await page.evaluate((u) => window.benchOurs(u, false), url);
      codec = o.codec;
      frames = o.frames;
      runs.ours.push(o.fps);
      p50.push(o.p50);
      p95.push(o.p95);
      const w = await page.evaluate(([u, c]) => window.benchWebCodecs(u, c, false), [url, codec]);
      if (w.error) wcError = w.error;
      else runs.wc.push(w.fps);
      runs.oursPaint.push((await page.evaluate((u) => window.benchOurs(u, true), url)).fps);
      const wp = await page.evaluate(([u, c]) => window.benchWebCodecs(u, c, true), [url, codec]);
      if (!wp.error) runs.wcPaint.push(wp.fps);
    }
    rows.push({
      clip: name,
      codec,
      frames,
      ours: median(runs.ours),
      oursPaint: median(runs.oursPaint),
      webcodecs: runs.wc.length ? median(runs.wc) : null,
      webcodecsPaint: runs.wcPaint.length ? median(runs.wcPaint) : null,
      p50: median(p50),
      p95: median(p95),
      wcError,
    });
  }
  await page.close();
} finally {
  await close();
  await server.close();
}

const f = (x) => (x == null ? "n/a" : x.toFixed(1));
const r = (a, b) => (a == null || b == null ? "n/a" : `${(a / b).toFixed(2)}x`);
console.log(`bench-decode: median of ${REPS} interleaved runs, frames/s, headless Chromium (software), this machine`);
console.log(["clip", "codec", "frames", "nalcast decode", "WebCodecs decode", "ratio", "nalcast +paint", "WebCodecs +paint", "ratio", "ms/AU p50", "p95"].join(" | "));
for (const x of rows) {
  console.log([x.clip, x.codec, x.frames, f(x.ours), f(x.webcodecs), r(x.ours, x.webcodecs), f(x.oursPaint), f(x.webcodecsPaint), r(x.oursPaint, x.webcodecsPaint), x.p50.toFixed(2), x.p95.toFixed(2)].join(" | "));
  if (x.wcError) console.log(`  WebCodecs: ${x.wcError}`);
}
const wasm = fs.readFileSync(path.join(repo, "www/pkg/nalcast_bg.wasm"));
console.log(`wasm size: ${(wasm.length / 1024).toFixed(1)} KiB raw, ${(zlib.gzipSync(wasm, { level: 9 }).length / 1024).toFixed(1)} KiB gzip`);
fs.mkdirSync(path.join(repo, "target"), { recursive: true });
fs.writeFileSync(path.join(repo, "target/bench-decode.json"), JSON.stringify(rows, null, 2));
