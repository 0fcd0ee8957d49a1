//! Delivery to viewers. Each transport only moves the hub's pre-encoded wire messages and the
//! viewers' control messages; policy lives in the hub and `nalcast-proto`.

pub mod http;
pub mod webrtc;
pub mod ws;

use crate::frame::WireFrame;
use crate::hub::{Hub, ViewerSlot};
use bytes::Bytes;
use nalcast_proto::playout::Outgoing;
use nalcast_proto::wire::{ClientMessage, Pong, ServerMessage};

/// Bytes of a frame message that are not the access unit (tag, ids, times, flags, length).
pub const FRAME_HEADER: usize = 1 + 8 + 8 + 8 + 1 + 4;

/// Access-unit bytes in a wire message (0 unless it is a frame).
pub fn video_len(message: &[u8]) -> u64 {
    if message.first() == Some(&0x02) { message.len().saturating_sub(FRAME_HEADER) as u64 } else { 0 }
}

/// The bytes of one queued item as a wire message.
pub fn message_bytes(item: Outgoing<WireFrame>) -> Bytes {
    match item {
        Outgoing::Frame(f) => f.message,
        Outgoing::Gap(g) => ServerMessage::Gap(g).to_bytes().into(),
        Outgoing::Config(c) => ServerMessage::Config(c).to_bytes().into(),
        Outgoing::Results(r) => ServerMessage::Results(r).to_bytes().into(),
    }
}

/// Acts on a viewer's control message; returns the answer to send back, if any.
pub fn handle_control(hub: &Hub, slot: &ViewerSlot, message: &ClientMessage) -> Option<ServerMessage> {
    match message {
        ClientMessage::KeyframeRequest => {
            slot.restart_at_keyframe(hub.next_seq());
            hub.request_keyframe();
            None
        }
        ClientMessage::Report(r) => {
            hub.paint_reports.add(r);
            None
        }
        ClientMessage::Pause(paused) => {
            if slot.pause(*paused, hub.next_seq()) && !paused {
                // The viewer resumes at the next keyframe: ask for one now rather than wait a GOP.
                hub.request_keyframe();
            }
            None
        }
        ClientMessage::Ping { id, client_us } => Some(ServerMessage::Pong(Pong {
            id: *id,
            client_us: *client_us,
            server_us: crate::sources::now_us(),
        })),
    }
}
