// Corrupted and lossy streams in the browser: hundreds of deterministic mutations (pages/mutate.js)
// of conformance streams of several profiles go through the public wasm `Decoder` in headless
// Chromium. Each mutated stream is a damaged head followed by a clean tail that starts with parameter
// sets and an IDR. Must hold for every one: no trap or exception (recovery is not allowed to hide
// one), the pictures from the tail's IDR on are bit-identical to a clean decode of the same stream,
// and WebAssembly.Memory stops growing once every kind has run once (round 1 is the warm-up; round 2
// repeats all cases and may grow the memory by at most MEMORY_SLACK).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "./lib/server.mjs";
import { launch, openPage } from "./lib/browser.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const confDir = path.resolve(process.env.NALCAST_CONFORMANCE_DIR ?? path.join(repo, "../shared/conformance"));
const MIB = 1 << 20;
const MEMORY_SLACK = 0; // bytes: round 2 repeats round 1 exactly, so a flat memory does not grow at all

// Streams that decode bit-exact today (manifest status "verified"), one per profile/feature.
const STREAMS = [
  { name: "BA_MW_D.264", maxHead: 30, tailAus: 10, perKind: 5 }, // Constrained Baseline, IDR every 25
  { name: "CI1_FT_B.264", maxHead: 6, tailAus: 4, perKind: 2 }, // Baseline CIF, 10 slices per picture
  { name: "MR1_BT_A.h264", maxHead: 12, tailAus: 8, perKind: 2 }, // Baseline, multiple references, POC type 1
  { name: "SarVui.264", maxHead: 8, tailAus: 6, perKind: 2 }, // Baseline with VUI
  { name: "test_qcif_cabac.264", maxHead: 10, tailAus: 8, perKind: 4 }, // Main, CABAC
  { name: "test_cif_P_CABAC_slice.264", maxHead: 4, tailAus: 3, perKind: 2 }, // Main, CABAC, 14 slices per picture
  { name: "Cisco_Adobe_PDF_sample_a_1024x768_CAVLC_Bframe_9.264", maxHead: 9, tailAus: 9, perKind: 2 }, // Main, B-frames
  { name: "QCIF_2P_I_allIPCM.264", maxHead: 2, tailAus: 2, perKind: 3 }, // High, CABAC, I_PCM
];
// Cases that once failed, kept whatever perKind is: pictures after the IDR out of order or missing,
// until the decoder started a fresh OpenH264 instance at each IDR (crates/codec/src/restart.rs).
const REGRESSIONS = {
  "test_qcif_cabac.264": [["drop", 0], ["length-prefix", 1]],
  "MR1_BT_A.h264": [["reorder", 2]],
  "QCIF_2P_I_allIPCM.264": [["slice-header", 0]],
};
for (const s of STREAMS) s.regressions = REGRESSIONS[s.name] ?? [];

const manifestPath = path.join(confDir, "manifest.json");
if (!fs.existsSync(manifestPath)) {
  console.error(`corrupt: conformance streams missing at ${confDir} (set NALCAST_CONFORMANCE_DIR)`);
  process.exit(2);
}
if (!fs.existsSync(path.join(repo, "www/pkg/nalcast.js"))) {
  console.error("corrupt: www/pkg missing: run `make wasm`");
  process.exit(2);
}
const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8"));
for (const s of STREAMS) {
  const entry = manifest.files.find((f) => f.name === s.name);
  if (entry?.status !== "verified") throw new Error(`${s.name}: not a verified stream in the manifest`);
}

const server = await serve({ "/t/": path.join(here, "pages"), "/pkg/": path.join(repo, "www/pkg"), "/streams/": path.join(confDir, "streams") });
const { context, close } = await launch();
const failures = [];
const perKind = {};
const memory = [];
let page;
let cases = 0, withErrors = 0, nalErrors = 0;
const t0 = Date.now();

async function freshPage() {
  await page?.close();
  page = await openPage(context, `${server.url}/t/corrupt.html`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 30000 });
}

try {
  await freshPage();
  if (process.argv[2] === "--explain") {
    // `node corrupt.test.mjs --explain <stream> <kind> <index>`: every picture of one case, clean and mutated.
    const [name, kind, index] = process.argv.slice(3);
    const cfg = STREAMS.find((s) => s.name === name);
    const r = await page.evaluate((a) => window.explain(...a), [name, cfg, kind, Number(index)]);
    console.log(`${r.what}; H ${r.H}\nhead    ${r.head.join(" ")}\nmutated ${r.mutated.join(" ")}\ntail    ${r.tail.join(" ")}`);
    for (let k = 0; k < Math.max(r.clean.length, r.hurt.length); k++) {
      console.log(`${String(r.clean[k]).padEnd(64)} ${r.hurt[k]}${r.clean[k] === r.hurt[k] ? "" : "  DIFF"}`);
    }
    process.exit(0);
  }
  memory.push(["after init", await page.evaluate(() => window.memoryBytes())]);
  for (const round of [1, 2]) {
    for (const cfg of STREAMS) {
      const r = await page.evaluate(([name, c]) => window.runStream(name, c), [cfg.name, cfg]);
      const tag = `round ${round} ${cfg.name}`;
      if (r.trap && !r.cases) failures.push(`${tag}: TRAP in the ${r.where}: ${r.trap}`);
      if (r.ref && r.ref.errorCount !== 0) failures.push(`${tag}: the clean stream reported ${r.ref.errorCount} errors`);
      if (r.ref && r.ref.tail !== r.tailPictures) failures.push(`${tag}: clean tail gave ${r.ref.tail} pictures, want ${r.tailPictures}`);
      if (r.ref && !r.controlSeen) failures.push(`${tag}: damage inside the tail went unseen: the comparison is blind`);
      for (const c of r.cases ?? []) {
        if (round === 1) {
          cases++;
          perKind[c.kind] = (perKind[c.kind] ?? 0) + 1;
          if (c.errorCount > 0) withErrors++;
          nalErrors += c.errorCount;
        }
        if (c.trap) failures.push(`${tag}: TRAP at ${c.seed} (${c.what}): ${c.trap}`);
        else if (c.diff) failures.push(`${tag}: pictures after the IDR differ at ${c.seed} (${c.what}): #${c.diff.index} got ${c.diff.got} want ${c.diff.want}`);
      }
      if (round === 1) {
        console.log(`${cfg.name.padEnd(54)} head ${r.headPictures} pictures (${r.open}/${r.H} NAL units open to damage), tail ${r.tailPictures} from ` +
          `${r.naturalIdr ? "the stream's next IDR" : "a second copy of its start"}: ${r.cases?.length ?? 0} cases`);
      }
      if (r.trap || r.cases?.some((c) => c.trap)) await freshPage(); // a trapped instance is poisoned
    }
    memory.push([`after round ${round}`, await page.evaluate(() => window.memoryBytes())]);
  }
} finally {
  await page?.close();
  await close();
  await server.close();
}

const [, warm] = memory[1];
const [, end] = memory[2];
if (end - warm > MEMORY_SLACK) failures.push(`wasm memory grew by ${end - warm} bytes in round 2 (bound ${MEMORY_SLACK})`);
console.log(`corrupt: ${STREAMS.length} streams, ${cases} mutated streams per round, 2 rounds, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`  per kind: ${Object.entries(perKind).map(([k, n]) => `${k} ${n}`).join(", ")}`);
console.log(`  decode errors reported: ${withErrors}/${cases} mutated streams, ${nalErrors} NAL units in all (round 1)`);
console.log(`  wasm memory: ${memory.map(([w, b]) => `${w} ${(b / MIB).toFixed(1)} MiB`).join(", ")}; bound: round 2 grows it by ≤ ${MEMORY_SLACK} bytes`);
for (const f of failures.slice(0, 40)) console.log(`FAIL ${f}`);
console.log(failures.length ? `corrupt: ${failures.length} failures` : "corrupt: ok — no trap, pictures exact from the next IDR, memory flat");
process.exit(failures.length ? 1 : 0);
