//! Signaling: any text as a browser's SDP offer is answered or refused, never a panic; an answer
//! we produce parses back as SDP (the server's own half of the exchange must be well formed).
#![no_main]
use libfuzzer_sys::fuzz_target;
use nalcast_server::transports::webrtc::{MAX_SDP, answer_offer};
use std::net::SocketAddr;
use std::time::Instant;
use str0m::change::SdpAnswer;

fuzz_target!(|data: &[u8]| {
    // The HTTP handler refuses larger or non-UTF-8 bodies before parsing.
    if data.len() > MAX_SDP {
        return;
    }
    let Ok(offer) = std::str::from_utf8(data) else { return };
    let candidates: [SocketAddr; 2] =
        [([127, 0, 0, 1], 9000).into(), ([0xfd00, 0, 0, 0, 0, 0, 0, 1], 9000).into()];
    if let Ok((_rtc, answer)) = answer_offer(offer, &candidates, Instant::now())
        && let Err(e) = SdpAnswer::from_sdp_string(&answer)
    {
        panic!("our answer does not parse ({e}):\n{answer}");
    }
});
