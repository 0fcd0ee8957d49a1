// Deterministic hostile H.264 for the corrupted-stream test: a seeded PRNG and one function per kind
// of damage, each turning the NAL units of a stream's head into a mutated copy (bit flips, truncated,
// dropped, garbage and oversized units, absurd parameter sets and slice headers, ...). A unit is
// { b: payload without start code, ts } or, for byte-level damage, { raw: bytes fed as they are, ts }.
import { withField } from "./h264-bits.js";

/** mulberry32, seeded from a string: the same name always gives the same mutations. */
export function rng(seedText) {
  let s = 2166136261;
  for (const c of seedText) s = Math.imul(s ^ c.charCodeAt(0), 16777619) >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  return { next, int, pick: (list) => list[int(list.length)], logInt: (lo, hi) => Math.floor(lo * (hi / lo) ** next()) };
}

const bytes = (r, n) => Uint8Array.from({ length: n }, () => r.int(256));
const cat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
};
const type = (u) => (u.b ? u.b[0] & 31 : -1);
const isSlice = (u) => type(u) === 1 || type(u) === 5;
const indexOf = (r, units, pred) => {
  const hits = units.map((u, i) => (pred(u) ? i : -1)).filter((i) => i >= 0);
  return hits.length ? r.pick(hits) : r.int(units.length);
};
const ABSURD = [255, 256, 1000, 8191, 65535, 65536, 2 ** 31 - 1, 2 ** 32 - 2];

/** Rewrites one syntax element of a parameter set or slice; falls back to a bit flip if absent. */
function rewrite(r, units, pred, fields, values) {
  const i = indexOf(r, units, pred);
  const u = units[i];
  const name = r.pick(fields);
  const value = r.pick(values);
  const b = u.b && withField(u.b, name, value);
  if (!b) return flip(r, units, i, 4);
  const mid = r.next() < 0.3 && units.some(isSlice);
  if (mid) {
    // Redefine it mid-stream, just before a slice, and keep the original too.
    const at = indexOf(r, units, isSlice);
    units.splice(at, 0, { b, ts: units[at].ts });
    return `${name}=${value} in a new NAL ${type(u)} before unit ${at}`;
  }
  units[i] = { b, ts: u.ts };
  return `${name}=${value} in unit ${i} (NAL ${type(u)})`;
}

function flip(r, units, i, max) {
  const u = units[i];
  const b = Uint8Array.from(u.b ?? u.raw);
  const n = 1 + r.int(max);
  for (let k = 0; k < n && b.length; k++) {
    const bit = r.int(b.length * 8);
    b[bit >> 3] ^= 1 << (bit & 7);
  }
  units[i] = u.b ? { b, ts: u.ts } : { raw: b, ts: u.ts };
  return `${n} bits flipped in unit ${i}`;
}

/** Each kind mutates `units` in place and returns what it did. */
export const KINDS = {
  bitflip(r, units) {
    const n = 1 + r.int(3);
    return Array.from({ length: n }, () => flip(r, units, r.int(units.length), 16)).join("; ");
  },
  truncate(r, units) {
    const i = r.next() < 0.5 ? indexOf(r, units, isSlice) : r.int(units.length);
    const cut = r.int(units[i].b.length);
    units[i] = { b: units[i].b.subarray(0, cut), ts: units[i].ts };
    return `unit ${i} cut to ${cut} bytes`;
  },
  drop(r, units) {
    const want = r.pick([null, 5, 7, 8, 1]);
    const n = 1 + r.int(4);
    const gone = [];
    for (let k = 0; k < n && units.length > 1; k++) {
      const i = want == null ? r.int(units.length) : indexOf(r, units, (u) => type(u) === want);
      gone.push(type(units[i]));
      units.splice(i, 1);
    }
    return `dropped NAL types ${gone.join(",")}`;
  },
  garbage(r, units) {
    const i = r.int(units.length);
    const len = r.logInt(1, 8192);
    const how = r.int(3);
    if (how === 0) {
      units.splice(i, 0, { b: bytes(r, len), ts: units[i].ts });
      return `${len} random bytes as a NAL before unit ${i}`;
    }
    const b = Uint8Array.from(units[i].b);
    if (how === 1) {
      const at = r.int(b.length);
      b.set(bytes(r, Math.min(len, b.length - at)), at);
      units[i] = { b, ts: units[i].ts };
      return `unit ${i} overwritten from byte ${at}`;
    }
    units[i] = { b: cat(b, bytes(r, len)), ts: units[i].ts };
    return `${len} random bytes appended to unit ${i}`;
  },
  "huge-sps": (r, units) =>
    rewrite(r, units, (u) => type(u) === 7, [
      "pic_width_in_mbs_minus1", "pic_height_in_map_units_minus1", "max_num_ref_frames", "log2_max_frame_num_minus4",
      "log2_max_pic_order_cnt_lsb_minus4", "num_ref_frames_in_pic_order_cnt_cycle", "frame_crop_right_offset",
      "frame_crop_bottom_offset", "seq_parameter_set_id", "level_idc", "chroma_format_idc", "bit_depth_luma_minus8",
    ], [...ABSURD, 16, 17, 32, 33]),
  "huge-pps": (r, units) =>
    rewrite(r, units, (u) => type(u) === 8, [
      "num_slice_groups_minus1", "num_ref_idx_l0_default_active_minus1", "num_ref_idx_l1_default_active_minus1",
      "pic_init_qp_minus26", "pic_parameter_set_id", "seq_parameter_set_id",
    ], [...ABSURD, 7, 8, 31, 32, -(2 ** 30)]),
  "slice-header": (r, units) =>
    rewrite(r, units, isSlice, ["first_mb_in_slice", "slice_type", "pic_parameter_set_id"], [...ABSURD, 4, 10, 99, 396]),
  "slice-flood"(r, units) {
    const i = indexOf(r, units, isSlice);
    const n = r.logInt(100, 3000);
    const renumber = r.next() < 0.5;
    const copies = Array.from({ length: n }, (_, k) => ({
      b: (renumber && withField(units[i].b, "first_mb_in_slice", k + 1)) || units[i].b,
      ts: units[i].ts,
    }));
    units.splice(i + 1, 0, ...copies);
    return `unit ${i} repeated ${n} times${renumber ? " with rising first_mb_in_slice" : ""}`;
  },
  "huge-nal"(r, units) {
    const i = r.int(units.length);
    const len = r.logInt(1 << 18, 4 << 20);
    const fill = r.int(4);
    let b;
    if (fill === 0) b = bytes(r, len);
    else if (fill === 1) b = new Uint8Array(len).fill(0xff);
    else if (fill === 2) b = Uint8Array.from({ length: len }, (_, k) => [0, 0, 3][k % 3]);
    else b = cat(units[indexOf(r, units, isSlice)].b, bytes(r, len));
    b[0] = fill === 3 ? b[0] : r.pick([0x65, 0x41, 0x06, 0x67, 0x68, 0x0e, 0x14]);
    units.splice(i, 0, { b, ts: units[i].ts });
    return `${len}-byte NAL (fill ${fill}) before unit ${i}`;
  },
  "length-prefix"(r, units) {
    const i = r.int(units.length);
    const u = units[i];
    const len = r.pick([0xffffffff, 0x7fffffff, 0x10000000, u.b.length * 1000, u.b.length + 1]);
    const prefix = Uint8Array.of(len >>> 24, (len >>> 16) & 255, (len >>> 8) & 255, len & 255);
    const inside = r.next() < 0.5;
    units[i] = inside ? { raw: cat(Uint8Array.of(0, 0, 0, 1), prefix, u.b), ts: u.ts } : { raw: cat(prefix, u.b), ts: u.ts };
    return `${inside ? "after the start code" : "instead of the start code"}: length prefix ${len} on unit ${i}`;
  },
  "sei-huge"(r, units) {
    const i = r.int(units.length);
    const ffs = r.logInt(1, 20000);
    const payloadType = r.pick([0, 1, 4, 5, 6, 255]);
    const head = [0x06, ...(payloadType === 255 ? [255, 255, 1] : [payloadType]), ...new Array(ffs).fill(255), r.int(255)];
    units.splice(i, 0, { b: cat(Uint8Array.from(head), bytes(r, r.logInt(1, 64)), Uint8Array.of(0x80)), ts: units[i].ts });
    return `SEI type ${payloadType} declaring ${ffs * 255}+ bytes before unit ${i}`;
  },
  "nal-header"(r, units) {
    const i = r.int(units.length);
    const b = Uint8Array.from(units[i].b);
    const t = r.pick([0, 2, 3, 4, 13, 14, 15, 16, 19, 20, 21, 24, 30, 31, 1, 5]);
    b[0] = (r.next() < 0.2 ? 0x80 : 0) | (r.int(4) << 5) | t;
    units[i] = { b, ts: units[i].ts };
    return `unit ${i} (NAL ${type(units[i])}) header set to ${b[0].toString(16)}`;
  },
  reorder(r, units) {
    const i = r.int(units.length), j = r.int(units.length);
    if (r.next() < 0.5) {
      [units[i], units[j]] = [units[j], units[i]];
      return `units ${i} and ${j} swapped`;
    }
    units.splice(j, 0, { ...units[i], ts: units[j].ts });
    return `unit ${i} repeated at ${j}`;
  },
  startcode(r, units) {
    const i = r.int(units.length);
    const b = units[i].b;
    const at = r.int(b.length + 1);
    const code = r.pick([[0, 0, 1], [0, 0, 0, 1], [0, 0, 0], [0, 0, 2]]);
    units[i] = { raw: cat(Uint8Array.of(0, 0, 0, 1), b.subarray(0, at), Uint8Array.from(code), b.subarray(at)), ts: units[i].ts };
    return `${code.join(" ")} inserted at byte ${at} of unit ${i}`;
  },
  "end-of-stream"(r, units) {
    const i = r.int(units.length);
    const t = r.pick([9, 10, 11, 12]);
    const b = t === 12 ? cat(Uint8Array.of(12), new Uint8Array(r.logInt(1, 100000)).fill(255), Uint8Array.of(0x80)) : Uint8Array.of(t, r.int(256));
    units.splice(i, 0, { b, ts: units[i].ts });
    return `NAL ${t} before unit ${i}`;
  },
};

/** The mutated copy of `head` for case `seed` of `kind`, and what was done. */
export function mutate(head, kind, seed) {
  const r = rng(seed);
  const units = head.map((u) => ({ ...u }));
  const what = KINDS[kind](r, units);
  return { units, what };
}
