//! RTSP cameras, read with `retina`: DESCRIBE, SETUP of the first H.264 video stream (RTP over the
//! RTSP TCP connection by default, or UDP), PLAY, then depacketized access units in Annex-B form with
//! SPS/PPS in front of every keyframe. When the camera goes away or stalls, the source reconnects
//! with exponential backoff (0.5 s doubling to 10 s) until stopped; viewers stay connected and resume
//! at the camera's next keyframe.

use crate::frame::SourceFrame;
use crate::hub::Hub;
use crate::sources::{SourceError, StopFlag, now_us};
use bytes::Bytes;
use futures_util::StreamExt;
use retina::client::{PlayOptions, Session, SessionOptions, SetupOptions, Transport};
use retina::codec::{CodecItem, FrameFormat};
use std::sync::Arc;
use std::time::Duration;

/// Longest time without a frame before the connection is considered dead.
const STALL: Duration = Duration::from_secs(10);
const MIN_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// An RTSP source.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RtspSpec {
    /// `rtsp://host[:port]/path`; credentials may be given here or below.
    pub url: String,
    /// User name.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// `tcp` (interleaved, the default: works through NAT and firewalls) or `udp`.
    #[serde(default)]
    pub transport: RtspTransport,
}

/// How RTP packets travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RtspTransport {
    /// Interleaved on the RTSP connection.
    #[default]
    Tcp,
    /// Separate UDP ports.
    Udp,
}

/// Why one RTSP session ended.
#[derive(Debug, thiserror::Error)]
enum SessionEnd {
    #[error("stopped")]
    Stopped,
    #[error("{0}")]
    Failed(String),
}

impl From<retina::Error> for SessionEnd {
    fn from(e: retina::Error) -> Self {
        SessionEnd::Failed(e.to_string())
    }
}

/// Reads the camera until `stop` is set, reconnecting as needed.
pub fn run(spec: &RtspSpec, hub: &Arc<Hub>, stop: &StopFlag) -> Result<(), SourceError> {
    let url = url::Url::parse(&spec.url).map_err(|e| SourceError::Invalid(format!("{}: {e}", spec.url)))?;
    if url.scheme() != "rtsp" {
        return Err(SourceError::Invalid(format!("{}: not an rtsp:// URL", spec.url)));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| SourceError::Io { path: spec.url.clone(), error })?;
    runtime.block_on(async {
        let mut backoff = MIN_BACKOFF;
        let mut base_us = 0;
        while !stop.is_set() {
            let mut published = 0u64;
            match session(spec, url.clone(), hub, stop, &mut base_us, &mut published).await {
                Ok(()) | Err(SessionEnd::Stopped) => break,
                Err(SessionEnd::Failed(e)) => {
                    if published > 0 {
                        backoff = MIN_BACKOFF;
                    }
                    tracing::warn!(url = %redacted(&url), error = %e, retry_in = ?backoff, "RTSP source lost; reconnecting");
                    hub.source_down(format!("camera lost, reconnecting: {e}"));
                }
            }
            let until = tokio::time::Instant::now() + backoff;
            while !stop.is_set() && tokio::time::Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    });
    Ok(())
}

/// The URL without its password, for logs.
fn redacted(url: &url::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_password(None);
    u.to_string()
}

async fn session(
    spec: &RtspSpec,
    url: url::Url,
    hub: &Arc<Hub>,
    stop: &StopFlag,
    base_us: &mut u64,
    published: &mut u64,
) -> Result<(), SessionEnd> {
    let creds = match (&spec.username, &spec.password) {
        (Some(u), p) => {
            Some(retina::client::Credentials { username: u.clone(), password: p.clone().unwrap_or_default() })
        }
        _ => None,
    };
    let options = SessionOptions::default().creds(creds).user_agent("nalcast".into());
    let mut described = tokio::time::timeout(STALL, Session::describe(url, options))
        .await
        .map_err(|_| SessionEnd::Failed("DESCRIBE timed out".into()))??;
    let index = described
        .streams()
        .iter()
        .position(|s| s.media() == "video" && s.encoding_name().eq_ignore_ascii_case("h264"))
        .ok_or_else(|| SessionEnd::Failed("the camera offers no H.264 video stream".into()))?;
    let transport = match spec.transport {
        RtspTransport::Tcp => Transport::Tcp(Default::default()),
        RtspTransport::Udp => Transport::Udp(Default::default()),
    };
    described
        .setup(index, SetupOptions::default().transport(transport).frame_format(FrameFormat::SIMPLE))
        .await?;
    let mut frames = described.play(PlayOptions::default()).await?.demuxed()?;
    let start_base = *base_us;
    let mut last_pts = 0;
    // A new session continues nothing: publish from its first keyframe on.
    let mut keyframe_seen = false;
    loop {
        if stop.is_set() {
            return Err(SessionEnd::Stopped);
        }
        let item = match tokio::time::timeout(Duration::from_millis(250), frames.next()).await {
            Ok(item) => item,
            Err(_) => {
                // Checked every 250 ms so a stop is prompt; a long silence is a dead camera.
                continue_or_stall(&mut last_pts, published)?;
                continue;
            }
        };
        match item {
            Some(Ok(CodecItem::VideoFrame(f))) => {
                let ts = f.timestamp();
                let rate = u64::from(ts.clock_rate().get()).max(1);
                let pts_us = start_base + (ts.elapsed().max(0) as u64).saturating_mul(1_000_000) / rate;
                *base_us = pts_us;
                let key = f.is_random_access_point();
                last_pts = now_us();
                keyframe_seen |= key;
                if !keyframe_seen {
                    continue;
                }
                let data = Bytes::from(f.into_data());
                let _ = hub.take_keyframe_request(); // cameras are asked through their own GOP
                hub.publish(&SourceFrame { pts_us, capture_us: now_us(), key, data });
                *published += 1;
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => return Err(SessionEnd::Failed("the camera ended the stream".into())),
        }
    }
}

/// Errors when no frame has arrived for [`STALL`].
fn continue_or_stall(last_frame_us: &mut u64, published: &u64) -> Result<(), SessionEnd> {
    let now = now_us();
    if *last_frame_us == 0 {
        *last_frame_us = now;
    }
    if now.saturating_sub(*last_frame_us) > STALL.as_micros() as u64 {
        return Err(SessionEnd::Failed(format!(
            "no frame for {} s (after {published} frames)",
            STALL.as_secs()
        )));
    }
    Ok(())
}
