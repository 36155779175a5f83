//! The 16-byte file header (docs/FORMAT.md §1.1).

use crate::error::{Error, Result};

/// The magic at offset 0 of every H4MK file.
pub const MAGIC: [u8; 4] = *b"H4MK";
/// Size of the file header in bytes.
pub const HEADER_LEN: usize = 16;
/// The format version this crate writes.
pub const VERSION: u8 = 1;

/// The file header.
///
/// The reference reader checks only the magic; so does [`FileHeader::parse`].
/// Version, flags, reserved bits and timestamp are reported as found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileHeader {
    /// Format version (1 for every file written so far).
    pub version: u8,
    /// Header flags (0 in version 1).
    pub flags: u8,
    /// Reserved (0 in version 1).
    pub reserved: u16,
    /// Creation time in Unix milliseconds; 0 keeps output deterministic.
    pub timestamp_ms: u64,
}

impl Default for FileHeader {
    fn default() -> Self {
        FileHeader {
            version: VERSION,
            flags: 0,
            reserved: 0,
            timestamp_ms: 0,
        }
    }
}

impl FileHeader {
    /// Parses the header from the start of `data`.
    pub fn parse(data: &[u8]) -> Result<Self> {
        let bytes: &[u8; HEADER_LEN] = data
            .get(..HEADER_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(Error::TruncatedHeader {
                len: data.len() as u64,
            })?;
        let [m0, m1, m2, m3, version, flags, r0, r1, t @ ..] = *bytes;
        let found = [m0, m1, m2, m3];
        if found != MAGIC {
            return Err(Error::BadMagic { found });
        }
        Ok(FileHeader {
            version,
            flags,
            reserved: u16::from_le_bytes([r0, r1]),
            timestamp_ms: u64::from_le_bytes(t),
        })
    }

    /// The header's 16 bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let (magic, rest) = out.split_at_mut(4);
        magic.copy_from_slice(&MAGIC);
        let (vf, rest) = rest.split_at_mut(2);
        vf.copy_from_slice(&[self.version, self.flags]);
        let (reserved, ts) = rest.split_at_mut(2);
        reserved.copy_from_slice(&self.reserved.to_le_bytes());
        ts.copy_from_slice(&self.timestamp_ms.to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_field() {
        let h = FileHeader {
            version: 7,
            flags: 0x81,
            reserved: 0xbeef,
            timestamp_ms: u64::MAX - 3,
        };
        assert_eq!(FileHeader::parse(&h.to_bytes()).unwrap(), h);
    }

    #[test]
    fn default_is_the_reference_header() {
        assert_eq!(
            FileHeader::default().to_bytes(),
            *b"H4MK\x01\0\0\0\0\0\0\0\0\0\0\0"
        );
    }

    #[test]
    fn rejects_short_and_foreign_data() {
        assert!(matches!(
            FileHeader::parse(b"H4MK"),
            Err(Error::TruncatedHeader { len: 4 })
        ));
        assert!(matches!(
            FileHeader::parse(b"RIFF\x01\0\0\0\0\0\0\0\0\0\0\0"),
            Err(Error::BadMagic { found }) if &found == b"RIFF"
        ));
    }
}
