//! One OpenH264 decoder instance at the FFI level: created and initialised with nalcast's settings
//! (single thread, slice-copy error concealment, log lines to a [`LogContext`]), options, and
//! destruction. [`crate::decoder::Decoder`] owns one at a time and replaces it at IDRs.

use crate::decoder::{LogLevel, LogSink};
use crate::error::DecodeError;
use openh264_sys2::{
    DECODER_OPTION_TRACE_CALLBACK, DECODER_OPTION_TRACE_CALLBACK_CONTEXT, DECODER_OPTION_TRACE_LEVEL,
    ERROR_CON_SLICE_COPY, ISVCDecoder, ISVCDecoderVtbl, SDecodingParam, VIDEO_BITSTREAM_DEFAULT,
    WELS_LOG_WARNING,
};
use std::ffi::{CStr, c_char, c_int, c_void};
use std::ptr::{self, NonNull};

/// An OpenH264 result code (`long`: 64-bit on the host, 32-bit on wasm32) as a portable number.
#[allow(clippy::useless_conversion)]
pub(crate) fn code(rc: std::os::raw::c_long) -> i64 {
    i64::from(rc)
}

/// Context handed to OpenH264's trace callback: where log lines go.
pub(crate) struct LogContext {
    pub(crate) sink: LogSink,
}

/// OpenH264's `WelsTraceCallback`.
extern "C" fn trace_callback(ctx: *mut c_void, level: c_int, message: *const c_char) {
    if ctx.is_null() || message.is_null() {
        return;
    }
    // SAFETY: `ctx` is the `LogContext` boxed in `Decoder`, registered in `create` and alive until
    // every instance created with it is destroyed (the box is freed after `Drop` destroys the last).
    let ctx = unsafe { &*(ctx as *const LogContext) };
    // Not `to_string_lossy`: its repair of invalid UTF-8 is 1 KB of the wasm module, for ASCII text.
    // SAFETY: OpenH264 passes a NUL-terminated message buffer that lives for the duration of the call.
    let text = unsafe { CStr::from_ptr(message) }.to_str().unwrap_or("(a message that is not UTF-8)");
    let level = if level <= 1 { LogLevel::Error } else { LogLevel::Warning };
    (ctx.sink)(level, text.trim_end());
}

/// The vtable of a live decoder.
pub(crate) fn vtbl(raw: NonNull<ISVCDecoder>) -> &'static ISVCDecoderVtbl {
    // SAFETY: `raw` points to a live C++ ISVCDecoder whose first word is its vtable pointer; the
    // vtable is static data of the library.
    unsafe { &**raw.as_ptr() }
}

pub(crate) fn set_option(
    raw: NonNull<ISVCDecoder>,
    option: u32,
    value: *mut c_void,
) -> Result<(), DecodeError> {
    let set = vtbl(raw).SetOption.ok_or(DecodeError::Create(-1))?;
    // SAFETY: `value` points to a value of the type OpenH264 expects for `option` (see callers).
    let rc = unsafe { set(raw.as_ptr(), option as _, value) };
    if rc == 0 { Ok(()) } else { Err(DecodeError::Create(code(rc))) }
}

/// Creates and initialises an OpenH264 decoder that logs to `log` (which must outlive it).
pub(crate) fn create(log: &LogContext) -> Result<NonNull<ISVCDecoder>, DecodeError> {
    let mut raw: *mut ISVCDecoder = ptr::null_mut();
    // SAFETY: WelsCreateDecoder writes a new decoder pointer into `raw` or fails.
    let rc = unsafe { crate::raw::WelsCreateDecoder(&mut raw) };
    let raw = match NonNull::new(raw) {
        Some(raw) if rc == 0 => raw,
        _ => return Err(DecodeError::Create(code(rc))),
    };
    let result = init(raw, log);
    if result.is_err() {
        // SAFETY: `raw` was just created and is not used afterwards.
        unsafe { destroy(raw) };
    }
    result.map(|()| raw)
}

fn init(raw: NonNull<ISVCDecoder>, log: &LogContext) -> Result<(), DecodeError> {
    let mut level: c_int = WELS_LOG_WARNING as c_int;
    let mut callback: extern "C" fn(*mut c_void, c_int, *const c_char) = trace_callback;
    let mut context: *mut c_void = (log as *const LogContext).cast_mut().cast();
    set_option(raw, DECODER_OPTION_TRACE_LEVEL as u32, (&mut level as *mut c_int).cast())?;
    set_option(raw, DECODER_OPTION_TRACE_CALLBACK as u32, (&mut callback as *mut _ as *mut c_void).cast())?;
    set_option(raw, DECODER_OPTION_TRACE_CALLBACK_CONTEXT as u32, (&mut context as *mut *mut c_void).cast())?;

    // SAFETY: SDecodingParam is plain old data; all-zero is its documented default.
    let mut param: SDecodingParam = unsafe { std::mem::zeroed() };
    param.uiTargetDqLayer = u8::MAX;
    param.eEcActiveIdc = ERROR_CON_SLICE_COPY;
    param.sVideoProperty.size = std::mem::size_of_val(&param.sVideoProperty) as _;
    param.sVideoProperty.eVideoBsType = VIDEO_BITSTREAM_DEFAULT;
    let initialize = vtbl(raw).Initialize.ok_or(DecodeError::Create(-1))?;
    // SAFETY: `param` is a fully initialised SDecodingParam that outlives the call.
    let rc = unsafe { initialize(raw.as_ptr(), &param) };
    if rc == 0 { Ok(()) } else { Err(DecodeError::Create(code(rc))) }
}

/// Uninitialises and destroys a decoder from [`create`].
///
/// # Safety
/// `raw` must be a live instance from [`create`], destroyed only once and not used afterwards.
pub(crate) unsafe fn destroy(raw: NonNull<ISVCDecoder>) {
    if let Some(uninit) = vtbl(raw).Uninitialize {
        // SAFETY: the decoder is live; Uninitialize is valid after Initialize (or a failed one).
        unsafe { uninit(raw.as_ptr()) };
    }
    // SAFETY: `raw` came from WelsCreateDecoder and is destroyed exactly once (the contract).
    unsafe { crate::raw::WelsDestroyDecoder(raw.as_ptr()) };
}
