// A live source that freezes, then dies and comes back, under viewers on every transport. The
// source is a real RTSP camera (GStreamer's RTSP server, server/tests/rtsp_server.py, on loopback).
// While the camera is frozen (SIGSTOP) every player stays connected and shows the stream as
// `stalled` — in Player.stats() and on the page — and /api/streams says `stalled`; when it thaws
// (SIGCONT), or after it is killed and restarted on the same port (the server's RTSP source
// reconnects by itself), the same connections paint again. A stream whose file is garbage is listed
// as `ended`, with the reason.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "./lib/nalcast-server.mjs";
import { launch, openPage } from "./lib/browser.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TRANSPORTS = (process.env.TRANSPORTS ?? "websocket,http,webrtc,webrtc-realtime").split(",");

/** Starts the RTSP test camera on `port` (0: any); resolves { port, child }. Dies with this process. */
function startCamera(port = 0) {
  const child = spawn("/usr/bin/python3", [path.join(repo, "server/tests/rtsp_server.py"), "--seconds", "120", "--port", String(port)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  process.on("exit", () => child.kill("SIGKILL"));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("RTSP camera did not start")), 20000);
    child.on("error", reject);
    child.stdout.once("data", (d) => {
      clearTimeout(timer);
      resolve({ port: Number(String(d).trim()), child });
    });
  });
}
const killCamera = (child) => new Promise((r) => {
  if (child.exitCode !== null || child.signalCode !== null) return r();
  child.on("exit", r);
  child.kill("SIGKILL");
});

const junk = path.join(os.tmpdir(), `nalcast-junk-${process.pid}.h264`);
fs.writeFileSync(junk, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)));
let camera = await startCamera();
const server = await startServer({ args: ["--source", `cam=rtsp://127.0.0.1:${camera.port}/test`, "--source", `junk=${junk}`] });
const { context, close } = await launch();
const api = async (id) => (await (await fetch(`${server.url}/api/streams`)).json()).find((s) => s.id === id);
const stats = (page) => page.evaluate(() => window.nalcast.tiles.get("cam").player.stats());
const pageState = (page) => page.evaluate(() => {
  const dts = [...window.nalcast.tiles.get("cam").el.querySelectorAll(".stats dt")];
  return dts.find((dt) => dt.textContent === "state")?.nextElementSibling?.textContent;
});
let failures = 0;
const check = async (what, fn) => {
  try {
    await fn();
  } catch (e) {
    failures++;
    console.error(`${what}: FAILED: ${e.message.split("\n")[0]}`);
  }
};
try {
  const j = await api("junk");
  console.log(`junk file: state ${j?.state}, reason ${JSON.stringify(j?.state_reason)}`);
  await check("garbage file", async () => {
    assert.equal(j?.state, "ended");
    assert.match(j?.state_reason ?? "", /no H\.264/);
  });
  const pages = {};
  for (const t of TRANSPORTS) pages[t] = await openPage(context, `${server.url}/?stream=cam&transport=${t}`);
  for (const page of Object.values(pages)) {
    await page.waitForFunction(() => window.nalcast?.tiles.get("cam")?.player.stats().frames > 10, null, { timeout: 30000 });
  }
  const before = {};
  for (const [t, page] of Object.entries(pages)) before[t] = await stats(page);
  console.log(`camera live: api state ${(await api("cam")).state}`);

  // Freeze.
  camera.child.kill("SIGSTOP");
  const frozenAt = Date.now();
  for (const [t, page] of Object.entries(pages)) {
    await check(`${t} freeze`, async () => {
      await page.waitForFunction(() => window.nalcast.tiles.get("cam").player.stats().state === "stalled", null, { timeout: 8000, polling: 50 });
      const shownAfter = Date.now() - frozenAt;
      await page.waitForTimeout(600); // the page redraws its statistics every 500 ms
      const s = await stats(page);
      console.log(`${t.padEnd(16)} frozen camera: player says stalled after ≤ ${shownAfter} ms, page shows "${await pageState(page)}", reconnects ${s.reconnects - before[t].reconnects}`);
      assert.equal(await pageState(page), "stalled");
      assert.equal(s.reconnects, before[t].reconnects, "the connection is kept while the source is frozen");
    });
  }
  const frozenApi = await api("cam");
  console.log(`api while frozen: ${frozenApi.state}`);
  await check("api freeze", async () => assert.equal(frozenApi.state, "stalled"));
  await new Promise((r) => setTimeout(r, 1000));

  // Thaw.
  for (const page of Object.values(pages)) await page.evaluate(() => (window.mark = window.nalcast.tiles.get("cam").player.stats().frames));
  camera.child.kill("SIGCONT");
  const thawedAt = Date.now();
  for (const [t, page] of Object.entries(pages)) {
    await check(`${t} thaw`, async () => {
      await page.waitForFunction(() => window.nalcast.tiles.get("cam").player.stats().frames > window.mark + 5, null, { timeout: 10000, polling: 20 });
      const s = await stats(page);
      console.log(`${t.padEnd(16)} thawed: painting again within ${Date.now() - thawedAt} ms, state ${s.state}, reconnects ${s.reconnects - before[t].reconnects}, errors ${s.errors}`);
      assert.equal(s.state, "live");
      assert.equal(s.reconnects, before[t].reconnects);
    });
  }

  // The camera dies and comes back on the same port.
  const port = camera.port;
  await killCamera(camera.child);
  await new Promise((r) => setTimeout(r, 1500));
  const downApi = await api("cam");
  console.log(`camera killed: api ${downApi.state} (${downApi.state_reason})`);
  for (const page of Object.values(pages)) await page.evaluate(() => (window.mark = window.nalcast.tiles.get("cam").player.stats().frames));
  camera = await startCamera(port);
  const backAt = Date.now();
  for (const [t, page] of Object.entries(pages)) {
    await check(`${t} camera restart`, async () => {
      await page.waitForFunction(() => window.nalcast.tiles.get("cam").player.stats().frames > window.mark + 5, null, { timeout: 20000, polling: 20 });
      const s = await stats(page);
      console.log(`${t.padEnd(16)} camera restarted: painting again ${Date.now() - backAt} ms after it listened, state ${s.state}, reconnects ${s.reconnects - before[t].reconnects}`);
      assert.equal(s.state, "live");
      assert.equal(s.reconnects, before[t].reconnects, "viewers stayed connected through the camera's restart");
    });
  }
  await check("api after restart", async () => assert.equal((await api("cam")).state, "live"));
} finally {
  await close();
  await server.close();
  await killCamera(camera.child);
  fs.rmSync(junk, { force: true });
}
if (failures) process.exit(1);
console.log("source stall: ok");
