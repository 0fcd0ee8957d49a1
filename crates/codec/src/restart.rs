//! What the decoder needs to start over at an IDR picture: when one begins, and the latest
//! parameter set of each id (SPS, subset SPS, PPS — H.264 7.3.2.1, 7.3.2.2, G.7.3.2.1.4) to replay
//! into a fresh OpenH264 instance. OpenH264 conceals damage well, but its output-order bookkeeping
//! can stay confused past the next IDR; a fresh instance cannot.

use nalcast_proto::annexb::nal_units;
use nalcast_proto::bits::BitReader;
use nalcast_proto::sps::SpsInfo;

/// Parameter sets larger than this are not kept (real ones are a few hundred bytes at most).
const MAX_KEPT: usize = 64 * 1024;

/// The latest SPS, subset SPS and PPS NAL units (with start code), by kind and id.
#[derive(Debug, Default)]
pub(crate) struct ParamSets {
    /// Sorted by key: (replay rank, id) — SPS before subset SPS before PPS. At most 320 entries.
    kept: Vec<((u8, u32), Vec<u8>)>,
}

impl ParamSets {
    /// Remembers `with_start_code` if `payload` (header byte first) is a well-formed enough parameter set.
    pub(crate) fn remember(&mut self, payload: &[u8], with_start_code: &[u8]) {
        let Some(&header) = payload.first() else { return };
        let (rank, skip, max_id) = match header & 0x1f {
            7 => (0, 3, 31),
            15 => (1, 3, 31),
            8 => (2, 0, 255),
            _ => return,
        };
        if with_start_code.len() > MAX_KEPT {
            return;
        }
        let Some(id) = leading_ue(&payload[1..], skip).filter(|id| *id <= max_id) else { return };
        let key = (rank, id);
        match self.kept.binary_search_by_key(&key, |(k, _)| *k) {
            Ok(at) => self.kept[at].1 = with_start_code.to_vec(),
            Err(at) => self.kept.insert(at, (key, with_start_code.to_vec())),
        }
    }

    /// The kept NAL units in replay order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.kept.iter().map(|(_, nal)| nal.as_slice())
    }

    /// Whether a kept SPS may put pictures out of decoding order: `pic_order_cnt_type` other than 2,
    /// or unreadable. Subset SPSs count as such.
    pub(crate) fn may_reorder(&self) -> bool {
        self.kept.iter().filter(|((rank, _), _)| *rank < 2).any(|(_, nal)| {
            let payload = nal_units(nal).next().map(|n| n.payload).unwrap_or_default();
            SpsInfo::parse(payload).map_or(true, |sps| sps.poc_type != 2)
        })
    }
}

/// The Exp-Golomb `ue(v)` (H.264 9.1) after `skip` bytes of an escaped RBSP, or `None` if cut short
/// or longer than 32 bits.
fn leading_ue(escaped: &[u8], skip: usize) -> Option<u32> {
    let mut r = BitReader::new(escaped);
    for _ in 0..skip {
        r.bits(8).ok()?;
    }
    r.ue().ok()
}

/// Whether a NAL unit of `nal_type` begins a new IDR picture after some other picture, given the
/// type of the VCL NAL unit fed before it (`0` if none): an IDR slice after a non-IDR slice.
pub(crate) fn starts_idr(nal_type: u8, previous_vcl: u8) -> bool {
    nal_type == 5 && previous_vcl != 5 && previous_vcl != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ue_through_emulation_prevention() {
        assert_eq!(leading_ue(&[0x80], 0), Some(0));
        assert_eq!(leading_ue(&[0x42, 0, 0x1e, 0x28], 3), Some(4)); // 00101
        // 00 00 03 01 ff ff fe is the RBSP 00 00 01 ff ff fe: 23 zeros, a one, 23 ones.
        assert_eq!(leading_ue(&[0, 0, 3, 1, 0xff, 0xff, 0xfe], 0), Some((1 << 24) - 2));
        assert_eq!(leading_ue(&[0, 0, 0, 0, 0x80], 0), None); // 32 zeros: too long
        assert_eq!(leading_ue(&[0x00], 0), None); // cut short
        assert_eq!(leading_ue(&[0x42], 3), None);
    }

    #[test]
    fn keeps_the_latest_set_of_each_id_in_replay_order() {
        let mut p = ParamSets::default();
        p.remember(&[0x68, 0xce], &[0, 0, 1, 0x68, 0xce]); // PPS 0
        p.remember(&[0x67, 66, 0, 30, 0x80], &[0, 0, 1, 0x67, 66, 0, 30, 0x80]); // SPS 0
        p.remember(&[0x67, 66, 0, 31, 0x80], &[0, 0, 1, 0x67, 66, 0, 31, 0x80]); // SPS 0 again
        p.remember(&[0x68, 0x00, 0x80], &[0, 0, 1, 0x68, 0x00, 0x80]); // PPS: 8 zeros, then cut short
        p.remember(&[0x65, 0x88], &[0, 0, 1, 0x65, 0x88]); // a slice: not kept
        p.remember(&[0x67], &[0, 0, 1, 0x67]); // empty SPS: not kept
        let kept: Vec<&[u8]> = p.iter().collect();
        assert_eq!(kept, vec![&[0, 0, 1, 0x67, 66, 0, 31, 0x80][..], &[0, 0, 1, 0x68, 0xce][..]]);
    }

    #[test]
    fn an_idr_starts_over_only_after_another_picture() {
        assert!(!starts_idr(5, 0)); // the first picture: nothing to recover from
        assert!(starts_idr(5, 1));
        assert!(!starts_idr(5, 5));
        assert!(!starts_idr(1, 1));
    }
}
