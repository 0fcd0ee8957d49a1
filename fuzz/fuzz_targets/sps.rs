//! SPS parsing (`nalcast_proto::params` underneath): never panics on any bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nalcast_proto::sps::SpsInfo;

fuzz_target!(|data: &[u8]| {
    let mut nal = vec![0x67];
    nal.extend_from_slice(data);
    if let Ok(info) = SpsInfo::parse(&nal) {
        let _ = info.codec_string();
    }
});
