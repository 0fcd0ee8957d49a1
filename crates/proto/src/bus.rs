//! What nalcast nodes say to each other over a message broker (NATS): access units with their frame
//! ids, stream announcements, and the subject names they travel on. Pure encoding — the broker
//! driver lives in the server (`server/src/bus/`); results reuse [`crate::wire::ServerMessage`].
//!
//! Integers are big-endian; every message starts with a tag and the bus version. Decoding checks
//! every length against the bytes present and a limit, rejects trailing bytes and never panics.

use crate::wire::{MAX_ACCESS_UNIT, MAX_TEXT};

/// Version of the bus messages.
pub const BUS_VERSION: u8 = 1;

/// Prefix of every nalcast subject.
pub const SUBJECT_PREFIX: &str = "nalcast";

/// The subject stream announcements go to.
pub const ANNOUNCE_SUBJECT: &str = "nalcast.streams";

mod tag {
    pub const ACCESS_UNIT: u8 = 0x01;
    pub const ANNOUNCE: u8 = 0x02;
}

/// Why a bus message or subject could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// The message is empty.
    #[error("empty bus message")]
    Empty,
    /// The tag byte names no bus message (or another one than expected).
    #[error("unexpected bus message tag {0:#04x}")]
    UnknownTag(u8),
    /// The sender speaks another bus version.
    #[error("bus version {0} is not supported (this is version {BUS_VERSION})")]
    Version(u8),
    /// The message ends inside a field.
    #[error("bus message truncated in field `{0}`")]
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
    #[error("{0} unexpected bytes after the bus message")]
    Trailing(usize),
    /// A text field is not UTF-8.
    #[error("field `{0}` is not UTF-8")]
    NotUtf8(&'static str),
    /// A stream id cannot be (or was not) turned into a subject token.
    #[error("stream id {0:?} cannot name a subject")]
    BadStreamId(String),
}

/// One access unit as it travels on `nalcast.<stream>.au`; the data borrows the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessUnit<'a> {
    /// Frame id, as the origin numbers it; results refer to it.
    pub seq: u64,
    /// Presentation time on the stream's timeline, microseconds.
    pub pts_us: u64,
    /// Wall-clock capture time, microseconds since the Unix epoch.
    pub capture_us: u64,
    /// Whether it is an IDR access unit.
    pub key: bool,
    /// The Annex-B access unit.
    pub data: &'a [u8],
}

/// Size of an encoded access unit's header (tag, version, seq, pts, capture, flags, length).
pub const ACCESS_UNIT_HEADER: usize = 1 + 1 + 8 + 8 + 8 + 1 + 4;

const FLAG_KEY: u8 = 0x01;

impl AccessUnit<'_> {
    /// Appends the encoded message to `out`. Data longer than [`MAX_ACCESS_UNIT`] is not encodable:
    /// the caller drops such a unit (see [`AccessUnit::fits`]).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(ACCESS_UNIT_HEADER + self.data.len());
        out.push(tag::ACCESS_UNIT);
        out.push(BUS_VERSION);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.pts_us.to_be_bytes());
        out.extend_from_slice(&self.capture_us.to_be_bytes());
        out.push(if self.key { FLAG_KEY } else { 0 });
        out.extend_from_slice(&(self.data.len() as u32).to_be_bytes());
        out.extend_from_slice(self.data);
    }

    /// Whether the unit is small enough to encode.
    pub fn fits(&self) -> bool {
        self.data.len() <= MAX_ACCESS_UNIT
    }

    /// The encoded message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decodes a message; `data` borrows from `msg`. Unknown flag bits are ignored.
    pub fn decode(msg: &[u8]) -> Result<AccessUnit<'_>, BusError> {
        let mut r = Reader::open(msg, tag::ACCESS_UNIT)?;
        let seq = r.u64("seq")?;
        let pts_us = r.u64("pts")?;
        let capture_us = r.u64("capture")?;
        let flags = r.u8("flags")?;
        let len = r.u32("length")? as usize;
        let data = r.bytes(len, MAX_ACCESS_UNIT, "data")?;
        r.finish()?;
        Ok(AccessUnit { seq, pts_us, capture_us, key: flags & FLAG_KEY != 0, data })
    }
}

/// "This stream exists and I am its origin", sent on [`ANNOUNCE_SUBJECT`] periodically so that nodes
/// starting late learn the streams.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Announce {
    /// Stream id (any text; [`subject`] escapes it).
    pub stream: String,
    /// What feeds it at the origin (`pattern`, `rtsp`, …).
    pub kind: String,
    /// Nominal frame rate in 1/1000 fps (0 = unknown).
    pub fps_milli: u32,
    /// The origin's session (changes when the origin restarts).
    pub origin: u64,
}

impl Announce {
    /// Appends the encoded message to `out` (text longer than [`MAX_TEXT`] is cut).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(tag::ANNOUNCE);
        out.push(BUS_VERSION);
        put_text(out, &self.stream);
        put_text(out, &self.kind);
        out.extend_from_slice(&self.fps_milli.to_be_bytes());
        out.extend_from_slice(&self.origin.to_be_bytes());
    }

    /// The encoded message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decodes a message.
    pub fn decode(msg: &[u8]) -> Result<Announce, BusError> {
        let mut r = Reader::open(msg, tag::ANNOUNCE)?;
        let stream = r.text("stream")?;
        let kind = r.text("kind")?;
        let fps_milli = r.u32("fps")?;
        let origin = r.u64("origin")?;
        r.finish()?;
        Ok(Announce { stream, kind, fps_milli, origin })
    }
}

/// What travels on a stream's subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Access units ([`AccessUnit`]).
    AccessUnits,
    /// Model results (a wire `Results` message).
    Results,
    /// Keyframe requests (empty messages) from viewers' nodes to the origin.
    Keyframe,
}

impl Topic {
    fn suffix(self) -> &'static str {
        match self {
            Topic::AccessUnits => "au",
            Topic::Results => "results",
            Topic::Keyframe => "keyframe",
        }
    }
}

/// The subject of `stream`'s `topic`: `nalcast.<token>.<topic>`, the id escaped by [`stream_token`].
pub fn subject(stream: &str, topic: Topic) -> Result<String, BusError> {
    Ok(format!("{SUBJECT_PREFIX}.{}.{}", stream_token(stream)?, topic.suffix()))
}

/// A stream id as one subject token. Letters, digits, `-` and `_` stay; every other byte — `.`,
/// `*`, `>`, whitespace, `%`, non-ASCII — becomes `%XX` (upper-case hex), so distinct ids give
/// distinct tokens and no id can add a subject level or a wildcard. Empty ids and ids longer than
/// [`MAX_TEXT`] bytes are refused.
pub fn stream_token(stream: &str) -> Result<String, BusError> {
    if stream.is_empty() || stream.len() > MAX_TEXT {
        return Err(BusError::BadStreamId(stream.into()));
    }
    let mut out = String::with_capacity(stream.len());
    for b in stream.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 0x0f));
        }
    }
    Ok(out)
}

/// The stream id a token names (the inverse of [`stream_token`]); anything it would not have
/// produced is refused.
pub fn stream_from_token(token: &str) -> Result<String, BusError> {
    let bad = || BusError::BadStreamId(token.into());
    let mut bytes = Vec::with_capacity(token.len());
    let mut it = token.bytes();
    while let Some(b) = it.next() {
        if b == b'%' {
            let hi = it.next().and_then(hex_value).ok_or_else(bad)?;
            let lo = it.next().and_then(hex_value).ok_or_else(bad)?;
            let v = hi << 4 | lo;
            if v.is_ascii_alphanumeric() || v == b'-' || v == b'_' {
                return Err(bad()); // never escaped: two spellings of one id
            }
            bytes.push(v);
        } else if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            bytes.push(b);
        } else {
            return Err(bad());
        }
    }
    let id = String::from_utf8(bytes).map_err(|_| bad())?;
    if id.is_empty() || id.len() > MAX_TEXT {
        return Err(bad());
    }
    Ok(id)
}

fn hex_digit(v: u8) -> char {
    char::from(b"0123456789ABCDEF"[usize::from(v & 0x0f)])
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn put_text(out: &mut Vec<u8>, s: &str) {
    let mut end = s.len().min(MAX_TEXT);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.push(end as u8);
    out.extend_from_slice(&s.as_bytes()[..end]);
}

/// Reads fields from a bus message.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Checks the tag and the version.
    fn open(msg: &'a [u8], want: u8) -> Result<Reader<'a>, BusError> {
        let (&tag, rest) = msg.split_first().ok_or(BusError::Empty)?;
        if tag != want {
            return Err(BusError::UnknownTag(tag));
        }
        let mut r = Reader { buf: rest };
        let version = r.u8("version")?;
        if version != BUS_VERSION {
            return Err(BusError::Version(version));
        }
        Ok(r)
    }
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], BusError> {
        if self.buf.len() < n {
            return Err(BusError::Truncated(field));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], BusError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, field)?);
        Ok(a)
    }
    fn u8(&mut self, field: &'static str) -> Result<u8, BusError> {
        Ok(self.array::<1>(field)?[0])
    }
    fn u32(&mut self, field: &'static str) -> Result<u32, BusError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }
    fn u64(&mut self, field: &'static str) -> Result<u64, BusError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }
    fn bytes(&mut self, len: usize, max: usize, field: &'static str) -> Result<&'a [u8], BusError> {
        if len > max {
            return Err(BusError::TooLong { field, len, max });
        }
        self.take(len, field)
    }
    fn text(&mut self, field: &'static str) -> Result<String, BusError> {
        let len = usize::from(self.u8(field)?);
        let b = self.bytes(len, MAX_TEXT, field)?;
        std::str::from_utf8(b).map(str::to_owned).map_err(|_| BusError::NotUtf8(field))
    }
    fn finish(self) -> Result<(), BusError> {
        if self.buf.is_empty() { Ok(()) } else { Err(BusError::Trailing(self.buf.len())) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AU: AccessUnit<'static> = AccessUnit {
        seq: 0x0102_0304_0506_0708,
        pts_us: 33_333,
        capture_us: 1_764_000_000_000_000,
        key: true,
        data: &[0, 0, 0, 1, 0x65, 0x88],
    };

    #[test]
    fn access_unit_bytes_are_as_documented() {
        let b = AU.to_bytes();
        let mut want = vec![0x01, 0x01, 1, 2, 3, 4, 5, 6, 7, 8];
        want.extend_from_slice(&33_333u64.to_be_bytes());
        want.extend_from_slice(&1_764_000_000_000_000u64.to_be_bytes());
        want.extend_from_slice(&[0x01, 0, 0, 0, 6, 0, 0, 0, 1, 0x65, 0x88]);
        assert_eq!(b, want);
        assert_eq!(b.len(), ACCESS_UNIT_HEADER + 6);
        assert_eq!(AccessUnit::decode(&b), Ok(AU));
        let delta = AccessUnit { key: false, data: &[], ..AU };
        assert_eq!(AccessUnit::decode(&delta.to_bytes()), Ok(delta));
    }

    #[test]
    fn announce_round_trips_and_cuts_long_text() {
        let a = Announce { stream: "cam.1 ünï".into(), kind: "rtsp".into(), fps_milli: 29_970, origin: 7 };
        assert_eq!(Announce::decode(&a.to_bytes()), Ok(a.clone()));
        let b = a.to_bytes();
        assert_eq!(&b[..3], &[0x02, 0x01, 11]);
        let long = Announce { stream: "é".repeat(200), ..a };
        let got = Announce::decode(&long.to_bytes()).expect("decodes");
        assert_eq!(got.stream, "é".repeat(127));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let a = Announce { stream: "s".into(), kind: "pattern".into(), fps_milli: 30_000, origin: 9 };
        for msg in [AU.to_bytes(), a.to_bytes()] {
            for cut in 0..msg.len() {
                let part = &msg[..cut];
                assert!(AccessUnit::decode(part).is_err() && Announce::decode(part).is_err(), "cut {cut}");
            }
        }
        assert_eq!(AccessUnit::decode(&[]), Err(BusError::Empty));
        assert_eq!(AccessUnit::decode(&[0x01]), Err(BusError::Truncated("version")));
    }

    #[test]
    fn rejects_wrong_tags_versions_lengths_and_trailing_bytes() {
        let mut b = AU.to_bytes();
        assert_eq!(Announce::decode(&b), Err(BusError::UnknownTag(0x01)));
        b[1] = 2;
        assert_eq!(AccessUnit::decode(&b), Err(BusError::Version(2)));
        let mut b = AU.to_bytes();
        b.push(0);
        assert_eq!(AccessUnit::decode(&b), Err(BusError::Trailing(1)));
        let mut b = AU.to_bytes();
        b[ACCESS_UNIT_HEADER - 4..ACCESS_UNIT_HEADER].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(AccessUnit::decode(&b), Err(BusError::TooLong { field: "data", .. })));
        let mut b = Announce { stream: "ab".into(), ..Announce::default() }.to_bytes();
        b[3] = 0xff;
        assert_eq!(Announce::decode(&b), Err(BusError::NotUtf8("stream")));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A small deterministic generator: every message shape, lengths near the edges.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 64) as usize;
            let mut msg: Vec<u8> = (0..len).map(|i| (x >> (i % 8 * 8)) as u8).collect();
            if let Some(t) = msg.get_mut(0) {
                *t = (*t % 3).max(1);
            }
            if let Some(v) = msg.get_mut(1) {
                *v = 1;
            }
            let _ = AccessUnit::decode(&msg);
            let _ = Announce::decode(&msg);
            let _ = stream_from_token(&String::from_utf8_lossy(&msg));
        }
    }

    #[test]
    fn subjects_escape_what_nats_would_read_as_levels_or_wildcards() {
        assert_eq!(subject("cam-1_a", Topic::AccessUnits).as_deref(), Ok("nalcast.cam-1_a.au"));
        assert_eq!(subject("a.b", Topic::Results).as_deref(), Ok("nalcast.a%2Eb.results"));
        assert_eq!(subject("*", Topic::Keyframe).as_deref(), Ok("nalcast.%2A.keyframe"));
        assert_eq!(stream_token("> x\t%").as_deref(), Ok("%3E%20x%09%25"));
        assert_eq!(stream_token("é").as_deref(), Ok("%C3%A9"));
        for id in ["a.b", "*", "> x\t%", "é", "plain", "a%2Eb"] {
            let token = stream_token(id).expect("escapes");
            assert!(!token.contains(['.', '*', '>', ' ', '\t']), "{token}");
            assert_eq!(stream_from_token(&token).as_deref(), Ok(id));
        }
        assert!(stream_token("").is_err());
        assert!(stream_token(&"x".repeat(256)).is_err());
        for bad in ["", "a.b", "%2", "%zz", "%41", "%2e", "a b", "%FF"] {
            assert!(stream_from_token(bad).is_err(), "{bad:?}");
        }
    }
}
