//! Access-unit boundaries in an Annex-B stream (H.264 7.4.1.2.3), for pacing a file one picture at
//! a time.
//!
//! A new access unit starts at an access unit delimiter, SPS, PPS, SEI or types 14–18 that follow
//! a picture's slices, or at a slice whose `first_mb_in_slice` is 0 once the current access unit
//! already holds a slice. (Redundant pictures and arbitrary slice order are not distinguished; the
//! full first-slice comparison of 7.4.1.2.4 lives with the live packetizer.)

use crate::annexb::nal_units;
use std::ops::Range;

/// Whether a slice NAL payload (header byte first) has `first_mb_in_slice == 0`: its ue(v) code is
/// then the single bit `1`.
fn first_mb_is_zero(payload: &[u8]) -> bool {
    payload.get(1).is_some_and(|b| b & 0x80 != 0)
}

/// Byte ranges of the access units in `data`, each starting at its first NAL unit's start code.
pub fn access_units(data: &[u8]) -> Vec<Range<usize>> {
    let base = data.as_ptr() as usize;
    let mut units: Vec<Range<usize>> = Vec::new();
    let mut current: Option<Range<usize>> = None;
    let mut has_slice = false;
    for nal in nal_units(data) {
        let start = nal.with_start_code.as_ptr() as usize - base;
        let end = start + nal.with_start_code.len();
        let t = nal.nal_type().unwrap_or(0);
        let is_slice = matches!(t, 1 | 5);
        let starts_new = match t {
            1 | 5 => has_slice && first_mb_is_zero(nal.payload),
            6..=9 | 14..=18 => has_slice,
            _ => false,
        };
        match current.as_mut() {
            Some(cur) if !starts_new => cur.end = end,
            _ => {
                if let Some(done) = current.take() {
                    units.push(done);
                }
                current = Some(start..end);
                has_slice = false;
            }
        }
        has_slice |= is_slice;
    }
    units.extend(current);
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nal(t: u8, first_mb_zero: bool) -> Vec<u8> {
        vec![0, 0, 0, 1, t, if first_mb_zero { 0x88 } else { 0x40 }, 0x11]
    }

    #[test]
    fn groups_parameter_sets_slices_and_next_picture() {
        let mut data = Vec::new();
        for part in [
            nal(7, true),
            nal(8, true),
            nal(5, true),
            nal(5, false),
            nal(1, true),
            nal(1, false),
            nal(6, true),
            nal(1, true),
        ] {
            data.extend(part);
        }
        let units = access_units(&data);
        assert_eq!(units.len(), 3);
        assert_eq!(units[0], 0..28);
        assert_eq!(units[1], 28..42);
        assert_eq!(units[2], 42..56);
    }

    #[test]
    fn empty_and_garbage_inputs() {
        assert!(access_units(&[]).is_empty());
        assert!(access_units(&[1, 2, 3]).is_empty());
        assert_eq!(access_units(&[0, 0, 1, 0x65]).len(), 1);
    }
}
