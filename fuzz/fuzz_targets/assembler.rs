//! Incremental splitting and access-unit assembly: never panic, and pieces do not matter — the
//! input cut at a fuzzer-chosen point gives the same access units as the whole.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nalcast_proto::au::{AccessUnitAssembler, access_units};

fuzz_target!(|input: (u16, &[u8])| {
    let (cut, data) = input;
    let cut = cut as usize % (data.len() + 1);
    let mut asm = AccessUnitAssembler::new(1 << 20);
    asm.push(&data[..cut]);
    asm.push(&data[cut..]);
    let mut got = Vec::new();
    while let Some(au) = asm.pull() {
        got.push(au);
    }
    while let Some(au) = asm.finish() {
        got.push(au);
    }
    assert_eq!(got.len(), access_units(data).len());
});
