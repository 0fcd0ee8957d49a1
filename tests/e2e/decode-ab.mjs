// Decode-only frames/s of two wasm builds in one headless Chromium, runs interleaved (A, B, A, B ...),
// or a CPU profile (self time per wasm function) of one build.
//   node tests/e2e/decode-ab.mjs A_PKG_DIR B_PKG_DIR [REPS]     → median fps per clip for A and B
//   PROFILE=1 node tests/e2e/decode-ab.mjs PKG_DIR               → top functions by self time per clip
//   PAINT=1 node tests/e2e/decode-ab.mjs A_PKG_DIR B_PKG_DIR   → the same, decode + paint on a canvas
//   HASH=1 node tests/e2e/decode-ab.mjs A_PKG_DIR B_PKG_DIR       → do both decode every clip identically?
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "./lib/server.mjs";
import { launch, openPage } from "./lib/browser.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const data = path.join(repo, "bench-data");
const clips = (process.env.CLIPS ?? "720p-baseline,1080p-baseline,1080p-high-bframes").split(",");
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const [a, b, repsArg] = process.argv.slice(2);
if (!a) {
  console.error("usage: decode-ab.mjs A_PKG_DIR [B_PKG_DIR [REPS]]");
  process.exit(2);
}
const paint = process.env.PAINT ? "&paint=1" : "";
const mounts = { "/t/": path.join(here, "pages"), "/clips/": data, "/a/": path.resolve(a) };
if (b) mounts["/b/"] = path.resolve(b);
const server = await serve(mounts);
const { context, close } = await launch();
try {
  const pages = {};
  for (const k of b ? ["a", "b"] : ["a"]) {
    pages[k] = await openPage(context, `${server.url}/t/decode-ab.html?pkg=/${k}/${paint}`);
    await pages[k].waitForFunction(() => window.ready === true, null, { timeout: 30000 });
  }
  if (process.env.HASH) {
    let same = true;
    for (const clip of clips) {
      const r = {};
      for (const k of Object.keys(pages)) r[k] = await pages[k].evaluate((u) => window.hashClip(u), `/clips/${clip}.h264`);
      const line = Object.keys(pages).map((k) => `${k.toUpperCase()} ${r[k].frames} frames ${r[k].digest}`).join("  ");
      const ok = !r.b || (r.a.digest === r.b.digest && r.a.frames === r.b.frames);
      same &&= ok;
      console.log(`${clip.padEnd(20)} ${line}${r.b ? (ok ? "  identical" : "  DIFFERENT") : ""}`);
    }
    process.exitCode = same ? 0 : 1;
  } else if (process.env.PROFILE) {
    const cdp = await context.newCDPSession(pages.a);
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
    for (const clip of clips) {
      await cdp.send("Profiler.start");
      const r = await pages.a.evaluate((u) => window.decodeClip(u), `/clips/${clip}.h264`);
      const { profile } = await cdp.send("Profiler.stop");
      const self = new Map();
      const byId = new Map(profile.nodes.map((n) => [n.id, n]));
      const dt = profile.timeDeltas;
      let total = 0;
      profile.samples.forEach((id, i) => {
        const n = byId.get(id);
        const name = n.callFrame.functionName || `(${n.callFrame.url.split("/").pop() || "anon"})`;
        if (name === "(idle)" || name === "(program)" || name === "(garbage collector)") return;
        self.set(name, (self.get(name) ?? 0) + dt[i]);
        total += dt[i];
      });
      console.log(`\n${clip}: ${r.frames} frames, ${r.fps.toFixed(1)} fps (profiled), sampled ${(total / 1000).toFixed(0)} ms`);
      const rows = [...self.entries()].sort((x, y) => y[1] - x[1]).slice(0, Number(process.env.TOP ?? 25));
      for (const [name, us] of rows) console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`);
    }
  } else {
    // Each run gets a fresh page (warmed up by one untimed decode), and the build that goes first
    // alternates: a page that stays open keeps its wasm memory's placement, and one page of two
    // was measured up to 7 % faster than the other with the same build in both (A/A).
    const reps = Number(repsArg ?? 5);
    const keys = b ? ["a", "b"] : ["a"];
    for (const p of Object.values(pages)) await p.close();
    const run = async (k, clip) => {
      const page = await openPage(context, `${server.url}/t/decode-ab.html?pkg=/${k}/${paint}`);
      try {
        await page.waitForFunction(() => window.ready === true, null, { timeout: 30000 });
        await page.evaluate((u) => window.decodeClip(u), `/clips/${clip}.h264`);
        return (await page.evaluate((u) => window.decodeClip(u), `/clips/${clip}.h264`)).fps;
      } finally {
        await page.close();
      }
    };
    console.log(`${paint ? "decode + paint" : "decode-only"} fps, median of ${reps} interleaved runs, a fresh page each (A=${a}${b ? `, B=${b}` : ""})`);
    for (const clip of clips) {
      const runs = { a: [], b: [] };
      for (let i = 0; i < reps; i++) {
        for (const k of i % 2 ? [...keys].reverse() : keys) runs[k].push(await run(k, clip));
      }
      const line = keys.map((k) => `${k.toUpperCase()} ${median(runs[k]).toFixed(1)} [${runs[k].map((x) => x.toFixed(0)).join(" ")}]`);
      // The runs of one repetition are back to back, so their ratio is less exposed to the
      // machine's drift than the medians are: the geometric mean of those ratios is printed too.
      const paired = b ? Math.exp(runs.a.reduce((s, x, i) => s + Math.log(runs.b[i] / x), 0) / reps) : null;
      const ratio = b ? `  B/A ${(median(runs.b) / median(runs.a)).toFixed(3)} (paired ${paired.toFixed(3)})` : "";
      console.log(`${clip.padEnd(20)} ${line.join("  ")}${ratio}`);
    }
  }
} finally {
  await close();
  await server.close();
}
