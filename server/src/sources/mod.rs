//! Sources: each stream has exactly one reader, running on its own thread (decoding, encoding and
//! file reads block), publishing access units with timestamps to the stream's hub in real time.

pub mod h264_file;
pub mod mp4_file;
pub mod pattern;
pub mod rtsp;
pub mod y4m_file;

use crate::hub::Hub;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Why a source stopped or could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// A configuration value is out of range.
    #[error("invalid source: {0}")]
    Invalid(String),
    /// Reading the input failed.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// What happened.
        error: std::io::Error,
    },
    /// The input holds no usable video.
    #[error("{0}: no H.264 access units")]
    Empty(String),
    /// The encoder failed.
    #[error("encoder: {0}")]
    Encoder(String),
}

/// What feeds a stream.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceSpec {
    /// The live-encoded test pattern.
    Pattern(pattern::PatternSpec),
    /// An Annex-B `.h264` file, paced and looped.
    H264(h264_file::H264FileSpec),
    /// The H.264 track of an MP4 file, paced and looped.
    Mp4(mp4_file::Mp4FileSpec),
    /// Raw Y4M video, re-encoded with OpenH264, paced and looped.
    Y4m(y4m_file::Y4mFileSpec),
    /// An RTSP camera.
    Rtsp(rtsp::RtspSpec),
}

impl SourceSpec {
    /// Short name of the source kind.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceSpec::Pattern(_) => "pattern",
            SourceSpec::H264(_) => "h264",
            SourceSpec::Mp4(_) => "mp4",
            SourceSpec::Y4m(_) => "y4m",
            SourceSpec::Rtsp(_) => "rtsp",
        }
    }

    /// The nominal frame rate, when the configuration names one.
    pub fn fps(&self) -> f64 {
        match self {
            SourceSpec::Pattern(p) => p.fps,
            SourceSpec::H264(f) => f.fps.unwrap_or(0.0),
            SourceSpec::Mp4(_) | SourceSpec::Y4m(_) | SourceSpec::Rtsp(_) => 0.0,
        }
    }

    /// Parses a command-line source: `pattern`, `pattern:WxH@FPS`, or a path ending in `.h264`/`.264`
    /// or `.mp4`/`.m4v`/`.mov`, or `.y4m`, or an `rtsp://` URL.
    pub fn parse_cli(text: &str) -> Result<SourceSpec, SourceError> {
        if let Some(rest) = text.strip_prefix("pattern") {
            let mut spec: pattern::PatternSpec =
                toml::from_str("").map_err(|e| SourceError::Invalid(e.to_string()))?;
            if let Some(geom) = rest.strip_prefix(':') {
                let (size, fps) = geom.split_once('@').unwrap_or((geom, ""));
                let (w, h) = size
                    .split_once('x')
                    .ok_or_else(|| SourceError::Invalid(format!("{text}: want pattern:WxH@FPS")))?;
                let bad = |_| SourceError::Invalid(format!("{text}: want pattern:WxH@FPS"));
                spec.width = w.parse().map_err(bad)?;
                spec.height = h.parse().map_err(bad)?;
                if !fps.is_empty() {
                    spec.fps = fps.parse().map_err(|_| SourceError::Invalid(format!("{text}: bad fps")))?;
                }
            } else if !rest.is_empty() {
                return Err(SourceError::Invalid(format!("{text}: want pattern or pattern:WxH@FPS")));
            }
            spec.validate()?;
            return Ok(SourceSpec::Pattern(spec));
        }
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("rtsp://") {
            return Ok(SourceSpec::Rtsp(rtsp::RtspSpec {
                url: text.into(),
                username: None,
                password: None,
                transport: rtsp::RtspTransport::Tcp,
            }));
        }
        if lower.ends_with(".h264") || lower.ends_with(".264") {
            return Ok(SourceSpec::H264(h264_file::H264FileSpec { path: text.into(), fps: None }));
        }
        if lower.ends_with(".mp4") || lower.ends_with(".m4v") || lower.ends_with(".mov") {
            return Ok(SourceSpec::Mp4(mp4_file::Mp4FileSpec { path: text.into() }));
        }
        if lower.ends_with(".y4m") {
            return Ok(SourceSpec::Y4m(y4m_file::Y4mFileSpec {
                path: text.into(),
                width: None,
                height: None,
                bitrate: 2_000_000,
                gop: 60,
            }));
        }
        Err(SourceError::Invalid(format!(
            "{text}: unknown source (pattern[:WxH@FPS], FILE.h264, FILE.mp4, FILE.y4m, rtsp://...)"
        )))
    }
}

/// Tells a source thread to stop.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// Asks the source to stop.
    pub fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    /// Whether stopping was asked for.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Wall clock in microseconds since the Unix epoch.
pub fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// Real-time pacing at a fixed frame rate that does not drift: deadlines are multiples of the
/// period from the start; after a stall of more than a second it restarts instead of bursting.
#[derive(Debug)]
pub struct Pacer {
    period: Duration,
    next: Instant,
}

impl Pacer {
    /// A pacer for `fps` frames per second (clamped to 0.1..=1000).
    pub fn new(fps: f64) -> Pacer {
        Pacer { period: Duration::from_secs_f64(1.0 / fps.clamp(0.1, 1000.0)), next: Instant::now() }
    }

    /// Sleeps until the next frame is due (waking early if `stop` is set).
    pub fn wait(&mut self, stop: &StopFlag) {
        let now = Instant::now();
        if now > self.next + Duration::from_secs(1) {
            self.next = now;
        }
        while !stop.is_set() {
            let now = Instant::now();
            if now >= self.next {
                break;
            }
            std::thread::sleep((self.next - now).min(Duration::from_millis(50)));
        }
        self.next += self.period;
    }
}

/// Starts a stream's source thread. It runs until `stop` is set; errors are logged, and the hub
/// learns that its source ended (viewers stay connected; `/api/streams` shows the stream `ended`).
pub fn spawn(
    id: String,
    spec: SourceSpec,
    hub: Arc<Hub>,
    stop: StopFlag,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name(format!("source-{id}")).spawn(move || {
        let result = match &spec {
            SourceSpec::Pattern(p) => pattern::run(p, &hub, &stop),
            SourceSpec::H264(f) => h264_file::run(f, &hub, &stop),
            SourceSpec::Mp4(f) => mp4_file::run(f, &hub, &stop),
            SourceSpec::Y4m(f) => y4m_file::run(f, &hub, &stop),
            SourceSpec::Rtsp(r) => rtsp::run(r, &hub, &stop),
        };
        match result {
            Ok(()) => {
                hub.source_ended(None);
                tracing::info!(stream = %id, "source stopped");
            }
            Err(e) => {
                hub.source_ended(Some(e.to_string()));
                tracing::error!(stream = %id, error = %e, "source failed");
            }
        }
    })
}
