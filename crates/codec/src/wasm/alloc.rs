//! `malloc`, `calloc`, `realloc`, `free` and C++ `new`/`delete` on Rust's global allocator, so C++
//! and Rust share one heap. Each block carries its size in a 16-byte header (16 keeps the alignment
//! that `malloc` promises on wasm32).

use std::alloc::{Layout, alloc, alloc_zeroed, dealloc};
use std::ffi::c_void;

const HEADER: usize = 16;

fn layout_for(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, HEADER).ok()
}

/// Allocates `size` bytes (zeroed if asked) behind a size header; null when impossible.
fn allocate(size: usize, zeroed: bool) -> *mut c_void {
    let Some(layout) = layout_for(size) else { return std::ptr::null_mut() };
    // SAFETY: the layout has a non-zero size (at least HEADER).
    let base = unsafe { if zeroed { alloc_zeroed(layout) } else { alloc(layout) } };
    if base.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: `base` is valid for HEADER + size bytes and 16-aligned; the header holds the size.
    unsafe {
        (base as *mut usize).write(size);
        base.add(HEADER).cast()
    }
}

/// Size stored in front of a block from [`allocate`].
///
/// # Safety
/// `ptr` must come from [`allocate`] and not be freed.
unsafe fn block_size(ptr: *mut c_void) -> usize {
    // SAFETY: per the contract, the header sits HEADER bytes before `ptr`.
    unsafe { ((ptr as *mut u8).sub(HEADER) as *const usize).read() }
}

/// C `malloc`.
#[unsafe(no_mangle)]
pub extern "C" fn malloc(size: usize) -> *mut c_void {
    allocate(size, false)
}

/// C `calloc`.
#[unsafe(no_mangle)]
pub extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
    match count.checked_mul(size) {
        Some(total) => allocate(total, true),
        None => std::ptr::null_mut(),
    }
}

/// C `free`.
///
/// # Safety
/// `ptr` must be null or a live block from these functions.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free(ptr: *mut c_void) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: `ptr` is a live block (contract), so its header and layout are the ones allocated.
    unsafe {
        let size = block_size(ptr);
        if let Some(layout) = layout_for(size) {
            dealloc((ptr as *mut u8).sub(HEADER), layout);
        }
    }
}

/// C `realloc`.
///
/// # Safety
/// `ptr` must be null or a live block from these functions.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    if ptr.is_null() {
        return malloc(size);
    }
    let new = malloc(size);
    if !new.is_null() {
        // SAFETY: both blocks are live and at least min(old, new) bytes long; they do not overlap.
        unsafe {
            let old = block_size(ptr);
            std::ptr::copy_nonoverlapping(ptr as *const u8, new as *mut u8, old.min(size));
            free(ptr);
        }
    }
    new
}

/// C++ `operator new(size_t)`.
#[unsafe(export_name = "_Znwm")]
pub extern "C" fn operator_new(size: usize) -> *mut c_void {
    malloc(size)
}

/// C++ `operator new[](size_t)`.
#[unsafe(export_name = "_Znam")]
pub extern "C" fn operator_new_array(size: usize) -> *mut c_void {
    malloc(size)
}

/// C++ `operator delete(void*)`.
///
/// # Safety
/// As [`free`].
#[unsafe(export_name = "_ZdlPv")]
pub unsafe extern "C" fn operator_delete(ptr: *mut c_void) {
    // SAFETY: forwarded contract.
    unsafe { free(ptr) }
}

/// C++ `operator delete[](void*)`.
///
/// # Safety
/// As [`free`].
#[unsafe(export_name = "_ZdaPv")]
pub unsafe extern "C" fn operator_delete_array(ptr: *mut c_void) {
    // SAFETY: forwarded contract.
    unsafe { free(ptr) }
}
