//! Server configuration: a TOML file (`--config`), command-line sources (`--source ID=SPEC`), and
//! defaults that need neither — the live test pattern and the bundled sample clip.
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! www = "www"
//! max_viewers = 2000
//! send_buffer = 262144    # per-connection kernel send buffer (SO_SNDBUF)
//! [queue]                 # per-viewer send queue; beyond it a viewer skips to the next keyframe
//! max_frames = 60
//! max_bytes = 8388608
//! [webrtc]                # data-channel delivery
//! enabled = true
//! bind = "0.0.0.0:9000"   # the UDP socket for every peer (default: the HTTP listener's IP, any port)
//! advertise = ["203.0.113.7:9000"]  # host candidates to offer instead of the bound address
//! [access]              # all optional; see `access::AccessConfig`
//! viewer_secret_file = "viewer.key"   # HMAC key: viewers then need a token per stream
//! admin_token_file = "admin.key"      # bearer token for /metrics and /api/tokens
//! allowed_origins = ["https://example.com"]
//! [tls]                   # HTTPS/WSS with rustls
//! cert = "cert.pem"
//! key = "key.pem"
//! [limits]
//! max_connections_per_ip = 256
//! max_request_bytes = 65536
//! header_timeout_ms = 10000  # request headers (and TLS handshake) must arrive within this
//! write_timeout_ms = 10000   # a viewer whose socket accepts nothing for this long is dropped
//! [bus]                 # a NATS broker between ingest, delivery and inference nodes
//! nats = "nats://127.0.0.1:4222"
//! role = "all"            # all | ingest | deliver | worker
//! [[inference]]            # a model on a stream (default: motion on the default pattern stream)
//! stream = "pattern"
//! analyzer = "motion"       # built in; or "kserve" with url = "http://127.0.0.1:8000", model = "…"
//! rate = 0                  # most pictures analysed per second; 0 = as many as the model takes
//! [[stream]]
//! id = "pattern"
//! kind = "pattern"        # width, height, fps, bitrate, gop
//! width = 1280
//! height = 720
//! [[stream]]
//! id = "clip"
//! kind = "h264"           # an Annex-B file, looped; `path = "builtin:sample"` is the bundled clip
//! path = "clip.h264"
//! ```

use crate::sources::SourceSpec;
use nalcast_proto::playout::Limits;
use std::path::PathBuf;

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// What happened.
        error: std::io::Error,
    },
    /// The file is not valid configuration.
    #[error("{path}: {error}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong.
        error: Box<toml::de::Error>,
    },
    /// A value is wrong.
    #[error("{0}")]
    Invalid(String),
}

/// Per-viewer queue limits.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// Most frames waiting for one viewer.
    #[serde(default = "default_queue_frames")]
    pub max_frames: usize,
    /// Most bytes waiting for one viewer.
    #[serde(default = "default_queue_bytes")]
    pub max_bytes: usize,
}

fn default_queue_frames() -> usize {
    Limits::default().max_frames
}
fn default_queue_bytes() -> usize {
    Limits::default().max_bytes
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig { max_frames: default_queue_frames(), max_bytes: default_queue_bytes() }
    }
}

/// `[limits]`: what one client may hold or send.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Most open connections from one IP address; more are closed at once.
    pub max_connections_per_ip: usize,
    /// Largest request body (SDP offers, control messages, token requests).
    pub max_request_bytes: usize,
    /// Milliseconds a client may take to send a request's headers (and finish TLS).
    pub header_timeout_ms: u64,
    /// Milliseconds a write to a viewer may stay blocked before the viewer is dropped.
    pub write_timeout_ms: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_connections_per_ip: 256,
            max_request_bytes: 64 * 1024,
            header_timeout_ms: 10_000,
            write_timeout_ms: 10_000,
        }
    }
}

/// One configured stream.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct StreamConfig {
    /// Its id, used in URLs: letters, digits, `-`, `_`, `.`.
    pub id: String,
    /// What feeds it.
    #[serde(flatten)]
    pub source: SourceSpec,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The page's folder (with `pkg/` from wasm-pack).
    #[serde(default = "default_www")]
    pub www: PathBuf,
    /// Most viewer connections at once (all streams and transports).
    #[serde(default = "default_max_viewers")]
    pub max_viewers: usize,
    /// Per-viewer queue limits.
    #[serde(default)]
    pub queue: QueueConfig,
    /// Kernel send buffer per connection in bytes (`SO_SNDBUF`): how much may sit in the kernel
    /// for a viewer before its own queue starts to fill. Smaller detects slow viewers sooner.
    #[serde(default = "default_send_buffer")]
    pub send_buffer: usize,
    /// WebRTC data channels.
    #[serde(default)]
    pub webrtc: crate::transports::webrtc::WebRtcConfig,
    /// Viewer tokens, the admin token and allowed origins.
    #[serde(default)]
    pub access: crate::access::AccessConfig,
    /// HTTPS when set.
    #[serde(default)]
    pub tls: Option<crate::tls::TlsConfig>,
    /// Per-client limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// The broker between nodes.
    #[serde(default)]
    pub bus: crate::bus::BusConfig,
    /// The streams; empty means the defaults.
    #[serde(default, rename = "stream")]
    pub streams: Vec<StreamConfig>,
    /// Models on streams; absent means the default (motion on the default pattern stream),
    /// `inference = []` means none.
    #[serde(default)]
    pub inference: Option<Vec<crate::infer::InferenceConfig>>,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_www() -> PathBuf {
    "www".into()
}
fn default_send_buffer() -> usize {
    256 * 1024
}
fn default_max_viewers() -> usize {
    4096
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: default_listen(),
            www: default_www(),
            max_viewers: default_max_viewers(),
            queue: QueueConfig::default(),
            send_buffer: default_send_buffer(),
            webrtc: Default::default(),
            access: Default::default(),
            tls: None,
            limits: LimitsConfig::default(),
            bus: Default::default(),
            streams: Vec::new(),
            inference: None,
        }
    }
}

impl Config {
    /// Reads a TOML configuration file.
    pub fn from_file(path: &std::path::Path) -> Result<Config, ConfigError> {
        let config = Config::read_file(path)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads a TOML configuration file without checking it, for command-line options (`--role`)
    /// that change what is valid; call [`Config::validate`] after applying them.
    pub fn read_file(path: &std::path::Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| ConfigError::Read { path: path.display().to_string(), error })?;
        toml::from_str(&text)
            .map_err(|e| ConfigError::Parse { path: path.display().to_string(), error: Box::new(e) })
    }

    /// Parses TOML configuration text.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: "config".into(), error: Box::new(e) })?;
        config.validate()?;
        Ok(config)
    }

    /// The default streams: the live 720p30 test pattern and the bundled sample clip.
    pub fn default_streams() -> Vec<StreamConfig> {
        let pattern = SourceSpec::parse_cli("pattern:1280x720@30").unwrap_or_else(|_| unreachable_default());
        vec![
            StreamConfig { id: "pattern".into(), source: pattern },
            StreamConfig {
                id: "sample".into(),
                source: SourceSpec::H264(crate::sources::h264_file::H264FileSpec {
                    path: crate::sources::h264_file::BUILTIN_SAMPLE.into(),
                    fps: None,
                }),
            },
        ]
    }

    /// The streams to run: the configured ones, or the defaults.
    pub fn effective_streams(&self) -> Vec<StreamConfig> {
        if self.streams.is_empty() { Config::default_streams() } else { self.streams.clone() }
    }

    /// The models to run: the configured ones, or motion analysis on the `pattern` stream when that
    /// is one of the streams and nothing was configured.
    pub fn effective_inference(&self) -> Vec<crate::infer::InferenceConfig> {
        match &self.inference {
            Some(list) => list.clone(),
            None if self.effective_streams().iter().any(|s| s.id == "pattern") => {
                vec![crate::infer::InferenceConfig::motion("pattern")]
            }
            None => Vec::new(),
        }
    }

    /// Adds a stream given on the command line as `ID=SPEC`.
    pub fn add_cli_stream(&mut self, arg: &str) -> Result<(), ConfigError> {
        let (id, spec) =
            arg.split_once('=').ok_or_else(|| ConfigError::Invalid(format!("{arg:?}: want ID=SOURCE")))?;
        let source = SourceSpec::parse_cli(spec).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        self.streams.push(StreamConfig { id: id.to_string(), source });
        self.validate()
    }

    /// Checks ids and limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut seen = std::collections::HashSet::new();
        for s in &self.streams {
            let ok_id = !s.id.is_empty()
                && s.id.len() <= 64
                && s.id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && !s.id.starts_with('.');
            if !ok_id {
                return Err(ConfigError::Invalid(format!(
                    "stream id {:?}: use 1-64 letters, digits, - _ .",
                    s.id
                )));
            }
            if !seen.insert(&s.id) {
                return Err(ConfigError::Invalid(format!("stream id {:?} is used twice", s.id)));
            }
            if let SourceSpec::Pattern(p) = &s.source {
                p.validate().map_err(|e| ConfigError::Invalid(format!("stream {:?}: {e}", s.id)))?;
            }
        }
        if self.queue.max_frames == 0 || self.queue.max_bytes < 1024 {
            return Err(ConfigError::Invalid("queue limits too small".into()));
        }
        if self.max_viewers == 0 {
            return Err(ConfigError::Invalid("max_viewers must be at least 1".into()));
        }
        self.bus.validate().map_err(ConfigError::Invalid)?;
        let l = &self.limits;
        if l.max_connections_per_ip == 0
            || l.max_request_bytes < 1024
            || l.header_timeout_ms < 100
            || l.write_timeout_ms < 100
        {
            return Err(ConfigError::Invalid(
                "[limits]: max_connections_per_ip ≥ 1, max_request_bytes ≥ 1024, timeouts ≥ 100 ms".into(),
            ));
        }
        let streams = self.effective_streams();
        for i in self.effective_inference() {
            // Relaying roles get their streams from the broker, not from this file.
            if self.bus.role.runs_sources() && !streams.iter().any(|s| s.id == i.stream) {
                return Err(ConfigError::Invalid(format!("[[inference]]: no stream {:?}", i.stream)));
            }
            i.validate().map_err(ConfigError::Invalid)?;
        }
        Ok(())
    }
}

/// `pattern:1280x720@30` always parses; this keeps the default list free of `unwrap`.
fn unreachable_default() -> SourceSpec {
    SourceSpec::Pattern(crate::sources::pattern::PatternSpec {
        width: 1280,
        height: 720,
        fps: 30.0,
        bitrate: 2_000_000,
        gop: 30,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_file() {
        let c = Config::from_toml(
            r#"
            listen = "127.0.0.1:9000"
            max_viewers = 10
            [queue]
            max_frames = 30
            [[stream]]
            id = "cam"
            kind = "pattern"
            width = 640
            height = 360
            fps = 25
            [[stream]]
            id = "file"
            kind = "h264"
            path = "a.h264"
            "#,
        )
        .expect("valid");
        assert_eq!(c.listen, "127.0.0.1:9000");
        assert_eq!(c.queue.max_frames, 30);
        assert_eq!(c.streams.len(), 2);
        assert!(matches!(&c.streams[0].source, SourceSpec::Pattern(p) if p.width == 640 && p.fps == 25.0));
    }

    #[test]
    fn rejects_bad_files_with_a_reason() {
        for bad in [
            "listen = 5",
            "unknown = 1",
            "[[stream]]\nid = \"a\"\nkind = \"nope\"",
            "[[stream]]\nid = \"../x\"\nkind = \"pattern\"",
            "[[stream]]\nid = \"a\"\nkind = \"pattern\"\n[[stream]]\nid = \"a\"\nkind = \"pattern\"",
            "[[stream]]\nid = \"a\"\nkind = \"pattern\"\nwidth = 7",
        ] {
            assert!(Config::from_toml(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_documented_example_is_valid() {
        let source = include_str!("config.rs");
        let example: String = source
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| format!("{}\n", l.trim_start_matches("//!").trim_start()))
            .collect();
        assert!(example.contains("[[stream]]"), "{example}");
        let c = Config::from_toml(&example).expect("the example in the module docs parses");
        assert_eq!(c.send_buffer, 262144);
        assert_eq!(c.limits.max_connections_per_ip, 256);
        assert!(c.tls.is_some() && c.access.viewer_secret_file.is_some());
    }

    #[test]
    fn defaults_and_cli_streams() {
        let mut c = Config::default();
        assert_eq!(c.effective_streams().len(), 2);
        c.add_cli_stream("small=pattern:320x180@15").expect("valid");
        assert!(c.add_cli_stream("nope").is_err());
        assert!(c.add_cli_stream("x=video.avi").is_err());
        assert_eq!(c.effective_streams().len(), 1);
    }
}
