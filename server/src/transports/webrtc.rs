//! WebRTC data-channel delivery with `str0m` (sans-IO): every peer shares one UDP socket, driven by
//! one tokio task that feeds datagrams and timeouts into the peers' state machines and sends what
//! they output.
//!
//! Signaling is one request, `POST /api/streams/{id}/webrtc` with the browser's SDP offer as the body
//! (at most 64 KiB) and the SDP answer as the response (`application/sdp`); the server is ICE-lite
//! with host candidates (the socket's address, or `webrtc.advertise` for real deployments), so no
//! STUN/TURN is involved on a local network. DTLS and SCTP are str0m's. The browser opens a data
//! channel named `nalcast`: ordered and reliable, or unordered without retransmissions (realtime);
//! wire messages go out as chunks of at most 16 KiB (`nalcast_proto::chunks`). A viewer's channel
//! is only fed while its SCTP send buffer is below [`BUFFER_LIMIT`], so a slow or lossy peer backs up
//! into its bounded queue in the hub and skips to the next keyframe there, like any viewer.

use crate::App;
use crate::hub::{Hub, Joined};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use nalcast_proto::chunks::{Reassembler, split};
use nalcast_proto::wire::{ClientMessage, ServerMessage};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::change::SdpOffer;
use str0m::channel::ChannelId;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::{Notify, OwnedSemaphorePermit, mpsc, watch};

/// Largest SDP offer accepted.
pub const MAX_SDP: usize = 64 * 1024;
/// Bytes a peer's SCTP send buffer may hold before its queue in the hub takes over.
pub const BUFFER_LIMIT: usize = 256 * 1024;
/// The data channel's label.
pub const LABEL: &str = "nalcast";

/// WebRTC settings (`[webrtc]` in the configuration).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebRtcConfig {
    /// Whether WebRTC signaling is offered at all.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// UDP address for all peers; default: the HTTP listener's IP, any port.
    pub bind: Option<SocketAddr>,
    /// Addresses to offer as host candidates instead of the bound one (public IPs behind NAT).
    #[serde(default)]
    pub advertise: Vec<SocketAddr>,
}

fn enabled() -> bool {
    true
}

impl Default for WebRtcConfig {
    fn default() -> Self {
        WebRtcConfig { enabled: true, bind: None, advertise: Vec::new() }
    }
}

/// The running WebRTC side: hands new peers to the driver.
#[derive(Debug)]
pub struct WebRtc {
    new_peers: mpsc::UnboundedSender<NewPeer>,
    candidates: Vec<SocketAddr>,
    /// The UDP socket's address.
    pub local: SocketAddr,
    /// Datagram payload bytes, datagrams, and access-unit bytes sent.
    counters: Arc<Counters>,
}

impl WebRtc {
    /// Datagram payload bytes, datagrams and access-unit bytes sent to all peers so far.
    pub fn sent(&self) -> (u64, u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.counters.bytes.load(Relaxed),
            self.counters.datagrams.load(Relaxed),
            self.counters.video.load(Relaxed),
        )
    }
}

/// What the driver has sent.
#[derive(Debug, Default)]
struct Counters {
    bytes: std::sync::atomic::AtomicU64,
    datagrams: std::sync::atomic::AtomicU64,
    video: std::sync::atomic::AtomicU64,
}

#[derive(Debug)]
struct NewPeer {
    rtc: Rtc,
    hub: Arc<Hub>,
    joined: Joined,
    permit: OwnedSemaphorePermit,
}

struct Peer {
    rtc: Rtc,
    hub: Arc<Hub>,
    joined: Joined,
    channel: Option<ChannelId>,
    /// Config and catch-up, sent first once the channel opens.
    prelude: VecDeque<Bytes>,
    /// Answers to control messages (pongs), sent before anything else.
    urgent: VecDeque<Bytes>,
    /// Chunks of the message being sent that the channel has not taken yet.
    pending: VecDeque<Vec<u8>>,
    next_message: u64,
    reassembler: Reassembler,
    waker: tokio::task::JoinHandle<()>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.waker.abort();
        self.hub.leave(self.joined.id);
    }
}

impl Peer {
    /// Writes queued messages to the channel while its send buffer has room. A chunk the channel
    /// refuses waits in `pending` for the next call, so a message is never sent in part.
    fn pump(&mut self, sent: &Counters) {
        let Some(id) = self.channel else { return };
        loop {
            let Some(mut ch) = self.rtc.channel(id) else { return };
            while let Some(chunk) = self.pending.front() {
                match ch.write(true, chunk) {
                    Ok(true) => {
                        self.pending.pop_front();
                    }
                    Ok(false) => return, // full: the queue in the hub takes the backlog meanwhile
                    Err(e) => {
                        tracing::debug!(viewer = self.joined.id, error = %e, "data channel write failed");
                        self.rtc.disconnect();
                        return;
                    }
                }
            }
            if ch.buffered_amount() > BUFFER_LIMIT {
                return;
            }
            let next = match self.urgent.pop_front().or_else(|| self.prelude.pop_front()) {
                Some(b) => b,
                None => match self.joined.slot.pop() {
                    Some(item) => super::message_bytes(item),
                    None => return,
                },
            };
            let message_id = self.next_message;
            self.next_message += 1;
            sent.video.fetch_add(super::video_len(&next), std::sync::atomic::Ordering::Relaxed);
            self.pending.extend(split(message_id, &next));
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::ChannelOpen(id, label) if label == LABEL => {
                tracing::debug!(viewer = self.joined.id, "data channel open");
                self.channel = Some(id)
            }
            Event::IceConnectionStateChange(s) if s != IceConnectionState::Disconnected => {
                tracing::debug!(viewer = self.joined.id, state = ?s, "ICE");
            }
            Event::ChannelData(data) if Some(data.id) == self.channel => {
                match self.reassembler.push(&data.data) {
                    Ok(progress) => {
                        for m in progress.messages {
                            match ClientMessage::decode(&m) {
                                Ok(msg) => {
                                    if let Some(answer) =
                                        super::handle_control(&self.hub, &self.joined.slot, &msg)
                                    {
                                        self.urgent.push_back(answer.to_bytes().into());
                                    }
                                }
                                Err(e) => {
                                    tracing::info!(viewer = self.joined.id, error = %e, "closing WebRTC peer: bad message");
                                    self.rtc.disconnect();
                                }
                            }
                        }
                    }
                    Err(e) => {
                        tracing::info!(viewer = self.joined.id, error = %e, "closing WebRTC peer: bad chunk");
                        self.rtc.disconnect();
                    }
                }
            }
            Event::ChannelClose(id) if Some(id) == self.channel => {
                tracing::debug!(viewer = self.joined.id, "data channel closed");
                self.rtc.disconnect()
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                tracing::debug!(viewer = self.joined.id, "ICE disconnected");
                self.rtc.disconnect()
            }
            _ => {}
        }
    }
}

impl WebRtc {
    /// Binds the UDP socket and starts the driver task, which runs until `shutdown`.
    pub async fn start(
        config: &WebRtcConfig,
        http_ip: std::net::IpAddr,
        shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<(WebRtc, tokio::task::JoinHandle<()>)> {
        let bind = config.bind.unwrap_or(SocketAddr::new(http_ip, 0));
        let socket = UdpSocket::bind(bind).await?;
        // Room for a keyframe burst to every peer before the kernel pushes back.
        let _ = socket2::SockRef::from(&socket).set_send_buffer_size(4 << 20);
        let local = socket.local_addr()?;
        let candidates = if config.advertise.is_empty() {
            if local.ip().is_unspecified() {
                vec![SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), local.port())]
            } else {
                vec![local]
            }
        } else {
            config.advertise.clone()
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(drive(socket, candidates.clone(), rx, shutdown, counters.clone()));
        Ok((WebRtc { new_peers: tx, candidates, local, counters }, task))
    }

    /// Answers an offer for `hub`; the peer joins the hub now, its channel opens later.
    fn accept(&self, offer: &str, hub: Arc<Hub>, permit: OwnedSemaphorePermit) -> Result<String, String> {
        let (rtc, sdp) = answer_offer(offer, &self.candidates, Instant::now())?;
        let joined = hub.join();
        self.new_peers
            .send(NewPeer { rtc, hub, joined, permit })
            .map_err(|_| "WebRTC is shutting down".to_string())?;
        Ok(sdp)
    }
}

/// Parses a browser's SDP offer and answers it as an ICE-lite peer offering `candidates`: the
/// signaling step on its own, without sockets (the fuzz target drives it with arbitrary text).
pub fn answer_offer(offer: &str, candidates: &[SocketAddr], now: Instant) -> Result<(Rtc, String), String> {
    let offer = SdpOffer::from_sdp_string(offer).map_err(|e| format!("bad SDP offer: {e}"))?;
    let mut rtc = Rtc::builder()
        .set_ice_lite(true)
        .set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags()))
        .build(now);
    for addr in candidates {
        let c = Candidate::host(*addr, "udp").map_err(|e| format!("candidate {addr}: {e}"))?;
        rtc.add_local_candidate(c);
    }
    let answer = rtc.sdp_api().accept_offer(offer).map_err(|e| format!("cannot answer the offer: {e}"))?;
    Ok((rtc, answer.to_sdp_string()))
}

/// `POST /api/streams/{id}/webrtc`: SDP offer in, SDP answer out.
pub async fn signal(Path(id): Path<String>, State(app): State<Arc<App>>, body: Bytes) -> Response {
    let Some(webrtc) = &app.webrtc else {
        return (StatusCode::NOT_FOUND, "WebRTC is disabled").into_response();
    };
    if body.len() > MAX_SDP {
        return (StatusCode::PAYLOAD_TOO_LARGE, format!("SDP offers are limited to {MAX_SDP} bytes"))
            .into_response();
    }
    let Ok(offer) = std::str::from_utf8(&body) else {
        return (StatusCode::BAD_REQUEST, "the SDP offer is not UTF-8").into_response();
    };
    let Some(hub) = app.streams.get(&id) else {
        return (StatusCode::NOT_FOUND, format!("no stream {id:?}")).into_response();
    };
    let Ok(permit) = app.connections.clone().try_acquire_owned() else {
        app.rejected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return (StatusCode::SERVICE_UNAVAILABLE, "viewer limit reached").into_response();
    };
    match webrtc.accept(offer, hub, permit) {
        Ok(answer) => ([(header::CONTENT_TYPE, "application/sdp")], answer).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

fn add_peer(p: NewPeer, wake: &Arc<Notify>, peers: &mut Vec<Peer>) {
    let mut prelude = VecDeque::new();
    if let Some(c) = &p.joined.config {
        prelude.push_back(ServerMessage::Config(c.clone()).to_bytes().into());
    }
    prelude.extend(p.joined.catch_up.iter().map(|f| f.message.clone()));
    let (slot, wake) = (p.joined.slot.clone(), wake.clone());
    let waker = tokio::spawn(async move {
        loop {
            slot.wake.notified().await;
            wake.notify_one();
        }
    });
    peers.push(Peer {
        rtc: p.rtc,
        hub: p.hub,
        joined: p.joined,
        channel: None,
        prelude,
        urgent: VecDeque::new(),
        pending: VecDeque::new(),
        next_message: 0,
        reassembler: Reassembler::new(true, 64 * 1024, 16),
        waker,
        _permit: p.permit,
    });
}

/// The offered candidate a datagram from `source` was sent to, as str0m's ICE agent must be told:
/// the socket may be bound to a wildcard or sit behind NAT, so its own address is not what the
/// peer used.
fn received_at(candidates: &[SocketAddr], source: SocketAddr, local: SocketAddr) -> SocketAddr {
    candidates.iter().copied().find(|c| c.is_ipv4() == source.is_ipv4()).unwrap_or(local)
}

async fn drive(
    socket: UdpSocket,
    candidates: Vec<SocketAddr>,
    mut new_peers: mpsc::UnboundedReceiver<NewPeer>,
    mut shutdown: watch::Receiver<bool>,
    sent: Arc<Counters>,
) {
    let wake = Arc::new(Notify::new());
    let Ok(local) = socket.local_addr() else { return };
    let mut peers: Vec<Peer> = Vec::new();
    let mut buf = vec![0u8; 2048];
    loop {
        while let Ok(p) = new_peers.try_recv() {
            add_peer(p, &wake, &mut peers);
        }
        let mut deadline = Instant::now() + Duration::from_millis(100);
        for p in &mut peers {
            p.pump(&sent);
            loop {
                if !p.rtc.is_alive() {
                    break;
                }
                match p.rtc.poll_output() {
                    Ok(Output::Timeout(t)) => {
                        deadline = deadline.min(t);
                        break;
                    }
                    Ok(Output::Transmit(t)) => {
                        sent.bytes.fetch_add(t.contents.len() as u64, std::sync::atomic::Ordering::Relaxed);
                        sent.datagrams.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        // A full socket buffer is waited out rather than turned into loss: on an
                        // unreliable channel every lost datagram is a lost frame.
                        if let Err(e) = socket.try_send_to(&t.contents, t.destination)
                            && e.kind() == std::io::ErrorKind::WouldBlock
                        {
                            let _ = tokio::time::timeout(
                                Duration::from_millis(20),
                                socket.send_to(&t.contents, t.destination),
                            )
                            .await;
                        }
                    }
                    Ok(Output::Event(e)) => {
                        p.handle(e);
                        p.pump(&sent);
                    }
                    Err(e) => {
                        tracing::debug!(viewer = p.joined.id, error = %e, "WebRTC peer failed");
                        p.rtc.disconnect();
                        break;
                    }
                }
            }
        }
        let before = peers.len();
        peers.retain(|p| p.rtc.is_alive());
        if peers.len() != before {
            tracing::debug!(peers = peers.len(), "WebRTC peers");
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                if let Ok((n, source)) = r
                    && let Ok(contents) = buf[..n].try_into()
                {
                    let input = Input::Receive(Instant::now(), Receive { proto: Protocol::Udp, source, destination: received_at(&candidates, source, local), contents });
                    // Newest first: a browser may reuse the UDP port of a connection it just closed,
                    // whose peer here has not noticed yet and would otherwise swallow the datagrams.
                    if let Some(p) = peers.iter_mut().rev().find(|p| p.rtc.accepts(&input)) {
                        let _ = p.rtc.handle_input(input);
                    }
                }
            }
            _ = tokio::time::sleep(wait) => {}
            _ = wake.notified() => {}
            p = new_peers.recv() => {
                if let Some(p) = p {
                    add_peer(p, &wake, &mut peers);
                }
            }
            _ = shutdown.changed() => break,
        }
        let now = Instant::now();
        for p in &mut peers {
            let _ = p.rtc.handle_input(Input::Timeout(now));
        }
    }
    for p in &mut peers {
        p.rtc.disconnect();
    }
}
