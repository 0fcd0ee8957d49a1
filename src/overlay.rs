//! Model results on the page: keeps the results the server sends until the frame they describe is
//! painted, then draws their boxes, labels and scores on a transparent canvas laid over the video —
//! for that frame only — and counts results per second, model time and the results' age at paint.
//! The video canvas itself is never drawn on, so its pixels stay the decoded picture.

use nalcast_proto::wire::{Report, Results};
use std::collections::VecDeque;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

/// Results kept waiting for their frame.
const KEPT: usize = 64;
/// Samples kept for the medians.
const RECENT: usize = 60;

/// What was drawn on a painted frame (part of the `onframe` event).
#[derive(Debug, Clone)]
pub struct Drawn {
    /// Frame id of the results drawn (always the painted frame's id).
    pub seq: f64,
    /// The model.
    pub model: String,
    /// Boxes as `[x, y, w, h]` in canvas pixels.
    pub boxes: Vec<[f64; 4]>,
    /// Labels, one per box.
    pub labels: Vec<String>,
    /// Age of the results when painted (server clock): paint time − time the model finished, ms.
    pub age_ms: Option<f64>,
    /// How long the model took, ms.
    pub inference_ms: f64,
}

/// Overlay numbers for `Player.stats()`.
#[derive(Debug, Clone, Default)]
pub struct OverlayStats {
    /// Whether overlays are drawn.
    pub overlay: bool,
    /// Results received in total.
    pub results: u64,
    /// Results received in the last second.
    pub results_per_second: f64,
    /// Median model time of recent results, ms.
    pub model_ms: Option<f64>,
    /// Median age of recent results when painted, ms.
    pub result_age_ms: Option<f64>,
    /// Frames painted with their results drawn.
    pub overlays: u64,
    /// Results that arrived after their frame had been painted (too late to draw).
    pub results_late: u64,
    /// How long frames are held for their results now, ms (0 when not holding).
    pub hold_ms: f64,
}

fn median(v: &VecDeque<f64>) -> Option<f64> {
    let mut s: Vec<f64> = v.iter().copied().collect();
    nalcast_proto::small_sort::sort_floats(&mut s);
    s.get(s.len() / 2).copied()
}

fn push_recent(q: &mut VecDeque<f64>, v: f64) {
    if q.len() == RECENT {
        q.pop_front();
    }
    q.push_back(v);
}

/// The overlay canvas and the results waiting for their frames.
#[derive(Debug, Default)]
pub struct Overlay {
    target: Option<(HtmlCanvasElement, CanvasRenderingContext2d)>,
    kept: VecDeque<Results>,
    received_at: VecDeque<f64>,
    model_ms: VecDeque<f64>,
    age_ms: VecDeque<f64>,
    /// Totals.
    pub stats: OverlayStats,
    drawn_last: bool,
    /// Since the last report to the server: overlays drawn, late results, ages (µs).
    unreported: (u32, u32, Vec<u32>),
}

impl Overlay {
    /// Draws on `canvas` from now on (`None`: stop drawing and clear the old one).
    pub fn set_canvas(&mut self, canvas: Option<HtmlCanvasElement>) -> Result<(), JsValue> {
        self.clear();
        self.target = match canvas {
            Some(c) => {
                let ctx = c
                    .get_context("2d")?
                    .ok_or_else(|| JsValue::from_str("overlay canvas has no 2d context"))?
                    .dyn_into::<CanvasRenderingContext2d>()?;
                Some((c, ctx))
            }
            None => None,
        };
        self.stats.overlay = self.target.is_some();
        Ok(())
    }

    /// Whether overlays are drawn.
    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Results arrived at `now` (page ms); `last_painted` is the newest frame id painted so far.
    pub fn received(&mut self, results: Results, now: f64, last_painted: Option<u64>) {
        self.stats.results += 1;
        self.received_at.push_back(now);
        while self.received_at.front().is_some_and(|t| now - t > 1000.0) {
            self.received_at.pop_front();
        }
        push_recent(&mut self.model_ms, f64::from(results.inference_us) / 1000.0);
        if last_painted.is_some_and(|p| p >= results.seq) {
            self.stats.results_late += 1;
            if self.enabled() {
                self.unreported.1 = self.unreported.1.saturating_add(1);
            }
            return;
        }
        if self.kept.len() == KEPT {
            self.kept.pop_front();
        }
        self.kept.push_back(results);
    }

    fn clear(&mut self) {
        if let Some((c, ctx)) = &self.target {
            ctx.clear_rect(0.0, 0.0, f64::from(c.width()), f64::from(c.height()));
        }
        self.drawn_last = false;
    }

    /// Frame `seq` was just painted on a `width`×`height` canvas at server time `server_now_us`
    /// (if the clock is synced): draws its results, if any, and forgets older ones.
    pub fn painted(
        &mut self,
        seq: u64,
        width: u32,
        height: u32,
        server_now_us: Option<f64>,
    ) -> Option<Drawn> {
        while self.kept.front().is_some_and(|r| r.seq < seq) {
            self.kept.pop_front();
        }
        let results = match self.kept.front() {
            Some(r) if r.seq == seq => self.kept.pop_front()?,
            _ => {
                if self.drawn_last {
                    self.clear();
                }
                return None;
            }
        };
        let age_ms = server_now_us.map(|now| (now - results.produced_us as f64) / 1000.0);
        if let Some(a) = age_ms {
            push_recent(&mut self.age_ms, a);
        }
        let (sx, sy) = (
            f64::from(width) / f64::from(results.width.max(1)),
            f64::from(height) / f64::from(results.height.max(1)),
        );
        let boxes: Vec<[f64; 4]> = results
            .detections
            .iter()
            .map(|d| [f64::from(d.x) * sx, f64::from(d.y) * sy, f64::from(d.w) * sx, f64::from(d.h) * sy])
            .collect();
        if let Some((canvas, ctx)) = &self.target {
            if canvas.width() != width || canvas.height() != height {
                canvas.set_width(width);
                canvas.set_height(height);
            }
            ctx.clear_rect(0.0, 0.0, f64::from(width), f64::from(height));
            let line = (f64::from(height) / 240.0).clamp(2.0, 6.0);
            ctx.set_line_width(line);
            // Integers only: formatting an f64 would pull Rust's float printer (~15 KB) into the module.
            ctx.set_font(&format!("{}px sans-serif", (line * 7.0).round() as u32));
            for (d, [x, y, w, h]) in results.detections.iter().zip(&boxes) {
                ctx.set_stroke_style_str("#00ff66");
                ctx.stroke_rect(*x, *y, *w, *h);
                let age = age_ms.map(|a| format!(" · {} ms", a.round() as i64)).unwrap_or_default();
                let text = format!("{} {}{age}", d.label, two_decimals(d.score_f32()));
                let ty = if *y > line * 9.0 { y - line } else { y + h + line * 7.0 };
                ctx.set_fill_style_str("rgba(0,0,0,0.6)");
                let tw = ctx.measure_text(&text).map(|m| m.width()).unwrap_or(0.0);
                ctx.fill_rect(*x, ty - line * 6.5, tw + line * 2.0, line * 8.0);
                ctx.set_fill_style_str("#00ff66");
                let _ = ctx.fill_text(&text, x + line, ty);
            }
            self.drawn_last = true;
            self.stats.overlays += 1;
            self.unreported.0 = self.unreported.0.saturating_add(1);
            if let Some(a) = age_ms
                && self.unreported.2.len() < 1024
            {
                self.unreported.2.push((a.max(0.0) * 1000.0).min(f64::from(u32::MAX - 1)) as u32);
            }
        }
        Some(Drawn {
            seq: seq as f64,
            model: results.model.clone(),
            labels: results.detections.iter().map(|d| d.label.clone()).collect(),
            boxes,
            age_ms,
            inference_ms: f64::from(results.inference_us) / 1000.0,
        })
    }

    /// What to tell the server since the last report (nothing if nothing happened).
    pub fn take_report(&mut self) -> Option<Report> {
        let (overlays, results_late, mut ages) = std::mem::take(&mut self.unreported);
        if overlays == 0 && results_late == 0 {
            return None;
        }
        nalcast_proto::small_sort::sort_small_by(&mut ages, |a, b| a < b);
        let age_p50_us = ages.get(ages.len() / 2).copied().unwrap_or(Report::UNKNOWN);
        Some(Report { overlays, results_late, age_p50_us })
    }

    /// The numbers at `now`; `hold_ms` is the current hold window (0 when not holding).
    pub fn snapshot(&mut self, now: f64, hold_ms: f64) -> OverlayStats {
        while self.received_at.front().is_some_and(|t| now - t > 1000.0) {
            self.received_at.pop_front();
        }
        let mut s = self.stats.clone();
        s.results_per_second = self.received_at.len() as f64;
        s.model_ms = median(&self.model_ms);
        s.result_age_ms = median(&self.age_ms);
        s.hold_ms = hold_ms;
        s
    }
}

/// `v` with two decimals, as `{:.2}` would print it (but half away from zero), without Rust's float
/// printer.
fn two_decimals(v: f32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    let hundredths = (f64::from(v) * 100.0).round() as i64;
    let sign = if hundredths < 0 { "-" } else { "" };
    let h = hundredths.unsigned_abs();
    format!("{sign}{}.{:02}", h / 100, h % 100)
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_decimals_like_the_float_printer() {
        for (v, text) in
            [(0.0, "0.00"), (0.874, "0.87"), (0.876, "0.88"), (1.0, "1.00"), (-0.5, "-0.50"), (12.3, "12.30")]
        {
            assert_eq!(super::two_decimals(v), text);
        }
        assert_eq!(super::two_decimals(-0.001), "0.00");
    }
}
