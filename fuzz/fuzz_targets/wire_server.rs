//! Server→client messages: decoding never panics, and whatever decodes re-encodes to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nalcast_proto::wire::ServerMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ServerMessage::decode(data) {
        assert_eq!(m.to_bytes(), data);
    }
});
