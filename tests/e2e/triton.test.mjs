// End to end through a real Triton: PyTriton (the venv scripts/setup.sh builds) serves `boxfinder`
// (a colour-blob detector computed from the pixels) and `boxfinder_slow` (the same, 250 ms per
// picture); the server's inference workers call them over the KServe v2 protocol. In headless
// Chromium: on the `fast` stream every overlay is drawn on the frame it describes and its box covers
// the pattern's square there; on the `slow` stream the viewer keeps the full frame rate while the
// model gives about four results per second, and those results are still drawn on their own frames.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, startServer } from "./lib/nalcast-server.mjs";
import { launch, openPage } from "./lib/browser.mjs";
import { check, holes, watch } from "./lib/overlays.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const python = path.join(repo, "target/pytriton-venv/bin/python");
const SECONDS = Number(process.env.SECONDS ?? 4);

/** Starts scripts/triton-models.py; resolves once it says it is ready (or fails with its output). */
async function startTriton() {
  if (!fs.existsSync(python)) throw new Error(`${python} missing: run scripts/setup.sh`);
  const port = await freePort();
  const child = spawn(python, [path.join(repo, "scripts/triton-models.py"), "--http-port", String(port), "--slow-ms", "250"], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group: Triton's server and model processes go with it
  });
  let output = "";
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Triton not ready within 120 s:\n${output.slice(-3000)}`)), 120_000);
    child.stdout.on("data", (d) => {
      output += d;
      if (/triton-models: ready/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.on("data", (d) => (output += d));
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`triton-models.py exited (${code}):\n${output.slice(-3000)}`));
    });
  });
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }, 20_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await ready;
  } catch (e) {
    await stop();
    throw e;
  }
  return { url: `http://127.0.0.1:${port}`, stop };
}

const t0 = Date.now();
const triton = await startTriton();
console.log(`triton: ready in ${((Date.now() - t0) / 1000).toFixed(1)} s at ${triton.url}`);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nalcast-triton-"));
const config = path.join(dir, "config.toml");
fs.writeFileSync(config, `
[[stream]]
id = "fast"
kind = "pattern"
width = 640
height = 360
[[stream]]
id = "slow"
kind = "pattern"
width = 640
height = 360
[[inference]]
stream = "fast"
analyzer = "kserve"
url = "${triton.url}"
model = "boxfinder"
[[inference]]
stream = "slow"
analyzer = "kserve"
url = "${triton.url}"
model = "boxfinder_slow"
`);
let server;
let browser;
try {
  server = await startServer({ args: ["--config", config] });
  browser = await launch();
  for (const stream of ["fast", "slow"]) {
    const page = await openPage(browser.context, `${server.url}/?stream=${stream}`);
    await page.waitForFunction((id) => window.nalcast?.tiles.get(id)?.player.stats().results > 2, stream, { timeout: 30000 });
    await page.waitForTimeout(1000); // clock sync; the hold window adapts to the model
    const r = await watch(page, stream, SECONDS * 1000);
    const s = r.stats;
    const drawn = r.seen.filter((e) => e.overlay);
    const problems = check(r.seen);
    const lost = holes(r.seen);
    console.log(`triton ${stream}: ${r.seen.length} frames painted in ${SECONDS} s (fps ${s.fps}, ${lost} never painted), ` +
      `${drawn.length} with their results, results ${s.resultsPerSecond}/s, model ${s.modelMs?.toFixed(1)} ms, ` +
      `held ${s.holdMs?.toFixed(0)} ms, age at paint ${s.resultAgeMs?.toFixed(1)} ms, latency p50 ${s.latencyMs?.toFixed(0)} ms, late ${s.resultsLate}`);
    assert.deepEqual(problems.slice(0, 5), [], `${stream}: ${problems.length} overlay problems`);
    assert.equal(drawn[0]?.overlay.model, stream === "fast" ? "boxfinder" : "boxfinder_slow");
    assert.ok(drawn.every((e) => e.overlay.labels.includes("box")), `${stream}: labels`);
    assert.ok(r.seen.length >= SECONDS * 25, `${stream}: ${r.seen.length} frames in ${SECONDS} s: the viewer lost its frame rate`);
    assert.ok(lost <= 2, `${stream}: ${lost} frames never painted`);
    if (stream === "fast") {
      assert.ok(drawn.length >= r.seen.length * 0.5, `fast: only ${drawn.length} of ${r.seen.length} frames carried their results`);
    } else {
      assert.ok(s.modelMs >= 250, `slow: model ${s.modelMs} ms`);
      assert.ok(drawn.length >= SECONDS * 2 && drawn.length <= SECONDS * 5, `slow: ${drawn.length} overlays drawn in ${SECONDS} s`);
      assert.ok(s.holdMs >= 200, `slow: frames held ${s.holdMs} ms for a 250 ms model`);
    }
    await page.close();
  }
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const slowP50 = Number(/nalcast_inference_latency_ms\{stream="slow",model="boxfinder_slow",quantile="0.5"\} ([\d.]+)/.exec(metrics)?.[1]);
  assert.ok(slowP50 >= 250, `/metrics slow model p50 ${slowP50}`);
  console.log("triton: ok");
} finally {
  await browser?.close();
  await server?.close();
  await triton.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
