//! Caps on what a hostile file can make a reader allocate.

use crate::chunk::ChunkHeader;
use crate::error::{Error, Result};

/// Allocation caps, checked before anything sized by the input is allocated.
///
/// Zero-copy parsing allocates nothing per chunk; these caps bound the streaming reader's payload
/// buffer and the tables the upper layers build from a file (tracks, seek entries, blocks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest chunk payload a reader accepts: none by default, since the format allows any
    /// u32 length and our writers write any; the streaming reader's buffer grows only as
    /// bytes arrive. A caller that wants to refuse big chunks before reading them sets it.
    pub max_chunk_len: u32,
    /// Largest number of tracks in a track list.
    pub max_tracks: u32,
    /// Largest number of seek entries an index may hold: over all tracks when the index is
    /// built from the blocks (by a muxer or a scan), over all extended (XSEK) tables when it is
    /// read. A version 1 table holds at most 65,535 entries, each stored in the file.
    pub max_seek_entries: u64,
    /// Largest number of bytes a reader may hold for tables built from the file.
    pub max_total_alloc: u64,
    /// Largest number of problems a verifier lists; past it, problems are counted, not kept.
    pub max_problems: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_chunk_len: u32::MAX,
            max_tracks: 65_536,
            max_seek_entries: 1 << 32,
            max_total_alloc: 4 << 30,
            max_problems: 10_000,
        }
    }
}

impl Limits {
    /// No caps beyond what the format itself allows.
    pub fn none() -> Self {
        Limits {
            max_chunk_len: u32::MAX,
            max_tracks: u32::MAX,
            max_seek_entries: u64::MAX,
            max_total_alloc: u64::MAX,
            max_problems: u64::MAX,
        }
    }
}

impl Limits {
    /// Refuses a chunk whose payload is longer than [`Limits::max_chunk_len`].
    pub fn check_chunk(&self, header: &ChunkHeader) -> Result<()> {
        if header.len > self.max_chunk_len {
            return Err(Error::Limit {
                tag: header.tag,
                offset: header.offset,
                what: "payload length",
                value: u64::from(header.len),
                max: u64::from(self.max_chunk_len),
            });
        }
        Ok(())
    }
}

/// The most a reader reserves up front from a count declared by the input; beyond it, storage
/// grows as items actually arrive.
pub const MAX_INITIAL_CAPACITY: usize = 4096;
