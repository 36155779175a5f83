//! GOP flags: the u32 flags word of a CORE chunk (docs/FORMAT.md §3).
//!
//! Bits 0..27 hold the pts in milliseconds, bits 28..29 the block type
//! (0 = I, 1 = P, 2 = B, 3 = reserved) and bits 30..31 are reserved as 0.
//! [`GopFlags`] can only hold a valid word: reserved values are rejected, never masked.

use std::fmt;

use crate::error::{Error, Result};

/// Largest pts that fits in the 28 pts bits: 268,435,455 ms, about 74.6 hours.
pub const MAX_TIMESTAMP_MS: u32 = (1 << 28) - 1;

const KIND_SHIFT: u32 = 28;
const KIND_MASK: u32 = 0b11 << KIND_SHIFT;
const RESERVED_MASK: u32 = 0b11 << 30;

/// The type of a block: how it depends on its neighbours (docs/FORMAT.md §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BlockKind {
    /// I: a keyframe, decoded alone.
    Key,
    /// P: applies to the previous anchor (I or P) of its track.
    Predictive,
    /// B: needs the previous anchor and the next one; never a reference itself.
    Bidirectional,
}

impl BlockKind {
    /// The letter the format documents use: `'I'`, `'P'` or `'B'`.
    pub const fn letter(self) -> char {
        match self {
            BlockKind::Key => 'I',
            BlockKind::Predictive => 'P',
            BlockKind::Bidirectional => 'B',
        }
    }

    /// The kind named by `letter` (`'I'`, `'P'` or `'B'`, upper case only).
    pub const fn from_letter(letter: char) -> Option<BlockKind> {
        match letter {
            'I' => Some(BlockKind::Key),
            'P' => Some(BlockKind::Predictive),
            'B' => Some(BlockKind::Bidirectional),
            _ => None,
        }
    }

    /// Whether later blocks may depend on this one (I and P are anchors, B is not).
    pub const fn is_anchor(self) -> bool {
        !matches!(self, BlockKind::Bidirectional)
    }

    const fn to_code(self) -> u32 {
        match self {
            BlockKind::Key => 0,
            BlockKind::Predictive => 1,
            BlockKind::Bidirectional => 2,
        }
    }
}

impl fmt::Display for BlockKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

impl TryFrom<char> for BlockKind {
    type Error = Error;

    fn try_from(letter: char) -> Result<Self> {
        BlockKind::from_letter(letter).ok_or(Error::UnknownBlockLetter(letter))
    }
}

/// The flags word of a CORE chunk: pts and block type (docs/FORMAT.md §3).
///
/// Always valid: the pts fits in 28 bits, the type is not the reserved 3,
/// and bits 30..31 are 0.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct GopFlags(u32);

impl GopFlags {
    /// Packs `ts_ms` and `kind`; fails if `ts_ms > MAX_TIMESTAMP_MS`.
    pub const fn new(ts_ms: u32, kind: BlockKind) -> Result<Self> {
        if ts_ms > MAX_TIMESTAMP_MS {
            return Err(Error::TimestampOutOfRange {
                ts_ms,
                max: MAX_TIMESTAMP_MS,
            });
        }
        Ok(GopFlags(ts_ms | (kind.to_code() << KIND_SHIFT)))
    }

    /// The pts in milliseconds (bits 0..27).
    pub const fn timestamp_ms(self) -> u32 {
        self.0 & MAX_TIMESTAMP_MS
    }

    /// The block type (bits 28..29).
    pub const fn kind(self) -> BlockKind {
        match (self.0 & KIND_MASK) >> KIND_SHIFT {
            0 => BlockKind::Key,
            1 => BlockKind::Predictive,
            // Construction rejects 3, so this arm only ever sees 2.
            _ => BlockKind::Bidirectional,
        }
    }

    /// The raw flags word, as written in the chunk header.
    pub const fn to_bits(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for GopFlags {
    type Error = Error;

    /// Checks a flags word read from a file: reserved bits first, then the reserved type.
    fn try_from(bits: u32) -> Result<Self> {
        if bits & RESERVED_MASK != 0 {
            return Err(Error::ReservedFlagBits { bits });
        }
        if bits & KIND_MASK == KIND_MASK {
            return Err(Error::ReservedBlockType { bits });
        }
        Ok(GopFlags(bits))
    }
}

impl From<GopFlags> for u32 {
    fn from(flags: GopFlags) -> u32 {
        flags.to_bits()
    }
}

impl fmt::Debug for GopFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ts={}ms kind={}",
            self.timestamp_ms(),
            self.kind().letter()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [BlockKind; 3] = [
        BlockKind::Key,
        BlockKind::Predictive,
        BlockKind::Bidirectional,
    ];
    const EDGES: [u32; 4] = [0, 1, MAX_TIMESTAMP_MS - 1, MAX_TIMESTAMP_MS];

    #[test]
    fn round_trip_at_every_edge() {
        for kind in KINDS {
            for ts in EDGES {
                let flags = GopFlags::new(ts, kind).unwrap();
                assert_eq!(flags.timestamp_ms(), ts);
                assert_eq!(flags.kind(), kind);
                let back = GopFlags::try_from(flags.to_bits()).unwrap();
                assert_eq!(back, flags);
                assert_eq!(u32::from(back), flags.to_bits());
            }
        }
    }

    #[track_caller]
    fn check_bits(bits: u32, expect: Result<(u32, char)>) {
        let got = GopFlags::try_from(bits).map(|f| (f.timestamp_ms(), f.kind().letter()));
        assert_eq!(got, expect, "bits {bits:#010x}");
    }

    #[test]
    fn bits_from_the_wire() {
        // Values from the reference fixtures' CORE chunks.
        check_bits(0, Ok((0, 'I')));
        check_bits(268_435_496, Ok((40, 'P')));
        check_bits(536_870_992, Ok((80, 'B')));
        check_bits(0x0FFF_FFFF, Ok((MAX_TIMESTAMP_MS, 'I')));
        check_bits(0x2FFF_FFFF, Ok((MAX_TIMESTAMP_MS, 'B')));
        check_bits(
            0x3000_0000,
            Err(Error::ReservedBlockType { bits: 0x3000_0000 }),
        );
        check_bits(
            0x3000_0021,
            Err(Error::ReservedBlockType { bits: 0x3000_0021 }),
        );
        check_bits(
            0x4000_0000,
            Err(Error::ReservedFlagBits { bits: 0x4000_0000 }),
        );
        check_bits(
            0x8000_0000,
            Err(Error::ReservedFlagBits { bits: 0x8000_0000 }),
        );
        check_bits(u32::MAX, Err(Error::ReservedFlagBits { bits: u32::MAX }));
    }

    #[test]
    fn timestamp_out_of_range_names_value_and_limit() {
        for kind in KINDS {
            for ts in [MAX_TIMESTAMP_MS + 1, u32::MAX] {
                let err = GopFlags::new(ts, kind).unwrap_err();
                assert_eq!(
                    err,
                    Error::TimestampOutOfRange {
                        ts_ms: ts,
                        max: MAX_TIMESTAMP_MS
                    }
                );
                let msg = err.to_string();
                assert!(msg.contains(&ts.to_string()), "{msg}");
                assert!(msg.contains("268435455"), "{msg}");
            }
        }
    }

    #[test]
    fn error_messages_say_what_is_reserved() {
        let msg = GopFlags::try_from(0x3000_0000).unwrap_err().to_string();
        assert_eq!(
            msg,
            "gop flags 0x30000000: block type 3 (bits 28..29) is reserved"
        );
        let msg = GopFlags::try_from(0x4000_0001).unwrap_err().to_string();
        assert_eq!(msg, "gop flags 0x40000001: reserved bits 30..31 are not 0");
    }

    #[test]
    fn letters() {
        for kind in KINDS {
            assert_eq!(BlockKind::from_letter(kind.letter()), Some(kind));
            assert_eq!(BlockKind::try_from(kind.letter()), Ok(kind));
            assert_eq!(kind.to_string(), kind.letter().to_string());
        }
        for bad in ['i', 'p', 'b', 'X', ' ', '\0'] {
            assert_eq!(BlockKind::from_letter(bad), None);
            assert_eq!(
                BlockKind::try_from(bad),
                Err(Error::UnknownBlockLetter(bad))
            );
        }
        assert!(BlockKind::Key.is_anchor());
        assert!(BlockKind::Predictive.is_anchor());
        assert!(!BlockKind::Bidirectional.is_anchor());
    }

    #[test]
    fn debug_format() {
        let flags = GopFlags::new(33, BlockKind::Predictive).unwrap();
        assert_eq!(format!("{flags:?}"), "ts=33ms kind=P");
        let flags = GopFlags::new(0, BlockKind::Key).unwrap();
        assert_eq!(format!("{flags:?}"), "ts=0ms kind=I");
        let flags = GopFlags::new(MAX_TIMESTAMP_MS, BlockKind::Bidirectional).unwrap();
        assert_eq!(format!("{flags:?}"), "ts=268435455ms kind=B");
    }
}
