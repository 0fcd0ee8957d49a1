//! Overlay sync policy: holds a player's incoming messages just long enough for a model's results
//! to catch up with the frames they describe, so each overlay is drawn on exactly the frame the model
//! looked at — with a constant delay, so the video stays smooth.
//!
//! Results for frame `s` arrive after frame `s` itself (the model needs time). A frame is *resolved*
//! when results for it, or for a later frame, have arrived (workers answer in frame order, and say
//! so when they skip a frame). How long results take after their frame arrived is measured; the hold
//! delay is a high percentile of the recent ones (capped; a rare outlier does not raise it). Each
//! frame goes once it is resolved and has waited that delay — every frame waits the same, so a slow
//! model that answers in bursts does not make the video jerk — or, unresolved, once it has waited
//! the delay plus a margin.
//! When no results have come for a while (no model, or overlays off), nothing is held. Messages leave
//! in the order they came. Pure state: times are passed in, in milliseconds.

use std::collections::VecDeque;

/// Tuning of the hold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoldOptions {
    /// Longest a frame is ever held.
    pub max_window_ms: f64,
    /// How much longer than the delay an unresolved frame waits before it goes without results.
    pub margin_ms: f64,
    /// Without results for this long, holding stops.
    pub idle_ms: f64,
}

impl Default for HoldOptions {
    fn default() -> Self {
        HoldOptions { max_window_ms: 1000.0, margin_ms: 8.0, idle_ms: 2000.0 }
    }
}

/// How many recent result delays the hold delay is taken from.
const DELAYS: usize = 64;
/// Which percentile of them.
const PERCENTILE: f64 = 0.9;
/// How many recent frame arrivals are remembered (to measure resolution delays).
const ARRIVALS: usize = 256;
/// Most messages held at once; beyond it the oldest is let go regardless.
pub const MAX_HELD: usize = 512;

#[derive(Debug)]
struct Held<T> {
    seq: Option<u64>,
    arrived_ms: f64,
    item: T,
}

/// Messages held for their results.
#[derive(Debug)]
pub struct Hold<T> {
    options: HoldOptions,
    queue: VecDeque<Held<T>>,
    enabled: bool,
    /// The highest frame id results (or a skip) have arrived for.
    resolved_through: Option<u64>,
    last_result_ms: Option<f64>,
    arrivals: VecDeque<(u64, f64)>,
    delays: VecDeque<f64>,
    delay_ms: f64,
}

impl<T> Hold<T> {
    /// An empty hold, enabled.
    pub fn new(options: HoldOptions) -> Self {
        Hold {
            options,
            queue: VecDeque::new(),
            enabled: true,
            resolved_through: None,
            last_result_ms: None,
            arrivals: VecDeque::new(),
            delays: VecDeque::new(),
            delay_ms: 0.0,
        }
    }

    /// Turns holding on or off (off: everything held is ready at once).
    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// Whether messages are being held now: enabled and results came recently.
    pub fn active(&self, now_ms: f64) -> bool {
        self.enabled && self.last_result_ms.is_some_and(|t| now_ms - t <= self.options.idle_ms)
    }

    /// How long each frame is held now, ms.
    pub fn window_ms(&self) -> f64 {
        self.delay_ms
    }

    /// Messages held now.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Takes a message; `seq` is its frame id if it is a frame.
    pub fn push(&mut self, seq: Option<u64>, item: T, now_ms: f64) {
        if let Some(s) = seq {
            if self.arrivals.len() == ARRIVALS {
                self.arrivals.pop_front();
            }
            self.arrivals.push_back((s, now_ms));
        }
        self.queue.push_back(Held { seq, arrived_ms: now_ms, item });
    }

    /// Results for frame `seq` arrived — or, with `skipped`, word that the model will not look at
    /// it: it and every earlier frame are resolved. Returns how long after frame `seq` itself the
    /// results came, if that frame was seen (results only: how long skips take says nothing about
    /// how long to wait).
    pub fn result(&mut self, seq: u64, skipped: bool, now_ms: f64) -> Option<f64> {
        self.last_result_ms = Some(now_ms);
        if self.resolved_through.is_none_or(|r| r < seq) {
            self.resolved_through = Some(seq);
        }
        if skipped {
            return None;
        }
        let arrived = self.arrivals.iter().rev().find(|(s, _)| *s == seq).map(|(_, t)| *t)?;
        let delay = (now_ms - arrived).max(0.0);
        if self.delays.len() == DELAYS {
            self.delays.pop_front();
        }
        self.delays.push_back(delay);
        let mut sorted: Vec<f64> = self.delays.iter().copied().collect();
        crate::small_sort::sort_floats(&mut sorted);
        let p = sorted[((sorted.len() - 1) as f64 * PERCENTILE).round() as usize];
        self.delay_ms = p.min(self.options.max_window_ms);
        Some(delay)
    }

    fn resolved(&self, seq: u64) -> bool {
        self.resolved_through.is_some_and(|r| r >= seq)
    }

    /// Whether the oldest held message may go now.
    fn head_ready(&self, now_ms: f64) -> bool {
        let Some(head) = self.queue.front() else { return false };
        if !self.active(now_ms) || self.queue.len() > MAX_HELD {
            return true;
        }
        match head.seq {
            None => true,
            Some(s) => {
                let waited = now_ms - head.arrived_ms;
                (self.resolved(s) && waited >= self.delay_ms)
                    || waited >= self.delay_ms + self.options.margin_ms
            }
        }
    }

    /// The next message that may go now, in arrival order.
    pub fn pop_ready(&mut self, now_ms: f64) -> Option<T> {
        if self.head_ready(now_ms) { self.queue.pop_front().map(|h| h.item) } else { None }
    }

    /// When the oldest held message will go at the latest, unless results come first (to set a
    /// timer), if any is held.
    pub fn deadline_ms(&self) -> Option<f64> {
        let head = self.queue.front()?;
        let wait = match head.seq {
            Some(s) if self.resolved(s) => self.delay_ms,
            Some(_) => self.delay_ms + self.options.margin_ms,
            None => 0.0,
        };
        let idle = self.last_result_ms.map_or(head.arrived_ms, |t| t + self.options.idle_ms);
        Some((head.arrived_ms + wait).min(idle.max(head.arrived_ms)))
    }

    /// Lets everything go (a reconnect): returns what was held, in order.
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.queue.drain(..).map(|h| h.item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(h: &mut Hold<u64>, now: f64) -> Vec<u64> {
        std::iter::from_fn(|| h.pop_ready(now)).collect()
    }

    #[test]
    fn without_results_nothing_is_held() {
        let mut h = Hold::new(HoldOptions::default());
        for s in 0..5 {
            h.push(Some(s), s, s as f64 * 33.0);
            assert_eq!(ready(&mut h, s as f64 * 33.0), [s]);
        }
        assert!(h.deadline_ms().is_none());
    }

    #[test]
    fn frames_wait_for_their_results_in_order() {
        let mut h = Hold::new(HoldOptions::default());
        h.push(Some(0), 0, 0.0);
        assert_eq!(ready(&mut h, 0.0), [0]); // no results yet: goes at once
        assert_eq!(h.result(0, false, 20.0), Some(20.0)); // results take 20 ms: the delay is 20 ms
        assert_eq!(h.window_ms(), 20.0);
        h.push(Some(1), 1, 33.0);
        h.push(None, 100, 40.0); // a non-frame message behind frame 1 waits its turn
        h.push(Some(2), 2, 66.0);
        assert!(ready(&mut h, 50.0).is_empty());
        assert_eq!(h.result(1, false, 45.0), Some(12.0));
        assert!(ready(&mut h, 52.0).is_empty(), "resolved, but every frame waits the same delay");
        assert_eq!(ready(&mut h, 53.0), [1, 100]);
        // The model skips frame 2 (word of it comes with frame 3's results): it goes after the delay.
        h.push(Some(3), 3, 99.0);
        h.result(2, true, 100.0);
        assert_eq!(h.result(3, false, 110.0), Some(11.0));
        assert_eq!(h.window_ms(), 20.0, "the 90th percentile of 20, 12 and 11 ms");
        assert!(ready(&mut h, 85.0).is_empty());
        assert_eq!(ready(&mut h, 110.0), [2]);
        assert!(ready(&mut h, 118.0).is_empty());
        assert_eq!(ready(&mut h, 119.0), [3]);
    }

    #[test]
    fn a_slow_model_answering_in_bursts_gives_a_constant_delay() {
        // A 250 ms model at 30 fps: results for frame 0, then a skip through 7, 8 frames later…
        let mut h = Hold::new(HoldOptions::default());
        let mut released = Vec::new();
        for s in 0..60u64 {
            let t = s as f64 * 33.0;
            h.push(Some(s), s, t);
            if s % 8 == 7 {
                h.result(s - 7, false, t + 20.0);
                h.result(s, true, t + 20.0);
            }
            for now in [t, t + 11.0, t + 22.0] {
                released.extend(std::iter::from_fn(|| h.pop_ready(now)).map(|s| (s, now - s as f64 * 33.0)));
            }
        }
        // After the first bursts, every frame waits about the same.
        let late: Vec<f64> = released.iter().filter(|(s, _)| *s >= 24).map(|(_, d)| *d).collect();
        let (lo, hi) = late.iter().fold((f64::MAX, 0.0f64), |(lo, hi), d| (lo.min(*d), hi.max(*d)));
        assert!(hi - lo <= 12.0, "delays {lo}..{hi}: {released:?}");
        assert!(lo >= 200.0, "{lo}");
    }

    #[test]
    fn a_frame_whose_results_never_come_goes_at_the_deadline() {
        let mut h = Hold::new(HoldOptions::default());
        h.push(Some(0), 0, 0.0);
        h.result(0, false, 40.0);
        ready(&mut h, 40.0);
        let w = h.window_ms();
        assert_eq!(w, 40.0);
        h.push(Some(1), 1, 50.0);
        assert_eq!(h.deadline_ms(), Some(50.0 + w + 8.0));
        assert!(ready(&mut h, 50.0 + w + 7.0).is_empty());
        assert_eq!(ready(&mut h, 50.0 + w + 8.0), [1]);
    }

    #[test]
    fn the_window_is_capped_and_idle_or_disabled_holds_nothing() {
        let opts = HoldOptions { max_window_ms: 300.0, ..HoldOptions::default() };
        let mut h = Hold::new(opts);
        h.push(Some(0), 0, 0.0);
        ready(&mut h, 0.0);
        h.result(0, false, 5000.0);
        assert_eq!(h.window_ms(), 300.0);
        h.push(Some(1), 1, 5000.0);
        h.set_enabled(false);
        assert_eq!(ready(&mut h, 5000.0), [1]);
        h.set_enabled(true);
        h.push(Some(2), 2, 5001.0);
        assert!(ready(&mut h, 5002.0).is_empty());
        // Results stopped: after the idle time nothing is held.
        assert_eq!(ready(&mut h, 7001.0), [2]);
        h.push(Some(3), 3, 7002.0);
        assert_eq!(ready(&mut h, 7002.0), [3]);
    }

    #[test]
    fn the_hold_is_bounded() {
        let mut h = Hold::new(HoldOptions::default());
        h.push(Some(0), 0, 0.0);
        ready(&mut h, 0.0);
        h.result(0, false, 10.0);
        for s in 1..=(MAX_HELD as u64 + 1) {
            h.push(Some(s), s, 10.0);
        }
        assert_eq!(ready(&mut h, 10.0), [1]);
        assert_eq!(h.len(), MAX_HELD);
        assert_eq!(h.drain().count(), MAX_HELD);
    }
}
