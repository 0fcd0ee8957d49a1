//! The relaying side (delivery and worker nodes): learns the streams from announcements, and for
//! each one feeds a local [`Hub`] from the bus with the origin's frame ids
//! ([`Hub::publish_at`]), forwards its viewers' keyframe requests to the origin, and marks the
//! stream stalled when the bus falls silent. A delivery node hands results from the bus to its
//! viewers ([`Hub::deliver_results`], never back to the bus); a worker node publishes the results
//! its models produce.

use super::link::{Link, Subscription};
use super::{BusConfig, BusError, Role, Timing};
use crate::frame::SourceFrame;
use crate::hub::{Hub, StreamInfo, stall_after};
use futures_util::StreamExt;
use nalcast_proto::bus::{ANNOUNCE_SUBJECT, AccessUnit, Announce, Topic, subject};
use nalcast_proto::playout::Limits;
use nalcast_proto::wire::ServerMessage;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

/// Shortest interval between two keyframe requests sent to the origin for one stream.
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(250);

/// Most streams one relaying node takes from announcements: a broker announcing more (by mistake or
/// malice) costs a warning, not unbounded hubs.
pub const MAX_RELAYED_STREAMS: usize = 256;

/// Announcements still to come: the subscription, kept after discovery when the node relays every
/// announced stream (none when the streams are configured).
pub type Announcements = Option<Subscription>;

/// The streams to relay: the configured ones at once, or else every stream announced within the
/// discovery window, with the subscription that goes on hearing announcements.
pub async fn discover(link: &Link, config: &BusConfig) -> Result<(Vec<Announce>, Announcements), BusError> {
    if !config.streams.is_empty() {
        let found = config
            .streams
            .iter()
            .map(|s| Announce { stream: s.clone(), kind: "relay".into(), ..Announce::default() })
            .collect();
        return Ok((found, None));
    }
    let mut sub = link.subscribe(ANNOUNCE_SUBJECT).await?;
    let mut found: Vec<Announce> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(config.discover_ms);
    while let Ok(Some(m)) = tokio::time::timeout_at(deadline, sub.next()).await {
        if let Some(a) = new_stream(link, &m.payload, found.iter().map(|f| f.stream.as_str())) {
            found.push(a);
        }
    }
    if found.is_empty() {
        tracing::warn!(
            "no stream announced on the broker within {} ms; relaying streams as they are announced",
            config.discover_ms
        );
    }
    Ok((found, Some(sub)))
}

/// The announcement in `payload` if it names a stream not among `known`; malformed ones are counted.
fn new_stream<'a>(link: &Link, payload: &[u8], mut known: impl Iterator<Item = &'a str>) -> Option<Announce> {
    link.counters.got(payload.len());
    match Announce::decode(payload) {
        Ok(a) if nalcast_proto::bus::stream_token(&a.stream).is_ok() => {
            if known.any(|k| k == a.stream) {
                return None;
            }
            tracing::info!(stream = %a.stream, kind = %a.kind, "announced on the broker");
            Some(a)
        }
        _ => {
            link.counters.malformed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// Relays every stream announced after discovery: a hub for each new one, handed to `added`, its
/// tasks to `tasks`. Runs until the subscription ends.
#[allow(clippy::too_many_arguments)]
pub async fn relay_later(
    link: Link,
    mut announcements: Subscription,
    mut known: Vec<String>,
    limits: Limits,
    role: Role,
    timing: Timing,
    tasks: super::Tasks,
    added: impl Fn(&str, Arc<Hub>) + Send + Sync + 'static,
) {
    let mut warned = false;
    while let Some(m) = announcements.next().await {
        let Some(a) = new_stream(&link, &m.payload, known.iter().map(String::as_str)) else { continue };
        if known.len() >= MAX_RELAYED_STREAMS {
            if !warned {
                tracing::warn!(stream = %a.stream, "already relaying {MAX_RELAYED_STREAMS} streams: ignoring more");
                warned = true;
            }
            continue;
        }
        match relay_stream(&link, &a, limits, role, timing).await {
            Ok((hub, started)) => {
                tasks.extend(started);
                added(&a.stream, hub);
                known.push(a.stream);
            }
            Err(e) => tracing::warn!(stream = %a.stream, error = %e, "cannot relay an announced stream"),
        }
    }
}

/// A hub for announced stream `a`, fed from the bus, and the tasks that feed it.
pub async fn relay_stream(
    link: &Link,
    a: &Announce,
    limits: Limits,
    role: Role,
    timing: Timing,
) -> Result<(Arc<Hub>, Vec<JoinHandle<()>>), BusError> {
    let info = StreamInfo {
        id: a.stream.clone(),
        kind: a.kind.clone(),
        fps: f64::from(a.fps_milli) / 1000.0,
        ..StreamInfo::default()
    };
    let hub = Arc::new(Hub::new(info, limits));
    // Start from a fresh keyframe rather than the origin's next scheduled one: it fills the GOP
    // cache for joining viewers, and a worker's decoder has no viewer that would ask for it.
    hub.request_keyframe();
    let units = link.subscribe(&subject(&a.stream, Topic::AccessUnits)?).await?;
    let results = subject(&a.stream, Topic::Results)?;
    let keyframe = subject(&a.stream, Topic::Keyframe)?.into();
    let mut tasks = vec![
        tokio::spawn(frames_in(link.clone(), hub.clone(), units)),
        tokio::spawn(keyframes_out(link.clone(), hub.clone(), keyframe, timing)),
    ];
    if role == Role::Worker {
        tasks.push(tokio::spawn(results_out(link.clone(), hub.clone(), results.into(), 0, timing)));
    } else {
        let sub = link.subscribe(&results).await?;
        tasks.push(tokio::spawn(results_in(link.clone(), hub.clone(), sub, 0)));
    }
    Ok((hub, tasks))
}

/// Publishes access units from the bus into `hub` with their own ids; when nothing arrives for the
/// stream's stall time, says the source is down (the next frame clears it).
async fn frames_in(link: Link, hub: Arc<Hub>, mut units: Subscription) {
    let mut silent = false;
    loop {
        let wait = stall_after(hub.info().fps);
        let m = match tokio::time::timeout(wait, units.next()).await {
            Ok(Some(m)) => m,
            Ok(None) => {
                hub.source_down("the broker subscription ended");
                return;
            }
            Err(_) => {
                if !silent {
                    tracing::warn!(stream = %hub.info().id, "no frames from the broker");
                    hub.source_down("no frames from the broker");
                    silent = true;
                }
                continue;
            }
        };
        silent = false;
        link.counters.got(m.payload.len());
        let au = match AccessUnit::decode(&m.payload) {
            Ok(au) => au,
            Err(e) => {
                tracing::debug!(error = %e, "bad access unit from the broker");
                link.counters.malformed.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        let frame = SourceFrame {
            pts_us: au.pts_us,
            capture_us: au.capture_us,
            key: au.key,
            data: m.payload.slice_ref(au.data),
        };
        hub.publish_at(au.seq, &frame);
    }
}

/// Forwards the hub's keyframe requests (viewers joining, decoders failing) to the origin, at most
/// one per [`KEYFRAME_REQUEST_INTERVAL`].
async fn keyframes_out(link: Link, hub: Arc<Hub>, subject: async_nats::Subject, timing: Timing) {
    let mut every = tokio::time::interval(Duration::from_millis(50));
    let mut last: Option<Instant> = None;
    loop {
        every.tick().await;
        if last.is_some_and(|t| t.elapsed() < KEYFRAME_REQUEST_INTERVAL) || !hub.take_keyframe_request() {
            continue;
        }
        link.publish(&subject, bytes::Bytes::new(), timing.publish_timeout).await;
        last = Some(Instant::now());
    }
}

/// Publishes the results produced in this process for `hub`'s frames (ids plus `base`).
pub(crate) async fn results_out(
    link: Link,
    hub: Arc<Hub>,
    subject: async_nats::Subject,
    base: u64,
    timing: Timing,
) {
    let mut tap = hub.tap_results();
    loop {
        match tap.recv().await {
            Ok(r) => {
                let mut r = (*r).clone();
                r.seq += base;
                link.publish(&subject, super::origin::results_bytes(&r), timing.publish_timeout).await;
            }
            Err(RecvError::Lagged(n)) => {
                link.counters.dropped.fetch_add(n, Ordering::Relaxed);
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// Hands results from the bus (ids minus `base`) to `hub`'s viewers only.
pub(crate) async fn results_in(link: Link, hub: Arc<Hub>, mut results: Subscription, base: u64) {
    while let Some(m) = results.next().await {
        link.counters.got(m.payload.len());
        match ServerMessage::decode(&m.payload) {
            Ok(ServerMessage::Results(mut r)) if r.seq >= base => {
                r.seq -= base;
                hub.deliver_results(r);
            }
            _ => {
                link.counters.malformed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
