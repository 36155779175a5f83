//! Replays every committed fuzz input (`fuzz/corpus/<target>/regressions/*`) through a layer's
//! checks. The stable replay tests of h4mk-format, h4mk-mt and h4mk-adapters include this file
//! by path (as they include the checks), so a plain `cargo test` catches a crasher coming back.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Runs `check(target, input)` over every file under `corpus/<target>/regressions/`, in sorted
/// order, and panics naming every input whose check panicked, or when there is no input at all.
pub fn replay_all(corpus: &Path, check: &dyn Fn(&str, &[u8])) {
    let mut replayed = 0;
    let mut failures = Vec::new();
    for target_dir in entries(corpus) {
        let target = target_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for file in entries(&target_dir.join("regressions")) {
            if !file.is_file() {
                continue;
            }
            let data = std::fs::read(&file).expect("reading a regression input");
            if panic::catch_unwind(AssertUnwindSafe(|| check(&target, &data))).is_err() {
                let name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                failures.push(format!("{target}/regressions/{name}"));
            }
            replayed += 1;
        }
    }
    println!("replayed {replayed} fuzz regressions");
    assert!(
        failures.is_empty(),
        "failing regressions (see the panics above): {failures:?}"
    );
    assert!(
        replayed > 0,
        "no regressions found under {}",
        corpus.display()
    );
}

/// Sorted entries of a directory (none if it does not exist).
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}
