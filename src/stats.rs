//! Player statistics over a sliding one-second window (fps, bitrate) and the last frames (decode
//! time, glass-to-glass latency), plus running totals. Pure: times are arguments, in milliseconds.

use std::collections::VecDeque;

/// Samples kept for decode time and latency.
const RECENT: usize = 60;

/// What `Player.stats()` returns.
#[derive(Debug, Clone, Default)]
pub struct StatsSnapshot {
    /// Transport in use: `websocket`, `webrtc`, `webrtc-realtime` or `http`.
    pub transport: String,
    /// Connection state: `connecting`, `live`, `stalled` (connected, but the stream's source sends
    /// nothing), `reconnecting`, `closed`.
    pub state: String,
    /// Pictures painted in the last second.
    pub fps: f64,
    /// Bytes received in the last second × 8 / 1000.
    pub bitrate_kbps: f64,
    /// Mean decode + paint time of recent frames, ms.
    pub decode_ms: f64,
    /// Median glass-to-glass latency of recent frames (capture on the server → painted here), ms.
    pub latency_ms: Option<f64>,
    /// 95th percentile of the same, ms.
    pub latency_p95_ms: Option<f64>,
    /// Round trip of the best clock-sync sample, ms.
    pub rtt_ms: Option<f64>,
    /// Pictures painted in total.
    pub frames: u64,
    /// Frames the server reported skipped for this viewer (it fell behind).
    pub dropped: u64,
    /// Frames this client discarded (lost, or undecodable until the next keyframe).
    pub skipped: u64,
    /// Decoder errors.
    pub errors: u64,
    /// Frames not decoded while the player was hidden (`setVisible(false)`): held back by the
    /// server, or already on their way.
    pub paused: u64,
    /// Whether decoding runs in a worker (`setDecoder`).
    pub worker: bool,
    /// Keyframe requests sent.
    pub keyframe_requests: u64,
    /// Reconnections.
    pub reconnects: u64,
    /// Times the stream stalled while connected (its source stopped sending).
    pub stalls: u64,
    /// Stream picture size.
    pub width: u32,
    /// Stream picture height.
    pub height: u32,
    /// Stream codec string.
    pub codec: String,
    /// Frame id of the last painted picture.
    pub last_seq: Option<f64>,
    /// Milliseconds from connecting to the first painted picture.
    pub first_frame_ms: Option<f64>,
}

/// Accumulates the numbers.
#[derive(Debug, Default)]
pub struct Stats {
    painted_at: VecDeque<f64>,
    received: VecDeque<(f64, usize)>,
    decode_ms: VecDeque<f64>,
    latency_ms: VecDeque<f64>,
    /// Running totals and stream facts; `fps`, `bitrate_kbps`, `decode_ms`, latency are computed.
    pub totals: StatsSnapshot,
}

fn trim<T>(q: &mut VecDeque<T>, keep: impl Fn(&T) -> bool) {
    while q.front().is_some_and(|x| !keep(x)) {
        q.pop_front();
    }
}

impl Stats {
    /// A message of `bytes` arrived at `now`.
    pub fn received(&mut self, now: f64, bytes: usize) {
        self.received.push_back((now, bytes));
        trim(&mut self.received, |(t, _)| now - t <= 1000.0);
    }

    /// A picture was painted at `now` after `decode_ms`; `latency_ms` if the clock is synced.
    pub fn painted(&mut self, now: f64, decode_ms: f64, latency_ms: Option<f64>, seq: u64) {
        self.totals.frames += 1;
        self.totals.last_seq = Some(seq as f64);
        self.painted_at.push_back(now);
        trim(&mut self.painted_at, |t| now - t <= 1000.0);
        self.decode_ms.push_back(decode_ms);
        if self.decode_ms.len() > RECENT {
            self.decode_ms.pop_front();
        }
        if let Some(l) = latency_ms {
            self.latency_ms.push_back(l);
            if self.latency_ms.len() > RECENT {
                self.latency_ms.pop_front();
            }
        }
    }

    /// The current numbers at `now`.
    pub fn snapshot(&mut self, now: f64) -> StatsSnapshot {
        trim(&mut self.painted_at, |t| now - t <= 1000.0);
        trim(&mut self.received, |(t, _)| now - t <= 1000.0);
        let mut s = self.totals.clone();
        s.fps = self.painted_at.len() as f64;
        s.bitrate_kbps = self.received.iter().map(|(_, b)| *b).sum::<usize>() as f64 * 8.0 / 1000.0;
        s.decode_ms = if self.decode_ms.is_empty() {
            0.0
        } else {
            self.decode_ms.iter().sum::<f64>() / self.decode_ms.len() as f64
        };
        let mut lat: Vec<f64> = self.latency_ms.iter().copied().collect();
        nalcast_proto::small_sort::sort_floats(&mut lat);
        s.latency_ms = lat.get(lat.len() / 2).copied();
        s.latency_p95_ms = lat.get((lat.len() * 95 / 100).min(lat.len().saturating_sub(1))).copied();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_percentiles() {
        let mut s = Stats::default();
        for i in 0..90 {
            let t = i as f64 * 33.3;
            s.received(t, 1000);
            s.painted(t, 2.0, Some(40.0 + (i % 10) as f64), i);
        }
        let snap = s.snapshot(90.0 * 33.3);
        assert!((29.0..=31.0).contains(&snap.fps), "{}", snap.fps);
        assert!((230.0..=250.0).contains(&snap.bitrate_kbps), "{}", snap.bitrate_kbps);
        assert_eq!(snap.decode_ms, 2.0);
        assert_eq!(snap.latency_ms, Some(45.0));
        assert_eq!(snap.frames, 90);
        let later = s.snapshot(10_000.0);
        assert_eq!((later.fps, later.bitrate_kbps), (0.0, 0.0));
    }
}
