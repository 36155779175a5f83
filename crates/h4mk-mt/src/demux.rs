//! Reading a multi-track file held in memory: tracks, sidecars, blocks, seek and decode plans.
//!
//! [`Demuxer::open`] reads the header, the chunks before the first block (track list and
//! sidecars) and the index, which it finds from the end of the file without walking the blocks
//! ([`crate::index::find_index`]); its cost follows the size of the index, not of the file.
//! [`Demuxer::chain`] and [`Demuxer::range`] then start at a keyframe from the index and walk
//! forward only as far as the plan needs (docs/FORMAT.md §7.3). Nothing is copied: blocks
//! borrow their opaque bytes from the slice.
//!
//! CRCs: `open` checks the CRC of every chunk it reads (head and index) but not the file CRC,
//! which would cost a pass over the whole file; [`Demuxer::blocks`] checks every chunk and the
//! file CRC as it goes; `chain`, `range` and `block_at` check the chunks they return, and a plan
//! checks every chunk its walk passes, other tracks' too, in lenient mode as well: a damaged
//! tag or track id could hide a block of the track, and the plan would leave it out without a
//! word (docs/FORMAT.md §7.3); only the track's own blocks before the plan's first step are
//! framed, not checked. [`Demuxer::verify`] hashes every
//! byte once, whatever the options, and checks the structure in the same walk.
//!
//! A file with no TRAK chunk before its blocks has no tracks (as the reference reads it): it
//! opens, and `verify` reports each block it has as a block of an undeclared track.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::sync::OnceLock;

use h4mk_format::{
    CHUNK_HEADER_LEN, ChunkRef, Chunks, ContainerRef, FileHeader, HEADER_LEN, Mode, ParseOptions,
    Tag,
};
use h4mk_gop::{BlockInfo, BlockKind, SeekEntry};

use crate::error::{Error, Result};
use crate::index::{
    Index, IndexBuilder, IndexProblem, IndexStatus, Locator, TrackIndex, TrackSlots, XLOC, XSEK,
    XSEK_MAGIC, check_entry, find_index, is_known_tag, scan_index, tsek_entries,
};
use crate::router::{BlockRef, route};
use crate::sidecar::Sidecars;
use crate::track::{TrackList, TrackProblem, TrackSpec, parse_track_list};

/// One step of a decode plan: a block, labelled with how it is decoded (I, P or B).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeStep<'a> {
    /// The block to decode.
    pub block: BlockRef<'a>,
    /// The step's label: the block's type.
    pub kind: BlockKind,
}

/// Something found in a file that reads fine here but departs from what the reference writes.
///
/// Every problem is about one place in the file: [`Problem::offset`] gives it, and its
/// `Display` is one line that names the chunk's tag and offset. Problems about a block name
/// the offset of its CORE chunk header (the block's payload offset, as [`BlockRef::offset`]
/// and seek tables give it, is 12 bytes further).
#[derive(Debug)]
#[non_exhaustive]
pub enum Problem {
    /// The track list has a key outside the seven or lacks one with a default.
    TrackList {
        /// Offset of the TRAK chunk.
        offset: u64,
        /// What departs.
        problem: TrackProblem,
    },
    /// A second TRAK chunk; the first is used, as the reference does.
    ExtraTrackList {
        /// Offset of the ignored chunk.
        offset: u64,
    },
    /// A sidecar tag seen again; the first is kept.
    RepeatedSidecar {
        /// The sidecar's tag.
        tag: Tag,
        /// Offset of the ignored chunk.
        offset: u64,
    },
    /// A TRAK or sidecar chunk after the first block or index chunk, where readers do not look
    /// for it (docs/FORMAT.md §2.1, §2.3): it is ignored.
    LateChunk {
        /// The chunk's tag.
        tag: Tag,
        /// Offset of the ignored chunk.
        offset: u64,
    },
    /// A CORE chunk that is not a block: a payload too short for the routing header, a magic
    /// other than `H4TB`, or GOP flags with the reserved block type or reserved bits set. The
    /// error names the chunk's offset.
    BadBlock(Error),
    /// A block of a track that is not in the track list (every block, in a file without one).
    UnknownTrackBlock {
        /// Offset of the CORE chunk.
        offset: u64,
        /// Its track id.
        track: u16,
        /// Its pts.
        ts_ms: u32,
    },
    /// A block out of (pts, track id) order: its key is below the previous block's.
    BlockOrder {
        /// Offset of the CORE chunk.
        offset: u64,
        /// Its track.
        track: u16,
        /// Its pts.
        ts_ms: u32,
        /// The previous block's track.
        prev_track: u16,
        /// The previous block's pts.
        prev_ts_ms: u32,
    },
    /// A track whose first block is not an I-block (a rule the muxer enforces).
    FirstBlockNotKey {
        /// Offset of the CORE chunk.
        offset: u64,
        /// The track.
        track: u16,
        /// The block's pts.
        ts_ms: u32,
        /// Its type.
        kind: BlockKind,
    },
    /// A block whose pts is before its track's previous block (a rule the muxer enforces).
    PtsBackwards {
        /// Offset of the CORE chunk.
        offset: u64,
        /// The track.
        track: u16,
        /// The block's pts.
        ts_ms: u32,
        /// The pts of the track's block before it.
        prev_ts_ms: u32,
    },
    /// A track whose last block is a B-block, which has no forward anchor (a rule the muxer
    /// enforces).
    EndsOnB {
        /// Offset of the CORE chunk of the B-block.
        offset: u64,
        /// The track.
        track: u16,
        /// The B-block's pts.
        ts_ms: u32,
    },
    /// The stored seek table of a track differs from the keyframes of its blocks.
    IndexMismatch {
        /// The track whose table differs.
        track: u16,
        /// Tag of the chunk the table was read from (TSEK, or XSEK for a wide table).
        tag: Tag,
        /// Offset of that chunk (where the index starts, if no such chunk was seen).
        offset: u64,
        /// Index of the first entry that differs.
        entry: usize,
        /// The stored entry there, if the table has one.
        stored: Option<SeekEntry>,
        /// The entry the blocks give there, if they have one.
        found: Option<SeekEntry>,
    },
    /// A seek table (TSEK or XSEK) for a track that is not in the track list: the reference
    /// writes one per listed track only, and readers ignore this one.
    UnlistedTable {
        /// The table's tag.
        tag: Tag,
        /// Offset of its chunk.
        offset: u64,
        /// The track id it names.
        track: u16,
    },
    /// An XLOC locator that does not parse, is not the last chunk, or does not describe the
    /// chunks it counts and points at (docs/FORMAT.md §6.3). Readers check it before using it
    /// and fall back to the search from the end, so the file still reads; only `verify` says so.
    BadLocator {
        /// Offset of the XLOC chunk.
        offset: u64,
        /// What does not match.
        what: String,
    },
    /// The stored index was not used, and why (see [`Demuxer::index_status`]).
    IndexRebuilt {
        /// Why the stored index was not used.
        reason: IndexProblem,
    },
    /// Damage read past in lenient mode, or a limit that stopped a check.
    Damage(Error),
}

impl Problem {
    /// The byte offset the problem is about: the offset of the chunk it names (see the type's
    /// docs), or, for an unusable index, [`IndexProblem::offset`]. `None` only for an error
    /// that is not about a place in the file.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Problem::TrackList { offset, .. }
            | Problem::ExtraTrackList { offset }
            | Problem::RepeatedSidecar { offset, .. }
            | Problem::LateChunk { offset, .. }
            | Problem::UnknownTrackBlock { offset, .. }
            | Problem::BlockOrder { offset, .. }
            | Problem::FirstBlockNotKey { offset, .. }
            | Problem::PtsBackwards { offset, .. }
            | Problem::EndsOnB { offset, .. }
            | Problem::UnlistedTable { offset, .. }
            | Problem::BadLocator { offset, .. }
            | Problem::IndexMismatch { offset, .. } => Some(*offset),
            Problem::IndexRebuilt { reason } => Some(reason.offset()),
            Problem::BadBlock(e) | Problem::Damage(e) => e.offset(),
        }
    }

    /// A copy of a problem `open` found in the head of the file (the track list, repeated
    /// chunks), which `verify` reports again; `None` for the others.
    fn head_copy(&self) -> Option<Problem> {
        match self {
            Problem::TrackList { offset, problem } => Some(Problem::TrackList {
                offset: *offset,
                problem: problem.clone(),
            }),
            Problem::ExtraTrackList { offset } => Some(Problem::ExtraTrackList { offset: *offset }),
            Problem::RepeatedSidecar { tag, offset } => Some(Problem::RepeatedSidecar {
                tag: *tag,
                offset: *offset,
            }),
            _ => None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::TrackList { offset, problem } => {
                write!(f, "TRAK chunk at offset {offset}: {problem}")
            }
            Problem::ExtraTrackList { offset } => {
                write!(
                    f,
                    "TRAK chunk at offset {offset}: a second track list, ignored"
                )
            }
            Problem::RepeatedSidecar { tag, offset } => {
                write!(
                    f,
                    "{tag} chunk at offset {offset}: a repeated sidecar, ignored"
                )
            }
            Problem::LateChunk { tag, offset } => write!(
                f,
                "{tag} chunk at offset {offset}: after the first block or seek table, where it is not read; ignored"
            ),
            Problem::UnknownTrackBlock {
                offset,
                track,
                ts_ms,
            } => write!(
                f,
                "CORE chunk at offset {offset}: block for undeclared track {track} (pts {ts_ms} ms)"
            ),
            Problem::BlockOrder {
                offset,
                track,
                ts_ms,
                prev_track,
                prev_ts_ms,
            } => write!(
                f,
                "CORE chunk at offset {offset}: block of track {track} at {ts_ms} ms after one of track {prev_track} at {prev_ts_ms} ms, out of (pts, track id) order"
            ),
            Problem::FirstBlockNotKey {
                offset,
                track,
                ts_ms,
                kind,
            } => write!(
                f,
                "CORE chunk at offset {offset}: track {track}: the first block (pts {ts_ms} ms) is a {kind}-block, a track must start with an I-block"
            ),
            Problem::PtsBackwards {
                offset,
                track,
                ts_ms,
                prev_ts_ms,
            } => write!(
                f,
                "CORE chunk at offset {offset}: track {track}: pts {ts_ms} ms goes back from the previous block's {prev_ts_ms} ms"
            ),
            Problem::EndsOnB {
                offset,
                track,
                ts_ms,
            } => write!(
                f,
                "CORE chunk at offset {offset}: track {track} ends on this B-block (pts {ts_ms} ms), which has no forward anchor"
            ),
            Problem::IndexMismatch {
                track,
                tag,
                offset,
                entry,
                stored,
                found,
            } => {
                write!(
                    f,
                    "{tag} chunk at offset {offset}: the stored seek table of track {track} does not match its blocks: "
                )?;
                match (stored, found) {
                    (Some(s), Some(b)) => write!(
                        f,
                        "entry {entry} is {} ms at payload offset {}, the blocks give {} ms at {}",
                        s.ts_ms, s.offset, b.ts_ms, b.offset
                    ),
                    (Some(s), None) => write!(
                        f,
                        "entry {entry} ({} ms at payload offset {}) has no keyframe to match",
                        s.ts_ms, s.offset
                    ),
                    (None, Some(b)) => write!(
                        f,
                        "the table ends before entry {entry}, the keyframe at {} ms at payload offset {}",
                        b.ts_ms, b.offset
                    ),
                    (None, None) => f.write_str("the tables differ"),
                }
            }
            Problem::UnlistedTable { tag, offset, track } => write!(
                f,
                "{tag} chunk at offset {offset}: a seek table for track {track}, which is not in the track list (ignored)"
            ),
            Problem::BadLocator { offset, what } => {
                write!(f, "{XLOC} chunk at offset {offset}: {what}")
            }
            Problem::IndexRebuilt { reason } => {
                write!(f, "the stored index could not be used: {reason}")
            }
            Problem::BadBlock(e) | Problem::Damage(e) => write_chain(f, e),
        }
    }
}

/// An error and its sources on one line, separated by `": "`.
fn write_chain(f: &mut fmt::Formatter<'_>, e: &dyn std::error::Error) -> fmt::Result {
    write!(f, "{e}")?;
    let mut source = e.source();
    while let Some(s) = source {
        write!(f, ": {s}")?;
        source = s.source();
    }
    Ok(())
}

/// The outcome of [`Demuxer::verify`].
#[derive(Debug)]
#[must_use = "a report says whether the file is sound; dropping it checks nothing"]
pub struct Report {
    /// Every chunk CRC and the file CRC.
    pub container: h4mk_format::Verification,
    /// Everything else, in file order (by [`Problem::offset`]): up to
    /// [`Limits::max_problems`](h4mk_format::Limits::max_problems) of those found chunk by
    /// chunk, and those about whole tracks and the index whatever the cap.
    pub problems: Vec<Problem>,
    /// Problems found past that cap: counted, not kept.
    pub omitted_problems: u64,
}

impl Report {
    /// True when the file is intact and has nothing the reference would not write.
    pub fn is_ok(&self) -> bool {
        self.container.is_ok() && self.problems.is_empty() && self.omitted_problems == 0
    }
}

/// The problems a walk finds, kept up to a cap and counted past it: a file of a million bad
/// blocks costs the verifier a counter, not a million reports.
#[derive(Debug)]
struct Problems {
    list: Vec<Problem>,
    omitted: u64,
    cap: u64,
}

impl Problems {
    fn new(cap: u64) -> Self {
        Problems {
            list: Vec::new(),
            omitted: 0,
            cap,
        }
    }

    fn push(&mut self, problem: Problem) {
        if (self.list.len() as u64) < self.cap {
            self.list.push(problem);
        } else {
            self.omitted += 1;
        }
    }
}

/// A multi-track file read from a byte slice.
#[derive(Debug)]
pub struct Demuxer<'a> {
    file: ContainerRef<'a>,
    /// The same bytes with CRC checks off, for walking past chunks a plan does not return.
    raw: ContainerRef<'a>,
    tracks: Vec<TrackSpec>,
    /// Where each track is in `tracks`.
    slots: TrackSlots,
    trak_offset: Option<u64>,
    sidecars: Sidecars<'a>,
    index: Index,
    status: IndexStatus,
    /// The index rebuilt by one scan, with why, once a plan found a stored seek entry that does
    /// not point at its keyframe; used from then on.
    rebuilt: OnceLock<(Index, IndexStatus)>,
    problems: Problems,
    /// Whether the index scan ended at a chunk the file is cut short in, the last of
    /// `problems`.
    cut_short: bool,
    /// Every value of the track list read as another type than the reference writer is meant
    /// to write, as `(track index, key, JSON text)` in track order: not capped as `problems`
    /// are, since remux writes them back (at most six per track).
    off_type: Vec<(usize, &'static str, String)>,
}

/// What a plan's walk does with a damaged block of a track it plans no window for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Others {
    /// Fails, in either mode: a cut of several tracks, whose other picked tracks (an empty
    /// one, say) may have no window, and whose leads reach back before its windows (a
    /// review: a lenient cut dropped a picked track whose keyframe was damaged).
    Checked,
    /// Reads past it in lenient mode: `chain` and `range`, which plan one track.
    ReadPastInLenient,
}

/// Where [`Demuxer::walk_windows`] starts a track's window, and where it ends.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WindowStart {
    track: u16,
    /// Offset of the chunk the window starts at.
    start: u64,
    /// The window holds the track's blocks up to this pts (and on to the forward anchor of
    /// B-blocks waiting for one).
    t_ms: u32,
    /// The track's seek table lists a keyframe after `t_ms`, checked against its block: the
    /// track goes on after the window, which may then end at a block of another track.
    goes_on: bool,
}

/// The blocks of one track a plan may need, as [`Demuxer::windows`] gathers them.
#[derive(Debug)]
pub(crate) struct Window<'a> {
    /// From the walk's start up to the window's end pts (on to the anchor B-blocks wait for).
    pub(crate) blocks: Vec<BlockRef<'a>>,
    /// True when the track has a block past the window: the walk met one of its blocks with a
    /// later pts.
    pub(crate) goes_on: bool,
}

impl<'a> Demuxer<'a> {
    /// Opens with default options (strict, CRCs checked, default limits).
    pub fn open(data: &'a [u8]) -> Result<Self> {
        Self::open_with(data, &ParseOptions::default())
    }

    /// Reads the header, the track list and sidecars, and the index.
    ///
    /// Opening reads the chunks before the blocks and the index, their CRCs checked, but not
    /// the blocks: a block's CRC is checked when a walk passes it ([`Demuxer::blocks`], and
    /// [`Demuxer::chain`] and [`Demuxer::range`], which check every chunk on their way, of any
    /// track), and [`Demuxer::verify`] checks them all. A file cut short inside its last chunk
    /// opens, with its index rebuilt from the blocks before the cut: [`Demuxer::cut_short`]
    /// says so.
    ///
    /// The track list is the first TRAK chunk before the first block or index chunk. A file
    /// with none there has no tracks, as the reference reads a file without a TRAK: it opens,
    /// and [`Demuxer::verify`] reports each of its blocks as a block of an undeclared track.
    ///
    /// In lenient mode, damaged chunks before the blocks are skipped and noted in
    /// [`Demuxer::problems`], and a rebuild of the index reads past damaged blocks.
    pub fn open_with(data: &'a [u8], opts: &ParseOptions) -> Result<Self> {
        let file = ContainerRef::parse_with(data, opts)?;
        let mut problems = Problems::new(opts.limits.max_problems);
        let mut trak = None;
        let mut sidecars = Sidecars::default();
        let mut walk = file.chunks_from(HEADER_LEN as u64)?;
        let core_offset = loop {
            let at = walk.offset();
            let chunk = match walk.next_chunk() {
                Ok(Some(chunk)) => chunk,
                Ok(None) if at == HEADER_LEN as u64 && opts.check_crc => {
                    // No chunk at all: the file CRC, over the header alone, is what tells an
                    // empty file from one cut to its header and four bytes, which would
                    // otherwise read as a file with no tracks.
                    // `verify` hashes only the header here, there being no chunk.
                    if let Some(e) = file.verify().errors.into_iter().next() {
                        return Err(e.into());
                    }
                    break at;
                }
                Ok(None) => break at,
                Err(h4mk_format::Error::ChunkCrc { tag, offset, .. })
                    if opts.mode == Mode::Lenient && is_body_tag(tag) =>
                {
                    break offset;
                }
                Err(e @ h4mk_format::Error::ChunkCrc { .. }) if opts.mode == Mode::Lenient => {
                    problems.push(Problem::Damage(e.into()));
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if is_body_tag(chunk.tag) {
                break chunk.offset;
            }
            if chunk.tag == Tag::TRAK {
                if trak.is_none() {
                    trak = Some(chunk);
                } else {
                    problems.push(Problem::ExtraTrackList {
                        offset: chunk.offset,
                    });
                }
            } else if let Some(slot) = sidecars.slot_mut(chunk.tag) {
                if slot.is_none() {
                    *slot = Some(chunk.payload);
                } else {
                    problems.push(Problem::RepeatedSidecar {
                        tag: chunk.tag,
                        offset: chunk.offset,
                    });
                }
            }
        };
        // No TRAK before the blocks is an empty track list, as the reference reads a file
        // without one; `verify` reports the blocks of such a file (docs/FORMAT.md §2.1).
        let list = match trak {
            Some(trak) => parse_track_list(trak, &opts.limits)?,
            None => TrackList::default(),
        };
        let mut off_type = Vec::new();
        if let Some(trak) = trak {
            for problem in list.problems {
                if let TrackProblem::OffType {
                    index,
                    key,
                    written,
                } = &problem
                {
                    off_type.push((*index, *key, written.clone()));
                }
                problems.push(Problem::TrackList {
                    offset: trak.offset,
                    problem,
                });
            }
        }
        let ids: Vec<u16> = list.tracks.iter().map(|t| t.track_id).collect();
        let mut cut_short = false;
        let (index, status) = match find_index(&file, &ids, core_offset)? {
            Ok(found) => found,
            Err(reason) => {
                let index = scan_index(&file, &ids, core_offset, |e| {
                    // The chunk cut short ends the scan: it is listed whatever the cap, so
                    // that `cut_short` always finds it.
                    if let Error::Format(f) = &e
                        && file.is_cut_short(f)
                    {
                        cut_short = true;
                        problems.list.push(Problem::Damage(e));
                    } else {
                        problems.push(Problem::Damage(e));
                    }
                })?;
                (index, IndexStatus::Rebuilt { reason })
            }
        };
        let raw = ContainerRef::parse_with(
            data,
            &ParseOptions {
                check_crc: false,
                ..*opts
            },
        )?;
        Ok(Demuxer {
            file,
            raw,
            slots: TrackSlots::new(list.tracks.iter().map(|t| t.track_id)),
            tracks: list.tracks,
            trak_offset: trak.map(|t| t.offset),
            sidecars,
            index,
            status,
            rebuilt: OnceLock::new(),
            problems,
            cut_short,
            off_type,
        })
    }

    /// The values of track `track` read as another type than the reference writer is meant
    /// to write ([`TrackProblem::OffType`]), by key, with their JSON text as in the file.
    pub(crate) fn off_type_values(&self, track: u16) -> impl Iterator<Item = (&'static str, &str)> {
        let at = self.slots.get(track);
        let from = self.off_type.partition_point(|(i, ..)| Some(*i) < at);
        self.off_type
            .get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(move |(i, ..)| Some(*i) == at)
            .map(|(_, key, written)| (*key, written.as_str()))
    }

    /// The file header.
    pub fn header(&self) -> &FileHeader {
        self.file.header()
    }

    /// The chunk-level view of the file.
    pub fn container(&self) -> ContainerRef<'a> {
        self.file
    }

    /// The tracks, in track-list order.
    pub fn tracks(&self) -> &[TrackSpec] {
        &self.tracks
    }

    /// The track with id `track`.
    pub fn track(&self, track: u16) -> Option<&TrackSpec> {
        self.tracks.get(self.slots.get(track)?)
    }

    /// The sidecars found before the first block.
    pub fn sidecars(&self) -> Sidecars<'a> {
        self.sidecars
    }

    /// The error at the chunk the file is cut short in, when opening found one: a file whose
    /// last chunk runs past its end, as a writer that crashed leaves it
    /// ([`ContainerRef::is_cut_short`](h4mk_format::ContainerRef::is_cut_short)). Such a file
    /// opens, its index rebuilt from the blocks before the cut, and every answer comes from
    /// those blocks alone; this is how to tell.
    pub fn cut_short(&self) -> Option<&h4mk_format::Error> {
        if !self.cut_short {
            return None;
        }
        // The scan's last problem, listed whatever the cap.
        self.problems.list.iter().rev().find_map(|p| match p {
            Problem::Damage(Error::Format(e)) => Some(e),
            _ => None,
        })
    }

    /// What `open` read past (track-list departures, repeated chunks, lenient damage): up to
    /// [`Limits::max_problems`](h4mk_format::Limits::max_problems) of them, and after them the
    /// chunk the file is cut short in ([`Demuxer::cut_short`]) whatever the cap.
    pub fn problems(&self) -> &[Problem] {
        &self.problems.list
    }

    /// Problems `open` found past that cap: counted, not kept.
    pub fn omitted_problems(&self) -> u64 {
        self.problems.omitted
    }

    /// How the index was found, or why it was rebuilt.
    ///
    /// Opening checks that the stored tables are well formed and point inside the block area;
    /// whether an entry points at its keyframe is checked when a plan uses it. When one does not,
    /// the index is rebuilt by one scan, and from then on this says so.
    pub fn index_status(&self) -> &IndexStatus {
        self.rebuilt
            .get()
            .map_or(&self.status, |(_, status)| status)
    }

    /// The index: one keyframe table per track and where the blocks lie.
    pub fn index(&self) -> &Index {
        self.rebuilt.get().map_or(&self.index, |(index, _)| index)
    }

    /// The keyframes of `track` (pts and CORE payload offset), in file order.
    pub fn seek_table(&self, track: u16) -> Result<&[SeekEntry]> {
        self.index()
            .track(track)
            .map(|t| t.entries.as_slice())
            .ok_or(Error::UnknownTrack { track })
    }

    /// Every block in file order. Checks every chunk CRC and, at the end, the file CRC.
    pub fn blocks(&self) -> Blocks<'a> {
        Blocks {
            chunks: self.file.chunks(),
            lenient: self.file.options().mode == Mode::Lenient,
            done: false,
            unknown: UnknownChunks::default(),
        }
    }

    /// The block whose CORE payload starts at `offset` (as seek tables and [`BlockRef::offset`]
    /// give it), its CRC checked.
    pub fn block_at(&self, offset: u64) -> Result<BlockRef<'a>> {
        route(self.file.chunk_at(chunk_start(offset)?)?)
    }

    /// The blocks in file order from the one whose CORE payload starts at `offset` (as seek
    /// tables, plans and [`BlockRef::offset`] give it), as [`Demuxer::blocks`] walks them, but
    /// without the file CRC, which covers the bytes before `offset` too. The caller vouches
    /// that `offset` is a block's: elsewhere the walk frames what it finds there, and fails as
    /// on damage where that is not a chunk with a valid CRC.
    pub fn blocks_from(&self, offset: u64) -> Result<Blocks<'a>> {
        Ok(Blocks {
            chunks: self.file.chunks_from(chunk_start(offset)?)?,
            lenient: self.file.options().mode == Mode::Lenient,
            done: false,
            unknown: UnknownChunks::default(),
        })
    }

    /// The last block of each of the sorted, distinct `tracks` (`None` for a track with
    /// none), from one walk over chunk and routing headers with no CRC checked, from the
    /// earliest of the tracks' last keyframes (a track's last block is at or after it; from
    /// the first block for a track with none): in a file with keyframes throughout, about the
    /// last group of blocks. `None` when that walk fails, at damage a checked read reports.
    pub(crate) fn last_blocks(&self, tracks: &[u16]) -> Option<Vec<Option<BlockRef<'a>>>> {
        let mut last = vec![None; tracks.len()];
        let mut start = u64::MAX;
        for &track in tracks {
            let from = self
                .walk_start(track, |table| table.lookup(u32::MAX))
                .ok()?;
            start = start.min(from);
        }
        let mut walk = self.raw.chunks_from(start).ok()?;
        while let Some(chunk) = walk.next_chunk().ok()? {
            if chunk.tag != Tag::CORE {
                continue;
            }
            let block = route(chunk).ok()?;
            if let Some(slot) = tracks
                .binary_search(&block.track)
                .ok()
                .and_then(|i| last.get_mut(i))
            {
                *slot = Some(block);
            }
        }
        Some(last)
    }

    /// The decode chain that shows `track` at `t_ms` (docs/FORMAT.md §5), in decode order.
    ///
    /// Walks from the keyframe the index gives, only past the blocks the chain needs.
    pub fn chain(&self, track: u16, t_ms: u32) -> Result<Vec<DecodeStep<'a>>> {
        self.plan(
            track,
            |table| table.lookup(t_ms),
            t_ms,
            |window| plan_chain(window, t_ms),
        )
    }

    /// The decode plan that presents every block of `track` with `t0_ms <= pts <= t1_ms`
    /// (docs/FORMAT.md §5), in decode order.
    pub fn range(&self, track: u16, t0_ms: u32, t1_ms: u32) -> Result<Vec<DecodeStep<'a>>> {
        if t0_ms > t1_ms {
            return Err(h4mk_gop::Error::InvalidRange { t0_ms, t1_ms }.into());
        }
        // The plan starts at the last keyframe at or before the first presented block, which
        // is the last keyframe before t0 unless that block is itself a keyframe.
        self.plan(
            track,
            |table| table.lookup_before(t0_ms),
            t1_ms,
            |window| plan_range(window, t0_ms, t1_ms),
        )
    }

    /// [`Demuxer::verify_with_progress`] without progress.
    pub fn verify(&self) -> Report {
        self.verify_with_progress(&mut |_| {})
    }

    /// Walks the whole file once and reports everything that departs from what the reference
    /// muxer writes: every chunk CRC and the file CRC, the track list, chunks after the blocks
    /// that readers ignore, CORE chunks that are not blocks, blocks of undeclared tracks, block
    /// order, the GOP rules the muxer enforces, and whether the stored index matches the blocks.
    ///
    /// One walk does it all: each chunk is hashed once (its CRC, combined into the file CRC,
    /// whatever the options `open` was given) and checked as it comes; a chunk whose CRC is
    /// wrong is still checked as read. To hash each byte of a file exactly once, open it with
    /// `check_crc: false` (then `open` hashes nothing). `progress` is called after each chunk
    /// with the offset reached, which grows to the footer offset when the framing holds.
    pub fn verify_with_progress(&self, progress: &mut dyn FnMut(u64)) -> Report {
        let checked = ContainerRef::parse_with(
            self.file.data(),
            &ParseOptions {
                mode: Mode::Lenient,
                check_crc: true,
                ..*self.file.options()
            },
        );
        let mut problems = Problems {
            list: self
                .problems
                .list
                .iter()
                .filter_map(Problem::head_copy)
                .collect(),
            omitted: self.problems.omitted,
            cap: self.file.options().limits.max_problems,
        };
        let mut check = StructureCheck::new(self);
        let container = match checked {
            Ok(checked) => {
                let mut walk = checked.chunks();
                let mut v = h4mk_format::Verification::new(checked.stored_file_crc());
                loop {
                    let step = walk.next_chunk();
                    progress(walk.offset());
                    let chunk = match step {
                        Ok(Some(chunk)) => {
                            v.intact_chunks += 1;
                            chunk
                        }
                        Ok(None) => break,
                        Err(e) => {
                            // The walk framed the chunk before finding its CRC wrong: read it
                            // again without hashing and check it as it is.
                            let damaged = match e {
                                h4mk_format::Error::ChunkCrc { offset, .. } => {
                                    self.raw.chunk_at(offset).ok()
                                }
                                _ => None,
                            };
                            v.record(e, &checked.options().limits);
                            match damaged {
                                Some(chunk) => chunk,
                                None => continue,
                            }
                        }
                    };
                    check.chunk(chunk, &mut problems);
                }
                v.computed_file_crc = walk.reached_footer().then(|| walk.file_crc()).flatten();
                v
            }
            // `open` parsed these bytes already, with the same limits.
            Err(e) => h4mk_format::Verification {
                errors: vec![e],
                ..h4mk_format::Verification::new(self.file.stored_file_crc())
            },
        };
        check.finish(self, &mut problems.list);
        let mut list = problems.list;
        list.sort_by_key(|p| p.offset().unwrap_or(u64::MAX));
        Report {
            container,
            problems: list,
            omitted_problems: problems.omitted,
        }
    }

    /// Offset of the TRAK chunk that was read; `None` when the file has none before its
    /// blocks, and so no tracks.
    pub fn track_list_offset(&self) -> Option<u64> {
        self.trak_offset
    }

    /// Plans `track` with `plan` over the window from the keyframe `pick` chooses, or from
    /// the first block when it chooses none (so that a track not opening on a keyframe answers
    /// as a plan over the whole track would), up to `t_ms`.
    fn plan(
        &self,
        track: u16,
        pick: impl Fn(&TrackIndex) -> Option<SeekEntry>,
        t_ms: u32,
        plan: impl Fn(&[BlockRef<'a>]) -> Result<Vec<DecodeStep<'a>>>,
    ) -> Result<Vec<DecodeStep<'a>>> {
        let windows = self.windows(&[track], |_| &pick, |_| t_ms, Others::ReadPastInLenient)?;
        let window = windows.first().map_or(&[][..], |w| w.blocks.as_slice());
        let steps = plan(window)?;
        self.check_window(window, &steps)?;
        Ok(steps)
    }

    /// The windows of several distinct `tracks`, gathered in one walk: for each, the blocks
    /// from the keyframe its `pick` chooses (or from the first block when it chooses none) up
    /// to the pts its `until` gives, as [`Demuxer::walk_windows`] gathers them. Planning many
    /// tracks this way costs one walk over the span, not one per track.
    ///
    /// No window may hold an I-block of its track that the seek table leaves out: a table that
    /// lacks keyframes could make a plan start too late or find nothing. When one does, the
    /// index is rebuilt by one scan (once) and the windows gathered again from it.
    pub(crate) fn windows<P: Fn(&TrackIndex) -> Option<SeekEntry>>(
        &self,
        tracks: &[u16],
        pick: impl Fn(u16) -> P,
        until: impl Fn(u16) -> u32,
        others: Others,
    ) -> Result<Vec<Window<'a>>> {
        loop {
            let mut starts = Vec::with_capacity(tracks.len());
            for &track in tracks {
                let start = self.walk_start(track, pick(track))?;
                let t_ms = until(track);
                starts.push(WindowStart {
                    track,
                    start,
                    t_ms,
                    goes_on: self.goes_on_after(track, t_ms),
                });
            }
            let windows = self.walk_windows(&starts, others)?;
            let unlisted = tracks.iter().zip(&windows).find_map(|(&track, window)| {
                let table = self.index().track(track)?;
                let b = window
                    .blocks
                    .iter()
                    .find(|b| b.kind == BlockKind::Key && !table.lists(b.offset))?;
                Some(IndexProblem::Unlisted {
                    track,
                    ts_ms: b.ts_ms,
                    offset: b.offset,
                })
            });
            match unlisted {
                Some(reason) if self.rebuilt.get().is_none() => self.rebuild(reason)?,
                _ => return Ok(windows),
            }
        }
    }

    /// Whether `track`'s seek table lists a keyframe after `t_ms` whose entry matches its
    /// block's routing header: the track goes on, and a window up to `t_ms` may end without
    /// meeting its next block. Only that: an entry that does not match rebuilds nothing and
    /// fails nothing here (a review: a damaged keyframe far past the plan failed it), it only
    /// keeps the window to the track's own next block. Never with CRCs unchecked, when a
    /// damaged pts could end a window.
    fn goes_on_after(&self, track: u16, t_ms: u32) -> bool {
        let index = self.index();
        self.file.options().check_crc
            && t_ms
                .checked_add(1)
                .and_then(|later| index.track(track)?.first_from(later))
                .is_some_and(|entry| check_entry(&self.raw, index, track, &entry).is_ok())
    }

    /// Where a walk over `track`'s blocks from the keyframe `pick` chooses starts: that
    /// keyframe's chunk, checked as [`Demuxer::keyframe`] checks it, or the first block when
    /// `pick` chooses none.
    fn walk_start(
        &self,
        track: u16,
        pick: impl Fn(&TrackIndex) -> Option<SeekEntry>,
    ) -> Result<u64> {
        Ok(self
            .keyframe(track, pick)?
            .map_or(self.index().core_offset, |e| {
                e.offset.saturating_sub(CHUNK_HEADER_LEN as u64)
            }))
    }

    /// The seek entry `pick` chooses from `track`'s table, checked against the block it points
    /// at. When it is not that keyframe, the index is rebuilt by one scan (once; later calls use
    /// the rebuilt one) and `pick` chooses again.
    pub(crate) fn keyframe(
        &self,
        track: u16,
        pick: impl Fn(&TrackIndex) -> Option<SeekEntry>,
    ) -> Result<Option<SeekEntry>> {
        let index = self.index();
        let table = index.track(track).ok_or(Error::UnknownTrack { track })?;
        let Some(entry) = pick(table) else {
            return Ok(None);
        };
        let Err(reason) = check_entry(&self.raw, index, track, &entry) else {
            return Ok(Some(entry));
        };
        self.rebuild(reason)?;
        Ok(self.index().track(track).and_then(pick))
    }

    /// Rebuilds the index by one scan, for `reason`, unless it was rebuilt already.
    fn rebuild(&self, reason: IndexProblem) -> Result<()> {
        if self.rebuilt.get().is_none() {
            let ids: Vec<u16> = self.tracks.iter().map(|t| t.track_id).collect();
            let rebuilt = scan_index(&self.file, &ids, self.index.core_offset, |_| {})?;
            // Another thread may have rebuilt it meanwhile: both scans give the same index.
            let _ = self.rebuilt.set((rebuilt, IndexStatus::Rebuilt { reason }));
        }
        Ok(())
    }

    /// For each `(track, start, t_ms)`, the blocks of `track` from the chunk at `start`, as far
    /// as a plan up to `t_ms` needs: every block with pts <= `t_ms`, and, when B-blocks among
    /// them are still waiting for a forward anchor, on to the first anchor after them. One walk
    /// from the earliest `start`, ending once every window is complete; the tracks are
    /// distinct.
    ///
    /// Blocks are in (pts, track id) order across tracks, as the reference and this crate write
    /// them: a window of a track known to go on after it (a keyframe after its end in the
    /// seek table) also ends at the first sound block of any track past its end, so that a
    /// sparse track (captions at 0 ms and an hour later) does not walk the plan to its next
    /// block. A file out of that order ([`Demuxer::verify`] reports it) may end a window
    /// early, before a block of its track that comes later in the file; once the walk meets
    /// the disorder, it ends no more windows early.
    ///
    /// The CRC of every chunk walked past that no window takes is checked (unless the options
    /// turn CRCs off), the block of a track its window stops before included: a damaged tag,
    /// track id or pts would otherwise hide a block of the track and change the plan without a
    /// word. In lenient mode such a chunk is read past instead, so that damage in one track's
    /// blocks does not stop the plans of the others, at that risk; [`Demuxer::verify`] says
    /// where the damage is. The blocks returned are checked once planned, by
    /// [`Demuxer::check_window`], in either mode.
    fn walk_windows(&self, starts: &[WindowStart], others: Others) -> Result<Vec<Window<'a>>> {
        /// One track's window as the walk fills it.
        struct Open<'a> {
            start: u64,
            t_ms: u32,
            /// The track is known to go on after `t_ms` ([`WindowStart::goes_on`]).
            goes_on: bool,
            blocks: Vec<BlockRef<'a>>,
            /// B-blocks with pts <= `t_ms` wait for a forward anchor.
            waiting: bool,
            done: bool,
        }
        let limits = &self.file.options().limits;
        let mut slots: Vec<(u16, usize)> = starts
            .iter()
            .enumerate()
            .map(|(slot, s)| (s.track, slot))
            .collect();
        slots.sort_unstable();
        let mut open: Vec<Open<'a>> = starts
            .iter()
            .map(|s| Open {
                start: s.start,
                t_ms: s.t_ms,
                goes_on: s.goes_on,
                blocks: Vec::new(),
                waiting: false,
                done: false,
            })
            .collect();
        let mut remaining = open.len();
        let mut held: u64 = 0;
        let Some(first) = starts.iter().map(|s| s.start).min() else {
            return Ok(Vec::new());
        };
        // The windows a block of any track may end, by their ends, lowest first: those of
        // tracks known to go on, pushed again when they stop waiting for an anchor. An entry
        // may be stale (its window since ended, or waiting again), and is dropped when popped;
        // so each costs a logarithm, not a look over every window (a review: a cut open to the
        // end of 32,000 tracks took 2.8 s so).
        let mut ends: BinaryHeap<Reverse<(u32, usize)>> = open
            .iter()
            .enumerate()
            .filter(|(_, w)| w.goes_on)
            .map(|(slot, w)| Reverse((w.t_ms, slot)))
            .collect();
        // (pts, track id) of the last sound block: the order the early ends rely on. Once the
        // walk meets blocks out of it, it ends no window early.
        let mut last_key = (0, 0);
        let mut disordered = false;
        let mut walk = self.raw.chunks_from(first)?;
        let end = self.index().end_offset;
        while remaining > 0 && walk.offset() < end {
            let Some(chunk) = walk.next_chunk()? else {
                break;
            };
            if chunk.tag != Tag::CORE {
                self.check_crc_at(chunk.offset)?;
                continue;
            }
            let block = route(chunk)?;
            // Whether the chunk's CRC was checked here: `Some(false)` for damage a lenient walk
            // reads past.
            let mut sound = None;
            let past_an_end = ends
                .peek()
                .is_some_and(|&Reverse((t_ms, _))| block.ts_ms > t_ms);
            if past_an_end && !disordered {
                // Only a block whose CRC holds ends another track's window (damage a lenient
                // walk reads past has a pts not to be trusted); a file out of order ends none
                // early from then on.
                let ok = self.is_sound_or_elsewhere(chunk.offset, block.track, others)?;
                sound = Some(ok);
                if ok && (block.ts_ms, block.track) < last_key {
                    disordered = true;
                } else if ok {
                    last_key = (block.ts_ms, block.track);
                    let mut ending = Vec::new();
                    while let Some(&Reverse((t_ms, slot))) = ends.peek()
                        && block.ts_ms > t_ms
                    {
                        ends.pop();
                        if open.get(slot).is_some_and(|w| !w.done && !w.waiting) {
                            ending.push(slot);
                        }
                    }
                    // A window that starts after this block (at a keyframe at or before its
                    // end) is past its end before its start: blocks out of order.
                    if ending
                        .iter()
                        .any(|&slot| open.get(slot).is_some_and(|w| w.start > chunk.offset))
                    {
                        disordered = true;
                    } else {
                        // A window may be in the heap twice (pushed again after waiting).
                        for &slot in &ending {
                            if let Some(w) = open.get_mut(slot)
                                && !w.done
                            {
                                w.done = true;
                                remaining -= 1;
                            }
                        }
                    }
                    if remaining == 0 {
                        break;
                    }
                }
            }
            let slot = slots
                .binary_search_by_key(&block.track, |&(track, _)| track)
                .ok()
                .and_then(|i| slots.get(i))
                .map(|&(_, slot)| slot);
            let window = slot
                .and_then(|slot| open.get_mut(slot))
                .filter(|w| !w.done && chunk.offset >= w.start);
            let Some(window) = window else {
                if sound.is_none() {
                    self.is_sound_or_elsewhere(chunk.offset, block.track, others)?;
                }
                continue;
            };
            if block.ts_ms > window.t_ms && !window.waiting {
                if sound != Some(true) {
                    self.check_crc_at(chunk.offset)?;
                }
                window.done = true;
                remaining -= 1;
                continue;
            }
            held = held.saturating_add(std::mem::size_of::<BlockRef<'_>>() as u64);
            if held > limits.max_total_alloc {
                return Err(h4mk_format::Error::Limit {
                    tag: Tag::CORE,
                    offset: chunk.offset,
                    what: "bytes of decode plan",
                    value: held,
                    max: limits.max_total_alloc,
                }
                .into());
            }
            window.blocks.push(block);
            if block.kind.is_anchor() {
                let waited = std::mem::replace(&mut window.waiting, false);
                if block.ts_ms > window.t_ms {
                    window.done = true;
                    remaining -= 1;
                } else if waited
                    && window.goes_on
                    && let Some(slot) = slot
                {
                    // Its entry may have been dropped while it waited.
                    ends.push(Reverse((window.t_ms, slot)));
                }
            } else if block.ts_ms <= window.t_ms {
                window.waiting = true;
            }
        }
        // A window completes at a block of its track past its end; one the walk leaves open
        // met none before the index.
        Ok(open
            .into_iter()
            .map(|w| Window {
                blocks: w.blocks,
                goes_on: w.done,
            })
            .collect())
    }

    /// Checks the CRC of the window's blocks from the plan's first step on (all of them when
    /// the plan is empty): those the plan returns, and those it leaves out because of their
    /// type or pts, which damage could have changed. Blocks before the first step cannot
    /// change a plan that starts at a keyframe after them, so a damaged one costs nothing.
    pub(crate) fn check_window(
        &self,
        window: &[BlockRef<'a>],
        steps: &[DecodeStep<'a>],
    ) -> Result<()> {
        let first = steps.iter().map(|s| s.block.offset).min().unwrap_or(0);
        for b in window.iter().filter(|b| b.offset >= first) {
            self.check_crc_at(b.chunk_offset())?;
        }
        Ok(())
    }

    /// Checks the CRC of the chunk at `offset`, unless the options turn CRC checks off.
    fn check_crc_at(&self, offset: u64) -> Result<()> {
        if self.file.options().check_crc {
            self.file.chunk_at(offset)?;
        }
        Ok(())
    }

    /// Checks the CRC of a CORE chunk a plan's walk passes, whose block routes to `track`, as
    /// [`Demuxer::check_crc_at`] does, and says whether it is sound. With
    /// [`Others::ReadPastInLenient`], in lenient mode, a damaged chunk is `false`, not an
    /// error, when `track` is another track of the track list: a plan of one track does not
    /// fail for damage in the blocks of another. Damage that makes a block of the planned track
    /// route to another listed track is read past too, and is the risk lenient mode takes; a
    /// chunk of no listed track, or of an unknown tag, damaged, still fails the plan
    /// ([`Demuxer::walk_windows`]).
    fn is_sound_or_elsewhere(&self, offset: u64, track: u16, others: Others) -> Result<bool> {
        match self.check_crc_at(offset) {
            Err(Error::Format(h4mk_format::Error::ChunkCrc { .. }))
                if others == Others::ReadPastInLenient
                    && self.file.options().mode == Mode::Lenient
                    && self.track(track).is_some() =>
            {
                Ok(false)
            }
            checked => checked.map(|()| true),
        }
    }
}

/// The structure checks of [`Demuxer::verify_with_progress`], fed one chunk at a time in
/// file order.
struct StructureCheck {
    /// Rebuilds the index from the blocks, and maps track ids to slots.
    builder: IndexBuilder,
    /// False once a limit stopped the rebuild.
    indexing: bool,
    /// Per track slot: pts, type and chunk offset of its last block.
    last: Vec<Option<(u32, BlockKind, u64)>>,
    /// Per track slot: tag and offset of the last seek table chunk seen for it (an XSEK wins
    /// over a TSEK, as readers use it instead).
    tables: Vec<Option<(Tag, u64)>>,
    /// (pts, track id) of the previous block.
    prev_key: Option<(u32, u16)>,
    /// Whether a block or index chunk has been seen: the head of the file is over.
    in_body: bool,
    /// What an XLOC locator describes, as the walk finds it: CORE chunks and the first one,
    /// TSEK chunks and the first one, XSEK chunks.
    cores: u64,
    first_core: Option<u64>,
    last_core: Option<u64>,
    tseks: u32,
    first_tsek: Option<u64>,
    xseks: u32,
    /// The last XLOC chunk: its offset, what it says (or why it does not parse), and whether
    /// a chunk came after it.
    locator: Option<(u64, std::result::Result<Locator, String>, bool)>,
}

impl StructureCheck {
    fn new(demux: &Demuxer<'_>) -> Self {
        let ids = demux.tracks.iter().map(|t| t.track_id);
        StructureCheck {
            builder: IndexBuilder::new(ids, demux.file.options().limits),
            indexing: true,
            last: vec![None; demux.tracks.len()],
            tables: vec![None; demux.tracks.len()],
            prev_key: None,
            in_body: false,
            cores: 0,
            first_core: None,
            last_core: None,
            tseks: 0,
            first_tsek: None,
            xseks: 0,
            locator: None,
        }
    }

    fn chunk(&mut self, chunk: ChunkRef<'_>, problems: &mut Problems) {
        if is_body_tag(chunk.tag) {
            self.in_body = true;
        } else if self.in_body && (chunk.tag == Tag::TRAK || Sidecars::TAGS.contains(&chunk.tag)) {
            problems.push(Problem::LateChunk {
                tag: chunk.tag,
                offset: chunk.offset,
            });
        }
        if let Some((_, _, followed)) = &mut self.locator {
            *followed = true;
        }
        match chunk.tag {
            Tag::CORE => {
                self.cores += 1;
                self.first_core.get_or_insert(chunk.offset);
                self.last_core = Some(chunk.offset);
                self.block(chunk, problems);
            }
            Tag::TSEK | XSEK => {
                if chunk.tag == XSEK {
                    self.xseks += 1;
                } else {
                    self.tseks += 1;
                    self.first_tsek.get_or_insert(chunk.offset);
                }
                self.table(chunk, problems);
            }
            XLOC => {
                let read = Locator::parse(chunk).map_err(crate::index::detail);
                self.locator = Some((chunk.offset, read, false));
            }
            _ => {}
        }
    }

    /// Checks the last XLOC chunk against the chunks the walk found.
    fn check_locator(&self, problems: &mut Vec<Problem>) {
        let Some((offset, read, followed)) = &self.locator else {
            return;
        };
        let mut bad = |what: String| {
            problems.push(Problem::BadLocator {
                offset: *offset,
                what,
            });
        };
        let loc = match read {
            Ok(loc) => loc,
            Err(why) => return bad(why.clone()),
        };
        if *followed {
            return bad("it is not the last chunk".into());
        }
        let index_offset = self.first_tsek.unwrap_or(*offset);
        let core_offset = self.first_core.unwrap_or(index_offset);
        let checks = [
            ("index offset", loc.index_offset, index_offset),
            ("first block offset", loc.core_offset, core_offset),
            ("block count", loc.blocks, self.cores),
            ("TSEK count", u64::from(loc.tables), u64::from(self.tseks)),
            (
                "XSEK count",
                u64::from(loc.ext_tables),
                u64::from(self.xseks),
            ),
        ];
        if let Some((what, says, found)) = checks.iter().find(|(_, says, found)| says != found) {
            bad(format!("its {what} is {says}, the file's is {found}"));
        }
    }

    fn block(&mut self, chunk: ChunkRef<'_>, problems: &mut Problems) {
        let block = match route(chunk) {
            Ok(block) => block,
            Err(e) => {
                problems.push(Problem::BadBlock(e));
                return;
            }
        };
        let offset = chunk.offset;
        let (track, ts_ms, kind) = (block.track, block.ts_ms, block.kind);
        if let Some((prev_ts_ms, prev_track)) = self.prev_key
            && (prev_ts_ms, prev_track) > (ts_ms, track)
        {
            problems.push(Problem::BlockOrder {
                offset,
                track,
                ts_ms,
                prev_track,
                prev_ts_ms,
            });
        }
        self.prev_key = Some((ts_ms, track));
        if self.indexing
            && let Err(e) = self.builder.push(&block)
        {
            problems.push(Problem::Damage(e));
            self.indexing = false;
        }
        let slot = self.builder.slot(track);
        let Some(state) = slot.and_then(|s| self.last.get_mut(s)) else {
            problems.push(Problem::UnknownTrackBlock {
                offset,
                track,
                ts_ms,
            });
            return;
        };
        match *state {
            None if kind != BlockKind::Key => problems.push(Problem::FirstBlockNotKey {
                offset,
                track,
                ts_ms,
                kind,
            }),
            Some((prev_ts_ms, _, _)) if ts_ms < prev_ts_ms => {
                problems.push(Problem::PtsBackwards {
                    offset,
                    track,
                    ts_ms,
                    prev_ts_ms,
                });
            }
            _ => {}
        }
        *state = Some((ts_ms, kind, offset));
    }

    /// Notes where the seek table of a listed track lies, to name it if it does not match;
    /// reports a table of a track that is not listed.
    fn table(&mut self, chunk: ChunkRef<'_>, problems: &mut Problems) {
        let magic = if chunk.tag == XSEK {
            XSEK_MAGIC
        } else {
            h4mk_gop::TRACK_MAGIC
        };
        let Some(([m0, m1, m2, m3, t0, t1], _)) =
            chunk.payload.split_first_chunk::<6>().map(|(h, r)| (*h, r))
        else {
            return;
        };
        if [m0, m1, m2, m3] != magic {
            return;
        }
        let track = u16::from_le_bytes([t0, t1]);
        let Some(slot) = self.builder.slot(track) else {
            problems.push(Problem::UnlistedTable {
                tag: chunk.tag,
                offset: chunk.offset,
                track,
            });
            return;
        };
        if let Some(seen) = self.tables.get_mut(slot)
            && !(chunk.tag == Tag::TSEK && seen.is_some_and(|(tag, _)| tag == XSEK))
        {
            *seen = Some((chunk.tag, chunk.offset));
        }
    }

    /// The seek tables the walk saw, read, when they are laid out as the reference writes
    /// them (one TSEK per track, in track-list order, after every block, no XLOC) but could not be
    /// found from the end: other chunks, of tags a reader skips, come after or between them.
    fn seen_tables(&self, demux: &Demuxer<'_>) -> Option<Vec<TrackIndex>> {
        let offsets: Vec<u64> = self
            .tables
            .iter()
            .map(|t| t.map(|(_, at)| at))
            .collect::<Option<_>>()?;
        // A locator is ours, not the reference's: one that could not be used is a problem.
        let laid_out = self.locator.is_none()
            && self.xseks == 0
            && usize::try_from(self.tseks).ok() == Some(demux.tracks.len())
            && offsets.windows(2).all(|w| w[0] < w[1])
            && offsets
                .first()
                .is_none_or(|&first| self.last_core.is_none_or(|c| c < first));
        if !laid_out {
            return None;
        }
        demux
            .tracks
            .iter()
            .zip(offsets)
            .map(|(t, offset)| tsek_entries(demux.file.chunk_at(offset).ok()?, t.track_id).ok())
            .collect()
    }

    /// The checks that need every block: tracks ending on a B-block, and the stored index
    /// against the keyframes (unless it could not be read, which is a problem of its own). At most
    /// two problems per track and one for the index: they go in whatever the cap.
    fn finish(self, demux: &Demuxer<'_>, problems: &mut Vec<Problem>) {
        self.check_locator(problems);
        for (t, state) in demux.tracks.iter().zip(&self.last) {
            if let Some((ts_ms, BlockKind::Bidirectional, offset)) = *state {
                problems.push(Problem::EndsOnB {
                    offset,
                    track: t.track_id,
                    ts_ms,
                });
            }
        }
        // Opening rebuilt the index when it could not find the tables from the end (a chunk
        // of an unknown tag after them, say: the reference reads past it). The tables the walk
        // saw are then the stored index: the file is sound if every track has one and they
        // match the blocks.
        let stored: Cow<'_, [TrackIndex]> = match &demux.status {
            IndexStatus::Rebuilt { reason } => {
                let Some(seen) = self.seen_tables(demux) else {
                    problems.push(Problem::IndexRebuilt {
                        reason: reason.clone(),
                    });
                    return;
                };
                Cow::Owned(seen)
            }
            _ => Cow::Borrowed(demux.index.tracks()),
        };
        if !self.indexing {
            return;
        }
        let scanned = self.builder.finish(demux.index.core_offset);
        let tables = stored.iter().zip(scanned.tracks()).zip(&self.tables);
        for ((stored, found), table) in tables {
            let Some(entry) = (0..stored.entries.len().max(found.entries.len()))
                .find(|&i| stored.entries.get(i) != found.entries.get(i))
            else {
                continue;
            };
            let (tag, offset) = table.unwrap_or((Tag::TSEK, demux.index.end_offset));
            problems.push(Problem::IndexMismatch {
                track: stored.track_id,
                tag,
                offset,
                entry,
                stored: stored.entries.get(entry).copied(),
                found: found.entries.get(entry).copied(),
            });
        }
    }
}

/// Every block of a file in file order (see [`Demuxer::blocks`]).
///
/// In strict mode the first error ends the walk. In lenient mode a damaged chunk or a block
/// that does not route is reported and the walk goes on, until an error that loses the framing.
#[derive(Clone, Debug)]
pub struct Blocks<'a> {
    chunks: Chunks<'a>,
    lenient: bool,
    done: bool,
    unknown: UnknownChunks,
}

/// Chunks of tags this crate does not know, which a walk over blocks passed by (readers skip
/// them: docs/FORMAT.md §1), as [`Blocks::unknown_chunks`] counts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnknownChunks {
    /// How many.
    pub count: u64,
    /// The first one's tag and chunk offset.
    pub first: Option<(Tag, u64)>,
}

impl Blocks<'_> {
    /// The chunks of tags this crate does not know that the walk has passed so far: a copy of
    /// the blocks (a remux) leaves them out.
    pub fn unknown_chunks(&self) -> UnknownChunks {
        self.unknown
    }
}

impl<'a> Iterator for Blocks<'a> {
    type Item = Result<BlockRef<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let result = match self.chunks.next_chunk() {
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Ok(Some(chunk)) if chunk.tag == Tag::CORE => route(chunk),
                Ok(Some(chunk)) => {
                    if !is_known_tag(chunk.tag) {
                        self.unknown.count += 1;
                        self.unknown.first.get_or_insert((chunk.tag, chunk.offset));
                    }
                    continue;
                }
                Err(e) => Err(e.into()),
            };
            if result.is_err() && !self.lenient {
                self.done = true;
            }
            return Some(result);
        }
    }
}

/// Where the CORE chunk of the block whose payload starts at `offset` begins.
fn chunk_start(offset: u64) -> Result<u64> {
    Ok(offset
        .checked_sub(CHUNK_HEADER_LEN as u64)
        .ok_or(h4mk_format::Error::Parameter {
            offset,
            what: "inside the file header, not a block",
        })?)
}

/// The decode chain over one track's blocks (in file order), as [`Demuxer::chain`] plans it
/// over a window of them; errors name the blocks by offset.
pub fn plan_chain<'a>(blocks: &[BlockRef<'a>], t_ms: u32) -> Result<Vec<DecodeStep<'a>>> {
    let infos = infos(blocks);
    let steps = h4mk_gop::chain(&infos, t_ms).map_err(|e| plan_error(blocks, e))?;
    Ok(to_steps(blocks, &steps))
}

/// The range plan over one track's blocks (in file order), as [`Demuxer::range`] plans it
/// over a window of them; errors name the blocks by offset.
pub fn plan_range<'a>(
    blocks: &[BlockRef<'a>],
    t0_ms: u32,
    t1_ms: u32,
) -> Result<Vec<DecodeStep<'a>>> {
    let infos = infos(blocks);
    let steps = h4mk_gop::range(&infos, t0_ms, t1_ms).map_err(|e| plan_error(blocks, e))?;
    Ok(to_steps(blocks, &steps))
}

fn infos(blocks: &[BlockRef<'_>]) -> Vec<BlockInfo> {
    blocks
        .iter()
        .map(|b| BlockInfo {
            ts_ms: b.ts_ms,
            kind: b.kind,
        })
        .collect()
}

fn to_steps<'a>(blocks: &[BlockRef<'a>], steps: &[h4mk_gop::Step]) -> Vec<DecodeStep<'a>> {
    steps
        .iter()
        .filter_map(|s| {
            blocks.get(s.index).map(|&block| DecodeStep {
                block,
                kind: s.kind,
            })
        })
        .collect()
}

/// Names the block of a planning error by track and offset rather than by window index.
fn plan_error(blocks: &[BlockRef<'_>], e: h4mk_gop::Error) -> Error {
    let at = |index: usize| blocks.get(index).map(|b| (b.track, b.offset));
    match e {
        h4mk_gop::Error::MissingForwardAnchor { index, ts_ms } => match at(index) {
            Some((track, offset)) => Error::MissingForwardAnchor {
                track,
                offset,
                ts_ms,
            },
            None => e.into(),
        },
        h4mk_gop::Error::MissingKeyframe { index, ts_ms, kind } => match at(index) {
            Some((track, offset)) => Error::MissingKeyframe {
                track,
                offset,
                ts_ms,
                kind,
            },
            None => e.into(),
        },
        h4mk_gop::Error::BlocksUnsorted {
            index,
            ts_ms,
            prev_ts_ms,
        } => match at(index) {
            Some((track, offset)) => Error::BlocksUnsorted {
                track,
                offset,
                ts_ms,
                prev_ts_ms,
            },
            None => e.into(),
        },
        other => other.into(),
    }
}

/// Tags that start the block area: blocks and index chunks.
fn is_body_tag(tag: Tag) -> bool {
    matches!(tag, Tag::CORE | Tag::TSEK | XSEK | XLOC)
}
