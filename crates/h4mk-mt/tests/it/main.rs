//! Integration tests of the multi-track layer: reference fixtures byte for byte, what the
//! reference reader accepts, index discovery and rebuild, windowed planning, muxer memory,
//! verification in one walk, and the replay of every fuzz regression.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

mod big;
// The fuzz harness checks of this layer, one copy shared with fuzz/ (its own workspace, so
// included by path).
#[allow(dead_code, unreachable_pub)]
#[path = "../../../../fuzz/src/checks_mt.rs"]
mod checks_mt;
mod compat;
mod fuzz_regressions;
// The replay loop, one copy shared with the other layers' replay tests.
mod golden;
mod index;
mod memory;
mod plan;
mod reference;
#[allow(unreachable_pub)]
#[path = "../../../../fuzz/src/replay.rs"]
mod replay;
mod salvage;
mod support;
mod verify;
