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
//! file CRC as it goes; `chain`, `range` and `block_at` check the chunks they return. Chunks of
//! other tracks that a plan walks past are framed, not checked.

use std::fmt;

use h4mk_format::{
    CHUNK_HEADER_LEN, Chunks, ContainerRef, FileHeader, HEADER_LEN, Mode, ParseOptions, Tag,
};
use h4mk_gop::{BlockInfo, BlockKind, SeekEntry};

use crate::error::{Error, Result};
use crate::index::{Index, IndexBuilder, IndexStatus, XLOC, XSEK, find_index, scan_index};
use crate::router::{BlockRef, route};
use crate::sidecar::Sidecars;
use crate::track::{TrackProblem, TrackSpec, parse_track_list};

/// One step of a decode plan: a block, labelled with how it is decoded (I, P or B).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeStep<'a> {
    /// The block to decode.
    pub block: BlockRef<'a>,
    /// The step's label: the block's type.
    pub kind: BlockKind,
}

/// Something found in a file that reads fine here but departs from what the reference writes.
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
    /// A block of a track that is not in the track list.
    UnknownTrackBlock {
        /// Payload offset of the block.
        offset: u64,
        /// Its track id.
        track: u16,
    },
    /// A CORE chunk out of (pts, track id) order.
    BlockOrder {
        /// Payload offset of the block.
        offset: u64,
    },
    /// A track breaking a GOP rule the muxer enforces (first block I, pts never decreasing,
    /// no trailing B).
    GopRule(Error),
    /// The stored index differs from what the blocks give.
    IndexMismatch {
        /// The track whose table differs.
        track: u16,
    },
    /// The stored index was not used (see [`Demuxer::index_status`]).
    IndexRebuilt,
    /// Damage read past in lenient mode.
    Damage(Error),
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
            Problem::UnknownTrackBlock { offset, track } => write!(
                f,
                "block at offset {offset}: track {track} is not in the track list"
            ),
            Problem::BlockOrder { offset } => {
                write!(f, "block at offset {offset}: out of (pts, track id) order")
            }
            Problem::GopRule(e) => write!(f, "{e}"),
            Problem::IndexMismatch { track } => {
                write!(
                    f,
                    "the stored seek table of track {track} does not match its blocks"
                )
            }
            Problem::IndexRebuilt => f.write_str("the stored index could not be used"),
            Problem::Damage(e) => write!(f, "{e}"),
        }
    }
}

/// The outcome of [`Demuxer::verify`].
#[derive(Debug)]
pub struct Report {
    /// Every chunk CRC and the file CRC.
    pub container: h4mk_format::Verification,
    /// Everything else, in file order of discovery.
    pub problems: Vec<Problem>,
}

impl Report {
    /// True when the file is intact and has nothing the reference would not write.
    pub fn is_ok(&self) -> bool {
        self.container.is_ok() && self.problems.is_empty()
    }
}

/// A multi-track file read from a byte slice.
#[derive(Debug)]
pub struct Demuxer<'a> {
    file: ContainerRef<'a>,
    /// The same bytes with CRC checks off, for walking past chunks a plan does not return.
    raw: ContainerRef<'a>,
    tracks: Vec<TrackSpec>,
    trak_offset: u64,
    sidecars: Sidecars<'a>,
    index: Index,
    status: IndexStatus,
    problems: Vec<Problem>,
}

impl<'a> Demuxer<'a> {
    /// Opens with default options (strict, CRCs checked, default limits).
    pub fn open(data: &'a [u8]) -> Result<Self> {
        Self::open_with(data, &ParseOptions::default())
    }

    /// Reads the header, the track list and sidecars, and the index.
    ///
    /// In lenient mode, damaged chunks before the blocks are skipped and noted in
    /// [`Demuxer::problems`], and a rebuild of the index reads past damaged blocks.
    pub fn open_with(data: &'a [u8], opts: &ParseOptions) -> Result<Self> {
        let file = ContainerRef::parse_with(data, opts)?;
        let mut problems = Vec::new();
        let mut trak = None;
        let mut sidecars = Sidecars::default();
        let mut walk = file.chunks_from(HEADER_LEN as u64)?;
        let core_offset = loop {
            let at = walk.offset();
            let chunk = match walk.next_chunk() {
                Ok(Some(chunk)) => chunk,
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
        let trak = trak.ok_or(Error::MissingTrackList {
            offset: core_offset,
        })?;
        let list = parse_track_list(trak, &opts.limits)?;
        problems.extend(list.problems.into_iter().map(|problem| Problem::TrackList {
            offset: trak.offset,
            problem,
        }));
        let ids: Vec<u16> = list.tracks.iter().map(|t| t.track_id).collect();
        let (index, status) = match find_index(&file, &ids, core_offset)? {
            Ok(found) => found,
            Err(reason) => {
                let (index, damage) = scan_index(&file, &ids, core_offset)?;
                problems.extend(damage.into_iter().map(Problem::Damage));
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
            tracks: list.tracks,
            trak_offset: trak.offset,
            sidecars,
            index,
            status,
            problems,
        })
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
        self.tracks.iter().find(|t| t.track_id == track)
    }

    /// The sidecars found before the first block.
    pub fn sidecars(&self) -> Sidecars<'a> {
        self.sidecars
    }

    /// What `open` read past (track-list departures, repeated chunks, lenient damage).
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// How the index was found, or why it was rebuilt.
    pub fn index_status(&self) -> &IndexStatus {
        &self.status
    }

    /// The index: one keyframe table per track and where the blocks lie.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The keyframes of `track` (pts and CORE payload offset), in file order.
    pub fn seek_table(&self, track: u16) -> Result<&[SeekEntry]> {
        self.index
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
        }
    }

    /// The block whose CORE payload starts at `offset` (as seek tables and [`BlockRef::offset`]
    /// give it), its CRC checked.
    pub fn block_at(&self, offset: u64) -> Result<BlockRef<'a>> {
        let start =
            offset
                .checked_sub(CHUNK_HEADER_LEN as u64)
                .ok_or(h4mk_format::Error::Parameter {
                    offset,
                    what: "inside the file header, not a block",
                })?;
        route(self.file.chunk_at(start)?)
    }

    /// The decode chain that shows `track` at `t_ms` (docs/FORMAT.md §5), in decode order.
    ///
    /// Walks from the keyframe the index gives, only past the blocks the chain needs.
    pub fn chain(&self, track: u16, t_ms: u32) -> Result<Vec<DecodeStep<'a>>> {
        let table = self
            .index
            .track(track)
            .ok_or(Error::UnknownTrack { track })?;
        let Some(key) = table.lookup(t_ms) else {
            return Ok(Vec::new());
        };
        let window = self.window(
            track,
            key.offset.saturating_sub(CHUNK_HEADER_LEN as u64),
            t_ms,
        )?;
        let steps = plan_chain(&window, t_ms)?;
        self.check_steps(&steps)?;
        Ok(steps)
    }

    /// The decode plan that presents every block of `track` with `t0_ms <= pts <= t1_ms`
    /// (docs/FORMAT.md §5), in decode order.
    pub fn range(&self, track: u16, t0_ms: u32, t1_ms: u32) -> Result<Vec<DecodeStep<'a>>> {
        if t0_ms > t1_ms {
            return Err(h4mk_gop::Error::InvalidRange { t0_ms, t1_ms }.into());
        }
        let table = self
            .index
            .track(track)
            .ok_or(Error::UnknownTrack { track })?;
        // The plan starts at the last keyframe at or before the first presented block, which
        // is the last keyframe before t0 unless that block is itself a keyframe; with none
        // before t0, walk from the first block so that a track not opening on a keyframe
        // gives the same answer as a plan over the whole track.
        let start = table
            .lookup_before(t0_ms)
            .map_or(self.index.core_offset, |e| {
                e.offset.saturating_sub(CHUNK_HEADER_LEN as u64)
            });
        let window = self.window(track, start, t1_ms)?;
        let steps = plan_range(&window, t0_ms, t1_ms)?;
        self.check_steps(&steps)?;
        Ok(steps)
    }

    /// Walks the full file and reports everything that departs from what the reference muxer
    /// writes: CRCs, the track list, blocks of unknown tracks, block order, GOP rules, and
    /// whether the stored index matches the blocks.
    pub fn verify(&self) -> Report {
        let container = self.file.verify();
        let mut problems: Vec<Problem> = Vec::new();
        problems.extend(self.problems.iter().filter_map(|p| match p {
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
        }));
        if matches!(self.status, IndexStatus::Rebuilt { .. }) {
            problems.push(Problem::IndexRebuilt);
        }
        let lenient = ParseOptions {
            mode: Mode::Lenient,
            check_crc: false,
            ..*self.file.options()
        };
        let Ok(raw) = ContainerRef::parse_with(self.file.data(), &lenient) else {
            return Report {
                container,
                problems,
            };
        };
        let ids: Vec<u16> = self.tracks.iter().map(|t| t.track_id).collect();
        let mut builder = IndexBuilder::new(ids.iter().copied(), self.file.options().limits);
        let mut last: Vec<Option<(u32, BlockKind)>> = vec![None; self.tracks.len()];
        let mut prev_key: Option<(u32, u16)> = None;
        for chunk in raw.chunks().flatten() {
            if chunk.tag != Tag::CORE {
                continue;
            }
            let Ok(block) = route(chunk) else { continue };
            if prev_key.is_some_and(|p| p > (block.ts_ms, block.track)) {
                problems.push(Problem::BlockOrder {
                    offset: block.offset,
                });
            }
            prev_key = Some((block.ts_ms, block.track));
            if builder.push(&block).is_err() {
                break;
            }
            let Some(slot) = builder.slot(block.track) else {
                problems.push(Problem::UnknownTrackBlock {
                    offset: block.offset,
                    track: block.track,
                });
                continue;
            };
            let Some(state) = last.get_mut(slot) else {
                continue;
            };
            match *state {
                None if block.kind != BlockKind::Key => {
                    problems.push(Problem::GopRule(Error::FirstBlockNotKey {
                        track: block.track,
                        ts_ms: block.ts_ms,
                        kind: block.kind,
                    }));
                }
                Some((prev, _)) if block.ts_ms < prev => {
                    problems.push(Problem::GopRule(Error::PtsBackwards {
                        track: block.track,
                        ts_ms: block.ts_ms,
                        prev_ts_ms: prev,
                    }));
                }
                _ => {}
            }
            *state = Some((block.ts_ms, block.kind));
        }
        for (t, state) in self.tracks.iter().zip(&last) {
            if let Some((ts_ms, BlockKind::Bidirectional)) = *state {
                problems.push(Problem::GopRule(Error::EndsOnB {
                    track: t.track_id,
                    ts_ms,
                }));
            }
        }
        let scanned = builder.finish(self.index.core_offset);
        for (stored, found) in self.index.tracks.iter().zip(&scanned.tracks) {
            if stored.entries != found.entries {
                problems.push(Problem::IndexMismatch {
                    track: stored.track_id,
                });
            }
        }
        Report {
            container,
            problems,
        }
    }

    /// Offset of the TRAK chunk that was read.
    pub fn track_list_offset(&self) -> u64 {
        self.trak_offset
    }

    /// The blocks of `track` from the chunk at `start`, as far as a plan up to `t_ms` needs:
    /// every block with pts <= `t_ms`, and, when B-blocks among them are still waiting for a
    /// forward anchor, on to the first anchor after them.
    fn window(&self, track: u16, start: u64, t_ms: u32) -> Result<Vec<BlockRef<'a>>> {
        let limits = &self.file.options().limits;
        let mut blocks: Vec<BlockRef<'a>> = Vec::new();
        let mut waiting = false;
        let mut walk = self.raw.chunks_from(start)?;
        while walk.offset() < self.index.end_offset {
            let Some(chunk) = walk.next_chunk()? else {
                break;
            };
            if chunk.tag != Tag::CORE {
                continue;
            }
            let block = route(chunk)?;
            if block.track != track {
                continue;
            }
            if block.ts_ms > t_ms && !waiting {
                break;
            }
            let held = (blocks.len() as u64 + 1)
                .saturating_mul(std::mem::size_of::<BlockRef<'_>>() as u64);
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
            blocks.push(block);
            if block.kind.is_anchor() {
                waiting = false;
                if block.ts_ms > t_ms {
                    break;
                }
            } else if block.ts_ms <= t_ms {
                waiting = true;
            }
        }
        Ok(blocks)
    }

    /// Checks the CRC of every chunk a plan returns.
    fn check_steps(&self, steps: &[DecodeStep<'a>]) -> Result<()> {
        if self.file.options().check_crc {
            for s in steps {
                self.file.chunk_at(s.block.chunk_offset())?;
            }
        }
        Ok(())
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
                Ok(Some(_)) => continue,
                Err(e) => Err(e.into()),
            };
            if result.is_err() && !self.lenient {
                self.done = true;
            }
            return Some(result);
        }
    }
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
