#!/usr/bin/env node
// Drops the `name`, `producers` and `target_features` custom sections of a wasm module in place,
// byte for byte leaving everything else as it is. The name section (function names: ~130 KB raw,
// ~36 KB gzip for www/pkg/nalcast_bg.wasm) only serves profilers and stack traces; `make wasm
// KEEP_NAMES=1` keeps it. The other two only tell tools which compiler and wasm features were used.
// Usage: node scripts/wasm-strip-names.mjs FILE.wasm
import fs from "node:fs";

const file = process.argv[2];
if (!file) {
  console.error("usage: wasm-strip-names.mjs FILE.wasm");
  process.exit(2);
}
const d = fs.readFileSync(file);
if (d.length < 8 || d.readUInt32LE(0) !== 0x6d736100) {
  console.error(`${file}: not a wasm module`);
  process.exit(1);
}
const leb = (i) => {
  let v = 0, shift = 0, b;
  do {
    b = d[i++];
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return [v, i];
};
const keep = [d.subarray(0, 8)];
let dropped = 0;
for (let i = 8; i < d.length; ) {
  const start = i;
  const id = d[i];
  const [size, body] = leb(i + 1);
  i = body + size;
  if (i > d.length) {
    console.error(`${file}: truncated section at byte ${start}`);
    process.exit(1);
  }
  if (id === 0) {
    const [len, name] = leb(body);
    const custom = d.subarray(name, name + len).toString("utf8");
    if (custom === "name" || custom === "producers" || custom === "target_features") {
      dropped += i - start;
      continue;
    }
  }
  keep.push(d.subarray(start, i));
}
if (dropped) fs.writeFileSync(file, Buffer.concat(keep));
console.log(`${file}: ${d.length - dropped} bytes (${dropped} bytes of names, producers and target features dropped)`);
