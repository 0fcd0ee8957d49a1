//! Delivery to viewers. Each transport only moves the hub's pre-encoded wire messages and the
//! viewers' control messages; policy lives in the hub and `nalcast-proto`.

pub mod ws;
