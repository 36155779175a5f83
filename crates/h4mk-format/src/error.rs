//! The one error type of the format layer.
//!
//! Every variant about the bytes of a file names the byte offset where the problem is, and the
//! chunk tag where one applies. Bad input ([`Error::is_damage`]) is kept apart from caller misuse
//! ([`Error::Parameter`]) and from I/O failures.

use crate::tag::Tag;

/// Errors of the format layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The underlying reader or writer failed.
    #[error("i/o error")]
    Io(#[from] std::io::Error),
    /// The first four bytes are not `H4MK`.
    #[error("not an H4MK file: offset 0 holds `{}`, not the magic `H4MK`", Tag(*found))]
    BadMagic {
        /// The four bytes found at offset 0.
        found: [u8; 4],
    },
    /// The input ends inside the 16-byte header.
    #[error("truncated header: the file ends at offset {len}, inside the 16-byte header")]
    TruncatedHeader {
        /// Length of the input.
        len: u64,
    },
    /// The input ends where the 4-byte file CRC should be.
    #[error(
        "missing file crc: the file ends at offset {len}, where the 4-byte footer should start at offset {offset}"
    )]
    MissingFooter {
        /// Where the footer was expected.
        offset: u64,
        /// Length of the input.
        len: u64,
    },
    /// Fewer than 12 bytes of chunk header before the file CRC.
    #[error(
        "chunk header at offset {offset}: only {remaining} bytes before the file crc, a chunk header needs 12"
    )]
    TruncatedChunkHeader {
        /// Offset of the would-be chunk header.
        offset: u64,
        /// Bytes left before the footer.
        remaining: u64,
    },
    /// A chunk's payload and CRC do not fit before the file CRC.
    #[error(
        "chunk {tag} at offset {offset}: payload length {len} plus its 4-byte crc exceeds the {remaining} bytes left before the file crc"
    )]
    Truncated {
        /// The chunk's tag.
        tag: Tag,
        /// Offset of the chunk header.
        offset: u64,
        /// Declared payload length.
        len: u32,
        /// Bytes after the chunk header, before the footer.
        remaining: u64,
    },
    /// A chunk's stored CRC does not match its bytes.
    #[error("chunk {tag} at offset {offset}: crc stored {stored:#010x}, computed {computed:#010x}")]
    ChunkCrc {
        /// The chunk's tag.
        tag: Tag,
        /// Offset of the chunk header.
        offset: u64,
        /// CRC stored after the payload.
        stored: u32,
        /// CRC of the header and payload as read.
        computed: u32,
    },
    /// The file CRC does not match the bytes before it.
    #[error("file crc at offset {offset}: stored {stored:#010x}, computed {computed:#010x}")]
    FileCrc {
        /// Offset of the footer.
        offset: u64,
        /// CRC stored in the footer.
        stored: u32,
        /// CRC of every byte before the footer.
        computed: u32,
    },
    /// A value exceeds a cap from [`crate::Limits`] or from the format itself.
    #[error("chunk {tag} at offset {offset}: {what} {value} exceeds the limit {max}")]
    Limit {
        /// The chunk's tag.
        tag: Tag,
        /// Offset of the chunk header.
        offset: u64,
        /// What was too large.
        what: &'static str,
        /// The value found or asked for.
        value: u64,
        /// The cap.
        max: u64,
    },
    /// An offset handed in by the caller is not where a chunk starts.
    #[error("offset {offset}: {what}")]
    Parameter {
        /// The offset the caller asked for.
        offset: u64,
        /// What is wrong with it.
        what: &'static str,
    },
}

impl Error {
    /// The byte offset the error is about, when it is about a place in the file.
    pub fn offset(&self) -> Option<u64> {
        match *self {
            Error::Io(_) => None,
            Error::BadMagic { .. } => Some(0),
            Error::TruncatedHeader { len } => Some(len),
            Error::MissingFooter { offset, .. }
            | Error::TruncatedChunkHeader { offset, .. }
            | Error::Truncated { offset, .. }
            | Error::ChunkCrc { offset, .. }
            | Error::FileCrc { offset, .. }
            | Error::Limit { offset, .. }
            | Error::Parameter { offset, .. } => Some(offset),
        }
    }

    /// True when the input is at fault (as opposed to I/O or the caller).
    pub fn is_damage(&self) -> bool {
        !matches!(self, Error::Io(_) | Error::Parameter { .. })
    }
}

/// Result with the format layer's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
