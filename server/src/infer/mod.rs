//! Inference: models that look at a stream's pictures and publish what they found, keyed by frame
//! id, without ever slowing the video.
//!
//! A worker ([`worker`]) taps a stream, decodes every access unit natively (OpenH264), and hands
//! only the newest picture to its [`Analyzer`] whenever the analyzer is free and the configured rate
//! allows (latest frame wins: pictures that arrive while the model is busy replace each other and
//! are counted as dropped samples). Results go back to the hub, which sends them to viewers in order
//! with the frames, and — when a broker is configured — to the broker.
//!
//! Analyzers: [`motion`] (built in: moving regions by background subtraction, needs no server) and
//! [`kserve`] (any KServe v2 / Triton inference server).

pub mod kserve;
pub mod motion;
pub mod reports;
pub mod worker;

use nalcast_codec::{ColorSpace, Frame};
use nalcast_proto::wire::Detection;

/// A decoded picture owned by the worker: tight I420 (Y, then U, then V, no padding).
#[derive(Debug, Clone)]
pub struct Picture {
    /// The frame id it was decoded from.
    pub seq: u64,
    /// The frame's capture time, microseconds since the Unix epoch.
    pub capture_us: u64,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Colour description from the stream's SPS.
    pub color: ColorSpace,
    /// Y, U and V planes back to back.
    pub i420: Vec<u8>,
}

impl Picture {
    /// Copies a decoder's picture (reusing `self`'s buffer).
    pub fn copy_from(&mut self, frame: &Frame<'_>, seq: u64, capture_us: u64) {
        self.seq = seq;
        self.capture_us = capture_us;
        self.width = frame.width;
        self.height = frame.height;
        self.color = frame.color;
        self.i420.clear();
        frame.write_i420(&mut self.i420);
    }

    /// The luma plane (`height` rows of `width` bytes).
    pub fn luma(&self) -> &[u8] {
        &self.i420[..self.width * self.height]
    }

    /// A decoder-style view, e.g. for [`nalcast_codec::yuv::i420_to_rgba`].
    pub fn frame(&self) -> Frame<'_> {
        let luma = self.width * self.height;
        let (cw, ch) = (self.width / 2, self.height / 2);
        Frame {
            width: self.width,
            height: self.height,
            y: &self.i420[..luma],
            u: &self.i420[luma..luma + cw * ch],
            v: &self.i420[luma + cw * ch..],
            y_stride: self.width,
            uv_stride: cw,
            color: self.color,
            timestamp: self.seq,
        }
    }
}

/// Why an analyzer produced nothing for a picture.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// The model server could not be reached or answered with an error.
    #[error("model server: {0}")]
    Server(String),
    /// The model's answer did not make sense.
    #[error("bad model output: {0}")]
    Output(String),
}

/// A model. Runs on the worker's own thread, one picture at a time; may block.
pub trait Analyzer: Send {
    /// The model's name, as shown with its results.
    fn name(&self) -> &str;
    /// Looks at one picture; coordinates of the detections are in its pixels.
    fn analyze(&mut self, picture: &Picture) -> Result<Vec<Detection>, InferError>;
}

/// `[[inference]]`: a model to run on a stream.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct InferenceConfig {
    /// The stream's id.
    pub stream: String,
    /// Most pictures analysed per second; 0 = as many as the model can take.
    #[serde(default)]
    pub rate: f64,
    /// Which model.
    #[serde(flatten)]
    pub analyzer: AnalyzerConfig,
}

/// Which analyzer, with its settings.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(tag = "analyzer", rename_all = "lowercase")]
pub enum AnalyzerConfig {
    /// The built-in motion analyzer.
    Motion {
        /// Luma difference that counts as motion (default 20).
        #[serde(default)]
        threshold: Option<u8>,
    },
    /// A model on a KServe v2 / Triton server (see [`kserve`] for the model contract).
    Kserve {
        /// Base URL, `http://host:port`.
        url: String,
        /// Model name.
        model: String,
        /// Model version (default: the server's choice).
        #[serde(default)]
        version: Option<String>,
        /// Name of the image input (default `image`).
        #[serde(default)]
        input: Option<String>,
        /// Bound on each request, ms (default 5000).
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
}

impl InferenceConfig {
    /// Motion analysis on `stream` at full rate.
    pub fn motion(stream: &str) -> InferenceConfig {
        InferenceConfig {
            stream: stream.into(),
            rate: 0.0,
            analyzer: AnalyzerConfig::Motion { threshold: None },
        }
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<(), String> {
        if !self.rate.is_finite() || self.rate < 0.0 {
            return Err(format!("[[inference]] on {:?}: rate must be 0 or more", self.stream));
        }
        self.build().map(drop).map_err(|e| format!("[[inference]] on {:?}: {e}", self.stream))
    }

    /// Builds the analyzer.
    pub fn build(&self) -> Result<Box<dyn Analyzer>, InferError> {
        Ok(match &self.analyzer {
            AnalyzerConfig::Motion { threshold } => {
                let mut options = motion::MotionOptions::default();
                if let Some(t) = threshold {
                    options.threshold = *t;
                }
                Box::new(motion::Motion::new(options))
            }
            AnalyzerConfig::Kserve { url, model, version, input, timeout_ms } => {
                let mut options = kserve::KServeOptions::new(url.clone(), model.clone());
                options.version = version.clone();
                if let Some(i) = input {
                    options.input = i.clone();
                }
                if let Some(ms) = timeout_ms {
                    options.timeout = std::time::Duration::from_millis(*ms);
                }
                Box::new(kserve::KServe::new(options).map_err(InferError::from)?)
            }
        })
    }
}
