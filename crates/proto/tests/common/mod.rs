//! The shared conformance streams (`../shared/conformance`, or `NALCAST_CONFORMANCE_DIR`) for the
//! tests that read them: missing streams fail loudly rather than skip.

use std::path::PathBuf;

/// The manifest's file entries, each with the stream's name and bytes read on demand.
pub struct Conformance {
    dir: PathBuf,
    /// The `files` entries of `manifest.json`.
    pub files: Vec<serde_json::Value>,
}

impl Conformance {
    pub fn open() -> Conformance {
        let dir = std::env::var_os("NALCAST_CONFORMANCE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance"));
        assert!(dir.join("manifest.json").is_file(), "conformance streams not found at {}", dir.display());
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest"))
                .expect("json");
        let files = manifest["files"].as_array().expect("files").clone();
        Conformance { dir, files }
    }

    /// The name and bytes of the stream a `files` entry describes.
    pub fn read(&self, file: &serde_json::Value) -> (String, Vec<u8>) {
        let name = file["name"].as_str().expect("name");
        let data = std::fs::read(self.dir.join(file["path"].as_str().unwrap_or(name))).expect("stream");
        (name.to_string(), data)
    }
}
