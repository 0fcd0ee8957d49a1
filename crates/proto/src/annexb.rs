//! Annex-B byte-stream framing (H.264 Annex B): finding start codes and the NAL units between them.
//!
//! [`nal_units`] splits one complete buffer. Bytes before the first start code are not a NAL unit and
//! are skipped; zero bytes before a start code (`trailing_zero_8bits`, or the leading zero of a
//! four-byte start code) belong to no NAL unit.

/// One NAL unit found in an Annex-B buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NalUnit<'a> {
    /// The NAL unit with its start code in front (three or four bytes), as a decoder wants it.
    pub with_start_code: &'a [u8],
    /// The NAL unit itself: header byte first, no start code.
    pub payload: &'a [u8],
}

impl NalUnit<'_> {
    /// `nal_unit_type` (H.264 7.4.1), or `None` for an empty NAL unit.
    pub fn nal_type(&self) -> Option<u8> {
        self.payload.first().map(|b| b & 0x1f)
    }
}

/// Position of the next three-byte start code `00 00 01` at or after `from`.
fn find_start_code(data: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 3 <= data.len() {
        // Skip quickly: a start code needs data[i + 2] == 1 and two zeros before it.
        match data[i + 2] {
            1 if data[i] == 0 && data[i + 1] == 0 => return Some(i),
            0 => i += 1,
            _ => i += 3,
        }
    }
    None
}

/// Iterator over the NAL units of a complete Annex-B buffer; see [`nal_units`].
#[derive(Debug, Clone)]
pub struct NalUnits<'a> {
    data: &'a [u8],
    /// Index of the next start code's `00 00 01`, if any.
    next: Option<usize>,
}

/// Splits a complete Annex-B buffer into NAL units.
pub fn nal_units(data: &[u8]) -> NalUnits<'_> {
    NalUnits { data, next: find_start_code(data, 0) }
}

impl<'a> Iterator for NalUnits<'a> {
    type Item = NalUnit<'a>;

    fn next(&mut self) -> Option<NalUnit<'a>> {
        loop {
            let sc = self.next?;
            let body = sc + 3;
            let following = find_start_code(self.data, body);
            self.next = following;
            let mut end = following.unwrap_or(self.data.len());
            while end > body && self.data[end - 1] == 0 {
                end -= 1;
            }
            if end == body {
                continue; // an empty NAL unit: start code followed directly by another
            }
            let start = if sc > 0 && self.data[sc - 1] == 0 { sc - 1 } else { sc };
            return Some(NalUnit { with_start_code: &self.data[start..end], payload: &self.data[body..end] });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payloads(data: &[u8]) -> Vec<Vec<u8>> {
        nal_units(data).map(|n| n.payload.to_vec()).collect()
    }

    #[test]
    fn splits_three_and_four_byte_start_codes() {
        let data = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5];
        assert_eq!(payloads(&data), vec![vec![0x67, 1, 2], vec![0x68, 3], vec![0x65, 4, 5]]);
        let nals: Vec<_> = nal_units(&data).collect();
        assert_eq!(nals[0].with_start_code, &[0, 0, 0, 1, 0x67, 1, 2]);
        assert_eq!(nals[1].with_start_code, &[0, 0, 1, 0x68, 3]);
        assert_eq!(nals[2].nal_type(), Some(5));
    }

    #[test]
    fn skips_leading_garbage_trailing_zeros_and_empty_units() {
        let data = [9, 9, 0, 0, 1, 0x41, 7, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0x41, 8, 0, 0];
        assert_eq!(payloads(&data), vec![vec![0x41, 7], vec![0x41, 8]]);
    }

    #[test]
    fn no_start_code_means_no_units() {
        assert!(payloads(&[]).is_empty());
        assert!(payloads(&[0, 0]).is_empty());
        assert!(payloads(&[1, 2, 3, 0, 0]).is_empty());
        assert!(payloads(&[0, 0, 1]).is_empty());
    }

    #[test]
    fn any_byte_sequence_is_handled() {
        // Exhaustive over short sequences of the interesting byte values.
        let alphabet = [0u8, 1, 3, 0x65];
        for len in 0..=7u32 {
            for code in 0..alphabet.len().pow(len) {
                let mut c = code;
                let data: Vec<u8> = (0..len)
                    .map(|_| {
                        let b = alphabet[c % alphabet.len()];
                        c /= alphabet.len();
                        b
                    })
                    .collect();
                for nal in nal_units(&data) {
                    assert!(!nal.payload.is_empty());
                    assert!(nal.with_start_code.ends_with(nal.payload));
                    assert_ne!(nal.payload.last(), Some(&0));
                }
            }
        }
    }
}
