//! OpenH264's thread library (`WelsThreadLib.h`) and the decoder's thread helpers
//! (`wels_decoder_thread.h`) for a single-threaded wasm32 build.
//!
//! The decoder is created with zero worker threads, so these are only reached for bookkeeping:
//! locks and events succeed trivially, creating a thread fails (and OpenH264 then stays
//! single-threaded), and the CPU count is one.

use std::ffi::{c_int, c_long, c_void};

/// `WELS_THREAD_ERROR_OK`.
const OK: i32 = 0;
/// `WELS_THREAD_ERROR_GENERAL`.
const FAILED: i32 = -1;

/// `WelsMutexInit`: nothing to set up without threads.
#[unsafe(no_mangle)]
pub extern "C" fn WelsMutexInit(_mutex: *mut c_void) -> i32 {
    OK
}

/// `WelsMutexLock`: uncontended by construction.
#[unsafe(no_mangle)]
pub extern "C" fn WelsMutexLock(_mutex: *mut c_void) -> i32 {
    OK
}

/// `WelsMutexUnlock`.
#[unsafe(no_mangle)]
pub extern "C" fn WelsMutexUnlock(_mutex: *mut c_void) -> i32 {
    OK
}

/// `WelsMutexDestroy`.
#[unsafe(no_mangle)]
pub extern "C" fn WelsMutexDestroy(_mutex: *mut c_void) -> i32 {
    OK
}

/// `GetCPUCount`: one core for the decoder.
#[unsafe(no_mangle)]
pub extern "C" fn GetCPUCount() -> i32 {
    1
}

/// `EventCreate`.
#[unsafe(no_mangle)]
pub extern "C" fn EventCreate(_event: *mut c_void, _manual_reset: c_int, _initial: c_int) -> c_int {
    0
}

/// `EventPost`.
#[unsafe(no_mangle)]
pub extern "C" fn EventPost(_event: *mut c_void) {}

/// `EventWait`: reports "signaled" (`EINTR`, as the pthread build does) since nobody else could post.
#[unsafe(no_mangle)]
pub extern "C" fn EventWait(_event: *mut c_void, _timeout: i32) -> c_int {
    27 // wasi-libc's EINTR, WELS_DEC_THREAD_WAIT_SIGNALED
}

/// `EventReset`.
#[unsafe(no_mangle)]
pub extern "C" fn EventReset(_event: *mut c_void) {}

/// `EventDestroy`.
#[unsafe(no_mangle)]
pub extern "C" fn EventDestroy(_event: *mut c_void) {}

/// `SemCreate`.
#[unsafe(no_mangle)]
pub extern "C" fn SemCreate(_sem: *mut c_void, _value: c_long, _max: c_long) -> c_int {
    0
}

/// `SemWait`: reports "signaled".
#[unsafe(no_mangle)]
pub extern "C" fn SemWait(_sem: *mut c_void, _timeout: i32) -> c_int {
    27
}

/// `SemRelease`.
#[unsafe(no_mangle)]
pub extern "C" fn SemRelease(_sem: *mut c_void, _prev: *mut c_long) {}

/// `SemDestroy`.
#[unsafe(no_mangle)]
pub extern "C" fn SemDestroy(_sem: *mut c_void) {}

/// `ThreadCreate`: there are no threads here; failing keeps OpenH264 single-threaded.
#[unsafe(no_mangle)]
pub extern "C" fn ThreadCreate(_thread: *mut c_void, _routine: *mut c_void, _arg: *mut c_void) -> c_int {
    FAILED
}

/// `ThreadWait`.
#[unsafe(no_mangle)]
pub extern "C" fn ThreadWait(_thread: *mut c_void) -> c_int {
    0
}
