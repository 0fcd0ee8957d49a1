// Bit-level H.264 for the corrupted-stream test: Annex-B splitting (B.2), RBSP escaping (7.4.1),
// Exp-Golomb codes (9.1), and rewriting one syntax element of an SPS (7.3.2.1.1), PPS (7.3.2.2) or
// slice header (7.3.3) in place. Plain ES module: the test page and node both import it.

/** Splits Annex-B bytes into NAL unit payloads (header byte first, no start code). */
export function splitNals(data) {
  const starts = [];
  for (let i = 0; i + 2 < data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      starts.push(i + 3);
      i += 2;
    }
  }
  const nals = [];
  for (let k = 0; k < starts.length; k++) {
    let end = k + 1 < starts.length ? starts[k + 1] - 3 : data.length;
    while (end > starts[k] && data[end - 1] === 0) end--; // trailing zeros belong to the next start code
    if (end > starts[k]) nals.push(data.subarray(starts[k], end));
  }
  return nals;
}

/** Removes emulation-prevention bytes (00 00 03 → 00 00). */
export function unescape(payload) {
  const out = [];
  let zeros = 0;
  for (const b of payload) {
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

/** Inserts emulation-prevention bytes so no start code appears inside the NAL unit. */
export function escape(rbsp) {
  const out = [];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

/** The RBSP as an array of bits, without the stop bit and the alignment zeros after it. */
function contentBits(rbsp) {
  const bits = [];
  for (const b of rbsp) for (let i = 7; i >= 0; i--) bits.push((b >> i) & 1);
  let end = bits.length;
  while (end > 0 && bits[end - 1] === 0) end--;
  return bits.slice(0, Math.max(0, end - 1));
}

class Reader {
  constructor(bits) {
    this.bits = bits;
    this.pos = 0;
    this.fields = {};
  }
  u(n, name) {
    if (this.pos + n > this.bits.length) throw new RangeError("past the end");
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bits[this.pos++];
    if (name) this.fields[name] = { start: this.pos - n, end: this.pos, value: v, code: "u", n };
    return v;
  }
  ue(name) {
    const start = this.pos;
    let zeros = 0;
    while (this.u(1) === 0) if (++zeros > 32) throw new RangeError("ue too long");
    const v = 2 ** zeros - 1 + this.u(zeros);
    if (name) this.fields[name] = { start, end: this.pos, value: v, code: "ue" };
    return v;
  }
  se(name) {
    const start = this.pos;
    const k = this.ue();
    const v = k % 2 ? (k + 1) / 2 : -k / 2;
    if (name) this.fields[name] = { start, end: this.pos, value: v, code: "se" };
    return v;
  }
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function scalingList(r, size) {
  let last = 8, next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** Fields of an SPS RBSP, each with its bit range (parsing stops at the VUI flag). */
function spsFields(r) {
  const profile = r.u(8, "profile_idc");
  r.u(8, "constraint_flags");
  r.u(8, "level_idc");
  r.ue("seq_parameter_set_id");
  if (HIGH_PROFILES.has(profile)) {
    const chroma = r.ue("chroma_format_idc");
    if (chroma === 3) r.u(1);
    r.ue("bit_depth_luma_minus8");
    r.ue("bit_depth_chroma_minus8");
    r.u(1);
    if (r.u(1)) for (let i = 0; i < (chroma === 3 ? 12 : 8); i++) if (r.u(1)) scalingList(r, i < 6 ? 16 : 64);
  }
  r.ue("log2_max_frame_num_minus4");
  const poc = r.ue("pic_order_cnt_type");
  if (poc === 0) r.ue("log2_max_pic_order_cnt_lsb_minus4");
  else if (poc === 1) {
    r.u(1);
    r.se();
    r.se();
    const n = r.ue("num_ref_frames_in_pic_order_cnt_cycle");
    for (let i = 0; i < n; i++) r.se();
  }
  r.ue("max_num_ref_frames");
  r.u(1);
  r.ue("pic_width_in_mbs_minus1");
  r.ue("pic_height_in_map_units_minus1");
  if (!r.u(1, "frame_mbs_only_flag")) r.u(1);
  r.u(1);
  if (r.u(1, "frame_cropping_flag")) for (const s of ["left", "right", "top", "bottom"]) r.ue(`frame_crop_${s}_offset`);
  r.u(1, "vui_parameters_present_flag");
}

/** Fields of a PPS RBSP up to the slice-group count (the rest depends on it). */
function ppsFields(r) {
  r.ue("pic_parameter_set_id");
  r.ue("seq_parameter_set_id");
  r.u(1, "entropy_coding_mode_flag");
  r.u(1);
  if (r.ue("num_slice_groups_minus1") > 0) return;
  r.ue("num_ref_idx_l0_default_active_minus1");
  r.ue("num_ref_idx_l1_default_active_minus1");
  r.u(1);
  r.u(2);
  r.se("pic_init_qp_minus26");
}

/** The first fields of a slice header, which need no parameter set to find. */
function sliceFields(r) {
  r.ue("first_mb_in_slice");
  r.ue("slice_type");
  r.ue("pic_parameter_set_id");
}

const PARSERS = { 7: spsFields, 8: ppsFields, 1: sliceFields, 5: sliceFields };

/** Named syntax elements of a NAL unit payload (SPS, PPS or slice), or {} if it cannot say. */
export function fieldsOf(nal) {
  const parse = PARSERS[nal[0] & 31];
  if (!parse) return {};
  const r = new Reader(contentBits(unescape(nal.subarray(1))));
  try {
    parse(r);
  } catch {
    // a truncated unit: keep what was read
  }
  return r.fields;
}

function encode(code, value, n) {
  if (code === "u") return Array.from({ length: n }, (_, i) => Math.floor(Math.abs(value) / 2 ** (n - 1 - i)) % 2);
  const k = code === "se" ? (value > 0 ? 2 * value - 1 : -2 * value) : Math.abs(value);
  const len = Math.floor(Math.log2(k + 1));
  const bits = new Array(len).fill(0);
  for (let i = len; i >= 0; i--) bits.push(Math.floor((k + 1) / 2 ** i) % 2);
  return bits;
}

/** A copy of `nal` with syntax element `name` set to `value` (same code: ue, se or u(n)). */
export function withField(nal, name, value) {
  const f = fieldsOf(nal)[name];
  if (!f) return null;
  const bits = contentBits(unescape(nal.subarray(1)));
  const out = [...bits.slice(0, f.start), ...encode(f.code, value, f.n), ...bits.slice(f.end), 1];
  while (out.length % 8) out.push(0);
  const rbsp = new Uint8Array(out.length / 8);
  for (let i = 0; i < out.length; i++) rbsp[i >> 3] |= out[i] << (7 - (i & 7));
  const esc = escape(rbsp);
  const result = new Uint8Array(1 + esc.length);
  result[0] = nal[0];
  result.set(esc, 1);
  return result;
}
