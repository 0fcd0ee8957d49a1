// The two-worker DecodePipeline (www/pipeline.js) in headless Chromium: on conformance streams
// (Baseline, and High with CABAC and B-frames), every picture the decoder gives out is painted, in
// the decoder's display order, and the canvas ends with exactly the pixels the direct main-thread
// path (decodeAndPaint) paints. A unit the decode worker cannot read is reported as one error and
// breaks nothing.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "./lib/server.mjs";
import { launch, openPage } from "./lib/browser.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const streams = path.resolve(repo, "../shared/conformance/streams");
const STREAMS = ["BA_MW_D.264", "SVA_BA2_D.264", "Cisco_Men_whisper_640x320_CABAC_Bframe_9.264", "VID_1280x720_cabac_temporal_direct.264"];
for (const s of STREAMS) {
  if (!fs.existsSync(path.join(streams, s))) throw new Error(`conformance stream missing: ${path.join(streams, s)}`);
}

const server = await serve({ "/pkg/": path.join(repo, "www/pkg"), "/t/": path.join(here, "pages"), "/w/": path.join(repo, "www"), "/s/": streams });
const browser = await launch();
try {
  const page = await openPage(browser.context, `${server.url}/t/pipeline.html`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 30000 });
  for (const s of STREAMS) {
    const r = await page.evaluate((u) => window.compare(u), `/s/${s}`);
    assert.deepEqual(r.errors, [], `${s}: pipeline errors`);
    assert.ok(r.direct.length > 0, `${s}: no pictures`);
    assert.deepEqual(r.painted, r.direct, `${s}: painted pictures (timestamps in order) differ from the decoder's output`);
    assert.equal(r.size[2], r.size[0], `${s}: width`);
    assert.equal(r.size[3], r.size[1], `${s}: height`);
    assert.equal(r.got, r.want, `${s}: the pipeline's canvas differs from the direct paint`);
    console.log(`pipeline: ${s}: ${r.painted.length} pictures painted in order from ${r.units} access units, last picture identical (${r.size[0]}x${r.size[1]})`);
  }
  // The decode worker's error path: an unreadable unit mid-stream is reported, nothing hangs, and
  // the stream's pictures are all painted.
  const stream = "BA_MW_D.264";
  const u = await page.evaluate((url) => window.unreadableUnit(url), `/s/${stream}`);
  assert.ok(u.flushed, `${stream}: flush() did not resolve after an unreadable unit`);
  assert.equal(u.errors.length, 1, `${stream}: errors ${JSON.stringify(u.errors)}`);
  assert.match(u.errors[0], /length|range/i, `${stream}: error message`);
  assert.equal(u.decodedUnits, u.sent, `${stream}: units decoded`);
  assert.equal(u.painted, u.pictures, `${stream}: pictures painted`);
  assert.equal(u.painted, 100, `${stream}: every picture of the stream painted`);
  console.log(`pipeline: an unreadable unit in ${stream}: reported once (${u.errors[0]}), flush resolved, ${u.painted} pictures painted`);
  await page.close();
} finally {
  await browser.close();
  await server.close();
}
console.log("pipeline.test: ok");
