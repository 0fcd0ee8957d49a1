//! The inference worker driver: taps a stream's hub, decodes every access unit natively on its own
//! thread, and runs the analyzer on another thread over the newest decoded picture only.
//!
//! The two threads meet in a one-picture slot: the decoder overwrites what the model has not
//! taken yet (a dropped sample), so a slow model never queues pictures and never slows the video —
//! the hub's tap itself skips ahead if even decoding falls behind. Results are published to the hub
//! (viewers and results taps) keyed by the analysed frame's id; a replaced picture is published as
//! a `skipped` marker at once, so players holding frames for their results need not wait for it.

use super::{Analyzer, Picture};
use crate::hub::{Hub, Tapped};
use nalcast_codec::Decoder;
use nalcast_proto::wire::Results;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;

/// How a worker samples.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WorkerOptions {
    /// Most pictures analysed per second; 0 = as many as the model can take.
    pub max_rate: f64,
}

/// How many recent inference times the percentiles are taken over.
const LATENCY_WINDOW: usize = 256;

/// A worker's live counters (for `/metrics` and `/api/streams`).
#[derive(Debug, Default)]
pub struct WorkerStats {
    /// Pictures decoded.
    pub decoded: AtomicU64,
    /// Pictures analysed (results published).
    pub analysed: AtomicU64,
    /// Pictures replaced in the slot before the model took them.
    pub dropped_samples: AtomicU64,
    /// Frames the tap skipped because decoding fell behind.
    pub lagged_frames: AtomicU64,
    /// Analyzer failures.
    pub errors: AtomicU64,
    /// Decoder errors.
    pub decode_errors: AtomicU64,
    /// Recent inference times, microseconds, with when each picture finished.
    latencies: Mutex<VecDeque<(Instant, u32)>>,
}

impl WorkerStats {
    fn record(&self, us: u32) {
        let mut l = self.latencies.lock().unwrap_or_else(|e| e.into_inner());
        if l.len() == LATENCY_WINDOW {
            l.pop_front();
        }
        l.push_back((Instant::now(), us));
    }

    /// Pictures analysed per second over the last five seconds (or the window's span if shorter).
    pub fn rate(&self) -> f64 {
        let l = self.latencies.lock().unwrap_or_else(|e| e.into_inner());
        let span = Duration::from_secs(5);
        let recent = l.iter().filter(|(t, _)| t.elapsed() <= span).count();
        recent as f64 / span.as_secs_f64()
    }

    /// Percentile `p` (0–1) of the recent inference times in milliseconds, if any.
    pub fn latency_ms(&self, p: f64) -> Option<f64> {
        let mut v: Vec<u32> =
            self.latencies.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|(_, us)| *us).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let i = ((v.len() - 1) as f64 * p.clamp(0.0, 1.0)).round() as usize;
        Some(f64::from(v[i]) / 1000.0)
    }
}

/// A running worker.
#[derive(Debug, Clone)]
pub struct WorkerHandle {
    /// The stream it analyses.
    pub stream: String,
    /// The model's name.
    pub model: String,
    /// Its counters.
    pub stats: Arc<WorkerStats>,
    stop: Arc<AtomicBool>,
}

impl WorkerHandle {
    /// Asks both threads to finish (they do within about a second).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The newest decoded picture, waiting for the model; plus a spare buffer to decode into.
#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
    ready: Condvar,
}

#[derive(Default)]
struct SlotState {
    waiting: Option<Picture>,
    /// When `waiting` was decoded.
    waiting_since: Option<Instant>,
    spare: Option<Picture>,
    /// The frame the model is looking at now. A skip marker says "nothing more up to here", so
    /// while a frame is in analysis, skips of later frames wait for its results (`skip_after`).
    busy: Option<u64>,
    skip_after: Option<u64>,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Starts a worker running `analyzer` on `hub`'s stream.
pub fn spawn(
    hub: Arc<Hub>,
    analyzer: Box<dyn Analyzer>,
    options: WorkerOptions,
) -> std::io::Result<WorkerHandle> {
    let stream = hub.info().id;
    let handle = WorkerHandle {
        stream: stream.clone(),
        model: analyzer.name().to_string(),
        stats: Arc::default(),
        stop: Arc::default(),
    };
    let slot = Arc::new(Slot::default());
    let tap = hub.tap();
    {
        let (slot, stats, stop) = (slot.clone(), handle.stats.clone(), handle.stop.clone());
        let (hub, model) = (hub.clone(), handle.model.clone());
        let skipped = move |seq| {
            hub.publish_results(Results { seq, skipped: true, model: model.clone(), ..Results::default() })
        };
        std::thread::Builder::new()
            .name(format!("decode-{stream}"))
            .spawn(move || decode_loop(tap, &slot, &stats, &stop, skipped))?;
    }
    {
        let (stats, stop) = (handle.stats.clone(), handle.stop.clone());
        std::thread::Builder::new()
            .name(format!("model-{stream}"))
            .spawn(move || model_loop(hub, analyzer, options, &slot, &stats, &stop))?;
    }
    tracing::info!(%stream, model = %handle.model, rate = options.max_rate, "inference worker started");
    Ok(handle)
}

fn decode_loop(
    mut tap: tokio::sync::broadcast::Receiver<Arc<Tapped>>,
    slot: &Slot,
    stats: &WorkerStats,
    stop: &AtomicBool,
    skipped: impl Fn(u64),
) {
    let mut decoder = match Decoder::new() {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "inference worker: no decoder");
            return;
        }
    };
    let mut need_key = true;
    let mut capture: VecDeque<(u64, u64)> = VecDeque::with_capacity(32);
    while !stop.load(Ordering::Relaxed) {
        let tapped = match tap.blocking_recv() {
            Ok(t) => t,
            Err(RecvError::Lagged(n)) => {
                stats.lagged_frames.fetch_add(n, Ordering::Relaxed);
                need_key = true;
                continue;
            }
            Err(RecvError::Closed) => break,
        };
        if need_key && !tapped.frame.key {
            continue;
        }
        need_key = false;
        if capture.len() == 32 {
            capture.pop_front();
        }
        capture.push_back((tapped.seq, tapped.frame.capture_us));
        let mut out = slot.lock().spare.take().unwrap_or_else(|| Picture {
            seq: 0,
            capture_us: 0,
            width: 0,
            height: 0,
            color: Default::default(),
            i420: Vec::new(),
        });
        let mut got = false;
        let result = decoder.decode_access_unit(&tapped.frame.data, tapped.seq, |frame| {
            let seq = frame.timestamp;
            let captured = capture.iter().find(|(s, _)| *s == seq).map_or(0, |(_, c)| *c);
            out.copy_from(&frame, seq, captured);
            got = true;
        });
        if let Err(e) = result {
            stats.decode_errors.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(error = %e, "inference worker: decode error");
            need_key = true;
        }
        let mut s = slot.lock();
        if got {
            stats.decoded.fetch_add(1, Ordering::Relaxed);
            s.waiting_since = Some(Instant::now());
            let replaced = s.waiting.replace(out).map(|old| {
                let seq = old.seq;
                s.spare = Some(old);
                seq
            });
            slot.ready.notify_one();
            if let Some(seq) = replaced {
                stats.dropped_samples.fetch_add(1, Ordering::Relaxed);
                if s.busy.is_some() {
                    s.skip_after = Some(seq);
                } else {
                    drop(s);
                    skipped(seq);
                }
            }
        } else {
            s.spare = Some(out);
        }
    }
    stop.store(true, Ordering::Relaxed);
    slot.ready.notify_all();
}

fn model_loop(
    hub: Arc<Hub>,
    mut analyzer: Box<dyn Analyzer>,
    options: WorkerOptions,
    slot: &Slot,
    stats: &WorkerStats,
    stop: &AtomicBool,
) {
    let interval = (options.max_rate > 0.0).then(|| Duration::from_secs_f64(1.0 / options.max_rate));
    let mut last_start: Option<Instant> = None;
    let model = analyzer.name().to_string();
    while !stop.load(Ordering::Relaxed) {
        // With a rate limit, the next picture must be one decoded after the limit opens: one that
        // waited through the pause would make its results (and the players holding for them) late.
        let mut fresh_after = None;
        if let (Some(every), Some(last)) = (interval, last_start) {
            let wait = every.saturating_sub(last.elapsed());
            if !wait.is_zero() {
                // Pictures keep replacing each other meanwhile.
                std::thread::sleep(wait.min(Duration::from_millis(500)));
                continue;
            }
            fresh_after = Some(last + every);
        }
        let picture = {
            let mut s = slot.lock();
            loop {
                let fresh = match (fresh_after, s.waiting_since) {
                    (Some(after), Some(since)) => since >= after,
                    _ => true,
                };
                if fresh && let Some(p) = s.waiting.take() {
                    s.busy = Some(p.seq);
                    break Some(p);
                }
                if stop.load(Ordering::Relaxed) {
                    break None;
                }
                s = slot
                    .ready
                    .wait_timeout(s, Duration::from_millis(500))
                    .map_or_else(|e| e.into_inner().0, |r| r.0);
            }
        };
        let Some(picture) = picture else { break };
        let started = Instant::now();
        // Keep the cadence: waiting for a fresh picture must not stretch every interval.
        last_start = Some(match (fresh_after, interval) {
            (Some(after), Some(every)) if started.duration_since(after) < every / 2 => after,
            _ => started,
        });
        let outcome = analyzer.analyze(&picture);
        let took = started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
        match outcome {
            Ok(detections) => {
                stats.record(took);
                stats.analysed.fetch_add(1, Ordering::Relaxed);
                hub.publish_results(Results {
                    seq: picture.seq,
                    skipped: false,
                    model: model.clone(),
                    produced_us: crate::sources::now_us(),
                    inference_us: took,
                    width: picture.width.min(u16::MAX as usize) as u16,
                    height: picture.height.min(u16::MAX as usize) as u16,
                    detections,
                });
            }
            Err(e) => {
                let n = stats.errors.fetch_add(1, Ordering::Relaxed);
                if n.is_power_of_two() || n == 0 {
                    tracing::warn!(model = %model, error = %e, failures = n + 1, "inference failed");
                }
            }
        }
        let mut s = slot.lock();
        s.busy = None;
        let skip = s.skip_after.take();
        if s.spare.is_none() {
            s.spare = Some(picture);
        }
        drop(s);
        if let Some(seq) = skip {
            hub.publish_results(Results { seq, skipped: true, model: model.clone(), ..Results::default() });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::StreamInfo;
    use crate::infer::InferError;
    use nalcast_proto::wire::Detection;

    /// A model that takes `delay` per picture and reports the picture's id as its box's x.
    struct Slow(Duration);
    impl Analyzer for Slow {
        fn name(&self) -> &str {
            "slow"
        }
        fn analyze(&mut self, p: &Picture) -> Result<Vec<Detection>, InferError> {
            std::thread::sleep(self.0);
            Ok(vec![Detection { x: p.seq as u16, w: p.width as u16, ..Detection::default() }])
        }
    }

    fn encoded_pattern(frames: u64) -> Vec<crate::frame::SourceFrame> {
        use openh264::OpenH264API;
        use openh264::encoder::{Encoder, EncoderConfig};
        use openh264::formats::YUVBuffer;
        let (w, h) = (160, 96);
        let mut enc =
            Encoder::with_api_config(OpenH264API::from_source(), EncoderConfig::new()).expect("encoder");
        (0..frames)
            .map(|n| {
                let yuv = YUVBuffer::from_vec(crate::sources::pattern::draw(n, 0, w, h), w, h);
                let mut data = Vec::new();
                enc.encode(&yuv).expect("encodes").write_vec(&mut data);
                let key = crate::sources::pattern::has_idr(&data);
                crate::frame::SourceFrame { pts_us: n * 33_333, capture_us: n, key, data: data.into() }
            })
            .collect()
    }

    #[test]
    fn a_slow_model_gets_the_newest_pictures_and_never_holds_up_the_stream() {
        let hub =
            Arc::new(Hub::new(StreamInfo { id: "t".into(), ..StreamInfo::default() }, Default::default()));
        let mut results = hub.tap_results();
        let worker = spawn(hub.clone(), Box::new(Slow(Duration::from_millis(60))), WorkerOptions::default())
            .expect("spawns");
        let frames = encoded_pattern(60);
        let started = Instant::now();
        for f in &frames {
            hub.publish(f);
            std::thread::sleep(Duration::from_millis(10));
        }
        // Publishing never waited for the model (waiting would take 60 x 60 ms = 3.6 s).
        assert!(started.elapsed() < Duration::from_millis(2000), "{:?}", started.elapsed());
        // Wait (bounded) until every frame is decoded and the newest one has been analysed, however
        // slowly the threads were scheduled, collecting what the worker sends meanwhile.
        let s = &worker.stats;
        let mut all: Vec<Arc<Results>> = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            all.extend(std::iter::from_fn(|| results.try_recv().ok()));
            let newest = all.iter().filter(|r| !r.skipped).map(|r| r.seq).max();
            let covered = all.last().map(|r| r.seq);
            if s.decoded.load(Ordering::Relaxed) == 60
                && newest.is_some_and(|n| n >= 55)
                && covered.is_some_and(|c| c >= 58)
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(100));
        worker.stop();
        let ran = started.elapsed();
        all.extend(std::iter::from_fn(|| results.try_recv().ok()));
        let got: Vec<u64> = all.iter().filter(|r| !r.skipped).map(|r| r.seq).collect();
        let skips: Vec<u64> = all.iter().filter(|r| r.skipped).map(|r| r.seq).collect();
        let (decoded, analysed, dropped) = (
            s.decoded.load(Ordering::Relaxed),
            s.analysed.load(Ordering::Relaxed),
            s.dropped_samples.load(Ordering::Relaxed),
        );
        assert_eq!(decoded, 60, "every frame decoded");
        // One picture per 60 ms at most, over however long the run took; far fewer than the 60 sent.
        let most = ran.as_millis() as u64 / 60 + 2;
        assert!((5..=most.min(40)).contains(&analysed), "analysed {analysed} in {ran:?}");
        assert!(dropped >= 60 - analysed - 2, "dropped {dropped}, analysed {analysed}");
        assert_eq!(got.len() as u64, analysed);
        // Skip markers say "nothing more up to here": in order with the results, never overtaking a
        // frame still in analysis, and between them they cover every frame.
        let order: Vec<u64> = all.iter().map(|r| r.seq).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "in order: {order:?}");
        assert!(!skips.is_empty() && order.last().is_some_and(|&l| l >= 58), "{order:?}");
        assert!(got.windows(2).all(|w| w[0] < w[1]), "in order: {got:?}");
        assert!(got.last().is_some_and(|&l| l >= 55), "the newest picture is analysed: {got:?}");
        assert!(s.latency_ms(0.5).is_some_and(|ms| ms >= 60.0));
    }

    #[test]
    fn the_rate_limit_holds() {
        let hub =
            Arc::new(Hub::new(StreamInfo { id: "t".into(), ..StreamInfo::default() }, Default::default()));
        let worker = spawn(hub.clone(), Box::new(Slow(Duration::ZERO)), WorkerOptions { max_rate: 10.0 })
            .expect("spawns");
        let frames = encoded_pattern(60);
        let started = Instant::now();
        for f in &frames {
            hub.publish(f);
            std::thread::sleep(Duration::from_millis(16));
        }
        worker.stop();
        let ran = started.elapsed();
        let analysed = worker.stats.analysed.load(Ordering::Relaxed);
        // About 1 s of frames (longer on a loaded machine) at 10 per second: far fewer than the 60
        // published, and no more than the limit allows over the time the run really took.
        let most = (ran.as_secs_f64() * 10.0).ceil() as u64 + 3;
        assert!((6..=most.min(40)).contains(&analysed), "analysed {analysed} in {ran:?}");
    }
}
