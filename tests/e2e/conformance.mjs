// `make conformance`: decodes every H.264 conformance stream in headless Chromium through the public
// JS API (pkg/nalcast.js) and compares the SHA-1 of the output pictures with the manifest's
// cross-verified hash, or — for streams without one — with the native OpenH264 build's hash
// (target/conformance-native.json, written by `cargo test -p nalcast-codec --test conformance_native`).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "./lib/server.mjs";
import { launch, openPage } from "./lib/browser.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const confDir = path.resolve(process.env.NALCAST_CONFORMANCE_DIR ?? path.join(repo, "../shared/conformance"));
const manifestPath = path.join(confDir, "manifest.json");
const nativePath = path.join(repo, "target/conformance-native.json");

for (const [what, p] of [["conformance manifest", manifestPath], ["native hashes", nativePath], ["wasm package", path.join(repo, "www/pkg/nalcast.js")]]) {
  if (!fs.existsSync(p)) {
    console.error(`conformance: ${what} missing at ${p}`);
    process.exit(2);
  }
}
const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8"));
const native = JSON.parse(fs.readFileSync(nativePath, "utf8"));
const only = process.argv[2] ? new RegExp(process.argv[2]) : null;

const server = await serve({ "/pkg/": path.join(repo, "www/pkg"), "/t/": path.join(here, "pages"), "/streams/": path.join(confDir, "streams") });
const { context, close } = await launch();
let failed = 0, traps = 0, exact = 0, withHash = 0, nativeOk = 0, nativeTotal = 0;
try {
  const page = await openPage(context, `${server.url}/t/conformance.html`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 30000 });
  for (const file of manifest.files) {
    if (only && !only.test(file.name)) continue;
    const url = `/streams/${path.basename(file.path ?? file.name)}`;
    const r = await page.evaluate((u) => window.decodeStream(u), url);
    const nat = native[file.name];
    let verdict;
    if (r.trap) {
      traps++;
      failed++;
      verdict = `TRAP ${r.trap}`;
    } else if (file.cross_verified_sha1) {
      withHash++;
      if (r.sha1 === file.cross_verified_sha1) {
        exact++;
        verdict = "bit-exact (cross-verified hash)";
      } else {
        failed++;
        verdict = `MISMATCH: want ${file.cross_verified_sha1}`;
      }
    } else {
      nativeTotal++;
      if (nat && r.sha1 === nat.sha1) {
        nativeOk++;
        verdict = `matches native OpenH264 (${file.status})`;
      } else {
        failed++;
        verdict = `DIFFERS from native OpenH264 ${nat?.sha1} (${file.status})`;
      }
    }
    const ms = r.ms ? `${r.ms.toFixed(0)} ms` : "";
    console.log(`${file.name.padEnd(56)} ${String(r.frames).padStart(5)} frames ${String(r.errors).padStart(3)} err ${ms.padStart(8)}  ${r.sha1 ?? ""}  ${verdict}`);
  }
  await page.close();
} finally {
  await close();
  await server.close();
}
console.log(`no-hash streams matching the native build: ${nativeOk}/${nativeTotal}; traps: ${traps}`);
console.log(`conformance: ${exact}/${withHash} bit-exact`);
process.exit(failed ? 1 : 0);
