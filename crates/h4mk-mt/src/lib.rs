//! The multi-track layer of H4MK: track lists, block routing, sidecars, a streaming muxer and a
//! zero-copy demuxer with a seek index found from the end of the file.
//!
//! This is layer 2 of the workspace: it depends on `h4mk-format` (chunks, CRCs, the writer)
//! and `h4mk-gop` (GOP flags, seek tables, decode planning), and does no file-system I/O: the
//! muxer writes to any `Write`, the demuxer reads a `&[u8]` (the CLI maps files). The bytes
//! are those of the Python reference, byte for byte; docs/FORMAT.md describes them, and the
//! extensions this crate adds (§6), which the reference skips safely.
//!
//! - [`Muxer`]: writes blocks as they are produced, per track, in the reference's order
//!   (sorted by pts, then track id), holding back only blocks whose place is not settled
//!   (copied; by reference with [`Muxer::push_borrowed`] when the bytes outlive the muxer;
//!   moved in with [`Muxer::push_owned`] when each block has a `Vec` of its own);
//!   enforces the GOP rules; [`Muxer::advance`] lets a sparse track say how far it has got, so
//!   the others need not wait for it; [`MuxOptions`] adds flushing per chunk and an index
//!   locator.
//! - [`Demuxer`]: opens a file reading only its head and its index ([`IndexStatus`] says how
//!   the index was found or why it was rebuilt); [`Demuxer::blocks`] lists every [`BlockRef`],
//!   [`Demuxer::chain`] and [`Demuxer::range`] plan decoding ([`DecodeStep`]s) walking only the
//!   blocks they need, [`Demuxer::verify`] checks a file against what the reference writes.
//! - [`remux()`]: tracks of one or more files ([`Pick`]s) written into a new one, whole or cut
//!   to a time span, each input read once and each block handed over by reference.
//! - [`salvage()`]: every intact chunk of a damaged or truncated file (found by
//!   `h4mk_format::resync`), rebuilt into a sound container; [`SalvageReport`] says what was
//!   kept and what was lost, and why.
//! - Reusable pieces for tools such as a salvager: [`route`] (a CORE chunk to a block),
//!   [`parse_track_list`] / [`encode_track_list`] ([`TrackSpec`], serde types of the TRAK
//!   JSON), [`index::IndexBuilder`], [`index::write_index`], [`index::find_index`],
//!   [`index::scan_index`].
//! - [`Error`]: one enum; errors about a file name the offset (and tag, track, pts).
//! - [`BlockKind`] and [`SeekEntry`], which the muxer takes and the demuxer gives, are
//!   h4mk-gop's, and [`ParseOptions`], [`Limits`], [`Mode`] ([`Demuxer::open_with`]) and
//!   [`Tag`] ([`Sidecars::get`]) h4mk-format's, re-exported so that a user of this crate
//!   alone need not depend on those (and keep their versions in step).
//!
//! ```
//! use h4mk_mt::{Demuxer, IndexStatus, MuxOptions, Muxer};
//!
//! let demo = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/reference/demo.h4mk"))?;
//! let file = Demuxer::open(&demo)?;
//! assert_eq!(file.tracks().len(), 2);
//! assert_eq!(file.index_status(), &IndexStatus::Trailing);
//! assert_eq!(file.sidecars().meta, Some(&br#"{"title": "H4MK Multi-Track Demo", "duration_ms": 333}"#[..]));
//!
//! // Showing track 1 at 70 ms needs the B-block at 66 ms, after its forward anchor at 99 ms.
//! let plan: Vec<String> = file
//!     .chain(1, 70)?
//!     .iter()
//!     .map(|s| format!("{}{}", s.kind.letter(), s.block.ts_ms))
//!     .collect();
//! assert_eq!(plan, ["I0", "P33", "P99", "B66"]);
//!
//! // Writing the same blocks again gives the same bytes.
//! let mut mux = Muxer::new(
//!     Vec::new(),
//!     file.tracks().to_vec(),
//!     &file.sidecars(),
//!     MuxOptions::default(),
//! )?;
//! for block in file.blocks() {
//!     let b = block?;
//!     mux.push(b.track, b.ts_ms, b.kind, b.opaque)?;
//! }
//! let (bytes, _summary) = mux.finish()?;
//! assert_eq!(bytes, demo);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod demux;
mod error;
pub mod index;
pub mod json;
mod mux;
mod remux;
mod router;
pub mod salvage;
mod sidecar;
mod track;

pub use demux::{
    Blocks, DecodeStep, Demuxer, Problem, Report, UnknownChunks, plan_chain, plan_range,
};
pub use error::{Error, Result};
pub use h4mk_format::{Limits, Mode, ParseOptions, Tag};
pub use h4mk_gop::{BlockKind, SeekEntry};
pub use index::{IndexProblem, IndexStatus};
pub use mux::{MAX_OPAQUE_LEN, MuxOptions, MuxSummary, Muxer, TrackSummary};
pub use remux::{Pick, RemuxOptions, RemuxSummary, remux};
pub use router::{BlockRef, ROUTE_HEADER_LEN, ROUTE_MAGIC, route, route_header};
pub use salvage::{Omitted, SalvageOptions, SalvageReport, salvage, salvage_with};
pub use sidecar::Sidecars;
pub use track::{
    TRACK_KEYS, TrackList, TrackProblem, TrackSpec, encode_track_list, parse_track_list,
};
