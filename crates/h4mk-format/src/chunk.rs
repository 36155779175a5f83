//! The chunk frame: 12-byte header, payload, 4-byte CRC (docs/FORMAT.md §1.2).

use std::fmt;

use crate::tag::Tag;

/// Size of a chunk header: tag, flags, payload length.
pub const CHUNK_HEADER_LEN: usize = 12;
/// Size of the CRC after each payload.
pub const CHUNK_CRC_LEN: usize = 4;
/// Size of the file CRC at the end of the file.
pub const FOOTER_LEN: usize = 4;

/// A chunk header and where it stands in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkHeader {
    /// Offset of the header's first byte.
    pub offset: u64,
    /// The chunk's type.
    pub tag: Tag,
    /// Tag-specific flags (GOP flags for CORE, 0 otherwise).
    pub flags: u32,
    /// Payload length.
    pub len: u32,
}

impl ChunkHeader {
    /// Reads a header from its 12 bytes.
    pub fn parse(offset: u64, bytes: [u8; CHUNK_HEADER_LEN]) -> Self {
        let [t0, t1, t2, t3, f0, f1, f2, f3, l0, l1, l2, l3] = bytes;
        ChunkHeader {
            offset,
            tag: Tag([t0, t1, t2, t3]),
            flags: u32::from_le_bytes([f0, f1, f2, f3]),
            len: u32::from_le_bytes([l0, l1, l2, l3]),
        }
    }

    /// The header's 12 bytes.
    pub fn to_bytes(&self) -> [u8; CHUNK_HEADER_LEN] {
        let [t0, t1, t2, t3] = self.tag.0;
        let [f0, f1, f2, f3] = self.flags.to_le_bytes();
        let [l0, l1, l2, l3] = self.len.to_le_bytes();
        [t0, t1, t2, t3, f0, f1, f2, f3, l0, l1, l2, l3]
    }

    /// Offset of the payload's first byte.
    pub fn payload_offset(&self) -> u64 {
        self.offset.saturating_add(CHUNK_HEADER_LEN as u64)
    }

    /// Offset just past the chunk's CRC, where the next chunk starts.
    pub fn end_offset(&self) -> u64 {
        self.payload_offset()
            .saturating_add(u64::from(self.len))
            .saturating_add(CHUNK_CRC_LEN as u64)
    }
}

/// A chunk borrowed from a byte slice.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef<'a> {
    /// Offset of the chunk header.
    pub offset: u64,
    /// The chunk's type.
    pub tag: Tag,
    /// Tag-specific flags.
    pub flags: u32,
    /// The payload.
    pub payload: &'a [u8],
    /// The CRC stored after the payload.
    pub crc: u32,
}

impl ChunkRef<'_> {
    /// The chunk's header.
    pub fn header(&self) -> ChunkHeader {
        ChunkHeader {
            offset: self.offset,
            tag: self.tag,
            flags: self.flags,
            // A borrowed payload was framed by a u32 length.
            len: u32::try_from(self.payload.len()).unwrap_or(u32::MAX),
        }
    }

    /// Offset of the payload's first byte.
    pub fn payload_offset(&self) -> u64 {
        self.header().payload_offset()
    }

    /// Offset just past the chunk's CRC.
    pub fn end_offset(&self) -> u64 {
        self.header().end_offset()
    }
}

impl fmt::Debug for ChunkRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = self.payload.get(..8).unwrap_or(self.payload);
        f.debug_struct("ChunkRef")
            .field("offset", &self.offset)
            .field("tag", &self.tag)
            .field("flags", &format_args!("{:#010x}", self.flags))
            .field("len", &self.payload.len())
            .field("crc", &format_args!("{:#010x}", self.crc))
            .field("head", &format_args!("{head:02x?}"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_locates_the_payload() {
        let h = ChunkHeader {
            offset: 16,
            tag: Tag::CORE,
            flags: 0x1000_0021,
            len: 36,
        };
        assert_eq!(ChunkHeader::parse(16, h.to_bytes()), h);
        assert_eq!(h.payload_offset(), 28);
        assert_eq!(h.end_offset(), 68);
    }
}
