//! nalcast's sans-IO core, shared by the server and the browser client.
//!
//! Nothing here touches a socket, a clock or a thread: bytes and times come in as arguments and
//! results come out as values, so every piece is tested with byte vectors. This crate owns H.264
//! bitstream framing (Annex-B, H.264 Annex B) and the parameter-set facts the player needs (colour
//! description from the SPS VUI, H.264 E.2.1). It does not decode pictures; that is `nalcast-codec`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod annexb;
pub mod au;
pub mod avcc;
pub mod bits;
pub mod bus;
pub mod chunks;
pub mod overlay;
pub mod params;
pub mod playout;
pub mod records;
pub mod small_sort;
mod sorted;
pub mod sps;
pub mod wire;
