//! The page's files (`www/`): served from disk, and where `make wasm` wrote compressed copies beside
//! a file (`nalcast_bg.wasm.br`, `.gz`), a copy goes to browsers that accept its encoding (brotli:
//! 29 % of the wasm module's bytes, gzip: 35 %). A copy older than its file (the module rebuilt
//! without `make wasm`) would pair a stale module with new glue, so if any is found, or the tree is
//! too big to check, nothing is sent compressed.

use std::path::{Path, PathBuf};
use std::time::SystemTime;
use tower_http::services::ServeDir;

/// How many directory entries are looked at in all, so a huge `www` cannot stall the start; past
/// it the copies count as unchecked and none is used.
const MAX_ENTRIES: usize = 10_000;

/// The file service for `www`: compressed copies are used when every one is at least as new as its
/// file.
pub fn service(www: &Path) -> ServeDir {
    let dir = ServeDir::new(www);
    match stale_copy(www) {
        None => dir.precompressed_br().precompressed_gzip(),
        Some(stale) if stale.is_dir() => {
            tracing::warn!(
                "more than {MAX_ENTRIES} entries under {}: compressed copies not checked, so none is used",
                www.display()
            );
            dir
        }
        Some(stale) => {
            tracing::warn!(
                "{} is older than the file it compresses (or that file is gone); serving {} without compression (run `make wasm`)",
                stale.display(),
                www.display()
            );
            dir
        }
    }
}

/// The first compressed copy (`.br`, `.gz`) under `www` that is older than the file it stands for,
/// or whose file is missing, or the directory where the check gave up after `MAX_ENTRIES`
/// entries; `None` when every copy is fresh (or there are none).
pub fn stale_copy(www: &Path) -> Option<PathBuf> {
    stale_copy_within(www, MAX_ENTRIES)
}

fn stale_copy_within(www: &Path, max_entries: usize) -> Option<PathBuf> {
    let mut dirs = vec![www.to_path_buf()];
    let mut seen = 0usize;
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            seen += 1;
            if seen > max_entries {
                return Some(dir);
            }
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "gz" || e == "br") && !fresh(&path) {
                return Some(path);
            }
        }
    }
    None
}

/// Whether the compressed copy at `copy` was written no earlier than the file it compresses.
fn fresh(copy: &Path) -> bool {
    let modified = |p: &Path| -> Option<SystemTime> { std::fs::metadata(p).and_then(|m| m.modified()).ok() };
    match (modified(copy), modified(&copy.with_extension(""))) {
        (Some(copy), Some(file)) => copy >= file,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::time::Duration;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("nalcast-static-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("pkg")).expect("mkdir");
        d
    }

    fn write(path: &Path, at: SystemTime) {
        std::fs::write(path, b"x").expect("write");
        File::options().write(true).open(path).expect("open").set_modified(at).expect("mtime");
    }

    #[test]
    fn fresh_copies_pass_and_stale_or_orphan_ones_are_found() {
        let t0 = SystemTime::now() - Duration::from_secs(100);
        let www = dir("fresh");
        write(&www.join("index.html"), t0);
        write(&www.join("pkg/m.wasm"), t0);
        write(&www.join("pkg/m.wasm.gz"), t0 + Duration::from_secs(1));
        write(&www.join("pkg/m.js"), t0);
        write(&www.join("pkg/m.js.gz"), t0);
        write(&www.join("pkg/m.js.br"), t0);
        assert_eq!(stale_copy(&www), None);

        write(&www.join("pkg/m.wasm"), t0 + Duration::from_secs(5)); // rebuilt, copy not redone
        assert_eq!(stale_copy(&www), Some(www.join("pkg/m.wasm.gz")));

        let orphan = dir("orphan");
        write(&orphan.join("pkg/gone.js.br"), t0);
        assert_eq!(stale_copy(&orphan), Some(orphan.join("pkg/gone.js.br")));

        assert_eq!(stale_copy(Path::new("/nonexistent/nalcast-www")), None);

        // A copy deep down counts, and a tree too big to check is not trusted.
        let deep = dir("deep");
        std::fs::create_dir_all(deep.join("a/b/c/d")).expect("mkdir");
        write(&deep.join("a/b/c/d/x.js"), t0 + Duration::from_secs(5));
        write(&deep.join("a/b/c/d/x.js.gz"), t0);
        assert_eq!(stale_copy(&deep), Some(deep.join("a/b/c/d/x.js.gz")));
        write(&deep.join("a/b/c/d/x.js.gz"), t0 + Duration::from_secs(6));
        assert_eq!(stale_copy(&deep), None);
        assert!(stale_copy_within(&deep, 3).is_some(), "gave up after 3 entries");
        let _ = std::fs::remove_dir_all(&deep);
        let _ = std::fs::remove_dir_all(&www);
        let _ = std::fs::remove_dir_all(&orphan);
    }
}
