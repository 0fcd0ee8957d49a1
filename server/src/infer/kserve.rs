//! A detector served by any KServe v2 / Triton inference server, over HTTP/1.1 with the binary
//! tensor data extension (Open Inference Protocol, REST form; Triton's `binary_tensor_data`
//! extension). Blocking: it runs on the inference worker's own thread.
//!
//! # Model contract
//!
//! - input `image` (name configurable): UINT8, shape `[H, W, 3]`, RGB, rows top to bottom — the
//!   picture converted from I420 with the stream's colour matrix;
//! - output `boxes`: FP32 `[N, 4]`, each `x, y, w, h` in pixels of that image;
//! - output `scores`: FP32 `[N]`, confidence 0..=1;
//! - output `labels` (optional): BYTES `[N]` (binary layout: each element a 4-byte little-endian
//!   length, then its bytes); without it every box is labelled with the model name.
//!
//! Boxes are clamped to the picture; boxes empty after clamping or not finite are dropped (so a
//! server that cannot return zero-length tensors, like PyTriton 0.7, may answer "nothing" with one
//! empty row); the best [`MAX_DETECTIONS`](nalcast_proto::wire::MAX_DETECTIONS) are kept.
//! `scripts/triton-models.py` serves two such models through a real Triton.
//!
//! Layers: [`http`] (pure HTTP/1.1 response parsing), [`tensor`] (pure KServe message coding),
//! [`contract`] (pure outputs → detections), [`client`] (the socket). This file ties them together.

pub mod client;
pub mod contract;
pub mod http;
pub mod tensor;

use super::{Analyzer, InferError, Picture};
use client::{Connection, Endpoint};
use nalcast_proto::wire::Detection;
use std::time::{Duration, Instant};

/// Why a call to the model server failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KServeError {
    /// The base URL is not `http://host:port`.
    #[error("bad KServe URL {url:?}: {why}")]
    Url {
        /// As given.
        url: String,
        /// What is wrong.
        why: String,
    },
    /// An option is unusable (e.g. a model name that cannot go in a URL path).
    #[error("bad KServe option: {0}")]
    Option(String),
    /// Could not connect.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// `host:port`.
        addr: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// The server took longer than the timeout.
    #[error("{what} to {addr} timed out")]
    Timeout {
        /// `host:port`.
        addr: String,
        /// What timed out (`connect`, `request`).
        what: &'static str,
    },
    /// The connection failed mid-request.
    #[error("i/o with {addr}: {source}")]
    Io {
        /// `host:port`.
        addr: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// The answer is not a valid HTTP/1.1 response.
    #[error("malformed HTTP from {addr}: {source}")]
    Http {
        /// `host:port`.
        addr: String,
        /// What is wrong.
        source: http::HttpError,
    },
    /// The server answered with an error status (e.g. unknown model: 400 or 404).
    #[error("{path}: HTTP {status}: {message}")]
    Status {
        /// Request path.
        path: String,
        /// HTTP status.
        status: u16,
        /// The server's `error` message, or the start of its body.
        message: String,
    },
    /// The inference response does not follow the protocol or the model contract.
    #[error("model {model}: {source}")]
    Response {
        /// Model name.
        model: String,
        /// What is wrong.
        source: tensor::TensorError,
    },
    /// The picture cannot be sent (its planes do not match its size).
    #[error("picture: {0}")]
    Picture(String),
    /// The server or model did not become ready before the deadline.
    #[error("not ready after {waited:?}: {last}")]
    NotReady {
        /// How long we waited.
        waited: Duration,
        /// The last reason.
        last: String,
    },
}

impl From<KServeError> for InferError {
    fn from(e: KServeError) -> InferError {
        match e {
            KServeError::Response { .. } => InferError::Output(e.to_string()),
            other => InferError::Server(other.to_string()),
        }
    }
}

/// How to reach a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KServeOptions {
    /// Base URL, `http://host:port`.
    pub url: String,
    /// Model name.
    pub model: String,
    /// Model version; `None`: the server's choice.
    pub version: Option<String>,
    /// Name of the image input.
    pub input: String,
    /// Bound on connecting and on each whole request.
    pub timeout: Duration,
}

impl KServeOptions {
    /// Options with the defaults: any version, input `image`, 5 s timeout.
    pub fn new(url: impl Into<String>, model: impl Into<String>) -> KServeOptions {
        KServeOptions {
            url: url.into(),
            model: model.into(),
            version: None,
            input: "image".into(),
            timeout: Duration::from_secs(5),
        }
    }

    /// `/v2/models/{model}[/versions/{version}]`, after checking both are safe in a path.
    fn model_path(&self) -> Result<String, KServeError> {
        let safe = |s: &str| {
            !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
                && s != "."
                && s != ".."
        };
        if !safe(&self.model) {
            return Err(KServeError::Option(format!("model name {:?}", self.model)));
        }
        match &self.version {
            Some(v) if !safe(v) => Err(KServeError::Option(format!("model version {v:?}"))),
            Some(v) => Ok(format!("/v2/models/{}/versions/{v}", self.model)),
            None => Ok(format!("/v2/models/{}", self.model)),
        }
    }
}

/// The analyzer: one picture in, one inference request, detections out.
#[derive(Debug)]
pub struct KServe {
    options: KServeOptions,
    infer_path: String,
    connection: Connection,
    rgba: Vec<u8>,
    rgb: Vec<u8>,
    last_round_trip: Option<Duration>,
}

impl KServe {
    /// Checks the options; connects on first use.
    pub fn new(options: KServeOptions) -> Result<KServe, KServeError> {
        let endpoint = Endpoint::parse(&options.url)?;
        if options.input.is_empty() {
            return Err(KServeError::Option("empty input name".into()));
        }
        let infer_path = format!("{}/infer", options.model_path()?);
        let connection = Connection::new(endpoint, options.timeout, http::Limits::default());
        Ok(KServe {
            options,
            infer_path,
            connection,
            rgba: Vec::new(),
            rgb: Vec::new(),
            last_round_trip: None,
        })
    }

    /// The options in use.
    pub fn options(&self) -> &KServeOptions {
        &self.options
    }

    /// How long the last successful request took, from sending to the parsed answer.
    pub fn last_round_trip(&self) -> Option<Duration> {
        self.last_round_trip
    }

    /// Sends `picture` to the model and reads its detections.
    pub fn infer(&mut self, picture: &Picture) -> Result<Vec<Detection>, KServeError> {
        let (w, h) = (picture.width, picture.height);
        let luma = w * h;
        if w == 0 || h == 0 || picture.i420.len() != luma + 2 * (w / 2) * (h / 2) {
            return Err(KServeError::Picture(format!("{w}x{h} with {} bytes of I420", picture.i420.len())));
        }
        self.rgba.resize(luma * 4, 0);
        nalcast_codec::yuv::i420_to_rgba(&picture.frame(), &mut self.rgba)
            .map_err(|e| KServeError::Picture(e.to_string()))?;
        self.rgb.clear();
        self.rgb.reserve(luma * 3);
        for px in self.rgba.chunks_exact(4) {
            self.rgb.extend_from_slice(&px[..3]);
        }
        let header =
            tensor::request_header(&self.options.input, &[h, w, 3], self.rgb.len(), &contract::OUTPUTS);
        let header_len = header.len().to_string();
        let started = Instant::now();
        let response = self.connection.request(
            "POST",
            &self.infer_path,
            &[("Inference-Header-Content-Length", &header_len), ("Content-Type", "application/octet-stream")],
            &[&header, &self.rgb],
        )?;
        if response.status != 200 {
            return Err(status_error(&self.infer_path, &response));
        }
        let model = &self.options.model;
        let header_len = response.header("inference-header-content-length").map(str::to_string);
        let decoded = tensor::decode_response(response.body, header_len.as_deref())
            .map_err(|source| KServeError::Response { model: model.clone(), source })?;
        let found = contract::detections(&decoded, w, h, model)
            .map_err(|source| KServeError::Response { model: model.clone(), source })?;
        self.last_round_trip = Some(started.elapsed());
        Ok(found)
    }
}

impl Analyzer for KServe {
    fn name(&self) -> &str {
        &self.options.model
    }

    fn analyze(&mut self, picture: &Picture) -> Result<Vec<Detection>, InferError> {
        Ok(self.infer(picture)?)
    }
}

/// Waits until the server is ready (`GET /v2/health/ready`) and the model is
/// (`GET /v2/models/{name}[/versions/{v}]/ready`), retrying every 100 ms for at most `deadline`.
pub fn wait_ready(options: &KServeOptions, deadline: Duration) -> Result<(), KServeError> {
    let endpoint = Endpoint::parse(&options.url)?;
    let model_ready = format!("{}/ready", options.model_path()?);
    let started = Instant::now();
    loop {
        // Each attempt gets at most the time left, so the deadline holds even against a server
        // that accepts and never answers.
        let left = deadline.saturating_sub(started.elapsed()).max(Duration::from_millis(1));
        let mut connection =
            Connection::new(endpoint.clone(), options.timeout.min(left), http::Limits::default());
        let last = match ready(&mut connection, &model_ready) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if started.elapsed() + Duration::from_millis(100) >= deadline {
            return Err(KServeError::NotReady { waited: started.elapsed(), last: last.to_string() });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ready(connection: &mut Connection, model_ready: &str) -> Result<(), KServeError> {
    for path in ["/v2/health/ready", model_ready] {
        let response = connection.request("GET", path, &[], &[])?;
        if response.status != 200 {
            return Err(status_error(path, &response));
        }
    }
    Ok(())
}

/// A non-200 answer as an error, with the server's `{"error": …}` message when it sent one.
fn status_error(path: &str, response: &http::Response) -> KServeError {
    let message = serde_json::from_slice::<serde_json::Value>(&response.body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| {
            String::from_utf8_lossy(&response.body[..response.body.len().min(200)]).into_owned()
        });
    KServeError::Status { path: path.to_string(), status: response.status, message }
}
