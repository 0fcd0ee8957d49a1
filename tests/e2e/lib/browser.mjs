// Launches Debian's chromium headless through playwright-core, with the flags this machine needs
// (root, no network beyond loopback) and a fresh profile. Nothing is downloaded.
import { chromium } from "playwright-core";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

export async function launch(extraArgs = []) {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: run scripts/setup.sh (Debian package chromium)`);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "nalcast-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      // WebRTC tests run on loopback, which Chromium leaves out of ICE unless asked.
      "--allow-loopback-in-peer-connection",
      ...extraArgs,
    ],
  });
  const close = async () => {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return { context, close, profile };
}

/** Opens `url`, forwarding the page's console errors (and warnings when `verbose`). */
export async function openPage(context, url, { verbose = false } = {}) {
  const page = await context.newPage();
  page.on("console", (msg) => {
    if (msg.type() === "error" || (verbose && msg.type() === "warning")) console.error(`[page] ${msg.text()}`);
  });
  page.on("pageerror", (err) => console.error(`[page error] ${err.message}`));
  await page.goto(url);
  return page;
}
