//! Scratch directories shared by the CLI's integration tests. Each test
//! binary names its root with `const SCRATCH: &str` at its top; its
//! directories live under `CARGO_TARGET_TMPDIR/SCRATCH`, named
//! `NAME-PID`, so a later run can remove what a dead process left.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Once;

/// The root of this test binary's directories.
pub fn scratch_root() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(crate::SCRATCH)
}

/// Removes the dirs of earlier runs whose process is gone (shared dirs
/// that live in statics are never dropped; a failed test keeps its own).
pub fn remove_stale_dirs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Ok(entries) = std::fs::read_dir(scratch_root()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name.rsplit('-').next().and_then(|p| p.parse::<u32>().ok());
            if let Some(pid) = pid {
                if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
    });
}

/// A directory of one test, removed when dropped unless the test failed.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        remove_stale_dirs();
        let path = scratch_root().join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept {} for inspection", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A path as a command-line argument.
pub fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}
