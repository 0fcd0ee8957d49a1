//! The origin side: publishes the access units and results of the streams whose sources run in this
//! process, answers keyframe requests from relaying nodes, delivers results from remote workers to
//! local viewers, and announces the streams periodically.
//!
//! Frame ids on the bus are the local ids plus the origin's session base (Unix milliseconds when
//! the bus started), so that they keep rising when an ingest node restarts and relaying hubs — whose
//! ids only move forward — resume instead of ignoring the new session. This holds for sources below
//! 1000 fps. Results crossing the bus are translated the same way.

use super::Timing;
use super::link::Link;
use crate::hub::Hub;
use bytes::Bytes;
use futures_util::StreamExt;
use nalcast_proto::bus::{ANNOUNCE_SUBJECT, AccessUnit, Announce, Topic, subject};
use nalcast_proto::wire::ServerMessage;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

/// Publishes local streams.
#[derive(Debug, Clone)]
pub struct Origin {
    link: Link,
    timing: Timing,
    /// Added to local frame ids on the bus.
    base: u64,
}

impl Origin {
    /// An origin whose session starts now.
    pub fn new(link: Link, timing: Timing) -> Origin {
        Origin { link, timing, base: crate::sources::now_us() / 1000 }
    }

    /// Starts the tasks that carry stream `id` (served by `hub`) to and from the bus.
    pub async fn publish_stream(
        &self,
        id: &str,
        hub: Arc<Hub>,
    ) -> Result<Vec<JoinHandle<()>>, super::BusError> {
        let au = subject(id, Topic::AccessUnits)?.into();
        let results = subject(id, Topic::Results)?;
        let keyframes = self.link.subscribe(&subject(id, Topic::Keyframe)?).await?;
        let remote_results = self.link.subscribe(&results).await?;
        Ok(vec![
            tokio::spawn(self.clone().frames(hub.clone(), au)),
            tokio::spawn(super::relay::results_out(
                self.link.clone(),
                hub.clone(),
                results.into(),
                self.base,
                self.timing,
            )),
            tokio::spawn(super::relay::results_in(self.link.clone(), hub.clone(), remote_results, self.base)),
            tokio::spawn(keyframe_requests(self.link.clone(), hub, keyframes)),
        ])
    }

    /// Taps `hub` and publishes every frame. After a loss (the tap lagged, the client buffer stayed
    /// full) it asks the source for a keyframe and publishes nothing until one comes, so relaying
    /// viewers never get a picture whose references are missing.
    async fn frames(self, hub: Arc<Hub>, au: async_nats::Subject) {
        let mut tap = hub.tap();
        let mut resync = false;
        let mut buf = Vec::new();
        loop {
            let t = match tap.recv().await {
                Ok(t) => t,
                Err(RecvError::Lagged(n)) => {
                    self.link.counters.dropped.fetch_add(n, Ordering::Relaxed);
                    resync = true;
                    hub.request_keyframe();
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            if resync && !t.frame.key {
                continue;
            }
            let unit = AccessUnit {
                seq: t.seq + self.base,
                pts_us: t.frame.pts_us,
                capture_us: t.frame.capture_us,
                key: t.frame.key,
                data: &t.frame.data,
            };
            if !unit.fits() {
                self.link.counters.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            buf.clear();
            unit.encode(&mut buf);
            resync = !self.link.publish(&au, Bytes::copy_from_slice(&buf), self.timing.publish_timeout).await;
            if resync {
                hub.request_keyframe();
            }
        }
    }

    /// Announces `streams` every announcement period, for as long as the task runs.
    pub fn announce(&self, streams: BTreeMap<String, Arc<Hub>>) -> JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let subject: async_nats::Subject = ANNOUNCE_SUBJECT.into();
            let mut every = tokio::time::interval(this.timing.announce);
            loop {
                every.tick().await;
                for (id, hub) in &streams {
                    let info = hub.info();
                    let a = Announce {
                        stream: id.clone(),
                        kind: info.kind,
                        fps_milli: (info.fps * 1000.0) as u32,
                        origin: this.base,
                    };
                    this.link.publish(&subject, a.to_bytes().into(), this.timing.publish_timeout).await;
                }
            }
        })
    }
}

/// Answers keyframe requests from relaying nodes.
async fn keyframe_requests(link: Link, hub: Arc<Hub>, mut requests: super::link::Subscription) {
    while let Some(m) = requests.next().await {
        link.counters.got(m.payload.len());
        hub.request_keyframe();
    }
}

/// Encodes results for the bus (the wire's own `Results` message).
pub(crate) fn results_bytes(results: &nalcast_proto::wire::Results) -> Bytes {
    ServerMessage::Results(results.clone()).to_bytes().into()
}
