//! Per-viewer playout policy: a bounded queue of frames waiting to be sent to one viewer. When the
//! viewer falls behind (the queue would exceed its frame or byte budget), everything queued is
//! dropped and the viewer skips to the next keyframe, with a [`Gap`] telling it what was skipped.
//! Memory per viewer is therefore bounded, and a slow viewer never holds up anyone else. A viewer
//! may also pause (its tile is hidden): nothing is queued for it until it resumes, at the next
//! keyframe, after a [`GapReason::Paused`] gap.
//!
//! Pure state: the driver pushes frames as the source produces them and pops what to send when the
//! viewer's connection can take more. No clocks, no I/O.

use crate::wire::{Config, Gap, GapReason, Results};
use std::collections::VecDeque;

/// What the queue needs to know about a frame.
pub trait QueuedFrame {
    /// Frame id.
    fn seq(&self) -> u64;
    /// Whether decoding can start at this frame.
    fn is_key(&self) -> bool;
    /// Bytes it occupies on the wire.
    fn wire_len(&self) -> usize;
}

/// The queue's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most frames waiting at once.
    pub max_frames: usize,
    /// Most bytes waiting at once.
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // About two seconds of 30 fps video, or 8 MiB, whichever comes first.
        Limits { max_frames: 60, max_bytes: 8 << 20 }
    }
}

/// Something for the driver to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing<F> {
    /// A frame.
    Frame(F),
    /// Frames were skipped.
    Gap(Gap),
    /// The stream's configuration changed; it applies to the frames after it.
    Config(Config),
    /// A model's results for a frame.
    Results(Results),
}

/// Most results waiting for one viewer; older ones are dropped first (they are small, but a
/// viewer that does not read must not make them pile up).
pub const MAX_QUEUED_RESULTS: usize = 32;

/// What happened to a pushed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Queued for sending.
    Queued,
    /// Dropped: the viewer is waiting for the next keyframe. `first` is true when this push started
    /// the wait — the moment to ask the source for a keyframe.
    Dropped {
        /// Whether this push started a new wait for a keyframe.
        first: bool,
    },
}

/// A viewer's queue.
#[derive(Debug)]
pub struct ViewerQueue<F> {
    limits: Limits,
    queue: VecDeque<Outgoing<F>>,
    bytes: usize,
    frames: usize,
    /// Set while frames are skipped: the first skipped frame id.
    skipping_from: Option<u64>,
    /// Why frames are skipped (told in the gap that ends the skip).
    skip_reason: GapReason,
    /// The viewer asked for nothing to be sent.
    paused: bool,
    /// Frames not sent because the viewer paused (or was resuming, waiting for a keyframe).
    held: u64,
    dropped: u64,
    gaps: u64,
    results: usize,
    dropped_results: u64,
}

impl<F: QueuedFrame> ViewerQueue<F> {
    /// An empty queue that starts at the next keyframe.
    pub fn new(limits: Limits) -> Self {
        ViewerQueue {
            limits,
            queue: VecDeque::new(),
            bytes: 0,
            frames: 0,
            skipping_from: None,
            skip_reason: GapReason::SlowViewer,
            paused: false,
            held: 0,
            dropped: 0,
            gaps: 0,
            results: 0,
            dropped_results: 0,
        }
    }

    /// Queues a model's results. Dropped while the viewer waits for a keyframe (it will not paint
    /// the frames they describe); beyond [`MAX_QUEUED_RESULTS`] the oldest queued results go.
    pub fn push_results(&mut self, results: Results) {
        if self.paused {
            return;
        }
        if self.skipping_from.is_some() {
            self.dropped_results += 1;
            return;
        }
        // A skip marker only says how far the model has got: a newer one replaces one still queued.
        if results.skipped
            && let Some(Outgoing::Results(last)) = self.queue.back_mut()
            && last.skipped
            && last.model == results.model
        {
            *last = results;
            return;
        }
        if self.results >= MAX_QUEUED_RESULTS
            && let Some(i) = self.queue.iter().position(|o| matches!(o, Outgoing::Results(_)))
        {
            self.queue.remove(i);
            self.results -= 1;
            self.dropped_results += 1;
        }
        self.results += 1;
        self.queue.push_back(Outgoing::Results(results));
    }

    /// Results dropped for this viewer so far.
    pub fn dropped_results(&self) -> u64 {
        self.dropped_results
    }

    /// Makes the viewer wait for the next keyframe, announcing frames from `from` on as skipped
    /// (a viewer that joins when no keyframe is cached, or whose decoder needs a fresh start).
    pub fn wait_for_keyframe(&mut self, from: u64) {
        if self.skipping_from.is_none() {
            self.skipping_from = Some(from);
        }
    }

    /// Pauses (`true`) or resumes the viewer. Pausing drops what is queued (not counted as
    /// dropped: the viewer asked) and sends nothing more; resuming waits for the next keyframe, which
    /// comes after a gap with [`GapReason::Paused`] covering every frame held back. `next_seq` is the
    /// id of the stream's next frame. Returns whether anything changed.
    pub fn pause(&mut self, paused: bool, next_seq: u64) -> bool {
        if paused == self.paused {
            return false;
        }
        self.paused = paused;
        if paused {
            let from = self.first_queued_seq().or(self.skipping_from).unwrap_or(next_seq);
            self.held += self.frames as u64;
            self.cut_quietly();
            self.skipping_from = Some(from.min(self.skipping_from.unwrap_or(from)));
            self.skip_reason = GapReason::Paused;
        }
        true
    }

    /// Whether the viewer is paused.
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Frames not sent because the viewer paused.
    pub fn held(&self) -> u64 {
        self.held
    }

    /// Queues a configuration change. It is kept across drops (the latest one), since the frames
    /// after it need it.
    pub fn push_config(&mut self, config: Config) {
        self.queue.push_back(Outgoing::Config(config));
    }

    /// Empties the queue of frames and gaps, keeping the latest configuration change.
    fn cut(&mut self) {
        self.dropped += self.frames as u64;
        self.dropped_results += self.results as u64;
        self.cut_quietly();
    }

    /// [`cut`](Self::cut) without counting what goes.
    fn cut_quietly(&mut self) {
        let config = self.queue.iter().rev().find_map(|o| match o {
            Outgoing::Config(c) => Some(c.clone()),
            _ => None,
        });
        self.queue.clear();
        self.queue.extend(config.map(Outgoing::Config));
        self.frames = 0;
        self.bytes = 0;
        self.results = 0;
    }

    /// Offers the next frame of the stream.
    pub fn push(&mut self, frame: F) -> Pushed {
        let len = frame.wire_len();
        if self.paused {
            self.held += 1;
            return Pushed::Dropped { first: false };
        }
        if let Some(from) = self.skipping_from {
            if !frame.is_key() {
                if self.skip_reason == GapReason::Paused {
                    self.held += 1;
                } else {
                    self.dropped += 1;
                }
                return Pushed::Dropped { first: false };
            }
            self.skipping_from = None;
            self.push_gap(from, frame.seq());
        }
        let over = self.frames + 1 > self.limits.max_frames || self.bytes + len > self.limits.max_bytes;
        if over {
            let from = self.first_queued_seq().unwrap_or(frame.seq());
            self.cut();
            if !frame.is_key() || len > self.limits.max_bytes {
                self.skipping_from = Some(from);
                self.dropped += 1;
                return Pushed::Dropped { first: true };
            }
            self.push_gap(from, frame.seq());
        }
        self.frames += 1;
        self.bytes += len;
        self.queue.push_back(Outgoing::Frame(frame));
        Pushed::Queued
    }

    /// Announces `from..to` as skipped, unless that is empty (nothing was actually missed).
    fn push_gap(&mut self, from: u64, to: u64) {
        let reason = std::mem::replace(&mut self.skip_reason, GapReason::SlowViewer);
        if from < to {
            self.gaps += 1;
            self.queue.push_back(Outgoing::Gap(Gap { from, to, reason }));
        }
    }

    fn first_queued_seq(&self) -> Option<u64> {
        self.queue.iter().find_map(|o| match o {
            Outgoing::Frame(f) => Some(f.seq()),
            Outgoing::Gap(g) => Some(g.from),
            Outgoing::Config(_) | Outgoing::Results(_) => None,
        })
    }

    /// Takes the next thing to send.
    pub fn pop(&mut self) -> Option<Outgoing<F>> {
        let item = self.queue.pop_front()?;
        match &item {
            Outgoing::Frame(f) => {
                self.frames -= 1;
                self.bytes -= f.wire_len();
            }
            Outgoing::Results(_) => self.results -= 1,
            _ => {}
        }
        Some(item)
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Frames waiting.
    pub fn queued_frames(&self) -> usize {
        self.frames
    }

    /// Bytes waiting.
    pub fn queued_bytes(&self) -> usize {
        self.bytes
    }

    /// Frames dropped for this viewer so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Gaps announced to this viewer so far.
    pub fn gaps(&self) -> u64 {
        self.gaps
    }

    /// While the viewer waits for a keyframe: the first frame id it did not get.
    pub fn skipping_from(&self) -> Option<u64> {
        self.skipping_from
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq)]
    struct F(u64, bool, usize);
    impl QueuedFrame for F {
        fn seq(&self) -> u64 {
            self.0
        }
        fn is_key(&self) -> bool {
            self.1
        }
        fn wire_len(&self) -> usize {
            self.2
        }
    }

    fn stream(n: u64, gop: u64) -> impl Iterator<Item = F> {
        (0..n).map(move |i| F(i, i % gop == 0, if i % gop == 0 { 1000 } else { 100 }))
    }

    #[test]
    fn results_follow_frames_in_order_and_stay_bounded() {
        let mut q = ViewerQueue::new(Limits { max_frames: 1000, max_bytes: 1 << 20 });
        let results = |seq| Results { seq, ..Results::default() };
        q.wait_for_keyframe(0);
        q.push_results(results(0)); // waiting for the first keyframe: dropped
        assert_eq!(q.dropped_results(), 1);
        q.push(F(0, true, 10));
        q.push_results(results(0));
        q.push(F(1, false, 10));
        let order: Vec<String> = std::iter::from_fn(|| q.pop())
            .map(|o| match o {
                Outgoing::Frame(f) => format!("f{}", f.0),
                Outgoing::Results(r) => format!("r{}", r.seq),
                _ => "?".into(),
            })
            .collect();
        assert_eq!(order, ["f0", "r0", "f1"]);
        for seq in 0..100 {
            q.push_results(results(seq));
        }
        let kept: Vec<u64> = std::iter::from_fn(|| q.pop())
            .filter_map(|o| if let Outgoing::Results(r) = o { Some(r.seq) } else { None })
            .collect();
        assert_eq!(kept, (100 - MAX_QUEUED_RESULTS as u64..100).collect::<Vec<_>>());
        assert_eq!(q.dropped_results(), 1 + 100 - MAX_QUEUED_RESULTS as u64);
        // A cut (the viewer fell behind) drops queued results with the frames.
        q.push_results(results(5));
        let mut small = ViewerQueue::new(Limits { max_frames: 1, max_bytes: 1 << 20 });
        small.push(F(0, true, 1));
        small.push_results(results(0));
        small.push(F(1, false, 1));
        assert_eq!(small.dropped_results(), 1);
    }

    #[test]
    fn a_paused_viewer_gets_nothing_then_resumes_at_a_keyframe_after_a_paused_gap() {
        let mut q = ViewerQueue::new(Limits { max_frames: 100, max_bytes: 1 << 20 });
        let mut frames = stream(60, 10); // keyframes 0, 10, 20 …
        for f in frames.by_ref().take(5) {
            q.push(f);
        }
        assert!(matches!(q.pop(), Some(Outgoing::Frame(F(0, true, _)))));
        assert!(q.pause(true, 5));
        assert!(q.paused() && q.is_empty(), "what was queued (1..=4) is not sent");
        q.push_results(Results { seq: 5, ..Results::default() });
        for f in frames.by_ref().take(10) {
            assert_eq!(q.push(f), Pushed::Dropped { first: false }, "nothing queued, no keyframe asked for");
        }
        assert!(q.pop().is_none());
        assert!(!q.pause(true, 15), "repeated: no change");
        assert!(q.pause(false, 15));
        for f in frames.by_ref().take(10) {
            q.push(f); // 15..=19 wait for the keyframe at 20
        }
        let out: Vec<Outgoing<F>> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(out[0], Outgoing::Gap(Gap { from: 1, to: 20, reason: GapReason::Paused }));
        let sent: Vec<u64> = out[1..]
            .iter()
            .filter_map(|o| if let Outgoing::Frame(f) = o { Some(f.0) } else { None })
            .collect();
        assert_eq!(sent, (20..25).collect::<Vec<_>>());
        assert_eq!((q.held(), q.dropped(), q.dropped_results(), q.gaps()), (19, 0, 0, 1));
        // The next gap, for a slow viewer, says so again.
        q.wait_for_keyframe(25);
        for f in frames.by_ref().take(10) {
            q.push(f);
        }
        assert!(
            std::iter::from_fn(|| q.pop())
                .any(|o| o == Outgoing::Gap(Gap { from: 25, to: 30, reason: GapReason::SlowViewer }))
        );
    }

    #[test]
    fn queued_skip_markers_coalesce() {
        let mut q: ViewerQueue<F> = ViewerQueue::new(Limits::default());
        let skip = |seq| Results { seq, skipped: true, model: "m".into(), ..Results::default() };
        q.push_results(skip(1));
        q.push_results(skip(2));
        q.push(F(3, true, 1));
        q.push_results(skip(3));
        q.push_results(Results { seq: 4, model: "m".into(), ..Results::default() });
        q.push_results(skip(5));
        let got: Vec<(u64, bool)> = std::iter::from_fn(|| q.pop())
            .filter_map(|o| if let Outgoing::Results(r) = o { Some((r.seq, r.skipped)) } else { None })
            .collect();
        assert_eq!(got, [(2, true), (3, true), (4, false), (5, true)]);
    }

    #[test]
    fn a_fast_viewer_gets_everything_in_order() {
        let mut q = ViewerQueue::new(Limits { max_frames: 4, max_bytes: 10_000 });
        let mut got = Vec::new();
        for f in stream(100, 10) {
            assert_eq!(q.push(f), Pushed::Queued);
            while let Some(Outgoing::Frame(f)) = q.pop() {
                got.push(f.0);
            }
        }
        assert_eq!(got, (0..100).collect::<Vec<_>>());
        assert_eq!(q.dropped(), 0);
    }

    fn take(o: Outgoing<F>, delivered: &mut Vec<u64>, skipped: &mut Vec<u64>) {
        match o {
            Outgoing::Frame(f) => delivered.push(f.0),
            Outgoing::Gap(g) => skipped.extend(g.from..g.to),
            Outgoing::Config(_) | Outgoing::Results(_) => {}
        }
    }

    #[test]
    fn a_stalled_viewer_is_bounded_and_resumes_at_a_keyframe_with_a_gap() {
        let limits = Limits { max_frames: 5, max_bytes: 10_000 };
        let mut q = ViewerQueue::new(limits);
        let mut first_drops = 0;
        let (mut delivered, mut skipped) = (Vec::new(), Vec::new());
        for f in stream(1000, 10) {
            if q.push(f) == (Pushed::Dropped { first: true }) {
                first_drops += 1;
            }
            assert!(q.queued_frames() <= limits.max_frames && q.queued_bytes() <= limits.max_bytes);
            // Stalled for the first 500 frames, then drains everything.
            if delivered.len() + skipped.len() > 0 || q.dropped() > 400 {
                while let Some(o) = q.pop() {
                    take(o, &mut delivered, &mut skipped);
                }
            }
        }
        assert!(first_drops >= 1, "the stall made the viewer wait for a keyframe");
        assert_eq!(skipped[0], 0, "the gap starts at the first frame never sent");
        assert_eq!(delivered[0] % 10, 0, "delivery resumes at a keyframe");
        assert_eq!(*skipped.last().expect("gap") + 1, delivered[0]);
        assert_eq!(delivered, (delivered[0]..1000).collect::<Vec<_>>());
        assert_eq!(q.dropped() as usize, skipped.len());
    }

    #[test]
    fn gaps_describe_exactly_the_skipped_frames() {
        let mut q = ViewerQueue::new(Limits { max_frames: 3, max_bytes: 1 << 20 });
        let (mut delivered, mut skipped) = (Vec::new(), Vec::new());
        for (i, f) in stream(300, 7).enumerate() {
            q.push(f);
            // A viewer at two thirds of the stream's rate.
            if i % 3 != 0
                && let Some(o) = q.pop()
            {
                take(o, &mut delivered, &mut skipped);
            }
        }
        while let Some(o) = q.pop() {
            take(o, &mut delivered, &mut skipped);
        }
        let pending = q.skipping_from().map(|from| from..300).unwrap_or(300..300);
        let mut all: Vec<u64> = delivered.iter().chain(skipped.iter()).copied().chain(pending).collect();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..300).collect::<Vec<_>>(),
            "every frame is delivered, announced skipped, or pending skip"
        );
        assert!(!skipped.is_empty() && delivered.len() > 50, "{} delivered", delivered.len());
        assert!(delivered.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_config_change_survives_a_cut() {
        let mut q = ViewerQueue::new(Limits { max_frames: 2, max_bytes: 1 << 20 });
        q.push(F(0, true, 10));
        q.push_config(Config { stream: "s".into(), ..Config::default() });
        q.push(F(1, false, 10));
        q.push(F(2, false, 10)); // overflow: cut, wait for a keyframe
        q.push(F(3, true, 10));
        let out: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert!(
            matches!(&out[..], [Outgoing::Config(_), Outgoing::Gap(g), Outgoing::Frame(F(3, ..))] if g.from == 0 && g.to == 3),
            "{out:?}"
        );
    }

    #[test]
    fn waiting_from_the_very_next_frame_announces_no_gap() {
        let mut q = ViewerQueue::new(Limits::default());
        q.wait_for_keyframe(5);
        assert_eq!(q.push(F(5, true, 10)), Pushed::Queued);
        assert_eq!(q.pop(), Some(Outgoing::Frame(F(5, true, 10))));
        assert_eq!(q.gaps(), 0);
    }

    #[test]
    fn a_frame_larger_than_the_budget_is_skipped() {
        let mut q = ViewerQueue::new(Limits { max_frames: 10, max_bytes: 500 });
        assert_eq!(q.push(F(0, true, 600)), Pushed::Dropped { first: true });
        assert_eq!(q.push(F(1, false, 10)), Pushed::Dropped { first: false });
        assert_eq!(q.push(F(2, true, 100)), Pushed::Queued);
        assert_eq!(q.pop(), Some(Outgoing::Gap(Gap { from: 0, to: 2, reason: GapReason::SlowViewer })));
        assert_eq!(q.pop(), Some(Outgoing::Frame(F(2, true, 100))));
    }
}
