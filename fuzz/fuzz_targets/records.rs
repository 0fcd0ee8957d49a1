//! Length-prefixed records: never panic, never allocate past the limit, pieces do not matter.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nalcast_proto::records::RecordReader;

fuzz_target!(|input: (u8, &[u8])| {
    let (cut, data) = input;
    let cut = cut as usize % (data.len() + 1);
    let read = |parts: &[&[u8]]| {
        let mut r = RecordReader::new(4096);
        let mut out = Vec::new();
        for p in parts {
            if r.push(p).is_err() {
                return None;
            }
            while let Some(m) = r.pull() {
                out.push(m);
            }
        }
        Some((out, r.pending()))
    };
    let whole = read(&[data]);
    let split = read(&[&data[..cut], &data[cut..]]);
    if whole.is_some() {
        assert_eq!(whole, split);
    }
});
