//! MP4's H.264 form (ISO/IEC 14496-15) to Annex-B: the `avcC` decoder configuration record
//! (5.2.4.1) and length-prefixed samples become start-code-delimited NAL units, with the SPS and PPS
//! put in front of every sync sample so each keyframe decodes on its own.

/// Why a record or sample could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AvccError {
    /// The `avcC` record ends early or is not version 1.
    #[error("malformed avcC record: {0}")]
    Record(&'static str),
    /// A sample's NAL length runs past its end.
    #[error("sample truncated: NAL unit of {len} bytes at offset {offset}, {left} bytes left")]
    Truncated {
        /// Offset of the length field in the sample.
        offset: usize,
        /// Declared NAL length.
        len: usize,
        /// Bytes that remained.
        left: usize,
    },
}

/// The parts of an `avcC` record that matter for conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcConfig {
    /// Size of each NAL length prefix in samples: 1, 2 or 4 bytes.
    pub length_size: usize,
    /// SPS NAL units.
    pub sps: Vec<Vec<u8>>,
    /// PPS NAL units.
    pub pps: Vec<Vec<u8>>,
}

const START_CODE: [u8; 4] = [0, 0, 0, 1];

fn take<'a>(buf: &mut &'a [u8], n: usize, what: &'static str) -> Result<&'a [u8], AvccError> {
    if buf.len() < n {
        return Err(AvccError::Record(what));
    }
    let (head, rest) = buf.split_at(n);
    *buf = rest;
    Ok(head)
}

impl AvcConfig {
    /// Parses an `avcC` record (the box payload).
    pub fn parse(record: &[u8]) -> Result<AvcConfig, AvccError> {
        let mut b = record;
        let head = take(&mut b, 6, "header")?;
        if head[0] != 1 {
            return Err(AvccError::Record("configurationVersion is not 1"));
        }
        let length_size = (head[4] & 0x03) as usize + 1;
        if length_size == 3 {
            return Err(AvccError::Record("NAL length size 3 is not allowed"));
        }
        let sets = |count: usize, b: &mut &[u8]| -> Result<Vec<Vec<u8>>, AvccError> {
            (0..count)
                .map(|_| {
                    let len = take(b, 2, "parameter set length")?;
                    let len = u16::from_be_bytes([len[0], len[1]]) as usize;
                    Ok(take(b, len, "parameter set")?.to_vec())
                })
                .collect()
        };
        let sps = sets((head[5] & 0x1f) as usize, &mut b)?;
        let count = take(&mut b, 1, "PPS count")?[0] as usize;
        let pps = sets(count, &mut b)?;
        Ok(AvcConfig { length_size, sps, pps })
    }

    /// The parameter sets in Annex-B form.
    pub fn parameter_sets_annexb(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for set in self.sps.iter().chain(&self.pps) {
            out.extend_from_slice(&START_CODE);
            out.extend_from_slice(set);
        }
        out
    }

    /// Converts one sample to an Annex-B access unit; sync samples get the parameter sets in front
    /// unless they already carry an SPS.
    pub fn sample_to_annexb(&self, sample: &[u8], sync: bool) -> Result<Vec<u8>, AvccError> {
        let mut nals = Vec::new();
        let mut offset = 0;
        while offset < sample.len() {
            let left = sample.len() - offset;
            if left < self.length_size {
                return Err(AvccError::Truncated { offset, len: self.length_size, left });
            }
            let len =
                sample[offset..offset + self.length_size].iter().fold(0usize, |n, b| (n << 8) | *b as usize);
            let body = offset + self.length_size;
            if len > sample.len() - body {
                return Err(AvccError::Truncated { offset, len, left: sample.len() - body });
            }
            if len > 0 {
                nals.push(&sample[body..body + len]);
            }
            offset = body + len;
        }
        let has_sps = nals.iter().any(|n| n.first().is_some_and(|h| h & 0x1f == 7));
        let mut out = Vec::with_capacity(sample.len() + 64);
        if sync && !has_sps {
            out.extend(self.parameter_sets_annexb());
        }
        for nal in nals {
            out.extend_from_slice(&START_CODE);
            out.extend_from_slice(nal);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: [u8; 20] =
        [1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0xc0, 0x1e, 1, 0, 3, 0x68, 0xce, 0x3c, 0x80, 0];

    #[test]
    fn parses_a_record_and_converts_samples() {
        let c = AvcConfig::parse(&RECORD[..19]).expect("valid");
        assert_eq!(c.length_size, 4);
        assert_eq!(c.sps, vec![vec![0x67, 0x42, 0xc0, 0x1e]]);
        assert_eq!(c.pps, vec![vec![0x68, 0xce, 0x3c]]);
        let sample = [0, 0, 0, 2, 0x65, 0xaa, 0, 0, 0, 1, 0x65];
        let au = c.sample_to_annexb(&sample, true).expect("valid");
        assert_eq!(
            au,
            [
                0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0, 0, 0, 1, 0x65, 0xaa, 0,
                0, 0, 1, 0x65
            ]
        );
        let au = c.sample_to_annexb(&sample, false).expect("valid");
        assert_eq!(au, [0, 0, 0, 1, 0x65, 0xaa, 0, 0, 0, 1, 0x65]);
        let parsed: Vec<_> = crate::annexb::nal_units(&au).map(|n| n.payload.to_vec()).collect();
        assert_eq!(parsed, vec![vec![0x65, 0xaa], vec![0x65]]);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        // The record is complete at 18 bytes (what follows may be High-profile extension fields).
        for cut in 0..18 {
            assert!(AvcConfig::parse(&RECORD[..cut]).is_err(), "cut {cut}");
        }
        let c = AvcConfig::parse(&RECORD[..19]).expect("valid");
        let sample = [0, 0, 0, 2, 0x65, 0xaa];
        for cut in 1..sample.len() {
            assert!(c.sample_to_annexb(&sample[..cut], false).is_err(), "cut {cut}");
        }
        let mut two = RECORD;
        two[4] = 0xfd; // length size 2
        let c2 = AvcConfig::parse(&two[..19]).expect("valid");
        assert_eq!(c2.sample_to_annexb(&[0, 1, 0x41], false), Ok(vec![0, 0, 0, 1, 0x41]));
        let mut three = RECORD;
        three[4] = 0xfe;
        assert!(AvcConfig::parse(&three[..19]).is_err());
    }
}
