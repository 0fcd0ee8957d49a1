//! The wire protocol between the server and the player, version 1: tagged binary messages, the same
//! bytes over every transport (a WebSocket message, a length-prefixed record of an HTTP stream, a
//! data-channel message). Documented in `docs/protocol.md`.
//!
//! Integers are big-endian. Every length is checked against the bytes present and against a limit;
//! decoding never panics and rejects trailing bytes.

/// Protocol version carried in [`Config`].
pub const VERSION: u8 = 1;

/// Largest access unit accepted (16 MiB; an 8K intra picture fits with room to spare).
pub const MAX_ACCESS_UNIT: usize = 16 << 20;

/// Largest parameter set (SPS/PPS) accepted.
pub const MAX_PARAMETER_SET: usize = 4096;

/// Largest text field (stream id, codec string, reason).
pub const MAX_TEXT: usize = 255;

/// Most detections in one [`Results`] message.
pub const MAX_DETECTIONS: usize = 256;

/// Message tags. Server→client tags have the high bit clear, client→server tags have it set.
mod tag {
    pub const CONFIG: u8 = 0x01;
    pub const FRAME: u8 = 0x02;
    pub const GAP: u8 = 0x03;
    pub const PONG: u8 = 0x04;
    pub const CLOSE: u8 = 0x05;
    pub const RESULTS: u8 = 0x06;
    pub const KEYFRAME_REQUEST: u8 = 0x81;
    pub const PING: u8 = 0x82;
    pub const REPORT: u8 = 0x83;
    pub const PAUSE: u8 = 0x84;
}

/// Why a message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The message is empty.
    #[error("empty message")]
    Empty,
    /// The tag byte names no message.
    #[error("unknown message tag {0:#04x}")]
    UnknownTag(u8),
    /// The message ends inside a field.
    #[error("message truncated in field `{0}`")]
    Truncated(&'static str),
    /// A length exceeds its limit.
    #[error("field `{field}` of {len} bytes exceeds the limit of {max}")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its declared length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Bytes remain after the last field.
    #[error("{0} unexpected bytes after the message")]
    Trailing(usize),
    /// A text field is not UTF-8.
    #[error("field `{0}` is not UTF-8")]
    NotUtf8(&'static str),
    /// A field has a value this version does not define.
    #[error("field `{0}` has the undefined value {1}")]
    BadValue(&'static str, u64),
    /// The peer speaks another protocol version.
    #[error("protocol version {0} is not supported (this is version {VERSION})")]
    Version(u8),
}

/// Stream configuration; sent first, and again whenever the parameter sets change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// The stream's id.
    pub stream: String,
    /// RFC 6381 codec string, e.g. `avc1.42C01F`.
    pub codec: String,
    /// Picture width.
    pub width: u16,
    /// Picture height.
    pub height: u16,
    /// Nominal frame rate × 1000 (0 if unknown).
    pub fps_milli: u32,
    /// SPS and PPS NAL units (no start codes).
    pub parameter_sets: Vec<Vec<u8>>,
}

/// Flags of a [`Frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameFlags(pub u8);

impl FrameFlags {
    /// The access unit is an IDR picture: decoding can start here.
    pub const KEY: u8 = 0x01;
    /// Sent from the GOP cache to a joining viewer: decode it, do not paint it.
    pub const CATCH_UP: u8 = 0x02;
    /// Frames before this one were not sent (see the preceding [`Gap`]).
    pub const DISCONTINUITY: u8 = 0x04;
    /// The last catch-up frame: it is the live edge, so it is painted.
    pub const LIVE_EDGE: u8 = 0x08;

    /// Whether the key flag is set.
    pub fn key(self) -> bool {
        self.0 & Self::KEY != 0
    }
    /// Whether the catch-up flag is set.
    pub fn catch_up(self) -> bool {
        self.0 & Self::CATCH_UP != 0
    }
    /// Whether the live-edge flag is set.
    pub fn live_edge(self) -> bool {
        self.0 & Self::LIVE_EDGE != 0
    }
    /// Whether the discontinuity flag is set.
    pub fn discontinuity(self) -> bool {
        self.0 & Self::DISCONTINUITY != 0
    }
}

/// One access unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Frame id: counts every access unit the source produced, gaps included.
    pub seq: u64,
    /// Presentation time in microseconds on the stream's own timeline.
    pub pts_us: u64,
    /// Capture wall-clock time, microseconds since the Unix epoch, on the server's clock.
    pub capture_us: u64,
    /// Key / catch-up / discontinuity.
    pub flags: FrameFlags,
    /// The access unit in Annex-B form.
    pub data: Vec<u8>,
}

/// Why frames were skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapReason {
    /// The viewer fell behind; its queue was cut back to the next keyframe.
    SlowViewer,
    /// The source itself lost frames.
    Source,
    /// The viewer asked not to get frames for a while ([`ClientMessage::Pause`]).
    Paused,
    /// Any other reason (unknown code from a newer peer).
    Other(u8),
}

impl GapReason {
    fn code(self) -> u8 {
        match self {
            GapReason::SlowViewer => 0,
            GapReason::Source => 1,
            GapReason::Paused => 2,
            GapReason::Other(c) => c,
        }
    }
    fn from_code(c: u8) -> GapReason {
        match c {
            0 => GapReason::SlowViewer,
            1 => GapReason::Source,
            2 => GapReason::Paused,
            c => GapReason::Other(c),
        }
    }
}

/// Frames `from..to` (exclusive) were not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// First skipped frame id.
    pub from: u64,
    /// One past the last skipped frame id.
    pub to: u64,
    /// Why.
    pub reason: GapReason,
}

/// Answer to a [`ClientMessage::Ping`], for clock-offset estimation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pong {
    /// The ping's id.
    pub id: u32,
    /// The client's send time, echoed.
    pub client_us: u64,
    /// The server's wall clock when it answered, microseconds since the Unix epoch.
    pub server_us: u64,
}

/// One object a model found in a picture; coordinates in pixels of the analysed picture.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Detection {
    /// Left edge.
    pub x: u16,
    /// Top edge.
    pub y: u16,
    /// Width.
    pub w: u16,
    /// Height.
    pub h: u16,
    /// Confidence in units of 1/10000 (10000 = certain).
    pub score: u16,
    /// What it is (`motion`, `face`, …).
    pub label: String,
}

impl Detection {
    /// Converts a 0..=1 confidence to the wire's 1/10000 units (clamped; NaN is 0).
    pub fn score_from_f32(score: f32) -> u16 {
        if score.is_nan() { 0 } else { (score.clamp(0.0, 1.0) * 10000.0).round() as u16 }
    }
    /// The confidence as 0..=1.
    pub fn score_f32(&self) -> f32 {
        f32::from(self.score) / 10000.0
    }
}

/// What a model found in one frame, keyed by the frame id it analysed — or, with `skipped` set, that
/// the model will not look at that frame (nor any earlier one it sent nothing for), so a player
/// holding frames for their results can let them go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Results {
    /// The analysed frame's id ([`Frame::seq`]).
    pub seq: u64,
    /// The frame was not analysed (a newer one was taken instead); no detections.
    pub skipped: bool,
    /// The model's name.
    pub model: String,
    /// When the result was produced, microseconds since the Unix epoch, on the server's clock.
    pub produced_us: u64,
    /// How long the model took, microseconds.
    pub inference_us: u32,
    /// Width of the analysed picture (the detections' coordinate space).
    pub width: u16,
    /// Height of the analysed picture.
    pub height: u16,
    /// What was found (at most [`MAX_DETECTIONS`]).
    pub detections: Vec<Detection>,
}

/// A message from the server to the player.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerMessage {
    /// Stream configuration.
    Config(Config),
    /// An access unit.
    Frame(Frame),
    /// Skipped frames.
    Gap(Gap),
    /// Clock-sync answer.
    Pong(Pong),
    /// A model's results for one frame.
    Results(Results),
    /// The server is closing the stream; `code` follows the WebSocket close-code ranges.
    Close {
        /// Reason code.
        code: u16,
        /// Human-readable reason.
        reason: String,
    },
}

/// A message from the player to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMessage {
    /// Ask for a keyframe (after loss or a decoder error).
    KeyframeRequest,
    /// Clock-sync probe with the client's clock (microseconds, any epoch).
    Ping {
        /// Probe id, echoed in the pong.
        id: u32,
        /// Client time at sending.
        client_us: u64,
    },
    /// What the player's overlay did since its last report (sent every few seconds while drawing).
    Report(Report),
    /// The player is hidden (`true`): send it no frames or results until it says `false`; it then
    /// resumes at the next keyframe, after a [`GapReason::Paused`] gap.
    Pause(bool),
}

/// A player's overlay report.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// Frames painted with their results drawn since the last report.
    pub overlays: u32,
    /// Results that arrived after their frame had been painted, since the last report.
    pub results_late: u32,
    /// Median age of those results when painted, microseconds ([`Report::UNKNOWN`] if not known).
    pub age_p50_us: u32,
}

impl Report {
    /// `age_p50_us` when the player's clock is not synced or nothing was drawn.
    pub const UNKNOWN: u32 = u32::MAX;
}

/// Reads fields from a message body.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], WireError> {
        if self.buf.len() < n {
            return Err(WireError::Truncated(field));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }
    fn u8(&mut self, field: &'static str) -> Result<u8, WireError> {
        Ok(self.take(1, field)?[0])
    }
    fn u16(&mut self, field: &'static str) -> Result<u16, WireError> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, field: &'static str) -> Result<u32, WireError> {
        let b = self.take(4, field)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self, field: &'static str) -> Result<u64, WireError> {
        let b = self.take(8, field)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    fn bytes(&mut self, len: usize, max: usize, field: &'static str) -> Result<&'a [u8], WireError> {
        if len > max {
            return Err(WireError::TooLong { field, len, max });
        }
        self.take(len, field)
    }
    fn text(&mut self, field: &'static str) -> Result<String, WireError> {
        let len = self.u8(field)? as usize;
        let b = self.bytes(len, MAX_TEXT, field)?;
        std::str::from_utf8(b).map(str::to_owned).map_err(|_| WireError::NotUtf8(field))
    }
    fn finish(self) -> Result<(), WireError> {
        if self.buf.is_empty() { Ok(()) } else { Err(WireError::Trailing(self.buf.len())) }
    }
}

fn put_text(out: &mut Vec<u8>, s: &str) {
    // Longer text is cut at a character boundary so the message always decodes.
    let mut end = s.len().min(MAX_TEXT);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.push(end as u8);
    out.extend_from_slice(&s.as_bytes()[..end]);
}

impl ServerMessage {
    /// Appends the encoded message to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ServerMessage::Config(c) => {
                out.push(tag::CONFIG);
                out.push(VERSION);
                put_text(out, &c.stream);
                put_text(out, &c.codec);
                out.extend_from_slice(&c.width.to_be_bytes());
                out.extend_from_slice(&c.height.to_be_bytes());
                out.extend_from_slice(&c.fps_milli.to_be_bytes());
                let sets: Vec<&Vec<u8>> =
                    c.parameter_sets.iter().filter(|p| p.len() <= MAX_PARAMETER_SET).take(255).collect();
                out.push(sets.len() as u8);
                for p in sets {
                    out.extend_from_slice(&(p.len() as u16).to_be_bytes());
                    out.extend_from_slice(p);
                }
            }
            ServerMessage::Frame(f) => {
                Self::encode_frame_header(f.seq, f.pts_us, f.capture_us, f.flags, f.data.len(), out);
                out.extend_from_slice(&f.data);
            }
            ServerMessage::Gap(g) => {
                out.push(tag::GAP);
                out.extend_from_slice(&g.from.to_be_bytes());
                out.extend_from_slice(&g.to.to_be_bytes());
                out.push(g.reason.code());
            }
            ServerMessage::Pong(p) => {
                out.push(tag::PONG);
                out.extend_from_slice(&p.id.to_be_bytes());
                out.extend_from_slice(&p.client_us.to_be_bytes());
                out.extend_from_slice(&p.server_us.to_be_bytes());
            }
            ServerMessage::Results(r) => {
                out.push(tag::RESULTS);
                out.extend_from_slice(&r.seq.to_be_bytes());
                out.push(u8::from(r.skipped));
                put_text(out, &r.model);
                out.extend_from_slice(&r.produced_us.to_be_bytes());
                out.extend_from_slice(&r.inference_us.to_be_bytes());
                out.extend_from_slice(&r.width.to_be_bytes());
                out.extend_from_slice(&r.height.to_be_bytes());
                let n = r.detections.len().min(MAX_DETECTIONS);
                out.extend_from_slice(&(n as u16).to_be_bytes());
                for d in &r.detections[..n] {
                    for v in [d.x, d.y, d.w, d.h, d.score] {
                        out.extend_from_slice(&v.to_be_bytes());
                    }
                    put_text(out, &d.label);
                }
            }
            ServerMessage::Close { code, reason } => {
                out.push(tag::CLOSE);
                out.extend_from_slice(&code.to_be_bytes());
                put_text(out, reason);
            }
        }
    }

    /// Writes a frame message's header; the `len` bytes of the access unit follow it. Lets a sender
    /// build the message around a shared access unit without copying it twice.
    pub fn encode_frame_header(
        seq: u64,
        pts_us: u64,
        capture_us: u64,
        flags: FrameFlags,
        len: usize,
        out: &mut Vec<u8>,
    ) {
        out.push(tag::FRAME);
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&pts_us.to_be_bytes());
        out.extend_from_slice(&capture_us.to_be_bytes());
        out.push(flags.0);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }

    /// The encoded message as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decodes one complete message.
    pub fn decode(msg: &[u8]) -> Result<ServerMessage, WireError> {
        let (&t, body) = msg.split_first().ok_or(WireError::Empty)?;
        let mut r = Reader { buf: body };
        let m = match t {
            tag::CONFIG => {
                let version = r.u8("version")?;
                if version != VERSION {
                    return Err(WireError::Version(version));
                }
                let stream = r.text("stream")?;
                let codec = r.text("codec")?;
                let width = r.u16("width")?;
                let height = r.u16("height")?;
                let fps_milli = r.u32("fps")?;
                let count = r.u8("parameter set count")?;
                let mut parameter_sets = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    let len = r.u16("parameter set length")? as usize;
                    parameter_sets.push(r.bytes(len, MAX_PARAMETER_SET, "parameter set")?.to_vec());
                }
                ServerMessage::Config(Config { stream, codec, width, height, fps_milli, parameter_sets })
            }
            tag::FRAME => {
                let seq = r.u64("seq")?;
                let pts_us = r.u64("pts")?;
                let capture_us = r.u64("capture time")?;
                let flags = FrameFlags(r.u8("flags")?);
                let len = r.u32("access unit length")? as usize;
                let data = r.bytes(len, MAX_ACCESS_UNIT, "access unit")?.to_vec();
                ServerMessage::Frame(Frame { seq, pts_us, capture_us, flags, data })
            }
            tag::GAP => {
                let from = r.u64("gap from")?;
                let to = r.u64("gap to")?;
                let reason = GapReason::from_code(r.u8("gap reason")?);
                ServerMessage::Gap(Gap { from, to, reason })
            }
            tag::PONG => ServerMessage::Pong(Pong {
                id: r.u32("pong id")?,
                client_us: r.u64("client time")?,
                server_us: r.u64("server time")?,
            }),
            tag::RESULTS => {
                let seq = r.u64("results seq")?;
                let skipped = match r.u8("results flags")? {
                    0 => false,
                    1 => true,
                    other => return Err(WireError::BadValue("results flags", other.into())),
                };
                let model = r.text("model")?;
                let produced_us = r.u64("produced time")?;
                let inference_us = r.u32("inference time")?;
                let width = r.u16("results width")?;
                let height = r.u16("results height")?;
                let n = r.u16("detection count")? as usize;
                if n > MAX_DETECTIONS {
                    return Err(WireError::TooLong { field: "detections", len: n, max: MAX_DETECTIONS });
                }
                let mut detections = Vec::with_capacity(n);
                for _ in 0..n {
                    let x = r.u16("detection")?;
                    let y = r.u16("detection")?;
                    let w = r.u16("detection")?;
                    let h = r.u16("detection")?;
                    let score = r.u16("detection")?;
                    let label = r.text("label")?;
                    detections.push(Detection { x, y, w, h, score, label });
                }
                ServerMessage::Results(Results {
                    seq,
                    skipped,
                    model,
                    produced_us,
                    inference_us,
                    width,
                    height,
                    detections,
                })
            }
            tag::CLOSE => {
                let code = r.u16("close code")?;
                let reason = r.text("close reason")?;
                ServerMessage::Close { code, reason }
            }
            other => return Err(WireError::UnknownTag(other)),
        };
        r.finish()?;
        Ok(m)
    }
}

impl ClientMessage {
    /// The encoded message.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            ClientMessage::KeyframeRequest => vec![tag::KEYFRAME_REQUEST],
            ClientMessage::Report(r) => {
                let mut out = vec![tag::REPORT];
                out.extend_from_slice(&r.overlays.to_be_bytes());
                out.extend_from_slice(&r.results_late.to_be_bytes());
                out.extend_from_slice(&r.age_p50_us.to_be_bytes());
                out
            }
            ClientMessage::Ping { id, client_us } => {
                let mut out = vec![tag::PING];
                out.extend_from_slice(&id.to_be_bytes());
                out.extend_from_slice(&client_us.to_be_bytes());
                out
            }
            ClientMessage::Pause(paused) => vec![tag::PAUSE, u8::from(*paused)],
        }
    }

    /// Decodes one complete message.
    pub fn decode(msg: &[u8]) -> Result<ClientMessage, WireError> {
        let (&t, body) = msg.split_first().ok_or(WireError::Empty)?;
        let mut r = Reader { buf: body };
        let m = match t {
            tag::KEYFRAME_REQUEST => ClientMessage::KeyframeRequest,
            tag::PING => ClientMessage::Ping { id: r.u32("ping id")?, client_us: r.u64("client time")? },
            tag::REPORT => ClientMessage::Report(Report {
                overlays: r.u32("overlays")?,
                results_late: r.u32("late results")?,
                age_p50_us: r.u32("age")?,
            }),
            tag::PAUSE => match r.u8("paused")? {
                0 => ClientMessage::Pause(false),
                1 => ClientMessage::Pause(true),
                v => return Err(WireError::BadValue("paused", v.into())),
            },
            other => return Err(WireError::UnknownTag(other)),
        };
        r.finish()?;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<ServerMessage> {
        vec![
            ServerMessage::Config(Config {
                stream: "cam-1".into(),
                codec: "avc1.42C01F".into(),
                width: 1280,
                height: 720,
                fps_milli: 30000,
                parameter_sets: vec![vec![0x67, 1, 2, 3], vec![0x68, 4]],
            }),
            ServerMessage::Frame(Frame {
                seq: 7,
                pts_us: 233_333,
                capture_us: 1_700_000_000_000_000,
                flags: FrameFlags(FrameFlags::KEY | FrameFlags::CATCH_UP),
                data: vec![0, 0, 0, 1, 0x65, 0x88],
            }),
            ServerMessage::Gap(Gap { from: 3, to: 9, reason: GapReason::SlowViewer }),
            ServerMessage::Gap(Gap { from: 3, to: 9, reason: GapReason::Paused }),
            ServerMessage::Gap(Gap { from: 3, to: 9, reason: GapReason::Other(77) }),
            ServerMessage::Pong(Pong { id: 5, client_us: 10, server_us: 20 }),
            ServerMessage::Close { code: 4008, reason: "too slow ✓".into() },
            ServerMessage::Results(Results {
                seq: 41,
                skipped: false,
                model: "motion".into(),
                produced_us: 1_700_000_000_000_123,
                inference_us: 1500,
                width: 640,
                height: 360,
                detections: vec![
                    Detection { x: 1, y: 2, w: 30, h: 40, score: 9876, label: "motion".into() },
                    Detection { x: 600, y: 300, w: 40, h: 60, score: 0, label: String::new() },
                ],
            }),
            ServerMessage::Results(Results { seq: 0, model: "m".into(), ..Results::default() }),
            ServerMessage::Results(Results {
                seq: 9,
                skipped: true,
                model: "m".into(),
                ..Results::default()
            }),
        ]
    }

    #[test]
    fn results_layout_and_detection_limit() {
        let r = Results {
            seq: 1,
            model: "m".into(),
            detections: vec![Detection { label: "a".into(), ..Detection::default() }; MAX_DETECTIONS + 5],
            ..Results::default()
        };
        let b = ServerMessage::Results(r).to_bytes();
        // tag, seq, flags, model, produced, inference, width, height, count, then 10 bytes + label each.
        assert_eq!(b.len(), 1 + 8 + 1 + 2 + 8 + 4 + 2 + 2 + 2 + MAX_DETECTIONS * 12);
        assert_eq!(&b[28..30], &(MAX_DETECTIONS as u16).to_be_bytes());
        let mut flags = b.clone();
        flags[9] = 2;
        assert_eq!(ServerMessage::decode(&flags), Err(WireError::BadValue("results flags", 2)));
        let mut over = b[..28].to_vec();
        over.extend_from_slice(&(MAX_DETECTIONS as u16 + 1).to_be_bytes());
        assert!(matches!(ServerMessage::decode(&over), Err(WireError::TooLong { field: "detections", .. })));
        assert_eq!(Detection::score_from_f32(0.5), 5000);
        assert_eq!(Detection::score_from_f32(7.0), 10000);
        assert_eq!(Detection::score_from_f32(f32::NAN), 0);
    }

    #[test]
    fn server_messages_round_trip() {
        for m in samples() {
            assert_eq!(ServerMessage::decode(&m.to_bytes()), Ok(m.clone()));
        }
    }

    #[test]
    fn client_messages_round_trip() {
        for m in [
            ClientMessage::KeyframeRequest,
            ClientMessage::Ping { id: 9, client_us: u64::MAX },
            ClientMessage::Report(Report { overlays: 30, results_late: 1, age_p50_us: Report::UNKNOWN }),
            ClientMessage::Pause(true),
            ClientMessage::Pause(false),
        ] {
            assert_eq!(ClientMessage::decode(&m.to_bytes()), Ok(m.clone()));
        }
    }

    #[test]
    fn frame_header_layout_is_fixed() {
        let m = ServerMessage::Frame(Frame {
            seq: 1,
            pts_us: 2,
            capture_us: 3,
            flags: FrameFlags(1),
            data: vec![9],
        });
        let b = m.to_bytes();
        assert_eq!(b.len(), 1 + 8 + 8 + 8 + 1 + 4 + 1);
        assert_eq!(&b[..9], &[2, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(&b[26..30], &[0, 0, 0, 1]);
    }

    #[test]
    fn every_truncation_and_extension_is_an_error() {
        for m in samples() {
            let b = m.to_bytes();
            for cut in 0..b.len() {
                assert!(ServerMessage::decode(&b[..cut]).is_err(), "{m:?} cut at {cut}");
            }
            let mut longer = b.clone();
            longer.push(0);
            assert_eq!(ServerMessage::decode(&longer), Err(WireError::Trailing(1)));
        }
    }

    #[test]
    fn limits_and_bad_fields() {
        let mut huge = vec![tag::FRAME];
        huge.extend_from_slice(&[0; 25]);
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(ServerMessage::decode(&huge), Err(WireError::TooLong { .. })));
        assert_eq!(ServerMessage::decode(&[0x7f]), Err(WireError::UnknownTag(0x7f)));
        assert_eq!(ServerMessage::decode(&[tag::CONFIG, 9]), Err(WireError::Version(9)));
        assert_eq!(
            ServerMessage::decode(&[tag::CLOSE, 0, 1, 1, 0xff]),
            Err(WireError::NotUtf8("close reason"))
        );
        assert_eq!(ClientMessage::decode(&[]), Err(WireError::Empty));
        assert_eq!(ClientMessage::decode(&[tag::KEYFRAME_REQUEST, 1]), Err(WireError::Trailing(1)));
        assert_eq!(ClientMessage::decode(&[tag::PAUSE, 2]), Err(WireError::BadValue("paused", 2)));
        assert_eq!(ClientMessage::decode(&[tag::PAUSE]), Err(WireError::Truncated("paused")));
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary() {
        let m = ServerMessage::Close { code: 1000, reason: "é".repeat(200) };
        match ServerMessage::decode(&m.to_bytes()) {
            Ok(ServerMessage::Close { reason, .. }) => assert_eq!(reason, "é".repeat(127)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x: u32 = 1;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let len = (x % 64) as usize;
            let bytes: Vec<u8> = (0..len).map(|i| (x.rotate_left(i as u32) & 0xff) as u8).collect();
            let _ = ServerMessage::decode(&bytes);
            let _ = ClientMessage::decode(&bytes);
        }
    }
}
