//! Annex-B splitting: never panics; every NAL unit is non-empty, inside the input, and ends in a
//! non-zero byte.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nalcast_proto::annexb::nal_units;

fuzz_target!(|data: &[u8]| {
    for nal in nal_units(data) {
        assert!(!nal.payload.is_empty());
        assert!(nal.with_start_code.ends_with(nal.payload));
        assert_ne!(nal.payload.last(), Some(&0));
    }
});
