//! Configuration: any text as a TOML file is accepted or refused with a typed error, never a panic;
//! whatever is accepted passes its own validation again (parsing is deterministic).
#![no_main]
use libfuzzer_sys::fuzz_target;
use nalcast_server::config::Config;

fuzz_target!(|text: &str| {
    if let Ok(config) = Config::from_toml(text) {
        let again = Config::from_toml(text).expect("accepted once, accepted twice");
        assert_eq!(config, again);
        let _ = config.effective_streams();
    }
});
