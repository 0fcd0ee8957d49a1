//! WebSocket delivery (`GET /ws/streams/{id}`): one binary message per wire message. The viewer gets
//! the stream configuration, the cached GOP marked catch-up, then live frames from its bounded queue;
//! it may send keyframe requests and clock-sync pings. Anything else it sends closes the connection
//! with a reason.

use crate::App;
use crate::hub::Hub;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use nalcast_proto::wire::{ClientMessage, ServerMessage};
use std::sync::Arc;

/// Largest message a viewer may send (control messages are a few bytes).
pub const MAX_CLIENT_MESSAGE: usize = 1024;

/// Close code for a protocol violation by the viewer (RFC 6455 7.4.1).
const CLOSE_PROTOCOL: u16 = 1002;
/// Close code for a message above [`MAX_CLIENT_MESSAGE`] (RFC 6455 7.4.1).
const CLOSE_TOO_BIG: u16 = 1009;
/// Messages up to this size are read (and refused with a reason when above
/// [`MAX_CLIENT_MESSAGE`]); bigger ones drop the connection without reading them.
const MAX_READ_MESSAGE: usize = 64 * 1024;
/// Close code when the server shuts down.
const CLOSE_GOING_AWAY: u16 = 1001;

/// Upgrades to a WebSocket for stream `id`, or answers 404 / 503.
pub async fn handler(ws: WebSocketUpgrade, Path(id): Path<String>, State(app): State<Arc<App>>) -> Response {
    let Some(hub) = app.streams.get(&id) else {
        return (StatusCode::NOT_FOUND, format!("no stream {id:?}")).into_response();
    };
    let Ok(permit) = app.connections.clone().try_acquire_owned() else {
        app.rejected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return (StatusCode::SERVICE_UNAVAILABLE, "viewer limit reached").into_response();
    };
    let shutdown = app.shutdown.clone();
    let counters = app.clone();
    ws.max_message_size(MAX_READ_MESSAGE).max_frame_size(MAX_READ_MESSAGE).on_upgrade(
        move |socket| async move {
            session(socket, hub, shutdown, &counters.wire).await;
            drop(permit);
        },
    )
}

fn binary(bytes: impl Into<Bytes>) -> Message {
    Message::Binary(bytes.into())
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.to_string().into() }))
}

/// Bytes a server-to-client WebSocket frame with `len` payload bytes takes (RFC 6455 5.2, unmasked).
fn frame_size(len: usize) -> u64 {
    len as u64
        + if len < 126 {
            2
        } else if len < 65536 {
            4
        } else {
            10
        }
}

async fn session(
    socket: WebSocket,
    hub: Arc<Hub>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    wire: &crate::WireCounters,
) {
    let count = |bytes: &[u8]| {
        use std::sync::atomic::Ordering::Relaxed;
        wire.websocket.fetch_add(frame_size(bytes.len()), Relaxed);
        wire.video[crate::transport_index::WEBSOCKET].fetch_add(super::video_len(bytes), Relaxed);
    };
    let (mut tx, mut rx) = socket.split();
    let joined = hub.join();
    let stream = hub.info().id;
    tracing::debug!(%stream, viewer = joined.id, catch_up = joined.catch_up.len(), "viewer joined");
    let result: Result<(), axum::Error> = async {
        if let Some(config) = &joined.config {
            let bytes = ServerMessage::Config(config.clone()).to_bytes();
            count(&bytes);
            tx.send(binary(bytes)).await?;
        }
        for frame in &joined.catch_up {
            count(&frame.message);
            tx.send(binary(frame.message.clone())).await?;
        }
        loop {
            tokio::select! {
                _ = joined.slot.wake.notified() => {
                    while let Some(item) = joined.slot.pop() {
                        let bytes = super::message_bytes(item);
                        count(&bytes);
                        tx.send(binary(bytes)).await?;
                    }
                }
                msg = rx.next() => match msg {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                    Some(Ok(Message::Binary(bytes))) if bytes.len() > MAX_CLIENT_MESSAGE => {
                        let reason = format!("message of {} bytes exceeds the {MAX_CLIENT_MESSAGE}-byte limit", bytes.len());
                        tracing::info!(%stream, viewer = joined.id, %reason, "closing");
                        tx.send(close(CLOSE_TOO_BIG, &reason)).await?;
                        break;
                    }
                    Some(Ok(Message::Binary(bytes))) => match ClientMessage::decode(&bytes) {
                        Ok(m) => {
                            if let Some(answer) = super::handle_control(&hub, &joined.slot, &m) {
                                let bytes = answer.to_bytes();
                                count(&bytes);
                                tx.send(binary(bytes)).await?;
                            }
                        }
                        Err(e) => {
                            tracing::info!(%stream, viewer = joined.id, error = %e, "closing: bad message from viewer");
                            tx.send(close(CLOSE_PROTOCOL, &format!("bad message: {e}"))).await?;
                            break;
                        }
                    },
                    Some(Ok(Message::Text(_))) => {
                        tx.send(close(CLOSE_PROTOCOL, "text messages are not part of the protocol")).await?;
                        break;
                    }
                    Some(Ok(_)) => {} // WebSocket-level ping/pong
                },
                _ = shutdown.changed() => {
                    let _ = tx.send(close(CLOSE_GOING_AWAY, "server shutting down")).await;
                    break;
                }
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        tracing::debug!(%stream, viewer = joined.id, error = %e, "viewer connection ended");
    }
    hub.leave(joined.id);
}
