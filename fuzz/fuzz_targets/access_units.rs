//! Access-unit boundaries: never panic; ranges are ordered, disjoint and inside the input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nalcast_proto::au::access_units;

fuzz_target!(|data: &[u8]| {
    let units = access_units(data);
    let mut end = 0;
    for r in units {
        assert!(r.start >= end && r.start < r.end && r.end <= data.len());
        end = r.end;
    }
});
