//! HTTP streaming delivery: `GET /http/streams/{id}` answers with an endless body of length-prefixed
//! wire messages (`nalcast_proto::records`) — the same sequence a WebSocket viewer gets — read in
//! the browser with `fetch()` and a stream reader. The response names the viewer's session in
//! `x-nalcast-session`; control messages (keyframe requests, clock-sync pings) are `POST`ed to
//! `/http/sessions/{session}` as one wire message per request, and a ping's pong is the response body.
//!
//! A slow reader stops the body from being polled; its queue in the hub then fills and it skips to
//! the next keyframe like any other viewer.

use crate::App;
use crate::hub::{Hub, Joined};
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nalcast_proto::records::write_record;
use nalcast_proto::wire::{ClientMessage, ServerMessage};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, watch};

/// Content type of the record stream.
pub const CONTENT_TYPE: &str = "application/vnd.nalcast.records";

/// An open HTTP viewer: what a control POST needs to reach it.
#[derive(Debug, Clone)]
pub struct HttpSession {
    hub: Arc<Hub>,
    slot: Arc<crate::hub::ViewerSlot>,
}

/// An unguessable session id (64 random bits from the standard library's per-process random keys).
fn session_id() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0),
    );
    format!("{:016x}", h.finish())
}

fn record(message: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(message.len() + 4);
    write_record(message, &mut out);
    out.into()
}

/// The body's state; leaving the hub and forgetting the session when the response is dropped.
struct Streaming {
    app: Arc<App>,
    hub: Arc<Hub>,
    joined: Joined,
    session: String,
    prelude: VecDeque<Bytes>,
    shutdown: watch::Receiver<bool>,
    done: bool,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Streaming {
    fn drop(&mut self) {
        self.hub.leave(self.joined.id);
        if let Ok(mut sessions) = self.app.http_sessions.lock() {
            sessions.remove(&self.session);
        }
    }
}

/// `GET /http/streams/{id}`.
pub async fn stream(Path(id): Path<String>, State(app): State<Arc<App>>) -> Response {
    let Some(hub) = app.streams.get(&id) else {
        return (StatusCode::NOT_FOUND, format!("no stream {id:?}")).into_response();
    };
    let Ok(permit) = app.connections.clone().try_acquire_owned() else {
        app.rejected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return (StatusCode::SERVICE_UNAVAILABLE, "viewer limit reached").into_response();
    };
    let joined = hub.join();
    let session = session_id();
    if let Ok(mut sessions) = app.http_sessions.lock() {
        sessions.insert(session.clone(), HttpSession { hub: hub.clone(), slot: joined.slot.clone() });
    }
    let mut prelude = VecDeque::new();
    if let Some(config) = &joined.config {
        prelude.push_back(record(&ServerMessage::Config(config.clone()).to_bytes()));
    }
    prelude.extend(joined.catch_up.iter().map(|f| record(&f.message)));
    let state = Streaming {
        app: app.clone(),
        hub,
        joined,
        session: session.clone(),
        prelude,
        shutdown: app.shutdown.clone(),
        done: false,
        _permit: permit,
    };
    let counted = app.clone();
    let body = futures_util::stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        if let Some(b) = s.prelude.pop_front() {
            return Some((Ok::<Bytes, Infallible>(b), s));
        }
        loop {
            if let Some(item) = s.joined.slot.pop() {
                let bytes = record(&super::message_bytes(item));
                return Some((Ok(bytes), s));
            }
            tokio::select! {
                _ = s.joined.slot.wake.notified() => {}
                _ = s.shutdown.changed() => {
                    s.done = true;
                    let close = ServerMessage::Close { code: 1001, reason: "server shutting down".into() };
                    return Some((Ok(record(&close.to_bytes())), s));
                }
            }
        }
    });
    // Each item becomes one HTTP/1.1 chunk: hex length, CRLF, data, CRLF.
    let body = futures_util::StreamExt::inspect(body, move |item| {
        if let Ok(b) = item {
            use std::sync::atomic::Ordering::Relaxed;
            let framing = format!("{:x}", b.len()).len() + 4;
            counted.wire.http.fetch_add((b.len() + framing) as u64, Relaxed);
            // A record is a 4-byte length, then the wire message.
            counted.wire.video[crate::transport_index::HTTP]
                .fetch_add(super::video_len(b.get(4..).unwrap_or(&[])), Relaxed);
        }
    });
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&session) {
        headers.insert("x-nalcast-session", v);
    }
    response
}

/// `POST /http/sessions/{session}`: one client wire message; a pong comes back as the body.
pub async fn control(Path(session): Path<String>, State(app): State<Arc<App>>, body: Bytes) -> Response {
    if body.len() > super::ws::MAX_CLIENT_MESSAGE {
        return (StatusCode::PAYLOAD_TOO_LARGE, "control messages are a few bytes").into_response();
    }
    let Some(s) = app.http_sessions.lock().ok().and_then(|m| m.get(&session).cloned()) else {
        return (StatusCode::NOT_FOUND, "no such session").into_response();
    };
    match ClientMessage::decode(&body) {
        Ok(m) => match super::handle_control(&s.hub, &s.slot, &m) {
            Some(answer) => {
                ([(header::CONTENT_TYPE, "application/octet-stream")], answer.to_bytes()).into_response()
            }
            None => StatusCode::NO_CONTENT.into_response(),
        },
        Err(e) => (StatusCode::BAD_REQUEST, format!("bad message: {e}")).into_response(),
    }
}
