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

    /// Forget anything carried between blocks; called before decoding from a new keyframe, for
    /// instance after a seek.
    fn reset(&mut self);
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
    /// Only the block with this source index: the target of a seek chain.
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
    /// The block's index in the source.
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

/// Decodes `steps` in order and returns the finalized output of the presented blocks, sorted by
/// timestamp (B-blocks in their place; equal timestamps keep decode order).
///
/// The adapter is [reset](ModelAdapter::reset) first.
/// The driver keeps two states: an anchor step (I or P) moves the last anchor to the previous
/// one and becomes the last anchor; a P-step applies to the last anchor; a B-step applies
/// between the previous and the last anchor and replaces neither.
/// A P-step with no anchor decoded yet, or a B-step with fewer than two, is
/// [`Error::MissingReference`]; an adapter error is wrapped in [`Error::InBlock`].
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
    adapter.reset();
    let mut prev: Option<A::State> = None;
    let mut last: Option<A::State> = None;
    let mut out = Vec::new();
    for step in steps {
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
            out.push(Rendered {
                index: step.index,
                ts_ms: block.ts_ms,
                kind: step.kind,
                output,
                lead: present.is_lead(block.ts_ms),
            });
        }
        if step.kind != BlockKind::Bidirectional {
            prev = last.replace(state);
        }
    }
    out.sort_by_key(|r| r.ts_ms);
    Ok(out)
}
