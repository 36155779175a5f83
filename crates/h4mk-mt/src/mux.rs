//! Writing a multi-track file as blocks arrive (docs/FORMAT.md §2, §6).
//!
//! The reference muxer collects every block, sorts them by (pts, track id) with a stable sort
//! and writes them. [`Muxer`] writes the same bytes while holding back only the blocks whose
//! place is not settled yet: per-track pts never decrease, so a track's last pts bounds all its
//! future blocks, and a block can go out once every other unended track has a bound that sorts
//! after it. Memory follows the tracks' skew and the index, not the file; a caller that hands
//! over a whole track before the next one makes the muxer hold that whole track, exactly as the
//! sort would have to. A track that sends blocks rarely bounds the others only by its last pts,
//! so a caller that knows more says so with [`Muxer::advance`].

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::io::Write;

use h4mk_format::{
    CHUNK_HEADER_LEN, ChunkQueue, FOOTER_LEN, FileHeader, Limits, Tag, Writer, WriterOptions,
};
use h4mk_gop::{BlockKind, GopFlags, MAX_TIMESTAMP_MS};

use crate::error::{Error, Result};
use crate::index::{IndexBuilder, IndexLayout, write_index};
use crate::router::{ROUTE_HEADER_LEN, route_header};
use crate::sidecar::Sidecars;
use crate::track::{TrackSpec, encode_track_list_keeping};

/// Options for [`Muxer`]. The default writes exactly what the reference writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MuxOptions {
    /// Flush the sink after every chunk ([`WriterOptions::flush_every_chunk`]), so a crash
    /// loses at most the chunk being written; with a sink whose `flush` syncs, every complete
    /// chunk is on disk.
    pub sync: bool,
    /// Write an XLOC locator before the file CRC (docs/FORMAT.md §6.3), so readers find the
    /// index in O(1). The reference ignores it. Files that need an XSEK table get one anyway.
    pub index_locator: bool,
    /// The file header's creation time, in Unix milliseconds. 0, the default, is what the
    /// reference always writes, and keeps the output the same from run to run.
    pub timestamp_ms: u64,
    /// Take blocks that break the GOP rules, as the reference does: a track that starts with
    /// a P- or B-block, or ends on a B-block. For copying what a file already holds
    /// ([`remux`](crate::remux())); `verify` reports such tracks. Pts still never go back
    /// within a track, which the reference's sort also ensures.
    pub allow_gop_breaks: bool,
}

/// What [`Muxer::finish`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MuxSummary {
    /// Length of the file in bytes.
    pub file_len: u64,
    /// CORE chunks written.
    pub blocks: u64,
    /// Per track, in track-list order.
    pub tracks: Vec<TrackSummary>,
    /// Where the index chunks went.
    pub index: IndexLayout,
    /// The most blocks held back at once.
    pub peak_held_blocks: usize,
    /// The most opaque bytes held back in memory at once: copies of blocks handed over with
    /// [`Muxer::push`] and blocks moved in with [`Muxer::push_owned`] (blocks handed over with
    /// [`Muxer::push_borrowed`] cost none).
    pub peak_held_bytes: u64,
}

/// What was written for one track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackSummary {
    /// The track.
    pub track_id: u16,
    /// Its blocks.
    pub blocks: u64,
    /// Its I-blocks (seek entries).
    pub keyframes: u64,
}

/// Writes a multi-track file block by block; see the module docs.
///
/// A block whose place is not settled yet is held back, and [`Muxer::push`] copies it to do so.
/// Blocks whose bytes live at least as long as the muxer (`'a`: a memory-mapped input) can be
/// handed over with [`Muxer::push_borrowed`], and blocks in a `Vec` of their own (an encoder's
/// output) moved in with [`Muxer::push_owned`]: holding either copies nothing.
///
/// The sink receives many small writes: give it a `Vec` or a `BufWriter` ([`Writer`]).
///
/// A muxer dropped without [`Muxer::finish`] leaves a file with no index and no file CRC,
/// which readers reject, rather than one that only looks complete.
///
/// ```
/// use h4mk_mt::{BlockKind, Demuxer, MuxOptions, Muxer, Sidecars, TrackSpec};
///
/// // Every version 1 track key is a field; the reference's defaults are 48000 Hz, 1 channel.
/// let track = |track_id, name: &str| TrackSpec {
///     track_id,
///     name: name.into(),
///     kind: "audio".into(),
///     codec: "my-codec".into(),
///     sample_rate: 48_000,
///     channels: 1,
///     note: String::new(),
/// };
/// let tracks = vec![track(1, "left"), track(2, "right")];
/// let mut mux = Muxer::new(Vec::new(), tracks, &Sidecars::default(), MuxOptions::default())?;
/// // Blocks as they are produced, each track's in presentation order (pts never decrease).
/// mux.push(1, 0, BlockKind::Key, b"left I")?;
/// mux.push(2, 0, BlockKind::Key, b"right I")?;
/// mux.push(1, 20, BlockKind::Predictive, b"left P")?;
/// mux.push(2, 20, BlockKind::Predictive, b"right P")?;
/// let (bytes, summary) = mux.finish()?;
/// assert_eq!(summary.blocks, 4);
///
/// let file = Demuxer::open(&bytes)?;
/// let shown: Vec<&[u8]> = file.chain(2, 25)?.iter().map(|s| s.block.opaque).collect();
/// assert_eq!(shown, [&b"right I"[..], b"right P"]);
/// # Ok::<(), h4mk_mt::Error>(())
/// ```
#[derive(Debug)]
pub struct Muxer<'a, W: Write> {
    writer: Writer<W>,
    tracks: Vec<TrackState<'a>>,
    /// Per slot: (lower bound of future pts, track id) of an unended track.
    bounds: MinKeys,
    /// No track will hand over a block below this pts ([`Muxer::advance_all`]).
    floor_ms: u32,
    /// Per slot: (pts, track id) of the track's first held block, if it holds any.
    heads: MinKeys,
    index: IndexBuilder,
    opts: MuxOptions,
    blocks: u64,
    held_blocks: usize,
    held_bytes: u64,
    peak_held_blocks: usize,
    peak_held_bytes: u64,
}

#[derive(Debug)]
struct TrackState<'a> {
    id: u16,
    last: Option<(u32, BlockKind)>,
    /// The pts the track was advanced to ([`Muxer::advance`]): its next block's pts is at
    /// least this.
    promised_ms: u32,
    ended: bool,
    /// Blocks framed but not written, in hand-over order.
    held: ChunkQueue<'a, Held>,
    blocks: u64,
    keyframes: u64,
}

/// What the muxer keeps of a held block besides its framed bytes.
#[derive(Debug)]
struct Held {
    ts_ms: u32,
    kind: BlockKind,
    /// Opaque bytes the muxer keeps in memory for this block: copied or moved in (0 when
    /// borrowed).
    kept: u64,
}

/// A block's opaque bytes as handed over.
enum Opaque<'a, 'b> {
    /// Copied if the block has to wait.
    Copied(&'b [u8]),
    /// Borrowed for as long as the muxer lives.
    Borrowed(&'a [u8]),
    /// Moved in, and dropped once written.
    Owned(Vec<u8>),
}

impl Opaque<'_, '_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Opaque::Copied(bytes) | Opaque::Borrowed(bytes) => bytes,
            Opaque::Owned(bytes) => bytes,
        }
    }
}

/// The largest opaque block: the CORE payload (routing header included) has a 32-bit length.
pub const MAX_OPAQUE_LEN: u64 = u32::MAX as u64 - ROUTE_HEADER_LEN as u64;

/// No key: an ended track's bound, a track holding nothing.
const NO_KEY: u64 = u64::MAX;
/// Up to this many tracks, the smallest key is found by a linear scan; beyond, an ordered set
/// keeps it.
const LINEAR_TRACKS: usize = 16;

/// Packs (pts, track id, slot) into a u64 that orders as (pts, track id): slots are unique per
/// track id and below 65,536 (track ids are unique u16).
fn pack(ts_ms: u32, track: u16, slot: usize) -> u64 {
    (u64::from(ts_ms) << 32) | (u64::from(track) << 16) | (slot as u64 & 0xFFFF)
}

fn unpack(key: u64) -> (u32, u16, usize) {
    (
        (key >> 32) as u32,
        (key >> 16) as u16,
        (key & 0xFFFF) as usize,
    )
}

/// One key per track slot, with the smallest found fast.
#[derive(Debug)]
struct MinKeys {
    keys: Vec<u64>,
    /// The keys other than [`NO_KEY`], ordered, when there are many tracks.
    set: Option<BTreeSet<u64>>,
}

impl MinKeys {
    fn new(slots: usize) -> Self {
        MinKeys {
            keys: vec![NO_KEY; slots],
            set: (slots > LINEAR_TRACKS).then(BTreeSet::new),
        }
    }

    #[inline]
    fn set(&mut self, slot: usize, key: u64) {
        let Some(k) = self.keys.get_mut(slot) else {
            return;
        };
        let old = std::mem::replace(k, key);
        if let Some(set) = &mut self.set
            && old != key
        {
            set.remove(&old);
            if key != NO_KEY {
                set.insert(key);
            }
        }
    }

    #[inline]
    fn min(&self) -> u64 {
        match &self.set {
            Some(set) => set.first().copied().unwrap_or(NO_KEY),
            None => self.keys.iter().copied().min().unwrap_or(NO_KEY),
        }
    }

    /// The smallest key of a slot other than `slot`.
    #[inline]
    fn min_excluding(&self, slot: usize) -> u64 {
        match &self.set {
            Some(set) => set
                .iter()
                .copied()
                .find(|&k| unpack(k).2 != slot)
                .unwrap_or(NO_KEY),
            None => self
                .keys
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != slot)
                .map(|(_, &k)| k)
                .min()
                .unwrap_or(NO_KEY),
        }
    }
}

impl<'a, W: Write> Muxer<'a, W> {
    /// Writes the file header, the TRAK chunk and the sidecars.
    pub fn new(
        sink: W,
        tracks: Vec<TrackSpec>,
        sidecars: &Sidecars<'_>,
        opts: MuxOptions,
    ) -> Result<Self> {
        Self::with_track_list(sink, tracks, &[], sidecars, opts)
    }

    /// [`Muxer::new`], with some values of the track list written as a file held them
    /// ([`encode_track_list_keeping`]): for remuxing.
    pub(crate) fn with_track_list(
        sink: W,
        tracks: Vec<TrackSpec>,
        kept: &[Vec<(&'static str, &str)>],
        sidecars: &Sidecars<'_>,
        opts: MuxOptions,
    ) -> Result<Self> {
        let mut ids: Vec<u16> = tracks.iter().map(|t| t.track_id).collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| matches!(w, [a, b] if a == b)) {
            return Err(Error::DuplicateTrack {
                track: w.first().copied().unwrap_or_default(),
            });
        }
        let trak = encode_track_list_keeping(&tracks, kept)?;
        let header = FileHeader {
            timestamp_ms: opts.timestamp_ms,
            ..FileHeader::default()
        };
        let mut writer = Writer::new(
            sink,
            &header,
            WriterOptions {
                flush_every_chunk: opts.sync,
            },
        )?;
        writer.write_chunk(Tag::TRAK, 0, &trak)?;
        for (tag, payload) in sidecars.iter() {
            writer.write_chunk(tag, 0, payload)?;
        }
        let index = IndexBuilder::new(tracks.iter().map(|t| t.track_id), Limits::none());
        let heads = MinKeys::new(tracks.len());
        let mut bounds = MinKeys::new(tracks.len());
        for (slot, t) in tracks.iter().enumerate() {
            bounds.set(slot, pack(0, t.track_id, slot));
        }
        let tracks = tracks
            .iter()
            .map(|t| TrackState {
                id: t.track_id,
                last: None,
                promised_ms: 0,
                ended: false,
                held: ChunkQueue::default(),
                blocks: 0,
                keyframes: 0,
            })
            .collect();
        Ok(Muxer {
            writer,
            tracks,
            bounds,
            floor_ms: 0,
            heads,
            index,
            opts,
            blocks: 0,
            held_blocks: 0,
            held_bytes: 0,
            peak_held_blocks: 0,
            peak_held_bytes: 0,
        })
    }

    /// Hands over the next block of `track`, in presentation order: a B-block before the
    /// anchor it follows in decode order (an encoder's output sorted by pts, ties by
    /// [`h4mk_gop::presentation_ranks`]; [`h4mk_gop::PresentationOrder`] puts a live
    /// encoder's blocks in that order as they come, holding a group of them).
    ///
    /// The block is written at once if its place is settled; otherwise it is framed into the
    /// track's queue (one copy), then hashed and written as soon as it is.
    /// Checks the GOP rules: a track starts with an I-block, its pts never decrease and fit in
    /// 28 bits, and it has not ended. A refused block leaves the muxer as it was.
    pub fn push(&mut self, track: u16, ts_ms: u32, kind: BlockKind, opaque: &[u8]) -> Result<()> {
        self.hand_over(track, ts_ms, kind, Opaque::Copied(opaque))
    }

    /// [`Muxer::push`] for bytes that outlive the muxer: a block that has to wait is kept by
    /// reference, so holding it costs neither a copy nor memory. A caller that
    /// hands over a whole track before the next one (remuxing a file laid out by track, say)
    /// then makes the muxer hold pointers, not the track.
    pub fn push_borrowed(
        &mut self,
        track: u16,
        ts_ms: u32,
        kind: BlockKind,
        opaque: &'a [u8],
    ) -> Result<()> {
        self.hand_over(track, ts_ms, kind, Opaque::Borrowed(opaque))
    }

    /// [`Muxer::push`] for a block in a buffer of its own: a block that has to wait is held in
    /// that buffer rather than in a copy, and the buffer is dropped once the block is written
    /// (or at once, if the block is refused).
    pub fn push_owned(
        &mut self,
        track: u16,
        ts_ms: u32,
        kind: BlockKind,
        opaque: Vec<u8>,
    ) -> Result<()> {
        self.hand_over(track, ts_ms, kind, Opaque::Owned(opaque))
    }

    fn hand_over(
        &mut self,
        track: u16,
        ts_ms: u32,
        kind: BlockKind,
        block: Opaque<'a, '_>,
    ) -> Result<()> {
        let opaque_len = block.bytes().len() as u64;
        let slot = self.open_slot(track)?;
        if ts_ms > MAX_TIMESTAMP_MS {
            return Err(Error::PtsTooLarge {
                track,
                ts_ms,
                max: MAX_TIMESTAMP_MS,
            });
        }
        let state = self.state(slot)?;
        match state.last {
            None if kind != BlockKind::Key && !self.opts.allow_gop_breaks => {
                return Err(Error::FirstBlockNotKey { track, ts_ms, kind });
            }
            Some((prev_ts_ms, _)) if ts_ms < prev_ts_ms => {
                return Err(Error::PtsBackwards {
                    track,
                    ts_ms,
                    prev_ts_ms,
                    kind,
                });
            }
            _ => {}
        }
        let promised_ms = state.promised_ms.max(self.floor_ms);
        if ts_ms < promised_ms {
            return Err(Error::PtsBeforeAdvance {
                track,
                ts_ms,
                promised_ms,
            });
        }
        if opaque_len > MAX_OPAQUE_LEN {
            return Err(Error::BlockTooLarge {
                track,
                ts_ms,
                len: opaque_len,
                max: MAX_OPAQUE_LEN,
            });
        }
        let flags = GopFlags::new(ts_ms, kind)?.to_bits();
        // Checked: from here on only an I/O error can fail.
        let key = pack(ts_ms, track, slot);
        self.bounds.set(slot, key);
        if let Some(state) = self.tracks.get_mut(slot) {
            state.last = Some((ts_ms, kind));
        }
        self.release()?;
        let route = route_header(track);
        let settled = self.heads.min() > key && self.settled(key, slot);
        let Some(state) = self.tracks.get_mut(slot) else {
            return Err(Error::UnknownTrack { track });
        };
        if state.held.is_empty() && settled {
            let parts: [&[u8]; 2] = [&route, block.bytes()];
            let at = self.writer.write_chunk_parts(Tag::CORE, flags, &parts)?;
            return self.record(slot, ts_ms, kind, at);
        }
        let (copied, tail, kept) = match block {
            Opaque::Copied(bytes) => ([&route[..], bytes], Cow::Borrowed(&[][..]), opaque_len),
            Opaque::Borrowed(bytes) => ([&route[..], &[]], Cow::Borrowed(bytes), 0),
            Opaque::Owned(bytes) => ([&route[..], &[]], Cow::Owned(bytes), opaque_len),
        };
        let held = Held { ts_ms, kind, kept };
        self.writer
            .frame(&mut state.held, held, Tag::CORE, flags, &copied, tail)?;
        if state.held.len() == 1 {
            self.heads.set(slot, key);
        }
        self.held_blocks += 1;
        self.held_bytes = self.held_bytes.saturating_add(kept);
        self.peak_held_blocks = self.peak_held_blocks.max(self.held_blocks);
        self.peak_held_bytes = self.peak_held_bytes.max(self.held_bytes);
        Ok(())
    }

    /// Promises that the next block of `track` has a pts of at least `ts_ms`, so blocks of
    /// other tracks before it need not wait for that block; a later block before `ts_ms` is
    /// refused. A track that sends blocks rarely (captions, a control track) otherwise makes
    /// the muxer hold every block of the other tracks until its next one: advancing it as time
    /// passes keeps memory to the blocks since. A caller that hands blocks over in the file's
    /// order (by pts, then track id), knows each track's next pts (a fixed cadence, a
    /// manifest) and advances the track to it after each block makes no block wait: each is
    /// written as it comes, and [`Muxer::push`] copies none. Nothing is written; a promise
    /// below an earlier one changes nothing.
    pub fn advance(&mut self, track: u16, ts_ms: u32) -> Result<()> {
        // Any pts may be promised: one past the largest a block can have promises no more
        // blocks, as `advance_all` of it does.
        let slot = self.open_slot(track)?;
        let state = self.state(slot)?;
        if ts_ms <= state.promised_ms || state.last.is_some_and(|(last, _)| ts_ms <= last) {
            return Ok(());
        }
        if let Some(state) = self.tracks.get_mut(slot) {
            state.promised_ms = ts_ms;
        }
        self.bounds.set(slot, pack(ts_ms, track, slot));
        self.release()
    }

    /// Promises that no track will hand over a block with a pts below `ts_ms`: [`Muxer::advance`]
    /// of every track at once, in constant time. A caller that reads blocks from files in pts
    /// order (a remux) knows no more than that; a later block below `ts_ms` is refused.
    pub fn advance_all(&mut self, ts_ms: u32) -> Result<()> {
        if ts_ms <= self.floor_ms {
            return Ok(());
        }
        self.floor_ms = ts_ms;
        self.release()
    }

    /// Ends `track`: no more blocks will come for it, so held blocks of other tracks need not
    /// wait for it. Fails if the track ends on a B-block (it would have no forward anchor).
    pub fn end_track(&mut self, track: u16) -> Result<()> {
        let slot = self.slot(track)?;
        self.end_slot(slot)?;
        self.release()
    }

    /// Ends every track, writes what is held, the index and the file CRC, and hands back the
    /// sink. Checks every unended track for a trailing B-block before writing anything more;
    /// the muxer is gone then, and the sink holds a file cut short, so a caller that may still
    /// have an anchor to hand over ends each track with [`Muxer::end_track`] first, which keeps
    /// the muxer when it refuses.
    pub fn finish(mut self) -> Result<(W, MuxSummary)> {
        let checked = !self.opts.allow_gop_breaks;
        for state in self.tracks.iter().filter(|s| checked && !s.ended) {
            if let Some((ts_ms, BlockKind::Bidirectional)) = state.last {
                return Err(Error::EndsOnB {
                    track: state.id,
                    ts_ms,
                });
            }
        }
        for slot in 0..self.tracks.len() {
            if self.tracks.get(slot).is_some_and(|s| !s.ended) {
                self.end_slot(slot)?;
            }
        }
        self.release()?;
        let index = self.index.finish(self.writer.position());
        let layout = write_index(&mut self.writer, &index, self.opts.index_locator)?;
        let file_len = self.writer.position().saturating_add(FOOTER_LEN as u64);
        let sink = self.writer.finish()?;
        let summary = MuxSummary {
            file_len,
            blocks: self.blocks,
            tracks: self
                .tracks
                .iter()
                .map(|s| TrackSummary {
                    track_id: s.id,
                    blocks: s.blocks,
                    keyframes: s.keyframes,
                })
                .collect(),
            index: layout,
            peak_held_blocks: self.peak_held_blocks,
            peak_held_bytes: self.peak_held_bytes,
        };
        Ok((sink, summary))
    }

    /// Offset where the next chunk will start (bytes written so far).
    pub fn position(&self) -> u64 {
        self.writer.position()
    }

    /// Blocks held back now.
    pub fn held_blocks(&self) -> usize {
        self.held_blocks
    }

    /// Opaque bytes held back now in memory, copied or moved in (borrowed blocks cost none).
    pub fn held_bytes(&self) -> u64 {
        self.held_bytes
    }

    /// The sink.
    pub fn get_ref(&self) -> &W {
        self.writer.get_ref()
    }

    fn slot(&self, track: u16) -> Result<usize> {
        // A match rather than `ok_or`: building the error eagerly costs a drop per block.
        match self.index.slot(track) {
            Some(slot) => Ok(slot),
            None => Err(Error::UnknownTrack { track }),
        }
    }

    /// The slot of `track` for a block or a promise at `ts_ms`: the track has not ended and
    /// the pts fits in the GOP flags.
    /// The slot of `track`, which must not have ended.
    fn open_slot(&self, track: u16) -> Result<usize> {
        let slot = self.slot(track)?;
        if self.state(slot)?.ended {
            return Err(Error::TrackEnded { track });
        }
        Ok(slot)
    }

    fn state(&self, slot: usize) -> Result<&TrackState<'a>> {
        self.tracks.get(slot).ok_or_else(|| Error::UnknownTrack {
            track: u16::try_from(slot).unwrap_or(u16::MAX),
        })
    }

    fn end_slot(&mut self, slot: usize) -> Result<()> {
        let state = self.state(slot)?;
        let track = state.id;
        if state.ended {
            return Err(Error::TrackEnded { track });
        }
        if let Some((ts_ms, BlockKind::Bidirectional)) = state.last
            && !self.opts.allow_gop_breaks
        {
            return Err(Error::EndsOnB { track, ts_ms });
        }
        self.bounds.set(slot, NO_KEY);
        if let Some(state) = self.tracks.get_mut(slot) {
            state.ended = true;
        }
        Ok(())
    }

    /// True when no block still to come can sort before the block `key` of track `slot`:
    /// every other unended track's bound sorts after it (ties within a track keep hand-over
    /// order, so the track's own bound does not count), or the pts every track was advanced
    /// to does (at that pts itself, any track id may still come).
    fn settled(&self, key: u64, slot: usize) -> bool {
        self.bounds
            .min_excluding(slot)
            .max(pack(self.floor_ms, 0, 0))
            > key
    }

    /// Writes held blocks in order for as long as the first one is settled.
    fn release(&mut self) -> Result<()> {
        loop {
            let key = self.heads.min();
            if key == NO_KEY {
                break;
            }
            let (_, track, slot) = unpack(key);
            if !self.settled(key, slot) {
                break;
            }
            let Some(state) = self.tracks.get_mut(slot) else {
                break;
            };
            let Some((held, at)) = self.writer.write_queued(&mut state.held)? else {
                self.heads.set(slot, NO_KEY);
                continue;
            };
            let next = state
                .held
                .front()
                .map_or(NO_KEY, |n| pack(n.ts_ms, track, slot));
            self.heads.set(slot, next);
            self.held_blocks = self.held_blocks.saturating_sub(1);
            self.held_bytes = self.held_bytes.saturating_sub(held.kept);
            self.record(slot, held.ts_ms, held.kind, at)?;
        }
        Ok(())
    }

    /// Counts and indexes the block just written at `at`.
    fn record(&mut self, slot: usize, ts_ms: u32, kind: BlockKind, at: u64) -> Result<()> {
        let Some(state) = self.tracks.get_mut(slot) else {
            return Ok(());
        };
        state.blocks += 1;
        if kind == BlockKind::Key {
            state.keyframes += 1;
        }
        self.blocks += 1;
        let payload = at.saturating_add(CHUNK_HEADER_LEN as u64);
        self.index
            .add(state.id, ts_ms, kind, payload, self.writer.position())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demux::Demuxer;

    fn spec(id: u16) -> TrackSpec {
        TrackSpec {
            track_id: id,
            name: format!("t{id}"),
            kind: "audio".into(),
            codec: "h4core".into(),
            sample_rate: 0,
            channels: 0,
            note: String::new(),
        }
    }

    fn muxer(ids: &[u16]) -> Muxer<'static, Vec<u8>> {
        Muxer::new(
            Vec::new(),
            ids.iter().map(|&i| spec(i)).collect(),
            &Sidecars::default(),
            MuxOptions::default(),
        )
        .unwrap()
    }

    /// (track, pts) of every block of the file, in file order.
    fn order(bytes: &[u8]) -> Vec<(u16, u32)> {
        let d = Demuxer::open(bytes).unwrap();
        d.blocks()
            .map(|b| b.map(|b| (b.track, b.ts_ms)).unwrap())
            .collect()
    }

    #[test]
    fn a_track_ending_on_b_is_refused_and_end_track_keeps_the_muxer() {
        let mut m = muxer(&[1]);
        m.push(1, 0, BlockKind::Key, b"i").unwrap();
        m.push(1, 10, BlockKind::Bidirectional, b"b").unwrap();
        let err = m.end_track(1).unwrap_err();
        assert!(
            matches!(
                err,
                Error::EndsOnB {
                    track: 1,
                    ts_ms: 10
                }
            ),
            "{err:?}"
        );
        // The forward anchor can still come, and the file is whole.
        m.push(1, 20, BlockKind::Predictive, b"p").unwrap();
        m.end_track(1).unwrap();
        let (bytes, _) = m.finish().unwrap();
        assert_eq!(order(&bytes), [(1, 0), (1, 10), (1, 20)]);
        // finish refuses the same, consuming the muxer.
        let mut m = muxer(&[1]);
        m.push(1, 0, BlockKind::Key, b"i").unwrap();
        m.push(1, 10, BlockKind::Bidirectional, b"b").unwrap();
        assert!(matches!(m.finish(), Err(Error::EndsOnB { track: 1, .. })));
    }

    #[test]
    fn holds_only_what_is_unsettled() {
        let mut m = muxer(&[2, 1]);
        m.push(1, 0, BlockKind::Key, b"a").unwrap();
        // Track 2 may still send pts 0, which sorts after (0, 1): written at once.
        assert_eq!(m.held_blocks(), 0);
        m.push(2, 0, BlockKind::Key, b"b").unwrap();
        // Track 1 may still send pts 0, which sorts before (0, 2): held.
        assert_eq!(m.held_blocks(), 1);
        m.push(1, 10, BlockKind::Predictive, b"c").unwrap();
        // (0, 2) is settled and goes; (10, 1) waits for track 2.
        assert_eq!(m.held_blocks(), 1);
        m.end_track(2).unwrap();
        assert_eq!(m.held_blocks(), 0);
        let (bytes, summary) = m.finish().unwrap();
        assert_eq!(order(&bytes), [(1, 0), (2, 0), (1, 10)]);
        assert_eq!(summary.peak_held_blocks, 1);
        assert_eq!(
            summary.tracks,
            [
                TrackSummary {
                    track_id: 2,
                    blocks: 1,
                    keyframes: 1
                },
                TrackSummary {
                    track_id: 1,
                    blocks: 2,
                    keyframes: 1
                }
            ]
        );
    }

    #[test]
    fn borrowed_blocks_are_held_without_copies() {
        // A whole track before the other: every block of track 1 after the first (pts 0 sorts
        // before track 2's anything) waits for track 2.
        let blocks: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; 100 + usize::from(i)]).collect();
        #[derive(Clone, Copy)]
        enum How {
            Copied,
            Borrowed,
            Owned,
        }
        let mux = |how: How| {
            let mut m = muxer(&[1, 2]);
            for (i, b) in (0u32..).zip(&blocks) {
                let kind = if i % 10 == 0 {
                    BlockKind::Key
                } else {
                    BlockKind::Predictive
                };
                match how {
                    How::Copied => m.push(1, i * 10, kind, b),
                    How::Borrowed => m.push_borrowed(1, i * 10, kind, b),
                    How::Owned => m.push_owned(1, i * 10, kind, b.clone()),
                }
                .unwrap();
            }
            assert_eq!(m.held_blocks(), blocks.len() - 1);
            m.push(2, 0, BlockKind::Key, b"k").unwrap();
            m.finish().unwrap()
        };
        let (copied, copied_summary) = mux(How::Copied);
        let (borrowed, borrowed_summary) = mux(How::Borrowed);
        let (owned, owned_summary) = mux(How::Owned);
        assert!(copied == borrowed, "the hand-over changes no byte");
        assert!(copied == owned, "the hand-over changes no byte");
        assert_eq!(borrowed_summary.peak_held_blocks, blocks.len() - 1);
        assert_eq!(borrowed_summary.peak_held_bytes, 0);
        let waited: usize = blocks.iter().skip(1).map(Vec::len).sum();
        assert_eq!(copied_summary.peak_held_bytes, waited as u64);
        assert_eq!(owned_summary.peak_held_bytes, waited as u64);
        assert_eq!(order(&borrowed).len(), blocks.len() + 1);
    }

    /// A sink that counts flushes.
    #[derive(Default)]
    struct Flushes {
        bytes: Vec<u8>,
        flushes: usize,
    }

    impl Write for Flushes {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.bytes.write(buf)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            self.flushes += 1;
            Ok(())
        }
    }

    #[test]
    fn sync_flushes_after_every_chunk() {
        let sidecars = Sidecars {
            note: Some(b"n"),
            ..Sidecars::default()
        };
        let opts = MuxOptions {
            sync: true,
            index_locator: true,
            ..MuxOptions::default()
        };
        let mut m = Muxer::new(Flushes::default(), vec![spec(1)], &sidecars, opts).unwrap();
        // TRAK and NOTE are out as soon as `new` returns.
        assert_eq!(m.get_ref().flushes, 2);
        m.push(1, 0, BlockKind::Key, b"k").unwrap();
        assert_eq!(m.get_ref().flushes, 3);
        let (sink, summary) = m.finish().unwrap();
        // TRAK, NOTE, CORE, TSEK, XLOC, and the final flush after the file CRC.
        assert_eq!(sink.flushes, 6);
        assert_eq!(summary.file_len, sink.bytes.len() as u64);
    }

    /// `MuxOptions::timestamp_ms` is the header's creation time, and changes nothing else but
    /// the file CRC; the default writes 0, as the reference does.
    #[test]
    fn the_timestamp_goes_in_the_header() {
        let write = |timestamp_ms| {
            let opts = MuxOptions {
                timestamp_ms,
                ..MuxOptions::default()
            };
            let mut m = Muxer::new(Vec::new(), vec![spec(1)], &Sidecars::default(), opts).unwrap();
            m.push(1, 0, BlockKind::Key, b"k").unwrap();
            m.finish().unwrap().0
        };
        let (plain, stamped) = (write(0), write(1_764_072_000_123));
        let header = FileHeader::parse;
        assert_eq!(header(&plain).unwrap().timestamp_ms, 0);
        assert_eq!(header(&stamped).unwrap().timestamp_ms, 1_764_072_000_123);
        let body = plain.len() - 4;
        assert_eq!(plain.len(), stamped.len());
        assert_eq!(plain[..8], stamped[..8]);
        assert_eq!(plain[16..body], stamped[16..body]);
    }

    /// A sink whose `fail_at`th write fails, once.
    struct FailsOnce {
        bytes: Vec<u8>,
        writes: usize,
        fail_at: usize,
    }

    impl Write for FailsOnce {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.writes += 1;
            if self.writes == self.fail_at {
                return Err(std::io::Error::other("transient"));
            }
            self.bytes.write(buf)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn after_a_failed_write_nothing_more_is_written_and_finish_fails() {
        // Track 1 whole, then track 2: track 1's blocks wait in the queue, and track 2's
        // pushes write them. Before the fix, a push after the failure wrote the next queued
        // chunk where the failed one should have been, and `finish` could give a file that
        // passed `verify` a block short.
        for fail_at in 2..80 {
            let sink = FailsOnce {
                bytes: Vec::new(),
                writes: 0,
                fail_at,
            };
            let specs = vec![spec(1), spec(2)];
            let Ok(mut m) = Muxer::new(sink, specs, &Sidecars::default(), MuxOptions::default())
            else {
                continue; // the failure hit the head of the file
            };
            let mut failed = false;
            for i in 0..8u8 {
                let kind = if i % 4 == 0 {
                    BlockKind::Key
                } else {
                    BlockKind::Predictive
                };
                let pushed = m.push(u16::from(i / 4 + 1), u32::from(i % 4) * 10, kind, &[i; 40]);
                assert!(
                    !failed || pushed.is_err(),
                    "fail_at {fail_at}: push {i} went on"
                );
                failed |= pushed.is_err();
            }
            match m.finish() {
                Ok((sink, _)) => {
                    assert!(!failed, "fail_at {fail_at}: finish after a failed push");
                    let d = Demuxer::open(&sink.bytes).unwrap();
                    assert_eq!(d.blocks().count(), 8, "fail_at {fail_at}");
                    assert!(d.verify().is_ok(), "fail_at {fail_at}");
                }
                Err(e) => {
                    // Either a push failed, or the failure came in `finish` itself.
                    let io =
                        std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source())
                            .any(|e| e.to_string() == "transient");
                    assert!(failed || io, "fail_at {fail_at}: {e}");
                }
            }
        }
    }

    #[track_caller]
    fn check_refused(m: &mut Muxer<'_, Vec<u8>>, push: (u16, u32, BlockKind), expect: &str) {
        let before = (m.position(), m.held_blocks());
        let err = m.push(push.0, push.1, push.2, b"x").unwrap_err();
        assert_eq!(err.to_string(), expect);
        assert!(!err.is_damage(), "a caller's mistake is not damage: {err}");
        assert_eq!(
            (m.position(), m.held_blocks()),
            before,
            "a refused block changes nothing"
        );
    }

    #[test]
    fn advancing_a_sparse_track_releases_the_others() {
        // Track 1 every 20 ms; track 2 at 0 and at 10 s only. `promise`: none, track 2
        // advanced, or every track advanced at once.
        let mux = |promise: u8| {
            let mut m = muxer(&[1, 2]);
            m.push(2, 0, BlockKind::Key, b"first").unwrap();
            let mut peak = 0;
            for i in 0..500u32 {
                let kind = if i % 50 == 0 {
                    BlockKind::Key
                } else {
                    BlockKind::Predictive
                };
                m.push(1, i * 20, kind, &i.to_le_bytes()).unwrap();
                match promise {
                    // Track 2's next block is at 10 s: say so as time passes.
                    1 => m.advance(2, i * 20 + 1).unwrap(),
                    // As a caller reading a file in pts order: nothing comes before the next.
                    2 => m.advance_all(i * 20 + 1).unwrap(),
                    _ => {}
                }
                peak = peak.max(m.held_blocks());
            }
            if promise == 2 {
                // Below the promise, on any track, is refused and changes nothing.
                assert!(matches!(
                    m.push(2, 9_980, BlockKind::Key, b"late"),
                    Err(Error::PtsBeforeAdvance {
                        track: 2,
                        ts_ms: 9_980,
                        promised_ms: 9_981
                    })
                ));
            }
            m.push(2, 10_000, BlockKind::Key, b"second").unwrap();
            (m.finish().unwrap().0, peak)
        };
        let (held, held_peak) = mux(0);
        let (advanced, advanced_peak) = mux(1);
        let (all, all_peak) = mux(2);
        assert!(held == advanced && held == all, "a promise changes no byte");
        assert_eq!(
            held_peak, 499,
            "without a promise, track 2 may still send pts 0"
        );
        assert_eq!(advanced_peak, 1);
        // Each block goes out once the promise to every track passes it.
        assert_eq!(all_peak, 0);
        assert_eq!(order(&advanced).len(), 502);
    }

    /// `advance` of one track past the largest pts a block can have was refused, and
    /// `advance_all` of every track took it (a review): both take it now, as a promise of no
    /// more blocks, and release what waits on it.
    #[test]
    fn advancing_past_the_largest_pts_promises_no_more_blocks() {
        for all in [false, true] {
            let mut m = muxer(&[1, 2]);
            m.push(2, 0, BlockKind::Key, b"a").unwrap();
            assert_eq!(m.held_blocks(), 1, "track 1 may still send pts 0");
            if all {
                m.advance_all(u32::MAX).unwrap();
            } else {
                m.advance(1, u32::MAX).unwrap();
            }
            assert_eq!(m.held_blocks(), 0, "all: {all}");
            assert!(matches!(
                m.push(1, MAX_TIMESTAMP_MS, BlockKind::Key, b"b"),
                Err(Error::PtsBeforeAdvance { track: 1, .. })
            ));
            assert!(matches!(
                m.push(2, MAX_TIMESTAMP_MS + 1, BlockKind::Key, b"c"),
                Err(Error::PtsTooLarge { track: 2, .. })
            ));
        }
    }

    #[test]
    fn tracks_advanced_to_their_next_pts_hold_nothing() {
        // Two tracks in step, 20 ms apart, handed over in the file's order: without a promise
        // each block waits for the other track's next one.
        let mux = |advance: bool| {
            let mut m = muxer(&[1, 2]);
            let mut peak = 0;
            for i in 0..200u32 {
                let (track, ts_ms) = ((i % 2) as u16 + 1, i / 2 * 20);
                let kind = if i / 2 % 25 == 0 {
                    BlockKind::Key
                } else {
                    BlockKind::Predictive
                };
                m.push(track, ts_ms, kind, &i.to_le_bytes()).unwrap();
                if advance {
                    m.advance(track, ts_ms + 20).unwrap();
                }
                peak = peak.max(m.held_blocks());
            }
            let (file, summary) = m.finish().unwrap();
            assert_eq!(summary.peak_held_blocks, peak);
            (file, peak, summary.peak_held_bytes)
        };
        let (held, held_peak, held_bytes) = mux(false);
        let (advanced, advanced_peak, advanced_bytes) = mux(true);
        assert!(held == advanced, "advancing changes no byte");
        assert_eq!((held_peak, held_bytes), (1, 4));
        assert_eq!((advanced_peak, advanced_bytes), (0, 0), "no block waited");
        assert_eq!(order(&advanced).len(), 200);
    }

    #[test]
    fn advance_is_a_promise_the_muxer_holds_the_track_to() {
        let mut m = muxer(&[1, 2]);
        m.advance(1, 100).unwrap();
        // A lower promise, or one at the last pts, changes nothing.
        m.advance(1, 40).unwrap();
        check_refused(
            &mut m,
            (1, 99, BlockKind::Key),
            "track 1: pts 99 ms is before the 100 ms the track was advanced to",
        );
        m.push(1, 100, BlockKind::Key, b"k").unwrap();
        m.advance(1, 100).unwrap();
        let err = m.advance(3, 0).unwrap_err();
        assert_eq!(err.to_string(), "track 3 is not in the track list");
        assert!(!err.is_damage());
        m.end_track(1).unwrap();
        assert!(matches!(
            m.advance(1, 200),
            Err(Error::TrackEnded { track: 1 })
        ));
        m.push(2, 5, BlockKind::Key, b"k").unwrap();
        let (bytes, _) = m.finish().unwrap();
        assert_eq!(order(&bytes), [(2, 5), (1, 100)]);
    }

    #[test]
    fn enforces_gop_rules() {
        let mut m = muxer(&[1, 2]);
        check_refused(
            &mut m,
            (3, 0, BlockKind::Key),
            "track 3 is not in the track list",
        );
        let before = m.position();
        let owned = m.push_owned(1, 0, BlockKind::Predictive, vec![1, 2]);
        assert!(matches!(owned, Err(Error::FirstBlockNotKey { .. })));
        assert_eq!((m.position(), m.held_blocks()), (before, 0));
        check_refused(
            &mut m,
            (1, 0, BlockKind::Predictive),
            "track 1: the first block (pts 0 ms) is a P-block, a track must start with an I-block",
        );
        check_refused(
            &mut m,
            (1, 1 << 28, BlockKind::Key),
            "track 1: pts 268435456 ms exceeds the 28-bit limit of 268435455 ms",
        );
        m.push(1, 50, BlockKind::Key, b"i").unwrap();
        check_refused(
            &mut m,
            (1, 49, BlockKind::Predictive),
            "track 1: pts 49 ms goes back from the previous block's 50 ms",
        );
        check_refused(
            &mut m,
            (1, 49, BlockKind::Bidirectional),
            "track 1: pts 49 ms goes back from the previous block's 50 ms (blocks are handed \
             over in presentation order: a B-block before the anchor it follows in decode order)",
        );
        m.push(1, 60, BlockKind::Bidirectional, b"b").unwrap();
        assert_eq!(
            m.end_track(1).unwrap_err().to_string(),
            "track 1 ends on a B-block (pts 60 ms), which has no forward anchor"
        );
        m.push(1, 70, BlockKind::Predictive, b"p").unwrap();
        m.end_track(1).unwrap();
        check_refused(
            &mut m,
            (1, 80, BlockKind::Predictive),
            "track 1 has ended: no block can follow",
        );
        assert_eq!(
            m.end_track(1).unwrap_err().to_string(),
            "track 1 has ended: no block can follow"
        );
        m.push(2, 0, BlockKind::Key, b"k").unwrap();
        m.push(2, 5, BlockKind::Bidirectional, b"b").unwrap();
        // One byte more than a CORE payload can carry; calloc'd, so no page is touched.
        let huge = vec![0u8; MAX_OPAQUE_LEN as usize + 1];
        let before = (m.position(), m.held_blocks());
        let err = m.push(2, 9, BlockKind::Predictive, &huge).unwrap_err();
        assert_eq!(
            err.to_string(),
            "track 2: the block at pts 9 ms has 4294967288 bytes, more than the 4294967287 a CORE chunk can carry"
        );
        assert!(!err.is_damage());
        assert_eq!((m.position(), m.held_blocks()), before);
        drop(huge);
        assert_eq!(
            m.finish().unwrap_err().to_string(),
            "track 2 ends on a B-block (pts 5 ms), which has no forward anchor"
        );
        let dup = Muxer::new(
            Vec::new(),
            vec![spec(4), spec(4)],
            &Sidecars::default(),
            MuxOptions::default(),
        );
        assert_eq!(
            dup.unwrap_err().to_string(),
            "track id 4 appears more than once in the track list"
        );
    }
}
