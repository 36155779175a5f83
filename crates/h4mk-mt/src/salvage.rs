//! Salvage: a fresh, sound container from whatever of a damaged file is still intact
//! (docs/RELIABILITY.md, "Salvage").
//!
//! [`salvage`] finds every intact chunk with [`h4mk_format::resync`] (the chunk CRC is the only
//! judge), keeps what can still be used and writes a new file through [`h4mk_format::Writer`]:
//! header, TRAK, sidecars, other chunks and blocks in their original order, a rebuilt index
//! (TSEK per track, XSEK and XLOC when needed), a fresh file CRC. The output reads cleanly in
//! [`crate::Demuxer`] and passes its `verify` whenever the input's blocks were in the order the
//! format asks for (salvage keeps the original order; it never reorders).
//!
//! What is kept:
//! - the header when the input starts with one (else a default header);
//! - the first intact TRAK that parses, byte for byte; with none, a track list rebuilt from the
//!   ids of the original seek tables (in their order) and then of the intact blocks (ascending),
//!   each track named `track N` with kind and codec `unknown` ([`TrackListSource`]);
//! - the first intact chunk of each sidecar tag before the first block or index chunk, written in
//!   the order META, SAFE, VERI, NOTE;
//! - every chunk with another tag (one this crate does not know), in its place among the blocks:
//!   those before the first block after the sidecars, the others between the same blocks as
//!   before (those after the last block go before the index);
//! - every intact CORE block of a declared track that can still be decoded (below).
//!
//! What is dropped and reported: second track lists, repeated sidecars, sidecar tags among the
//! blocks (readers ignore them), CORE chunks that do not route, blocks of undeclared tracks,
//! blocks that cannot be decoded, and the old index chunks (replaced).
//!
//! Which blocks can be decoded, per track, in file order (docs/FORMAT.md §5): a P-block needs
//! every anchor (I or P) since the last I-block; a B-block needs the anchor before it and the
//! first anchor after it. So:
//! - blocks before the track's first intact I-block are dropped ([`DropReason::NoKeyframe`]);
//! - a lost I- or P-block breaks every later P- and B-block of its track until the next intact
//!   I-block ([`DropReason::AnchorLost`]), and the B-blocks just before it, whose forward anchor
//!   it was ([`DropReason::ForwardAnchorLost`]);
//! - a lost B-block breaks nothing else;
//! - B-blocks left at the end of a track with no forward anchor cannot be decoded: they are
//!   reported lost ([`DropReason::NoForwardAnchor`]).
//!
//! A lost block is known from the bytes the scan skipped. Each skipped range is walked from its
//! start, framing damaged chunks by their own (unverified) headers: a frame is accepted when its
//! tag is a known one (or one seen intact elsewhere in the file, at least two bytes away from
//! `CORE`) and it ends inside the range (or is cut off by the end of the input). A damaged CORE
//! chunk whose routing header and flags still read gives the lost block's track, pts and type;
//! an entry of an intact original seek table pointing at it overrules that: it was an I-block.
//! Bytes the walk cannot explain may have held a block of any track: when there are at least
//! [`MIN_BLOCK_CHUNK_LEN`] of them, every track treats them as a lost anchor. That is the price
//! of never keeping a block whose reference may be gone: inserted garbage and a destroyed chunk
//! header look the same.
//!
//! Cost: two scans of the input (each one CRC pass plus the resync's bounded work per skipped
//! byte), and O(1) per chunk and per damaged range whatever the number of tracks (damage that
//! may hit every track is applied to each track when it is next touched). Memory: the head
//! chunks, the original seek entries (capped, see [`MAX_CROSS_CHECK_ENTRIES`]), the index being
//! built, the report, and the blocks behind a B-block still waiting for its forward anchor
//! (references into the input, not copies; capped, see [`MAX_HELD_ITEMS`]).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::io::Write;

use h4mk_format::resync::{Found, Scanner, Skipped};
use h4mk_format::{
    CHUNK_CRC_LEN, CHUNK_HEADER_LEN, ChunkHeader, ChunkRef, FOOTER_LEN, FileHeader, Limits, Tag,
    Writer, WriterOptions,
};
use h4mk_gop::{BlockKind, GopFlags, SeekTable};

use crate::error::Result;
use crate::index::{ExtSeekTable, IndexBuilder, Locator, XLOC, XSEK, is_known_tag, write_index};
use crate::router::{BlockRef, ROUTE_HEADER_LEN, ROUTE_MAGIC, route};
use crate::sidecar::Sidecars;
use crate::track::{TrackSpec, encode_track_list, parse_track_list};

/// The smallest CORE chunk: header, routing header, no opaque bytes, CRC (24 bytes). Fewer
/// unexplained bytes than this cannot have held a block.
pub const MIN_BLOCK_CHUNK_LEN: u64 = (CHUNK_HEADER_LEN + ROUTE_HEADER_LEN + CHUNK_CRC_LEN) as u64;

/// The most entries of the original seek tables kept to identify damaged I-blocks; past it the
/// check uses what it has (about 4 million keyframes, 64 MiB).
pub const MAX_CROSS_CHECK_ENTRIES: usize = 1 << 22;

/// The most blocks and chunks held back behind a B-block waiting for its forward anchor. Past
/// it the waiting B-blocks are dropped ([`DropReason::AnchorTooFar`]) so that memory stays
/// bounded; in a real file a B-block's anchor is a few blocks away.
pub const MAX_HELD_ITEMS: usize = 1 << 20;

/// Options for [`salvage_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SalvageOptions {
    /// Flush the sink after every chunk written ([`WriterOptions::flush_every_chunk`]).
    pub sync: bool,
    /// Write an XLOC locator (docs/FORMAT.md §6.3) even when the input had none. One is
    /// written anyway when the input had an intact one or an XSEK table is needed.
    pub index_locator: bool,
    /// The most entries each list of the report holds (skipped ranges, damaged chunks,
    /// unidentified ranges, blocks not kept, chunks left out, chunks kept):
    /// [`SalvageReport::omitted`] counts the rest, as a lenient verification counts problems
    /// past [`Limits::max_problems`], whose default this takes.
    pub max_listed: u64,
}

impl Default for SalvageOptions {
    fn default() -> Self {
        SalvageOptions {
            sync: false,
            index_locator: false,
            max_listed: Limits::default().max_problems,
        }
    }
}

/// What [`salvage`] kept, lost and why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SalvageReport {
    /// Length of the input.
    pub input_len: u64,
    /// Length of the file written.
    pub output_len: u64,
    /// Whether the input starts with the 16-byte header (else a default one was written).
    pub header: bool,
    /// The input's file CRC.
    pub footer: FooterState,
    /// True when the input is intact: header, every byte in an intact chunk, matching file CRC.
    pub intact: bool,
    /// Where the track list came from.
    pub track_list: TrackListSource,
    /// Per track, in track-list order.
    pub tracks: Vec<TrackSalvage>,
    /// The sidecars kept, in the order written.
    pub sidecars: Vec<Tag>,
    /// Chunks of other tags kept, in file order (input offsets), up to
    /// [`SalvageOptions::max_listed`].
    pub kept_chunks: Vec<KeptChunk>,
    /// Intact index chunks (TSEK, XSEK, XLOC) of the input, replaced by the rebuilt index.
    pub index_chunks: u64,
    /// The byte ranges of the input that are not in an intact chunk (header and footer
    /// aside), in file order; this list and those below hold up to
    /// [`SalvageOptions::max_listed`] entries each, and [`SalvageReport::omitted`] counts the
    /// rest.
    pub skipped: Vec<Skipped>,
    /// Damaged chunks framed inside the skipped ranges, by their unverified headers.
    pub damaged: Vec<DamagedChunk>,
    /// Parts of the skipped ranges no frame explains, which may have held anything.
    pub unidentified: Vec<Skipped>,
    /// The blocks not kept: intact ones that cannot be decoded and damaged ones, in file order.
    pub dropped: Vec<DroppedBlock>,
    /// Intact chunks not written, other than blocks and index chunks.
    pub ignored: Vec<IgnoredChunk>,
    /// XSEK tables written (docs/FORMAT.md §6.2): tracks with keyframes a version 1 table
    /// cannot list.
    pub ext_tables: u32,
    /// Damaged blocks (lost), listed in [`SalvageReport::dropped`] or not: each track's
    /// `damaged`, with those of no track.
    pub blocks_lost: u64,
    /// Intact blocks not written because they cannot be decoded, listed or not: each track's
    /// `dropped`, with those of no track.
    pub blocks_dropped: u64,
    /// Bytes of the input in [`SalvageReport::skipped`] ranges, listed or not.
    pub skipped_bytes: u64,
    /// Entries each list leaves out, past [`SalvageOptions::max_listed`]: a file of a million
    /// damaged chunks made a report of a million lines.
    pub omitted: Omitted,
}

/// How many entries each list of a [`SalvageReport`] leaves out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Omitted {
    /// Of [`SalvageReport::kept_chunks`].
    pub kept_chunks: u64,
    /// Of [`SalvageReport::skipped`].
    pub skipped: u64,
    /// Of [`SalvageReport::damaged`].
    pub damaged: u64,
    /// Of [`SalvageReport::unidentified`].
    pub unidentified: u64,
    /// Of [`SalvageReport::dropped`].
    pub dropped: u64,
    /// Of [`SalvageReport::ignored`].
    pub ignored: u64,
}

impl Omitted {
    /// Every entry left out.
    pub fn total(&self) -> u64 {
        self.kept_chunks
            .saturating_add(self.skipped)
            .saturating_add(self.damaged)
            .saturating_add(self.unidentified)
            .saturating_add(self.dropped)
            .saturating_add(self.ignored)
    }
}

impl SalvageReport {
    /// Blocks written.
    pub fn blocks_kept(&self) -> u64 {
        self.tracks.iter().map(|t| t.kept).sum()
    }

    /// True when anything of the input made it into the output (the track list, a block, a
    /// sidecar or another chunk), or the input was intact: an output without any is an empty
    /// container, which is all an intact one with no chunk holds.
    pub fn recovered(&self) -> bool {
        self.intact
            || matches!(self.track_list, TrackListSource::Found { .. })
            || self.blocks_kept() > 0
            || !self.sidecars.is_empty()
            || !self.kept_chunks.is_empty()
            || self.omitted.kept_chunks > 0
    }

    /// True when the input was intact and everything in it was kept (the index aside, which is
    /// rewritten): the output holds the same content.
    pub fn is_complete(&self) -> bool {
        self.intact
            && self.blocks_lost == 0
            && self.blocks_dropped == 0
            && self.ignored.is_empty()
            && self.omitted.ignored == 0
            && self.track_list != TrackListSource::Reconstructed
    }
}

/// The state of the input's file CRC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FooterState {
    /// Four bytes right after the last intact chunk that match the CRC of everything before.
    Intact,
    /// Four bytes right after the last intact chunk that do not match.
    Mismatch {
        /// The CRC stored.
        stored: u32,
        /// The CRC of the bytes before it.
        computed: u32,
    },
    /// No footer: the input does not end four bytes after an intact chunk.
    #[default]
    Missing,
}

/// Where the output's track list came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TrackListSource {
    /// The input's first intact TRAK chunk that parses, at `offset`, copied byte for byte.
    Found {
        /// Offset of the TRAK chunk in the input.
        offset: u64,
    },
    /// No usable TRAK: the tracks were rebuilt from the ids of the original seek tables and
    /// of the intact blocks (possibly none).
    #[default]
    Reconstructed,
    /// None: the input is intact and holds no track list and no block, and the output is
    /// written as it is, with no TRAK either.
    Absent,
}

/// What became of one track.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrackSalvage {
    /// The track.
    pub track_id: u16,
    /// Blocks written.
    pub kept: u64,
    /// I-blocks among them.
    pub keyframes: u64,
    /// Intact blocks dropped because they cannot be decoded.
    pub dropped: u64,
    /// Damaged blocks (lost), as far as their headers name this track.
    pub damaged: u64,
}

/// A chunk of another tag, kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeptChunk {
    /// Its tag.
    pub tag: Tag,
    /// Offset of its header in the input.
    pub offset: u64,
}

/// A damaged chunk framed inside a skipped range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DamagedChunk {
    /// Offset of its header in the input.
    pub offset: u64,
    /// The tag its header claims.
    pub tag: Tag,
    /// Bytes of the input it spans.
    pub len: u64,
    /// True when the input ends inside it.
    pub truncated: bool,
}

/// A block that is not in the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DroppedBlock {
    /// Offset of its CORE payload in the input (as seek tables name blocks).
    pub offset: u64,
    /// Its track.
    pub track: u16,
    /// Its pts.
    pub ts_ms: u32,
    /// Its type.
    pub kind: BlockKind,
    /// Why it was dropped.
    pub reason: DropReason,
}

/// Why a block was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// Its chunk is damaged; track, pts and type are read from its unverified header (or an
    /// original seek table).
    Damaged,
    /// The input ends inside its chunk.
    Truncated,
    /// Its track is not in the track list.
    UnknownTrack,
    /// No I-block of its track comes before it.
    NoKeyframe,
    /// An anchor it depends on was lost: the damaged block at `at`, or damaged bytes at `at`
    /// that may have held one.
    AnchorLost {
        /// Offset of the damage.
        at: u64,
    },
    /// A B-block whose forward anchor was lost at `at`.
    ForwardAnchorLost {
        /// Offset of the damage.
        at: u64,
    },
    /// A B-block with no anchor after it in its track.
    NoForwardAnchor,
    /// A B-block whose forward anchor did not come within [`MAX_HELD_ITEMS`] blocks and chunks.
    AnchorTooFar,
    /// Its pts is before that of the previous block kept of its track; a sound file's pts
    /// never go back within a track.
    PtsBackwards {
        /// The previous kept block's pts.
        prev_ts_ms: u32,
    },
}

impl DropReason {
    /// A short stable name, for machine-readable reports.
    pub fn code(&self) -> &'static str {
        match self {
            DropReason::Damaged => "damaged",
            DropReason::Truncated => "truncated",
            DropReason::UnknownTrack => "unknown_track",
            DropReason::NoKeyframe => "no_keyframe",
            DropReason::AnchorLost { .. } => "anchor_lost",
            DropReason::ForwardAnchorLost { .. } => "forward_anchor_lost",
            DropReason::NoForwardAnchor => "no_forward_anchor",
            DropReason::AnchorTooFar => "anchor_too_far",
            DropReason::PtsBackwards { .. } => "pts_backwards",
        }
    }

    /// True for the blocks that were themselves lost, as opposed to intact ones dropped.
    pub fn is_damage(&self) -> bool {
        matches!(self, DropReason::Damaged | DropReason::Truncated)
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::Damaged => f.write_str("its chunk is damaged"),
            DropReason::Truncated => f.write_str("the file ends inside its chunk"),
            DropReason::UnknownTrack => f.write_str("its track is not in the track list"),
            DropReason::NoKeyframe => f.write_str("no I-block of its track comes before it"),
            DropReason::AnchorLost { at } => {
                write!(f, "an anchor it depends on was lost at offset {at}")
            }
            DropReason::ForwardAnchorLost { at } => {
                write!(f, "its forward anchor was lost at offset {at}")
            }
            DropReason::NoForwardAnchor => {
                f.write_str("no anchor follows it in its track (a trailing B-block)")
            }
            DropReason::AnchorTooFar => write!(
                f,
                "its forward anchor did not come within {MAX_HELD_ITEMS} chunks"
            ),
            DropReason::PtsBackwards { prev_ts_ms } => write!(
                f,
                "its pts goes back before {prev_ts_ms} ms, the previous block kept of its track"
            ),
        }
    }
}

/// An intact chunk that was not written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoredChunk {
    /// Offset of its header in the input.
    pub offset: u64,
    /// Its tag.
    pub tag: Tag,
    /// Why it was left out.
    pub reason: IgnoreReason,
}

/// Why an intact chunk was left out.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IgnoreReason {
    /// A track list after the one used (readers use the first).
    ExtraTrackList,
    /// A track list that does not parse.
    BadTrackList {
        /// The parse error.
        detail: String,
    },
    /// A sidecar tag seen again before the blocks (readers keep the first).
    RepeatedSidecar,
    /// A sidecar tag after the first block or index chunk, where readers ignore it.
    StraySidecar,
    /// A CORE chunk that does not route (short payload, bad `H4TB` magic, bad GOP flags).
    Unroutable {
        /// The routing error.
        detail: String,
    },
}

impl IgnoreReason {
    /// A short stable name, for machine-readable reports.
    pub fn code(&self) -> &'static str {
        match self {
            IgnoreReason::ExtraTrackList => "extra_track_list",
            IgnoreReason::BadTrackList { .. } => "bad_track_list",
            IgnoreReason::RepeatedSidecar => "repeated_sidecar",
            IgnoreReason::StraySidecar => "stray_sidecar",
            IgnoreReason::Unroutable { .. } => "unroutable",
        }
    }
}

impl fmt::Display for IgnoreReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IgnoreReason::ExtraTrackList => f.write_str("a second track list (the first is used)"),
            IgnoreReason::BadTrackList { detail } => {
                write!(f, "a track list that does not parse: {detail}")
            }
            IgnoreReason::RepeatedSidecar => f.write_str("a repeated sidecar (the first is kept)"),
            IgnoreReason::StraySidecar => {
                f.write_str("a sidecar tag among the blocks, which readers ignore")
            }
            IgnoreReason::Unroutable { detail } => {
                write!(f, "a block that does not route: {detail}")
            }
        }
    }
}

/// Salvages `data` into `sink` with default options; see the module docs.
///
/// Fails only when writing to `sink` fails: damage in `data` is reported, never an error.
///
/// ```
/// use h4mk_mt::{Demuxer, salvage};
///
/// let demo = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/reference/demo.h4mk"))?;
/// // Cut the file in the middle of its blocks, as a crash would.
/// let (fixed, report) = salvage(&demo[..500], Vec::new())?;
/// assert!(!report.intact && report.recovered());
/// let file = Demuxer::open(&fixed)?;
/// assert!(file.verify().is_ok());
/// assert_eq!(file.blocks().count() as u64, report.blocks_kept());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn salvage<W: Write>(data: &[u8], sink: W) -> Result<(W, SalvageReport)> {
    salvage_with(data, sink, SalvageOptions::default())
}

/// Salvages `data` into `sink`; see the module docs.
pub fn salvage_with<W: Write>(
    data: &[u8],
    sink: W,
    opts: SalvageOptions,
) -> Result<(W, SalvageReport)> {
    salvage_held(data, sink, opts, MAX_HELD_ITEMS)
}

/// [`salvage_with`] with the cap on held items as a parameter, for tests.
fn salvage_held<W: Write>(
    data: &[u8],
    sink: W,
    opts: SalvageOptions,
    max_held: usize,
) -> Result<(W, SalvageReport)> {
    let survey = Survey::take(data);
    let (tracks, track_list) = match &survey.trak {
        Some((chunk, tracks)) => (
            tracks.clone(),
            TrackListSource::Found {
                offset: chunk.offset,
            },
        ),
        None => {
            let tracks = survey.rebuilt_tracks();
            // An intact file of no track list and no block is written as it is.
            if survey.intact && tracks.is_empty() {
                (tracks, TrackListSource::Absent)
            } else {
                (tracks, TrackListSource::Reconstructed)
            }
        }
    };
    let header = survey.header.unwrap_or_default();
    let mut writer = Writer::new(
        sink,
        &header,
        WriterOptions {
            flush_every_chunk: opts.sync,
        },
    )?;
    match (&survey.trak, track_list) {
        (Some((chunk, _)), _) => {
            writer.write_chunk(Tag::TRAK, chunk.flags, chunk.payload)?;
        }
        (None, TrackListSource::Absent) => {}
        (None, _) => {
            writer.write_chunk(Tag::TRAK, 0, &encode_track_list(&tracks)?)?;
        }
    }
    let mut sidecars = Vec::new();
    for chunk in survey.sidecars.iter().flatten() {
        writer.write_chunk(chunk.tag, chunk.flags, chunk.payload)?;
        sidecars.push(chunk.tag);
    }
    let report = SalvageReport {
        input_len: data.len() as u64,
        header: survey.header.is_some(),
        footer: survey.footer,
        intact: survey.intact,
        track_list,
        tracks: tracks
            .iter()
            .map(|t| TrackSalvage {
                track_id: t.track_id,
                ..TrackSalvage::default()
            })
            .collect(),
        sidecars,
        ..SalvageReport::default()
    };
    let mut pass = Pass::new(
        data,
        &survey,
        writer,
        &tracks,
        report,
        max_held,
        opts.max_listed,
    );
    for found in Scanner::new(data) {
        match found {
            Found::Skipped(range) => pass.skipped(range)?,
            Found::Chunk(chunk) => pass.chunk(chunk)?,
        }
    }
    pass.finish(opts.index_locator || survey.locator)
}

/// The first scan: what must be known before writing (header, track list, sidecars) and what
/// helps judge damage (original seek tables, track ids).
struct Survey<'a> {
    header: Option<FileHeader>,
    footer: FooterState,
    intact: bool,
    /// The TRAK used and its tracks.
    trak: Option<(ChunkRef<'a>, Vec<TrackSpec>)>,
    /// Offset of the first intact block or index chunk: the head ends there.
    head_end: Option<u64>,
    /// The sidecars used, in write order.
    sidecars: [Option<ChunkRef<'a>>; 4],
    /// Track ids of intact blocks.
    block_tracks: BTreeSet<u16>,
    /// Track ids of intact seek tables, in file order.
    table_tracks: Vec<u16>,
    /// (payload offset, track, pts) of every keyframe in an intact seek table, sorted.
    keyframes: Vec<(u64, u16, u32)>,
    /// Tags of intact chunks, to recognise a damaged chunk of a tag this crate does not know.
    tags: BTreeSet<Tag>,
    /// Whether the input had an intact XLOC.
    locator: bool,
}

impl<'a> Survey<'a> {
    fn take(data: &'a [u8]) -> Self {
        let mut scanner = Scanner::new(data);
        let mut survey = Survey {
            header: None,
            footer: FooterState::Missing,
            intact: false,
            trak: None,
            head_end: None,
            sidecars: [None; 4],
            block_tracks: BTreeSet::new(),
            table_tracks: Vec::new(),
            keyframes: Vec::new(),
            tags: BTreeSet::new(),
            locator: false,
        };
        let mut skipped = false;
        let mut seen_tables = BTreeSet::new();
        for found in &mut scanner {
            let chunk = match found {
                Found::Chunk(chunk) => chunk,
                Found::Skipped(_) => {
                    skipped = true;
                    continue;
                }
            };
            survey.tags.insert(chunk.tag);
            if is_body_tag(chunk.tag) && survey.head_end.is_none() {
                survey.head_end = Some(chunk.offset);
            }
            match chunk.tag {
                Tag::TRAK if survey.trak.is_none() => {
                    if let Ok(list) = parse_track_list(chunk, &Limits::default()) {
                        survey.trak = Some((chunk, list.tracks));
                    }
                }
                Tag::CORE => {
                    if let Ok(block) = route(chunk) {
                        survey.block_tracks.insert(block.track);
                    }
                }
                Tag::TSEK => {
                    if let Ok(table) = SeekTable::parse(chunk.payload) {
                        let track = table.track_id();
                        if seen_tables.insert(track) {
                            survey.table_tracks.push(track);
                        }
                        survey.add_keyframes(track, table.iter().map(|e| (e.offset, e.ts_ms)));
                    }
                }
                XSEK => {
                    if let Ok(table) = ExtSeekTable::parse(chunk) {
                        let track = table.track_id();
                        survey.add_keyframes(track, table.iter().map(|e| (e.offset, e.ts_ms)));
                    }
                }
                XLOC => survey.locator |= Locator::parse(chunk).is_ok(),
                tag if survey.head_end.is_none() => {
                    let slot = Sidecars::TAGS.iter().position(|&t| t == tag);
                    if let Some(s) = slot.and_then(|i| survey.sidecars.get_mut(i))
                        && s.is_none()
                    {
                        *s = Some(chunk);
                    }
                }
                _ => {}
            }
        }
        survey.keyframes.sort_unstable();
        survey.keyframes.dedup_by_key(|e| e.0);
        survey.header = scanner.header().copied();
        survey.footer = match scanner.footer() {
            Some(f) if f.is_intact() => FooterState::Intact,
            Some(f) => FooterState::Mismatch {
                stored: f.stored,
                computed: f.computed,
            },
            None => FooterState::Missing,
        };
        survey.intact = survey.header.is_some() && !skipped && survey.footer == FooterState::Intact;
        survey
    }

    fn add_keyframes(&mut self, track: u16, entries: impl Iterator<Item = (u64, u32)>) {
        for (offset, ts_ms) in entries {
            if self.keyframes.len() >= MAX_CROSS_CHECK_ENTRIES {
                return;
            }
            self.keyframes.push((offset, track, ts_ms));
        }
    }

    /// The (track, pts) of the keyframe whose payload an original seek table puts at `offset`.
    fn keyframe_at(&self, offset: u64) -> Option<(u16, u32)> {
        let i = self.keyframes.binary_search_by_key(&offset, |e| e.0).ok()?;
        self.keyframes.get(i).map(|&(_, track, ts)| (track, ts))
    }

    /// Tracks for a file whose track list is lost: the seek tables' ids in order, then the
    /// blocks' other ids, ascending.
    fn rebuilt_tracks(&self) -> Vec<TrackSpec> {
        let mut ids = self.table_tracks.clone();
        let listed: BTreeSet<u16> = ids.iter().copied().collect();
        ids.extend(self.block_tracks.difference(&listed));
        ids.into_iter()
            .map(|track_id| TrackSpec {
                track_id,
                name: format!("track {track_id}"),
                kind: "unknown".into(),
                codec: "unknown".into(),
                sample_rate: 0,
                channels: 0,
                note: "rebuilt by salvage: the track list was lost".into(),
            })
            .collect()
    }

    fn in_head(&self, offset: u64) -> bool {
        self.head_end.is_none_or(|end| offset < end)
    }

    fn is_sidecar_used(&self, chunk: &ChunkRef<'_>) -> bool {
        self.sidecars
            .iter()
            .flatten()
            .any(|c| c.offset == chunk.offset)
    }
}

/// The tags that start the block area: blocks and index chunks.
fn is_body_tag(tag: Tag) -> bool {
    matches!(tag, Tag::CORE | Tag::TSEK | XSEK | XLOC)
}

fn is_sidecar_tag(tag: Tag) -> bool {
    Sidecars::TAGS.contains(&tag)
}

/// Tags a damaged chunk's header may be believed to carry without being a block.
fn is_known_other_tag(tag: Tag) -> bool {
    tag != Tag::CORE && is_known_tag(tag)
}

/// Per track: whether its current anchor decodes, and its B-blocks waiting for the next one.
#[derive(Debug, Default)]
struct TrackState {
    /// `None` while the chain is whole; otherwise why blocks cannot be decoded now.
    broken: Option<DropReason>,
    /// Sequence numbers of B-blocks in the queue waiting for their forward anchor.
    pending: Vec<u64>,
    /// How many of [`Pass::unknown`] have been applied to this track.
    applied: usize,
    /// Pts of the last block of the track that is kept.
    kept_ts_ms: Option<u32>,
    /// Pts of the last B-block of the track waiting for its forward anchor, while one waits.
    pending_ts_ms: Option<u32>,
}

/// What a queued block will become.
#[derive(Clone, Copy, Debug)]
enum Fate {
    Pending,
    Keep,
    Drop(DropReason),
}

/// Output in file order, held while a B-block before it waits for its forward anchor.
#[derive(Debug)]
enum Item<'a> {
    Block {
        chunk: ChunkRef<'a>,
        block: BlockRef<'a>,
        slot: usize,
        fate: Fate,
    },
    Chunk(ChunkRef<'a>),
    Dropped(DroppedBlock),
}

/// The second scan: decides and writes.
struct Pass<'a, 's, W: Write> {
    data: &'a [u8],
    survey: &'s Survey<'a>,
    writer: Writer<W>,
    index: IndexBuilder,
    /// Track id to slot in track-list order.
    slots: BTreeMap<u16, usize>,
    states: Vec<TrackState>,
    queue: VecDeque<Item<'a>>,
    /// Sequence number of the queue's front.
    base: u64,
    /// The most items the queue may hold behind a waiting B-block.
    max_held: usize,
    /// Offsets of damage that may have held any track's anchor, in file order. Applied to each
    /// track when it is next touched, so that each costs O(1) rather than O(tracks).
    unknown: Vec<u64>,
    report: SalvageReport,
    /// The most entries each of the report's lists holds.
    max_listed: u64,
}

impl<'a, 's, W: Write> Pass<'a, 's, W> {
    fn new(
        data: &'a [u8],
        survey: &'s Survey<'a>,
        writer: Writer<W>,
        tracks: &[TrackSpec],
        report: SalvageReport,
        max_held: usize,
        max_listed: u64,
    ) -> Self {
        let slots = tracks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.track_id, i))
            .collect();
        Pass {
            data,
            survey,
            writer,
            index: IndexBuilder::new(tracks.iter().map(|t| t.track_id), Limits::none()),
            slots,
            states: tracks
                .iter()
                .map(|_| TrackState {
                    broken: Some(DropReason::NoKeyframe),
                    pending: Vec::new(),
                    applied: 0,
                    kept_ts_ms: None,
                    pending_ts_ms: None,
                })
                .collect(),
            queue: VecDeque::new(),
            base: 0,
            max_held,
            unknown: Vec::new(),
            report,
            max_listed,
        }
    }

    fn chunk(&mut self, chunk: ChunkRef<'a>) -> Result<()> {
        let ignore = |reason| IgnoredChunk {
            offset: chunk.offset,
            tag: chunk.tag,
            reason,
        };
        match chunk.tag {
            Tag::TRAK => {
                let used = self
                    .survey
                    .trak
                    .as_ref()
                    .is_some_and(|(t, _)| t.offset == chunk.offset);
                if !used {
                    let reason = match parse_track_list(chunk, &Limits::default()) {
                        Ok(_) => IgnoreReason::ExtraTrackList,
                        Err(e) => IgnoreReason::BadTrackList {
                            detail: e.to_string(),
                        },
                    };
                    self.list(|r| (&mut r.ignored, &mut r.omitted.ignored), ignore(reason));
                }
            }
            tag if is_sidecar_tag(tag) => {
                if !self.survey.is_sidecar_used(&chunk) {
                    let reason = if self.survey.in_head(chunk.offset) {
                        IgnoreReason::RepeatedSidecar
                    } else {
                        IgnoreReason::StraySidecar
                    };
                    self.list(|r| (&mut r.ignored, &mut r.omitted.ignored), ignore(reason));
                }
            }
            Tag::CORE => match route(chunk) {
                Ok(block) => self.block(chunk, block)?,
                Err(e) => self.list(
                    |r| (&mut r.ignored, &mut r.omitted.ignored),
                    ignore(IgnoreReason::Unroutable {
                        detail: e.to_string(),
                    }),
                ),
            },
            Tag::TSEK | XSEK | XLOC => self.report.index_chunks += 1,
            _ => {
                self.push(Item::Chunk(chunk));
                self.drain()?;
            }
        }
        Ok(())
    }

    fn block(&mut self, chunk: ChunkRef<'a>, block: BlockRef<'a>) -> Result<()> {
        let Some(&slot) = self.slots.get(&block.track) else {
            self.push(Item::Dropped(dropped(&block, DropReason::UnknownTrack)));
            return self.drain();
        };
        self.catch_up(slot);
        // A B-block still waiting counts; one dropped since does not.
        let last = self
            .states
            .get(slot)
            .and_then(|s| s.pending_ts_ms.or(s.kept_ts_ms));
        if let Some(prev_ts_ms) = last.filter(|&prev| block.ts_ms < prev) {
            // Written, it would make the track's pts go back, which no sound file does. An
            // anchor takes what depends on it along: the B-blocks waiting for it, and the later
            // blocks of its track until the next I-block.
            if block.kind.is_anchor() {
                self.anchor_lost(slot, chunk.offset);
            }
            self.push(Item::Dropped(dropped(
                &block,
                DropReason::PtsBackwards { prev_ts_ms },
            )));
            return self.drain();
        }
        let broken = self.states.get(slot).and_then(|s| s.broken);
        let fate = match (block.kind, broken) {
            (BlockKind::Key, _) | (BlockKind::Predictive, None) => {
                self.resolve(slot, Fate::Keep);
                if let Some(s) = self.states.get_mut(slot) {
                    s.broken = None;
                }
                Fate::Keep
            }
            (BlockKind::Bidirectional, None) => Fate::Pending,
            (_, Some(reason)) => Fate::Drop(reason),
        };
        if let Some(s) = self.states.get_mut(slot) {
            match fate {
                Fate::Keep => s.kept_ts_ms = Some(block.ts_ms),
                Fate::Pending => s.pending_ts_ms = Some(block.ts_ms),
                Fate::Drop(_) => {}
            }
        }
        let seq = self.push(Item::Block {
            chunk,
            block,
            slot,
            fate,
        });
        if matches!(fate, Fate::Pending)
            && let Some(s) = self.states.get_mut(slot)
        {
            s.pending.push(seq);
        }
        self.drain()
    }

    /// A skipped range: frames the damaged chunks in it and applies what they lost.
    fn skipped(&mut self, range: Skipped) -> Result<()> {
        self.report.skipped_bytes = self.report.skipped_bytes.saturating_add(range.len);
        self.list(|r| (&mut r.skipped, &mut r.omitted.skipped), range);
        let end = range.offset.saturating_add(range.len);
        let at_eof = end >= self.data.len() as u64;
        let mut pos = range.offset;
        while pos < end {
            let Some(frame) = self.frame(pos, end, at_eof) else {
                self.unidentified(pos, end);
                break;
            };
            self.damaged(&frame);
            if frame.truncated {
                break;
            }
            pos = frame.end;
        }
        self.drain()
    }

    /// The damaged chunk whose header is at `pos`, if the header is believable and the chunk
    /// ends by `end` (or is cut off by the end of the input).
    fn frame(&self, pos: u64, end: u64, at_eof: bool) -> Option<Frame<'a>> {
        let start = usize::try_from(pos).ok()?;
        let head: [u8; CHUNK_HEADER_LEN] = self
            .data
            .get(start..start.checked_add(CHUNK_HEADER_LEN)?)?
            .try_into()
            .ok()?;
        let header = ChunkHeader::parse(pos, head);
        let tag = header.tag;
        let known = tag == Tag::CORE
            || is_known_other_tag(tag)
            || (self.survey.tags.contains(&tag) && differs_from_core(tag));
        if !known {
            return None;
        }
        let frame_end = header.end_offset();
        let truncated = frame_end > end;
        if truncated && !at_eof {
            return None;
        }
        let payload_start = start.checked_add(CHUNK_HEADER_LEN)?;
        let payload_end = header
            .payload_offset()
            .saturating_add(u64::from(header.len))
            .min(end);
        let payload = self
            .data
            .get(payload_start..usize::try_from(payload_end).ok()?)
            .unwrap_or_default();
        Some(Frame {
            offset: pos,
            tag,
            flags: header.flags,
            payload,
            end: frame_end.min(end),
            truncated,
        })
    }

    fn damaged(&mut self, frame: &Frame<'a>) {
        let chunk = DamagedChunk {
            offset: frame.offset,
            tag: frame.tag,
            len: frame.end.saturating_sub(frame.offset),
            truncated: frame.truncated,
        };
        self.list(|r| (&mut r.damaged, &mut r.omitted.damaged), chunk);
        let reason = if frame.truncated {
            DropReason::Truncated
        } else {
            DropReason::Damaged
        };
        let payload_offset = frame.offset.saturating_add(CHUNK_HEADER_LEN as u64);
        let claimed = claimed_block(frame);
        // An intact original seek table outranks the damaged header: the chunk was an I-block.
        let identity = match self.survey.keyframe_at(payload_offset) {
            Some((track, ts_ms)) => Some((track, ts_ms, BlockKind::Key)),
            None if frame.tag != Tag::CORE => return,
            None => claimed,
        };
        let lost = identity.map(|(track, ts_ms, kind)| DroppedBlock {
            offset: payload_offset,
            track,
            ts_ms,
            kind,
            reason,
        });
        match lost {
            Some(b) if self.slots.contains_key(&b.track) => {
                if b.kind.is_anchor()
                    && let Some(&slot) = self.slots.get(&b.track)
                {
                    self.catch_up(slot);
                    self.anchor_lost(slot, frame.offset);
                }
                self.push(Item::Dropped(b));
            }
            // A block of an undeclared track that intact blocks also use: it breaks nothing.
            Some(b) if self.survey.block_tracks.contains(&b.track) => {
                self.push(Item::Dropped(b));
            }
            // A block whose track cannot be trusted: it may have been any track's anchor.
            _ => self.all_anchors_lost(frame.offset),
        }
    }

    fn unidentified(&mut self, pos: u64, end: u64) {
        let len = end.saturating_sub(pos);
        self.list(
            |r| (&mut r.unidentified, &mut r.omitted.unidentified),
            Skipped { offset: pos, len },
        );
        if len >= MIN_BLOCK_CHUNK_LEN {
            self.all_anchors_lost(pos);
        }
    }

    /// Damage at `at` may have held an anchor of any track: recorded once, applied to each
    /// track by [`Pass::catch_up`].
    fn all_anchors_lost(&mut self, at: u64) {
        self.unknown.push(at);
    }

    /// Applies to the track in `slot` the damage recorded by [`Pass::all_anchors_lost`] since it
    /// was last touched. Its waiting B-blocks all came before that damage (pushing one catches
    /// up first), so they lose their forward anchor at the first such damage; its next blocks
    /// lose their reference at the last.
    fn catch_up(&mut self, slot: usize) {
        let Some(applied) = self.states.get(slot).map(|s| s.applied) else {
            return;
        };
        let (Some(&first), Some(&last)) = (self.unknown.get(applied), self.unknown.last()) else {
            return;
        };
        self.anchor_lost(slot, first);
        if let Some(s) = self.states.get_mut(slot) {
            s.broken = Some(DropReason::AnchorLost { at: last });
            s.applied = self.unknown.len();
        }
    }

    /// An anchor of the track in `slot` was lost at `at`: its waiting B-blocks lose their
    /// forward anchor, and its later blocks their reference until the next I-block.
    fn anchor_lost(&mut self, slot: usize, at: u64) {
        self.resolve(slot, Fate::Drop(DropReason::ForwardAnchorLost { at }));
        if let Some(s) = self.states.get_mut(slot) {
            s.broken = Some(DropReason::AnchorLost { at });
        }
    }

    /// Settles every B-block of `slot` waiting for its forward anchor.
    fn resolve(&mut self, slot: usize, fate: Fate) {
        let Some(state) = self.states.get_mut(slot) else {
            return;
        };
        state.pending_ts_ms = None;
        for seq in state.pending.drain(..) {
            let i = seq.saturating_sub(self.base);
            if let Some(Item::Block { fate: f, .. }) =
                usize::try_from(i).ok().and_then(|i| self.queue.get_mut(i))
            {
                *f = fate;
            }
        }
    }

    /// Queues an item; returns its sequence number.
    fn push(&mut self, item: Item<'a>) -> u64 {
        let seq = self.base.saturating_add(self.queue.len() as u64);
        self.queue.push_back(item);
        seq
    }

    /// Writes or reports the queue's front for as long as it is settled.
    fn drain(&mut self) -> Result<()> {
        while let Some(front) = self.queue.front() {
            if let Item::Block {
                fate: Fate::Pending,
                slot,
                ..
            } = *front
            {
                self.catch_up(slot);
                if self.front_pending() && self.queue.len() > self.max_held {
                    self.resolve(slot, Fate::Drop(DropReason::AnchorTooFar));
                }
                if self.front_pending() {
                    break;
                }
                continue;
            }
            let Some(item) = self.queue.pop_front() else {
                break;
            };
            self.base = self.base.saturating_add(1);
            match item {
                Item::Block {
                    chunk,
                    block,
                    slot,
                    fate,
                } => match fate {
                    Fate::Keep => self.write_block(chunk, &block, slot)?,
                    Fate::Drop(reason) => self.drop_block(dropped(&block, reason)),
                    Fate::Pending => {}
                },
                Item::Chunk(chunk) => {
                    self.writer
                        .write_chunk(chunk.tag, chunk.flags, chunk.payload)?;
                    self.list(
                        |r| (&mut r.kept_chunks, &mut r.omitted.kept_chunks),
                        KeptChunk {
                            tag: chunk.tag,
                            offset: chunk.offset,
                        },
                    );
                }
                Item::Dropped(b) => self.drop_block(b),
            }
        }
        Ok(())
    }

    fn front_pending(&self) -> bool {
        matches!(
            self.queue.front(),
            Some(Item::Block {
                fate: Fate::Pending,
                ..
            })
        )
    }

    fn write_block(
        &mut self,
        chunk: ChunkRef<'a>,
        block: &BlockRef<'a>,
        slot: usize,
    ) -> Result<()> {
        let at = self
            .writer
            .write_chunk(Tag::CORE, chunk.flags, chunk.payload)?;
        self.index.add(
            block.track,
            block.ts_ms,
            block.kind,
            at.saturating_add(CHUNK_HEADER_LEN as u64),
            self.writer.position(),
        )?;
        if let Some(t) = self.report.tracks.get_mut(slot) {
            t.kept += 1;
            if block.kind == BlockKind::Key {
                t.keyframes += 1;
            }
        }
        Ok(())
    }

    fn drop_block(&mut self, b: DroppedBlock) {
        if let Some(t) = self
            .slots
            .get(&b.track)
            .and_then(|&slot| self.report.tracks.get_mut(slot))
        {
            if b.reason.is_damage() {
                t.damaged += 1;
            } else {
                t.dropped += 1;
            }
        }
        if b.reason.is_damage() {
            self.report.blocks_lost += 1;
        } else {
            self.report.blocks_dropped += 1;
        }
        self.list(|r| (&mut r.dropped, &mut r.omitted.dropped), b);
    }

    /// Adds `item` to the report's list `pick` gives, or counts it in that list's omitted
    /// count once the list holds [`SalvageOptions::max_listed`] entries.
    fn list<T>(
        &mut self,
        pick: impl FnOnce(&mut SalvageReport) -> (&mut Vec<T>, &mut u64),
        item: T,
    ) {
        let cap = usize::try_from(self.max_listed).unwrap_or(usize::MAX);
        let (list, omitted) = pick(&mut self.report);
        if list.len() < cap {
            list.push(item);
        } else {
            *omitted += 1;
        }
    }

    /// Drops the B-blocks still waiting, writes what is queued, the index and the file CRC.
    fn finish(mut self, locator: bool) -> Result<(W, SalvageReport)> {
        for slot in 0..self.states.len() {
            self.catch_up(slot);
            self.resolve(slot, Fate::Drop(DropReason::NoForwardAnchor));
        }
        self.drain()?;
        let index = self.index.finish(self.writer.position());
        self.report.ext_tables = write_index(&mut self.writer, &index, locator)?.ext_tables;
        self.report.output_len = self.writer.position().saturating_add(FOOTER_LEN as u64);
        let sink = self.writer.finish()?;
        Ok((sink, self.report))
    }
}

/// A damaged chunk framed by its own header.
#[derive(Clone, Copy, Debug)]
struct Frame<'a> {
    offset: u64,
    tag: Tag,
    flags: u32,
    /// The payload bytes present (all of them unless truncated).
    payload: &'a [u8],
    /// Where the frame ends, at most the end of its range.
    end: u64,
    truncated: bool,
}

/// The (track, pts, type) a damaged CORE chunk's header and routing header claim, if they read.
fn claimed_block(frame: &Frame<'_>) -> Option<(u16, u32, BlockKind)> {
    if frame.tag != Tag::CORE {
        return None;
    }
    let (&[m0, m1, m2, m3, t0, t1, _, _], _) =
        frame.payload.split_first_chunk::<ROUTE_HEADER_LEN>()?;
    if [m0, m1, m2, m3] != ROUTE_MAGIC {
        return None;
    }
    let flags = GopFlags::try_from(frame.flags).ok()?;
    Some((
        u16::from_le_bytes([t0, t1]),
        flags.timestamp_ms(),
        flags.kind(),
    ))
}

/// True when `tag` differs from `CORE` in at least two bytes, so that one damaged byte cannot
/// turn a CORE header into it.
fn differs_from_core(tag: Tag) -> bool {
    tag.0
        .iter()
        .zip(Tag::CORE.0.iter())
        .filter(|(a, b)| a != b)
        .count()
        >= 2
}

fn dropped(block: &BlockRef<'_>, reason: DropReason) -> DroppedBlock {
    DroppedBlock {
        offset: block.offset,
        track: block.track,
        ts_ms: block.ts_ms,
        kind: block.kind,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_one_byte_from_core_is_not_believed() {
        assert!(!differs_from_core(Tag(*b"CORD")));
        assert!(!differs_from_core(Tag::CORE));
        assert!(differs_from_core(Tag(*b"XTRA")));
        assert!(differs_from_core(Tag(*b"COXX")));
    }

    /// Track 1: I, B, then (after `gap` blocks of track 2) P. The B-block waits for the P.
    fn far_anchor(gap: u32) -> Vec<u8> {
        let spec = |id| TrackSpec {
            track_id: id,
            name: String::new(),
            kind: String::new(),
            codec: String::new(),
            sample_rate: 0,
            channels: 0,
            note: String::new(),
        };
        let mut m = crate::Muxer::new(
            Vec::new(),
            vec![spec(1), spec(2)],
            &Sidecars::default(),
            crate::MuxOptions::default(),
        )
        .unwrap();
        m.push(1, 0, BlockKind::Key, b"i").unwrap();
        m.push(1, 1, BlockKind::Bidirectional, b"b").unwrap();
        for t in 0..gap {
            let kind = if t == 0 {
                BlockKind::Key
            } else {
                BlockKind::Predictive
            };
            m.push(2, 1 + t, kind, b"x").unwrap();
        }
        m.push(1, 1 + gap, BlockKind::Predictive, b"p").unwrap();
        m.finish().unwrap().0
    }

    #[test]
    fn a_b_block_whose_anchor_is_too_far_is_dropped_to_bound_memory() {
        let bytes = far_anchor(10);
        let opts = SalvageOptions::default();
        let (out, report) = salvage_held(&bytes, Vec::new(), opts, 100).unwrap();
        assert!(report.dropped.is_empty());
        assert_eq!(out, bytes);
        let (out, report) = salvage_held(&bytes, Vec::new(), opts, 5).unwrap();
        let reasons: Vec<_> = report.dropped.iter().map(|d| (d.ts_ms, d.reason)).collect();
        assert_eq!(reasons, [(1, DropReason::AnchorTooFar)]);
        let file = crate::Demuxer::open(&out).unwrap();
        assert!(file.verify().is_ok());
        assert_eq!(file.blocks().count(), 12);
    }

    #[test]
    fn empty_and_garbage_inputs_give_an_empty_sound_container() {
        for data in [&b""[..], b"H4MK", &[0u8; 100][..], &[0xffu8; 100][..]] {
            let (out, report) = salvage(data, Vec::new()).unwrap();
            assert!(!report.recovered(), "{data:?}");
            let file = crate::Demuxer::open(&out).unwrap();
            assert!(file.tracks().is_empty());
            assert!(file.verify().is_ok(), "{data:?}");
            assert_eq!(
                report.track_list,
                TrackListSource::Reconstructed,
                "{data:?}"
            );
        }
    }

    /// An intact file of no chunk is written as it is: with no track list, which the report
    /// said it had rebuilt (a diff review).
    #[test]
    fn an_intact_file_of_no_chunk_has_no_track_list() {
        let mut empty = Vec::new();
        let header = h4mk_format::FileHeader::default();
        Writer::new(&mut empty, &header, WriterOptions::default())
            .unwrap()
            .finish()
            .unwrap();
        let (out, report) = salvage(&empty, Vec::new()).unwrap();
        assert_eq!(out, empty);
        assert_eq!(report.track_list, TrackListSource::Absent);
        assert!(report.recovered() && report.is_complete());
    }
}
