//! Chunk tags: four bytes naming a chunk's type (docs/FORMAT.md §1.2).

use std::fmt;

/// A chunk tag: four bytes, ASCII by convention.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(pub [u8; 4]);

impl Tag {
    /// The track list (JSON).
    pub const TRAK: Tag = Tag(*b"TRAK");
    /// One block of one track.
    pub const CORE: Tag = Tag(*b"CORE");
    /// Metadata sidecar (JSON by convention).
    pub const META: Tag = Tag(*b"META");
    /// Safety sidecar (JSON by convention).
    pub const SAFE: Tag = Tag(*b"SAFE");
    /// Verification sidecar (JSON by convention).
    pub const VERI: Tag = Tag(*b"VERI");
    /// Free-text note sidecar (UTF-8 by convention).
    pub const NOTE: Tag = Tag(*b"NOTE");
    /// One track's version 1 seek table.
    pub const TSEK: Tag = Tag(*b"TSEK");

    /// The tag as bytes.
    pub const fn bytes(self) -> [u8; 4] {
        self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in &self.0 {
            if b.is_ascii_graphic() || b == b' ' {
                write!(f, "{}", char::from(b))?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_escapes_non_printable_bytes() {
        assert_eq!(Tag::TRAK.to_string(), "TRAK");
        assert_eq!(Tag([0, b'A', 0xff, b' ']).to_string(), "\\x00A\\xff ");
        assert_eq!(format!("{:?}", Tag::CORE), "Tag(CORE)");
    }
}
