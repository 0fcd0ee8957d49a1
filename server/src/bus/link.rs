//! The NATS connection: the only file that talks to `async-nats`. Publishing never waits long (a
//! full client buffer drops the message and counts it) and subscriptions have bounded buffers, so a
//! slow broker costs frames, never memory or a stuck hub.

use super::{BusConfig, BusCounters, BusError};
use bytes::Bytes;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A shared connection to the broker.
#[derive(Debug, Clone)]
pub struct Link {
    client: async_nats::Client,
    /// The counters every task updates.
    pub counters: Arc<BusCounters>,
}

/// A subscription: messages' payloads as they arrive.
pub type Subscription = async_nats::Subscriber;

impl Link {
    /// Connects to `url`. Messages this connection publishes are not echoed back to it (an origin
    /// must not receive its own results as if a worker had sent them).
    pub async fn connect(
        url: &str,
        config: &BusConfig,
        counters: Arc<BusCounters>,
    ) -> Result<Link, BusError> {
        let events = counters.clone();
        let client = async_nats::ConnectOptions::new()
            .name(format!("nalcast-{:?}", config.role).to_lowercase())
            .no_echo()
            .client_capacity(config.capacity)
            .subscription_capacity(config.capacity)
            .connection_timeout(Duration::from_secs(5))
            .event_callback(move |event| {
                let events = events.clone();
                async move {
                    match event {
                        async_nats::Event::Connected => {
                            events.reconnects.fetch_add(1, Ordering::Relaxed);
                            tracing::info!("NATS connected");
                        }
                        async_nats::Event::SlowConsumer(_) => {
                            events.slow_consumer.fetch_add(1, Ordering::Relaxed);
                        }
                        other => tracing::warn!(event = %other, "NATS"),
                    }
                }
            })
            .connect(url)
            .await
            .map_err(|error| BusError::Connect { url: url.into(), error })?;
        // The callback counts every connection; the first one is not a reconnection.
        let _ = counters.reconnects.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        tracing::info!(%url, role = ?config.role, "broker");
        Ok(Link { client, counters })
    }

    /// Publishes `payload` on `subject`, waiting at most `timeout` for room; a message that cannot
    /// go is dropped and counted. Returns whether it went.
    pub async fn publish(&self, subject: &async_nats::Subject, payload: Bytes, timeout: Duration) -> bool {
        let len = payload.len();
        match tokio::time::timeout(timeout, self.client.publish(subject.clone(), payload)).await {
            Ok(Ok(())) => {
                self.counters.sent(len);
                true
            }
            Ok(Err(e)) => {
                tracing::debug!(%subject, error = %e, "NATS publish refused");
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
            Err(_) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Subscribes to `subject`.
    pub async fn subscribe(&self, subject: &str) -> Result<Subscription, BusError> {
        self.client
            .subscribe(subject.to_string())
            .await
            .map_err(|error| BusError::Subscribe { subject: subject.into(), error })
    }
}
