//! nalcast's native server as a library: [`run`] takes a bound listener, a [`Config`] and a shutdown
//! future, so tests bind `127.0.0.1:0`. One reader per source publishes into a [`hub::Hub`]; viewers
//! attach over WebSocket (`/ws/streams/{id}`), HTTP streaming (`/http/streams/{id}`) or WebRTC
//! (`POST /api/streams/{id}/webrtc`), each behind the [`access`] policy; `/api/streams` lists the
//! streams, `/metrics` counts in Prometheus format, and everything else is the page from `www/`.
#![deny(missing_docs)]

pub mod access;
pub mod api;
pub mod bus;
pub mod config;
pub mod frame;
pub mod hub;
pub mod infer;
pub mod registry;
pub mod serve;
pub mod sources;
pub mod static_files;
pub mod tls;
pub mod transports;

pub use config::Config;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use hub::{Hub, StreamInfo};
use nalcast_proto::playout::Limits;
use sources::StopFlag;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower_http::set_header::SetResponseHeaderLayer;

/// State shared by the request handlers.
#[derive(Debug)]
pub struct App {
    /// The streams by id, and the models running on them.
    pub streams: Arc<registry::Registry>,
    /// Viewer connection permits (the connection cap).
    pub connections: Arc<Semaphore>,
    /// Connections turned away at the cap.
    pub rejected: AtomicU64,
    /// Becomes `true` when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
    /// The WebRTC side, unless disabled.
    pub webrtc: Option<transports::webrtc::WebRtc>,
    /// Bytes written to viewers per transport, with the transport's own framing.
    pub wire: WireCounters,
    /// Open HTTP-streaming viewers by session id, for their control POSTs.
    pub http_sessions: std::sync::Mutex<std::collections::HashMap<String, transports::http::HttpSession>>,
    /// Who may watch and manage.
    pub access: access::Access,
    /// Viewer requests refused by the access policy.
    pub denied: AtomicU64,
    /// Connection-level counters.
    pub conns: Arc<serve::ConnCounters>,
    /// What the broker link did (all zero without a broker).
    pub bus: Arc<bus::BusCounters>,
}

/// Bytes each transport wrote to viewers, counted with its framing: WebSocket frame headers, HTTP
/// chunk headers, and for WebRTC every datagram payload (DTLS, SCTP, STUN). IP/TCP/UDP headers are
/// not included; `webrtc_datagrams` allows adding them for UDP.
#[derive(Debug, Default)]
pub struct WireCounters {
    /// WebSocket.
    pub websocket: AtomicU64,
    /// HTTP streaming.
    pub http: AtomicU64,
    /// Access-unit bytes inside the frames sent over WebSocket / HTTP / WebRTC: the video itself,
    /// counted when sent, so `wire / video − 1` is the transport's overhead.
    pub video: [AtomicU64; 3],
}

/// Index into [`WireCounters::video`].
pub mod transport_index {
    /// WebSocket.
    pub const WEBSOCKET: usize = 0;
    /// HTTP streaming.
    pub const HTTP: usize = 1;
    /// WebRTC.
    pub const WEBRTC: usize = 2;
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The access settings are invalid.
    #[error(transparent)]
    Access(#[from] access::AccessError),
    /// The TLS certificate or key is unusable.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The broker is unreachable or refused a subscription.
    #[error(transparent)]
    Bus(#[from] bus::BusError),
    /// A model could not be set up.
    #[error(transparent)]
    Inference(#[from] registry::ModelError),
    /// A socket or thread error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The HTTP routes over `app`, serving the page from `www`; request bodies are limited to
/// `max_body` bytes.
pub fn router(app: Arc<App>, www: &std::path::Path, max_body: usize) -> Router {
    use access::gate;
    let viewers = Router::new()
        .route("/ws/streams/{id}", get(transports::ws::handler))
        .route("/http/streams/{id}", get(transports::http::stream))
        .route("/api/streams/{id}/webrtc", post(transports::webrtc::signal))
        .route_layer(from_fn_with_state(app.clone(), gate::viewer));
    let sessions = Router::new()
        .route("/http/sessions/{session}", post(transports::http::control))
        .route_layer(from_fn_with_state(app.clone(), gate::origin));
    let admin = Router::new()
        .route("/metrics", get(api::metrics))
        .route("/api/tokens", post(gate::mint))
        .route_layer(from_fn_with_state(app.clone(), gate::admin));
    let cors_origins = app.access.allowed_origins().iter().filter_map(|o| HeaderValue::from_str(o).ok());
    let cors_origin = if app.access.allowed_origins().is_empty() {
        tower_http::cors::AllowOrigin::any()
    } else {
        tower_http::cors::AllowOrigin::list(cors_origins)
    };
    Router::new()
        .merge(viewers)
        .merge(sessions)
        .merge(admin)
        .route("/api/streams", get(api::streams))
        .fallback_service(static_files::service(www))
        .with_state(app)
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        // Players may be embedded in pages served from elsewhere (all origins, or the configured
        // allow-list): streams, signaling and control accept cross-origin requests, and the HTTP
        // session header is readable by such pages.
        .layer(
            tower_http::cors::CorsLayer::new()
                .allow_origin(cors_origin)
                .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
                .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
                .expose_headers([header::HeaderName::from_static("x-nalcast-session")]),
        )
        // The page may use SharedArrayBuffer (wasm threads), which needs cross-origin isolation.
        .layer(SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static("cross-origin-embedder-policy"),
            HeaderValue::from_static("require-corp"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
}

/// Starts the sources and serves until `shutdown` completes; then closes viewer connections with a
/// "going away" reason, finishes in-flight requests, stops the sources and returns.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    config.validate()?;
    let access = access::Access::from_config(&config.access)?;
    let tls = config.tls.as_ref().map(tls::TlsConfig::acceptor).transpose()?;
    let limits = Limits { max_frames: config.queue.max_frames, max_bytes: config.queue.max_bytes };
    let stop = StopFlag::default();
    // Models run where frames are: not on delivery nodes (their viewers get results from the bus).
    let inference =
        if config.bus.role == bus::Role::Deliver { Vec::new() } else { config.effective_inference() };
    let streams = Arc::new(registry::Registry::new(inference));
    let mut local = BTreeMap::new();
    let mut threads = Vec::new();
    let local_streams = if config.bus.role.runs_sources() { config.effective_streams() } else { Vec::new() };
    for s in local_streams {
        let info = StreamInfo {
            id: s.id.clone(),
            kind: s.source.kind().into(),
            fps: s.source.fps(),
            ..StreamInfo::default()
        };
        let hub = Arc::new(Hub::new(info, limits));
        threads.push(sources::spawn(s.id.clone(), s.source.clone(), hub.clone(), stop.clone())?);
        local.insert(s.id, hub);
    }
    // With a broker: publish local streams, or serve streams relayed from it (deliver, worker):
    // those announced at start now, later ones as they appear.
    let later = {
        let streams = streams.clone();
        move |id: &str, hub: Arc<Hub>| {
            if let Err(e) = streams.add(id, hub) {
                tracing::error!(error = %e, "a relayed stream runs without its model");
            }
        }
    };
    let (bus, relayed) = bus::start(&config.bus, &local, limits, later).await?;
    for (id, hub) in local.into_iter().chain(relayed) {
        streams.add(&id, hub)?;
    }
    let (closing, closing_rx) = watch::channel(false);
    let http_ip = listener.local_addr()?.ip();
    let (webrtc, webrtc_task) = if config.webrtc.enabled {
        let (w, t) = transports::webrtc::WebRtc::start(&config.webrtc, http_ip, closing_rx.clone()).await?;
        tracing::info!(udp = %w.local, "WebRTC data channels enabled");
        (Some(w), Some(t))
    } else {
        (None, None)
    };
    let app = Arc::new(App {
        streams,
        connections: Arc::new(Semaphore::new(config.max_viewers)),
        rejected: AtomicU64::new(0),
        shutdown: closing_rx,
        webrtc,
        wire: Default::default(),
        http_sessions: Default::default(),
        access,
        denied: AtomicU64::new(0),
        conns: Default::default(),
        bus: bus.counters.clone(),
    });
    let l = &config.limits;
    let conn_limits = serve::ConnLimits {
        per_ip: l.max_connections_per_ip,
        header_timeout: std::time::Duration::from_millis(l.header_timeout_ms),
        write_timeout: std::time::Duration::from_millis(l.write_timeout_ms),
        send_buffer: config.send_buffer,
    };
    let routes = router(app.clone(), &config.www, l.max_request_bytes);
    let shutdown = async move {
        shutdown.await;
        let _ = closing.send(true);
    };
    let drain = std::time::Duration::from_secs(5);
    serve::serve(listener, tls, routes, conn_limits, app.conns.clone(), shutdown, drain).await;
    stop.set();
    drop(bus);
    for w in app.streams.workers().iter() {
        w.stop();
    }
    if let Some(t) = webrtc_task {
        let _ = t.await;
    }
    for t in threads {
        let _ = tokio::task::spawn_blocking(move || t.join()).await;
    }
    Ok(())
}
