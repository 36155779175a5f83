//! Sidecars: the META, SAFE, VERI and NOTE chunks (docs/FORMAT.md §2.3).
//!
//! Each appears at most once, right after the TRAK chunk, in that order. Their payloads are
//! bytes as the caller handed them: JSON for META, SAFE and VERI and UTF-8 text for NOTE by
//! convention, neither checked (the reference checks neither). `Some(b"")` writes an empty
//! chunk and `None` writes none, as the reference does.

use h4mk_format::Tag;

/// The four sidecars, borrowed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sidecars<'a> {
    /// META: metadata (JSON by convention).
    pub meta: Option<&'a [u8]>,
    /// SAFE: safety information (JSON by convention).
    pub safety: Option<&'a [u8]>,
    /// VERI: verification data (JSON by convention).
    pub verify: Option<&'a [u8]>,
    /// NOTE: a note (UTF-8 text by convention).
    pub note: Option<&'a [u8]>,
}

impl<'a> Sidecars<'a> {
    /// The sidecar tags in the order they are written.
    pub const TAGS: [Tag; 4] = [Tag::META, Tag::SAFE, Tag::VERI, Tag::NOTE];

    /// The payload stored under `tag`, if `tag` is a sidecar tag and the sidecar is present.
    pub fn get(&self, tag: Tag) -> Option<&'a [u8]> {
        match tag {
            Tag::META => self.meta,
            Tag::SAFE => self.safety,
            Tag::VERI => self.verify,
            Tag::NOTE => self.note,
            _ => None,
        }
    }

    /// The present sidecars with their tags, in write order.
    pub fn iter(&self) -> impl Iterator<Item = (Tag, &'a [u8])> + use<'a> {
        let this = *self;
        Self::TAGS
            .into_iter()
            .filter_map(move |tag| this.get(tag).map(|p| (tag, p)))
    }

    /// The slot for `tag`, to set or clear that sidecar; `None` when `tag` is not a sidecar
    /// tag.
    pub fn slot_mut(&mut self, tag: Tag) -> Option<&mut Option<&'a [u8]>> {
        match tag {
            Tag::META => Some(&mut self.meta),
            Tag::SAFE => Some(&mut self.safety),
            Tag::VERI => Some(&mut self.verify),
            Tag::NOTE => Some(&mut self.note),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterates_in_write_order() {
        let s = Sidecars {
            note: Some(b"n"),
            meta: Some(b"{}"),
            safety: None,
            verify: Some(b""),
        };
        let got: Vec<_> = s.iter().collect();
        assert_eq!(
            got,
            [
                (Tag::META, &b"{}"[..]),
                (Tag::VERI, &b""[..]),
                (Tag::NOTE, &b"n"[..])
            ]
        );
        assert_eq!(s.get(Tag::CORE), None);
    }
}
