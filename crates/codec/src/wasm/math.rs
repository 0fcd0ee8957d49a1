//! The libm functions OpenH264's decoder calls, from the pure-Rust `libm` crate.

/// C `log`.
#[unsafe(no_mangle)]
pub extern "C" fn log(x: f64) -> f64 {
    libm::log(x)
}
