//! Build script: for `wasm32` targets, compiles OpenH264's decoder (C++) into a static library with clang.
//!
//! The C++ sources are not part of this repository. They come from the `upstream/codec` folder of the
//! `openh264-sys2` package that cargo has already downloaded; its location is asked from `cargo metadata`.
//! On every other target nothing happens here: `openh264-sys2` with its `source` feature builds OpenH264.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=csrc");
    println!("cargo:rerun-if-changed=patches");
    println!("cargo:rerun-if-env-changed=NALCAST_CLANGXX");
    println!("cargo:rerun-if-env-changed=NALCAST_LLVM_AR");
    println!("cargo:rerun-if-env-changed=NALCAST_WASI_INCLUDE");
    println!("cargo:rerun-if-env-changed=NALCAST_OH_OPT");
    println!("cargo:rerun-if-env-changed=NALCAST_OH_LOG");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() != Ok("wasm32") {
        return;
    }
    if let Err(e) = build_wasm() {
        eprintln!("\nnalcast-codec: cannot build OpenH264 for wasm32: {e}\n");
        std::process::exit(1);
    }
}

fn env_path(name: &str) -> Result<PathBuf, String> {
    std::env::var_os(name).map(PathBuf::from).ok_or_else(|| format!("cargo did not set {name}"))
}

/// Finds `upstream/codec` of the `openh264-sys2` package that cargo downloaded: first by asking
/// `cargo metadata` (limited to the target being built, so only downloaded packages are needed),
/// then by looking in cargo's registry for the version that `Cargo.lock` names.
fn openh264_codec_dir() -> Result<PathBuf, String> {
    let dir = match package_dir_from_metadata() {
        Ok(dir) => dir,
        Err(meta_err) => package_dir_from_registry().map_err(|reg_err| format!("{meta_err}; {reg_err}"))?,
    }
    .join("upstream/codec");
    if !dir.join("decoder/plus/src/welsDecoderExt.cpp").is_file() {
        return Err(format!("{} does not hold OpenH264's decoder sources", dir.display()));
    }
    Ok(dir)
}

fn package_dir_from_metadata() -> Result<PathBuf, String> {
    let manifest_dir = env_path("CARGO_MANIFEST_DIR")?;
    let target = std::env::var("TARGET").map_err(|_| "cargo did not set TARGET")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(&cargo)
        .args([
            "metadata",
            "--offline",
            "--format-version",
            "1",
            "--filter-platform",
            &target,
            "--manifest-path",
        ])
        .arg(manifest_dir.join("Cargo.toml"))
        .output()
        .map_err(|e| format!("running `cargo metadata`: {e}"))?;
    if !out.status.success() {
        return Err(format!("`cargo metadata` failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("`cargo metadata` output: {e}"))?;
    let packages = meta["packages"].as_array().ok_or("`cargo metadata` lists no packages")?;
    let manifest = packages
        .iter()
        .find(|p| p["name"] == "openh264-sys2")
        .and_then(|p| p["manifest_path"].as_str())
        .ok_or("`cargo metadata` does not list openh264-sys2")?;
    Ok(Path::new(manifest).parent().ok_or("bad manifest path")?.to_path_buf())
}

fn package_dir_from_registry() -> Result<PathBuf, String> {
    let manifest_dir = env_path("CARGO_MANIFEST_DIR")?;
    let lock = manifest_dir
        .ancestors()
        .map(|d| d.join("Cargo.lock"))
        .find(|p| p.is_file())
        .ok_or("no Cargo.lock above the crate")?;
    let text = std::fs::read_to_string(&lock).map_err(|e| format!("{}: {e}", lock.display()))?;
    let version = text
        .split("[[package]]")
        .find(|block| block.contains("name = \"openh264-sys2\""))
        .and_then(|block| block.lines().find_map(|l| l.trim().strip_prefix("version = ")))
        .map(|v| v.trim_matches('"').to_string())
        .ok_or("Cargo.lock does not list openh264-sys2")?;
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let src = home.join("registry/src");
    let entries = std::fs::read_dir(&src).map_err(|e| format!("{}: {e}", src.display()))?;
    for index in entries.flatten() {
        let candidate = index.path().join(format!("openh264-sys2-{version}"));
        if candidate.join("Cargo.toml").is_file() {
            return Ok(candidate);
        }
    }
    Err(format!("openh264-sys2 {version} is not in {} (run `cargo fetch`)", src.display()))
}

fn find_tool(env: &str, candidates: &[&str]) -> Result<String, String> {
    if let Ok(v) = std::env::var(env) {
        return Ok(v);
    }
    for c in candidates {
        if Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()) {
            return Ok((*c).to_string());
        }
    }
    Err(format!("none of {candidates:?} found; install clang and llvm (`make setup`) or set {env}"))
}

fn sources(codec: &Path) -> Result<Vec<PathBuf>, String> {
    // The thread library and the decoder's thread helpers are replaced by single-threaded versions in
    // src/wasm/threads.rs; the thread pool is encoder-only.
    const SKIP: &[&str] = &[
        "WelsThreadLib.cpp",
        "WelsThreadPool.cpp",
        "WelsTaskThread.cpp",
        "WelsThread.cpp",
        "wels_decoder_thread.cpp",
    ];
    let mut files = Vec::new();
    for dir in ["decoder/core/src", "common/src"] {
        let entries = std::fs::read_dir(codec.join(dir)).map_err(|e| format!("{dir}: {e}"))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name.ends_with(".cpp") && !SKIP.contains(&name) {
                files.push(path);
            }
        }
    }
    files.push(codec.join("decoder/plus/src/welsDecoderExt.cpp"));
    files.sort();
    Ok(files)
}

/// Optimisation flags per source file (by file stem). `-Oz` for the files listed: parsing, parameter
/// sets, reference management, memory, error concealment, the C shim — and reference padding and
/// intra prediction, which measured as fast at `-Oz`/`-Os` as at `-O3` (decode-only CPU time,
/// 720p/1080p baseline and 1080p High CABAC+B, within the run-to-run noise of about 1 %) while
/// `-Os` on motion compensation, reconstruction, IDCT or the CAVLC/CABAC parsers cost 2-7 %. The C
/// deblocking filters, block copies and residual-add helpers (`deblocking_common`, `copy_mb`,
/// `decode_mb_aux`) are `-Oz` too: their hot kernels are replaced by our simd128 ones (0.9 KB gzip).
/// Deblocking stays at `-O3`: with its filters in simd128 kernels, what remains there (boundary
/// strengths) is hot, and `-O3` decodes 2-4 % faster for 2.7 KB more gzip. Every other file,
/// including any added later, gets `-O3`. `NALCAST_OH_OPT=stem=flags,...` overrides
/// (stem `*` for all files) to measure other choices.
fn opt_flags(src: &Path) -> Vec<String> {
    const SIZE: &str = "au_parser bit_stream decoder decoder_core decoder_data_tables error_concealment fmo \
        manage_dec_ref memmgr_nal_unit pic_queue welsDecoderExt common_tables cpu crt_util_safe_x memory_align \
        utils welsCodecTrace sad_common libc_shim expand_pic get_intra_predictor \
        intra_pred_common deblocking_common copy_mb decode_mb_aux";
    let stem = src.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    let given = std::env::var("NALCAST_OH_OPT").unwrap_or_default();
    let flags = given
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == stem)
        .or_else(|| given.split(',').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == "*"))
        .map(|(_, f)| f)
        .unwrap_or(if SIZE.split_whitespace().any(|s| s == stem) { "-Oz" } else { "-O3" });
    flags.split_whitespace().map(String::from).collect()
}

/// OpenH264's text log (`WelsLog`: 170 calls, printf format strings and `vsnprintf`) is left out of
/// the wasm build: 19 KB of the module, 6.8 KB gzipped. Decoding errors still reach callers as typed
/// `DecodeError`s; a decoder's log sink just receives nothing. `NALCAST_OH_LOG=1` keeps the log (to
/// read OpenH264's own messages in the console while debugging a stream).
fn log_flags(src: &Path, manifest_dir: &Path) -> Vec<String> {
    let cpp = src.extension().is_some_and(|e| e == "cpp");
    let defines_it = src.file_stem().is_some_and(|s| s == "utils" || s == "crt_util_safe_x");
    if !cpp || defines_it || std::env::var_os("NALCAST_OH_LOG").is_some() {
        return Vec::new();
    }
    vec!["-include".into(), manifest_dir.join("csrc/nolog/nalcast_nolog.h").display().to_string()]
}

fn build_wasm() -> Result<(), String> {
    let codec = openh264_codec_dir()?;
    let out_dir = env_path("OUT_DIR")?;
    let manifest_dir = env_path("CARGO_MANIFEST_DIR")?;
    // clang 22 first (Debian's clang-22, which `make setup` installs): the same OpenH264 is 4.8 KB
    // smaller gzipped than with Debian's default clang 14, decoding as fast. Any clang works.
    let clang =
        find_tool("NALCAST_CLANGXX", &["clang++-22", "clang++", "clang++-19", "clang++-16", "clang++-14"])?;
    let ar =
        find_tool("NALCAST_LLVM_AR", &["llvm-ar-22", "llvm-ar", "llvm-ar-19", "llvm-ar-16", "llvm-ar-14"])?;
    let wasi_include =
        std::env::var("NALCAST_WASI_INCLUDE").unwrap_or_else(|_| "/usr/include/wasm32-wasi".to_string());
    if !Path::new(&wasi_include).join("stdlib.h").is_file() {
        return Err(format!("wasi-libc headers not found in {wasi_include} (Debian package wasi-libc)"));
    }
    let resource =
        Command::new(&clang).arg("-print-resource-dir").output().map_err(|e| format!("{clang}: {e}"))?;
    let resource = String::from_utf8_lossy(&resource.stdout).trim().to_string();
    let simd =
        std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default().split(',').any(|f| f == "simd128");

    let mut args: Vec<String> = vec![
        "--target=wasm32-wasi".into(),
        "-nostdinc".into(),
        "-isystem".into(),
        manifest_dir.join("csrc/include").display().to_string(),
        "-isystem".into(),
        format!("{resource}/include"),
        "-isystem".into(),
        wasi_include,
        "-fno-exceptions".into(),
        "-fno-rtti".into(),
        // The C++ runtime here (src/wasm/alloc.rs) has the unsized `operator delete` only.
        "-fno-sized-deallocation".into(),
        "-fno-strict-aliasing".into(),
        "-fno-common".into(),
        "-DNDEBUG".into(),
        "-w".into(),
    ];
    if simd {
        args.push("-msimd128".into());
    }
    for inc in ["api/wels", "common/inc", "decoder/core/inc", "decoder/plus/inc"] {
        args.push(format!("-I{}", codec.join(inc).display()));
    }

    let patched =
        if simd { apply_patches(&codec, &manifest_dir.join("patches"), &out_dir)? } else { Vec::new() };
    let mut jobs: Vec<(PathBuf, PathBuf)> = sources(&codec)?
        .into_iter()
        .map(|src| substitute_patched(src, &codec, &patched))
        .map(|src| {
            let stem = src.file_stem().and_then(|s| s.to_str()).unwrap_or("x").to_string();
            (src, out_dir.join(format!("oh_{stem}.o")))
        })
        .collect();
    jobs.push((manifest_dir.join("csrc/libc_shim.c"), out_dir.join("nalcast_libc_shim.o")));
    args.extend(matching_target_features());
    if simd {
        args.push(format!("-I{}", manifest_dir.join("csrc/simd").display()));
        jobs.extend(simd_kernel_jobs(&manifest_dir, &out_dir)?);
        if std::env::var_os("CARGO_FEATURE_KERNEL_TESTS").is_some() {
            jobs.extend(kernel_reference_jobs(&codec, &manifest_dir, &out_dir, &mut args)?);
        }
    }

    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let queue = std::sync::Mutex::new(jobs.clone());
    let errors = std::sync::Mutex::new(Vec::<String>::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                while let Some((src, obj)) = queue.lock().ok().and_then(|mut q| q.pop()) {
                    let is_c = src.extension().is_some_and(|e| e == "c");
                    let mut cmd = Command::new(&clang);
                    if is_c {
                        cmd.args(["-x", "c", "-std=c11"]);
                    }
                    cmd.args(&args).args(opt_flags(&src)).args(log_flags(&src, &manifest_dir));
                    cmd.arg("-c").arg(&src).arg("-o").arg(&obj);
                    match cmd.output() {
                        Ok(o) if o.status.success() => {}
                        Ok(o) => errors
                            .lock()
                            .map(|mut e| {
                                e.push(format!("{}: {}", src.display(), String::from_utf8_lossy(&o.stderr)))
                            })
                            .unwrap_or(()),
                        Err(err) => {
                            errors.lock().map(|mut e| e.push(format!("{clang}: {err}"))).unwrap_or(())
                        }
                    }
                }
            });
        }
    });
    let errors = errors.into_inner().map_err(|_| "worker panicked")?;
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    let lib = out_dir.join("libnalcast_openh264.a");
    let _ = std::fs::remove_file(&lib);
    let status = Command::new(&ar)
        .arg("crs")
        .arg(&lib)
        .args(jobs.iter().map(|(_, o)| o))
        .status()
        .map_err(|e| format!("{ar}: {e}"))?;
    if !status.success() {
        return Err(format!("{ar} failed"));
    }
    println!("cargo:rustc-link-search=native={}", out_dir.display());
    println!("cargo:rustc-link-lib=static=nalcast_openh264");
    Ok(())
}

// ---- simd128 kernels: our patch files and our C kernels (only when the target has simd128) ----

/// clang flags for the wasm features the Rust target has on beside simd128 (rustc enables them by
/// default), so the C code may use them too: bulk-memory turns OpenH264's many memsets/memcpys of
/// variable size into `memory.fill`/`memory.copy` instead of calls to compiler-builtins' 4-byte loops,
/// sign-ext gives single-instruction int8/int16 sign extension.
fn matching_target_features() -> Vec<String> {
    let enabled = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let enabled: Vec<&str> = enabled.split(',').collect();
    ["bulk-memory", "sign-ext", "nontrapping-fptoint"]
        .into_iter()
        .filter(|f| enabled.contains(f))
        .map(|f| format!("-m{f}"))
        .collect()
}

/// One patched upstream file: its path relative to `upstream/codec` and the patched copy in OUT_DIR.
struct Patched {
    rel: PathBuf,
    copy: PathBuf,
}

/// Applies every `patches/*.patch` (unified diffs against openh264-sys2's `upstream/codec`, one file
/// each) to a copy of its target file in `OUT_DIR/patched/`. Upstream is never modified. A hunk that
/// does not match fails the build with the patch's name and the hunk's header.
fn apply_patches(codec: &Path, patch_dir: &Path, out_dir: &Path) -> Result<Vec<Patched>, String> {
    let mut patches: Vec<PathBuf> = std::fs::read_dir(patch_dir)
        .map_err(|e| format!("{}: {e}", patch_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "patch"))
        .collect();
    patches.sort();
    let mut done = Vec::new();
    for patch in patches {
        let text = std::fs::read_to_string(&patch).map_err(|e| format!("{}: {e}", patch.display()))?;
        let (rel, patched) = apply_patch(codec, &text)
            .map_err(|e| format!("patch {} does not apply: {e}", patch.display()))?;
        let copy = out_dir.join("patched").join(&rel);
        if let Some(dir) = copy.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        // Rewrite only when the content changed, so unchanged copies keep their mtime.
        if std::fs::read_to_string(&copy).ok().as_deref() != Some(patched.as_str()) {
            std::fs::write(&copy, patched).map_err(|e| format!("{}: {e}", copy.display()))?;
        }
        done.push(Patched { rel, copy });
    }
    Ok(done)
}

/// Applies one single-file unified diff to `codec/<path>`; returns the path and the patched text.
/// Lines are compared without their line ending; inserted lines take the file's own ending (CRLF in
/// OpenH264). A hunk must match exactly, at its stated line or at the nearest offset.
fn apply_patch(codec: &Path, diff: &str) -> Result<(PathBuf, String), String> {
    let target = diff
        .lines()
        .find_map(|l| l.strip_prefix("+++ b/"))
        .map(|t| t.split('\t').next().unwrap_or(t).trim())
        .ok_or("no `+++ b/<path>` line")?;
    let rel = PathBuf::from(target);
    let original = std::fs::read_to_string(codec.join(&rel)).map_err(|e| format!("{target}: {e}"))?;
    let eol = if original.contains("\r\n") { "\r\n" } else { "\n" };
    let mut lines: Vec<String> = original.lines().map(|l| l.trim_end_matches('\r').to_string()).collect();
    // Hunks as (header, start line in the old file (0-based), old lines, new lines).
    let mut hunks: Vec<(String, usize, Vec<String>, Vec<String>)> = Vec::new();
    for line in diff.lines() {
        if let Some(rest) = line.strip_prefix("@@ -") {
            let start: usize = rest
                .split([',', ' '])
                .next()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("bad hunk header {line}"))?;
            hunks.push((line.to_string(), start.saturating_sub(1), Vec::new(), Vec::new()));
        } else if let Some((_, _, old, new)) = hunks.last_mut() {
            let line = line.trim_end_matches('\r');
            match line.split_at_checked(1) {
                Some((" ", l)) => {
                    old.push(l.to_string());
                    new.push(l.to_string());
                }
                Some(("-", l)) => old.push(l.to_string()),
                Some(("+", l)) => new.push(l.to_string()),
                _ if line.is_empty() => {
                    old.push(String::new());
                    new.push(String::new());
                }
                _ => {} // "\ No newline at end of file" and the like
            }
        }
    }
    if hunks.is_empty() {
        return Err("no hunks".into());
    }
    // Applied last to first so earlier line numbers stay valid.
    for (header, start, old, new) in hunks.into_iter().rev() {
        let fits = |at: usize| at + old.len() <= lines.len() && lines[at..at + old.len()] == old[..];
        let at = (0..=lines.len())
            .flat_map(|d| [start.checked_add(d), start.checked_sub(d)])
            .flatten()
            .find(|&at| fits(at))
            .ok_or_else(|| format!("hunk `{header}` does not match {target}"))?;
        lines.splice(at..at + old.len(), new);
    }
    let mut text = lines.join(eol);
    text.push_str(eol);
    Ok((rel, text))
}

/// The patched copy of `src` if one of the patches targets it, else `src` itself.
fn substitute_patched(src: PathBuf, codec: &Path, patched: &[Patched]) -> PathBuf {
    patched.iter().find(|p| codec.join(&p.rel) == src).map_or(src, |p| p.copy.clone())
}

/// Our simd128 kernels: every `csrc/simd/*.c`, compiled as C into `simd_<name>.o`.
fn simd_kernel_jobs(manifest_dir: &Path, out_dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    dir_jobs(&manifest_dir.join("csrc/simd"), &["c"], "simd", out_dir)
}

/// Test-only (`kernel-tests` feature): `csrc/simd_ref/*`, the C references the kernel tests compare
/// with. Some compile an unpatched upstream `.cpp` into their own unit, so upstream's source folders
/// join the include path.
fn kernel_reference_jobs(
    codec: &Path,
    manifest_dir: &Path,
    out_dir: &Path,
    args: &mut Vec<String>,
) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    for dir in ["common/src", "decoder/core/src"] {
        args.push(format!("-I{}", codec.join(dir).display()));
    }
    dir_jobs(&manifest_dir.join("csrc/simd_ref"), &["c", "cpp"], "simd_ref", out_dir)
}

/// Every file in `dir` with one of `exts`, compiled into `<prefix>_<name>.o`.
fn dir_jobs(
    dir: &Path,
    exts: &[&str],
    prefix: &str,
    out_dir: &Path,
) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    let mut jobs = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().and_then(|e| e.to_str()).is_some_and(|e| exts.contains(&e)) {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("x").to_string();
            jobs.push((path, out_dir.join(format!("{prefix}_{stem}.o"))));
        }
    }
    jobs.sort();
    Ok(jobs)
}
