//! CORE routing: which track a block belongs to (docs/FORMAT.md §2.2).
//!
//! A CORE payload is `H4TB`, a u16 track id, a u16 reserved field and the opaque model bytes.
//! The chunk's flags are the block's GOP flags. [`route`] is a plain function over one chunk,
//! so that readers, verifiers and a later salvage tool share it.

use std::fmt;

use h4mk_format::{CHUNK_HEADER_LEN, ChunkRef, Tag};
use h4mk_gop::{BlockKind, GopFlags};

use crate::error::{Error, Result};

/// The magic at the start of every CORE payload.
pub const ROUTE_MAGIC: [u8; 4] = *b"H4TB";
/// Size of the routing header before the opaque bytes.
pub const ROUTE_HEADER_LEN: usize = 8;

/// One block of one track, borrowed from the file.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockRef<'a> {
    /// Offset of the CORE payload (the `H4TB` bytes), as seek tables store it; the chunk
    /// header is 12 bytes before.
    pub offset: u64,
    /// The track id from the routing header.
    pub track: u16,
    /// Presentation timestamp in milliseconds.
    pub ts_ms: u32,
    /// Block type.
    pub kind: BlockKind,
    /// The opaque model bytes after the routing header.
    pub opaque: &'a [u8],
}

impl BlockRef<'_> {
    /// Offset of the CORE chunk's header.
    pub fn chunk_offset(&self) -> u64 {
        self.offset.saturating_sub(CHUNK_HEADER_LEN as u64)
    }

    /// Offset just past the chunk's CRC, where the next chunk starts.
    pub fn end_offset(&self) -> u64 {
        self.offset
            .saturating_add((ROUTE_HEADER_LEN + h4mk_format::CHUNK_CRC_LEN) as u64)
            .saturating_add(self.opaque.len() as u64)
    }
}

impl fmt::Debug for BlockRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = self.opaque.get(..8).unwrap_or(self.opaque);
        f.debug_struct("BlockRef")
            .field("offset", &self.offset)
            .field("track", &self.track)
            .field("ts_ms", &self.ts_ms)
            .field("kind", &self.kind)
            .field("len", &self.opaque.len())
            .field("head", &format_args!("{head:02x?}"))
            .finish()
    }
}

/// Reads the block in a CORE chunk: routing header and GOP flags.
///
/// The reserved u16 of the routing header is not checked (the reference reader ignores it too).
pub fn route(chunk: ChunkRef<'_>) -> Result<BlockRef<'_>> {
    Error::expect_tag(&chunk, Tag::CORE)?;
    let Some(([m0, m1, m2, m3, t0, t1, _, _], opaque)) = chunk
        .payload
        .split_first_chunk::<ROUTE_HEADER_LEN>()
        .map(|(h, rest)| (*h, rest))
    else {
        return Err(Error::RoutingTruncated {
            offset: chunk.offset,
            len: chunk.payload.len(),
        });
    };
    if [m0, m1, m2, m3] != ROUTE_MAGIC {
        return Err(Error::RoutingMagic {
            offset: chunk.offset,
            found: [m0, m1, m2, m3],
        });
    }
    let flags = GopFlags::try_from(chunk.flags).map_err(|source| Error::BlockFlags {
        offset: chunk.offset,
        source,
    })?;
    Ok(BlockRef {
        offset: chunk.payload_offset(),
        track: u16::from_le_bytes([t0, t1]),
        ts_ms: flags.timestamp_ms(),
        kind: flags.kind(),
        opaque,
    })
}

/// The 8-byte routing header for a block of `track`.
pub fn route_header(track: u16) -> [u8; ROUTE_HEADER_LEN] {
    let [m0, m1, m2, m3] = ROUTE_MAGIC;
    let [t0, t1] = track.to_le_bytes();
    [m0, m1, m2, m3, t0, t1, 0, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core(flags: u32, payload: &[u8]) -> ChunkRef<'_> {
        ChunkRef {
            offset: 445,
            tag: Tag::CORE,
            flags,
            payload,
            crc: 0,
        }
    }

    #[track_caller]
    fn check(chunk: ChunkRef<'_>, expect: Result<(u16, u32, char, &[u8]), String>) {
        let got = route(chunk)
            .map(|b| (b.track, b.ts_ms, b.kind.letter(), b.opaque))
            .map_err(|e| e.to_string());
        assert_eq!(got, expect);
    }

    #[test]
    fn routes_blocks() {
        let mut p = route_header(0xBEEF).to_vec();
        p.extend_from_slice(b"opaque");
        check(core(0x1000_0021, &p), Ok((0xBEEF, 33, 'P', b"opaque")));
        check(core(0, &route_header(1)), Ok((1, 0, 'I', b"")));
        assert_eq!(route(core(0, &p)).unwrap().offset, 457);
        let mut reserved = route_header(2);
        reserved[6] = 9;
        check(core(0x2000_0000, &reserved), Ok((2, 0, 'B', b"")));
    }

    #[test]
    fn rejects_bad_routing() {
        check(
            core(0, b"H4TB\x01\x00\x00"),
            Err("CORE chunk at offset 445: payload of 7 bytes is shorter than the 8-byte routing header".into()),
        );
        check(
            core(0, b"H4TX\x01\x00\x00\x00"),
            Err("CORE chunk at offset 445: routing magic is `H4TX`, not `H4TB`".into()),
        );
        check(
            core(0x3000_0000, &route_header(1)),
            Err("CORE chunk at offset 445: bad gop flags".into()),
        );
        let mut c = core(0, &[]);
        c.tag = Tag::META;
        check(
            c,
            Err("chunk META at offset 445: expected a CORE chunk".into()),
        );
    }
}
