//! MP4 avcC records and length-prefixed samples: never panic; a converted sample splits back into
//! NAL units.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nalcast_proto::avcc::AvcConfig;

fuzz_target!(|input: (&[u8], &[u8], bool)| {
    let (record, sample, sync) = input;
    if let Ok(config) = AvcConfig::parse(record)
        && let Ok(au) = config.sample_to_annexb(sample, sync)
    {
        let _ = nalcast_proto::annexb::nal_units(&au).count();
    }
});
