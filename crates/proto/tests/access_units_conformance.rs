//! Access-unit assembly on the real conformance streams: the number of access units equals the
//! number of pictures ffmpeg outputs (all streams are progressive, one picture per access unit), and
//! the incremental assembler fed in odd-sized pieces finds exactly the same units.

mod common;

use nalcast_proto::au::{AccessUnitAssembler, access_units};

#[test]
fn access_units_match_picture_counts_and_pieces_do_not_matter() {
    let conformance = common::Conformance::open();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for file in &conformance.files {
        // Damaged or SVC-only streams have no meaningful picture count.
        let Some(frames) = file["frames"]["ffmpeg"].as_u64() else { continue };
        if file["status"] == "no_upstream_hash"
            || file["status"] == "svc_only_openh264_verified_ffmpeg_cannot_decode"
        {
            continue;
        }
        let (name, data) = conformance.read(file);
        let units = access_units(&data);
        if units.len() as u64 != frames {
            wrong.push(format!("{name}: {} access units, {frames} pictures", units.len()));
        }
        let mut asm = AccessUnitAssembler::new(16 << 20);
        let mut pieces = Vec::new();
        for chunk in data.chunks(997) {
            asm.push(chunk);
            while let Some(au) = asm.pull() {
                pieces.push(au);
            }
        }
        while let Some(au) = asm.finish() {
            pieces.push(au);
        }
        assert_eq!(pieces.len(), units.len(), "{name}: assembler vs whole-buffer split");
        assert!(
            pieces[0].key || name.contains("LOST") || name.starts_with("sps_"),
            "{name}: starts with an IDR"
        );
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} streams checked");
    assert!(wrong.is_empty(), "{wrong:#?}");
}
