//! The one error type of the multi-track layer.
//!
//! Lower layers' errors pass through unchanged ([`Error::Format`], [`Error::Gop`]). The variants
//! added here fall in three groups:
//! - bad input read from a file, each naming the byte offset (and tag where one applies):
//!   routing headers, GOP flags, the track list, seek tables and the index extensions;
//! - blocks of a file that cannot be decoded as asked, naming the track and the block's offset;
//! - caller misuse of the [`crate::Muxer`]: GOP rules broken, unknown or ended tracks, each
//!   naming the track and pts;
//! - for [`crate::remux()`], which input an error is about.

use h4mk_format::Tag;
use h4mk_gop::BlockKind;

/// Errors of the multi-track layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the chunk layer (framing, CRC, limits, I/O).
    #[error(transparent)]
    Format(#[from] h4mk_format::Error),
    /// An error of the GOP layer that is not about one place in a file.
    #[error(transparent)]
    Gop(#[from] h4mk_gop::Error),

    /// A chunk of another type where a given type was needed.
    #[error("chunk {tag} at offset {offset}: expected a {expected} chunk")]
    UnexpectedChunk {
        /// Offset of the chunk header.
        offset: u64,
        /// The tag found.
        tag: Tag,
        /// The tag needed.
        expected: Tag,
    },
    /// A CORE payload shorter than its 8-byte routing header.
    #[error(
        "CORE chunk at offset {offset}: payload of {len} bytes is shorter than the 8-byte routing header"
    )]
    RoutingTruncated {
        /// Offset of the chunk header.
        offset: u64,
        /// Payload length.
        len: usize,
    },
    /// A CORE payload that does not start with `H4TB`.
    #[error("CORE chunk at offset {offset}: routing magic is `{}`, not `H4TB`", Tag(*found))]
    RoutingMagic {
        /// Offset of the chunk header.
        offset: u64,
        /// The four bytes found.
        found: [u8; 4],
    },
    /// A CORE chunk whose flags are not valid GOP flags.
    #[error("CORE chunk at offset {offset}: bad gop flags")]
    BlockFlags {
        /// Offset of the chunk header.
        offset: u64,
        /// What is wrong with the flags.
        #[source]
        source: h4mk_gop::Error,
    },
    /// A TRAK payload that is not the JSON track list.
    #[error("TRAK chunk at offset {offset}: {detail}")]
    TrackList {
        /// Offset of the chunk header.
        offset: u64,
        /// What the JSON parser found wrong.
        detail: String,
    },
    /// A track list naming the same track id twice.
    #[error("TRAK chunk at offset {offset}: track id {track} appears more than once")]
    DuplicateTrackId {
        /// Offset of the chunk header.
        offset: u64,
        /// The repeated id.
        track: u16,
    },
    /// A seek table (TSEK or XSEK) that does not parse.
    #[error("{tag} chunk at offset {offset}: bad seek table")]
    SeekTable {
        /// The table's tag.
        tag: Tag,
        /// Offset of the chunk header.
        offset: u64,
        /// What is wrong with it.
        #[source]
        source: h4mk_gop::Error,
    },
    /// An index extension chunk (XSEK, XLOC) that does not parse.
    #[error("{tag} chunk at offset {offset}: {what}")]
    Extension {
        /// The chunk's tag.
        tag: Tag,
        /// Offset of the chunk header.
        offset: u64,
        /// What is wrong with it.
        what: &'static str,
    },

    /// A B-block to decode with no I- or P-block after it in its track.
    #[error(
        "track {track}: B-block at offset {offset} (pts {ts_ms} ms) has no forward anchor after it"
    )]
    MissingForwardAnchor {
        /// The track.
        track: u16,
        /// Payload offset of the B-block.
        offset: u64,
        /// Its pts.
        ts_ms: u32,
    },
    /// A block to decode with no I-block before it in its track.
    #[error(
        "track {track}: {kind}-block at offset {offset} (pts {ts_ms} ms) has no keyframe before it"
    )]
    MissingKeyframe {
        /// The track.
        track: u16,
        /// Payload offset of the block.
        offset: u64,
        /// Its pts.
        ts_ms: u32,
        /// Its type.
        kind: BlockKind,
    },
    /// A track whose blocks go back in time in the file.
    #[error(
        "track {track}: block at offset {offset} has pts {ts_ms} ms, before the previous block's {prev_ts_ms} ms"
    )]
    BlocksUnsorted {
        /// The track.
        track: u16,
        /// Payload offset of the block.
        offset: u64,
        /// Its pts.
        ts_ms: u32,
        /// The pts of the track's block before it.
        prev_ts_ms: u32,
    },

    /// The caller named a track that is not in the track list.
    #[error("track {track} is not in the track list")]
    UnknownTrack {
        /// The id asked for.
        track: u16,
    },
    /// The caller's track list names the same id twice.
    #[error("track id {track} appears more than once in the track list")]
    DuplicateTrack {
        /// The repeated id.
        track: u16,
    },
    /// A block pushed to a track that was already ended.
    #[error("track {track} has ended: no block can follow")]
    TrackEnded {
        /// The track.
        track: u16,
    },
    /// A track's first block is not an I-block.
    #[error(
        "track {track}: the first block (pts {ts_ms} ms) is a {kind}-block, a track must start with an I-block"
    )]
    FirstBlockNotKey {
        /// The track.
        track: u16,
        /// The block's pts.
        ts_ms: u32,
        /// Its type.
        kind: BlockKind,
    },
    /// A block whose pts is before its track's previous block. For a B-block, the message
    /// says that blocks go in presentation order: an encoder gives them in decode order (the
    /// anchor first), which `h4mk_adapters::in_presentation_order` and
    /// [`h4mk_gop::presentation_ranks`] put in presentation order.
    #[error(
        "track {track}: pts {ts_ms} ms goes back from the previous block's {prev_ts_ms} ms{}",
        if *kind == BlockKind::Bidirectional {
            " (blocks are handed over in presentation order: a B-block before the anchor it \
             follows in decode order)"
        } else {
            ""
        }
    )]
    PtsBackwards {
        /// The track.
        track: u16,
        /// The block's pts.
        ts_ms: u32,
        /// The track's previous pts.
        prev_ts_ms: u32,
        /// The block's type.
        kind: BlockKind,
    },
    /// A block whose pts is before the pts its track was advanced to.
    #[error(
        "track {track}: pts {ts_ms} ms is before the {promised_ms} ms the track was advanced to"
    )]
    PtsBeforeAdvance {
        /// The track.
        track: u16,
        /// The block's pts.
        ts_ms: u32,
        /// The pts the track was advanced to ([`crate::Muxer::advance`]).
        promised_ms: u32,
    },
    /// A pts that does not fit in the 28 bits of the GOP flags.
    #[error("track {track}: pts {ts_ms} ms exceeds the 28-bit limit of {max} ms")]
    PtsTooLarge {
        /// The track.
        track: u16,
        /// The pts asked for.
        ts_ms: u32,
        /// The largest pts that fits.
        max: u32,
    },
    /// A block too large for one CORE chunk, whose payload length is 32 bits.
    #[error(
        "track {track}: the block at pts {ts_ms} ms has {len} bytes, more than the {max} a CORE chunk can carry"
    )]
    BlockTooLarge {
        /// The track.
        track: u16,
        /// The block's pts.
        ts_ms: u32,
        /// Its opaque length.
        len: u64,
        /// The largest opaque length that fits.
        max: u64,
    },
    /// A track that ends on a B-block, which would have no forward anchor.
    #[error("track {track} ends on a B-block (pts {ts_ms} ms), which has no forward anchor")]
    EndsOnB {
        /// The track.
        track: u16,
        /// The B-block's pts.
        ts_ms: u32,
    },
    /// A value could not be encoded as JSON.
    #[error("could not encode the track list as JSON")]
    Json(#[source] serde_json::Error),
    /// A block of a [`remux`](crate::remux()) input that comes after a block with a later
    /// pts: a remux reads each input in pts order, as the reference writes it.
    #[error(
        "CORE chunk at offset {offset}: pts {ts_ms} ms comes after a block at {prev_ts_ms} ms: a remux reads an input in pts order, as the reference writes it"
    )]
    OutOfOrder {
        /// Offset of the chunk header.
        offset: u64,
        /// The block's pts.
        ts_ms: u32,
        /// The pts of the block kept before it.
        prev_ts_ms: u32,
    },
    /// A [`remux`](crate::remux()) pick of an input that is not among the inputs.
    #[error("input {input} is not among the {inputs} inputs")]
    UnknownInput {
        /// The input asked for, from 0.
        input: usize,
        /// How many inputs there are.
        inputs: usize,
    },
    /// An error about one input of a [`remux`](crate::remux()): reading its blocks, or handing
    /// one over.
    #[error("input {input}")]
    InInput {
        /// The input, from 0.
        input: usize,
        /// What went wrong with it.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// `Ok` when `chunk` is a `expected` chunk, else [`Error::UnexpectedChunk`].
    pub(crate) fn expect_tag(chunk: &h4mk_format::ChunkRef<'_>, expected: Tag) -> Result<()> {
        if chunk.tag == expected {
            return Ok(());
        }
        Err(Error::UnexpectedChunk {
            offset: chunk.offset,
            tag: chunk.tag,
            expected,
        })
    }

    /// The byte offset the error is about, when it is about a place in a file: where its chunk
    /// starts (its header) for an error about a chunk, and where a block's CORE payload starts
    /// (12 bytes later: the offset [`BlockRef`](crate::BlockRef), seek tables and `h4mk list`
    /// give) for an error about a block of a decode plan (`MissingForwardAnchor`,
    /// `MissingKeyframe`, `BlocksUnsorted`). Each message says which: "CORE chunk at offset
    /// …" or "P-block at offset …".
    pub fn offset(&self) -> Option<u64> {
        match self {
            Error::Format(e) => e.offset(),
            Error::UnexpectedChunk { offset, .. }
            | Error::RoutingTruncated { offset, .. }
            | Error::RoutingMagic { offset, .. }
            | Error::BlockFlags { offset, .. }
            | Error::TrackList { offset, .. }
            | Error::DuplicateTrackId { offset, .. }
            | Error::SeekTable { offset, .. }
            | Error::Extension { offset, .. }
            | Error::MissingForwardAnchor { offset, .. }
            | Error::MissingKeyframe { offset, .. }
            | Error::BlocksUnsorted { offset, .. }
            | Error::OutOfOrder { offset, .. } => Some(*offset),
            Error::InInput { source, .. } => source.offset(),
            _ => None,
        }
    }

    /// True when the bytes of a file are at fault (as opposed to the caller or I/O).
    pub fn is_damage(&self) -> bool {
        match self {
            Error::Format(e) => e.is_damage(),
            Error::Gop(_)
            | Error::UnknownTrack { .. }
            | Error::DuplicateTrack { .. }
            | Error::TrackEnded { .. }
            | Error::FirstBlockNotKey { .. }
            | Error::PtsBackwards { .. }
            | Error::PtsBeforeAdvance { .. }
            | Error::PtsTooLarge { .. }
            | Error::BlockTooLarge { .. }
            | Error::EndsOnB { .. }
            | Error::Json(_)
            | Error::UnknownInput { .. } => false,
            Error::InInput { source, .. } => source.is_damage(),
            _ => true,
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
