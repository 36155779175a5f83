//! Fuzz harnesses for h4mk: one pure function over `&[u8]` per target, so that the targets in
//! `fuzz_targets/` are three-line shims and the stable test suite can replay the same checks.
//!
//! Format-level targets (their checks live in [`checks`], which h4mk-format's tests include):
//!
//! | target | what must hold |
//! |---|---|
//! | `parse_slice` | parse, strict and lenient walks, `verify`, `chunk_at`/`chunks_from` never panic, stay in bounds, fuse, agree |
//! | `stream_reader` | the same through `ChunkReader`, plus `finish` and `seek_to` |
//! | `stream_vs_slice` | one-byte reads give the chunks and Ok/Err steps of the slice view |
//! | `roundtrip` | chunks written by `Writer` read back equal through every reader |
//! | `resync` | `resync::scan` keeps only chunks whose CRC validates and accounts for every byte |
//!
//! How to run them on a stable toolchain: docs/RELIABILITY.md.
//!
//! # Targets still to come (upper layers)
//!
//! Once h4mk-gop and h4mk-mt land, their targets go here the same way, each with its checks in
//! a module the owning crate's tests can include, and a shim in `fuzz_targets/`:
//!
//! - `seek_table`: `SeekTable::parse` on any TSEK payload, `lookup` at any time (h4mk-gop);
//! - `trak_json`: the TRAK track list parser on any bytes (h4mk-mt);
//! - `gop_chain`: chain planning over `arbitrary` block sequences never panics and returns
//!   chains that obey spec §5 (h4mk-gop);
//! - `mux_roundtrip`: `arbitrary` tracks and blocks through the muxer, then the demuxer, come
//!   back equal (h4mk-mt).
#![forbid(unsafe_code)]

pub mod checks;

pub use checks::{parse_slice, resync, roundtrip, stream_reader, stream_vs_slice};
