//! The native OpenH264 wrapper on mutated streams (seeded with conformance streams): whatever the
//! bytes, decoding returns pictures or typed errors, never a crash, and every picture it returns is
//! readable in full at the size it claims.
//!
//! The input is one Annex-B stream of at most [`MAX_INPUT`] bytes. Odd-length inputs are decoded
//! the way the conformance test drives OpenH264 (`decode`, NAL unit by NAL unit); even-length ones
//! the way a live viewer does (access units through `decode_access_unit`). Both end with `flush`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nalcast_codec::{Decoder, Frame};
use nalcast_proto::au::access_units;

/// Longest input tried: enough for dozens of QCIF/CIF pictures, small enough to stay fast.
const MAX_INPUT: usize = 256 * 1024;

/// Reads the whole picture and checks it has the size the frame claims.
fn check(frame: Frame<'_>, out: &mut Vec<u8>) {
    assert!(frame.width > 0 && frame.height > 0);
    assert!(frame.y_stride >= frame.width && frame.uv_stride >= frame.chroma_width());
    out.clear();
    frame.write_i420(out);
    assert_eq!(out.len(), frame.i420_len(), "{}x{}", frame.width, frame.height);
}

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    let mut decoder = Decoder::with_log(Box::new(|_, _| {})).expect("a decoder can be created");
    let mut out = Vec::new();
    if data.len() % 2 == 1 {
        let _ = decoder.decode(data, |f| check(f, &mut out));
    } else {
        for (i, au) in access_units(data).into_iter().enumerate() {
            let _ = decoder.decode_access_unit(&data[au], i as u64, |f| check(f, &mut out));
        }
    }
    let _ = decoder.flush(|f| check(f, &mut out));
    // The decoder stays usable after anything: a second flush on the drained decoder is harmless.
    let _ = decoder.flush(|f| check(f, &mut out));
});
