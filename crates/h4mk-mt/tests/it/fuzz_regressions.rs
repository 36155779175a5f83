//! Replays every committed fuzz input (`fuzz/corpus/<target>/regressions/*`) through the checks
//! of its target when that target belongs to this layer (`seek_table`, `track_list`,
//! `mux_roundtrip`, `demux`, `salvage`), and every input, whatever its target, through the
//! container-level checks of this layer (`demux` and `salvage`), so a plain `cargo test` on
//! stable catches a crasher coming back. The checks are the fuzz harnesses' own
//! (`fuzz/src/checks_mt.rs`); h4mk-format's tests replay the same inputs through the
//! format-level checks.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use crate::checks_mt;

fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus"))
}

/// Sorted entries of a directory (none if it does not exist).
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

#[test]
fn every_fuzz_regression_passes_the_checks_of_this_layer() {
    let mut replayed = 0;
    let mut failures = Vec::new();
    for target_dir in entries(&corpus_dir()) {
        let target = target_dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let own = checks_mt::by_name(&target);
        for file in entries(&target_dir.join("regressions")) {
            if !file.is_file() {
                continue;
            }
            let data = std::fs::read(&file).unwrap();
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                if let Some(check) = own {
                    check(&data);
                }
                checks_mt::all_bytes(&data);
            }));
            if outcome.is_err() {
                failures.push(format!(
                    "{target}/regressions/{}",
                    file.file_name().unwrap().to_string_lossy()
                ));
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
        corpus_dir().display()
    );
}
