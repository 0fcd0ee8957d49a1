//! When the player reconnects, and when a silent connection counts as dead. Pure policy: times are
//! arguments in milliseconds and randomness is an argument, so both are tested natively below; the
//! timers and sockets are the player's.
//!
//! **Backoff.** After a connection fails, the next attempt waits `base × (0.5 + 0.5 × r)` with `r`
//! uniform in `[0, 1)` ("equal jitter"): `base` starts at 250 ms and doubles per failed attempt, up to
//! 1 s while the outage is younger than 20 s — a restarting server is back within that, and then every
//! viewer resumes within about a second of it listening — and up to 5 s after that, for servers that
//! are really gone. The jitter matters for the crowd, not for one viewer: a crash drops every viewer
//! at the same instant, and without it a thousand players would retry in lock-step and hit the
//! restarted server as one burst. With it their attempts spread evenly over one `base` interval
//! (≈ 1000 connections/s for a thousand viewers at the 1 s cap, ≈ 270/s at the 5 s cap, each a refused
//! TCP connect or a small HTTP request while the server is down). A picture painted ends the outage.
//!
//! **Liveness.** TCP transports learn of a crashed server from the kernel (reset or FIN), but a
//! WebRTC data channel hears nothing when the peer's process dies: UDP has no connection to tear
//! down, and ICE takes many seconds to give up. So when nothing at all has arrived for
//! [`Liveness::PROBE_EVERY_MS`], the player sends a Ping every that often; the server answers every
//! Ping with a Pong on the same connection, so a link that stays silent for `dead_ms` after the first
//! unanswered probe, with at least [`Liveness::MIN_PROBES`] probes sent, is dead. A live stream
//! sends 30 frames a second, so probes only go out while a source is stalled — and then a stalled
//! source is not mistaken for a dead server. Requiring several probes also keeps a lossy realtime
//! channel (which may drop a Ping or a Pong) and a throttled background tab (whose timers run late)
//! from declaring a live link dead.

/// First delay base, doubled per failed attempt.
pub const MIN_BACKOFF_MS: f64 = 250.0;
/// Largest base while the outage is short.
pub const SHORT_OUTAGE_CAP_MS: f64 = 1000.0;
/// Largest base once the outage has lasted [`LONG_OUTAGE_MS`].
pub const LONG_OUTAGE_CAP_MS: f64 = 5000.0;
/// When an outage counts as long.
pub const LONG_OUTAGE_MS: f64 = 20_000.0;

/// Reconnect delays for one player.
#[derive(Debug, Default, Clone)]
pub struct Backoff {
    /// When the current outage began (the first failure since the last painted picture).
    outage_since: Option<f64>,
    /// Failed attempts in this outage.
    attempts: u32,
}

impl Backoff {
    /// A connection failed at `now`; returns how long to wait before the next attempt. `random` is
    /// uniform in `[0, 1)` (values outside are clamped).
    pub fn next_delay(&mut self, now: f64, random: f64) -> f64 {
        let since = *self.outage_since.get_or_insert(now);
        let cap = if now - since >= LONG_OUTAGE_MS { LONG_OUTAGE_CAP_MS } else { SHORT_OUTAGE_CAP_MS };
        let base = (MIN_BACKOFF_MS * 2f64.powi(self.attempts.min(16) as i32)).min(cap);
        self.attempts = self.attempts.saturating_add(1);
        base * (0.5 + 0.5 * random.clamp(0.0, 1.0))
    }

    /// Marks the start of an outage without a delay (in `auto` mode the next transport is tried at
    /// once); later delays still grow from the outage's start.
    pub fn note_failure(&mut self, now: f64) {
        self.outage_since.get_or_insert(now);
    }

    /// A picture was painted: the outage, if any, is over.
    pub fn reset(&mut self) {
        *self = Backoff::default();
    }

    /// How long the current outage has lasted at `now` (0 when there is none).
    pub fn outage_ms(&self, now: f64) -> f64 {
        self.outage_since.map(|s| now - s).unwrap_or(0.0)
    }
}

/// How long a live link may carry no frame before the player shows its stream as `stalled`: three
/// frame intervals of the stream's nominal rate (`fps` 0: unknown, taken as 1), at least a second —
/// the same rule as the server's `hub::stall_after`, which `/api/streams` reports.
pub fn stall_after_ms(fps: f64) -> f64 {
    let interval = if fps > 0.0 { 1000.0 / fps } else { 1000.0 };
    (3.0 * interval).max(1000.0)
}

/// What the player should do with its connection now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to do.
    Alive,
    /// Send a Ping: the link has been silent.
    Probe,
    /// The link is dead: reconnect.
    Dead,
}

/// Silence detection for one open connection.
#[derive(Debug, Clone)]
pub struct Liveness {
    last_rx: f64,
    /// The first probe not answered yet, and probes sent since it.
    unanswered: Option<(f64, u32)>,
    last_probe: f64,
    dead_ms: f64,
}

impl Liveness {
    /// Silence before the first probe, and the interval between probes.
    pub const PROBE_EVERY_MS: f64 = 200.0;
    /// Probes that must go unanswered before a link is dead.
    pub const MIN_PROBES: u32 = 3;
    /// `dead_ms` for a WebRTC data channel, which learns nothing from the network when the server dies.
    pub const DATAGRAM_DEAD_MS: f64 = 800.0;
    /// `dead_ms` for WebSocket and HTTP: the kernel reports a crashed server at once; this only
    /// catches connections that hang (a vanished host, a stateful middlebox that forgot them).
    pub const STREAM_DEAD_MS: f64 = 6000.0;

    /// A connection opened at `now`, dead after `dead_ms` of unanswered probing.
    pub fn new(now: f64, dead_ms: f64) -> Liveness {
        Liveness { last_rx: now, unanswered: None, last_probe: f64::NEG_INFINITY, dead_ms }
    }

    /// Something arrived at `now`.
    pub fn received(&mut self, now: f64) {
        self.last_rx = now;
        self.unanswered = None;
    }

    /// Called periodically.
    pub fn poll(&mut self, now: f64) -> Verdict {
        if now - self.last_rx < Self::PROBE_EVERY_MS {
            return Verdict::Alive;
        }
        if let Some((first, sent)) = self.unanswered
            && sent >= Self::MIN_PROBES
            && now - first >= self.dead_ms
        {
            return Verdict::Dead;
        }
        if now - self.last_probe < Self::PROBE_EVERY_MS {
            return Verdict::Alive;
        }
        self.last_probe = now;
        let (first, sent) = self.unanswered.unwrap_or((now, 0));
        self.unanswered = Some((first, sent + 1));
        Verdict::Probe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_jitter_and_are_capped_by_outage_age() {
        let mut b = Backoff::default();
        let lo: Vec<f64> = (0..6).map(|_| b.next_delay(0.0, 0.0)).collect();
        assert_eq!(lo, [125.0, 250.0, 500.0, 500.0, 500.0, 500.0]);
        let mut b = Backoff::default();
        let hi: Vec<f64> = (0..6).map(|_| b.next_delay(0.0, 0.999_999)).collect();
        assert!(
            hi.iter().zip([250.0, 500.0, 1000.0, 1000.0, 1000.0, 1000.0]).all(|(d, e)| (d - e).abs() < 0.01)
        );
        // Twenty seconds into the outage the cap rises to 5 s.
        assert!((b.next_delay(LONG_OUTAGE_MS, 0.999_999) - LONG_OUTAGE_CAP_MS).abs() < 0.01);
        assert_eq!(b.outage_ms(LONG_OUTAGE_MS), LONG_OUTAGE_MS);
        b.reset();
        assert_eq!(b.next_delay(99_000.0, 0.0), MIN_BACKOFF_MS / 2.0);
        assert_eq!(b.outage_ms(99_500.0), 500.0);
    }

    #[test]
    fn a_short_outage_is_retried_at_least_once_a_second() {
        // Whatever the random draws, consecutive attempts during the first 20 s are ≤ 1 s apart,
        // so a server back after t is reached by t + 1 s.
        let mut b = Backoff::default();
        let mut now = 0.0;
        let mut seed = 12345u64;
        while now < LONG_OUTAGE_MS {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let d = b.next_delay(now, (seed >> 11) as f64 / (1u64 << 53) as f64);
            assert!((MIN_BACKOFF_MS / 2.0..=SHORT_OUTAGE_CAP_MS).contains(&d), "{d} at {now}");
            now += d;
        }
    }

    #[test]
    fn jitter_spreads_a_crowd_over_the_interval() {
        // 1000 viewers dropped at once, retrying at their 4th attempt: their delays fill [500, 1000).
        let mut buckets = [0u32; 5];
        for i in 0..1000 {
            let mut b = Backoff::default();
            for _ in 0..3 {
                b.next_delay(0.0, 0.5);
            }
            let d = b.next_delay(0.0, i as f64 / 1000.0);
            buckets[((d - 500.0) / 100.0) as usize] += 1;
        }
        assert!(buckets.iter().all(|n| *n == 200), "{buckets:?}");
    }

    #[test]
    fn stall_threshold() {
        assert_eq!(stall_after_ms(30.0), 1000.0);
        assert_eq!(stall_after_ms(0.0), 3000.0);
        assert_eq!(stall_after_ms(0.5), 6000.0);
    }

    #[test]
    fn a_busy_link_is_never_probed() {
        let mut l = Liveness::new(0.0, Liveness::DATAGRAM_DEAD_MS);
        for t in (0..100_000).step_by(33) {
            l.received(t as f64);
            assert_eq!(l.poll(t as f64 + 10.0), Verdict::Alive);
        }
    }

    #[test]
    fn a_silent_link_is_probed_then_declared_dead() {
        let mut l = Liveness::new(0.0, Liveness::DATAGRAM_DEAD_MS);
        let verdicts: Vec<(u32, Verdict)> = (0..=10)
            .map(|i| i * 100)
            .map(|t| (t, l.poll(t as f64)))
            .filter(|(_, v)| *v != Verdict::Alive)
            .collect();
        assert_eq!(
            verdicts,
            [
                (200, Verdict::Probe),
                (400, Verdict::Probe),
                (600, Verdict::Probe),
                (800, Verdict::Probe),
                (1000, Verdict::Dead)
            ]
        );
    }

    #[test]
    fn an_answered_probe_keeps_a_stalled_source_alive() {
        // The source sends nothing, but every probe is answered 50 ms later: never dead.
        let mut l = Liveness::new(0.0, Liveness::DATAGRAM_DEAD_MS);
        let mut answer_at = None;
        for t in (0..60_000).step_by(10) {
            let t = t as f64;
            if answer_at.is_some_and(|a| t >= a) {
                l.received(t);
                answer_at = None;
            }
            match l.poll(t) {
                Verdict::Probe => answer_at = answer_at.or(Some(t + 50.0)),
                Verdict::Dead => panic!("dead at {t}"),
                Verdict::Alive => {}
            }
        }
    }

    #[test]
    fn late_timers_do_not_kill_a_live_link() {
        // A throttled tab polls once a minute; the pong of each probe arrives in between.
        let mut l = Liveness::new(0.0, Liveness::DATAGRAM_DEAD_MS);
        for minute in 1..10 {
            let t = minute as f64 * 60_000.0;
            assert_eq!(l.poll(t), Verdict::Probe);
            l.received(t + 40.0);
        }
        // Without answers, one late poll is not enough either: it takes three probes.
        let t = 700_000.0;
        assert_eq!(l.poll(t), Verdict::Probe);
        assert_eq!(l.poll(t + 60_000.0), Verdict::Probe);
        assert_eq!(l.poll(t + 120_000.0), Verdict::Probe);
        assert_eq!(l.poll(t + 180_000.0), Verdict::Dead);
    }
}
