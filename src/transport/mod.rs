//! How the player receives wire messages: WebSocket ([`ws`]), HTTP streaming ([`http`]) or a WebRTC
//! data channel ([`webrtc`], reliable or realtime). Every transport delivers whole server messages
//! to a [`Sink`] and sends client messages; everything else — decoding, drop handling, statistics —
//! is the player's and the same for all.

pub mod http;
pub mod reconnect;
pub mod webrtc;
pub mod ws;

use nalcast_proto::wire::ClientMessage;

/// Which transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One WebSocket message per wire message.
    WebSocket,
    /// `fetch()` of a length-prefixed record stream; control over `POST`.
    Http,
    /// A WebRTC data channel, ordered and reliable.
    WebRtc,
    /// A WebRTC data channel, unordered with no retransmissions: late data is dropped, not waited for.
    WebRtcRealtime,
}

impl Kind {
    /// Parses the JS option value.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "websocket" => Some(Kind::WebSocket),
            "http" => Some(Kind::Http),
            "webrtc" => Some(Kind::WebRtc),
            "webrtc-realtime" => Some(Kind::WebRtcRealtime),
            _ => None,
        }
    }

    /// The JS option value.
    pub fn name(self) -> &'static str {
        match self {
            Kind::WebSocket => "websocket",
            Kind::Http => "http",
            Kind::WebRtc => "webrtc",
            Kind::WebRtcRealtime => "webrtc-realtime",
        }
    }

    /// The order `auto` tries: WebRTC first (UDP, no head-of-line blocking), then WebSocket, then
    /// HTTP streaming, which passes almost any proxy.
    pub const AUTO: [Kind; 3] = [Kind::WebRtc, Kind::WebSocket, Kind::Http];

    /// How long a link of this kind may stay silent under probing before it counts as dead
    /// ([`reconnect::Liveness`]).
    pub fn dead_ms(self) -> f64 {
        match self {
            Kind::WebRtc | Kind::WebRtcRealtime => reconnect::Liveness::DATAGRAM_DEAD_MS,
            Kind::WebSocket | Kind::Http => reconnect::Liveness::STREAM_DEAD_MS,
        }
    }
}

/// Where a transport delivers what happens.
pub trait Sink {
    /// The connection is up.
    fn opened(&self);
    /// One complete server wire message.
    fn message(&self, bytes: &[u8]);
    /// Frames were lost below the wire protocol (realtime data channel): skip to a keyframe.
    fn lost(&self, messages: u64);
    /// The connection is gone (or could not be made), with a reason.
    fn closed(&self, reason: String);
}

/// A live connection.
pub trait Link {
    /// Sends a control message (best effort).
    fn send(&self, message: &ClientMessage);
    /// Closes the connection; no more sink calls follow.
    fn close(&mut self);
}

/// Everything a transport needs to connect.
#[derive(Debug, Clone)]
pub struct Target {
    /// Server base URL, e.g. `http://127.0.0.1:8080`.
    pub server: String,
    /// Stream id.
    pub stream: String,
    /// Viewer token, sent as `?token=` (browsers cannot set headers on WebSocket requests).
    pub token: Option<String>,
}

impl Target {
    /// `http(s)://…` → `ws(s)://…`.
    pub fn ws_base(&self) -> String {
        if let Some(rest) = self.server.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = self.server.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            self.server.clone()
        }
    }

    /// The stream id as a URL path segment, with the token query when there is one.
    pub fn stream_segment(&self) -> String {
        let id: String = js_sys::encode_uri_component(&self.stream).into();
        match &self.token {
            Some(t) => format!("{id}?token={}", String::from(js_sys::encode_uri_component(t))),
            None => id,
        }
    }
}

/// Opens a connection of `kind`.
pub fn connect(kind: Kind, target: &Target, sink: std::rc::Rc<dyn Sink>) -> Result<Box<dyn Link>, String> {
    match kind {
        Kind::WebSocket => ws::connect(target, sink),
        Kind::Http => http::connect(target, sink),
        Kind::WebRtc => webrtc::connect(target, sink, false),
        Kind::WebRtcRealtime => webrtc::connect(target, sink, true),
    }
}
