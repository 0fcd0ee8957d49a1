//! OpenH264 decoding behind a safe API, for the host and for `wasm32`, and YUV420p → RGBA conversion.
//!
//! This is the only nalcast crate with `unsafe`: the FFI to OpenH264 ([`decoder`]), and on wasm32 the
//! C runtime pieces OpenH264 needs (module `wasm` — allocator, thread stubs, maths). Every `unsafe` block
//! carries a `SAFETY` note. Everything above this crate sees [`Decoder`], [`Frame`] and [`yuv`].
#![deny(missing_docs)]

pub mod decoder;
pub mod error;
pub mod heap;
mod instance;
#[cfg(all(feature = "kernel-tests", target_arch = "wasm32"))]
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
