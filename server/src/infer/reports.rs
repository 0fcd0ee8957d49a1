//! What viewers report about drawing results: frames painted with their overlay, results that came
//! too late to draw, and the results' age when painted — the half of the inference metrics only the
//! browser can measure. Viewers send a `Report` every few seconds while drawing; the totals and
//! recent medians are kept per stream for `/metrics`.

use nalcast_proto::wire::Report;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Recent reported medians kept for the percentiles.
const KEPT: usize = 256;
/// Ages above this (µs) are treated as nonsense from a confused or hostile viewer.
const MAX_AGE_US: u32 = 60_000_000;

/// One stream's viewer reports.
#[derive(Debug, Default)]
pub struct PaintReports {
    /// Frames painted with their results drawn (all viewers).
    pub overlays: AtomicU64,
    /// Results that arrived after their frame was painted (all viewers).
    pub late: AtomicU64,
    ages_us: Mutex<VecDeque<u32>>,
}

impl PaintReports {
    /// Adds a viewer's report.
    pub fn add(&self, r: &Report) {
        self.overlays.fetch_add(u64::from(r.overlays), Ordering::Relaxed);
        self.late.fetch_add(u64::from(r.results_late), Ordering::Relaxed);
        if r.age_p50_us != Report::UNKNOWN && r.age_p50_us <= MAX_AGE_US && r.overlays > 0 {
            let mut ages = self.ages_us.lock().unwrap_or_else(|e| e.into_inner());
            if ages.len() == KEPT {
                ages.pop_front();
            }
            ages.push_back(r.age_p50_us);
        }
    }

    /// Percentile `p` (0–1) of the recently reported median ages at paint, ms.
    pub fn age_ms(&self, p: f64) -> Option<f64> {
        let mut v: Vec<u32> =
            self.ages_us.lock().unwrap_or_else(|e| e.into_inner()).iter().copied().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        Some(f64::from(v[((v.len() - 1) as f64 * p.clamp(0.0, 1.0)).round() as usize]) / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_and_sane_ages() {
        let r = PaintReports::default();
        r.add(&Report { overlays: 30, results_late: 1, age_p50_us: 4000 });
        r.add(&Report { overlays: 30, results_late: 0, age_p50_us: 8000 });
        r.add(&Report { overlays: 0, results_late: 0, age_p50_us: 1 }); // nothing drawn: no age
        r.add(&Report { overlays: 5, results_late: 0, age_p50_us: Report::UNKNOWN });
        r.add(&Report { overlays: 5, results_late: 0, age_p50_us: MAX_AGE_US + 1 });
        assert_eq!(r.overlays.load(Ordering::Relaxed), 70);
        assert_eq!(r.late.load(Ordering::Relaxed), 1);
        assert_eq!((r.age_ms(0.0), r.age_ms(1.0)), (Some(4.0), Some(8.0)));
    }
}
