//! Replays every committed fuzz regression (`fuzz/corpus/<target>/regressions/*`) through the
//! checks of its target and through every byte-level check, so a plain `cargo test` on stable
//! catches a crasher coming back. The checks are the fuzz harnesses' own (`fuzz/src/checks.rs`).

use std::path::Path;

use crate::checks;
use crate::replay::replay_all;

#[test]
fn every_fuzz_regression_passes_the_checks_of_its_target() {
    let corpus = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus"));
    replay_all(corpus, &|target, data| {
        // Targets of the upper layers replay their own checks in their crates' tests; here
        // every input goes through the format-level checks too.
        if let Some(check) = checks::by_name(target) {
            check(data);
        }
        checks::all_bytes(data);
    });
}
