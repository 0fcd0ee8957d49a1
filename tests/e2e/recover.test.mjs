// Trap recovery, end to end: the real server and page play the live test pattern; the test makes the
// page's wasm instance trap for real (the `testHookTrap` export runs `unreachable` from a task, as a
// bug inside a player callback would) and requires that the page load a fresh instance, recreate the
// player on the same canvas within RECOVER_MS, count exactly one recovery in the stats, close the old
// player's connection, and keep painting advancing frames (read back from the picture's stamp).
import assert from "node:assert/strict";
import { startServer } from "./lib/nalcast-server.mjs";
import { launch, openPage } from "./lib/browser.mjs";

const RECOVER_MS = 5000;
const server = await startServer();
const { context, close } = await launch();
try {
  const page = await openPage(context, `${server.url}/?stream=pattern`);
  const traps = [];
  page.on("pageerror", (err) => traps.push(err.message));
  await page.waitForFunction(() => window.nalcast?.tiles.get("pattern")?.player.stats().frames > 0, null, { timeout: 30000 });
  const stamp = () =>
    page.evaluate(() => {
      const px = window.nalcast.tiles.get("pattern").canvas.getContext("2d").getImageData(0, 0, 256, 16).data;
      let n = 0;
      for (let bit = 0; bit < 16; bit++) n = n * 2 + (px[(8 * 256 + bit * 16 + 8) * 4] > 128 ? 1 : 0);
      return n;
    });
  const before = await page.evaluate(() => ({ instances: window.nalcast.instances.count, recoveries: window.nalcast.instances.recoveries }));
  assert.deepEqual(before, { instances: 1, recoveries: 0 }, "one instance, no recovery before the trap");

  const t0 = Date.now();
  await page.evaluate(() => setTimeout(() => window.nalcast.instances.current.module.testHookTrap(), 0));
  await page.waitForFunction(
    () => {
      const { instances, tiles } = window.nalcast;
      const t = tiles.get("pattern");
      return instances.recoveries === 1 && t.player instanceof instances.current.module.Player && t.player.stats().frames > 0;
    },
    null,
    { timeout: RECOVER_MS },
  );
  const recoveredMs = Date.now() - t0;
  assert.ok(traps.some((m) => /unreachable/.test(m)), `the page saw the trap (page errors: ${JSON.stringify(traps)})`);

  // The fresh instance's first pictures decode in baseline-compiled code while live frames queue
  // behind them; after that catch-up burst the player must play at the stream's rate.
  await page.waitForTimeout(1000);
  const a = await stamp();
  await page.waitForTimeout(2000);
  const b = await stamp();
  const r = await page.evaluate(() => {
    const t = window.nalcast.tiles.get("pattern");
    const rows = [...t.el.querySelectorAll(".stats dt")].map((dt) => [dt.textContent, dt.nextElementSibling.textContent]);
    return { stats: t.player.stats(), shown: Object.fromEntries(rows), instances: window.nalcast.instances.count, recoveries: window.nalcast.instances.recoveries };
  });
  const viewers = (await (await fetch(`${server.url}/api/streams`)).json()).find((s) => s.id === "pattern").viewers;
  const advanced = (b - a + 65536) % 65536;
  console.log(`recover: trap → fresh instance painting in ${recoveredMs} ms (bound ${RECOVER_MS}); frame ${a} -> ${b} in 2 s (after 1 s to settle); ` +
    `new player fps ${r.stats.fps}, frames ${r.stats.frames}; stats show recovered=${r.shown.recovered}; instances ${r.instances}; server viewers ${viewers}`);
  assert.equal(r.recoveries, 1, "exactly one recovery");
  assert.equal(r.instances, 2, "exactly one fresh instance");
  assert.equal(r.shown.recovered, "1", "the stats show the recovery");
  assert.ok(advanced >= 30 && advanced <= 90, `frames advanced by ${advanced} in two seconds after recovery`);
  assert.equal(viewers, 1, "the old player's connection is closed");
  console.log("recover: ok");
} finally {
  await close();
  await server.close();
}
