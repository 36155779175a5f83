//! The seek index: per-track keyframe tables, how they are written, found and rebuilt.
//!
//! A file's index is one v1 TSEK chunk per track, in track-list order, after the last block
//! (docs/FORMAT.md §2.4). This module adds two chunk types the reference reader skips
//! (docs/FORMAT.md §6):
//! - XSEK (§6.2): a track's complete keyframe table with 64-bit offsets and a 32-bit count,
//!   written after the TSEK chunks for every track whose table does not fit version 1
//!   (more than 65,535 keyframes, or keyframes past 4 GiB). The TSEK keeps what fits.
//! - XLOC (§6.3): a fixed-size locator just before the file CRC, pointing at the first
//!   index chunk, so a reader finds the index in O(1).
//!
//! Finding the index ([`find_index`]) never walks the blocks: it reads the locator if there is
//! one, and otherwise searches back from the end of the file the way a v1 TSEK chunk can be
//! recognised (§7.1). Opening only checks that every entry points inside the block area;
//! whether an entry points at its keyframe (a CORE I-block of the right track and pts) is
//! checked when a plan first uses it. When either check fails, [`scan_index`] rebuilds the
//! index in one pass over the blocks, with the [`IndexBuilder`] that the muxer also uses.

use std::fmt;

use h4mk_format::{
    CHUNK_CRC_LEN, CHUNK_HEADER_LEN, ChunkHeader, ChunkRef, ContainerRef, HEADER_LEN, Limits, Mode,
    Tag,
};
use h4mk_gop::{BlockKind, MAX_SEEK_ENTRIES, SeekEntry, SeekTable, SeekTableBuf};

use crate::error::{Error, Result};
use crate::router::{BlockRef, route};

/// Tag of the extended seek table chunk (docs/FORMAT.md §6.2).
pub const XSEK: Tag = Tag(*b"XSEK");
/// Tag of the index locator chunk (docs/FORMAT.md §6.3).
pub const XLOC: Tag = Tag(*b"XLOC");

/// True for the tags this crate reads: the version 1 tags and its extensions. Readers skip
/// chunks of any other tag (docs/FORMAT.md §1).
pub fn is_known_tag(tag: Tag) -> bool {
    matches!(tag, Tag::TRAK | Tag::CORE | Tag::TSEK | XSEK | XLOC)
        || crate::sidecar::Sidecars::TAGS.contains(&tag)
}

/// Magic at byte 0 of an XSEK payload.
pub const XSEK_MAGIC: [u8; 4] = *b"H4XS";
/// Magic in the last 4 bytes of an XSEK payload.
pub const XSEK_END_MAGIC: [u8; 4] = *b"H4XE";
/// Size of one XSEK entry: u32 pts, u64 offset.
pub const XSEK_ENTRY_LEN: usize = 12;
/// Size of an XSEK payload with no entries.
pub const XSEK_FIXED_LEN: usize = 16;
/// Magic at byte 0 of an XLOC payload.
pub const XLOC_MAGIC: [u8; 4] = *b"H4LC";
/// Size of an XLOC payload.
pub const XLOC_PAYLOAD_LEN: usize = 40;
/// Size of a whole XLOC chunk, header and CRC included.
pub const XLOC_CHUNK_LEN: usize = CHUNK_HEADER_LEN + XLOC_PAYLOAD_LEN + CHUNK_CRC_LEN;

const TSEK_FIXED_CHUNK_LEN: u64 = (CHUNK_HEADER_LEN + h4mk_gop::HEADER_SIZE + CHUNK_CRC_LEN) as u64;

/// One track's keyframes: pts and CORE payload offset of every I-block, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrackIndex {
    /// The track.
    pub track_id: u16,
    /// Its keyframes.
    pub entries: Vec<SeekEntry>,
}

impl TrackIndex {
    /// Whether the table has an entry for the I-block whose payload starts at `offset`
    /// (entries are in file order).
    pub fn lists(&self, offset: u64) -> bool {
        self.entries
            .binary_search_by_key(&offset, |e| e.offset)
            .is_ok()
    }

    /// The last keyframe with pts `<= t_ms` (the last one among equal pts).
    pub fn lookup(&self, t_ms: u32) -> Option<SeekEntry> {
        let after = self.entries.partition_point(|e| e.ts_ms <= t_ms);
        self.entries.get(after.checked_sub(1)?).copied()
    }

    /// The first keyframe with pts `>= t_ms`.
    pub fn first_from(&self, t_ms: u32) -> Option<SeekEntry> {
        let from = self.entries.partition_point(|e| e.ts_ms < t_ms);
        self.entries.get(from).copied()
    }

    /// The last keyframe with pts `< t_ms`.
    pub fn lookup_before(&self, t_ms: u32) -> Option<SeekEntry> {
        let after = self.entries.partition_point(|e| e.ts_ms < t_ms);
        self.entries.get(after.checked_sub(1)?).copied()
    }

    /// How many entries fit a version 1 TSEK table: the leading ones with offsets below
    /// 4 GiB, at most 65,535.
    pub fn v1_len(&self) -> usize {
        self.entries
            .iter()
            .take(MAX_SEEK_ENTRIES)
            .take_while(|e| u32::try_from(e.offset).is_ok())
            .count()
    }
}

/// Where each track id's entry sits in a list of tracks, found by binary search: the first
/// of repeated ids. A file of 65,536 tracks looked each up in turn by a linear search, which
/// made `remux` and `info` of such a file quadratic (6.9 s and 1.3 s).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TrackSlots(Vec<(u16, usize)>);

impl TrackSlots {
    /// The slots of `ids`, in list order.
    pub(crate) fn new(ids: impl IntoIterator<Item = u16>) -> Self {
        let mut slots: Vec<(u16, usize)> = ids.into_iter().zip(0..).collect();
        slots.sort_unstable();
        slots.dedup_by_key(|&mut (id, _)| id);
        TrackSlots(slots)
    }

    /// The slot of the first entry with id `track`.
    pub(crate) fn get(&self, track: u16) -> Option<usize> {
        let at = self.0.binary_search_by_key(&track, |&(id, _)| id).ok()?;
        self.0.get(at).map(|&(_, slot)| slot)
    }
}

/// The index of a file: keyframe tables and where the blocks lie.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Index {
    /// One table per track, in track-list order.
    tracks: Vec<TrackIndex>,
    /// Where each track's table is in `tracks`.
    slots: TrackSlots,
    /// Offset of the first CORE chunk (where blocks start).
    pub core_offset: u64,
    /// Offset where the block area ends: the first index chunk, or the end of the last block
    /// for a rebuilt index.
    pub end_offset: u64,
    /// Number of blocks, when known (from a locator or a scan).
    pub blocks: Option<u64>,
}

impl Index {
    fn new(
        tracks: Vec<TrackIndex>,
        core_offset: u64,
        end_offset: u64,
        blocks: Option<u64>,
    ) -> Self {
        Index {
            slots: TrackSlots::new(tracks.iter().map(|t| t.track_id)),
            tracks,
            core_offset,
            end_offset,
            blocks,
        }
    }

    /// One table per track, in track-list order.
    pub fn tracks(&self) -> &[TrackIndex] {
        &self.tracks
    }

    /// The table of `track` (the first, if the list repeats it).
    pub fn track(&self, track: u16) -> Option<&TrackIndex> {
        self.tracks.get(self.slots.get(track)?)
    }
}

/// Builds an [`Index`] from blocks seen in file order.
#[derive(Clone, Debug)]
pub struct IndexBuilder {
    slots: TrackSlots,
    tracks: Vec<TrackIndex>,
    core_offset: Option<u64>,
    end_offset: u64,
    blocks: u64,
    limits: Limits,
    entries: u64,
}

impl IndexBuilder {
    /// A builder for the tracks `track_ids`, in track-list order (the first of repeated ids
    /// wins). `limits` caps the entries it will hold.
    pub fn new(track_ids: impl IntoIterator<Item = u16>, limits: Limits) -> Self {
        let tracks: Vec<TrackIndex> = track_ids
            .into_iter()
            .map(|track_id| TrackIndex {
                track_id,
                entries: Vec::new(),
            })
            .collect();
        IndexBuilder {
            slots: TrackSlots::new(tracks.iter().map(|t| t.track_id)),
            tracks,
            core_offset: None,
            end_offset: HEADER_LEN as u64,
            blocks: 0,
            limits,
            entries: 0,
        }
    }

    /// Slot of `track` in track-list order.
    pub fn slot(&self, track: u16) -> Option<usize> {
        self.slots.get(track)
    }

    /// Records a block; returns false (and records nothing but the block area) when its track
    /// is not in the list.
    pub fn push(&mut self, block: &BlockRef<'_>) -> Result<bool> {
        self.add(
            block.track,
            block.ts_ms,
            block.kind,
            block.offset,
            block.end_offset(),
        )
    }

    /// Records a block from its parts: `offset` is its payload offset, `end` the offset past
    /// its chunk.
    pub fn add(
        &mut self,
        track: u16,
        ts_ms: u32,
        kind: BlockKind,
        offset: u64,
        end: u64,
    ) -> Result<bool> {
        self.core_offset
            .get_or_insert(offset.saturating_sub(CHUNK_HEADER_LEN as u64));
        self.end_offset = self.end_offset.max(end);
        self.blocks = self.blocks.saturating_add(1);
        let Some(slot) = self.slot(track) else {
            return Ok(false);
        };
        if kind == BlockKind::Key {
            let entries = self.entries.saturating_add(1);
            let at = offset.saturating_sub(CHUNK_HEADER_LEN as u64);
            check_seek_entries(&self.limits, entries, Tag::CORE, at)?;
            self.entries = entries;
            if let Some(t) = self.tracks.get_mut(slot) {
                t.entries.push(SeekEntry { ts_ms, offset });
            }
        }
        Ok(true)
    }

    /// The index; `end_offset` is where the blocks were seen to end (at least `from`).
    pub fn finish(self, from: u64) -> Index {
        Index {
            tracks: self.tracks,
            slots: self.slots,
            core_offset: self.core_offset.unwrap_or(from),
            end_offset: self.end_offset.max(from),
            blocks: Some(self.blocks),
        }
    }
}

/// Where the index chunks went, as [`write_index`] wrote them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexLayout {
    /// Offset of the first TSEK chunk.
    pub index_offset: u64,
    /// Number of XSEK chunks written.
    pub ext_tables: u32,
    /// Offset of the XLOC chunk, if one was written.
    pub locator: Option<u64>,
}

/// Writes the index: one TSEK per track in order, an XSEK for each track whose table does not
/// fit version 1, and an XLOC when `locator` is asked for or any XSEK was written.
pub fn write_index<W: std::io::Write>(
    writer: &mut h4mk_format::Writer<W>,
    index: &Index,
    locator: bool,
) -> Result<IndexLayout> {
    let index_offset = writer.position();
    let mut scratch = Vec::new();
    for t in &index.tracks {
        scratch.clear();
        let v1 = SeekTableBuf {
            track_id: t.track_id,
            entries: t.entries.get(..t.v1_len()).unwrap_or_default().to_vec(),
        };
        v1.write_to(&mut scratch)?;
        writer.write_chunk(Tag::TSEK, 0, &scratch)?;
    }
    let mut ext_tables = 0u32;
    for t in index.tracks.iter().filter(|t| t.v1_len() < t.entries.len()) {
        scratch.clear();
        encode_ext_table(t, &mut scratch)?;
        writer.write_chunk(XSEK, 0, &scratch)?;
        ext_tables = ext_tables.saturating_add(1);
    }
    let locator = if locator || ext_tables > 0 {
        let loc = Locator {
            index_offset,
            core_offset: index.core_offset,
            blocks: index.blocks.unwrap_or(0),
            tables: u32::try_from(index.tracks.len()).unwrap_or(u32::MAX),
            ext_tables,
        };
        Some(writer.write_chunk(XLOC, 0, &loc.to_bytes())?)
    } else {
        None
    };
    Ok(IndexLayout {
        index_offset,
        ext_tables,
        locator,
    })
}

/// Appends the XSEK payload for `table` (docs/FORMAT.md §6.2).
pub fn encode_ext_table(table: &TrackIndex, out: &mut Vec<u8>) -> Result<()> {
    let count = u32::try_from(table.entries.len()).map_err(|_| {
        Error::Gop(h4mk_gop::Error::SeekTooManyEntries {
            track: table.track_id,
            count: table.entries.len(),
            max: u32::MAX as usize,
        })
    })?;
    out.extend_from_slice(&XSEK_MAGIC);
    out.extend_from_slice(&table.track_id.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    for e in &table.entries {
        out.extend_from_slice(&e.ts_ms.to_le_bytes());
        out.extend_from_slice(&e.offset.to_le_bytes());
    }
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&XSEK_END_MAGIC);
    Ok(())
}

/// A validated, borrowed XSEK payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtSeekTable<'a> {
    track_id: u16,
    entries: &'a [u8],
}

impl<'a> ExtSeekTable<'a> {
    /// Validates an XSEK chunk: magics, reserved field, count against length, pts
    /// non-decreasing and offsets strictly increasing.
    pub fn parse(chunk: ChunkRef<'a>) -> Result<Self> {
        let bad = |what| Error::Extension {
            tag: chunk.tag,
            offset: chunk.offset,
            what,
        };
        Error::expect_tag(&chunk, XSEK)?;
        let (head, rest) = chunk
            .payload
            .split_first_chunk::<8>()
            .ok_or(bad("payload shorter than the 16-byte frame"))?;
        let (entries, tail) = rest
            .split_last_chunk::<8>()
            .ok_or(bad("payload shorter than the 16-byte frame"))?;
        let [m0, m1, m2, m3, t0, t1, r0, r1] = *head;
        let [c0, c1, c2, c3, e0, e1, e2, e3] = *tail;
        if [m0, m1, m2, m3] != XSEK_MAGIC || [e0, e1, e2, e3] != XSEK_END_MAGIC {
            return Err(bad("bad magic"));
        }
        if [r0, r1] != [0, 0] {
            return Err(bad("reserved field is not 0"));
        }
        let count = u32::from_le_bytes([c0, c1, c2, c3]);
        let fits = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(XSEK_ENTRY_LEN))
            .is_some_and(|len| len == entries.len());
        if !fits {
            return Err(bad("entry count does not match the payload length"));
        }
        let table = ExtSeekTable {
            track_id: u16::from_le_bytes([t0, t1]),
            entries,
        };
        let mut prev: Option<SeekEntry> = None;
        for e in table.iter() {
            if let Some(p) = prev
                && (e.ts_ms < p.ts_ms || e.offset <= p.offset)
            {
                return Err(bad("entries out of order"));
            }
            prev = Some(e);
        }
        Ok(table)
    }

    /// Track id stored in the table.
    pub fn track_id(&self) -> u16 {
        self.track_id
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len() / XSEK_ENTRY_LEN
    }

    /// Whether the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entry `index`.
    pub fn get(&self, index: usize) -> Option<SeekEntry> {
        let start = index.checked_mul(XSEK_ENTRY_LEN)?;
        let bytes = self
            .entries
            .get(start..start.checked_add(XSEK_ENTRY_LEN)?)?;
        let (ts, offset) = bytes.split_first_chunk::<4>()?;
        Some(SeekEntry {
            ts_ms: u32::from_le_bytes(*ts),
            offset: u64::from_le_bytes(offset.try_into().ok()?),
        })
    }

    /// The entries in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = SeekEntry> + use<'a> {
        let this = *self;
        (0..self.len()).map(move |i| {
            this.get(i).unwrap_or(SeekEntry {
                ts_ms: 0,
                offset: 0,
            })
        })
    }
}

/// The XLOC locator payload (docs/FORMAT.md §6.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Locator {
    /// Offset of the first TSEK chunk.
    pub index_offset: u64,
    /// Offset of the first CORE chunk (equal to `index_offset` when there are no blocks).
    pub core_offset: u64,
    /// Number of CORE chunks.
    pub blocks: u64,
    /// Number of TSEK chunks (one per track).
    pub tables: u32,
    /// Number of XSEK chunks after them.
    pub ext_tables: u32,
}

impl Locator {
    /// The 40-byte payload.
    pub fn to_bytes(&self) -> [u8; XLOC_PAYLOAD_LEN] {
        let mut out = Vec::with_capacity(XLOC_PAYLOAD_LEN);
        out.extend_from_slice(&XLOC_MAGIC);
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.index_offset.to_le_bytes());
        out.extend_from_slice(&self.core_offset.to_le_bytes());
        out.extend_from_slice(&self.blocks.to_le_bytes());
        out.extend_from_slice(&self.tables.to_le_bytes());
        out.extend_from_slice(&self.ext_tables.to_le_bytes());
        out.try_into().unwrap_or([0; XLOC_PAYLOAD_LEN])
    }

    /// Parses an XLOC chunk: tag, length, magic, version 1, reserved 0.
    pub fn parse(chunk: ChunkRef<'_>) -> Result<Self> {
        let bad = |what| Error::Extension {
            tag: chunk.tag,
            offset: chunk.offset,
            what,
        };
        Error::expect_tag(&chunk, XLOC)?;
        let p: &[u8; XLOC_PAYLOAD_LEN] = chunk
            .payload
            .try_into()
            .map_err(|_| bad("payload is not 40 bytes"))?;
        let [m0, m1, m2, m3, v0, v1, r0, r1, ..] = *p;
        if [m0, m1, m2, m3] != XLOC_MAGIC {
            return Err(bad("bad magic"));
        }
        if [v0, v1] != [1, 0] {
            return Err(bad("unknown locator version"));
        }
        if [r0, r1] != [0, 0] {
            return Err(bad("reserved field is not 0"));
        }
        let u64_at = |at: u64| bytes_at::<8>(p, at).map(u64::from_le_bytes).unwrap_or(0);
        let u32_at = |at: u64| u32_at(p, at).unwrap_or(0);
        Ok(Locator {
            index_offset: u64_at(8),
            core_offset: u64_at(16),
            blocks: u64_at(24),
            tables: u32_at(32),
            ext_tables: u32_at(36),
        })
    }
}

/// How a reader came by a file's index.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IndexStatus {
    /// Read through the XLOC chunk at `offset`.
    Located {
        /// Offset of the XLOC chunk.
        offset: u64,
    },
    /// Found by searching back from the end of the file (files without a locator, such as
    /// every file the reference writes).
    Trailing,
    /// Rebuilt by one full scan of the blocks, because the stored index could not be used.
    Rebuilt {
        /// Why the stored index was not used.
        reason: IndexProblem,
    },
}

impl fmt::Display for IndexStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexStatus::Located { offset } => {
                write!(f, "read through the locator at offset {offset}")
            }
            IndexStatus::Trailing => f.write_str("found at the end of the file"),
            IndexStatus::Rebuilt { reason } => write!(f, "rebuilt by a full scan: {reason}"),
        }
    }
}

/// Why a stored index could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IndexProblem {
    /// No seek table of `track` ends at `end`, where it should.
    NotFound {
        /// The track whose table was looked for.
        track: u16,
        /// Where its chunk should end.
        end: u64,
    },
    /// The locator chunk at `offset` does not describe the chunks it points at.
    BadLocator {
        /// Offset of the XLOC chunk.
        offset: u64,
        /// What does not match.
        what: &'static str,
    },
    /// A seek table chunk does not parse.
    BadTable {
        /// The chunk's tag.
        tag: Tag,
        /// Offset of the chunk.
        offset: u64,
        /// The parse error.
        detail: String,
    },
    /// An entry does not point at an I-block of its track with its pts.
    EntryMismatch {
        /// The track.
        track: u16,
        /// The entry's pts.
        ts_ms: u32,
        /// The entry's payload offset.
        offset: u64,
    },
    /// A plan walked past an I-block that its track's seek table does not list: the table is
    /// incomplete, and a plan from it could start too late or find nothing.
    Unlisted {
        /// The track.
        track: u16,
        /// The I-block's pts.
        ts_ms: u32,
        /// Its payload offset.
        offset: u64,
    },
    /// The tables overlap the blocks.
    Overlap {
        /// Offset of the first index chunk.
        index_offset: u64,
        /// Offset of the first block.
        core_offset: u64,
    },
}

impl IndexProblem {
    /// The byte offset the problem is about: where the missing table should end, the chunk
    /// that does not parse or describe what it should, the payload offset a wrong entry points
    /// at, or where the misplaced index starts.
    pub fn offset(&self) -> u64 {
        match *self {
            IndexProblem::NotFound { end, .. } => end,
            IndexProblem::BadLocator { offset, .. }
            | IndexProblem::BadTable { offset, .. }
            | IndexProblem::EntryMismatch { offset, .. }
            | IndexProblem::Unlisted { offset, .. } => offset,
            IndexProblem::Overlap { index_offset, .. } => index_offset,
        }
    }
}

impl fmt::Display for IndexProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexProblem::NotFound { track, end } => {
                write!(
                    f,
                    "no TSEK seek table of track {track} ends at offset {end}"
                )
            }
            IndexProblem::BadLocator { offset, what } => {
                write!(f, "{XLOC} chunk at offset {offset}: {what}")
            }
            IndexProblem::BadTable {
                tag,
                offset,
                detail,
            } => write!(f, "{tag} chunk at offset {offset}: {detail}"),
            IndexProblem::EntryMismatch {
                track,
                ts_ms,
                offset,
            } => write!(
                f,
                "seek entry of track {track} ({ts_ms} ms) points at payload offset {offset}, not at a CORE I-block of the track with that pts"
            ),
            IndexProblem::Unlisted {
                track,
                ts_ms,
                offset,
            } => write!(
                f,
                "the seek table of track {track} does not list its I-block at payload offset {offset} ({ts_ms} ms)"
            ),
            IndexProblem::Overlap {
                index_offset,
                core_offset,
            } => write!(
                f,
                "TSEK seek tables at offset {index_offset} start before the first block or index chunk at offset {core_offset}"
            ),
        }
    }
}

/// Finds the stored index of `file` without walking its blocks (docs/FORMAT.md §7.1).
///
/// `track_ids` is the track list in order and `core_offset` where the blocks start (the first
/// chunk after the track list and sidecars). The outer error is a hard error (a cap of `limits`
/// exceeded); the inner one says why the stored index cannot be used.
pub fn find_index(
    file: &ContainerRef<'_>,
    track_ids: &[u16],
    core_offset: u64,
) -> Result<Result<(Index, IndexStatus), IndexProblem>> {
    let located = match read_locator(file) {
        Some(Ok((offset, loc))) => match index_from_locator(file, track_ids, offset, &loc)? {
            Ok(index) => Ok((index, IndexStatus::Located { offset })),
            Err(problem) => Err(problem),
        },
        Some(Err(problem)) => Err(problem),
        None => Err(IndexProblem::NotFound {
            track: track_ids.first().copied().unwrap_or(0),
            end: file.footer_offset(),
        }),
    };
    let found = match located {
        Ok(found) => Ok(found),
        Err(first) => match trailing_index(file, track_ids, core_offset)? {
            Ok(index) => Ok((index, IndexStatus::Trailing)),
            // Report the locator's problem when there was a locator, else the search's.
            Err(problem) if matches!(first, IndexProblem::NotFound { .. }) => Err(problem),
            Err(_) => Err(first),
        },
    };
    let Ok((mut index, status)) = found else {
        return Ok(found);
    };
    if index.end_offset < core_offset {
        return Ok(Err(IndexProblem::Overlap {
            index_offset: index.end_offset,
            core_offset,
        }));
    }
    index.core_offset = core_offset;
    if let Err(problem) = check_entries(&index) {
        return Ok(Err(problem));
    }
    Ok(Ok((index, status)))
}

/// Rebuilds the index of `file` by walking every chunk from `from` (docs/FORMAT.md §7.2).
///
/// In [`Mode::Strict`] the first damaged chunk is an error, but for an index chunk (`TSEK`,
/// `XSEK`, `XLOC`) whose CRC fails: that is what the scan rebuilds, so it is handed to
/// `damage` and the walk goes on after it (its framing held); and for a chunk that runs past
/// the end of the file, when no intact chunk after it ends at the file CRC, as a writer that
/// crashed leaves its last one: it is handed to `damage` and ends the walk, and the blocks
/// before it are indexed. In [`Mode::Lenient`] damaged chunks and blocks that do not route are
/// skipped and handed to `damage` (which decides what to keep), and an error that loses the
/// framing ends the walk (everything before it is indexed).
pub fn scan_index(
    file: &ContainerRef<'_>,
    track_ids: &[u16],
    from: u64,
    mut damage: impl FnMut(Error),
) -> Result<Index> {
    let opts = file.options();
    let mut builder = IndexBuilder::new(track_ids.iter().copied(), opts.limits);
    let mut walk = file.chunks_from(from)?;
    loop {
        let chunk = match walk.next_chunk() {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) if opts.mode == Mode::Lenient => {
                damage(Error::from(e));
                continue;
            }
            Err(e) if file.is_cut_short(&e) => {
                damage(Error::from(e));
                break;
            }
            Err(e) => match damaged_index_chunk_end(file, &e) {
                // A strict walk stops at a damaged chunk: go on after this one.
                Some(next) => {
                    damage(Error::from(e));
                    walk = file.chunks_from(next)?;
                    continue;
                }
                None => return Err(e.into()),
            },
        };
        if chunk.tag != Tag::CORE {
            continue;
        }
        match route(chunk) {
            Ok(block) => {
                builder.push(&block)?;
            }
            Err(e) if opts.mode == Mode::Lenient => damage(e),
            Err(e) => return Err(e),
        }
    }
    let mut index = builder.finish(from);
    // The blocks start where the walk did, even when the first of them is damaged and left
    // out: a plan that starts at the first block must meet it (a review: a lenient chain whose
    // only keyframe was damaged started after it and answered an empty plan).
    index.core_offset = from;
    Ok(index)
}

/// Where the chunk after an index chunk whose CRC failed starts, when `e` is that failure:
/// a strict scan reads past such a chunk rather than refuse a file whose only damage is in
/// the index it rebuilds (a flipped bit in a `TSEK` made every reading command refuse it).
fn damaged_index_chunk_end(file: &ContainerRef<'_>, e: &h4mk_format::Error) -> Option<u64> {
    let h4mk_format::Error::ChunkCrc { tag, offset, .. } = *e else {
        return None;
    };
    if ![Tag::TSEK, XSEK, XLOC].contains(&tag) {
        return None;
    }
    // Framed before its CRC was checked: its length is within the file.
    let at = usize::try_from(offset).ok()?;
    let head = file.data().get(at..at.checked_add(CHUNK_HEADER_LEN)?)?;
    Some(ChunkHeader::parse(offset, head.try_into().ok()?).end_offset())
}

/// The XLOC chunk that ends at the footer, if the bytes there carry its tag.
fn read_locator(file: &ContainerRef<'_>) -> Option<Result<(u64, Locator), IndexProblem>> {
    let offset = file.footer_offset().checked_sub(XLOC_CHUNK_LEN as u64)?;
    if offset < HEADER_LEN as u64 || tag_at(file.data(), offset) != Some(XLOC) {
        return None;
    }
    let bad = |what| IndexProblem::BadLocator { offset, what };
    let parsed = file
        .chunk_at(offset)
        .map_err(|_| bad("the chunk is damaged"))
        .and_then(|chunk| {
            if chunk.end_offset() != file.footer_offset() {
                return Err(bad("the chunk does not end at the file crc"));
            }
            Locator::parse(chunk).map_err(|_| bad("the payload does not parse"))
        });
    Some(parsed.map(|loc| (offset, loc)))
}

fn index_from_locator(
    file: &ContainerRef<'_>,
    track_ids: &[u16],
    offset: u64,
    loc: &Locator,
) -> Result<Result<Index, IndexProblem>> {
    let bad = |what| IndexProblem::BadLocator { offset, what };
    if u64::from(loc.tables) != track_ids.len() as u64 {
        return Ok(Err(bad("its table count is not the track count")));
    }
    if loc.index_offset > offset || loc.index_offset < HEADER_LEN as u64 {
        return Ok(Err(bad("its index offset is outside the file")));
    }
    let Ok(mut walk) = file.chunks_from(loc.index_offset) else {
        return Ok(Err(bad("its index offset is outside the file")));
    };
    let mut tracks = Vec::new();
    for &track in track_ids {
        let Ok(Some(chunk)) = walk.next_chunk() else {
            return Ok(Err(bad("a TSEK chunk it counts is missing or damaged")));
        };
        match tsek_entries(chunk, track) {
            Ok(t) => tracks.push(t),
            Err(problem) => return Ok(Err(problem)),
        }
    }
    let mut ext_entries = 0;
    for _ in 0..loc.ext_tables {
        let Ok(Some(chunk)) = walk.next_chunk() else {
            return Ok(Err(bad("an XSEK chunk it counts is missing or damaged")));
        };
        match xsek_entries(chunk, &file.options().limits, &mut ext_entries)? {
            Ok(ext) => {
                if let Err(problem) = replace_table(&mut tracks, ext, chunk) {
                    return Ok(Err(problem));
                }
            }
            Err(problem) => return Ok(Err(problem)),
        }
    }
    if walk.offset() != offset {
        return Ok(Err(bad(
            "the index chunks do not end where the locator starts",
        )));
    }
    Ok(Ok(Index::new(
        tracks,
        loc.core_offset,
        loc.index_offset,
        Some(loc.blocks),
    )))
}

/// Searches back from the end: an optional XLOC, XSEK chunks (O(1) each from their trailing
/// count), then one TSEK per track in reverse order (docs/FORMAT.md §7.1).
fn trailing_index(
    file: &ContainerRef<'_>,
    track_ids: &[u16],
    core_offset: u64,
) -> Result<Result<Index, IndexProblem>> {
    let mut end = file.footer_offset();
    if let Some(offset) = end.checked_sub(XLOC_CHUNK_LEN as u64)
        && tag_at(file.data(), offset) == Some(XLOC)
        && file.chunk_at(offset).is_ok_and(|c| c.end_offset() == end)
    {
        end = offset;
    }
    let mut ext = Vec::new();
    while ext.len() < track_ids.len() {
        let Some(chunk) = xsek_ending_at(file, end, core_offset) else {
            break;
        };
        ext.push(chunk);
        end = chunk.offset;
    }
    let mut tracks = Vec::with_capacity(track_ids.len().min(h4mk_format::MAX_INITIAL_CAPACITY));
    for &track in track_ids.iter().rev() {
        let Some(chunk) = tsek_ending_at(file, end, core_offset, track) else {
            return Ok(Err(IndexProblem::NotFound { track, end }));
        };
        match tsek_entries(chunk, track) {
            Ok(t) => tracks.push(t),
            Err(problem) => return Ok(Err(problem)),
        }
        end = chunk.offset;
    }
    tracks.reverse();
    let mut ext_entries = 0;
    for chunk in ext.into_iter().rev() {
        match xsek_entries(chunk, &file.options().limits, &mut ext_entries)? {
            Ok(table) => {
                if let Err(problem) = replace_table(&mut tracks, table, chunk) {
                    return Ok(Err(problem));
                }
            }
            Err(problem) => return Ok(Err(problem)),
        }
    }
    Ok(Ok(Index::new(tracks, core_offset, end, None)))
}

/// The v1 TSEK chunk of `track` that ends at `end`: tries every entry count from 0, checking
/// tag, length, both magics, track id, count and CRC. Costs O(entries).
fn tsek_ending_at<'a>(
    file: &ContainerRef<'a>,
    end: u64,
    floor: u64,
    track: u16,
) -> Option<ChunkRef<'a>> {
    let data = file.data();
    for n in 0..=MAX_SEEK_ENTRIES as u64 {
        let start = end.checked_sub(TSEK_FIXED_CHUNK_LEN + 8 * n)?;
        if start < floor {
            return None;
        }
        let header_ok = tag_at(data, start) == Some(Tag::TSEK)
            && u32_at(data, start + 8) == u32::try_from(16 + 8 * n).ok()
            && bytes_at::<4>(data, start + 12) == Some(h4mk_gop::TRACK_MAGIC)
            && bytes_at::<2>(data, start + 16) == Some(track.to_le_bytes())
            && bytes_at::<4>(data, start + 20) == Some(h4mk_gop::SEEK_MAGIC)
            && bytes_at::<2>(data, start + 24).map(u16::from_le_bytes) == u16::try_from(n).ok();
        if !header_ok {
            continue;
        }
        if let Ok(chunk) = file.chunk_at(start)
            && chunk.end_offset() == end
        {
            return Some(chunk);
        }
    }
    None
}

/// The XSEK chunk that ends at `end`, read from its trailing count in O(1).
fn xsek_ending_at<'a>(file: &ContainerRef<'a>, end: u64, floor: u64) -> Option<ChunkRef<'a>> {
    let data = file.data();
    let payload_end = end.checked_sub(CHUNK_CRC_LEN as u64)?;
    if bytes_at::<4>(data, payload_end.checked_sub(4)?) != Some(XSEK_END_MAGIC) {
        return None;
    }
    let count = u64::from(u32_at(data, payload_end.checked_sub(8)?)?);
    let payload_len = count
        .checked_mul(XSEK_ENTRY_LEN as u64)?
        .checked_add(XSEK_FIXED_LEN as u64)?;
    let start = payload_end
        .checked_sub(payload_len)?
        .checked_sub(CHUNK_HEADER_LEN as u64)?;
    if start < floor || tag_at(data, start) != Some(XSEK) {
        return None;
    }
    file.chunk_at(start).ok().filter(|c| c.end_offset() == end)
}

pub(crate) fn tsek_entries(chunk: ChunkRef<'_>, track: u16) -> Result<TrackIndex, IndexProblem> {
    let bad = |detail: String| IndexProblem::BadTable {
        tag: chunk.tag,
        offset: chunk.offset,
        detail,
    };
    if chunk.tag != Tag::TSEK {
        return Err(bad(format!("expected the TSEK chunk of track {track}")));
    }
    let table = SeekTable::parse(chunk.payload).map_err(|e| bad(e.to_string()))?;
    if table.track_id() != track {
        return Err(bad(format!(
            "table of track {}, expected track {track}",
            table.track_id()
        )));
    }
    Ok(TrackIndex {
        track_id: track,
        entries: table.iter().collect(),
    })
}

/// Checks that an index may hold `entries` seek entries under `limits`, in number and in the
/// bytes they take; the error names the limit exceeded and the chunk that took the index past
/// it.
fn check_seek_entries(limits: &Limits, entries: u64, tag: Tag, offset: u64) -> Result<()> {
    let bytes = entries.saturating_mul(std::mem::size_of::<SeekEntry>() as u64);
    let (what, value, max) = if entries > limits.max_seek_entries {
        ("seek entries", entries, limits.max_seek_entries)
    } else if bytes > limits.max_total_alloc {
        ("bytes of seek entries", bytes, limits.max_total_alloc)
    } else {
        return Ok(());
    };
    Err(h4mk_format::Error::Limit {
        tag,
        offset,
        what,
        value,
        max,
    }
    .into())
}

/// The entries of an XSEK chunk; `held` counts the entries of the XSEK tables read before it,
/// so the limits apply to all of them together.
fn xsek_entries(
    chunk: ChunkRef<'_>,
    limits: &Limits,
    held: &mut u64,
) -> Result<Result<TrackIndex, IndexProblem>> {
    let table = match ExtSeekTable::parse(chunk) {
        Ok(t) => t,
        Err(e) => {
            return Ok(Err(IndexProblem::BadTable {
                tag: chunk.tag,
                offset: chunk.offset,
                detail: detail(e),
            }));
        }
    };
    let entries = held.saturating_add(table.len() as u64);
    check_seek_entries(limits, entries, chunk.tag, chunk.offset)?;
    *held = entries;
    Ok(Ok(TrackIndex {
        track_id: table.track_id(),
        entries: table.iter().collect(),
    }))
}

/// What is wrong with an extension chunk, for a problem that names the chunk itself.
pub(crate) fn detail(e: Error) -> String {
    match e {
        Error::Extension { what, .. } => what.to_owned(),
        other => other.to_string(),
    }
}

/// Puts an XSEK table in place of its track's TSEK table.
fn replace_table(
    tracks: &mut [TrackIndex],
    ext: TrackIndex,
    chunk: ChunkRef<'_>,
) -> Result<(), IndexProblem> {
    let slot = tracks
        .iter_mut()
        .find(|t| t.track_id == ext.track_id)
        .ok_or_else(|| IndexProblem::BadTable {
            tag: chunk.tag,
            offset: chunk.offset,
            detail: format!(
                "table of track {}, which is not in the track list",
                ext.track_id
            ),
        })?;
    *slot = ext;
    Ok(())
}

/// Checks that every entry points inside the block area. This reads nothing of the blocks: on a
/// memory-mapped file, touching each keyframe's chunk would fault in a page per keyframe, and
/// open would cost in proportion to the file rather than the index. Whether an entry points at
/// its keyframe is checked when a plan uses it ([`check_entry`]).
fn check_entries(index: &Index) -> Result<(), IndexProblem> {
    for t in &index.tracks {
        for e in &t.entries {
            let inside = e
                .offset
                .checked_sub(CHUNK_HEADER_LEN as u64)
                .is_some_and(|start| start >= index.core_offset && e.offset < index.end_offset);
            if !inside {
                return Err(IndexProblem::EntryMismatch {
                    track: t.track_id,
                    ts_ms: e.ts_ms,
                    offset: e.offset,
                });
            }
        }
    }
    Ok(())
}

/// Checks that `entry` of `track`'s table points at a CORE I-block of that track with that pts,
/// inside the block area (its chunk header and routing header only, no CRC).
pub(crate) fn check_entry(
    file: &ContainerRef<'_>,
    index: &Index,
    track: u16,
    entry: &SeekEntry,
) -> Result<(), IndexProblem> {
    let mismatch = IndexProblem::EntryMismatch {
        track,
        ts_ms: entry.ts_ms,
        offset: entry.offset,
    };
    let start = entry
        .offset
        .checked_sub(CHUNK_HEADER_LEN as u64)
        .ok_or_else(|| mismatch.clone())?;
    if start < index.core_offset || entry.offset >= index.end_offset {
        return Err(mismatch);
    }
    let ok = frame_unchecked(file, start)
        .filter(|c| c.end_offset() <= index.end_offset)
        .and_then(|c| route(c).ok())
        .is_some_and(|b| b.track == track && b.kind == BlockKind::Key && b.ts_ms == entry.ts_ms);
    if ok { Ok(()) } else { Err(mismatch) }
}

/// Frames the chunk at `offset` without checking its CRC.
pub(crate) fn frame_unchecked<'a>(file: &ContainerRef<'a>, offset: u64) -> Option<ChunkRef<'a>> {
    let opts = h4mk_format::ParseOptions {
        check_crc: false,
        ..*file.options()
    };
    ContainerRef::parse_with(file.data(), &opts)
        .ok()?
        .chunk_at(offset)
        .ok()
}

fn bytes_at<const N: usize>(data: &[u8], at: u64) -> Option<[u8; N]> {
    let start = usize::try_from(at).ok()?;
    data.get(start..start.checked_add(N)?)?.try_into().ok()
}

fn tag_at(data: &[u8], at: u64) -> Option<Tag> {
    bytes_at::<4>(data, at).map(Tag)
}

fn u32_at(data: &[u8], at: u64) -> Option<u32> {
    bytes_at::<4>(data, at).map(u32::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lookup by binary search that replaced a linear search per call finds what the
    /// linear search found: the first of repeated ids, and nothing for an id not listed.
    #[test]
    fn tracks_are_found_by_id_as_a_linear_search_finds_them() {
        let ids = [7u16, 3, 65_535, 3, 0, 7, 9];
        let tables = ids.iter().enumerate().map(|(k, &track_id)| TrackIndex {
            track_id,
            entries: vec![SeekEntry {
                ts_ms: k as u32,
                offset: 0,
            }],
        });
        let index = Index::new(tables.collect(), 0, 0, None);
        let builder = IndexBuilder::new(ids, Limits::default());
        for id in [0, 1, 3, 7, 9, 65_534, 65_535] {
            let linear = index.tracks().iter().position(|t| t.track_id == id);
            assert_eq!(builder.slot(id), linear, "{id}");
            assert_eq!(
                index.track(id).map(|t| t.entries[0].ts_ms as usize),
                linear,
                "{id}"
            );
        }
    }

    #[test]
    fn locator_round_trips() {
        let loc = Locator {
            index_offset: 1 << 33,
            core_offset: 315,
            blocks: 1_000_000,
            tables: 3,
            ext_tables: 1,
        };
        let bytes = loc.to_bytes();
        assert_eq!(&bytes[..8], b"H4LC\x01\x00\x00\x00");
        let chunk = ChunkRef {
            offset: 99,
            tag: XLOC,
            flags: 0,
            payload: &bytes,
            crc: 0,
        };
        assert_eq!(Locator::parse(chunk).unwrap(), loc);
        let short = ChunkRef {
            payload: &bytes[..39],
            ..chunk
        };
        assert_eq!(
            Locator::parse(short).unwrap_err().to_string(),
            "XLOC chunk at offset 99: payload is not 40 bytes"
        );
    }

    #[test]
    fn ext_table_round_trips_and_checks_order() {
        let t = TrackIndex {
            track_id: 9,
            entries: vec![
                SeekEntry {
                    ts_ms: 0,
                    offset: 28,
                },
                SeekEntry {
                    ts_ms: 5,
                    offset: 1 << 40,
                },
            ],
        };
        let mut bytes = Vec::new();
        encode_ext_table(&t, &mut bytes).unwrap();
        assert_eq!(bytes.len(), XSEK_FIXED_LEN + 2 * XSEK_ENTRY_LEN);
        let chunk = ChunkRef {
            offset: 7,
            tag: XSEK,
            flags: 0,
            payload: &bytes,
            crc: 0,
        };
        let view = ExtSeekTable::parse(chunk).unwrap();
        assert_eq!(
            (view.track_id(), view.iter().collect::<Vec<_>>()),
            (9, t.entries.clone())
        );

        let mut swapped = t.clone();
        swapped.entries.reverse();
        let mut bytes = Vec::new();
        encode_ext_table(&swapped, &mut bytes).unwrap();
        let chunk = ChunkRef {
            payload: &bytes,
            ..chunk
        };
        assert_eq!(
            ExtSeekTable::parse(chunk).unwrap_err().to_string(),
            "XSEK chunk at offset 7: entries out of order"
        );
        // As the reason an index was not used, the chunk is named once.
        let problem = xsek_entries(chunk, &Limits::default(), &mut 0)
            .unwrap()
            .unwrap_err();
        assert_eq!(
            problem.to_string(),
            "XSEK chunk at offset 7: entries out of order"
        );
    }

    #[test]
    fn v1_keeps_what_fits() {
        let mut t = TrackIndex {
            track_id: 1,
            entries: (0..70_000u32)
                .map(|i| SeekEntry {
                    ts_ms: i,
                    offset: u64::from(i) * 100_000,
                })
                .collect(),
        };
        // Offsets pass 4 GiB at entry 42,950.
        assert_eq!(t.v1_len(), 42_950);
        t.entries.truncate(40_000);
        assert_eq!(t.v1_len(), 40_000);
        t.entries.iter_mut().for_each(|e| e.offset /= 1000);
        t.entries.extend((40_000..70_000u32).map(|i| SeekEntry {
            ts_ms: i,
            offset: u64::from(i) * 100,
        }));
        assert_eq!(t.v1_len(), MAX_SEEK_ENTRIES);
    }

    #[test]
    fn lookups() {
        let t = TrackIndex {
            track_id: 1,
            entries: [(0, 10), (10, 20), (10, 30), (20, 40)]
                .map(|(ts_ms, offset)| SeekEntry { ts_ms, offset })
                .to_vec(),
        };
        assert_eq!(t.lookup(10).map(|e| e.offset), Some(30));
        assert_eq!(t.lookup_before(10).map(|e| e.offset), Some(10));
        assert_eq!(t.lookup_before(0), None);
        assert_eq!(t.lookup(u32::MAX).map(|e| e.offset), Some(40));
        // The first among equal pts, and none past the last.
        assert_eq!(t.first_from(5).map(|e| e.offset), Some(20));
        assert_eq!(t.first_from(10).map(|e| e.offset), Some(20));
        assert_eq!(t.first_from(21), None);
    }
}
