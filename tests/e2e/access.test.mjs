// Viewer tokens in the browser: a server that requires them, a token minted with
// `nalcast-server token`, and the Player on every transport. With the token every transport paints;
// without one, or with a token for another stream, not a single frame arrives. The page itself
// (index.html?token=…) lists and plays the stream.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "./lib/server.mjs";
import { startServer } from "./lib/nalcast-server.mjs";
import { launch, openPage } from "./lib/browser.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const bin = process.env.NALCAST_SERVER ?? path.join(repo, "target/release/nalcast-server");
const TRANSPORTS = ["websocket", "http", "webrtc", "webrtc-realtime"];
const config = path.join(os.tmpdir(), `nalcast-access-${process.pid}.toml`);
fs.writeFileSync(config, [
  "[access]", 'viewer_secret = "e2e-viewer-secret-0123456789"',
  "[[stream]]", 'id = "p"', 'kind = "pattern"', "width = 640", "height = 360",
  "[[stream]]", 'id = "q"', 'kind = "pattern"', "width = 320", "height = 180", "",
].join("\n"));
const mint = (stream) => execFileSync(bin, ["token", "--config", config, "--stream", stream, "--ttl", "600"], { encoding: "utf8" }).trim();
const token = mint("p");
const other = mint("q");
assert.match(token, /^nc1~p~\d+~[A-Za-z0-9_-]+$/);

const nalcast = await startServer({ args: ["--config", config] });
const pages = await serve({ "/pkg/": path.join(repo, "www/pkg"), "/t/": path.join(here, "pages") });
const { context, close } = await launch();
let failures = 0;
const check = async (name, fn) => {
  try {
    await fn();
  } catch (e) {
    failures++;
    console.error(`${name}: FAILED: ${e.message}`);
  }
};
// Connects over `transport` with `tok`, waits, and returns the frames the player painted.
const framesWith = async (tok, transport, ms) => {
  const q = tok ? `&token=${encodeURIComponent(tok)}` : "";
  const page = await openPage(context, `${pages.url}/t/bench-transport.html?server=${encodeURIComponent(nalcast.url)}${q}`);
  try {
    await page.waitForFunction(() => window.ready === true, null, { timeout: 30000 });
    await page.evaluate((t) => window.begin(t), transport);
    await page.waitForTimeout(ms);
    await page.evaluate(() => window.mark());
    await page.waitForTimeout(500);
    const r = await page.evaluate(() => window.end());
    return r.after.frames;
  } finally {
    await page.close();
  }
};
try {
  for (const transport of TRANSPORTS) {
    await check(transport, async () => {
      const ok = await framesWith(token, transport, 3000);
      const none = await framesWith(undefined, transport, 3000);
      const wrong = await framesWith(other, transport, 3000);
      console.log(`${transport.padEnd(16)} frames painted: with the token ${ok}, without ${none}, with another stream's token ${wrong}`);
      assert.ok(ok > 20, `${transport}: the token lets frames through (${ok})`);
      assert.equal(none, 0, `${transport}: no frame without a token`);
      assert.equal(wrong, 0, `${transport}: no frame with another stream's token`);
    });
  }
  await check("page", async () => {
    const page = await openPage(context, `${nalcast.url}/?stream=p&token=${encodeURIComponent(token)}`);
    await page.waitForFunction(() => window.nalcast?.tiles.get("p")?.player.stats().frames > 10, null, { timeout: 20000 });
    const listed = await page.evaluate(() => [...window.nalcast.tiles.keys()]);
    console.log(`page with ?token=: playing ${listed.join(", ")}`);
    await page.close();
  });
  const denied = await (await fetch(`${nalcast.url}/api/streams`)).status;
  assert.equal(denied, 401);
} finally {
  await close();
  await pages.close();
  await nalcast.close();
  fs.rmSync(config, { force: true });
}
if (failures) process.exit(1);
console.log("access: ok");
