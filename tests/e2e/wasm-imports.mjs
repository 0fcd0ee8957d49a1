// Fails if the built client module imports anything but wasm-bindgen's own glue module: rustc links
// wasm with --allow-undefined, so a missing C symbol would otherwise become an `env.*` import that
// only breaks when a page loads the module. Also prints the module's size, raw and gzipped.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";

// --self-test: a tiny module importing env.f must be caught (the check itself can fail).
if (process.argv[2] === "--self-test") {
  const bad = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 2, 9, 1, 3, 101, 110, 118, 1, 102, 0, 0]);
  const found = WebAssembly.Module.imports(new WebAssembly.Module(bad)).filter((i) => i.module === "env");
  if (found.length !== 1) {
    console.error("wasm-imports self-test: env import not detected");
    process.exit(1);
  }
  process.argv.splice(2, 1);
}
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const file = process.argv[2] ?? path.join(repo, "www/pkg/nalcast_bg.wasm");
if (!fs.existsSync(file)) {
  console.error(`wasm-imports: ${file} missing; build it with \`make wasm\``);
  process.exit(2);
}
const bytes = fs.readFileSync(file);
const imports = WebAssembly.Module.imports(new WebAssembly.Module(bytes));
const allowed = new Set(["./nalcast_bg.js", "__wbindgen_placeholder__", "__wbindgen_externref_xform__"]);
const stray = imports.filter((i) => !allowed.has(i.module));
const gz = zlib.gzipSync(bytes, { level: 9 }).length;
console.log(`wasm-imports: ${path.relative(repo, file)}: ${imports.length} imports, ${(bytes.length / 1024).toFixed(1)} KiB raw, ${(gz / 1024).toFixed(1)} KiB gzip`);
if (stray.length) {
  for (const i of stray) console.error(`wasm-imports: stray import ${i.module}.${i.name} (${i.kind})`);
  process.exit(1);
}
console.log("wasm-imports: only wasm-bindgen glue is imported");
