//! Seek tables: the payload of a TSEK chunk (docs/FORMAT.md §2.4).
//!
//! ```text
//! 0   4   "H4TS"
//! 4   2   track id (u16)
//! 6   2   reserved, 0
//! 8   4   "H4SK"
//! 12  2   entry count N (u16)
//! 14  2   reserved, 0
//! 16  8N  N x (u32 pts ms, u32 absolute file offset of the keyframe's CORE payload)
//! ```
//!
//! All little-endian. [`SeekTable`] is a zero-copy view that validates the payload once in
//! [`SeekTable::parse`]; [`SeekTableBuf`] is the owned form that writes it.

use std::fmt;
use std::iter::FusedIterator;

use crate::error::{Error, Result};

/// Magic at byte 0 of a TSEK payload.
pub const TRACK_MAGIC: [u8; 4] = *b"H4TS";
/// Magic at byte 8 of a TSEK payload.
pub const SEEK_MAGIC: [u8; 4] = *b"H4SK";
/// Size of the fixed header before the entries.
pub const HEADER_SIZE: usize = 16;
/// Size of one entry.
pub const ENTRY_SIZE: usize = 8;
/// Most entries one version 1 table can hold (the count is a u16).
pub const MAX_SEEK_ENTRIES: usize = u16::MAX as usize;

/// One seek point: a keyframe's pts and the file offset of its CORE payload.
///
/// The offset points at the payload (the `H4TB` bytes), 12 bytes after the chunk header.
/// It is a `u64` so that a later 64-bit table can share this type; version 1 stores a u32.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeekEntry {
    /// Keyframe pts in milliseconds.
    pub ts_ms: u32,
    /// Absolute file offset of the keyframe's CORE payload.
    pub offset: u64,
}

/// A validated, borrowed TSEK payload.
///
/// Parsing checks everything once; afterwards no accessor can fail or allocate.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SeekTable<'a> {
    track_id: u16,
    entries: Entries<'a>,
}

impl<'a> SeekTable<'a> {
    /// Validates a TSEK payload: both magics, both reserved fields are 0, the payload is exactly
    /// as long as the count says, pts non-decreasing and file offsets strictly increasing.
    ///
    /// The reserved fields are checked because version 1 changes only through new chunk tags
    /// (docs/FORMAT.md §6): a nonzero value there is damage, not an extension.
    pub fn parse(payload: &'a [u8]) -> Result<Self> {
        let header = payload.get(..HEADER_SIZE).ok_or(Error::SeekTruncated {
            len: payload.len(),
            needed: HEADER_SIZE,
        })?;
        check_magic(header, 0, TRACK_MAGIC)?;
        let track_id = read_u16(header, 4)?;
        check_reserved(header, 6)?;
        check_magic(header, 8, SEEK_MAGIC)?;
        let count = read_u16(header, 12)?;
        check_reserved(header, 14)?;

        // At most 65,535 * 8 + 16 bytes, which cannot overflow a usize.
        let expected = HEADER_SIZE + usize::from(count) * ENTRY_SIZE;
        let entries = payload
            .get(HEADER_SIZE..)
            .filter(|_| payload.len() == expected)
            .map(Entries)
            .ok_or(Error::SeekLength {
                count,
                expected,
                len: payload.len(),
            })?;

        let table = SeekTable { track_id, entries };
        let mut prev = None;
        for (index, entry) in table.iter().enumerate() {
            check_order(track_id, index, prev, entry)?;
            prev = Some(entry);
        }
        Ok(table)
    }

    /// Track id stored in the table.
    pub fn track_id(&self) -> u16 {
        self.track_id
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table has no entries (a track with no keyframes).
    pub fn is_empty(&self) -> bool {
        self.entries.len() == 0
    }

    /// Entry `index`, or `None` past the end.
    pub fn get(&self, index: usize) -> Option<SeekEntry> {
        self.entries.get(index)
    }

    /// The entries in order.
    pub fn iter(&self) -> SeekIter<'a> {
        SeekIter {
            entries: self.entries,
            front: 0,
            back: self.len(),
        }
    }

    /// The last entry with pts `<= t_ms`: the keyframe to start decoding from for time `t_ms`.
    ///
    /// `None` if `t_ms` is before the first entry or the table is empty.
    /// Among entries with equal pts the last one wins. O(log n), no allocation.
    pub fn lookup(&self, t_ms: u32) -> Option<SeekEntry> {
        self.entries.lookup(t_ms)
    }

    /// Copies the entries into an owned table.
    pub fn to_buf(&self) -> SeekTableBuf {
        SeekTableBuf {
            track_id: self.track_id,
            entries: self.iter().collect(),
        }
    }
}

/// Entry bytes, `ENTRY_SIZE` each; a trailing partial entry is ignored.
///
/// Holds no count limit of its own, so the benches can time the search past 65,535 entries.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entries<'a>(pub(crate) &'a [u8]);

impl Entries<'_> {
    pub(crate) fn len(self) -> usize {
        self.0.len() / ENTRY_SIZE
    }

    pub(crate) fn get(self, index: usize) -> Option<SeekEntry> {
        let start = index.checked_mul(ENTRY_SIZE)?;
        let bytes = self.0.get(start..start.checked_add(ENTRY_SIZE)?)?;
        let ts = bytes.get(..4)?.try_into().ok()?;
        let offset = bytes.get(4..)?.try_into().ok()?;
        Some(SeekEntry {
            ts_ms: u32::from_le_bytes(ts),
            offset: u64::from(u32::from_le_bytes(offset)),
        })
    }

    pub(crate) fn lookup(self, t_ms: u32) -> Option<SeekEntry> {
        let after = self.partition_point(|entry| entry.ts_ms <= t_ms);
        self.get(after.checked_sub(1)?)
    }

    /// Index of the first entry for which `pred` is false, given that `pred` is true on a prefix
    /// of the entries and false after it: the contract of [`slice::partition_point`], which
    /// cannot be used here because a zero-copy view of bytes has no slice of entries.
    fn partition_point(self, mut pred: impl FnMut(SeekEntry) -> bool) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid) {
                Some(entry) if pred(entry) => lo = mid + 1,
                _ => hi = mid,
            }
        }
        lo
    }
}

impl fmt::Debug for SeekTable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeekTable")
            .field("track_id", &self.track_id)
            .field("entries", &DebugEntries(*self))
            .finish()
    }
}

struct DebugEntries<'a>(SeekTable<'a>);

impl fmt::Debug for DebugEntries<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

impl<'a> IntoIterator for SeekTable<'a> {
    type Item = SeekEntry;
    type IntoIter = SeekIter<'a>;

    fn into_iter(self) -> SeekIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &SeekTable<'a> {
    type Item = SeekEntry;
    type IntoIter = SeekIter<'a>;

    fn into_iter(self) -> SeekIter<'a> {
        self.iter()
    }
}

/// Iterator over the entries of a [`SeekTable`].
#[derive(Clone)]
pub struct SeekIter<'a> {
    entries: Entries<'a>,
    front: usize,
    back: usize,
}

impl Iterator for SeekIter<'_> {
    type Item = SeekEntry;

    fn next(&mut self) -> Option<SeekEntry> {
        if self.front >= self.back {
            return None;
        }
        let entry = self.entries.get(self.front)?;
        self.front += 1;
        Some(entry)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back.saturating_sub(self.front);
        (n, Some(n))
    }
}

impl DoubleEndedIterator for SeekIter<'_> {
    fn next_back(&mut self) -> Option<SeekEntry> {
        if self.front >= self.back {
            return None;
        }
        let entry = self.entries.get(self.back - 1)?;
        self.back -= 1;
        Some(entry)
    }
}

impl ExactSizeIterator for SeekIter<'_> {}

impl fmt::Debug for SeekIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeekIter")
            .field("remaining", &self.len())
            .finish()
    }
}

impl FusedIterator for SeekIter<'_> {}

/// An owned seek table, to build and write.
///
/// Fields are public; [`SeekTableBuf::write_to`] checks them, so that everything it writes
/// [`SeekTable::parse`] accepts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeekTableBuf {
    /// Track id of the table.
    pub track_id: u16,
    /// Entries: pts non-decreasing, offsets strictly increasing and below 4 GiB.
    pub entries: Vec<SeekEntry>,
}

impl SeekTableBuf {
    /// The TSEK payload, as [`SeekTableBuf::write_to`] writes it.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write_to(&mut out)?;
        Ok(out)
    }

    /// Appends the TSEK payload to `out`.
    ///
    /// Fails with nothing appended if there are more than [`MAX_SEEK_ENTRIES`] entries,
    /// an offset does not fit in a u32, or the entries are out of order.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        let result = self.encode(out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// Writes and checks in one pass; on error `out` holds a partial table.
    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        let track = self.track_id;
        let count = u16::try_from(self.entries.len()).map_err(|_| Error::SeekTooManyEntries {
            track,
            count: self.entries.len(),
            max: MAX_SEEK_ENTRIES,
        })?;
        out.reserve(HEADER_SIZE + usize::from(count) * ENTRY_SIZE);
        out.extend_from_slice(&TRACK_MAGIC);
        out.extend_from_slice(&track.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&SEEK_MAGIC);
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        let mut prev = None;
        for (index, &entry) in self.entries.iter().enumerate() {
            let offset = u32::try_from(entry.offset).map_err(|_| Error::SeekOffsetTooLarge {
                track,
                index,
                offset: entry.offset,
            })?;
            check_order(track, index, prev, entry)?;
            prev = Some(entry);
            out.extend_from_slice(&entry.ts_ms.to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
        }
        Ok(())
    }
}

impl From<SeekTable<'_>> for SeekTableBuf {
    fn from(table: SeekTable<'_>) -> SeekTableBuf {
        table.to_buf()
    }
}

/// Entry `index` must not go back in pts and must move forward in the file.
fn check_order(track: u16, index: usize, prev: Option<SeekEntry>, entry: SeekEntry) -> Result<()> {
    let Some(prev) = prev else { return Ok(()) };
    // index <= 65,535 here, so this cannot overflow.
    let at = HEADER_SIZE + index * ENTRY_SIZE;
    if entry.ts_ms < prev.ts_ms {
        return Err(Error::SeekUnsorted {
            track,
            index,
            at,
            ts_ms: entry.ts_ms,
            prev_ts_ms: prev.ts_ms,
        });
    }
    if entry.offset <= prev.offset {
        return Err(Error::SeekOffsetOrder {
            track,
            index,
            at,
            offset: entry.offset,
            prev_offset: prev.offset,
        });
    }
    Ok(())
}

fn read_u16(header: &[u8], at: usize) -> Result<u16> {
    let bytes = header
        .get(at..at + 2)
        .and_then(|b| <[u8; 2]>::try_from(b).ok())
        .ok_or(Error::SeekTruncated {
            len: header.len(),
            needed: HEADER_SIZE,
        })?;
    Ok(u16::from_le_bytes(bytes))
}

fn check_reserved(header: &[u8], at: usize) -> Result<()> {
    match read_u16(header, at)? {
        0 => Ok(()),
        value => Err(Error::SeekReserved { at, value }),
    }
}

fn check_magic(header: &[u8], at: usize, expected: [u8; 4]) -> Result<()> {
    let found = header
        .get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .ok_or(Error::SeekTruncated {
            len: header.len(),
            needed: HEADER_SIZE,
        })?;
    if found == expected {
        Ok(())
    } else {
        Err(Error::SeekMagic {
            at,
            expected,
            found,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ts_ms: u32, offset: u64) -> SeekEntry {
        SeekEntry { ts_ms, offset }
    }

    /// Raw payload builder that does not validate, so tests can build broken tables.
    fn raw(track: u16, count: u16, entries: &[(u32, u32)]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(b"H4TS");
        out.extend_from_slice(&track.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(b"H4SK");
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        for (ts, off) in entries {
            out.extend_from_slice(&ts.to_le_bytes());
            out.extend_from_slice(&off.to_le_bytes());
        }
        out
    }

    #[track_caller]
    fn check(payload: &[u8], expect: Result<(u16, Vec<SeekEntry>)>) {
        let got = SeekTable::parse(payload).map(|t| (t.track_id(), t.iter().collect::<Vec<_>>()));
        assert_eq!(got, expect);
    }

    #[test]
    fn parse_valid() {
        check(&raw(1, 0, &[]), Ok((1, vec![])));
        check(
            &raw(65535, 1, &[(0, 167)]),
            Ok((65535, vec![entry(0, 167)])),
        );
        check(
            &raw(1, 3, &[(0, 167), (480, 958), (480, 1000)]),
            Ok((1, vec![entry(0, 167), entry(480, 958), entry(480, 1000)])),
        );
        check(
            &raw(1, 1, &[(u32::MAX, u32::MAX)]),
            Ok((1, vec![entry(u32::MAX, u64::from(u32::MAX))])),
        );
    }

    #[test]
    fn parse_exact_bytes() {
        // The TSEK payload of demo.h4mk, track 1.
        let payload = [
            0x48, 0x34, 0x54, 0x53, 0x01, 0x00, 0x00, 0x00, 0x48, 0x34, 0x53, 0x4b, 0x02, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc9, 0x01, 0x00, 0x00, 0x4d, 0x01, 0x00, 0x00,
            0x9e, 0x02, 0x00, 0x00,
        ];
        check(&payload, Ok((1, vec![entry(0, 457), entry(333, 670)])));
        let buf = SeekTableBuf {
            track_id: 1,
            entries: vec![entry(0, 457), entry(333, 670)],
        };
        assert_eq!(buf.to_bytes().unwrap(), payload);
    }

    #[test]
    fn parse_errors() {
        check(&[], Err(Error::SeekTruncated { len: 0, needed: 16 }));
        check(
            &raw(1, 0, &[])[..15],
            Err(Error::SeekTruncated {
                len: 15,
                needed: 16,
            }),
        );

        let mut p = raw(1, 0, &[]);
        p[0] = b'X';
        check(
            &p,
            Err(Error::SeekMagic {
                at: 0,
                expected: *b"H4TS",
                found: *b"X4TS",
            }),
        );
        let mut p = raw(1, 0, &[]);
        p[11] = 0;
        check(
            &p,
            Err(Error::SeekMagic {
                at: 8,
                expected: *b"H4SK",
                found: *b"H4S\0",
            }),
        );
        let mut p = raw(1, 0, &[]);
        p[7] = 1;
        check(
            &p,
            Err(Error::SeekReserved {
                at: 6,
                value: 0x0100,
            }),
        );
        let mut p = raw(1, 0, &[]);
        p[14] = 2;
        check(&p, Err(Error::SeekReserved { at: 14, value: 2 }));

        check(
            &raw(1, 1, &[]),
            Err(Error::SeekLength {
                count: 1,
                expected: 24,
                len: 16,
            }),
        );
        check(
            &raw(1, 0, &[(0, 1)]),
            Err(Error::SeekLength {
                count: 0,
                expected: 16,
                len: 24,
            }),
        );
        let mut p = raw(1, 1, &[(0, 1)]);
        p.push(0);
        check(
            &p,
            Err(Error::SeekLength {
                count: 1,
                expected: 24,
                len: 25,
            }),
        );
        check(
            &raw(1, u16::MAX, &[(0, 1)]),
            Err(Error::SeekLength {
                count: u16::MAX,
                expected: 16 + 8 * 65535,
                len: 24,
            }),
        );

        check(
            &raw(3, 3, &[(0, 10), (40, 20), (39, 30)]),
            Err(Error::SeekUnsorted {
                track: 3,
                index: 2,
                at: 32,
                ts_ms: 39,
                prev_ts_ms: 40,
            }),
        );
        check(
            &raw(3, 2, &[(0, 10), (40, 10)]),
            Err(Error::SeekOffsetOrder {
                track: 3,
                index: 1,
                at: 24,
                offset: 10,
                prev_offset: 10,
            }),
        );
        check(
            &raw(3, 2, &[(0, 10), (40, 9)]),
            Err(Error::SeekOffsetOrder {
                track: 3,
                index: 1,
                at: 24,
                offset: 9,
                prev_offset: 10,
            }),
        );
    }

    #[test]
    fn error_messages_name_the_place() {
        let mut p = raw(1, 0, &[]);
        p[8..12].copy_from_slice(b"\xffXYZ");
        let msg = SeekTable::parse(&p).unwrap_err().to_string();
        assert_eq!(
            msg,
            "seek table: bad magic at byte 8: expected \"H4SK\", found \"\\xffXYZ\""
        );
        let msg = SeekTable::parse(&raw(3, 2, &[(5, 10), (4, 20)]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            msg,
            "seek table of track 3: entry 1 at byte 24 has pts 4 ms, before the previous entry's 5 ms"
        );
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let full = raw(9, 3, &[(0, 100), (10, 200), (20, 300)]);
        for cut in 0..full.len() {
            assert!(SeekTable::parse(&full[..cut]).is_err(), "cut at {cut}");
        }
        assert!(SeekTable::parse(&full).is_ok());
    }

    #[test]
    fn accessors() {
        let p = raw(2, 3, &[(0, 100), (10, 200), (20, 300)]);
        let t = SeekTable::parse(&p).unwrap();
        assert_eq!(t.len(), 3);
        assert!(!t.is_empty());
        assert_eq!(t.get(0), Some(entry(0, 100)));
        assert_eq!(t.get(2), Some(entry(20, 300)));
        assert_eq!(t.get(3), None);
        assert_eq!(t.get(usize::MAX), None);
        assert_eq!(t.iter().len(), 3);
        assert_eq!(
            t.iter().rev().map(|e| e.ts_ms).collect::<Vec<_>>(),
            [20, 10, 0]
        );
        let mut it = t.iter();
        assert_eq!(it.next(), Some(entry(0, 100)));
        assert_eq!(it.next_back(), Some(entry(20, 300)));
        assert_eq!(it.len(), 1);
        assert_eq!(it.next(), Some(entry(10, 200)));
        assert_eq!(it.next(), None);
        assert_eq!(it.next_back(), None);
        assert_eq!(
            format!("{t:?}"),
            "SeekTable { track_id: 2, entries: [SeekEntry { ts_ms: 0, offset: 100 }, \
             SeekEntry { ts_ms: 10, offset: 200 }, SeekEntry { ts_ms: 20, offset: 300 }] }"
        );
        let buf = SeekTableBuf::from(t);
        assert_eq!(buf.to_bytes().unwrap(), p);

        let empty = raw(2, 0, &[]);
        let t = SeekTable::parse(&empty).unwrap();
        assert!(t.is_empty());
        assert_eq!(t.len(), 0);
        assert_eq!(t.lookup(0), None);
        assert_eq!(t.lookup(u32::MAX), None);
    }

    #[track_caller]
    fn check_lookup(entries: &[(u32, u32)], t: u32, expect: Option<usize>) {
        let count = u16::try_from(entries.len()).unwrap();
        let p = raw(1, count, entries);
        let table = SeekTable::parse(&p).unwrap();
        let expect = expect.map(|i| entry(entries[i].0, u64::from(entries[i].1)));
        assert_eq!(table.lookup(t), expect, "t={t}");
    }

    #[test]
    fn lookup() {
        let e = [(0, 167), (480, 958), (960, 1691), (1440, 2366)];
        check_lookup(&e, 0, Some(0));
        check_lookup(&e, 479, Some(0));
        check_lookup(&e, 480, Some(1));
        check_lookup(&e, 1439, Some(2));
        check_lookup(&e, 1440, Some(3));
        check_lookup(&e, u32::MAX, Some(3));
        let late = [(100, 10), (200, 20)];
        check_lookup(&late, 0, None);
        check_lookup(&late, 99, None);
        check_lookup(&late, 100, Some(0));
        // Equal pts: the last one wins.
        let equal = [(5, 10), (5, 20), (5, 30), (9, 40)];
        check_lookup(&equal, 4, None);
        check_lookup(&equal, 5, Some(2));
        check_lookup(&equal, 8, Some(2));
        check_lookup(&equal, 9, Some(3));
    }

    #[test]
    fn lookup_agrees_with_a_linear_scan() {
        for n in 0..40u32 {
            let entries: Vec<(u32, u32)> = (0..n).map(|i| (i / 3 * 7, 100 + i * 16)).collect();
            let p = raw(1, u16::try_from(n).unwrap(), &entries);
            let table = SeekTable::parse(&p).unwrap();
            for t in 0..(n * 3 + 10) {
                let linear = table.iter().rfind(|e| e.ts_ms <= t);
                assert_eq!(table.lookup(t), linear, "n={n} t={t}");
            }
        }
    }

    #[track_caller]
    fn check_write(buf: &SeekTableBuf, expect: Result<()>) {
        let mut out = vec![0xAA];
        let got = buf.write_to(&mut out);
        assert_eq!(got, expect);
        match got {
            Ok(()) => {
                assert_eq!(out.first(), Some(&0xAA));
                let table = SeekTable::parse(&out[1..]).unwrap();
                assert_eq!(table.to_buf(), *buf);
            }
            Err(_) => assert_eq!(out, [0xAA], "nothing appended on error"),
        }
    }

    #[test]
    fn write() {
        check_write(&SeekTableBuf::default(), Ok(()));
        check_write(
            &SeekTableBuf {
                track_id: 7,
                entries: vec![entry(0, 0)],
            },
            Ok(()),
        );
        check_write(
            &SeekTableBuf {
                track_id: 7,
                entries: vec![entry(0, 10), entry(0, 11), entry(9, u64::from(u32::MAX))],
            },
            Ok(()),
        );
        check_write(
            &SeekTableBuf {
                track_id: 7,
                entries: vec![entry(0, 10), entry(9, 1 << 32)],
            },
            Err(Error::SeekOffsetTooLarge {
                track: 7,
                index: 1,
                offset: 1 << 32,
            }),
        );
        check_write(
            &SeekTableBuf {
                track_id: 7,
                entries: vec![entry(10, 10), entry(9, 20)],
            },
            Err(Error::SeekUnsorted {
                track: 7,
                index: 1,
                at: 24,
                ts_ms: 9,
                prev_ts_ms: 10,
            }),
        );
        check_write(
            &SeekTableBuf {
                track_id: 7,
                entries: vec![entry(10, 10), entry(11, 10)],
            },
            Err(Error::SeekOffsetOrder {
                track: 7,
                index: 1,
                at: 24,
                offset: 10,
                prev_offset: 10,
            }),
        );
    }

    #[test]
    fn write_limits_entry_count() {
        let at_limit: Vec<SeekEntry> = (0..MAX_SEEK_ENTRIES as u64)
            .map(|i| entry(u32::try_from(i).unwrap(), i))
            .collect();
        let mut buf = SeekTableBuf {
            track_id: 1,
            entries: at_limit,
        };
        let bytes = buf.to_bytes().unwrap();
        assert_eq!(bytes.len(), 16 + 8 * MAX_SEEK_ENTRIES);
        assert_eq!(SeekTable::parse(&bytes).unwrap().len(), MAX_SEEK_ENTRIES);
        buf.entries.push(entry(70_000, 70_000));
        check_write(
            &buf,
            Err(Error::SeekTooManyEntries {
                track: 1,
                count: 65_536,
                max: 65_535,
            }),
        );
    }
}
