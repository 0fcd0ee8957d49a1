//! The built-in analyzer: moving regions found by background subtraction on the luma plane, so
//! `make run` shows live overlays without any model server.
//!
//! The picture is reduced to cells of [`CELL`]×[`CELL`] luma averages. Each cell keeps a background
//! value; a cell whose average differs from it by more than the threshold is foreground. Background
//! cells follow the picture quickly (lighting drift, coding noise); foreground cells keep their
//! background untouched, so a region an object just left is background again at once (no ghost
//! trail), and a cell that stays foreground for [`MotionOptions::absorb_after`] pictures — something
//! that arrived and stopped — takes the picture as its new background. Connected foreground cells
//! (8-neighbourhood) become boxes; tiny ones are ignored. Pure computation, no I/O.

use super::{Analyzer, InferError, Picture};
use nalcast_proto::wire::{Detection, MAX_DETECTIONS};

/// Side of a cell in pixels.
pub const CELL: usize = 4;

/// Tuning of the motion analyzer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotionOptions {
    /// Luma difference (0–255) of a cell's average from its background that counts as motion.
    pub threshold: u8,
    /// Fewest cells in a region worth reporting.
    pub min_cells: usize,
    /// Most regions reported (largest first).
    pub max_regions: usize,
    /// Pictures a cell may stay foreground before what it shows becomes background.
    pub absorb_after: u16,
}

impl Default for MotionOptions {
    fn default() -> Self {
        MotionOptions { threshold: 20, min_cells: 6, max_regions: 16, absorb_after: 45 }
    }
}

/// Background-subtraction motion detector.
#[derive(Debug)]
pub struct Motion {
    options: MotionOptions,
    /// Background per cell, in 1/16 luma steps (fixed point, so slow updates do not round away).
    background: Vec<u32>,
    /// Consecutive pictures each cell has been foreground.
    held: Vec<u16>,
    cells: Vec<u8>,
    foreground: Vec<bool>,
    label: Vec<u32>,
    stack: Vec<usize>,
    grid: (usize, usize),
}

impl Motion {
    /// A detector with `options`.
    pub fn new(options: MotionOptions) -> Motion {
        Motion {
            options,
            background: Vec::new(),
            held: Vec::new(),
            cells: Vec::new(),
            foreground: Vec::new(),
            label: Vec::new(),
            stack: Vec::new(),
            grid: (0, 0),
        }
    }

    /// Averages `luma` (`width`×`height`, tightly packed) into cells.
    fn reduce(&mut self, luma: &[u8], width: usize, height: usize) {
        let (gw, gh) = (width.div_ceil(CELL), height.div_ceil(CELL));
        self.cells.clear();
        self.cells.resize(gw * gh, 0);
        let mut sums = vec![0u32; gw];
        let mut counts = vec![0u32; gw];
        for gy in 0..gh {
            sums.fill(0);
            counts.fill(0);
            for row in gy * CELL..((gy + 1) * CELL).min(height) {
                let line = &luma[row * width..(row + 1) * width];
                for (gx, chunk) in line.chunks(CELL).enumerate() {
                    sums[gx] += chunk.iter().map(|&p| u32::from(p)).sum::<u32>();
                    counts[gx] += chunk.len() as u32;
                }
            }
            for gx in 0..gw {
                self.cells[gy * gw + gx] = (sums[gx] / counts[gx].max(1)) as u8;
            }
        }
        self.grid = (gw, gh);
    }

    /// Finds moving regions in a `width`×`height` luma plane; boxes in pixels, largest first.
    pub fn detect(&mut self, luma: &[u8], width: usize, height: usize) -> Vec<Detection> {
        if width == 0 || height == 0 || luma.len() < width * height {
            return Vec::new();
        }
        self.reduce(luma, width, height);
        let n = self.cells.len();
        if self.background.len() != n {
            // First picture (or a new size): it becomes the background; nothing moves yet.
            self.background = self.cells.iter().map(|&c| u32::from(c) << 4).collect();
            self.held = vec![0; n];
            return Vec::new();
        }
        let threshold = u32::from(self.options.threshold) << 4;
        self.foreground.clear();
        for ((bg, &c), held) in self.background.iter_mut().zip(&self.cells).zip(&mut self.held) {
            let c = u32::from(c) << 4;
            let mut moving = c.abs_diff(*bg) > threshold;
            if moving {
                *held += 1;
                if *held > self.options.absorb_after {
                    *bg = c;
                    *held = 0;
                    moving = false;
                }
            } else {
                // Background follows the picture at 1/4 per picture.
                *held = 0;
                if c > *bg {
                    *bg += (c - *bg).div_ceil(4);
                } else {
                    *bg -= (*bg - c).div_ceil(4);
                }
            }
            self.foreground.push(moving);
        }
        self.regions(width, height)
    }

    /// Connected foreground cells → boxes.
    fn regions(&mut self, width: usize, height: usize) -> Vec<Detection> {
        let (gw, gh) = self.grid;
        self.label.clear();
        self.label.resize(gw * gh, 0);
        let mut found = Vec::new();
        let mut next = 0u32;
        for start in 0..gw * gh {
            if !self.foreground[start] || self.label[start] != 0 {
                continue;
            }
            next += 1;
            let (mut x0, mut y0, mut x1, mut y1, mut count) = (gw, gh, 0, 0, 0usize);
            self.label[start] = next;
            self.stack.push(start);
            while let Some(i) = self.stack.pop() {
                let (x, y) = (i % gw, i / gw);
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
                count += 1;
                for ny in y.saturating_sub(1)..=(y + 1).min(gh - 1) {
                    for nx in x.saturating_sub(1)..=(x + 1).min(gw - 1) {
                        let j = ny * gw + nx;
                        if self.foreground[j] && self.label[j] == 0 {
                            self.label[j] = next;
                            self.stack.push(j);
                        }
                    }
                }
            }
            if count >= self.options.min_cells {
                let area = (x1 - x0 + 1) * (y1 - y0 + 1);
                found.push((count, x0, y0, x1, y1, area));
            }
        }
        found.sort_by_key(|f| std::cmp::Reverse(f.0));
        found.truncate(self.options.max_regions.min(MAX_DETECTIONS));
        let clamp = |v: usize| v.min(u16::MAX as usize) as u16;
        found
            .into_iter()
            .map(|(count, x0, y0, x1, y1, area)| {
                let (px, py) = (x0 * CELL, y0 * CELL);
                let (pw, ph) = (((x1 + 1) * CELL).min(width) - px, ((y1 + 1) * CELL).min(height) - py);
                Detection {
                    x: clamp(px),
                    y: clamp(py),
                    w: clamp(pw),
                    h: clamp(ph),
                    score: Detection::score_from_f32(count as f32 / area as f32),
                    label: "motion".into(),
                }
            })
            .collect()
    }
}

impl Analyzer for Motion {
    fn name(&self) -> &str {
        "motion"
    }

    fn analyze(&mut self, picture: &Picture) -> Result<Vec<Detection>, InferError> {
        Ok(self.detect(picture.luma(), picture.width, picture.height))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A still texture with a bright square at `x`.
    fn scene(width: usize, height: usize, square: Option<(usize, usize, usize)>) -> Vec<u8> {
        let mut y: Vec<u8> =
            (0..width * height).map(|i| ((((i % width) ^ (i / width)) & 0xff) / 2 + 64) as u8).collect();
        if let Some((x0, y0, side)) = square {
            for row in y0..y0 + side {
                y[row * width + x0..row * width + x0 + side].fill(235);
            }
        }
        y
    }

    fn covers(d: &Detection, (x, y, side): (usize, usize, usize), slack: usize) -> bool {
        let (dx, dy, dw, dh) = (d.x as usize, d.y as usize, d.w as usize, d.h as usize);
        dx <= x + slack && dy <= y + slack && dx + dw + slack >= x + side && dy + dh + slack >= y + side
    }

    #[test]
    fn a_moving_square_is_boxed_tightly_and_leaves_no_trail() {
        let (w, h) = (320, 180);
        let mut m = Motion::new(MotionOptions::default());
        assert!(m.detect(&scene(w, h, None), w, h).is_empty(), "the first picture is the background");
        for n in 0..40usize {
            let sq = (10 + n * 6, 60, 44);
            let found = m.detect(&scene(w, h, Some(sq)), w, h);
            assert_eq!(found.len(), 1, "frame {n}: {found:?}");
            let d = &found[0];
            assert!(covers(d, sq, 0), "frame {n}: {d:?} does not cover {sq:?}");
            // Tight: no more than one cell of slack on each side, so no trail behind the square.
            assert!(d.w as usize <= 44 + 2 * CELL && d.h as usize <= 44 + 2 * CELL, "frame {n}: {d:?}");
            assert_eq!(d.label, "motion");
            assert!(d.score > 8000, "{d:?}");
        }
    }

    #[test]
    fn a_slow_square_that_covers_cells_for_long_leaves_no_trail() {
        let (w, h) = (320, 180);
        let mut m = Motion::new(MotionOptions::default());
        m.detect(&scene(w, h, None), w, h);
        // 60 px wide at 2 px per picture: each cell is covered for about 30 pictures.
        for n in 0..100usize {
            let sq = (10 + n * 2, 60, 60);
            let found = m.detect(&scene(w, h, Some(sq)), w, h);
            assert!(found.len() == 1 && covers(&found[0], sq, 0), "frame {n}: {found:?}");
            assert!(found[0].w as usize <= 60 + 2 * CELL, "frame {n}: trail {:?}", found[0]);
        }
    }

    #[test]
    fn still_pictures_and_noise_give_nothing() {
        let (w, h) = (160, 96);
        let mut m = Motion::new(MotionOptions::default());
        let base = scene(w, h, None);
        let mut x = 7u32;
        for _ in 0..30 {
            let noisy: Vec<u8> = base
                .iter()
                .map(|&p| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    p.saturating_add((x % 9) as u8).saturating_sub(4)
                })
                .collect();
            assert!(m.detect(&noisy, w, h).is_empty());
        }
    }

    #[test]
    fn something_that_stops_is_absorbed_and_sizes_may_change() {
        let (w, h) = (160, 96);
        let mut m = Motion::new(MotionOptions::default());
        m.detect(&scene(w, h, None), w, h);
        let parked = scene(w, h, Some((40, 20, 30)));
        assert_eq!(m.detect(&parked, w, h).len(), 1);
        let mut frames = 0;
        while !m.detect(&parked, w, h).is_empty() {
            frames += 1;
            assert!(frames < 400, "never absorbed");
        }
        // Odd sizes, a size change, and short input are all fine.
        assert!(m.detect(&scene(33, 17, None), 33, 17).is_empty());
        assert!(m.detect(&[0; 10], 33, 17).is_empty());
        assert!(m.detect(&[], 0, 0).is_empty());
    }
}
