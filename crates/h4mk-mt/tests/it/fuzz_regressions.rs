//! Replays every committed fuzz input (`fuzz/corpus/<target>/regressions/*`) through the checks
//! of its target when that target belongs to this layer (`seek_table`, `track_list`,
//! `mux_roundtrip`, `demux`, `salvage`), and every input, whatever its target, through the
//! container-level checks of this layer (`demux` and `salvage`), so a plain `cargo test` on
//! stable catches a crasher coming back. The checks are the fuzz harnesses' own
//! (`fuzz/src/checks_mt.rs`); h4mk-format's tests replay the same inputs through the
//! format-level checks.

use std::path::Path;

use crate::checks_mt;
use crate::replay::replay_all;

#[test]
fn every_fuzz_regression_passes_the_checks_of_this_layer() {
    let corpus = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus"));
    replay_all(corpus, &|target, data| {
        if let Some(check) = checks_mt::by_name(target) {
            check(data);
        }
        checks_mt::all_bytes(data);
    });
}
