//! The adapter interface ([`ModelAdapter`]) and the driver that runs a decode plan through it
//! ([`decode_plan`]).
//!
//! The interface is the original manifest's, in Rust:
//!
//! | manifest    | here                                      |
//! |-------------|-------------------------------------------|
//! | `decode_I`  | [`ModelAdapter::decode_key`]              |
//! | `apply_P`   | [`ModelAdapter::apply_predictive`]        |
//! | `apply_B`   | [`ModelAdapter::apply_bidirectional`]     |
//! | `finalize`  | [`ModelAdapter::finalize`]                |
//! | (new)       | [`ModelAdapter::reset`], after a seek     |
//!
//! The driver keeps two states, the previous anchor and the last anchor, and finalizes every
//! block the caller asks to present, not only the last one.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use h4mk_gop::{BlockKind, Step};

/// Turns opaque blocks back into output.
///
/// States are values: the driver owns them and hands them back by reference, so an adapter can
/// be asked to apply a delta to any earlier anchor.
/// An adapter may keep caches (FFT plans, buffers) in `self`, but no state that makes the result
/// of a call depend on earlier calls, except as documented by the adapter.
pub trait ModelAdapter {
    /// What a block decodes to, before rendering.
    type State;
    /// What a state renders to.
    type Output;

    /// `decode_I`: decode a keyframe (I-block) on its own.
    fn decode_key(&mut self, block: &[u8]) -> Result<Self::State>;

    /// `apply_P`: apply a predictive (P-) block to the state of the previous anchor.
    fn apply_predictive(&mut self, state: &Self::State, block: &[u8]) -> Result<Self::State>;

    /// `apply_B`: apply a bidirectional (B-) block, given the anchor before it (`prev`) and the
    /// anchor after it (`next`) in presentation order.
    /// In decode order these are the two most recently decoded anchors.
    fn apply_bidirectional(
        &mut self,
        prev: &Self::State,
        next: &Self::State,
        block: &[u8],
    ) -> Result<Self::State>;

    /// `finalize`: render a state to output.
    fn finalize(&mut self, state: &Self::State) -> Result<Self::Output>;

    /// Forget anything carried between blocks; the driver calls it once before each plan (a
    /// seek, a range), not at every keyframe inside one: a B-block just before an open-GOP
    /// keyframe still needs the anchor before it. By default, nothing: an adapter that
    /// carries nothing between calls has nothing to forget.
    fn reset(&mut self) {}
}

/// An owned block, as the encoder produces it and a container stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Presentation timestamp in milliseconds.
    pub ts_ms: u32,
    /// How the block decodes.
    pub kind: BlockKind,
    /// The opaque block bytes.
    pub bytes: Vec<u8>,
}

/// Blocks given in decode order (an encoder's: an anchor, then the B-blocks before it) put in
/// presentation order, the order a muxer takes a track's blocks in: by pts, ties in the order
/// of [`h4mk_gop::presentation_ranks`] (a B-block before the anchor it follows in decode
/// order). [`h4mk_gop::PresentationOrder`] does it as the blocks come, for a live encoder.
///
/// ```
/// use h4mk_adapters::{Block, BlockKind, in_presentation_order};
///
/// let block = |ts_ms, kind| Block { ts_ms, kind, bytes: Vec::new() };
/// // Decode order: I0, then P20 and the B-block at 10 ms that needs it.
/// let decoded = [block(0, BlockKind::Key), block(20, BlockKind::Predictive), block(10, BlockKind::Bidirectional)];
/// let pts: Vec<u32> = in_presentation_order(&decoded).iter().map(|b| b.ts_ms).collect();
/// assert_eq!(pts, [0, 10, 20]);
/// ```
pub fn in_presentation_order(blocks: &[Block]) -> Vec<&Block> {
    let ranks = h4mk_gop::presentation_ranks(blocks.iter().map(|b| b.kind));
    let mut ranked: Vec<(u64, &Block)> = ranks.into_iter().zip(blocks).collect();
    ranked.sort_by_key(|(rank, b)| (b.ts_ms, *rank));
    ranked.into_iter().map(|(_, b)| b).collect()
}

/// A borrowed block: its timestamp and bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockRef<'a> {
    /// Presentation timestamp in milliseconds.
    pub ts_ms: u32,
    /// The opaque block bytes.
    pub bytes: &'a [u8],
}

/// Where the driver gets a block's bytes and timestamp from, by index.
///
/// Implemented for slices and vectors of [`Block`]; a container reader implements it over its
/// own block table.
pub trait BlockSource {
    /// The block with this index.
    fn block(&self, index: usize) -> Result<BlockRef<'_>>;
}

impl BlockSource for [Block] {
    fn block(&self, index: usize) -> Result<BlockRef<'_>> {
        let b = self.get(index).ok_or(Error::UnknownBlock { index })?;
        Ok(BlockRef {
            ts_ms: b.ts_ms,
            bytes: &b.bytes,
        })
    }
}

impl BlockSource for Vec<Block> {
    fn block(&self, index: usize) -> Result<BlockRef<'_>> {
        self.as_slice().block(index)
    }
}

/// Which decoded blocks the driver finalizes and returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Present {
    /// Every block in the plan.
    All,
    /// Only the block with this source index: the target of a seek chain. An index the plan
    /// does not hold presents nothing, and the plan is still decoded, which checks its anchors
    /// (the null adapter does so).
    Index(usize),
    /// Every block whose timestamp is in `start_ms..=end_ms`.
    Range {
        /// First timestamp presented.
        start_ms: u32,
        /// Last timestamp presented (inclusive).
        end_ms: u32,
    },
    /// Every block whose timestamp is in `start_ms..=end_ms`, and before them the blocks from
    /// `lead_ms` as leads: rendered for what their outputs overlap (for audio, the tail a
    /// block lends the next one's first samples, docs/ADAPTERS.md §3.6) but not presented.
    /// A plan that decodes the block before `start_ms` then renders the range exactly from its
    /// first sample, in one decode.
    Lead {
        /// First timestamp rendered as a lead.
        lead_ms: u32,
        /// First timestamp presented.
        start_ms: u32,
        /// Last timestamp presented (inclusive).
        end_ms: u32,
    },
    /// The output from time `from_ms` up to time `to_ms`, cut to the sample: every block of the
    /// plan whose timestamp is `lead_ms` or later is rendered and presented, and an output of
    /// samples keeps only the stream positions from `from_ms · rate / 1000` up to `to_ms ·
    /// rate / 1000` (each rounded down) that the presented blocks span. Outputs that are not
    /// samples are not cut.
    ///
    /// Every sample kept is exact when `lead_ms` is the timestamp of the block before the last
    /// one that starts before `from_ms`: that block's tail completes the first samples of the
    /// next (docs/ADAPTERS.md §3.6), and the blocks before it own nothing after `from_ms`.
    /// A plan that runs to the first block at or after `to_ms` spans every position up to
    /// it, silence where no block owns one.
    Cut {
        /// First timestamp rendered.
        lead_ms: u32,
        /// Where the output starts, in milliseconds.
        from_ms: u32,
        /// Where the output ends, in milliseconds (not included).
        to_ms: u32,
    },
}

impl Present {
    /// True when the block is rendered: presented, or a lead.
    fn contains(self, index: usize, ts_ms: u32) -> bool {
        match self {
            Present::All => true,
            Present::Index(i) => i == index,
            Present::Range { start_ms, end_ms } => (start_ms..=end_ms).contains(&ts_ms),
            Present::Lead {
                lead_ms, end_ms, ..
            } => (lead_ms..=end_ms).contains(&ts_ms),
            Present::Cut { lead_ms, .. } => ts_ms >= lead_ms,
        }
    }

    /// True when a rendered block at `ts_ms` is a lead, not presented.
    fn is_lead(self, ts_ms: u32) -> bool {
        matches!(self, Present::Lead { start_ms, .. } if ts_ms < start_ms)
    }
}

/// The finalized output of one presented block.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered<O> {
    /// The block's index in the source: for [`crate::decode_chain`] and
    /// [`crate::decode_range`], its position in the plan the demuxer's `chain` or `range`
    /// returns for the same arguments, whose [`h4mk_mt::DecodeStep`] names its offset.
    pub index: usize,
    /// The block's presentation timestamp.
    pub ts_ms: u32,
    /// How it was decoded.
    pub kind: BlockKind,
    /// What [`ModelAdapter::finalize`] returned for it.
    pub output: O,
    /// Rendered as a lead of [`Present::Lead`]: its output only completes the presented
    /// blocks' where they overlap.
    pub lead: bool,
}

/// Decodes `steps` in order and returns the finalized output of the presented blocks in
/// presentation order: by timestamp, each B-block before the anchor it follows in decode order
/// (its forward anchor, which is stored after it) even at the same timestamp, other ties in
/// decode order ([`h4mk_gop::presentation_ranks`]).
///
/// The same as collecting what [`decode_plan_each`] hands over.
pub fn decode_plan<A, S>(
    adapter: &mut A,
    source: &S,
    steps: &[Step],
    present: Present,
) -> Result<Vec<Rendered<A::Output>>>
where
    A: ModelAdapter + ?Sized,
    S: BlockSource + ?Sized,
{
    let mut out = Vec::new();
    decode_plan_each(adapter, source, steps, present, |r| {
        out.push(r);
        Ok(())
    })?;
    Ok(out)
}

/// Decodes `steps` in order and hands the finalized output of each presented block to `each`,
/// in the order [`decode_plan`] returns them (presentation order).
///
/// An output is handed over as soon as no later step of the plan can come before it, so what
/// waits is only an anchor decoded ahead of the B-blocks it frames: a caller that consumes
/// outputs as they come holds a few, not the whole plan's.
///
/// The adapter is [reset](ModelAdapter::reset) once, before the first step.
/// The driver keeps two states: an anchor step (I or P) moves the last anchor to the previous
/// one and becomes the last anchor; a P-step applies to the last anchor; a B-step applies
/// between the previous and the last anchor and replaces neither.
/// A P-step with no anchor decoded yet, or a B-step with fewer than two, is
/// [`Error::MissingReference`]; an adapter error is wrapped in [`Error::InBlock`]; an error
/// `each` returns stops the decode and is returned as it is.
pub fn decode_plan_each<A, S, F>(
    adapter: &mut A,
    source: &S,
    steps: &[Step],
    present: Present,
    mut each: F,
) -> Result<()>
where
    A: ModelAdapter + ?Sized,
    S: BlockSource + ?Sized,
    F: FnMut(Rendered<A::Output>) -> Result<()>,
{
    let keys = presentation_keys(source, steps)?;
    let later = first_presented_after(steps, present, &keys);
    adapter.reset();
    let mut prev: Option<A::State> = None;
    let mut last: Option<A::State> = None;
    // Rendered outputs waiting for a later step that comes before them.
    let mut waiting: BTreeMap<Key, Rendered<A::Output>> = BTreeMap::new();
    for ((position, step), &key) in steps.iter().enumerate().zip(&keys) {
        let block = source.block(step.index)?;
        let missing = || Error::MissingReference {
            index: step.index,
            ts_ms: block.ts_ms,
            kind: step.kind,
        };
        let in_block = |e: Error| Error::InBlock {
            index: step.index,
            ts_ms: block.ts_ms,
            source: Box::new(e),
        };
        let state = match step.kind {
            BlockKind::Key => adapter.decode_key(block.bytes),
            BlockKind::Predictive => {
                let anchor = last.as_ref().ok_or_else(missing)?;
                adapter.apply_predictive(anchor, block.bytes)
            }
            BlockKind::Bidirectional => {
                let (Some(p), Some(n)) = (prev.as_ref(), last.as_ref()) else {
                    return Err(missing());
                };
                adapter.apply_bidirectional(p, n, block.bytes)
            }
        }
        .map_err(in_block)?;
        if present.contains(step.index, block.ts_ms) {
            let output = adapter.finalize(&state).map_err(in_block)?;
            let rendered = Rendered {
                index: step.index,
                ts_ms: block.ts_ms,
                kind: step.kind,
                output,
                lead: present.is_lead(block.ts_ms),
            };
            waiting.insert(key, rendered);
        }
        if step.kind != BlockKind::Bidirectional {
            prev = last.replace(state);
        }
        let bar = later.get(position + 1).copied().flatten();
        while let Some(entry) = waiting.first_entry() {
            if bar.is_some_and(|bar| *entry.key() > bar) {
                break;
            }
            each(entry.remove())?;
        }
    }
    Ok(())
}

/// Where a step goes in presentation order: timestamp, [rank](h4mk_gop::presentation_ranks),
/// decode position.
type Key = (u32, u64, usize);

fn presentation_keys<S: BlockSource + ?Sized>(source: &S, steps: &[Step]) -> Result<Vec<Key>> {
    let ranks = h4mk_gop::presentation_ranks(steps.iter().map(|s| s.kind));
    steps
        .iter()
        .zip(ranks)
        .enumerate()
        .map(|(position, (step, rank))| Ok((source.block(step.index)?.ts_ms, rank, position)))
        .collect()
}

/// For each position in `steps`, the first key in presentation order of the blocks presented
/// at or after it (`None` when none is), and one entry more for the end of the plan.
fn first_presented_after(steps: &[Step], present: Present, keys: &[Key]) -> Vec<Option<Key>> {
    let mut later = vec![None; steps.len() + 1];
    for (position, (step, &key)) in steps.iter().zip(keys).enumerate().rev() {
        // `later` has one entry more than `steps`.
        let next = later.get(position + 1).copied().flatten();
        let (ts_ms, ..) = key;
        let here = present.contains(step.index, ts_ms).then_some(key);
        if let Some(slot) = later.get_mut(position) {
            *slot = match (here, next) {
                (Some(h), Some(n)) => Some(h.min(n)),
                (h, n) => h.or(n),
            };
        }
    }
    later
}
