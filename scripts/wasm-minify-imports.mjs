#!/usr/bin/env node
// Gives the functions a wasm-bindgen module imports from its JS glue, and the functions it exports to
// it, short names, in the module and in the glue together (what binaryen's
// --minify-imports-and-exports does, without binaryen). wasm-bindgen names each import after its Rust
// path plus a 16-hex-digit hash (`__wbg_set_width_5f89a551b5472887`): about 7 KB of the module, half
// of it hashes that gzip cannot shrink; the exports add 1.6 KB. `memory` keeps its name (pages read
// `init()`'s `memory`). Nothing else changes: the sections are rewritten entry by entry; each old
// import name must occur exactly once in the glue (as its key in the imports object) and exports are
// renamed where the glue calls them as `wasm.NAME`; otherwise nothing is written.
// Usage: node scripts/wasm-minify-imports.mjs PKG_DIR/NAME_bg.wasm PKG_DIR/NAME.js
import fs from "node:fs";

const [wasmFile, jsFile] = process.argv.slice(2);
if (!wasmFile || !jsFile) {
  console.error("usage: wasm-minify-imports.mjs FILE_bg.wasm FILE.js");
  process.exit(2);
}
const fail = (msg) => {
  console.error(`wasm-minify-imports: ${msg}; nothing written`);
  process.exit(1);
};
const d = fs.readFileSync(wasmFile);
let js = fs.readFileSync(jsFile, "utf8");
if (d.length < 8 || d.readUInt32LE(0) !== 0x6d736100) fail(`${wasmFile}: not a wasm module`);

const leb = (i) => {
  let v = 0, shift = 0, b;
  do {
    if (i >= d.length) fail("truncated LEB128");
    b = d[i++];
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return [v, i];
};
const encodeLeb = (v) => {
  const out = [];
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
};
const encodeName = (s) => {
  const b = Buffer.from(s, "utf8");
  return Buffer.concat([encodeLeb(b.length), b]);
};
/** Short identifiers: a..z, A..Z, then two letters and more. */
const shortName = (k) => {
  const abc = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  let s = "";
  do {
    s = abc[k % abc.length] + s;
    k = Math.floor(k / abc.length) - 1;
  } while (k >= 0);
  return s;
};

// Find the import (id 2) and export (id 7) sections.
let at = 8;
const sections = {};
while (at < d.length) {
  const id = d[at];
  const [size, body] = leb(at + 1);
  if (body + size > d.length) fail(`truncated section at byte ${at}`);
  if (id === 2 || id === 7) sections[id] = { start: at, body, end: body + size };
  at = body + size;
}
const section = sections[2], exportSection = sections[7];
if (!section || !exportSection) fail(`${wasmFile} has no imports or no exports`);
const name = () => {
  const [len, s] = leb(i);
  i = s + len;
  return d.subarray(s, s + len).toString("utf8");
};

// Parse the entries: module name, field name, then the description, copied as it is.
const entries = [];
let [count, i] = leb(section.body);
for (let n = 0; n < count; n++) {
  const module = name(), field = name();
  const descStart = i;
  const kind = d[i++];
  if (kind === 0x00) i = leb(i)[1]; // function: type index
  else if (kind === 0x01 || kind === 0x02) {
    if (kind === 0x01) i++; // table: reference type
    const flags = d[i++];
    i = leb(i)[1];
    if (flags & 1) i = leb(i)[1];
  } else if (kind === 0x03) i += 2; // global: value type, mutability
  else if (kind === 0x04) i = leb(i + 1)[1]; // tag: attribute, type index
  else fail(`unknown import kind ${kind}`);
  entries.push({ module, field, desc: d.subarray(descStart, i) });
}
if (i !== section.end) fail("import section does not parse to its end");
// Exports: name, kind, index.
const exported = [];
[count, i] = leb(exportSection.body);
for (let n = 0; n < count; n++) {
  const field = name();
  const descStart = i;
  i = leb(i + 1)[1];
  exported.push({ field, desc: d.subarray(descStart, i) });
}
if (i !== exportSection.end) fail("export section does not parse to its end");

const named = entries.filter((e) => /^__wb(g|indgen)/.test(e.field));
if (!named.length) {
  console.log(`${wasmFile}: imports already minified`);
  process.exit(0);
}
// Rename each in the glue first, where it must occur exactly once.
const renames = new Map();
named.forEach((e, k) => renames.set(e.field, shortName(k)));
for (const [old, short] of renames) {
  const re = new RegExp(`(?<![\\w$])${old}(?![\\w$])`, "g");
  const found = js.match(re)?.length ?? 0;
  if (found !== 1) fail(`${old} occurs ${found} times in ${jsFile}`);
  js = js.replace(re, short);
}
// Exports the glue calls as `wasm.NAME` get names of their own (`$` + a short name: no clash with
// `memory`); the rest (symbols exported for OpenH264's C, which the glue never calls) too.
const exportRenames = new Map();
exported.forEach((e, k) => {
  if (e.field !== "memory") exportRenames.set(e.field, `$${shortName(k)}`);
});
for (const [old, short] of exportRenames) {
  js = js.replace(new RegExp(`(?<![\\w$.])wasm\\.${old.replaceAll("$", "\\$")}(?![\\w$])`, "g"), `wasm.${short}`);
}
const leftover = js.match(/(?<![\w$.])wasm\.[A-Za-z_][\w$]*/g)?.filter((m) => m !== "wasm.memory");
if (leftover?.length) fail(`the glue still calls ${[...new Set(leftover)].join(", ")}`);

const section2 = Buffer.concat([
  encodeLeb(entries.length),
  ...entries.map((e) =>
    Buffer.concat([encodeName(e.module), encodeName(renames.get(e.field) ?? e.field), e.desc]),
  ),
]);
const section7 = Buffer.concat([
  encodeLeb(exported.length),
  ...exported.map((e) => Buffer.concat([encodeName(exportRenames.get(e.field) ?? e.field), e.desc])),
]);
const out = Buffer.concat([
  d.subarray(0, section.start),
  Buffer.from([2]),
  encodeLeb(section2.length),
  section2,
  d.subarray(section.end, exportSection.start),
  Buffer.from([7]),
  encodeLeb(section7.length),
  section7,
  d.subarray(exportSection.end),
]);
// The result must still be a module with the same imports and exports, in the same order.
const mod = (b) => new WebAssembly.Module(b);
const [ib, ia] = [WebAssembly.Module.imports(mod(d)), WebAssembly.Module.imports(mod(out))];
const [eb, ea] = [WebAssembly.Module.exports(mod(d)), WebAssembly.Module.exports(mod(out))];
if (
  ib.length !== ia.length ||
  ib.some((b, k) => b.module !== ia[k].module || b.kind !== ia[k].kind) ||
  eb.length !== ea.length ||
  eb.some((b, k) => b.kind !== ea[k].kind)
) {
  fail("rewritten module's imports or exports differ");
}
fs.writeFileSync(wasmFile, out);
fs.writeFileSync(jsFile, js);
console.log(
  `${wasmFile}: ${out.length} bytes (${renames.size} imports and ${exportRenames.size} exports renamed, ${d.length - out.length} bytes saved)`,
);
