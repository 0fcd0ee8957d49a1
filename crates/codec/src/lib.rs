//! OpenH264 decoding behind a safe API, for the host and for `wasm32`, and YUV420p → RGBA conversion.
//!
//! This is the only nalcast crate with `unsafe`: the FFI to OpenH264 ([`decoder`]), and on wasm32 the
//! C runtime pieces OpenH264 needs (module `wasm` — allocator, thread stubs, maths). Every `unsafe` block
//! carries a `SAFETY` note. Everything above this crate sees [`Decoder`], [`Frame`] and [`yuv`].
//!
//! On wasm32 with simd128, build.rs applies our small patches (`patches/*.patch`) to a copy of
//! OpenH264's init functions so its hottest kernels (deblocking, luma/chroma MC, weighted prediction,
//! inverse transforms, border extension) are our simd128 C in `csrc/simd`; the `kernel-tests` feature
//! exposes each kernel beside OpenH264's C reference for the equality tests (`tests/kernels.rs`).
#![deny(missing_docs)]

pub mod decoder;
pub mod error;
pub mod heap;
mod instance;
#[cfg(all(feature = "kernel-tests", target_arch = "wasm32", target_feature = "simd128"))]
#[doc(hidden)]
pub mod kernels;
mod raw;
mod restart;
#[cfg(target_arch = "wasm32")]
pub mod wasm;
pub mod yuv;

pub use decoder::{Decoder, Frame, LogLevel};
pub use error::DecodeError;
pub use nalcast_proto::sps::{ColorSpace, Matrix};
