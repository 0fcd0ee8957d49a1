//! nalcast's own parameter-set and slice-header reading ([`nalcast_proto::params`]) against
//! `h264-reader` (a dev-dependency only) on every NAL unit of every conformance stream: each SPS
//! gives the same size, profile and VUI facts, and each slice header the same fields that tell
//! pictures apart, whenever `h264-reader` parses it.

mod common;

use h264_reader::Context;
use h264_reader::nal::NalHeader;
use h264_reader::nal::pps::PicParameterSet;
use h264_reader::nal::slice::{Field, FieldPic, PicOrderCountLsb, SliceHeader};
use h264_reader::nal::sps::SeqParameterSet;
use h264_reader::rbsp::{BitReader, decode_nal};
use nalcast_proto::annexb::nal_units;
use nalcast_proto::params::{ParamSets, Sps};

/// Compares one SPS; returns whether `h264-reader` parsed it.
fn check_sps(name: &str, nal: &[u8]) -> bool {
    let Ok(rbsp) = decode_nal(nal) else { return false };
    let Ok(theirs) = SeqParameterSet::from_bits(BitReader::new(&rbsp[..])) else { return false };
    let ours = Sps::parse(&nal[1..]).unwrap_or_else(|e| panic!("{name}: SPS h264-reader reads: {e}"));
    let vui = theirs.vui_parameters.as_ref();
    let signal = vui.and_then(|v| v.video_signal_type.as_ref());
    let timing = vui.and_then(|v| v.timing_info.as_ref()).map(|t| (t.num_units_in_tick, t.time_scale));
    assert_eq!((ours.width, ours.height), theirs.pixel_dimensions().expect("dimensions"), "{name}: size");
    assert_eq!(ours.profile_idc, u8::from(theirs.profile_idc), "{name}: profile");
    assert_eq!(ours.constraint_flags, u8::from(theirs.constraint_flags), "{name}: constraints");
    assert_eq!(ours.level_idc, theirs.level_idc, "{name}: level");
    assert_eq!(ours.id, theirs.seq_parameter_set_id.id(), "{name}: id");
    assert_eq!(ours.frame_num_bits, theirs.log2_max_frame_num(), "{name}: frame_num bits");
    assert_eq!(ours.full_range, signal.is_some_and(|s| s.video_full_range_flag), "{name}: range");
    assert_eq!(
        ours.matrix_coefficients,
        signal.and_then(|s| s.colour_description.as_ref()).map(|c| c.matrix_coefficients),
        "{name}: matrix"
    );
    assert_eq!(ours.timing, timing, "{name}: timing");
    true
}

#[test]
fn parameter_sets_and_slice_headers_read_as_h264_reader_reads_them() {
    let conformance = common::Conformance::open();
    let (mut sps_checked, mut slices_checked, mut streams) = (0, 0, 0);
    for file in &conformance.files {
        let (name, data) = conformance.read(file);
        let name = name.as_str();
        let (mut ctx, mut ours) = (Context::default(), ParamSets::default());
        for nal in nal_units(&data) {
            let nal = nal.payload;
            let Some(&first) = nal.first() else { continue };
            match first & 0x1f {
                7 => {
                    if check_sps(name, nal) {
                        sps_checked += 1;
                        let rbsp = decode_nal(nal).expect("decoded above");
                        ctx.put_seq_param_set(
                            SeqParameterSet::from_bits(BitReader::new(&rbsp[..])).expect("above"),
                        );
                    }
                    let _ = ours.put_sps(nal);
                }
                8 => {
                    if let Ok(rbsp) = decode_nal(nal)
                        && let Ok(pps) = PicParameterSet::from_bits(&ctx, BitReader::new(&rbsp[..]))
                    {
                        ctx.put_pic_param_set(pps);
                    }
                    let _ = ours.put_pps(nal);
                }
                1 | 5 => {
                    let Ok(header) = NalHeader::new(first) else { continue };
                    let Ok(rbsp) = decode_nal(nal) else { continue };
                    let mut r = BitReader::new(&rbsp[..]);
                    let Ok((sh, _, pps)) = SliceHeader::from_bits(&ctx, &mut r, header, None) else {
                        continue;
                    };
                    let s = ours
                        .slice_start(nal)
                        .unwrap_or_else(|e| panic!("{name}: slice h264-reader reads: {e}"));
                    let field = match sh.field_pic {
                        FieldPic::Frame => 0,
                        FieldPic::Field(Field::Top) => 1,
                        FieldPic::Field(Field::Bottom) => 2,
                    };
                    let poc = match sh.pic_order_cnt_lsb {
                        Some(PicOrderCountLsb::Frame(lsb)) => (lsb, 0, 0),
                        Some(PicOrderCountLsb::FieldsAbsolute {
                            pic_order_cnt_lsb,
                            delta_pic_order_cnt_bottom,
                        }) => (pic_order_cnt_lsb, delta_pic_order_cnt_bottom, 0),
                        Some(PicOrderCountLsb::FieldsDelta([a, b])) => (0, a, b),
                        None => (0, 0, 0),
                    };
                    assert_eq!(s.first_mb, sh.first_mb_in_slice, "{name}: first_mb_in_slice");
                    assert_eq!(s.pps_id, pps.pic_parameter_set_id.id(), "{name}: pps id");
                    assert_eq!(s.frame_num, sh.frame_num, "{name}: frame_num");
                    assert_eq!(s.field, field, "{name}: field");
                    assert_eq!(s.idr_pic_id.map(u32::from), sh.idr_pic_id, "{name}: idr_pic_id");
                    assert_eq!((s.poc_lsb, s.poc_delta0, s.poc_delta1), poc, "{name}: POC fields");
                    slices_checked += 1;
                }
                _ => {}
            }
        }
        streams += 1;
    }
    println!("{streams} streams: {sps_checked} SPS and {slices_checked} slice headers read alike");
    assert!(streams >= 50 && sps_checked >= 50 && slices_checked >= 10_000, "too little checked");
}
