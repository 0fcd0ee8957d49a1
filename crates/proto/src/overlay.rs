//! Overlay sync policy: holds a player's incoming messages just long enough for a model's results
//! to catch up with the frames they describe, so each overlay is drawn on exactly the frame the model
//! looked at.
//!
//! Results for frame `s` arrive after frame `s` itself (the model needs time). While results are
//! flowing, each frame waits until either results for it — or for a later frame, which means it
//! will get none (workers analyse in frame order) — have arrived, or until its wait exceeds the
//! window. The window adapts: a high percentile of how long results have been taking, plus a margin,
//! capped. When no results have come for a while (no model, or overlays off), nothing is held.
//! Messages leave in the order they came. Pure state: times are passed in, in milliseconds.

use std::collections::VecDeque;

/// Tuning of the hold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoldOptions {
    /// Longest a frame is ever held.
    pub max_window_ms: f64,
    /// Added to the observed result delay.
    pub margin_ms: f64,
    /// Without results for this long, holding stops.
    pub idle_ms: f64,
}

impl Default for HoldOptions {
    fn default() -> Self {
        HoldOptions { max_window_ms: 1000.0, margin_ms: 8.0, idle_ms: 2000.0 }
    }
}

/// How many recent result delays the window is computed from.
const DELAYS: usize = 64;
/// How many recent frame arrivals are remembered (to measure result delays).
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
    /// The highest frame id results have arrived for.
    resolved_through: Option<u64>,
    last_result_ms: Option<f64>,
    arrivals: VecDeque<(u64, f64)>,
    delays: VecDeque<f64>,
    window_ms: f64,
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
            window_ms: options.max_window_ms,
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

    /// How long a frame may wait now, ms.
    pub fn window_ms(&self) -> f64 {
        self.window_ms
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

    /// Results for frame `seq` arrived. Returns how long after the frame they came, if the frame
    /// was seen.
    pub fn result(&mut self, seq: u64, now_ms: f64) -> Option<f64> {
        self.last_result_ms = Some(now_ms);
        self.resolved_through = Some(self.resolved_through.map_or(seq, |r| r.max(seq)));
        let arrived = self.arrivals.iter().rev().find(|(s, _)| *s == seq).map(|(_, t)| *t)?;
        let delay = (now_ms - arrived).max(0.0);
        if self.delays.len() == DELAYS {
            self.delays.pop_front();
        }
        self.delays.push_back(delay);
        let mut sorted: Vec<f64> = self.delays.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let p90 = sorted[((sorted.len() - 1) as f64 * 0.9).round() as usize];
        self.window_ms = (p90 * 1.25 + self.options.margin_ms).min(self.options.max_window_ms);
        Some(delay)
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
                self.resolved_through.is_some_and(|r| r >= s) || now_ms - head.arrived_ms >= self.window_ms
            }
        }
    }

    /// The next message that may go now, in arrival order.
    pub fn pop_ready(&mut self, now_ms: f64) -> Option<T> {
        if self.head_ready(now_ms) { self.queue.pop_front().map(|h| h.item) } else { None }
    }

    /// When the oldest held message will go at the latest (to set a timer), if any is held.
    pub fn deadline_ms(&self) -> Option<f64> {
        let head = self.queue.front()?;
        let idle = self.last_result_ms.map_or(head.arrived_ms, |t| t + self.options.idle_ms);
        Some((head.arrived_ms + self.window_ms).min(idle.max(head.arrived_ms)))
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
        h.result(0, 20.0); // results take 20 ms: window 20 * 1.25 + 8 = 33 ms
        assert_eq!(h.window_ms(), 33.0);
        h.push(Some(1), 1, 33.0);
        h.push(None, 100, 40.0); // a non-frame message behind frame 1 waits its turn
        h.push(Some(2), 2, 66.0);
        assert!(ready(&mut h, 50.0).is_empty());
        assert_eq!(h.result(1, 52.0), Some(19.0));
        assert_eq!(ready(&mut h, 52.0), [1, 100]);
        // Results for 3 arrive first: frame 2 will get none and goes.
        h.push(Some(3), 3, 99.0);
        h.result(3, 101.0);
        assert_eq!(ready(&mut h, 101.0), [2, 3]);
    }

    #[test]
    fn a_frame_whose_results_never_come_goes_at_the_deadline() {
        let mut h = Hold::new(HoldOptions::default());
        h.push(Some(0), 0, 0.0);
        h.result(0, 40.0);
        ready(&mut h, 40.0);
        let w = h.window_ms();
        assert_eq!(w, 58.0);
        h.push(Some(1), 1, 50.0);
        assert_eq!(h.deadline_ms(), Some(50.0 + w));
        assert!(ready(&mut h, 50.0 + w - 1.0).is_empty());
        assert_eq!(ready(&mut h, 50.0 + w), [1]);
    }

    #[test]
    fn the_window_is_capped_and_idle_or_disabled_holds_nothing() {
        let opts = HoldOptions { max_window_ms: 300.0, ..HoldOptions::default() };
        let mut h = Hold::new(opts);
        h.push(Some(0), 0, 0.0);
        ready(&mut h, 0.0);
        h.result(0, 5000.0);
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
        h.result(0, 10.0);
        for s in 1..=(MAX_HELD as u64 + 1) {
            h.push(Some(s), s, 10.0);
        }
        assert_eq!(ready(&mut h, 10.0), [1]);
        assert_eq!(h.len(), MAX_HELD);
        assert_eq!(h.drain().count(), MAX_HELD);
    }
}
