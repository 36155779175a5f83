//! Integration tests of the chunk layer against the reference fixtures and damaged copies.
#![allow(clippy::unwrap_used)] // Tests and benches fail loudly on purpose.

// The fuzz harness checks, one copy shared with fuzz/ (its own workspace, so included by path).
#[allow(dead_code, unreachable_pub)]
#[path = "../../../../fuzz/src/checks.rs"]
mod checks;
mod damage;
mod fixtures;
mod fuzz_regressions;
mod mutation;
mod reference;
// The fixtures' folder and names, one copy shared with the other layers' tests.
mod reference_fixtures;
mod stream;

// The replay loop, one copy shared with the other layers' replay tests.
#[allow(unreachable_pub)]
#[path = "../../../../fuzz/src/replay.rs"]
mod replay;

use reference_fixtures::{REFERENCE, fixtures_dir, read_reference};

pub(crate) fn reference_bytes(name: &str) -> Vec<u8> {
    read_reference(name, "h4mk")
}

pub(crate) fn reference_expect(name: &str) -> serde_json::Value {
    serde_json::from_slice(&read_reference(name, "expect.json")).unwrap()
}
