//! Data-channel chunk reassembly: any sequence of chunks never panics and memory stays bounded.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nalcast_proto::chunks::Reassembler;

fuzz_target!(|input: (bool, Vec<Vec<u8>>)| {
    let (ordered, chunks) = input;
    let mut r = Reassembler::new(ordered, 64 * 1024, 8);
    for c in &chunks {
        let _ = r.push(c);
        assert!(r.held_bytes() <= 2 * 64 * 1024 + 16 * 1024);
    }
});
