//! The C runtime that OpenH264's decoder needs on wasm32, provided by Rust so the module imports
//! nothing but wasm-bindgen's own functions: memory on Rust's allocator ([`alloc`]), a
//! single-threaded thread library ([`threads`]), maths ([`math`]), and log output to the console.
//! (`csrc/libc_shim.c` holds the varargs formatting and the no-op stdio.)

pub mod alloc;
pub mod math;
pub mod threads;

use std::ffi::{CStr, c_char, c_int};

/// Writes a line to the browser console at warn level.
pub fn console_warn(text: &str) {
    web_sys::console::warn_1(&format!("[openh264] {text}").into());
}

/// Called by `csrc/libc_shim.c` (`__assert_fail`) to report a message.
///
/// # Safety
/// `message` must be null or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nalcast_codec_log(_level: c_int, message: *const c_char) {
    if message.is_null() {
        return;
    }
    // Not `to_string_lossy`: its repair of invalid UTF-8 is 1 KB of the module, for ASCII messages.
    // SAFETY: the caller passes a NUL-terminated string (see the function's contract).
    let text = unsafe { CStr::from_ptr(message) }.to_str().unwrap_or("(a message that is not UTF-8)");
    console_warn(text);
}
