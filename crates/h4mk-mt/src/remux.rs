//! Remuxing: tracks of one or more files written into a new one, whole or cut to a time span,
//! their blocks' bytes untouched.

use std::io::Write;
use std::ops::RangeInclusive;

use crate::demux::{Blocks, DecodeStep, Demuxer};
use crate::error::{Error, Result};
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

/// Writes the tracks `picks` names into `sink` as a new file, in the order of `picks`, with
/// `sidecars`; every block keeps its bytes, pts and type.
///
/// With a `span` of `(t0_ms, t1_ms)`, each track keeps the blocks its [`Demuxer::range`] plan
/// for the span needs, from the block just before the span (and what that block needs) when
/// the track has one, and every block of the track between them in file order: from a
/// keyframe to the plan's last block. So the new track decodes the span as the old one does,
/// even by a decoder that renders each block over the tail of the one before (audio). A
/// track with no block in the span is kept with none. Without a span, every block is kept.
///
/// Each input is read once, in file order, from its first kept block to its last, every chunk
/// CRC checked (and the file CRC, when every block of it is kept). The blocks of all inputs are
/// handed over by pts (ties in input order, then file order) and by reference, so the muxer
/// holds pointers at most, and the file is written as it is read. Picking every track of one
/// file, in its order and under its ids, with its sidecars, writes that file again byte for
/// byte when its writer followed the reference.
///
/// ```
/// use h4mk_mt::{Demuxer, MuxOptions, Pick, remux};
///
/// let demo = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/reference/demo.h4mk"))?;
/// let inputs = [Demuxer::open(&demo)?];
/// // Track 1 alone, as track 7, cut to what presenting 60 to 70 ms needs: the B-block at
/// // 66 ms, its anchors, and the block before it.
/// let picks = [Pick { input: 0, track: 1, as_track: 7 }];
/// let sidecars = inputs[0].sidecars();
/// let (bytes, summary) =
///     remux(Vec::new(), &inputs, &picks, Some((60, 70)), &sidecars, MuxOptions::default())?;
/// let cut = Demuxer::open(&bytes)?;
/// assert_eq!(cut.tracks()[0].track_id, 7);
/// let kept = cut
///     .blocks()
///     .map(|b| b.map(|b| format!("{}{}", b.kind.letter(), b.ts_ms)))
///     .collect::<Result<Vec<_>, _>>()?;
/// assert_eq!(kept, ["I0", "P33", "B66", "P99"]);
/// assert_eq!(summary.blocks, 4);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::UnknownInput`] for a pick of an input that is not there, and as
/// [`Muxer::new`] refuses the track list (a repeated `as_track`, say); otherwise
/// [`Error::InInput`], naming the input, around what went wrong with it: a track it lacks
/// ([`Error::UnknownTrack`]), a plan that cannot be made, a damaged block, or a block the muxer
/// refuses (a file whose track does not start with a keyframe, say). The sink then holds part
/// of a file.
pub fn remux<'a, W: Write>(
    sink: W,
    inputs: &[Demuxer<'a>],
    picks: &[Pick],
    span: Option<(u32, u32)>,
    sidecars: &Sidecars<'_>,
    opts: MuxOptions,
) -> Result<(W, MuxSummary)> {
    let mut specs: Vec<TrackSpec> = Vec::with_capacity(picks.len());
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
    }
    let mut feeds: Vec<Feed<'a>> = Vec::new();
    for (i, demux) in inputs.iter().enumerate() {
        if let Some(feed) = Feed::new(i, demux, picks, span).map_err(in_input(i))? {
            feeds.push(feed);
        }
    }
    let mut mux = Muxer::new(sink, specs, sidecars, opts)?;
    for feed in &mut feeds {
        feed.load().map_err(in_input(feed.input))?;
    }
    // The feed whose next block has the lowest pts, the first such feed on a tie.
    while let Some(feed) = feeds
        .iter_mut()
        .filter(|f| f.head.is_some())
        .min_by_key(|f| f.head.map(|b| b.ts_ms))
    {
        let input = feed.input;
        if let Some(block) = feed.head.take() {
            for as_track in takers(&feed.picks, &block) {
                mux.push_borrowed(as_track, block.ts_ms, block.kind, block.opaque)
                    .map_err(in_input(input))?;
            }
        }
        feed.load().map_err(in_input(input))?;
    }
    mux.finish()
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

/// The blocks one input gives a remux, read in file order.
struct Feed<'a> {
    input: usize,
    blocks: Blocks<'a>,
    /// The tracks picked from this input.
    picks: Vec<Kept>,
    /// The offset of the last block any pick keeps.
    last: u64,
    /// The next block some pick keeps, once loaded.
    head: Option<BlockRef<'a>>,
}

impl<'a> Feed<'a> {
    /// The feed of input `i`, or `None` when no pick keeps a block of it.
    fn new(
        i: usize,
        demux: &Demuxer<'a>,
        picks: &[Pick],
        span: Option<(u32, u32)>,
    ) -> Result<Option<Self>> {
        let mut kept = Vec::new();
        for pick in picks.iter().filter(|p| p.input == i) {
            let offsets = match span {
                None => Some(0..=u64::MAX),
                Some((t0_ms, t1_ms)) => {
                    let plan = cut_plan(demux, pick.track, t0_ms, t1_ms)?;
                    let offsets = plan.iter().map(|s| s.block.offset);
                    match (offsets.clone().min(), offsets.max()) {
                        (Some(first), Some(last)) => Some(first..=last),
                        _ => None,
                    }
                }
            };
            kept.push(Kept {
                track: pick.track,
                as_track: pick.as_track,
                offsets,
            });
        }
        let wanted = kept.iter().filter_map(|k| k.offsets.as_ref());
        let (Some(first), Some(last)) = (
            wanted.clone().map(|o| *o.start()).min(),
            wanted.map(|o| *o.end()).max(),
        ) else {
            return Ok(None);
        };
        let blocks = if first == 0 {
            demux.blocks()
        } else {
            demux.blocks_from(first)?
        };
        Ok(Some(Feed {
            input: i,
            blocks,
            picks: kept,
            last,
            head: None,
        }))
    }

    /// Reads on to the next block some pick keeps, if any is left.
    fn load(&mut self) -> Result<()> {
        self.head = None;
        for block in self.blocks.by_ref() {
            let block = block?;
            if block.offset > self.last {
                break;
            }
            if takers(&self.picks, &block).next().is_some() {
                self.head = Some(block);
                break;
            }
        }
        Ok(())
    }
}

/// The plan whose blocks a cut of `track` to `t0_ms..=t1_ms` keeps, with every block between
/// them: [`Demuxer::range`]'s, from the block just before the first one presented when the
/// track has one that plans. A decoder whose outputs overlap (an audio block's first samples
/// add to the tail of the block before it, docs/ADAPTERS.md §3.6) renders that block first, so
/// the cut decodes the span exactly as the whole track does, from its first sample.
fn cut_plan<'a>(
    demux: &Demuxer<'a>,
    track: u16,
    t0_ms: u32,
    t1_ms: u32,
) -> Result<Vec<DecodeStep<'a>>> {
    let plan = demux.range(track, t0_ms, t1_ms)?;
    let first_ms = plan
        .iter()
        .map(|s| s.block.ts_ms)
        .filter(|t| (t0_ms..=t1_ms).contains(t))
        .min();
    let lead_ms = first_ms
        .and_then(|ms| ms.checked_sub(1))
        .and_then(|before| demux.chain(track, before).ok())
        .and_then(|chain| chain.last().map(|s| s.block.ts_ms));
    Ok(lead_ms
        .and_then(|ms| demux.range(track, ms, t1_ms).ok())
        .unwrap_or(plan))
}

/// A track picked from a feed's input.
struct Kept {
    /// Its id in the input.
    track: u16,
    /// Its id in the new file.
    as_track: u16,
    /// The payload offsets of the blocks it keeps; `None` when it keeps none.
    offsets: Option<RangeInclusive<u64>>,
}

/// The ids in the new file of the picks that keep `block`.
fn takers<'f>(picks: &'f [Kept], block: &'f BlockRef<'_>) -> impl Iterator<Item = u16> + 'f {
    picks
        .iter()
        .filter(|k| {
            k.track == block.track
                && k.offsets
                    .as_ref()
                    .is_some_and(|o| o.contains(&block.offset))
        })
        .map(|k| k.as_track)
}
