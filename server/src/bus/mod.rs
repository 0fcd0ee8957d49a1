//! The broker: how nalcast grows past one machine. Ingest nodes publish their streams' access units
//! to NATS; delivery nodes and inference workers subscribe, each feeding a local [`Hub`] as if it
//! were a source, so viewers and models see the same frame ids everywhere. Without `--nats` none of
//! this runs: the hub itself is the in-process bus.
//!
//! Subjects (stream ids escaped by [`nalcast_proto::bus::stream_token`]): `nalcast.<id>.au` access
//! units, `nalcast.<id>.results` model results (wire `Results` messages), `nalcast.<id>.keyframe`
//! keyframe requests back to the origin, `nalcast.streams` periodic announcements. Core NATS (no
//! JetStream): live video wants the newest frames, not a replay of old ones.
//!
//! This module owns the configuration, the roles and the counters; [`origin`] publishes local
//! streams, [`relay`] feeds hubs from the bus, [`link`] holds the NATS connection itself.

pub mod link;
pub mod origin;
pub mod relay;

use crate::hub::Hub;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::task::JoinHandle;

/// What this process does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sources, viewers and inference in one process; with a broker, also publish the streams.
    #[default]
    All,
    /// Run the sources and publish them to the broker.
    Ingest,
    /// No sources: serve viewers from streams relayed from the broker.
    Deliver,
    /// No sources: run inference on streams relayed from the broker, publish results to it.
    Worker,
}

impl Role {
    /// Parses `all`, `ingest`, `deliver` or `worker`.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "all" => Some(Role::All),
            "ingest" => Some(Role::Ingest),
            "deliver" => Some(Role::Deliver),
            "worker" => Some(Role::Worker),
            _ => None,
        }
    }

    /// Whether this role runs the configured sources.
    pub fn runs_sources(self) -> bool {
        matches!(self, Role::All | Role::Ingest)
    }
}

/// `[bus]`: the broker.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusConfig {
    /// NATS server URL (`nats://127.0.0.1:4222`); none keeps everything in-process.
    pub nats: Option<String>,
    /// What this process does.
    pub role: Role,
    /// Streams to relay (deliver/worker); empty means every stream announced during `discover_ms`.
    pub streams: Vec<String>,
    /// How long a relaying node listens for announcements at start, milliseconds.
    pub discover_ms: u64,
    /// How often an origin announces its streams, milliseconds.
    pub announce_ms: u64,
    /// How long publishing one message may wait for room in the client's buffer before the message
    /// is dropped (and the stream restarts at the next keyframe), milliseconds.
    pub publish_timeout_ms: u64,
    /// Messages the client buffers per subscription and for publishing; beyond it messages drop.
    pub capacity: usize,
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            nats: None,
            role: Role::All,
            streams: Vec::new(),
            discover_ms: 2500,
            announce_ms: 1000,
            publish_timeout_ms: 200,
            capacity: 256,
        }
    }
}

impl BusConfig {
    /// Checks the role against the broker setting and the numbers against sane ranges.
    pub fn validate(&self) -> Result<(), String> {
        if self.nats.is_none() && self.role != Role::All {
            return Err(format!("[bus] role {:?} needs a broker (--nats URL)", self.role));
        }
        if self.announce_ms < 50 || self.publish_timeout_ms == 0 || self.capacity < 8 {
            return Err("[bus]: announce_ms ≥ 50, publish_timeout_ms ≥ 1, capacity ≥ 8".into());
        }
        for s in &self.streams {
            nalcast_proto::bus::stream_token(s).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// Why the broker could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// Connecting to the NATS server failed.
    #[error("NATS {url}: {error}")]
    Connect {
        /// The server.
        url: String,
        /// What happened.
        error: async_nats::ConnectError,
    },
    /// Subscribing failed.
    #[error("NATS subscribe {subject}: {error}")]
    Subscribe {
        /// The subject.
        subject: String,
        /// What happened.
        error: async_nats::SubscribeError,
    },
    /// A stream id cannot name a subject.
    #[error(transparent)]
    Subject(#[from] nalcast_proto::bus::BusError),
}

/// What the bus did, for `/metrics`.
#[derive(Debug, Default)]
pub struct BusCounters {
    /// Messages published.
    pub published: AtomicU64,
    /// Payload bytes published.
    pub published_bytes: AtomicU64,
    /// Messages received.
    pub received: AtomicU64,
    /// Payload bytes received.
    pub received_bytes: AtomicU64,
    /// Messages not published: the client's buffer stayed full, the broker refused them, or a tap
    /// lagged (the stream then restarts at its next keyframe).
    pub dropped: AtomicU64,
    /// Messages received that did not decode.
    pub malformed: AtomicU64,
    /// Reconnections to the broker after the first connection.
    pub reconnects: AtomicU64,
    /// Times the broker said a subscription was too slow (and dropped messages for it).
    pub slow_consumer: AtomicU64,
}

impl BusCounters {
    pub(crate) fn sent(&self, bytes: usize) {
        self.published.fetch_add(1, Ordering::Relaxed);
        self.published_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn got(&self, bytes: usize) {
        self.received.fetch_add(1, Ordering::Relaxed);
        self.received_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Appends the counters in Prometheus text format.
    pub fn write_metrics(&self, out: &mut String) {
        for (name, help, v) in [
            ("nalcast_bus_published_total", "Messages published to the broker.", &self.published),
            (
                "nalcast_bus_published_bytes_total",
                "Payload bytes published to the broker.",
                &self.published_bytes,
            ),
            ("nalcast_bus_received_total", "Messages received from the broker.", &self.received),
            (
                "nalcast_bus_received_bytes_total",
                "Payload bytes received from the broker.",
                &self.received_bytes,
            ),
            (
                "nalcast_bus_dropped_total",
                "Messages dropped instead of published (full buffer, refused, lag).",
                &self.dropped,
            ),
            ("nalcast_bus_malformed_total", "Messages from the broker that did not decode.", &self.malformed),
            ("nalcast_bus_reconnects_total", "Reconnections to the broker.", &self.reconnects),
            (
                "nalcast_bus_slow_consumer_total",
                "Times the broker connection fell behind a subscription.",
                &self.slow_consumer,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
    }
}

/// The tasks of a running bus, aborted together; a task started after that is aborted at once.
#[derive(Debug, Clone)]
pub struct Tasks(Arc<Mutex<Option<Vec<JoinHandle<()>>>>>);

impl Default for Tasks {
    fn default() -> Tasks {
        Tasks(Arc::new(Mutex::new(Some(Vec::new()))))
    }
}

impl Tasks {
    /// Adds `started` to the running tasks.
    pub fn extend(&self, started: impl IntoIterator<Item = JoinHandle<()>>) {
        let mut guard = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match guard.as_mut() {
            Some(list) => list.extend(started),
            None => started.into_iter().for_each(|t| t.abort()),
        }
    }

    fn abort_all(&self) {
        let list = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        for t in list.into_iter().flatten() {
            t.abort();
        }
    }
}

/// The running bus: its tasks end when dropped.
#[derive(Debug, Default)]
pub struct Bus {
    /// Counters for `/metrics`.
    pub counters: Arc<BusCounters>,
    tasks: Tasks,
}

impl Drop for Bus {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

/// Hubs for the streams this node relays (deliver and worker roles), fed from the broker.
pub type Relayed = BTreeMap<String, Arc<Hub>>;

/// Connects to the broker (if configured) and starts the role's tasks: `local` are the hubs of the
/// sources in this process; for deliver and worker roles, the returned map holds the hubs (created
/// with per-viewer `limits`) of the streams announced within the discovery window, and each stream
/// announced later is relayed too and handed to `later`. Results published by this process's hubs
/// go to the broker; results from the broker go to the viewers of relaying nodes and origins alike.
pub async fn start(
    config: &BusConfig,
    local: &BTreeMap<String, Arc<Hub>>,
    limits: nalcast_proto::playout::Limits,
    later: impl Fn(&str, Arc<Hub>) + Send + Sync + 'static,
) -> Result<(Bus, Relayed), BusError> {
    let bus = Bus::default();
    let Some(url) = &config.nats else { return Ok((bus, Relayed::new())) };
    let link = link::Link::connect(url, config, bus.counters.clone()).await?;
    let timing = Timing {
        announce: Duration::from_millis(config.announce_ms),
        publish_timeout: Duration::from_millis(config.publish_timeout_ms),
    };
    let mut relayed = Relayed::new();
    if config.role.runs_sources() {
        let origin = origin::Origin::new(link.clone(), timing);
        for (id, hub) in local {
            bus.tasks.extend(origin.publish_stream(id, hub.clone()).await?);
        }
        bus.tasks.extend([origin.announce(local.clone())]);
    } else {
        let (announced, announcements) = relay::discover(&link, config).await?;
        for a in announced {
            let (hub, tasks) = relay::relay_stream(&link, &a, limits, config.role, timing).await?;
            bus.tasks.extend(tasks);
            relayed.insert(a.stream, hub);
        }
        if let Some(sub) = announcements {
            let known = relayed.keys().cloned().collect();
            let watch =
                relay::relay_later(link, sub, known, limits, config.role, timing, bus.tasks.clone(), later);
            bus.tasks.extend([tokio::spawn(watch)]);
        }
    }
    Ok((bus, relayed))
}

/// Timing shared by the tasks.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Announcement period.
    pub announce: Duration,
    /// Longest wait for room to publish one message.
    pub publish_timeout: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_need_a_broker_and_parse() {
        let mut c = BusConfig::default();
        assert!(c.validate().is_ok());
        c.role = Role::Deliver;
        assert!(c.validate().is_err());
        c.nats = Some("nats://127.0.0.1:4222".into());
        assert!(c.validate().is_ok());
        c.streams = vec![String::new()];
        assert!(c.validate().is_err());
        assert_eq!(Role::parse("worker"), Some(Role::Worker));
        assert_eq!(Role::parse("nope"), None);
        assert!(Role::Ingest.runs_sources() && !Role::Deliver.runs_sources());
    }

    #[test]
    fn metrics_name_every_counter() {
        let c = BusCounters::default();
        c.sent(10);
        let mut out = String::new();
        c.write_metrics(&mut out);
        assert!(out.contains("nalcast_bus_published_total 1\n"), "{out}");
        assert!(out.contains("nalcast_bus_published_bytes_total 10\n"), "{out}");
        assert_eq!(out.matches("# TYPE").count(), 8);
    }
}
