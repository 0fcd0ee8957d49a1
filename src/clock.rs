//! Clock-offset estimation from ping/pong (NTP-style): offset = server − (send + receive) / 2, keeping
//! the sample with the smallest round trip among recent ones, since it bounds the error best.
//! Pure: times are arguments in microseconds.

/// Recent samples kept.
const WINDOW: usize = 8;

/// Estimates `server_clock − client_clock`.
#[derive(Debug, Default, Clone)]
pub struct ClockSync {
    samples: Vec<(u64, i64)>, // (round trip, offset)
}

impl ClockSync {
    /// Adds a ping sent at `sent_us` and answered by the server at `server_us`, received at `received_us`.
    pub fn add(&mut self, sent_us: u64, server_us: u64, received_us: u64) {
        if received_us < sent_us {
            return;
        }
        let rtt = received_us - sent_us;
        let midpoint = sent_us + rtt / 2;
        let offset = server_us as i64 - midpoint as i64;
        if self.samples.len() == WINDOW {
            self.samples.remove(0);
        }
        self.samples.push((rtt, offset));
    }

    /// The best current estimate, once a sample exists.
    pub fn offset_us(&self) -> Option<i64> {
        self.samples.iter().min_by_key(|(rtt, _)| *rtt).map(|(_, o)| *o)
    }

    /// Round trip of the best sample.
    pub fn rtt_us(&self) -> Option<u64> {
        self.samples.iter().map(|(rtt, _)| *rtt).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_tightest_round_trip() {
        let mut c = ClockSync::default();
        assert_eq!(c.offset_us(), None);
        // Server is 1000 µs ahead. A symmetric 200 µs round trip, then a lopsided 5 ms one.
        c.add(10_000, 11_100, 10_200);
        c.add(20_000, 25_000, 25_000);
        assert_eq!(c.offset_us(), Some(1000));
        assert_eq!(c.rtt_us(), Some(200));
        c.add(5, 0, 1); // clock went backwards: ignored
        assert_eq!(c.rtt_us(), Some(200));
    }
}
