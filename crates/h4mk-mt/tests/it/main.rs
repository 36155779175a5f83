//! Integration tests of the multi-track layer: reference fixtures byte for byte, what the
//! reference reader accepts, index discovery and rebuild, windowed planning, muxer memory,
//! verification in one walk, remuxing, and the replay of every fuzz regression.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

mod big;
// The fuzz harness checks of this layer, one copy shared with fuzz/ (its own workspace, so
// included by path).
#[allow(dead_code, unreachable_pub)]
#[path = "../../../../fuzz/src/checks_mt.rs"]
mod checks_mt;
mod compat;
mod fuzz_regressions;
mod golden;
mod index;
mod memory;
mod plan;
mod reference;
mod remux;
mod salvage;
mod support;
mod verify;

// The fixtures' folder and names, one copy shared by every layer's tests.
#[allow(dead_code)]
#[path = "../../../h4mk-format/tests/it/reference_fixtures.rs"]
mod reference_fixtures;
// The replay loop, one copy shared with the other layers' replay tests.
#[allow(unreachable_pub)]
#[path = "../../../../fuzz/src/replay.rs"]
mod replay;
