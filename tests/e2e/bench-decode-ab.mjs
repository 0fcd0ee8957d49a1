// Compares the decode speed of two or more builds of the wasm package on this noisy machine:
//   cp -r www/pkg /tmp/pkg-before; (change, make wasm); node tests/e2e/bench-decode-ab.mjs /tmp/pkg-before www/pkg
// Decode only, in node's V8 (the same engine as Chromium), each package its own module instance in one
// process; clips from bench-data/ (CLIPS=a,b to choose), one warm-up pass, then REPS (default 5)
// interleaved passes. Frames per second are counted against the process's CPU time, which other
// jobs on the machine disturb far less than wall time; median and best are printed, wall-time median
// beside them.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath, pathToFileURL } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const REPS = Number(process.env.REPS ?? 5);
const clips = (process.env.CLIPS ?? "720p-baseline,1080p-baseline,1080p-high-bframes")
  .split(",")
  .filter((c) => fs.existsSync(path.join(repo, "bench-data", `${c}.h264`)));
const pkgs = process.argv.slice(2).map((p) => path.resolve(p));
if (!pkgs.length || !clips.length) {
  console.error("usage: node tests/e2e/bench-decode-ab.mjs PKG_DIR [PKG_DIR ...]  (clips in bench-data/)");
  process.exit(2);
}
const mods = [];
for (const [i, p] of pkgs.entries()) {
  const m = await import(`${pathToFileURL(path.join(p, "nalcast.js"))}?${i}`);
  m.initSync({ module: fs.readFileSync(path.join(p, "nalcast_bg.wasm")) });
  mods.push(m);
}
const units = {};
for (const c of clips) {
  const data = new Uint8Array(fs.readFileSync(path.join(repo, "bench-data", `${c}.h264`)));
  const flat = mods[0].accessUnits(data);
  units[c] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) units[c].push(data.subarray(flat[i], flat[i + 1]));
}
function run(m, c) {
  const dec = new m.Decoder();
  let frames = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const au of units[c]) frames += dec.decodeAndPaint(au, undefined);
  frames += dec.flushAndPaint(undefined);
  const cpu = process.cpuUsage(cpu0);
  const ms = performance.now() - t0;
  dec.free();
  return { cpu: (frames * 1e6) / (cpu.user + cpu.system), wall: (frames * 1000) / ms };
}
for (const c of clips) for (const m of mods) run(m, c);
const res = pkgs.map(() => Object.fromEntries(clips.map((c) => [c, { cpu: [], wall: [] }])));
for (let r = 0; r < REPS; r++) {
  for (const c of clips) {
    const order = r % 2 ? [...mods.keys()].reverse() : [...mods.keys()];
    for (const i of order) {
      const x = run(mods[i], c);
      res[i][c].cpu.push(x.cpu);
      res[i][c].wall.push(x.wall);
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`decode-only fps by CPU time, median / best of ${REPS} interleaved runs (wall-time median)`);
console.log(["package", "raw KiB", "gzip KiB", ...clips].join(" | "));
for (const [i, p] of pkgs.entries()) {
  const wasm = fs.readFileSync(path.join(p, "nalcast_bg.wasm"));
  const gz = zlib.gzipSync(wasm, { level: 9 }).length;
  const cells = clips.map((c) => {
    const x = res[i][c];
    return `${median(x.cpu).toFixed(1)} / ${Math.max(...x.cpu).toFixed(1)} (${median(x.wall).toFixed(1)})`;
  });
  console.log([path.relative(repo, p) || p, (wasm.length / 1024).toFixed(1), (gz / 1024).toFixed(1), ...cells].join(" | "));
}
