//! nalcast's browser client, compiled to WebAssembly.
//!
//! It exposes to JavaScript the decoder — [`decoder::JsDecoder`] (`Decoder` in JS) turns Annex-B
//! H.264 into [`decoder::JsFrame`]s (`Frame`) or paints straight onto a canvas ([`paint`]) — and the
//! live [`player::Player`], which plays a server stream with statistics ([`stats`], [`clock`]). The
//! decoding itself is `nalcast-codec` (OpenH264 compiled into this module). In workers, `decodeEach`
//! and [`picture::JsPicturePainter`] split decoding and painting across two threads (www/pipeline.js).
#![deny(missing_docs)]

pub mod clock;
pub mod decoder;
mod js;
pub mod overlay;
pub mod paint;
pub mod picture;
pub mod player;
pub mod remote;
pub mod stats;
pub mod transport;

use wasm_bindgen::prelude::*;

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: nalcast_codec::heap::Counting = nalcast_codec::heap::Counting;

/// Bytes of this module's heap in use (allocated, not freed): flat over time unless something leaks.
#[wasm_bindgen(js_name = heapInUse)]
pub fn heap_in_use() -> f64 {
    nalcast_codec::heap::live_bytes() as f64
}

/// Runs when the module is instantiated: panics become readable console errors.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// nalcast's version string.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Access-unit boundaries of an Annex-B buffer as a flat list `[start0, end0, start1, end1, ...]`,
/// for feeding a file to the decoder one picture at a time (H.264 7.4.1.2.3).
#[wasm_bindgen(js_name = accessUnits)]
pub fn access_units(bytes: &[u8]) -> Vec<u32> {
    nalcast_proto::au::access_units(bytes).into_iter().flat_map(|r| [r.start as u32, r.end as u32]).collect()
}

/// Whether the RGBA conversion of this build uses wasm SIMD.
#[wasm_bindgen(js_name = simdEnabled)]
pub fn simd_enabled() -> bool {
    nalcast_codec::yuv::SIMD
}

/// **Test hook — never called by nalcast.** Executes a WebAssembly `unreachable` instruction, so this
/// module instance traps exactly as it would on a bug: end-to-end tests use it to check that the page
/// recreates the instance and its players (www/instance.js).
#[wasm_bindgen(js_name = testHookTrap)]
pub fn test_hook_trap() {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
}
