//! Length-prefixed records: how wire messages travel over a byte stream (HTTP streaming delivery).
//! Each record is a big-endian `u32` length followed by that many bytes (one wire message).
//!
//! [`RecordReader`] is incremental: push whatever the network delivered, pull complete records.
//! Chunk boundaries never change the result, and a declared length over the limit is an error (the
//! stream is then unusable) rather than an allocation.

use std::collections::VecDeque;

/// Appends one record holding `message` to `out`.
pub fn write_record(message: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
}

/// A record declared longer than the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record of {len} bytes exceeds the limit of {max}")]
pub struct RecordTooLong {
    /// Declared length.
    pub len: usize,
    /// The limit.
    pub max: usize,
}

/// Incremental record reader.
#[derive(Debug)]
pub struct RecordReader {
    buf: Vec<u8>,
    max: usize,
    ready: VecDeque<Vec<u8>>,
    failed: Option<RecordTooLong>,
}

impl RecordReader {
    /// A reader accepting records of up to `max` bytes.
    pub fn new(max: usize) -> RecordReader {
        RecordReader { buf: Vec::new(), max, ready: VecDeque::new(), failed: None }
    }

    /// Adds bytes. After an error, further input is ignored.
    pub fn push(&mut self, data: &[u8]) -> Result<(), RecordTooLong> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.buf.extend_from_slice(data);
        let mut at = 0;
        while self.buf.len() - at >= 4 {
            let len = u32::from_be_bytes([self.buf[at], self.buf[at + 1], self.buf[at + 2], self.buf[at + 3]])
                as usize;
            if len > self.max {
                let e = RecordTooLong { len, max: self.max };
                self.failed = Some(e.clone());
                self.buf.clear();
                return Err(e);
            }
            if self.buf.len() - at - 4 < len {
                break;
            }
            self.ready.push_back(self.buf[at + 4..at + 4 + len].to_vec());
            at += 4 + len;
        }
        self.buf.drain(..at);
        Ok(())
    }

    /// The next complete record.
    pub fn pull(&mut self) -> Option<Vec<u8>> {
        self.ready.pop_front()
    }

    /// Bytes held for an incomplete record.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream() -> (Vec<u8>, Vec<Vec<u8>>) {
        let messages: Vec<Vec<u8>> = vec![vec![], vec![1], vec![2; 300], vec![3, 4, 5], vec![0; 4]];
        let mut out = Vec::new();
        for m in &messages {
            write_record(m, &mut out);
        }
        (out, messages)
    }

    fn read(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut r = RecordReader::new(1000);
        let mut got = Vec::new();
        for c in chunks {
            r.push(c).expect("within limits");
            while let Some(m) = r.pull() {
                got.push(m);
            }
        }
        assert_eq!(r.pending(), 0);
        got
    }

    #[test]
    fn round_trip_at_every_split() {
        let (bytes, messages) = stream();
        assert_eq!(read(&[&bytes]), messages);
        for i in 0..=bytes.len() {
            assert_eq!(read(&[&bytes[..i], &bytes[i..]]), messages, "split at {i}");
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(read(&singles), messages);
    }

    #[test]
    fn over_long_record_is_an_error_without_allocation() {
        let mut r = RecordReader::new(10);
        assert_eq!(r.push(&[0, 0, 0, 11]), Err(RecordTooLong { len: 11, max: 10 }));
        assert!(r.push(&[0, 0, 0, 1, 9]).is_err(), "the stream stays failed");
        assert_eq!(r.pull(), None);
    }
}
