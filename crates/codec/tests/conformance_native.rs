//! The decoder wrapper against the H.264 conformance streams, natively: every stream with a
//! cross-verified hash must match it bit-exactly, and every stream's hash is written to
//! `target/conformance-native.json` for the browser run (`make conformance`) to compare against.

use nalcast_codec::Decoder;
use serde_json::Value;
use sha1::{Digest, Sha1};
use std::path::PathBuf;

fn conformance_dir() -> PathBuf {
    let dir = std::env::var_os("NALCAST_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance"));
    assert!(
        dir.join("manifest.json").is_file(),
        "conformance streams not found at {} (set NALCAST_CONFORMANCE_DIR)",
        dir.display()
    );
    dir
}

/// Splits at four-byte start codes only, as OpenH264's own decoder test feeds its decoder.
fn chunks(data: &[u8]) -> Vec<&[u8]> {
    let mut starts: Vec<usize> =
        data.windows(4).enumerate().filter(|(_, w)| *w == [0, 0, 0, 1]).map(|(i, _)| i).collect();
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    starts.push(data.len());
    starts.windows(2).map(|w| &data[w[0]..w[1]]).filter(|c| !c.is_empty()).collect()
}

struct Outcome {
    sha1: String,
    frames: usize,
    errors: usize,
}

/// How the stream is fed to the decoder.
#[derive(Clone, Copy)]
enum Feeding {
    /// Upstream's procedure: one call per four-byte-start-code chunk.
    Chunks,
    /// Live-style: one access unit per call, each pushed out at once (no-delay mode).
    AccessUnits,
}

fn decode_file(data: &[u8], feeding: Feeding) -> Outcome {
    let mut dec = Decoder::with_log(Box::new(|_, _| {})).expect("decoder");
    let mut hasher = Sha1::new();
    let mut frames = 0;
    let mut errors = 0;
    let mut buf = Vec::new();
    let mut on_frame = |f: nalcast_codec::Frame<'_>| {
        buf.clear();
        f.write_i420(&mut buf);
        hasher.update(&buf);
        frames += 1;
    };
    match feeding {
        Feeding::Chunks => {
            for chunk in chunks(data) {
                errors += usize::from(dec.decode(chunk, &mut on_frame).is_err());
            }
        }
        Feeding::AccessUnits => {
            for au in nalcast_proto::au::access_units(data) {
                errors += usize::from(dec.decode_access_unit(&data[au], 0, &mut on_frame).is_err());
            }
        }
    }
    errors += usize::from(dec.flush(&mut on_frame).is_err());
    Outcome { sha1: hex(&hasher.finalize()), frames, errors }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn access_unit_feeding_with_no_delay_is_bit_exact_too() {
    let dir = conformance_dir();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest")).expect("json");
    let mut bad = Vec::new();
    for file in manifest["files"].as_array().expect("files") {
        let Some(expected) = file["cross_verified_sha1"].as_str() else { continue };
        let name = file["name"].as_str().expect("name");
        let data = std::fs::read(dir.join(file["path"].as_str().unwrap_or(name))).expect("stream");
        let out = decode_file(&data, Feeding::AccessUnits);
        println!(
            "per-AU {name}: {} frames {}",
            out.frames,
            if out.sha1 == expected { "bit-exact" } else { "DIFFERS" }
        );
        if out.sha1 != expected {
            bad.push(name.to_string());
        }
    }
    assert!(bad.is_empty(), "{bad:?}");
}

#[test]
fn conformance_streams_decode_bit_exact_natively() {
    let dir = conformance_dir();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest")).expect("json");
    let files = manifest["files"].as_array().expect("files");
    let mut results = serde_json::Map::new();
    let (mut checked, mut matched) = (0, 0);
    let mut failures = Vec::new();
    for file in files {
        let name = file["name"].as_str().expect("name");
        let path = dir.join(file["path"].as_str().unwrap_or(name));
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let out = decode_file(&data, Feeding::Chunks);
        let expected = file["cross_verified_sha1"].as_str();
        let verdict = match expected {
            Some(h) if h == out.sha1 => {
                checked += 1;
                matched += 1;
                "bit-exact"
            }
            Some(_) => {
                checked += 1;
                failures.push(name.to_string());
                "MISMATCH"
            }
            None => "no cross-verified hash",
        };
        println!("{name}: {} frames, {} errors, {} — {verdict}", out.frames, out.errors, out.sha1);
        results.insert(
            name.to_string(),
            serde_json::json!({ "sha1": out.sha1, "frames": out.frames, "errors": out.errors }),
        );
    }
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target");
    std::fs::create_dir_all(&target).expect("target dir");
    std::fs::write(
        target.join("conformance-native.json"),
        serde_json::to_vec_pretty(&results).expect("json"),
    )
    .expect("write native hashes");
    println!("native conformance: {matched}/{checked} bit-exact");
    assert!(failures.is_empty(), "not bit-exact natively: {failures:?}");
    assert_eq!(checked, 43, "expected 43 streams with a cross-verified hash");
}
