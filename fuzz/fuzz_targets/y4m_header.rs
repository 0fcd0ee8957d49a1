//! Y4M header lines: any bytes are accepted or refused, never a panic; an accepted header declares a
//! picture the server can afford to allocate (the reader allocates `frame_len()` bytes up front).
#![no_main]
use libfuzzer_sys::fuzz_target;
use nalcast_server::sources::y4m_file::Y4mHeader;

/// The largest picture buffer an accepted header may ask for: 8192×8192 in 4:2:0.
const MAX_FRAME_LEN: usize = 8192 * 8192 * 3 / 2;

fuzz_target!(|line: &[u8]| {
    if let Ok(h) = Y4mHeader::parse(line) {
        assert!(h.width > 0 && h.height > 0, "{h:?}");
        assert!(h.fps.is_finite() && h.fps > 0.0, "{h:?}");
        let len = h.frame_len();
        assert!(len <= MAX_FRAME_LEN, "{h:?} wants {len} bytes per frame");
        assert!(len >= h.width * h.height, "{h:?}");
    }
});
