// The server crashes under its viewers and comes back: one page per transport plays the live pattern
// from a server on a fixed loopback port; the server is killed (SIGKILL: no close frames, no FIN
// from the application) and started again on the same port after an outage. Every player must paint
// new frames within 2 s of the new server accepting connections, in the same page (no reload).
// Two rounds: a quick restart, and an outage long enough for the players' backoff to grow.
import assert from "node:assert/strict";
import { freePort, startServer } from "./lib/nalcast-server.mjs";
import { launch, openPage } from "./lib/browser.mjs";

const TRANSPORTS = (process.env.TRANSPORTS ?? "websocket,http,webrtc,webrtc-realtime").split(",");
const OUTAGES_MS = (process.env.OUTAGES_MS ?? "300,4000").split(",").map(Number);
const LIMIT_MS = 2000;
const port = await freePort();
const args = ["--source", "pattern=pattern:640x360@30"];
let server = await startServer({ listen: `127.0.0.1:${port}`, args });
const { context, close } = await launch();
let failures = 0;
try {
  const pages = {};
  for (const t of TRANSPORTS) {
    pages[t] = await openPage(context, `${server.url}/?stream=pattern&transport=${t}`);
  }
  for (const [t, page] of Object.entries(pages)) {
    await page.waitForFunction(() => window.nalcast?.tiles.get("pattern")?.player.stats().frames > 10, null, { timeout: 20000 });
    await page.evaluate(() => {
      window.sameDocument = true; // gone if the page reloads
      window.paints = [];
      window.nalcast.tiles.get("pattern").player.onframe = (e) => window.paints.push([Date.now(), e.seq]);
    });
    console.log(`${t}: playing`);
  }
  for (const outage of OUTAGES_MS) {
    const before = {};
    for (const [t, page] of Object.entries(pages)) {
      before[t] = await page.evaluate(() => window.nalcast.tiles.get("pattern").player.stats().reconnects);
    }
    const killedAt = Date.now();
    await server.kill();
    await new Promise((r) => setTimeout(r, outage));
    server = await startServer({ listen: `127.0.0.1:${port}`, args });
    const readyAt = Date.now();
    console.log(`server killed, restarted after ${readyAt - killedAt} ms (outage ${outage} ms asked)`);
    const deadline = readyAt + 10000;
    for (const [t, page] of Object.entries(pages)) {
      try {
        const left = Math.max(1, deadline - Date.now());
        await page.waitForFunction((ready) => window.paints.some(([at]) => at > ready), readyAt, { timeout: left, polling: 20 });
        // Keep playing: a second of pictures after the first one.
        await page.waitForTimeout(1000);
        const r = await page.evaluate((ready) => ({
          same: window.sameDocument === true,
          after: window.paints.filter(([at]) => at > ready),
          gapBefore: Math.max(0, ...window.paints.filter(([at]) => at <= ready).map(([at]) => at)),
          stats: window.nalcast.tiles.get("pattern").player.stats(),
        }), readyAt);
        const resume = r.after[0][0] - readyAt;
        const oneSecond = r.after.filter(([at]) => at <= r.after[0][0] + 1000).length;
        console.log(`${t.padEnd(16)} outage ${String(outage).padStart(4)} ms: resumed ${resume} ms after the new server listened ` +
          `(${r.after[0][0] - killedAt} ms after the kill), ${oneSecond} pictures in the next second, ` +
          `reconnect attempts ${r.stats.reconnects - before[t]}, state ${r.stats.state}`);
        assert.ok(r.same, `${t}: the page was reloaded`);
        assert.ok(resume <= LIMIT_MS, `${t}: resumed after ${resume} ms > ${LIMIT_MS} ms`);
        assert.ok(oneSecond >= 20, `${t}: only ${oneSecond} pictures in the second after resuming`);
        assert.ok(r.stats.reconnects > before[t], `${t}: no reconnect counted`);
        assert.equal(r.stats.state, "live");
      } catch (e) {
        failures++;
        console.error(`${t} (outage ${outage} ms): FAILED: ${e.message.split("\n")[0]}`);
      }
    }
  }
} finally {
  await close();
  await server.close();
}
if (failures) process.exit(1);
console.log("restart: ok");
