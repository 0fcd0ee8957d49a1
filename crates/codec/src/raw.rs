//! The two OpenH264 entry points that create and destroy a decoder, per target.
//!
//! On the host they come from `openh264-sys2`'s own source build; on wasm32 from the static library
//! that build.rs compiles (same C++ sources, same symbol names).
#![allow(non_snake_case)] // OpenH264's C names

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use openh264_sys2::source::APILoader as Api;

#[cfg(not(target_arch = "wasm32"))]
pub(crate) unsafe fn WelsCreateDecoder(
    pp_decoder: *mut *mut openh264_sys2::ISVCDecoder,
) -> std::os::raw::c_long {
    // SAFETY: forwarded contract.
    unsafe { Api::WelsCreateDecoder(pp_decoder) }
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) unsafe fn WelsDestroyDecoder(decoder: *mut openh264_sys2::ISVCDecoder) {
    // SAFETY: forwarded contract.
    unsafe { Api::WelsDestroyDecoder(decoder) }
}

#[cfg(target_arch = "wasm32")]
unsafe extern "C" {
    pub(crate) fn WelsCreateDecoder(pp_decoder: *mut *mut openh264_sys2::ISVCDecoder)
    -> std::os::raw::c_long;
    pub(crate) fn WelsDestroyDecoder(decoder: *mut openh264_sys2::ISVCDecoder);
}
