//! Decoding in a worker for the [`crate::player::Player`]: the JS object a `DecoderPool`
//! (www/decoder-pool.js) hands out for one stream. The pool's worker owns the stream's canvas (as an
//! `OffscreenCanvas`) and a `Decoder`; the player posts access units to it and hears back, for each
//! one, whether it decoded and which picture was painted. The player's main thread then only
//! receives, orders and posts — decoding and painting run on the pool's cores.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// One stream's decoder in a pool worker (from `DecoderPool.attach(canvas)`).
    #[derive(Debug, Clone)]
    pub type RemoteDecoder;

    /// Queues an access unit (copied at once). `false`: the worker is too far behind and the unit
    /// was not taken.
    #[wasm_bindgen(method, catch)]
    pub fn decode(this: &RemoteDecoder, bytes: &[u8], seq: f64, paint: bool) -> Result<bool, JsValue>;

    /// `(seq, decodeMs, width, height, paintedAtMs)` after each painted picture (page clock).
    #[wasm_bindgen(method, setter)]
    pub fn set_onpainted(this: &RemoteDecoder, f: Option<js_sys::Function>);

    /// The function `onpainted` is set to now.
    #[wasm_bindgen(method, getter)]
    pub fn onpainted(this: &RemoteDecoder) -> JsValue;

    /// `(seq, error)` after each access unit; `error` is a string when the decoder failed on it.
    #[wasm_bindgen(method, setter)]
    pub fn set_ondecoded(this: &RemoteDecoder, f: Option<js_sys::Function>);
}
