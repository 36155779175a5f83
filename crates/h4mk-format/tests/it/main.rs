//! Integration tests of the chunk layer against the reference fixtures and damaged copies.
#![allow(clippy::unwrap_used)] // Tests and benches fail loudly on purpose.

// The fuzz harness checks, one copy shared with fuzz/ (its own workspace, so included by path).
#[allow(dead_code, unreachable_pub)]
#[path = "../../../../fuzz/src/checks.rs"]
mod checks;
mod damage;
mod fixtures;
mod fuzz_regressions;
// The replay loop, one copy shared with the other layers' replay tests.
mod mutation;
mod reference;
#[allow(unreachable_pub)]
#[path = "../../../../fuzz/src/replay.rs"]
mod replay;
mod stream;

use std::path::PathBuf;

/// The workspace's `fixtures/` folder.
pub(crate) fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"))
}

/// Names of the reference fixtures (`fixtures/reference/NAME.h4mk`).
pub(crate) const REFERENCE: [&str; 6] = [
    "bframes",
    "demo",
    "sidecars",
    "single_track_linear",
    "three_tracks_2000",
    "unicode_and_empty_track",
];

pub(crate) fn reference_bytes(name: &str) -> Vec<u8> {
    std::fs::read(
        fixtures_dir()
            .join("reference")
            .join(format!("{name}.h4mk")),
    )
    .unwrap()
}

pub(crate) fn reference_expect(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(
        fixtures_dir()
            .join("reference")
            .join(format!("{name}.expect.json")),
    )
    .unwrap();
    serde_json::from_str(&text).unwrap()
}
