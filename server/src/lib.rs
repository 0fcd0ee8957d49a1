//! nalcast's native server as a library: `run(listener, config, shutdown)` so tests can bind
//! `127.0.0.1:0`. Today it serves the page (`www/`, including the wasm package) and the embedded
//! sample clip; live sources and delivery transports build on this.
#![deny(missing_docs)]

pub mod sample;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::routing::get;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// What the server serves.
#[derive(Debug, Clone)]
pub struct Config {
    /// The page's folder (`www/`, with `pkg/` built by wasm-pack).
    pub www: PathBuf,
    /// The sample clip served at `/sample.h264` (Annex-B).
    pub sample: Arc<Vec<u8>>,
}

/// The HTTP routes.
pub fn router(config: &Config) -> Router {
    let sample = config.sample.clone();
    Router::new()
        .route(
            "/sample.h264",
            get(move || {
                let sample = sample.clone();
                async move { ([(header::CONTENT_TYPE, "video/h264")], sample.as_ref().clone()) }
            }),
        )
        .fallback_service(ServeDir::new(&config.www))
        // The page may use SharedArrayBuffer (wasm threads), which needs cross-origin isolation.
        .layer(SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static("cross-origin-embedder-policy"),
            HeaderValue::from_static("require-corp"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
}

/// Serves until `shutdown` completes, then finishes in-flight requests and returns.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(&config)).with_graceful_shutdown(shutdown).await
}
