// End to end: the real server, the real page, headless Chromium. The page must decode the embedded
// clip in wasm and paint it; the frame number drawn into each picture (16 blocks along the top) is
// read back from the canvas and must advance.
import assert from "node:assert/strict";
import { startServer } from "./lib/nalcast-server.mjs";
import { launch, openPage } from "./lib/browser.mjs";

const server = await startServer();
const { context, close } = await launch();
try {
  const page = await openPage(context, `${server.url}/`);
  await page.waitForFunction(() => window.nalcastPlayer?.stats.painted > 10, null, { timeout: 30000 });
  const readFrame = () =>
    page.evaluate(() => {
      const c = document.getElementById("screen");
      const px = c.getContext("2d").getImageData(0, 0, 16 * 16, 16).data;
      let n = 0;
      for (let bit = 0; bit < 16; bit++) n = (n << 1) | (px[(8 * 256 + bit * 16 + 8) * 4] > 128 ? 1 : 0);
      return { n, painted: window.nalcastPlayer.stats.painted, w: c.width, h: c.height };
    });
  const a = await readFrame();
  await page.waitForTimeout(1000);
  const b = await readFrame();
  console.log(`page: frame ${a.n} -> ${b.n} after 1 s; painted ${a.painted} -> ${b.painted}; canvas ${b.w}x${b.h}`);
  assert.equal(b.w, 640);
  assert.equal(b.h, 360);
  assert.ok(a.n < 300 && b.n < 300, "frame numbers read back from the canvas are within the clip");
  const advanced = (b.n - a.n + 300) % 300;
  assert.ok(advanced >= 10 && advanced <= 45, `frames advanced by ${advanced} in one second`);
  const errors = await page.evaluate(() => window.nalcastPlayer.stats.errors);
  assert.equal(errors, 0, "no decode errors on the sample clip");
  console.log("page: ok");
} finally {
  await close();
  await server.close();
}
