#!/usr/bin/env node
// Writes a gzip copy (zlib level 9) beside each .wasm and .js file of a directory: FILE.gz. The
// server sends the copy instead of the file to browsers that accept gzip (server/src/static_files.rs),
// so the page's decoder module travels at a third of its size. A copy is checked to decompress to
// its file before it is kept.
// Usage: node scripts/gzip-static.mjs DIR
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: gzip-static.mjs DIR");
  process.exit(2);
}
for (const name of fs.readdirSync(dir).sort()) {
  if (!/\.(wasm|js)$/.test(name)) continue;
  const file = path.join(dir, name);
  const raw = fs.readFileSync(file);
  const gz = zlib.gzipSync(raw, { level: 9 });
  if (!zlib.gunzipSync(gz).equals(raw)) {
    console.error(`${file}: the gzip copy does not decompress to the file`);
    process.exit(1);
  }
  fs.writeFileSync(`${file}.gz`, gz);
  console.log(`${file}.gz: ${(raw.length / 1024).toFixed(1)} KiB -> ${(gz.length / 1024).toFixed(1)} KiB`);
}
