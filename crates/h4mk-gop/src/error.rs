//! The crate's one error type.
//!
//! Variants fall into three groups, by who is at fault:
//! - bad input read from a file: reserved GOP flag values and malformed seek tables
//!   (every seek-table variant names the byte index inside the TSEK payload, `at`);
//! - block sequences that cannot be decoded as asked: missing keyframes, missing forward anchors,
//!   unsorted timestamps (each names the block index and its pts);
//! - caller misuse: a timestamp that does not fit in 28 bits, an unknown block letter,
//!   a seek table too large to write, a range with `t0 > t1`.

use crate::flags::BlockKind;

/// Everything that can go wrong in `h4mk-gop`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A timestamp does not fit in the 28 pts bits of the GOP flags (docs/FORMAT.md §3).
    #[error("timestamp {ts_ms} ms exceeds the 28-bit limit of {max} ms")]
    TimestampOutOfRange {
        /// The timestamp that was asked for.
        ts_ms: u32,
        /// The largest timestamp that fits, [`MAX_TIMESTAMP_MS`](crate::MAX_TIMESTAMP_MS).
        max: u32,
    },
    /// GOP flags carry block type 3, which version 1 reserves.
    #[error("gop flags {bits:#010x}: block type 3 (bits 28..29) is reserved")]
    ReservedBlockType {
        /// The whole flags word, as read.
        bits: u32,
    },
    /// GOP flags have bit 30 or 31 set; version 1 reserves both as 0.
    #[error("gop flags {bits:#010x}: reserved bits 30..31 are not 0")]
    ReservedFlagBits {
        /// The whole flags word, as read.
        bits: u32,
    },
    /// A letter that names no block type.
    #[error("unknown block type letter {0:?}: expected 'I', 'P' or 'B'")]
    UnknownBlockLetter(char),

    /// A TSEK payload shorter than its fixed header.
    #[error("seek table: payload is {len} bytes, shorter than the {needed}-byte header")]
    SeekTruncated {
        /// Payload length.
        len: usize,
        /// Bytes the header needs.
        needed: usize,
    },
    /// A TSEK payload whose `H4TS` or `H4SK` magic is wrong.
    #[error(
        "seek table: bad magic at byte {at}: expected \"{}\", found \"{}\"",
        .expected.escape_ascii(),
        .found.escape_ascii()
    )]
    SeekMagic {
        /// Byte index inside the payload.
        at: usize,
        /// The magic that belongs there.
        expected: [u8; 4],
        /// The bytes found there.
        found: [u8; 4],
    },
    /// A reserved u16 of the TSEK header is not 0.
    #[error("seek table: reserved field at byte {at} is {value:#06x}, expected 0")]
    SeekReserved {
        /// Byte index inside the payload.
        at: usize,
        /// The value found.
        value: u16,
    },
    /// The entry count disagrees with the payload length.
    #[error("seek table: {count} entries need a {expected}-byte payload, found {len} bytes")]
    SeekLength {
        /// Entry count declared at byte 12.
        count: u16,
        /// Payload length that count implies.
        expected: usize,
        /// Actual payload length.
        len: usize,
    },
    /// An entry's pts is smaller than the previous entry's.
    #[error(
        "seek table of track {track}: entry {index} at byte {at} has pts {ts_ms} ms, \
         before the previous entry's {prev_ts_ms} ms"
    )]
    SeekUnsorted {
        /// Track id of the table.
        track: u16,
        /// Entry index.
        index: usize,
        /// Byte index of the entry inside the payload.
        at: usize,
        /// The entry's pts.
        ts_ms: u32,
        /// The previous entry's pts.
        prev_ts_ms: u32,
    },
    /// An entry's file offset is not larger than the previous entry's.
    #[error(
        "seek table of track {track}: entry {index} at byte {at} has file offset {offset}, \
         not after the previous entry's {prev_offset}"
    )]
    SeekOffsetOrder {
        /// Track id of the table.
        track: u16,
        /// Entry index.
        index: usize,
        /// Byte index of the entry inside the payload.
        at: usize,
        /// The entry's file offset.
        offset: u64,
        /// The previous entry's file offset.
        prev_offset: u64,
    },
    /// A table to write has more entries than the u16 count can hold.
    #[error("seek table of track {track}: {count} entries exceed the version 1 limit of {max}")]
    SeekTooManyEntries {
        /// Track id of the table.
        track: u16,
        /// Entries in the table.
        count: usize,
        /// The limit, [`MAX_SEEK_ENTRIES`](crate::MAX_SEEK_ENTRIES).
        max: usize,
    },
    /// A table to write has an offset past 4 GiB, which a u32 cannot hold.
    #[error(
        "seek table of track {track}: entry {index} has file offset {offset}, past the u32 limit"
    )]
    SeekOffsetTooLarge {
        /// Track id of the table.
        track: u16,
        /// Entry index.
        index: usize,
        /// The offending offset.
        offset: u64,
    },

    /// Blocks handed to the planner are not in non-decreasing pts order.
    #[error("block {index} has pts {ts_ms} ms, before the previous block's {prev_ts_ms} ms")]
    BlocksUnsorted {
        /// Index of the block in the slice.
        index: usize,
        /// Its pts.
        ts_ms: u32,
        /// The pts of the block before it.
        prev_ts_ms: u32,
    },
    /// A P- or B-block that must be decoded has no I-block before it.
    #[error("block {index} ({kind}, pts {ts_ms} ms) has no keyframe before it")]
    MissingKeyframe {
        /// Index of the block in the slice.
        index: usize,
        /// Its pts.
        ts_ms: u32,
        /// Its kind (P or B).
        kind: BlockKind,
    },
    /// A B-block that must be decoded has no I- or P-block after it.
    #[error("B-block {index} (pts {ts_ms} ms) has no forward anchor after it")]
    MissingForwardAnchor {
        /// Index of the block in the slice.
        index: usize,
        /// Its pts.
        ts_ms: u32,
    },
    /// A range whose start is after its end (caller misuse).
    #[error("invalid range: start {t0_ms} ms is after end {t1_ms} ms")]
    InvalidRange {
        /// Range start.
        t0_ms: u32,
        /// Range end.
        t1_ms: u32,
    },
}

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
