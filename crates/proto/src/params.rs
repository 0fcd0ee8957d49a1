//! The fields of sequence and picture parameter sets and of slice headers that nalcast reads itself
//! (H.264 7.3.2.1.1, 7.3.2.2, 7.3.3): from the SPS the picture size, profile and the VUI's colour
//! description and timing; from the PPS and the slice header only what tells pictures apart
//! (7.4.1.2.4). Each parse stops once its fields are read, reads the NAL unit in place and never
//! allocates; the rest of each structure is the decoder's business.

use crate::bits::{BitReader, ParamError};

/// What nalcast reads from an SPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sps {
    /// `profile_idc`.
    pub profile_idc: u8,
    /// The byte of `constraint_set*_flag`s and reserved bits.
    pub constraint_flags: u8,
    /// `level_idc`.
    pub level_idc: u8,
    /// `seq_parameter_set_id` (0..=31).
    pub id: u8,
    /// `chroma_format_idc`: 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4.
    pub chroma_format_idc: u8,
    /// `separate_colour_plane_flag`.
    pub separate_colour_plane: bool,
    /// Bits of `frame_num` (`log2_max_frame_num_minus4` + 4).
    pub frame_num_bits: u8,
    /// `pic_order_cnt_type` (0..=2).
    pub poc_type: u8,
    /// Bits of `pic_order_cnt_lsb` (for `poc_type` 0).
    pub poc_lsb_bits: u8,
    /// `delta_pic_order_always_zero_flag` (for `poc_type` 1).
    pub delta_pic_order_always_zero: bool,
    /// `frame_mbs_only_flag`.
    pub frame_mbs_only: bool,
    /// Picture width in pixels after cropping.
    pub width: u32,
    /// Picture height in pixels after cropping.
    pub height: u32,
    /// `video_full_range_flag` of the VUI (false without one).
    pub full_range: bool,
    /// `matrix_coefficients` of the VUI's colour description, if present.
    pub matrix_coefficients: Option<u8>,
    /// `num_units_in_tick` and `time_scale` of the VUI's timing info, if present.
    pub timing: Option<(u32, u32)>,
}

/// `profile_idc` values whose SPS carries chroma format, bit depths and scaling matrices.
const HIGH_PROFILES: [u8; 13] = [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135];

impl Sps {
    /// Parses an SPS RBSP: `data` starts after the NAL unit header.
    pub fn parse(data: &[u8]) -> Result<Sps, ParamError> {
        let mut r = BitReader::new(data);
        let profile_idc = r.bits(8)? as u8;
        let constraint_flags = r.bits(8)? as u8;
        let level_idc = r.bits(8)? as u8;
        let id = r.ue_max(31, "seq_parameter_set_id")? as u8;
        let (mut chroma_format_idc, mut separate_colour_plane) = (1, false);
        if HIGH_PROFILES.contains(&profile_idc) {
            chroma_format_idc = r.ue_max(3, "chroma_format_idc")? as u8;
            if chroma_format_idc == 3 {
                separate_colour_plane = r.flag()?;
            }
            r.ue_max(6, "bit_depth_luma_minus8")?;
            r.ue_max(6, "bit_depth_chroma_minus8")?;
            r.flag()?; // qpprime_y_zero_transform_bypass_flag
            if r.flag()? {
                let lists = if chroma_format_idc == 3 { 12 } else { 8 };
                for i in 0..lists {
                    if r.flag()? {
                        skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                    }
                }
            }
        }
        let frame_num_bits = r.ue_max(12, "log2_max_frame_num_minus4")? as u8 + 4;
        let poc_type = r.ue_max(2, "pic_order_cnt_type")? as u8;
        let (mut poc_lsb_bits, mut delta_pic_order_always_zero) = (0, false);
        if poc_type == 0 {
            poc_lsb_bits = r.ue_max(12, "log2_max_pic_order_cnt_lsb_minus4")? as u8 + 4;
        } else if poc_type == 1 {
            delta_pic_order_always_zero = r.flag()?;
            r.se()?; // offset_for_non_ref_pic
            r.se()?; // offset_for_top_to_bottom_field
            for _ in 0..r.ue_max(255, "num_ref_frames_in_pic_order_cnt_cycle")? {
                r.se()?;
            }
        }
        r.ue()?; // max_num_ref_frames
        r.flag()?; // gaps_in_frame_num_value_allowed_flag
        let width_mbs = u64::from(r.ue()?) + 1;
        let height_units = u64::from(r.ue()?) + 1;
        let frame_mbs_only = r.flag()?;
        if !frame_mbs_only {
            r.flag()?; // mb_adaptive_frame_field_flag
        }
        r.flag()?; // direct_8x8_inference_flag
        let crop = if r.flag()? { [r.ue()?, r.ue()?, r.ue()?, r.ue()?] } else { [0; 4] };
        // Crop units (7-19 .. 7-22): chroma subsampling, times 2 vertically for field coding.
        let chroma_array_type = if separate_colour_plane { 0 } else { chroma_format_idc };
        let frames = if frame_mbs_only { 1 } else { 2 };
        let (unit_x, unit_y) = match chroma_array_type {
            1 => (2, 2 * frames),
            2 => (2, frames),
            _ => (1, frames),
        };
        let cropped = |size: u64, a: u32, b: u32, unit: u64| -> Result<u32, ParamError> {
            let cut = (u64::from(a) + u64::from(b)) * unit;
            u32::try_from(size.saturating_sub(cut))
                .ok()
                .filter(|&v| cut < size && v > 0)
                .ok_or(ParamError::OutOfRange("picture size or cropping"))
        };
        let width = cropped(width_mbs * 16, crop[0], crop[1], unit_x)?;
        let height = cropped(height_units * 16 * frames, crop[2], crop[3], unit_y)?;
        let mut sps = Sps {
            profile_idc,
            constraint_flags,
            level_idc,
            id,
            chroma_format_idc,
            separate_colour_plane,
            frame_num_bits,
            poc_type,
            poc_lsb_bits,
            delta_pic_order_always_zero,
            frame_mbs_only,
            width,
            height,
            full_range: false,
            matrix_coefficients: None,
            timing: None,
        };
        if r.flag()? {
            sps.read_vui(&mut r)?;
        }
        Ok(sps)
    }

    /// The VUI (E.1.1) up to its timing info; what follows (HRD, restrictions) is not needed.
    fn read_vui(&mut self, r: &mut BitReader<'_>) -> Result<(), ParamError> {
        if r.flag()? && r.bits(8)? == 255 {
            r.bits(32)?; // sar_width, sar_height
        }
        if r.flag()? {
            r.flag()?; // overscan_appropriate_flag
        }
        if r.flag()? {
            r.bits(3)?; // video_format
            self.full_range = r.flag()?;
            if r.flag()? {
                r.bits(16)?; // colour_primaries, transfer_characteristics
                self.matrix_coefficients = Some(r.bits(8)? as u8);
            }
        }
        if r.flag()? {
            r.ue_max(5, "chroma_sample_loc_type_top_field")?;
            r.ue_max(5, "chroma_sample_loc_type_bottom_field")?;
        }
        if r.flag()? {
            self.timing = Some((r.bits(32)?, r.bits(32)?));
        }
        Ok(())
    }
}

/// Skips a `scaling_list()` of `size` entries (7.3.2.1.1.1).
fn skip_scaling_list(r: &mut BitReader<'_>, size: usize) -> Result<(), ParamError> {
    let (mut last, mut next) = (8i32, 8i32);
    for _ in 0..size {
        if next != 0 {
            let delta = r.se()?;
            if !(-128..=127).contains(&delta) {
                return Err(ParamError::OutOfRange("delta_scale"));
            }
            next = (last + delta + 256) % 256;
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
}

/// What nalcast reads from a PPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pps {
    /// `pic_parameter_set_id` (0..=255).
    pub id: u8,
    /// `seq_parameter_set_id` of the SPS it uses.
    pub sps_id: u8,
    /// `entropy_coding_mode_flag`: CABAC.
    pub cabac: bool,
    /// `bottom_field_pic_order_in_frame_present_flag`.
    pub bottom_field_pic_order_in_frame_present: bool,
}

impl Pps {
    /// Parses the start of a PPS RBSP: `data` starts after the NAL unit header.
    pub fn parse(data: &[u8]) -> Result<Pps, ParamError> {
        let mut r = BitReader::new(data);
        Ok(Pps {
            id: r.ue_max(255, "pic_parameter_set_id")? as u8,
            sps_id: r.ue_max(31, "seq_parameter_set_id")? as u8,
            cabac: r.flag()?,
            bottom_field_pic_order_in_frame_present: r.flag()?,
        })
    }
}

/// The slice-header fields that tell pictures apart (7.4.1.2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceStart {
    /// `first_mb_in_slice`.
    pub first_mb: u32,
    /// `pic_parameter_set_id`.
    pub pps_id: u8,
    /// `frame_num`.
    pub frame_num: u16,
    /// 0 frame, 1 top field, 2 bottom field.
    pub field: u8,
    /// `idr_pic_id` of an IDR slice.
    pub idr_pic_id: Option<u16>,
    /// `pic_order_cnt_lsb` (type 0).
    pub poc_lsb: u32,
    /// `delta_pic_order_cnt_bottom` (type 0) or `delta_pic_order_cnt[0]` (type 1).
    pub poc_delta0: i32,
    /// `delta_pic_order_cnt[1]` (type 1).
    pub poc_delta1: i32,
}

/// The parameter sets seen so far, by id.
#[derive(Debug, Clone)]
pub struct ParamSets {
    sps: Vec<Option<Sps>>,
    pps: Vec<Option<Pps>>,
}

impl Default for ParamSets {
    fn default() -> ParamSets {
        ParamSets { sps: vec![None; 32], pps: vec![None; 256] }
    }
}

impl ParamSets {
    /// Reads and keeps the SPS in NAL unit `nal` (header byte first).
    pub fn put_sps(&mut self, nal: &[u8]) -> Result<(), ParamError> {
        let sps = Sps::parse(nal.get(1..).unwrap_or_default())?;
        let id = usize::from(sps.id);
        self.sps[id] = Some(sps);
        Ok(())
    }

    /// Reads and keeps the PPS in NAL unit `nal` (header byte first).
    pub fn put_pps(&mut self, nal: &[u8]) -> Result<(), ParamError> {
        let pps = Pps::parse(nal.get(1..).unwrap_or_default())?;
        self.pps[usize::from(pps.id)] = Some(pps);
        Ok(())
    }

    /// Reads the start of the header of slice NAL unit `nal` (type 1 or 5, header byte first).
    pub fn slice_start(&self, nal: &[u8]) -> Result<SliceStart, ParamError> {
        let idr = nal.first().is_some_and(|b| b & 0x1f == 5);
        let mut r = BitReader::new(nal.get(1..).unwrap_or_default());
        let first_mb = r.ue()?;
        r.ue_max(9, "slice_type")?;
        let pps_id = r.ue_max(255, "pic_parameter_set_id")? as u8;
        let pps = self.pps[usize::from(pps_id)].ok_or(ParamError::Missing("pic_parameter_set_id"))?;
        let sps =
            self.sps[usize::from(pps.sps_id)].as_ref().ok_or(ParamError::Missing("seq_parameter_set_id"))?;
        if sps.separate_colour_plane {
            r.bits(2)?; // colour_plane_id
        }
        let frame_num = r.bits(u32::from(sps.frame_num_bits))? as u16;
        let mut field = 0;
        if !sps.frame_mbs_only && r.flag()? {
            field = if r.flag()? { 2 } else { 1 };
        }
        let idr_pic_id = if idr { Some(r.ue_max(65535, "idr_pic_id")? as u16) } else { None };
        let (mut poc_lsb, mut poc_delta0, mut poc_delta1) = (0, 0, 0);
        let bottom_delta = pps.bottom_field_pic_order_in_frame_present && field == 0;
        if sps.poc_type == 0 {
            poc_lsb = r.bits(u32::from(sps.poc_lsb_bits))?;
            if bottom_delta {
                poc_delta0 = r.se()?;
            }
        } else if sps.poc_type == 1 && !sps.delta_pic_order_always_zero {
            poc_delta0 = r.se()?;
            if bottom_delta {
                poc_delta1 = r.se()?;
            }
        }
        Ok(SliceStart { first_mb, pps_id, frame_num, field, idr_pic_id, poc_lsb, poc_delta0, poc_delta1 })
    }

    /// The SPS with id `id`, if seen.
    pub fn sps(&self, id: u8) -> Option<&Sps> {
        self.sps.get(usize::from(id)).and_then(Option::as_ref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes test vectors bit by bit.
    #[derive(Default)]
    struct Bits(Vec<bool>);

    impl Bits {
        fn u(mut self, n: u32, v: u64) -> Bits {
            self.0.extend((0..n).rev().map(|i| (v >> i) & 1 == 1));
            self
        }
        fn ue(self, v: u32) -> Bits {
            let code = u64::from(v) + 1;
            let len = 64 - code.leading_zeros();
            self.u(len - 1, 0).u(len, code)
        }
        fn se(self, v: i32) -> Bits {
            self.ue(if v > 0 { 2 * v as u32 - 1 } else { 2 * v.unsigned_abs() })
        }
        /// With `header` first and the RBSP stop bit; no emulation prevention needed here.
        fn nal(self, header: u8) -> Vec<u8> {
            let mut bits = self.u(1, 1).0;
            bits.resize(bits.len().div_ceil(8) * 8, false);
            let mut out = vec![header];
            out.extend(bits.chunks(8).map(|c| c.iter().fold(0u8, |b, &x| (b << 1) | u8::from(x))));
            out
        }
    }

    /// A High 4:2:2 SPS, field-coded (frame_mbs_only 0), POC type 1, with a scaling list, cropping,
    /// and a VUI with full range, BT.709 and 25 fps timing.
    fn high_fields_sps() -> Vec<u8> {
        let mut b = Bits::default().u(8, 122).u(8, 0).u(8, 40).ue(3); // profile, flags, level, id 3
        b = b.ue(2).ue(2).ue(2).u(1, 0); // 4:2:2, 10-bit luma and chroma, no bypass
        b = b.u(1, 1).u(1, 1).se(-8); // scaling matrix: list 0 present, ends at once (8 − 8 = 0)
        b = b.u(1, 0).u(1, 0).u(1, 0).u(1, 0).u(1, 0).u(1, 0).u(1, 0); // lists 1..7 absent
        b = b.ue(0).ue(1); // frame_num 4 bits, POC type 1
        b = b.u(1, 0).se(-2).se(1).ue(2).se(4).se(-4); // always-zero 0, offsets, cycle of 2
        b = b.ue(4).u(1, 0).ue(119).ue(33); // refs, gaps, 120 x 34 map units
        b = b.u(1, 0).u(1, 1).u(1, 1); // frame_mbs_only 0, mbaff 1, direct_8x8 1
        b = b.u(1, 1).ue(0).ue(0).ue(0).ue(2); // crop bottom 2 units (2 × 2 rows)
        b = b.u(1, 1).u(1, 0).u(1, 0); // VUI: no aspect ratio, no overscan
        b = b.u(1, 1).u(3, 5).u(1, 1).u(1, 1).u(8, 1).u(8, 1).u(8, 1); // full range, BT.709
        b = b.u(1, 0).u(1, 1).u(32, 1).u(32, 50).u(1, 1); // timing: 50 ticks/s → 25 fps
        b.nal(0x67)
    }

    #[test]
    fn reads_a_high_profile_field_coded_sps() {
        let nal = high_fields_sps();
        let sps = Sps::parse(&nal[1..]).expect("valid");
        assert_eq!((sps.profile_idc, sps.level_idc, sps.id, sps.chroma_format_idc), (122, 40, 3, 2));
        assert_eq!((sps.frame_num_bits, sps.poc_type, sps.frame_mbs_only), (4, 1, false));
        assert_eq!((sps.width, sps.height), (1920, 34 * 32 - 4));
        assert!(sps.full_range);
        assert_eq!((sps.matrix_coefficients, sps.timing), (Some(1), Some((1, 50))));
    }

    #[test]
    fn reads_field_slices_with_poc_type_1() {
        let mut sets = ParamSets::default();
        sets.put_sps(&high_fields_sps()).expect("sps");
        let pps = Bits::default().ue(7).ue(3).u(1, 1).u(1, 1).nal(0x68); // id 7 → SPS 3, CABAC, bottom POC
        sets.put_pps(&pps).expect("pps");
        // IDR, bottom field: first_mb 5, I slice, PPS 7, frame_num 9, field 1 bottom 1, idr 300, delta −3.
        let idr = Bits::default().ue(5).ue(7).ue(7).u(4, 9).u(1, 1).u(1, 1).ue(300).se(-3).nal(0x65);
        let s = sets.slice_start(&idr).expect("slice");
        assert_eq!((s.first_mb, s.pps_id, s.frame_num, s.field, s.idr_pic_id), (5, 7, 9, 2, Some(300)));
        // A field slice has no delta[1]; a frame slice has both deltas.
        assert_eq!((s.poc_lsb, s.poc_delta0, s.poc_delta1), (0, -3, 0));
        let frame = Bits::default().ue(0).ue(5).ue(7).u(4, 10).u(1, 0).se(2).se(-1).nal(0x41);
        let s = sets.slice_start(&frame).expect("slice");
        assert_eq!((s.field, s.idr_pic_id, s.poc_delta0, s.poc_delta1), (0, None, 2, -1));
        let unknown_pps = Bits::default().ue(0).ue(5).ue(8).u(4, 10).nal(0x41);
        assert_eq!(sets.slice_start(&unknown_pps), Err(ParamError::Missing("pic_parameter_set_id")));
    }

    #[test]
    fn rejects_out_of_range_fields_and_cropping_everything() {
        let bad_id = Bits::default().u(24, 0x42_c0_1e).ue(32).nal(0x67);
        assert_eq!(Sps::parse(&bad_id[1..]), Err(ParamError::OutOfRange("seq_parameter_set_id")));
        // 1 × 1 macroblock, cropped by 8 chroma units (16 pixels) horizontally.
        let b = Bits::default().u(24, 0x42_c0_1e).ue(0).ue(0).ue(0).ue(0).ue(1).u(1, 0);
        let all_cropped = b.ue(0).ue(0).u(1, 1).u(1, 1).u(1, 1).ue(4).ue(4).ue(0).ue(0).u(1, 0).nal(0x67);
        assert_eq!(Sps::parse(&all_cropped[1..]), Err(ParamError::OutOfRange("picture size or cropping")));
    }

    #[test]
    fn no_input_panics() {
        let nal = high_fields_sps();
        for len in 0..nal.len() {
            let _ = Sps::parse(&nal[1..len.max(1)]);
        }
        let mut flipped = nal.clone();
        let mut sets = ParamSets::default();
        for i in 8..flipped.len() * 8 {
            flipped[i / 8] ^= 1 << (i % 8);
            let _ = Sps::parse(&flipped[1..]);
            let _ = sets.put_sps(&flipped);
            let _ = sets.put_pps(&flipped);
            let _ = sets.slice_start(&flipped);
            flipped[i / 8] ^= 1 << (i % 8);
        }
        for nal in [&[][..], &[0x67], &[0x65], &[0x68, 0xff]] {
            let _ = (sets.put_sps(nal), sets.put_pps(nal), sets.slice_start(nal));
        }
    }
}
