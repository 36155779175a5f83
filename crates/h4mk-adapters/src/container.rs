//! Decoding straight from a container: the demuxer's plans run through any adapter.

use h4mk_mt::{DecodeStep, Demuxer};

use crate::adapter::{BlockRef, BlockSource, ModelAdapter, Present, Rendered, decode_plan_each};
use crate::error::{Error, Result};
use h4mk_gop::Step;

impl BlockSource for [DecodeStep<'_>] {
    fn block(&self, index: usize) -> Result<BlockRef<'_>> {
        let step = self.get(index).ok_or(Error::UnknownBlock { index })?;
        Ok(BlockRef {
            ts_ms: step.block.ts_ms,
            bytes: step.block.opaque,
        })
    }
}

/// Runs a demuxer's plan (`Demuxer::chain` or `Demuxer::range`) through `adapter` and hands
/// `each` what `present` asks for, as [`decode_plan_each`] does; indices (in [`Present::Index`],
/// [`Rendered::index`] and errors) are positions in `steps`.
///
/// This is what a [`NamedDecoder`](crate::NamedDecoder) of another crate calls.
pub fn decode_steps<A: ModelAdapter + ?Sized>(
    adapter: &mut A,
    steps: &[DecodeStep<'_>],
    present: Present,
    each: impl FnMut(Rendered<A::Output>) -> Result<()>,
) -> Result<()> {
    let plan: Vec<Step> = steps
        .iter()
        .enumerate()
        .map(|(index, s)| Step {
            index,
            kind: s.kind,
        })
        .collect();
    decode_plan_each(adapter, steps, &plan, present, each)
}

/// Decodes what track `track` shows at `t_ms`: the output of the chain's target, or nothing when
/// the track shows nothing yet (no block at or before `t_ms`).
pub fn decode_chain<A: ModelAdapter + ?Sized>(
    adapter: &mut A,
    demux: &Demuxer<'_>,
    track: u16,
    t_ms: u32,
) -> Result<Option<Rendered<A::Output>>> {
    let steps = demux.chain(track, t_ms)?;
    let Some(target) = steps.len().checked_sub(1) else {
        return Ok(None);
    };
    let mut out = None;
    decode_steps(adapter, &steps, Present::Index(target), |r| {
        out = Some(r);
        Ok(())
    })?;
    Ok(out)
}

/// Decodes every block of track `track` presented in `t0_ms..=t1_ms`, in presentation order.
///
/// These are the blocks whose pts are in the range, each rendered alone: for audio whose
/// blocks overlap, the first one lacks the overlap of the block before it, and the range
/// starts at that block, not at `t0_ms`. [`plan_decode`](crate::plan_decode) gives audio
/// exact to the sample (what `h4mk decode` does).
pub fn decode_range<A: ModelAdapter + ?Sized>(
    adapter: &mut A,
    demux: &Demuxer<'_>,
    track: u16,
    t0_ms: u32,
    t1_ms: u32,
) -> Result<Vec<Rendered<A::Output>>> {
    let steps = demux.range(track, t0_ms, t1_ms)?;
    let present = Present::Range {
        start_ms: t0_ms,
        end_ms: t1_ms,
    };
    let mut out = Vec::new();
    decode_steps(adapter, &steps, present, |r| {
        out.push(r);
        Ok(())
    })?;
    Ok(out)
}
