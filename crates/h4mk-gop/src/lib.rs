//! GOP layer of the H4MK container: block types, seek tables and decode planning.
//!
//! This crate is layer 1 of the workspace. It needs nothing from `h4mk-format` and does no
//! I/O: it works on the `u32` flags words and `&[u8]` payloads that the format layer hands it.
//!
//! - [`GopFlags`] packs and unpacks the flags word of a CORE chunk: the pts in milliseconds
//!   (28 bits, at most [`MAX_TIMESTAMP_MS`]) and the [`BlockKind`] (I, P or B).
//! - [`SeekTable`] is a zero-copy, validated view of a TSEK payload, with O(log n)
//!   [`SeekTable::lookup`]; [`SeekTableBuf`] is the owned form that writes one. Both hold
//!   [`SeekEntry`]s.
//! - [`chain`] and [`range`] plan the decoding of one track from its [`BlockInfo`]s, as
//!   [`Step`]s in decode order, following the rules of docs/FORMAT.md §5;
//!   [`presentation_ranks`] puts blocks given in decode order back in presentation order.
//!
//! Every failure is an [`Error`]; errors about input bytes name the byte index, errors about
//! blocks name the block index and pts.
//!
//! # Example
//!
//! ```
//! use h4mk_gop::{BlockInfo, BlockKind, GopFlags, SeekEntry, SeekTable, SeekTableBuf};
//!
//! // Flags words as read from CORE chunk headers.
//! let words = [0x0000_0000, 0x1000_0021, 0x2000_0042, 0x1000_0063, 0x0000_014d];
//! let blocks = words
//!     .iter()
//!     .map(|&w| GopFlags::try_from(w).map(|f| BlockInfo { ts_ms: f.timestamp_ms(), kind: f.kind() }))
//!     .collect::<Result<Vec<_>, _>>()?;
//! assert_eq!(format!("{:?}", GopFlags::try_from(words[1])?), "ts=33ms kind=P");
//!
//! // What to decode to show t = 70 ms: the B-block at 66 ms needs the P-block at 99 ms first.
//! let steps = h4mk_gop::chain(&blocks, 70)?;
//! let plan: String = steps.iter().map(|s| format!("{}{} ", s.kind.letter(), blocks[s.index].ts_ms)).collect();
//! assert_eq!(plan, "I0 P33 P99 B66 ");
//!
//! // A seek table for the keyframes, written and read back.
//! let table = SeekTableBuf {
//!     track_id: 1,
//!     entries: vec![SeekEntry { ts_ms: 0, offset: 457 }, SeekEntry { ts_ms: 333, offset: 670 }],
//! };
//! let payload = table.to_bytes()?;
//! let view = SeekTable::parse(&payload)?;
//! assert_eq!(view.lookup(200), Some(SeekEntry { ts_ms: 0, offset: 457 }));
//! assert_eq!(view.lookup(400).map(|e| e.offset), Some(670));
//! assert_eq!(BlockKind::try_from('B')?, BlockKind::Bidirectional);
//! # Ok::<(), h4mk_gop::Error>(())
//! ```

#![forbid(unsafe_code)]

mod chain;
mod error;
mod flags;
mod seek;

pub use crate::chain::{BlockInfo, PresentationOrder, Step, chain, presentation_ranks, range};
pub use crate::error::{Error, Result};
pub use crate::flags::{BlockKind, GopFlags, MAX_TIMESTAMP_MS};
pub use crate::seek::{
    ENTRY_SIZE, HEADER_SIZE, MAX_SEEK_ENTRIES, SEEK_MAGIC, SeekEntry, SeekIter, SeekTable,
    SeekTableBuf, TRACK_MAGIC,
};

/// Internals exposed only to this crate's benches; not part of the API and not semver-stable.
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod bench_internals {
    use crate::seek::{Entries, SeekEntry};

    /// [`SeekTable::lookup`](crate::SeekTable::lookup)'s search over bare entry bytes
    /// (8 bytes each, no header), free of the 65,535-entry limit of a version 1 table.
    pub fn lookup_entries(entry_bytes: &[u8], t_ms: u32) -> Option<SeekEntry> {
        Entries(entry_bytes).lookup(t_ms)
    }
}
