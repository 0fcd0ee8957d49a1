//! Plain JS values for page code: the `onframe`/`onresults` events and `Player.stats()` are built
//! field by field with `Reflect.set`, and the player's options object is read the same way. (serde
//! with serde-wasm-bindgen did this before, and brought Rust's float printer along for its error
//! messages: 35 KB of the module for a few dozen fields.) Keys are camelCase; a missing optional
//! number is `undefined`.

use crate::overlay::{Drawn, OverlayStats};
use crate::stats::StatsSnapshot;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsError, JsValue};

/// A plain object under construction.
pub(crate) struct Obj(Object);

impl Obj {
    pub(crate) fn new() -> Obj {
        Obj(Object::new())
    }

    /// Sets `key` (setting a property on a fresh plain object cannot fail).
    pub(crate) fn set(self, key: &str, value: impl Into<JsValue>) -> Obj {
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), &value.into());
        self
    }

    /// Sets `key` to `value`, or to `undefined` when there is none.
    pub(crate) fn opt(self, key: &str, value: Option<f64>) -> Obj {
        self.set(key, value.map_or(JsValue::UNDEFINED, JsValue::from))
    }

    pub(crate) fn done(self) -> JsValue {
        self.0.into()
    }
}

/// An array of number arrays (`[[x, y, w, h], …]`).
pub(crate) fn rows<const N: usize>(rows: &[[f64; N]]) -> Array {
    rows.iter().map(|r| r.iter().copied().map(JsValue::from).collect::<Array>()).collect()
}

/// An array of strings.
pub(crate) fn strings(items: &[String]) -> Array {
    items.iter().map(|s| JsValue::from_str(s)).collect()
}

/// What was drawn on a painted frame.
pub(crate) fn drawn(d: &Drawn) -> JsValue {
    Obj::new()
        .set("seq", d.seq)
        .set("model", d.model.as_str())
        .set("boxes", rows(&d.boxes))
        .set("labels", strings(&d.labels))
        .opt("ageMs", d.age_ms)
        .set("inferenceMs", d.inference_ms)
        .done()
}

/// `Player.stats()`: the player's numbers and the overlay's in one object.
pub(crate) fn stats(s: &StatsSnapshot, o: &OverlayStats) -> JsValue {
    Obj::new()
        .set("transport", s.transport.as_str())
        .set("state", s.state.as_str())
        .set("fps", s.fps)
        .set("bitrateKbps", s.bitrate_kbps)
        .set("decodeMs", s.decode_ms)
        .opt("latencyMs", s.latency_ms)
        .opt("latencyP95Ms", s.latency_p95_ms)
        .opt("rttMs", s.rtt_ms)
        .set("frames", s.frames as f64)
        .set("dropped", s.dropped as f64)
        .set("skipped", s.skipped as f64)
        .set("errors", s.errors as f64)
        .set("paused", s.paused as f64)
        .set("worker", s.worker)
        .set("keyframeRequests", s.keyframe_requests as f64)
        .set("reconnects", s.reconnects as f64)
        .set("stalls", s.stalls as f64)
        .set("width", s.width)
        .set("height", s.height)
        .set("codec", s.codec.as_str())
        .opt("lastSeq", s.last_seq)
        .opt("firstFrameMs", s.first_frame_ms)
        .set("overlay", o.overlay)
        .set("results", o.results as f64)
        .set("resultsPerSecond", o.results_per_second)
        .opt("modelMs", o.model_ms)
        .opt("resultAgeMs", o.result_age_ms)
        .set("overlays", o.overlays as f64)
        .set("resultsLate", o.results_late as f64)
        .set("holdMs", o.hold_ms)
        .done()
}

/// Optional string property `key` of `object`: absent, `undefined` and `null` are `None`; anything
/// but a string is an error naming the option.
pub(crate) fn string_field(object: &JsValue, key: &str) -> Result<Option<String>, JsError> {
    let v = Reflect::get(object, &JsValue::from_str(key))
        .map_err(|_| JsError::new(&format!("cannot read option `{key}`")))?;
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_string().map(Some).ok_or_else(|| JsError::new(&format!("option `{key}` must be a string")))
}
