//! One stream's hub: takes frames from the stream's single reader and fans them out to any number
//! of viewers, each through its own bounded [`ViewerQueue`] (a slow viewer only ever loses its own
//! frames), keeps the GOP cache that lets a new viewer start at once, and counts what happens.
//!
//! Publishing never waits on a viewer: it pushes into the queues and wakes their writers.
//!
//! The hub also knows whether its source is delivering ([`SourceState`], shown in `/api/streams`):
//! a source that falls silent for longer than [`stall_after`] is `stalled` — its viewers stay
//! connected and resume at the source's next keyframe — and a source that reconnects, ends or fails
//! says so with [`Hub::source_down`] / [`Hub::source_ended`].
//!
//! Besides viewers, the hub has taps ([`Hub::tap`], [`Hub::tap_results`]): broadcast channels for
//! in-process consumers — inference workers and broker publishers — that skip ahead when they lag
//! and never slow publishing. A model's results come back through [`Hub::publish_results`] and go
//! to every viewer in order with the frames.

use crate::frame::{SourceFrame, WireFrame};
use nalcast_proto::playout::{Limits, Outgoing, Pushed, ViewerQueue};
use nalcast_proto::sps::SpsInfo;
use nalcast_proto::wire::{Config, Results};
use nalcast_proto::{annexb::nal_units, wire::MAX_PARAMETER_SET};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, broadcast};

/// How many frames (and results) a tap may fall behind before it skips ahead.
const TAP_CAPACITY: usize = 64;

/// A published frame as taps see it: its id and the source's frame.
#[derive(Debug, Clone)]
pub struct Tapped {
    /// Frame id.
    pub seq: u64,
    /// The frame.
    pub frame: SourceFrame,
}

/// The GOP cache's budget: beyond it, joiners wait for the next keyframe instead.
const GOP_CACHE_MAX_FRAMES: usize = 600;
const GOP_CACHE_MAX_BYTES: usize = 64 << 20;

/// Static description of a stream (from its configuration and SPS).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct StreamInfo {
    /// Stream id (URL path segment).
    pub id: String,
    /// What feeds it (`pattern`, `h264`, …).
    pub kind: String,
    /// RFC 6381 codec string, once known.
    pub codec: String,
    /// Picture width.
    pub width: u32,
    /// Picture height.
    pub height: u32,
    /// Nominal frame rate.
    pub fps: f64,
    /// Whether the source is delivering now (filled in by [`Hub::info`]).
    #[serde(default)]
    pub state: SourceState,
    /// Why the source is not delivering, when it said so (reconnecting, failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
}

/// What a stream's source is doing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceState {
    /// No frame published yet.
    #[default]
    Starting,
    /// Frames arrive.
    Live,
    /// No frame for longer than [`stall_after`], or the source is reconnecting.
    Stalled,
    /// The source stopped or failed and will not deliver again.
    Ended,
}

/// How long a source may be silent before it counts as stalled: three frame intervals, at least a
/// second (cameras at 1 fps and files with long pauses are not stalled).
pub fn stall_after(fps: f64) -> Duration {
    let interval = if fps > 0.0 { 1.0 / fps } else { 1.0 };
    Duration::from_secs_f64((3.0 * interval).max(1.0))
}

#[derive(Debug, Default)]
struct Health {
    last_frame: Option<Instant>,
    /// The source said it is down (and why); cleared by its next frame.
    down: Option<String>,
    ended: bool,
}

/// Live counters of a stream.
#[derive(Debug, Default)]
pub struct StreamCounters {
    /// Frames published.
    pub frames: AtomicU64,
    /// Bytes of access units published.
    pub bytes: AtomicU64,
    /// Viewers connected now.
    pub viewers: AtomicU64,
    /// Viewers ever connected.
    pub viewers_total: AtomicU64,
    /// Frames dropped for slow viewers, summed.
    pub dropped: AtomicU64,
    /// Frames not sent to paused viewers (hidden tiles), summed.
    pub held: AtomicU64,
    /// Model results published.
    pub results: AtomicU64,
    /// Keyframe requests received.
    pub keyframe_requests: AtomicU64,
}

/// One viewer's side of the hub: its queue and the signal that wakes its writer.
#[derive(Debug)]
pub struct ViewerSlot {
    queue: Mutex<ViewerQueue<WireFrame>>,
    /// Notified whenever something was queued.
    pub wake: Notify,
}

impl ViewerSlot {
    fn lock(&self) -> MutexGuard<'_, ViewerQueue<WireFrame>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the next thing to send.
    pub fn pop(&self) -> Option<Outgoing<WireFrame>> {
        self.lock().pop()
    }

    /// Frames dropped for this viewer.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped()
    }

    /// Pauses (`true`) or resumes this viewer (its tile is hidden, or shown again): see
    /// [`ViewerQueue::pause`]. Returns whether anything changed.
    pub fn pause(&self, paused: bool, next_seq: u64) -> bool {
        self.lock().pause(paused, next_seq)
    }

    /// Makes this viewer skip to the next keyframe (its decoder asked for a fresh start).
    pub fn restart_at_keyframe(&self, next_seq: u64) {
        self.lock().wait_for_keyframe(next_seq);
    }
}

#[derive(Debug, Default)]
struct State {
    next_seq: u64,
    config: Option<Config>,
    /// From the last keyframe on, already marked catch-up (made once, shared by every joiner);
    /// empty while invalid.
    gop: Vec<WireFrame>,
    gop_bytes: usize,
    viewers: HashMap<u64, Arc<ViewerSlot>>,
    next_viewer: u64,
}

/// What a joining viewer gets.
#[derive(Debug)]
pub struct Joined {
    /// The viewer's id (to leave).
    pub id: u64,
    /// Its slot.
    pub slot: Arc<ViewerSlot>,
    /// The stream configuration, if the stream has started.
    pub config: Option<Config>,
    /// The cached GOP, already marked catch-up; send before anything from the slot.
    pub catch_up: Vec<WireFrame>,
}

/// A stream's hub.
#[derive(Debug)]
pub struct Hub {
    info: Mutex<StreamInfo>,
    state: Mutex<State>,
    limits: Limits,
    /// Counters for the API and metrics.
    pub counters: StreamCounters,
    /// What viewers report about drawing this stream's results.
    pub paint_reports: crate::infer::reports::PaintReports,
    keyframe_wanted: AtomicBool,
    first_frame: Mutex<Option<std::time::Instant>>,
    health: Mutex<Health>,
    frames_tap: broadcast::Sender<Arc<Tapped>>,
    results_tap: broadcast::Sender<Arc<Results>>,
}

impl Hub {
    /// A hub for a stream described by `info`, with per-viewer queue `limits`.
    pub fn new(info: StreamInfo, limits: Limits) -> Hub {
        Hub {
            info: Mutex::new(info),
            state: Mutex::default(),
            limits,
            counters: StreamCounters::default(),
            paint_reports: Default::default(),
            keyframe_wanted: AtomicBool::new(false),
            first_frame: Mutex::new(None),
            health: Mutex::default(),
            frames_tap: broadcast::channel(TAP_CAPACITY).0,
            results_tap: broadcast::channel(TAP_CAPACITY).0,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn health(&self) -> MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The stream's description, with its source's state now.
    pub fn info(&self) -> StreamInfo {
        let mut info = self.info.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let health = self.health();
        info.state_reason = health.down.clone();
        info.state = match (health.ended, &health.down, health.last_frame) {
            (true, _, _) => SourceState::Ended,
            (false, Some(_), _) => SourceState::Stalled,
            (false, None, None) => SourceState::Starting,
            (false, None, Some(t)) if t.elapsed() > stall_after(info.fps) => SourceState::Stalled,
            (false, None, Some(_)) => SourceState::Live,
        };
        info
    }

    /// For sources: delivery stopped for `reason` (a camera reconnecting); the next frame clears it.
    pub fn source_down(&self, reason: impl Into<String>) {
        self.health().down = Some(reason.into());
    }

    /// For sources: the source will deliver nothing more (`reason` if it failed).
    pub fn source_ended(&self, reason: Option<String>) {
        let mut health = self.health();
        health.ended = true;
        health.down = reason;
    }

    /// Asks the source for a keyframe (a live encoder honours it; a file waits for its next IDR).
    pub fn request_keyframe(&self) {
        self.counters.keyframe_requests.fetch_add(1, Ordering::Relaxed);
        self.keyframe_wanted.store(true, Ordering::Relaxed);
    }

    /// For sources: whether a keyframe was asked for since the last call.
    pub fn take_keyframe_request(&self) -> bool {
        self.keyframe_wanted.swap(false, Ordering::Relaxed)
    }

    /// Learns the stream's configuration from a keyframe's SPS/PPS.
    fn update_config(&self, state: &mut State, data: &[u8]) {
        let mut sets = Vec::new();
        let mut sps_info = None;
        for nal in nal_units(data) {
            match nal.nal_type() {
                Some(7) => {
                    sps_info = SpsInfo::parse(nal.payload).ok().or(sps_info);
                    sets.push(nal.payload.to_vec());
                }
                Some(8) => sets.push(nal.payload.to_vec()),
                _ => {}
            }
        }
        let Some(sps) = sps_info else { return };
        sets.retain(|s| s.len() <= MAX_PARAMETER_SET);
        let mut info = self.info.lock().unwrap_or_else(|e| e.into_inner());
        info.codec = sps.codec_string();
        info.width = sps.width;
        info.height = sps.height;
        if info.fps == 0.0 {
            info.fps = sps.fps.unwrap_or(0.0);
        }
        state.config = Some(Config {
            stream: info.id.clone(),
            codec: info.codec.clone(),
            width: sps.width.min(u16::MAX as u32) as u16,
            height: sps.height.min(u16::MAX as u32) as u16,
            fps_milli: (info.fps * 1000.0) as u32,
            parameter_sets: sets,
        });
    }

    /// Publishes the source's next frame to every viewer. Returns its frame id.
    pub fn publish(&self, frame: &SourceFrame) -> u64 {
        self.publish_inner(None, frame)
    }

    /// Publishes a frame that already has an id (relayed from a broker: ids must match the origin's,
    /// since results refer to them). Ids only move forward: one at or below the last is ignored
    /// (`None`); a jump is a gap viewers see as skipped frames.
    pub fn publish_at(&self, seq: u64, frame: &SourceFrame) -> Option<u64> {
        {
            let state = self.state();
            if seq < state.next_seq {
                return None;
            }
        }
        Some(self.publish_inner(Some(seq), frame))
    }

    fn publish_inner(&self, at: Option<u64>, frame: &SourceFrame) -> u64 {
        {
            let mut health = self.health();
            health.last_frame = Some(Instant::now());
            health.down = None;
        }
        let mut state = self.state();
        let seq = at.unwrap_or(state.next_seq).max(state.next_seq);
        state.next_seq = seq + 1;
        if frame.key {
            let before = state.config.clone();
            self.update_config(&mut state, &frame.data);
            if state.config != before
                && let Some(config) = &state.config
            {
                // Parameter sets changed: viewers get the new config before the keyframe.
                for v in state.viewers.values() {
                    v.lock().push_config(config.clone());
                }
            }
        }
        let wire = WireFrame::encode(seq, frame);
        // The bitrate's time base: the first frame published (relayed streams start at any id).
        self.first_frame
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(std::time::Instant::now);
        self.counters.frames.fetch_add(1, Ordering::Relaxed);
        self.counters.bytes.fetch_add(frame.data.len() as u64, Ordering::Relaxed);

        // GOP cache: restart at keyframes; give up (until the next one) if it grows too large.
        if wire.key {
            state.gop.clear();
            state.gop_bytes = 0;
        }
        let cacheable = (wire.key || !state.gop.is_empty())
            && state.gop.len() < GOP_CACHE_MAX_FRAMES
            && state.gop_bytes + wire.message.len() <= GOP_CACHE_MAX_BYTES;
        if cacheable {
            state.gop_bytes += wire.message.len();
            state.gop.push(wire.as_catch_up());
        } else {
            state.gop.clear();
            state.gop_bytes = 0;
        }

        let mut want_key = false;
        let (mut dropped, mut held) = (0, 0);
        for v in state.viewers.values() {
            let (pushed, lost, kept_back) = {
                let mut q = v.lock();
                let before = (q.dropped(), q.held());
                let pushed = q.push(wire.clone());
                (pushed, q.dropped() - before.0, q.held() - before.1)
            };
            dropped += lost;
            held += kept_back;
            match pushed {
                Pushed::Queued => v.wake.notify_one(),
                Pushed::Dropped { first } => want_key |= first,
            }
        }
        if dropped > 0 {
            self.counters.dropped.fetch_add(dropped, Ordering::Relaxed);
        }
        if held > 0 {
            self.counters.held.fetch_add(held, Ordering::Relaxed);
        }
        drop(state);
        if want_key {
            self.keyframe_wanted.store(true, Ordering::Relaxed);
        }
        if self.frames_tap.receiver_count() > 0 {
            let _ = self.frames_tap.send(Arc::new(Tapped { seq, frame: frame.clone() }));
        }
        seq
    }

    /// Every frame published from now on (a receiver that lags gets `Lagged` and skips ahead).
    pub fn tap(&self) -> broadcast::Receiver<Arc<Tapped>> {
        self.frames_tap.subscribe()
    }

    /// Every result published from now on.
    pub fn tap_results(&self) -> broadcast::Receiver<Arc<Results>> {
        self.results_tap.subscribe()
    }

    /// Sends a model's results for a frame to every viewer (after the frames already queued for it)
    /// and to the results taps.
    pub fn publish_results(&self, results: Results) {
        if !results.skipped {
            self.counters.results.fetch_add(1, Ordering::Relaxed);
        }
        {
            let state = self.state();
            for v in state.viewers.values() {
                v.lock().push_results(results.clone());
                v.wake.notify_one();
            }
        }
        if self.results_tap.receiver_count() > 0 {
            let _ = self.results_tap.send(Arc::new(results));
        }
    }

    /// Sends results that came from elsewhere (a broker) to every viewer only: unlike
    /// [`Hub::publish_results`] they do not reach the results taps, so a relaying node never sends
    /// them back where they came from.
    pub fn deliver_results(&self, results: Results) {
        self.counters.results.fetch_add(1, Ordering::Relaxed);
        let state = self.state();
        for v in state.viewers.values() {
            v.lock().push_results(results.clone());
            v.wake.notify_one();
        }
    }

    /// The stream's configuration, once a keyframe has shown it.
    pub fn config(&self) -> Option<Config> {
        self.state().config.clone()
    }

    /// Adds a viewer: it gets the configuration and the cached GOP, then every frame published after.
    pub fn join(&self) -> Joined {
        let mut state = self.state();
        let mut queue = ViewerQueue::new(self.limits);
        let mut catch_up = state.gop.clone();
        if let Some(last) = catch_up.last_mut() {
            // The newest cached frame is the live edge: the viewer paints it at once.
            *last = last.with_flags(nalcast_proto::wire::FrameFlags::LIVE_EDGE);
        }
        if catch_up.is_empty() {
            let next = state.next_seq;
            queue.wait_for_keyframe(next);
            self.keyframe_wanted.store(true, Ordering::Relaxed);
        }
        let slot = Arc::new(ViewerSlot { queue: Mutex::new(queue), wake: Notify::new() });
        let id = state.next_viewer;
        state.next_viewer += 1;
        state.viewers.insert(id, slot.clone());
        self.counters.viewers.fetch_add(1, Ordering::Relaxed);
        self.counters.viewers_total.fetch_add(1, Ordering::Relaxed);
        Joined { id, slot, config: state.config.clone(), catch_up }
    }

    /// Removes a viewer.
    pub fn leave(&self, id: u64) {
        if self.state().viewers.remove(&id).is_some() {
            self.counters.viewers.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Average bitrate of the access units since the first frame, bits per second.
    pub fn average_bitrate(&self) -> u64 {
        let first = *self.first_frame.lock().unwrap_or_else(|e| e.into_inner());
        let Some(first) = first else { return 0 };
        let secs = first.elapsed().as_secs_f64();
        if secs < 0.5 {
            return 0;
        }
        (self.counters.bytes.load(Ordering::Relaxed) as f64 * 8.0 / secs) as u64
    }

    /// The next frame id (frames published so far).
    pub fn next_seq(&self) -> u64 {
        self.state().next_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn frame(key: bool) -> SourceFrame {
        SourceFrame { pts_us: 0, capture_us: 0, key, data: Bytes::from_static(&[0, 0, 0, 1, 0x41, 0x9a]) }
    }

    fn drain(slot: &ViewerSlot) -> Vec<Outgoing<WireFrame>> {
        std::iter::from_fn(|| slot.pop()).collect()
    }

    #[test]
    fn joiner_gets_the_gop_then_live_frames() {
        let hub = Hub::new(StreamInfo::default(), Limits::default());
        hub.publish(&frame(false)); // before any keyframe: not cached
        hub.publish(&frame(true));
        hub.publish(&frame(false));
        let j = hub.join();
        assert_eq!(j.catch_up.iter().map(|f| f.seq).collect::<Vec<_>>(), vec![1, 2]);
        hub.publish(&frame(false));
        let live = drain(&j.slot);
        assert!(matches!(&live[..], [Outgoing::Frame(f)] if f.seq == 3));
        hub.leave(j.id);
        assert_eq!(hub.counters.viewers.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn joiner_without_a_cached_gop_waits_for_a_keyframe_and_asks_for_one() {
        let hub = Hub::new(StreamInfo::default(), Limits::default());
        hub.publish(&frame(false));
        let j = hub.join();
        assert!(j.catch_up.is_empty());
        assert!(hub.take_keyframe_request());
        hub.publish(&frame(false));
        hub.publish(&frame(true));
        let got = drain(&j.slot);
        assert!(
            matches!(&got[..], [Outgoing::Gap(g), Outgoing::Frame(f)] if g.from == 1 && g.to == 2 && f.key)
        );
    }

    #[test]
    fn source_state_follows_frames_and_what_the_source_says() {
        let hub = Hub::new(StreamInfo { fps: 100.0, ..StreamInfo::default() }, Limits::default());
        assert_eq!(hub.info().state, SourceState::Starting);
        hub.publish(&frame(true));
        assert_eq!(hub.info().state, SourceState::Live);
        std::thread::sleep(stall_after(100.0) + Duration::from_millis(50));
        assert_eq!(hub.info().state, SourceState::Stalled);
        assert_eq!(hub.info().state_reason, None);
        hub.publish(&frame(false));
        assert_eq!(hub.info().state, SourceState::Live);
        hub.source_down("camera gone");
        let info = hub.info();
        assert_eq!((info.state, info.state_reason.as_deref()), (SourceState::Stalled, Some("camera gone")));
        hub.publish(&frame(true));
        assert_eq!(hub.info().state, SourceState::Live);
        hub.source_ended(Some("file unreadable".into()));
        assert_eq!(hub.info().state, SourceState::Ended);
        assert_eq!(stall_after(0.0), Duration::from_secs(3));
        assert_eq!(stall_after(30.0), Duration::from_secs(1));
        assert_eq!(stall_after(0.5), Duration::from_secs(6));
    }

    #[test]
    fn a_stalled_viewer_does_not_affect_another() {
        let hub = Hub::new(StreamInfo::default(), Limits { max_frames: 10, max_bytes: 1 << 20 });
        hub.publish(&frame(true));
        let slow = hub.join();
        let fast = hub.join();
        let mut fast_got = 0;
        for i in 0..1000 {
            hub.publish(&frame(i % 30 == 0));
            fast_got += drain(&fast.slot).len();
        }
        assert_eq!(fast_got, 1000);
        assert!(slow.slot.dropped() > 900);
        assert!(hub.counters.dropped.load(Ordering::Relaxed) > 900);
    }

    #[test]
    fn relayed_ids_move_forward_and_results_reach_viewers_and_taps() {
        let hub = Hub::new(StreamInfo::default(), Limits::default());
        let mut tap = hub.tap();
        let mut results_tap = hub.tap_results();
        assert_eq!(hub.publish_at(5, &frame(true)), Some(5));
        let viewer = hub.join();
        assert_eq!(hub.publish_at(5, &frame(false)), None);
        assert_eq!(hub.publish_at(3, &frame(false)), None);
        assert_eq!(hub.publish_at(9, &frame(false)), Some(9));
        assert_eq!(hub.publish(&frame(false)), 10);
        hub.publish_results(Results { seq: 9, model: "m".into(), ..Results::default() });
        let got: Vec<String> = drain(&viewer.slot)
            .into_iter()
            .map(|o| match o {
                Outgoing::Frame(f) => format!("f{}", f.seq),
                Outgoing::Results(r) => format!("r{}", r.seq),
                Outgoing::Gap(g) => format!("g{}-{}", g.from, g.to),
                Outgoing::Config(_) => "c".into(),
            })
            .collect();
        assert_eq!(viewer.catch_up.len(), 1);
        assert_eq!(got, ["f9", "f10", "r9"]);
        let tapped: Vec<u64> = std::iter::from_fn(|| tap.try_recv().ok()).map(|t| t.seq).collect();
        assert_eq!(tapped, [5, 9, 10]);
        assert_eq!(results_tap.try_recv().map(|r| r.seq).ok(), Some(9));
        assert_eq!(hub.counters.results.load(Ordering::Relaxed), 1);
    }
}
