#!/usr/bin/env node
// Writes compressed copies beside each .wasm and .js file of a directory: FILE.br (brotli, quality
// 11) and FILE.gz (zlib level 9). The server sends a copy instead of the file to browsers that
// accept its encoding (server/src/static_files.rs), so the page's decoder module travels at 29 %
// (brotli) or 35 % (gzip) of its size. Each copy is checked to decompress to its file before it is
// kept.
// Usage: node scripts/compress-static.mjs DIR
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: compress-static.mjs DIR");
  process.exit(2);
}
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
for (const name of fs.readdirSync(dir).sort()) {
  if (!/\.(wasm|js)$/.test(name)) continue;
  const file = path.join(dir, name);
  const raw = fs.readFileSync(file);
  const { BROTLI_PARAM_QUALITY, BROTLI_PARAM_LGWIN, BROTLI_PARAM_SIZE_HINT } = zlib.constants;
  const copies = {
    gz: [zlib.gzipSync(raw, { level: 9 }), zlib.gunzipSync],
    br: [zlib.brotliCompressSync(raw, { params: { [BROTLI_PARAM_QUALITY]: 11, [BROTLI_PARAM_LGWIN]: 24, [BROTLI_PARAM_SIZE_HINT]: raw.length } }), zlib.brotliDecompressSync],
  };
  const sizes = [];
  for (const [ext, [packed, unpack]] of Object.entries(copies)) {
    if (!unpack(packed).equals(raw)) {
      console.error(`${file}.${ext}: the copy does not decompress to the file`);
      process.exit(1);
    }
    fs.writeFileSync(`${file}.${ext}`, packed);
    sizes.push(`${ext} ${kib(packed.length)}`);
  }
  console.log(`${file}: ${kib(raw.length)}, ${sizes.join(", ")}`);
}
