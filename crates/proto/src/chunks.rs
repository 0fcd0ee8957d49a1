//! Splitting wire messages into data-channel chunks and putting them back together (RFC 8831 data
//! channels carry messages of limited size; the `realtime` mode is unordered and unreliable).
//!
//! Chunk layout (big-endian): `message_id u64`, `index u16`, `count u16`, then up to
//! [`MAX_CHUNK_PAYLOAD`] bytes, so a chunk is at most [`MAX_CHUNK`] = 16 KiB. `message_id` counts
//! messages on the channel.
//!
//! [`Reassembler`] accepts chunks in any order, ignores duplicates and chunks of messages already
//! delivered or given up, and delivers each message once complete — in `message_id` order when
//! `ordered`, otherwise as soon as it completes. A message still incomplete when a newer one
//! completes is abandoned and reported lost (its frames are gone; the player skips to the next
//! keyframe). Memory is bounded by the number of messages in flight and the bytes they hold.

use crate::sorted::SortedMap;

/// Largest chunk on the wire.
pub const MAX_CHUNK: usize = 16 * 1024;
/// Bytes of the chunk header.
pub const CHUNK_HEADER: usize = 8 + 2 + 2;
/// Largest payload in one chunk.
pub const MAX_CHUNK_PAYLOAD: usize = MAX_CHUNK - CHUNK_HEADER;

/// Splits message `id` into chunks.
pub fn split(id: u64, message: &[u8]) -> Vec<Vec<u8>> {
    let count = message.len().div_ceil(MAX_CHUNK_PAYLOAD).max(1);
    (0..count)
        .map(|i| {
            let part = &message[(i * MAX_CHUNK_PAYLOAD).min(message.len())
                ..((i + 1) * MAX_CHUNK_PAYLOAD).min(message.len())];
            let mut c = Vec::with_capacity(CHUNK_HEADER + part.len());
            c.extend_from_slice(&id.to_be_bytes());
            c.extend_from_slice(&(i as u16).to_be_bytes());
            c.extend_from_slice(&(count as u16).to_be_bytes());
            c.extend_from_slice(part);
            c
        })
        .collect()
}

/// Why a chunk was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChunkError {
    /// Shorter than the header, or index/count inconsistent.
    #[error("malformed chunk")]
    Malformed,
    /// The message would exceed the size limit.
    #[error("message too large ({0} chunks)")]
    TooLarge(u16),
}

#[derive(Debug, Default)]
struct Partial {
    count: u16,
    /// By chunk index; keyed by `u64` like `Reassembler::done` so the wasm client carries one copy of
    /// `SortedMap<Vec<u8>>`'s code instead of two.
    parts: SortedMap<Vec<u8>>,
    bytes: usize,
}

/// What happened after a chunk was pushed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Messages now complete, in delivery order.
    pub messages: Vec<Vec<u8>>,
    /// Messages now known lost (abandoned incomplete, or skipped entirely), counted.
    pub lost: u64,
}

/// Reassembles chunked messages.
#[derive(Debug)]
pub struct Reassembler {
    ordered: bool,
    max_message: usize,
    max_in_flight: usize,
    partial: SortedMap<Partial>,
    /// Complete messages held back for order (ordered mode only).
    done: SortedMap<Vec<u8>>,
    /// Every id below this is delivered or lost.
    floor: u64,
    duplicates: u64,
}

impl Reassembler {
    /// A reassembler; `ordered` delivers in id order (reliable ordered channels).
    pub fn new(ordered: bool, max_message: usize, max_in_flight: usize) -> Reassembler {
        Reassembler {
            ordered,
            max_message,
            max_in_flight: max_in_flight.max(1),
            partial: SortedMap::default(),
            done: SortedMap::default(),
            floor: 0,
            duplicates: 0,
        }
    }

    /// Chunks ignored as duplicates or late.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Bytes held in incomplete or held-back messages.
    pub fn held_bytes(&self) -> usize {
        self.partial.values().map(|p| p.bytes).sum::<usize>()
            + self.done.values().map(Vec::len).sum::<usize>()
    }

    /// Adds one chunk.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Progress, ChunkError> {
        if chunk.len() < CHUNK_HEADER {
            return Err(ChunkError::Malformed);
        }
        let mut id = [0u8; 8];
        id.copy_from_slice(&chunk[..8]);
        let id = u64::from_be_bytes(id);
        let index = u16::from_be_bytes([chunk[8], chunk[9]]);
        let count = u16::from_be_bytes([chunk[10], chunk[11]]);
        if count == 0 || index >= count {
            return Err(ChunkError::Malformed);
        }
        if count as usize * MAX_CHUNK_PAYLOAD > self.max_message + MAX_CHUNK_PAYLOAD {
            return Err(ChunkError::TooLarge(count));
        }
        let mut progress = Progress::default();
        if id < self.floor || self.done.contains_key(id) {
            self.duplicates += 1;
            return Ok(progress);
        }
        let p = self.partial.get_or_insert_with(id, || Partial { count, ..Partial::default() });
        if p.count != count {
            return Err(ChunkError::Malformed);
        }
        if p.parts.contains_key(u64::from(index)) {
            self.duplicates += 1;
            return Ok(progress);
        }
        p.bytes += chunk.len() - CHUNK_HEADER;
        p.parts.insert(u64::from(index), chunk[CHUNK_HEADER..].to_vec());
        if p.parts.len() == count as usize {
            let p = self.partial.remove(id).unwrap_or_default();
            let message: Vec<u8> = p.parts.into_values().flatten().collect();
            if self.ordered {
                self.done.insert(id, message);
                while let Some(m) = self.done.remove(self.floor) {
                    progress.messages.push(m);
                    self.floor += 1;
                }
            } else {
                // Everything older is given up: a newer message made it through. Every id between
                // the floor and this one is lost, whether partly received or never seen.
                self.partial.remove_below(id);
                progress.lost = progress.lost.saturating_add(id.saturating_sub(self.floor));
                progress.messages.push(message);
                self.floor = self.floor.max(id.saturating_add(1));
            }
        }
        // Bound memory: too many messages in flight, or too many bytes: give up the oldest
        // incomplete one; in ordered mode, also stop waiting for a message that blocks completed
        // ones from delivery.
        loop {
            let over = self.partial.len() + self.done.len() > self.max_in_flight
                || self.held_bytes() > self.max_message * 2;
            if !over {
                break;
            }
            let oldest_partial = self.partial.first_key();
            let oldest_done = self.done.first_key();
            match (oldest_partial, oldest_done) {
                (Some(p), d) if d.is_none_or(|d| p < d) => {
                    self.partial.remove(p);
                    progress.lost = progress.lost.saturating_add(1);
                    if !self.ordered {
                        self.floor = self.floor.max(p.saturating_add(1));
                    } else if p == self.floor {
                        self.floor += 1;
                    }
                }
                (_, Some(d)) => {
                    // Everything below the first completed message is given up.
                    progress.lost = progress.lost.saturating_add(d.saturating_sub(self.floor));
                    self.partial.remove_below(d);
                    self.floor = d;
                }
                _ => break,
            }
            if self.ordered {
                while let Some(m) = self.done.remove(self.floor) {
                    progress.messages.push(m);
                    self.floor += 1;
                }
            }
        }
        Ok(progress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages() -> Vec<Vec<u8>> {
        vec![
            vec![7; 10],
            vec![],
            (0..40_000u32).map(|i| i as u8).collect(),
            vec![1; MAX_CHUNK_PAYLOAD],
            vec![2; MAX_CHUNK_PAYLOAD + 1],
        ]
    }

    #[test]
    fn chunks_are_small_and_round_trip_in_order() {
        let mut r = Reassembler::new(true, 1 << 20, 16);
        let mut got = Vec::new();
        for (id, m) in messages().iter().enumerate() {
            for c in split(id as u64, m) {
                assert!(c.len() <= MAX_CHUNK);
                got.extend(r.push(&c).expect("valid").messages);
            }
        }
        assert_eq!(got, messages());
    }

    #[test]
    fn reordering_and_duplicates_do_not_matter() {
        let all: Vec<Vec<u8>> =
            messages().iter().enumerate().flat_map(|(id, m)| split(id as u64, m)).collect();
        let mut x: u32 = 12345;
        for ordered in [true, false] {
            for _ in 0..50 {
                let mut shuffled = all.clone();
                for i in (1..shuffled.len()).rev() {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    shuffled.swap(i, x as usize % (i + 1));
                }
                shuffled.extend(all.iter().take(3).cloned()); // late duplicates
                let mut r = Reassembler::new(ordered, 1 << 20, 16);
                let mut got = Vec::new();
                let mut lost = 0;
                for c in &shuffled {
                    let p = r.push(c).expect("valid");
                    got.extend(p.messages);
                    lost += p.lost;
                }
                if ordered {
                    assert_eq!(got, messages());
                } else {
                    // Unordered: every message either arrives or is reported lost, never both.
                    assert_eq!(got.len() as u64 + lost, messages().len() as u64, "{lost}");
                    for m in &got {
                        assert!(messages().contains(m));
                    }
                }
                assert_eq!(r.held_bytes(), 0);
            }
        }
    }

    #[test]
    fn a_lost_chunk_loses_its_message_once_a_newer_one_completes() {
        let mut r = Reassembler::new(false, 1 << 20, 16);
        let big = split(0, &vec![9; 3 * MAX_CHUNK_PAYLOAD]);
        r.push(&big[0]).expect("valid");
        r.push(&big[2]).expect("valid"); // big[1] never arrives
        let p = r.push(&split(1, b"next keyframe")[0]).expect("valid");
        assert_eq!(p.messages, vec![b"next keyframe".to_vec()]);
        assert_eq!(p.lost, 1);
        assert_eq!(r.push(&big[1]).expect("late chunk").messages.len(), 0, "late chunks are ignored");
        assert_eq!(r.held_bytes(), 0);
    }

    #[test]
    fn malformed_and_oversized_chunks_are_refused() {
        let mut r = Reassembler::new(false, 100_000, 4);
        assert_eq!(r.push(&[0; 5]), Err(ChunkError::Malformed));
        let mut c = split(0, b"x")[0].clone();
        c[10..12].copy_from_slice(&0u16.to_be_bytes());
        assert_eq!(r.push(&c), Err(ChunkError::Malformed));
        let mut c = split(0, b"x")[0].clone();
        c[8..10].copy_from_slice(&5u16.to_be_bytes());
        assert_eq!(r.push(&c), Err(ChunkError::Malformed));
        let mut c = split(0, b"x")[0].clone();
        c[10..12].copy_from_slice(&1000u16.to_be_bytes());
        assert_eq!(r.push(&c), Err(ChunkError::TooLarge(1000)));
    }

    #[test]
    fn a_huge_id_jump_is_counted_not_enumerated() {
        let mut r = Reassembler::new(false, 50_000, 4);
        let p = r.push(&split(u64::MAX - 1, b"x")[0]).expect("valid");
        assert_eq!(p.lost, u64::MAX - 1);
        assert_eq!(r.push(&split(3, b"old")[0]).expect("valid").messages.len(), 0);
    }

    #[test]
    fn ordered_mode_gives_up_on_a_message_that_never_comes() {
        let mut r = Reassembler::new(true, 1 << 20, 4);
        let mut got = Vec::new();
        let mut lost = 0;
        for id in 1..10u64 {
            // Message 0 never arrives.
            let p = r.push(&split(id, &[id as u8])[0]).expect("valid");
            got.extend(p.messages);
            lost += p.lost;
        }
        assert_eq!(lost, 1);
        assert_eq!(got, (1..10u8).map(|i| vec![i]).collect::<Vec<_>>());
    }

    #[test]
    fn memory_stays_bounded_under_garbage() {
        let mut r = Reassembler::new(false, 50_000, 4);
        for id in 0..10_000u64 {
            let chunks = split(id * 7, &vec![1; 3 * MAX_CHUNK_PAYLOAD]);
            let _ = r.push(&chunks[0]);
            assert!(r.held_bytes() <= 100_000 + MAX_CHUNK, "{}", r.held_bytes());
        }
    }
}
