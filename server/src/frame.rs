//! Frames as the server moves them: produced by a source ([`SourceFrame`]), then encoded once as a
//! wire message and shared by every viewer ([`WireFrame`]) — fan-out copies a pointer, not video.

use bytes::Bytes;
use nalcast_proto::playout::QueuedFrame;
use nalcast_proto::wire::{FrameFlags, ServerMessage};

/// One access unit from a source.
#[derive(Debug, Clone)]
pub struct SourceFrame {
    /// Presentation time on the stream's timeline, microseconds.
    pub pts_us: u64,
    /// Wall-clock capture time, microseconds since the Unix epoch.
    pub capture_us: u64,
    /// Whether it is an IDR access unit.
    pub key: bool,
    /// Annex-B access unit.
    pub data: Bytes,
}

/// A frame encoded as a wire `Frame` message, shared by all viewers.
#[derive(Debug, Clone)]
pub struct WireFrame {
    /// Frame id.
    pub seq: u64,
    /// Whether it is an IDR access unit.
    pub key: bool,
    /// Capture time (for stats).
    pub capture_us: u64,
    /// The complete message.
    pub message: Bytes,
}

/// Offset of the flags byte in an encoded frame message (tag, seq, pts, capture time).
const FLAGS_OFFSET: usize = 1 + 8 + 8 + 8;

impl WireFrame {
    /// Encodes `frame` as message number `seq`.
    pub fn encode(seq: u64, frame: &SourceFrame) -> WireFrame {
        let flags = FrameFlags(if frame.key { FrameFlags::KEY } else { 0 });
        let mut out = Vec::with_capacity(frame.data.len() + 32);
        ServerMessage::encode_frame_header(
            seq,
            frame.pts_us,
            frame.capture_us,
            flags,
            frame.data.len(),
            &mut out,
        );
        out.extend_from_slice(&frame.data);
        WireFrame { seq, key: frame.key, capture_us: frame.capture_us, message: out.into() }
    }

    /// A copy marked as catch-up (decode, don't paint), for a viewer joining from the GOP cache.
    pub fn as_catch_up(&self) -> WireFrame {
        self.with_flags(FrameFlags::CATCH_UP)
    }

    /// A copy with `flags` added.
    pub fn with_flags(&self, flags: u8) -> WireFrame {
        let mut m = self.message.to_vec();
        if let Some(f) = m.get_mut(FLAGS_OFFSET) {
            *f |= flags;
        }
        WireFrame { message: m.into(), ..self.clone() }
    }
}

impl QueuedFrame for WireFrame {
    fn seq(&self) -> u64 {
        self.seq
    }
    fn is_key(&self) -> bool {
        self.key
    }
    fn wire_len(&self) -> usize {
        self.message.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_once_and_marks_catch_up() {
        let f =
            SourceFrame { pts_us: 5, capture_us: 6, key: true, data: Bytes::from_static(&[0, 0, 1, 0x65]) };
        let w = WireFrame::encode(42, &f);
        let Ok(ServerMessage::Frame(m)) = ServerMessage::decode(&w.message) else { panic!("decodes") };
        assert_eq!(
            (m.seq, m.pts_us, m.capture_us, m.flags.key(), m.flags.catch_up()),
            (42, 5, 6, true, false)
        );
        let Ok(ServerMessage::Frame(c)) = ServerMessage::decode(&w.as_catch_up().message) else {
            panic!("decodes")
        };
        assert!(c.flags.catch_up() && c.flags.key());
        assert_eq!(c.data, m.data);
    }
}
