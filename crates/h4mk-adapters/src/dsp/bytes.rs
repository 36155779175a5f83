//! Bounds-checked little-endian reading and LEB128 varints, with byte offsets in every error.

use crate::error::{Error, Result};

/// A cursor over a block that only reads through `get`, so it cannot panic.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    /// Offset of the next byte.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    pub(crate) fn bytes<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N]> {
        let truncated = || Error::Truncated {
            offset: self.pos,
            field,
            needed: N,
            remaining: self.remaining(),
        };
        let end = self.pos.checked_add(N).ok_or_else(truncated)?;
        let slice = self.data.get(self.pos..end).ok_or_else(truncated)?;
        let arr = <[u8; N]>::try_from(slice).map_err(|_| truncated())?;
        self.pos = end;
        Ok(arr)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8> {
        Ok(self.bytes::<1>(field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.bytes(field)?))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.bytes(field)?))
    }

    /// An unsigned LEB128 varint of at most five bytes that fits a `u32`.
    pub(crate) fn varint(&mut self, field: &'static str) -> Result<u32> {
        let start = self.pos;
        let mut value: u64 = 0;
        for shift in (0..35).step_by(7) {
            let byte = self.u8(field)?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return u32::try_from(value).map_err(|_| Error::Malformed {
                    offset: start,
                    field,
                });
            }
        }
        Err(Error::Malformed {
            offset: start,
            field,
        })
    }

    /// A zigzag-coded signed varint.
    pub(crate) fn zigzag(&mut self, field: &'static str) -> Result<i32> {
        let v = self.varint(field)?;
        Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
    }

    /// Fails with [`Error::TrailingBytes`] unless every byte was read.
    pub(crate) fn finish(&self) -> Result<()> {
        match self.remaining() {
            0 => Ok(()),
            remaining => Err(Error::TrailingBytes {
                offset: self.pos,
                remaining,
            }),
        }
    }
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn put_zigzag(out: &mut Vec<u8>, v: i32) {
    put_varint(out, ((v << 1) ^ (v >> 31)) as u32);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_the_edges() {
        for v in [0, 1, 127, 128, 16_383, 16_384, u32::MAX] {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            assert_eq!(Reader::new(&buf).varint("v").unwrap(), v);
        }
        for v in [0, 1, -1, 2047, -2048, i32::MAX, i32::MIN] {
            let mut buf = Vec::new();
            put_zigzag(&mut buf, v);
            assert_eq!(Reader::new(&buf).zigzag("v").unwrap(), v);
        }
    }

    #[test]
    fn overlong_and_truncated_varints_are_errors() {
        let r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x1f]).varint("v");
        assert!(matches!(r, Err(Error::Malformed { offset: 0, .. })));
        let r = Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]).varint("v");
        assert!(matches!(r, Err(Error::Malformed { offset: 0, .. })));
        let r = Reader::new(&[0x80, 0x80]).varint("v");
        assert!(matches!(r, Err(Error::Truncated { offset: 2, .. })));
    }
}
