//! Access units (H.264 7.4.1.2.3): which NAL units belong to one picture. SPS and PPS are tracked
//! and slice headers read with [`crate::params`], and a new primary picture is detected by the
//! first-VCL-NAL rules of 7.4.1.2.4 (frame_num, PPS id, field flags, nal_ref_idc, POC fields, IDR
//! flag and idr_pic_id). A slice whose header cannot be read (missing parameter sets, damage) falls
//! back to `first_mb_in_slice == 0`.
//!
//! [`AuBoundaries`] classifies NAL units one at a time; [`access_units`] splits a whole buffer and
//! [`AccessUnitAssembler`] assembles from data arriving in arbitrary pieces — with the same result.

use crate::annexb::{NalSplitter, nal_units};
use crate::params::{ParamSets, SliceStart};
use std::collections::VecDeque;
use std::ops::Range;

/// The slice-header fields that tell pictures apart (7.4.1.2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
struct PictureKey {
    start: SliceStart,
    nal_ref_idc_zero: bool,
    idr: bool,
}

/// Classifies NAL units into access units.
#[derive(Debug, Default)]
pub struct AuBoundaries {
    params: ParamSets,
    /// The current access unit holds a VCL NAL unit of a primary picture.
    has_vcl: bool,
    last: Option<PictureKey>,
}

impl AuBoundaries {
    /// A classifier with no parameter sets yet.
    pub fn new() -> AuBoundaries {
        AuBoundaries::default()
    }

    fn slice_key(&self, nal: &[u8]) -> Option<PictureKey> {
        let mut start = self.params.slice_start(nal).ok()?;
        // Where a slice starts is not part of what tells pictures apart.
        start.first_mb = 0;
        Some(PictureKey { start, nal_ref_idc_zero: nal[0] & 0x60 == 0, idr: nal[0] & 0x1f == 5 })
    }

    /// Whether NAL unit `nal` (header byte first) starts a new access unit. Feed every NAL unit in
    /// stream order.
    pub fn starts_new_au(&mut self, nal: &[u8]) -> bool {
        let Some(&first) = nal.first() else { return false };
        match first & 0x1f {
            1 | 5 => {
                let key = self.slice_key(nal);
                let new_picture = match (&key, &self.last) {
                    (Some(k), Some(last)) => k != last,
                    // Unparseable: a slice that starts at macroblock 0 starts a picture.
                    _ => nal.get(1).is_some_and(|b| b & 0x80 != 0),
                };
                let starts = self.has_vcl && new_picture;
                self.has_vcl = true;
                if key.is_some() || starts {
                    self.last = key;
                }
                starts
            }
            t @ (6 | 7 | 8 | 9 | 14..=18) => {
                // A parameter set that does not parse is ignored; slices using it fall back.
                if t == 7 {
                    let _ = self.params.put_sps(nal);
                }
                if t == 8 {
                    let _ = self.params.put_pps(nal);
                }
                let starts = self.has_vcl;
                if starts {
                    self.has_vcl = false;
                    self.last = None;
                }
                starts
            }
            _ => false, // end of sequence/stream, filler, partitions, extensions: stay with the picture
        }
    }
}

/// Byte ranges of the access units in `data`, each starting at its first NAL unit's start code.
pub fn access_units(data: &[u8]) -> Vec<Range<usize>> {
    let base = data.as_ptr() as usize;
    let mut boundaries = AuBoundaries::new();
    let mut units: Vec<Range<usize>> = Vec::new();
    for nal in nal_units(data) {
        let start = nal.with_start_code.as_ptr() as usize - base;
        let end = start + nal.with_start_code.len();
        match units.last_mut() {
            Some(cur) if !boundaries.starts_new_au(nal.payload) => cur.end = end,
            _ => {
                let _ = units.is_empty() && boundaries.starts_new_au(nal.payload);
                units.push(start..end);
            }
        }
    }
    units
}

/// One assembled access unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUnit {
    /// Its NAL units in Annex-B form (four-byte start codes).
    pub data: Vec<u8>,
    /// It holds an IDR slice.
    pub key: bool,
}

/// Assembles access units from Annex-B data arriving in pieces.
#[derive(Debug)]
pub struct AccessUnitAssembler {
    splitter: NalSplitter,
    boundaries: AuBoundaries,
    current: Option<AccessUnit>,
    ready: VecDeque<AccessUnit>,
}

impl AccessUnitAssembler {
    /// An assembler accepting NAL units of up to `max_nal` bytes.
    pub fn new(max_nal: usize) -> AccessUnitAssembler {
        AccessUnitAssembler {
            splitter: NalSplitter::new(max_nal),
            boundaries: AuBoundaries::new(),
            current: None,
            ready: VecDeque::new(),
        }
    }

    fn add(&mut self, nal: Vec<u8>) {
        let starts = self.boundaries.starts_new_au(&nal);
        if starts && let Some(done) = self.current.take() {
            self.ready.push_back(done);
        }
        let au = self.current.get_or_insert_with(|| AccessUnit { data: Vec::new(), key: false });
        au.key |= nal[0] & 0x1f == 5;
        au.data.extend_from_slice(&[0, 0, 0, 1]);
        au.data.extend_from_slice(&nal);
    }

    /// Adds bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.splitter.push(data);
        while let Some(nal) = self.splitter.pull() {
            self.add(nal);
        }
    }

    /// The next complete access unit (complete once the next one has begun).
    pub fn pull(&mut self) -> Option<AccessUnit> {
        self.ready.pop_front()
    }

    /// Ends the input; the last access unit becomes available.
    pub fn finish(&mut self) -> Option<AccessUnit> {
        while let Some(nal) = self.splitter.finish() {
            self.add(nal);
        }
        if let Some(last) = self.current.take() {
            self.ready.push_back(last);
        }
        self.ready.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nal(t: u8, first_mb_zero: bool) -> Vec<u8> {
        vec![0, 0, 0, 1, t, if first_mb_zero { 0x88 } else { 0x40 }, 0x11]
    }

    #[test]
    fn without_parameter_sets_falls_back_to_first_mb() {
        let mut data = Vec::new();
        for part in [
            nal(6, true),
            nal(5, true),
            nal(5, false),
            nal(1, true),
            nal(1, false),
            nal(9, true),
            nal(1, true),
        ] {
            data.extend(part);
        }
        let units = access_units(&data);
        assert_eq!(units, vec![0..21, 21..35, 35..49]);
    }

    #[test]
    fn empty_and_garbage_inputs() {
        assert!(access_units(&[]).is_empty());
        assert!(access_units(&[1, 2, 3]).is_empty());
        assert_eq!(access_units(&[0, 0, 1, 0x65]).len(), 1);
    }

    #[test]
    fn assembler_equals_access_units_at_every_split() {
        let mut data = Vec::new();
        for part in [
            nal(7, true),
            nal(8, true),
            nal(5, true),
            nal(5, false),
            nal(1, true),
            nal(1, false),
            nal(1, true),
        ] {
            data.extend(part);
        }
        let whole: Vec<Vec<u8>> = access_units(&data).into_iter().map(|r| data[r].to_vec()).collect();
        for i in 0..=data.len() {
            let mut a = AccessUnitAssembler::new(1 << 20);
            a.push(&data[..i]);
            a.push(&data[i..]);
            let mut got = Vec::new();
            while let Some(au) = a.pull() {
                got.push(au.data);
            }
            while let Some(au) = a.finish() {
                got.push(au.data);
            }
            assert_eq!(got, whole, "split at {i}");
        }
    }
}
