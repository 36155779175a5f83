//! Replays every committed fuzz input (`fuzz/corpus/<target>/regressions/*`), whatever its
//! target, through the checks of the `chain_plan` target (any bytes read as a block sequence),
//! so a plain `cargo test` on stable catches a crasher coming back. The checks are the fuzz
//! harness's own (`fuzz/src/checks_plan.rs`): h4mk-gop's planners, decoded through this crate's
//! `NullAdapter`.

use std::path::Path;

use crate::checks_plan;
use crate::replay::replay_all;

#[test]
fn every_fuzz_regression_passes_the_plan_checks() {
    let corpus = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus"));
    // Any bytes read as a block sequence: every input, whatever its target.
    replay_all(corpus, &|_target, data| checks_plan::chain_plan(data));
}
