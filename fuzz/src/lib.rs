//! Fuzz harnesses for h4mk: one pure function over `&[u8]` per target, so that the targets in
//! `fuzz_targets/` are three-line shims and the stable test suites can replay the same checks.
//!
//! Each module is the one copy of its checks, included with `#[path]` by the test suite of the
//! crate it can depend on, which replays every committed input under `fuzz/corpus/*/regressions/`:
//!
//! | module | targets | replayed by |
//! |---|---|---|
//! | [`checks`] | `parse_slice`, `stream_reader`, `stream_vs_slice`, `roundtrip`, `resync` | `cargo test -p h4mk-format` |
//! | [`checks_mt`] | `seek_table`, `track_list`, `mux_roundtrip`, `demux`, `salvage` | `cargo test -p h4mk-mt` |
//! | [`checks_plan`] | `chain_plan` | `cargo test -p h4mk-adapters` |
//! | [`checks_dsp`] | `dsp_decode` | `cargo test -p h4mk-adapters` |
//! | [`checks_wav`] | `wav` | `cargo test -p h4mk-adapters` |
//!
//! What each target checks is in the docs of its module; how to run them on a stable toolchain
//! is in docs/RELIABILITY.md.
#![forbid(unsafe_code)]

pub mod checks;
pub mod checks_dsp;
pub mod checks_mt;
pub mod checks_plan;
pub mod checks_wav;
pub mod replay;

pub use checks::{parse_slice, resync, roundtrip, stream_reader, stream_vs_slice};
pub use checks_dsp::dsp_decode;
pub use checks_mt::{demux, mux_roundtrip, seek_table, track_list};
pub use checks_plan::chain_plan;
pub use checks_wav::wav;

/// Target `salvage`: `h4mk_mt::salvage` on the input and on the input resealed
/// ([`checks_mt::salvage_check`]).
pub fn salvage(data: &[u8]) {
    checks_mt::salvage_check(data);
}
