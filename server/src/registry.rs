//! What this process serves: its streams by id, and the models running on them. Local sources are
//! added at start; a relaying node (deliver, worker) also adds streams while it runs, as the broker
//! announces them, so the order in which nodes start does not matter. A stream, once added, stays
//! for the life of the process (its hub reports the source down when the frames stop).

use crate::hub::Hub;
use crate::infer::InferenceConfig;
use crate::infer::worker::{self, WorkerHandle, WorkerOptions};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

/// Why a configured model could not start on a stream.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The model's configuration does not build (unreadable file, bad address…).
    #[error("inference on stream {stream}: {error}")]
    Build {
        /// The stream.
        stream: String,
        /// What happened.
        error: crate::infer::InferError,
    },
    /// Its thread could not start.
    #[error("inference thread for stream {stream}: {error}")]
    Spawn {
        /// The stream.
        stream: String,
        /// What happened.
        error: std::io::Error,
    },
}

/// The streams and the models on them; shared by the request handlers and the broker's tasks.
#[derive(Debug, Default)]
pub struct Registry {
    streams: RwLock<BTreeMap<String, Arc<Hub>>>,
    workers: Mutex<Vec<WorkerHandle>>,
    /// Models to run, each on the stream it names, whenever that stream is added.
    inference: Vec<InferenceConfig>,
}

impl Registry {
    /// An empty registry that starts `inference` on the streams they name as those are added.
    pub fn new(inference: Vec<InferenceConfig>) -> Registry {
        Registry { inference, ..Registry::default() }
    }

    /// The hub of stream `id`.
    pub fn get(&self, id: &str) -> Option<Arc<Hub>> {
        self.read().get(id).cloned()
    }

    /// Whether stream `id` is served.
    pub fn contains(&self, id: &str) -> bool {
        self.read().contains_key(id)
    }

    /// Every stream, by id.
    pub fn list(&self) -> Vec<(String, Arc<Hub>)> {
        self.read().iter().map(|(id, hub)| (id.clone(), hub.clone())).collect()
    }

    /// How many streams are served.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether no stream is served.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Serves `hub` as stream `id` and starts the models configured for it. Returns `Ok(false)`,
    /// changing nothing, when `id` is already served. The stream stays served even if a model
    /// fails to start.
    pub fn add(&self, id: &str, hub: Arc<Hub>) -> Result<bool, ModelError> {
        {
            let mut streams = self.streams.write().unwrap_or_else(PoisonError::into_inner);
            if streams.contains_key(id) {
                return Ok(false);
            }
            streams.insert(id.to_string(), hub.clone());
        }
        for i in self.inference.iter().filter(|i| i.stream == id) {
            let analyzer = i.build().map_err(|error| ModelError::Build { stream: id.into(), error })?;
            let handle = worker::spawn(hub.clone(), analyzer, WorkerOptions { max_rate: i.rate })
                .map_err(|error| ModelError::Spawn { stream: id.into(), error })?;
            self.workers().push(handle);
        }
        Ok(true)
    }

    /// The models running, for metrics and shutdown.
    pub fn workers(&self) -> MutexGuard<'_, Vec<WorkerHandle>> {
        self.workers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Hub>>> {
        self.streams.read().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::StreamInfo;
    use nalcast_proto::playout::Limits;

    fn hub(id: &str) -> Arc<Hub> {
        let info = StreamInfo { id: id.into(), ..StreamInfo::default() };
        Arc::new(Hub::new(info, Limits { max_frames: 8, max_bytes: 1 << 20 }))
    }

    #[test]
    fn adds_each_id_once_and_lists_in_order() {
        let r = Registry::new(Vec::new());
        assert!(r.is_empty());
        let first = hub("b");
        assert!(r.add("b", first.clone()).expect("no models"));
        assert!(!r.add("b", hub("b")).expect("no models"), "a second hub for b is refused");
        assert!(Arc::ptr_eq(&r.get("b").expect("b"), &first));
        assert!(r.add("a", hub("a")).expect("no models"));
        let ids: Vec<String> = r.list().into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(r.contains("a") && !r.contains("c") && r.get("c").is_none());
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn starts_the_models_named_for_a_stream_when_it_is_added() {
        let r = Registry::new(vec![InferenceConfig::motion("cam")]);
        r.add("other", hub("other")).expect("no models for it");
        assert!(r.workers().is_empty());
        r.add("cam", hub("cam")).expect("motion builds");
        assert_eq!(r.workers().len(), 1);
        assert_eq!(r.workers()[0].stream, "cam");
        for w in r.workers().iter() {
            w.stop();
        }
    }
}
