//! Remuxing: tracks of one or more files written into a new one, whole or cut to a time span,
//! their blocks' bytes untouched.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::Write;
use std::ops::RangeInclusive;

use crate::demux::{Blocks, DecodeStep, Demuxer, Others, UnknownChunks, plan_chain, plan_range};
use crate::error::{Error, Result};
use crate::index::TrackIndex;
use crate::mux::{MuxOptions, MuxSummary, Muxer};
use crate::router::BlockRef;
use crate::sidecar::Sidecars;
use crate::track::TrackSpec;

/// One track of a [`remux()`]: where it comes from and its id in the new file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pick {
    /// The input it comes from, an index into the `inputs` of [`remux()`].
    pub input: usize,
    /// Its id in that input.
    pub track: u16,
    /// Its id in the new file.
    pub as_track: u16,
}

/// How [`remux()`] cuts and writes. The default keeps every block at its pts and writes what
/// the reference would.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RemuxOptions {
    /// `(t0_ms, t1_ms)`: keep of each track what presenting `t0_ms..=t1_ms` needs (in the
    /// inputs' time); `None` keeps every block.
    pub span: Option<(u32, u32)>,
    /// Move every block earlier by the lowest pts kept, so the new file starts at 0 ms, as a
    /// cut by mkvmerge or ffmpeg does; the tracks keep their offsets to one another.
    pub start_at_zero: bool,
    /// How the new file is written; [`MuxOptions::allow_gop_breaks`] is always on, since a
    /// remux copies what its inputs hold.
    pub mux: MuxOptions,
}

/// What [`remux()`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemuxSummary {
    /// The new file.
    pub written: MuxSummary,
    /// How much earlier every block is in the new file than in its input, in milliseconds:
    /// the lowest pts kept with [`RemuxOptions::start_at_zero`], else 0.
    pub shifted_ms: u32,
    /// Without a span, per input, in input order, the chunks of tags this crate does not know,
    /// which the new file leaves out; inputs with none are not listed. A cut keeps no such
    /// chunk either, and reads only part of the file: this is empty for one.
    pub unknown_chunks: Vec<(usize, UnknownChunks)>,
}

/// Writes the tracks `picks` names into `sink` as a new file, in the order of `picks`, with
/// `sidecars`; every block keeps its bytes, type and pts (less [`RemuxSummary::shifted_ms`]
/// when asked to start at zero).
///
/// With a [`RemuxOptions::span`] of `(t0_ms, t1_ms)`, each track keeps the blocks its
/// [`Demuxer::range`] plan for the span needs, from the block just before the span and the
/// one before that (and what they need) when the track has them, and every block of the
/// track between them in file order: from a keyframe to the plan's last block. So the new track decodes the span
/// as the old one does, even by a decoder that renders each block over the tail of the one
/// before (audio). A span inside one block keeps that block, the one [`Demuxer::chain`] shows
/// at its start (and what it needs), when the track goes on after the span. A track that
/// ends before the span, has no block by its end, or has no keyframe in its seek table, is
/// kept with none.
/// Without a span, every block is kept.
///
/// Blocks are copied as the inputs hold them, GOP rules or not: the reference writes tracks
/// that start with a P-block or end on a B-block, and such a file remuxed whole is itself
/// again ([`MuxOptions::allow_gop_breaks`]).
///
/// Each input's blocks are handed over from one pass in file order. Without a span every
/// input is read whole, picked or not, every chunk CRC and the file CRC checked (after a walk
/// over chunk headers from its tracks' last keyframes, which finds where each track ends);
/// with one, the span is walked once to plan, as [`Demuxer::range`] walks it (to the first
/// block after the span, of any track when the picked track's seek table shows a keyframe
/// after it, else of the track itself, every chunk on the way checked, damaged ones failing
/// the cut in either mode: to the end of the file for a picked track with keyframes but no
/// block after the span), then read from the first
/// kept block to the last, their chunk CRCs checked (the file CRC covers the rest, which
/// [`Demuxer::verify`] reads). A cut's plans hold the blocks of the span, within the `Limits`
/// of the input; but a span that reaches the last block of every picked track (one open to
/// the end) is planned only as far as each track's start needs, after a walk over chunk
/// headers from the tracks' last keyframes finds where each ends, and then read to the end
/// of the file, every chunk CRC checked: it holds about a group of blocks per track.
///
/// The blocks of all inputs are handed over by pts (ties in input order, then file order) and
/// by reference, each track ends with its last block, and every track is advanced to the
/// lowest pts still to come ([`Muxer::advance_all`]), so the muxer holds at most about one
/// pointer per track, sparse tracks and tracks that start late included, while the file is
/// written as it is read. That needs each input in pts order, as the reference writes it
/// ([`Demuxer::verify`] reports a file that is not). Picking every track of one file, in its
/// order and under its ids, with its sidecars, writes that file again byte for byte when its
/// writer followed the reference.
///
/// ```
/// use h4mk_mt::{Demuxer, Pick, RemuxOptions, remux};
///
/// let demo = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/reference/demo.h4mk"))?;
/// let inputs = [Demuxer::open(&demo)?];
/// // Track 1 alone, as track 7, cut to what presenting 60 to 70 ms needs: the B-block at
/// // 66 ms, its anchors, and the block before it.
/// let picks = [Pick { input: 0, track: 1, as_track: 7 }];
/// let sidecars = inputs[0].sidecars();
/// let opts = RemuxOptions { span: Some((60, 70)), ..RemuxOptions::default() };
/// let (bytes, summary) = remux(Vec::new(), &inputs, &picks, &sidecars, opts)?;
/// let cut = Demuxer::open(&bytes)?;
/// assert_eq!(cut.tracks()[0].track_id, 7);
/// let kept = cut
///     .blocks()
///     .map(|b| b.map(|b| format!("{}{}", b.kind.letter(), b.ts_ms)))
///     .collect::<Result<Vec<_>, _>>()?;
/// assert_eq!(kept, ["I0", "P33", "B66", "P99"]);
/// assert_eq!(summary.written.blocks, 4);
///
/// // Track 1 of another file (a block every 20 ms, a keyframe every 500 ms) cut to 10 to
/// // 10.1 s and moved to start at zero: the blocks at 9,960 and 9,980 ms come first when
/// // decoding (audio overlaps them), so the cut starts at the keyframe they need, 9,500 ms,
/// // now 0 ms.
/// let three = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/reference/three_tracks_2000.h4mk"))?;
/// let inputs = [Demuxer::open(&three)?];
/// let picks = [Pick { input: 0, track: 1, as_track: 1 }];
/// let opts = RemuxOptions { span: Some((10_000, 10_100)), start_at_zero: true, ..opts };
/// let (bytes, summary) = remux(Vec::new(), &inputs, &picks, &sidecars, opts)?;
/// assert_eq!(summary.shifted_ms, 9_500);
/// let cut = Demuxer::open(&bytes)?;
/// let pts = cut.blocks().map(|b| b.map(|b| b.ts_ms)).collect::<Result<Vec<_>, _>>()?;
/// assert_eq!(pts, (0..=600).step_by(20).collect::<Vec<u32>>());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::UnknownInput`] for a pick of an input that is not there, and as
/// [`Muxer::new`] refuses the track list (a repeated `as_track`, say); otherwise
/// [`Error::InInput`], naming the input, around what went wrong with it: a track it lacks
/// ([`Error::UnknownTrack`]), a plan that cannot be made, a damaged block, a block out of pts
/// order ([`Error::OutOfOrder`]), or a block the muxer refuses (a file whose track does not
/// start with a keyframe, say, named by its id in the input). The sink then holds part of a
/// file.
pub fn remux<'a, W: Write>(
    sink: W,
    inputs: &[Demuxer<'a>],
    picks: &[Pick],
    sidecars: &Sidecars<'_>,
    opts: RemuxOptions,
) -> Result<(W, RemuxSummary)> {
    let span = opts.span;
    if let Some((t0_ms, t1_ms)) = span
        && t0_ms > t1_ms
    {
        return Err(h4mk_gop::Error::InvalidRange { t0_ms, t1_ms }.into());
    }
    let mut specs: Vec<TrackSpec> = Vec::with_capacity(picks.len());
    // Values the reference writer was handed as another type (`22050.0`, `null`): written as
    // the input holds them, not as this crate reads them.
    let mut kept: Vec<Vec<(&'static str, &str)>> = Vec::with_capacity(picks.len());
    for pick in picks {
        let demux = input(inputs, pick.input)?;
        let spec = demux
            .track(pick.track)
            .ok_or(Error::UnknownTrack { track: pick.track })
            .map_err(in_input(pick.input))?;
        specs.push(TrackSpec {
            track_id: pick.as_track,
            ..spec.clone()
        });
        kept.push(demux.off_type_values(pick.track).collect());
    }
    let mut feeds: Vec<Feed<'a>> = Vec::new();
    let mut empty: Vec<(usize, u16)> = Vec::new();
    for (i, demux) in inputs.iter().enumerate() {
        let (feed, nothing) = Feed::new(i, demux, picks, span).map_err(in_input(i))?;
        feeds.extend(feed);
        empty.extend(nothing.into_iter().map(|as_track| (i, as_track)));
    }
    // Blocks are copied as the inputs hold them: a track the reference wrote against the GOP
    // rules (starting with a P-block, ending on a B-block) is copied as it is.
    let mux_opts = MuxOptions {
        allow_gop_breaks: true,
        ..opts.mux
    };
    let mut mux = Muxer::with_track_list(sink, specs, &kept, sidecars, mux_opts)?;
    // A track with nothing to hand over ends at once, and every track ends with its last
    // block: no block waits for a track that will send no more.
    for (input, as_track) in empty {
        mux.end_track(as_track).map_err(refused(input, None))?;
    }
    for feed in &mut feeds {
        feed.load().map_err(in_input(feed.input))?;
    }
    // The feeds by the pts of their next block, the first feed first on a tie: a heap, since
    // finding the lowest by a scan of every feed made merging K inputs cost K per block
    // (1.4 s for 1,000 inputs of 1,000 blocks).
    let mut next: BinaryHeap<Reverse<(u32, usize)>> = feeds
        .iter()
        .enumerate()
        .filter_map(|(k, f)| Some(Reverse((f.head?.ts_ms, k))))
        .collect();
    let lowest_next = |next: &BinaryHeap<Reverse<(u32, usize)>>| next.peek().map(|r| r.0.0);
    // Each input is in pts order, so its first block kept has its lowest pts kept.
    let shifted_ms = if opts.start_at_zero {
        lowest_next(&next).unwrap_or(0)
    } else {
        0
    };
    while let Some(Reverse((_, k))) = next.pop() {
        let Some(feed) = feeds.get_mut(k) else {
            continue;
        };
        let input = feed.input;
        if let Some((block, kept)) = feed
            .head
            .take()
            .and_then(|b| Some((b, feed.tracks.get(&b.track)?)))
        {
            let refused = refused(input, Some(block.track));
            let refused = &refused;
            for &as_track in &kept.as_tracks {
                // No block kept is before the lowest first one, so nothing saturates.
                let ts_ms = block.ts_ms.saturating_sub(shifted_ms);
                mux.push_borrowed(as_track, ts_ms, block.kind, block.opaque)
                    .map_err(refused)?;
                if *kept.offsets.end() == block.offset {
                    mux.end_track(as_track).map_err(refused)?;
                }
            }
        }
        feed.load().map_err(in_input(input))?;
        if let Some(head) = feed.head {
            next.push(Reverse((head.ts_ms, k)));
        }
        // Every input is read in pts order: no block still to come is before the lowest of
        // the blocks next in line, so nothing before it waits for a track that is silent
        // (sparse, or starting late).
        if let Some(floor) = lowest_next(&next) {
            mux.advance_all(floor.saturating_sub(shifted_ms))?;
        }
    }
    let (sink, written) = mux.finish()?;
    // Only a whole remux reads every chunk: what a cut reads is a part of its span's file.
    let unknown_chunks = feeds
        .iter()
        .filter(|_| span.is_none())
        .map(|f| (f.input, f.blocks.unknown_chunks()))
        .filter(|(_, unknown)| unknown.count > 0)
        .collect();
    Ok((
        sink,
        RemuxSummary {
            written,
            shifted_ms,
            unknown_chunks,
        },
    ))
}

fn input<'d, 'a>(inputs: &'d [Demuxer<'a>], input: usize) -> Result<&'d Demuxer<'a>> {
    inputs.get(input).ok_or(Error::UnknownInput {
        input,
        inputs: inputs.len(),
    })
}

/// Wraps an error as being about `input`.
fn in_input(input: usize) -> impl Fn(Error) -> Error {
    move |e| Error::InInput {
        input,
        source: Box::new(e),
    }
}

/// Wraps a muxer's error as being about `input`, naming the block's track by its id there
/// (`track`), unless the output failed (a write, the disk full): that is about the output,
/// which a reviewer's full disk showed named as the input.
fn refused(input: usize, track: Option<u16>) -> impl Fn(Error) -> Error {
    move |e| match e {
        Error::Format(h4mk_format::Error::Io(_)) => e,
        e => in_input(input)(match track {
            Some(track) => by_input_id(e, track),
            None => e,
        }),
    }
}

/// A muxer's refusal of a block of input track `track`, naming the track by that id rather
/// than by its id in the new file: the error is about the input.
fn by_input_id(e: Error, track: u16) -> Error {
    match e {
        Error::FirstBlockNotKey { ts_ms, kind, .. } => {
            Error::FirstBlockNotKey { track, ts_ms, kind }
        }
        Error::PtsBackwards {
            ts_ms,
            prev_ts_ms,
            kind,
            ..
        } => Error::PtsBackwards {
            track,
            ts_ms,
            prev_ts_ms,
            kind,
        },
        Error::PtsTooLarge { ts_ms, max, .. } => Error::PtsTooLarge { track, ts_ms, max },
        Error::BlockTooLarge {
            ts_ms, len, max, ..
        } => Error::BlockTooLarge {
            track,
            ts_ms,
            len,
            max,
        },
        Error::EndsOnB { ts_ms, .. } => Error::EndsOnB { track, ts_ms },
        e => e,
    }
}

/// The blocks one input gives a remux, read in file order.
struct Feed<'a> {
    input: usize,
    blocks: Blocks<'a>,
    /// The tracks picked from this input that keep a block, by their id in it.
    tracks: BTreeMap<u16, Kept>,
    /// The offset of the last block any track keeps.
    last: u64,
    /// The next block some track keeps, once loaded.
    head: Option<BlockRef<'a>>,
    /// The pts of the block kept before it.
    prev_ms: u32,
}

/// A track picked from a feed's input, once or more.
struct Kept {
    /// The payload offsets of the blocks it keeps; the track ends with the block at the last
    /// (`u64::MAX` when that block is not known).
    offsets: RangeInclusive<u64>,
    /// Its ids in the new file.
    as_tracks: Vec<u16>,
}

impl<'a> Feed<'a> {
    /// The feed of input `i`, if it has a block to read, and the new ids of the tracks picked
    /// from it that keep none. Without a span every input is read whole, picked or not, so
    /// that every chunk CRC and the file CRC are checked.
    fn new(
        i: usize,
        demux: &Demuxer<'a>,
        picks: &[Pick],
        span: Option<(u32, u32)>,
    ) -> Result<(Option<Self>, Vec<u16>)> {
        let mine: Vec<&Pick> = picks.iter().filter(|p| p.input == i).collect();
        let mut ids: Vec<u16> = mine.iter().map(|p| p.track).collect();
        ids.sort_unstable();
        ids.dedup();
        // Per distinct track, the offsets it keeps: to its last block, or, when the walk
        // that finds it fails (at damage the checked read reports), to no end.
        let (runs, to_the_end) = match span {
            None if ids.is_empty() => (Vec::new(), true),
            None => match demux.last_blocks(&ids) {
                Some(lasts) => (
                    lasts
                        .into_iter()
                        .map(|last| Some(0..=last?.offset))
                        .collect(),
                    true,
                ),
                None => (ids.iter().map(|_| Some(0..=u64::MAX)).collect(), true),
            },
            Some((t0_ms, t1_ms)) => cut_runs(demux, &ids, t0_ms, t1_ms)?,
        };
        let mut tracks: BTreeMap<u16, Kept> = BTreeMap::new();
        for (&track, run) in ids.iter().zip(runs) {
            if let Some(offsets) = run {
                tracks.insert(
                    track,
                    Kept {
                        offsets,
                        as_tracks: Vec::new(),
                    },
                );
            }
        }
        let mut nothing = Vec::new();
        for pick in mine {
            match tracks.get_mut(&pick.track) {
                Some(kept) => kept.as_tracks.push(pick.as_track),
                None => nothing.push(pick.as_track),
            }
        }
        let blocks = match span {
            None => Some((demux.blocks(), u64::MAX)),
            Some(_) => {
                let first = tracks.values().map(|k| *k.offsets.start()).min();
                let last = if to_the_end {
                    Some(u64::MAX)
                } else {
                    tracks.values().map(|k| *k.offsets.end()).max()
                };
                match (first, last) {
                    (Some(first), Some(last)) => Some((demux.blocks_from(first)?, last)),
                    _ => None,
                }
            }
        };
        let feed = blocks.map(|(blocks, last)| Feed {
            input: i,
            blocks,
            tracks,
            last,
            head: None,
            prev_ms: 0,
        });
        Ok((feed, nothing))
    }

    /// Reads on to the next block some track keeps, if any is left; refuses one whose pts is
    /// before the block kept before it.
    fn load(&mut self) -> Result<()> {
        self.head = None;
        for block in self.blocks.by_ref() {
            let block = block?;
            if block.offset > self.last {
                break;
            }
            let kept = self.tracks.get(&block.track);
            if kept.is_some_and(|k| k.offsets.contains(&block.offset)) {
                if block.ts_ms < self.prev_ms {
                    return Err(Error::OutOfOrder {
                        offset: block.chunk_offset(),
                        ts_ms: block.ts_ms,
                        prev_ts_ms: self.prev_ms,
                    });
                }
                self.prev_ms = block.ts_ms;
                self.head = Some(block);
                break;
            }
        }
        Ok(())
    }
}

/// For each of the distinct, sorted `tracks`, the payload offsets of the blocks a cut to
/// `t0_ms..=t1_ms` keeps (`None` for none): every block of the track between the first and
/// the last of [`Demuxer::range`]'s plan for the span, made from the block before the block
/// just before the first one presented when the track has one that plans (the block shown at
/// `t0_ms` when none is presented and the track goes on past the span, and the one before
/// it). A decoder whose outputs overlap (an audio block's first samples add to the tail of
/// the block before it, docs/ADAPTERS.md §3.6) renders both to cut the span from its first
/// sample (`h4mk decode --from-ms`), so the cut decodes the span exactly as the whole track
/// does.
///
/// The plans are made over windows gathered in one walk for all the tracks
/// ([`Demuxer::windows`]), and a second one for the tracks whose lead block's own plan may
/// start at an earlier keyframe than the first window (as [`Demuxer::range`] from the lead's
/// pts would: it does whenever the lead is the keyframe that window starts at): the time grows
/// with the span, not with the span times the tracks. A span that reaches the end of every
/// track is planned only as far as its start needs ([`runs_to_the_end`]).
///
/// Also whether it was planned so: the input is then read to its end, its chunk CRCs checked,
/// as planning the whole span would have read it.
///
/// The window blocks each plan depends on have their CRCs checked ([`Demuxer::check_window`],
/// as [`Demuxer::range`] does), so damage cannot change what is kept without a word.
fn cut_runs(
    demux: &Demuxer<'_>,
    tracks: &[u16],
    t0_ms: u32,
    t1_ms: u32,
) -> Result<(Vec<Option<RangeInclusive<u64>>>, bool)> {
    // A track whose seek table lists no keyframe (an empty track) has no block a plan could
    // start from: it keeps none, and no walk looks for its blocks, which would cross the rest
    // of the file.
    let keyed: Vec<u16> = tracks
        .iter()
        .copied()
        .filter(|&track| {
            demux
                .index()
                .track(track)
                .is_some_and(|table| !table.entries.is_empty())
        })
        .collect();
    let (runs, to_the_end) = match runs_to_the_end(demux, &keyed, t0_ms, t1_ms)? {
        Some(runs) => (runs, true),
        None => (keyed_runs(demux, &keyed, t0_ms, |_| t1_ms)?, false),
    };
    let runs = tracks
        .iter()
        .map(|track| {
            let i = keyed.binary_search(track).ok()?;
            runs.get(i).cloned().flatten()
        })
        .collect();
    Ok((runs, to_the_end))
}

/// [`keyed_runs`] of a span that reaches the last block of each of the sorted `tracks`,
/// without holding the span's blocks: a track's run starts where [`keyed_runs`] starts it,
/// planned only as far as the track's first block from `t0_ms` on (at or before its first
/// keyframe from then, or its last block), and ends with its last block. A span open to the
/// end holds about a group of blocks per track rather than every block after its start (227
/// KB against 29.6 MB planned whole, in `tests/memory.rs`).
///
/// `None`, for planning the whole span, when there is no track, when some track has a
/// keyframe or a last block after `t1_ms`, when the walk that finds the last blocks fails (at
/// damage, which planning the whole span reports), or when a track is seen out of pts order
/// (a keyframe after its last block, or a last block from `t0_ms` on and none presented by
/// its reach), which planning the whole span meets.
fn runs_to_the_end(
    demux: &Demuxer<'_>,
    tracks: &[u16],
    t0_ms: u32,
    t1_ms: u32,
) -> Result<Option<Vec<Option<RangeInclusive<u64>>>>> {
    // Whether `track` has a keyframe after `t_ms`, by its seek table.
    let key_after = |track: u16, t_ms: u32| {
        let entries = demux.index().track(track).map(|t| t.entries.as_slice());
        entries.unwrap_or_default().iter().any(|e| e.ts_ms > t_ms)
    };
    // A keyframe after the span says a track goes on past it, with no walk: a short cut
    // does not look for the ends of the tracks.
    if tracks.is_empty() || tracks.iter().any(|&track| key_after(track, t1_ms)) {
        return Ok(None);
    }
    let Some(lasts) = demux.last_blocks(tracks) else {
        return Ok(None);
    };
    // Per track, its last block, and a pts by which it has shown its first block from `t0_ms`
    // on, if it has one.
    let mut ends = Vec::with_capacity(tracks.len());
    let mut reach = Vec::with_capacity(tracks.len());
    for (&track, last) in tracks.iter().zip(lasts) {
        let Some(last) = last.filter(|b| b.ts_ms <= t1_ms) else {
            return Ok(None);
        };
        // In pts order no keyframe comes after the last block; one that does says the track
        // is out of order, which planning the whole span meets.
        if key_after(track, last.ts_ms) {
            return Ok(None);
        }
        let next_key = demux.keyframe(track, |table| table.first_from(t0_ms))?;
        let first_by = next_key.map_or(last.ts_ms, |k| k.ts_ms.min(last.ts_ms));
        reach.push(first_by.max(t0_ms));
        ends.push(last);
    }
    let reach_of = |track: u16| {
        let i = tracks.binary_search(&track).unwrap_or_default();
        reach.get(i).copied().unwrap_or(t0_ms)
    };
    let starts = keyed_runs(demux, tracks, t0_ms, reach_of)?;
    // A track in pts order whose last block is from `t0_ms` on presents a block by its reach.
    // One that does not is out of order (or damaged) before its end: planning the whole span
    // meets that where a plan of the start alone may not.
    if starts
        .iter()
        .zip(&ends)
        .any(|(run, last)| run.is_none() && last.ts_ms >= t0_ms)
    {
        return Ok(None);
    }
    Ok(Some(
        starts
            .into_iter()
            .zip(ends)
            .map(|(run, last)| Some(*run?.start()..=last.offset))
            .collect(),
    ))
}

/// [`cut_runs`] of the distinct, sorted `tracks`, each with a keyframe in its seek table, for
/// a span from `t0_ms` to `t1_ms(track)` (at least `t0_ms`).
fn keyed_runs(
    demux: &Demuxer<'_>,
    tracks: &[u16],
    t0_ms: u32,
    t1_ms: impl Fn(u16) -> u32,
) -> Result<Vec<Option<RangeInclusive<u64>>>> {
    let from = |t_ms: u32| move |table: &TrackIndex| table.lookup_before(t_ms);
    let windows = demux.windows(tracks, |_| from(t0_ms), &t1_ms, Others::Checked)?;
    let mut plans = Vec::with_capacity(tracks.len());
    // Tracks whose lead needs a window from an earlier keyframe, with the lead's pts.
    let mut earlier: Vec<(usize, u16, u32)> = Vec::new();
    for (i, (&track, w)) in tracks.iter().zip(&windows).enumerate() {
        let (window, t1_ms) = (&w.blocks, t1_ms(track));
        let plan = plan_range(window, t0_ms, t1_ms)?;
        let first_ms = plan
            .iter()
            .map(|s| s.block.ts_ms)
            .filter(|t| (t0_ms..=t1_ms).contains(t))
            .min();
        // The lead is the block shown just before the first one presented, or, when no block
        // starts in the span but the track goes on after it, the one shown at its start,
        // which covers all of it. A track that ended before the span keeps nothing.
        let reaching_ms = first_ms
            .map_or(w.goes_on.then_some(t0_ms), |ms| ms.checked_sub(1))
            .and_then(|before| plan_chain(window, before).ok())
            .and_then(|chain| chain.last().map(|s| s.block.ts_ms));
        // A decode of the span renders the block before that one too: its tail completes the
        // first samples of the block that reaches the span (an audio cut, docs/ADAPTERS.md
        // §3.6). It is in the window unless it is before the window's keyframe, and then
        // walked to; damage there leaves the run to start at the block that reaches the span.
        let shown = |chain: Vec<DecodeStep<'_>>| chain.last().map(|s| s.block.ts_ms);
        let lead_ms = reaching_ms.map(|ms| {
            ms.checked_sub(1)
                .and_then(|before| {
                    plan_chain(window, before)
                        .ok()
                        .and_then(shown)
                        .or_else(|| demux.chain(track, before).ok().and_then(shown))
                })
                .unwrap_or(ms)
        });
        let mut later = false;
        let lead = lead_ms.and_then(|lead_ms| {
            let table = demux.index().track(track)?;
            if table.lookup_before(lead_ms) == table.lookup_before(t0_ms) {
                // Empty only of damage or disorder: the first plan stands, as below.
                plan_range(window, lead_ms, t1_ms)
                    .ok()
                    .filter(|plan| !plan.is_empty())
            } else {
                earlier.push((i, track, lead_ms));
                later = true;
                None
            }
        });
        let plan = lead.unwrap_or(plan);
        if !later {
            demux.check_window(window, &plan)?;
        }
        plans.push(plan);
    }
    if !earlier.is_empty() {
        let ids: Vec<u16> = earlier.iter().map(|&(_, track, _)| track).collect();
        // `earlier` is in the order of `tracks`, which are sorted.
        let lead_of = |track: u16| {
            earlier
                .binary_search_by_key(&track, |&(_, t, _)| t)
                .ok()
                .and_then(|i| earlier.get(i))
                .map_or(t0_ms, |&(_, _, lead_ms)| lead_ms)
        };
        let leads = demux.windows(&ids, |track| from(lead_of(track)), &t1_ms, Others::Checked)?;
        for (&(i, track, lead_ms), lead) in earlier.iter().zip(&leads) {
            let (Some(slot), Some(first)) = (plans.get_mut(i), windows.get(i)) else {
                continue;
            };
            // With sound blocks the lead's plan presents the lead at least; an empty one
            // comes of damage or disorder before the run, and the first plan stands.
            match plan_range(&lead.blocks, lead_ms, t1_ms(track)) {
                Ok(plan) if !plan.is_empty() => {
                    demux.check_window(&lead.blocks, &plan)?;
                    *slot = plan;
                }
                _ => demux.check_window(&first.blocks, slot)?,
            }
        }
    }
    Ok(plans
        .iter()
        .map(|plan| {
            let offsets = plan.iter().map(|s| s.block.offset);
            Some(offsets.clone().min()?..=offsets.max()?)
        })
        .collect())
}
