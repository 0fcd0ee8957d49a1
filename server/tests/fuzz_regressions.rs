//! Inputs the server's fuzz targets (`fuzz/`) once crashed on, kept so the fixes stay fixed. Each
//! test names its target and what went wrong.

use nalcast_server::sources::y4m_file::Y4mHeader;

/// `y4m_header`: a word starting with a multi-byte character was split inside that character
/// (`str::split_at(1)` panicked). Now it is an unknown tag, ignored; the header still lacks `H`.
#[test]
fn y4m_header_word_starting_with_a_multibyte_character() {
    let crash: &[u8] = b"YUV4MPEG2 \xcc\xb2YUV4MPEG2 W3";
    assert!(Y4mHeader::parse(crash).is_err());
    let ok = Y4mHeader::parse(b"YUV4MPEG2 \xcc\xb2x W4 H2 \xc3\xa9").expect("unknown tags are ignored");
    assert_eq!((ok.width, ok.height), (4, 2));
}
