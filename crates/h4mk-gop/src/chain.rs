//! Decode planning over one track's blocks (docs/FORMAT.md §5).
//!
//! The planner sees only [`BlockInfo`]s (pts and kind) in storage order, which is presentation
//! order; it knows nothing of files or payloads. It answers with [`Step`]s in decode order,
//! each naming a block by its index in the slice.
//!
//! The rules: an I-block decodes alone; a P-block applies to the previous anchor (I or P);
//! a B-block is never a reference and needs the previous anchor and the next one, which is
//! stored after it and may open the next GOP.
//!
//! Every plan can be run by a driver that keeps two states, the second-to-last and the last
//! anchor decoded: when a P step comes, the last anchor decoded is its previous anchor, and when
//! a B step comes, the last two anchors decoded are exactly its previous and next anchors.

use crate::error::{Error, Result};
use crate::flags::BlockKind;

/// One block of a track, as the planner sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// Presentation timestamp in milliseconds.
    pub ts_ms: u32,
    /// Block type.
    pub kind: BlockKind,
}

/// One decode step: decode block `index` of the slice, which is of type `kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// Index into the block slice handed to the planner.
    pub index: usize,
    /// The block's type, so a driver need not look it up.
    pub kind: BlockKind,
}

/// The decode chain that shows the track at time `t_ms`.
///
/// The target is the last block with pts `<= t_ms`. The chain starts at the last I-block at or
/// before the target and takes every P-block between them, then the target if it is a P.
/// B-blocks other than the target are left out. If the target is a B-block, its forward anchor
/// (the first I or P after it) comes right before it. The last step is always the target.
///
/// An empty chain means there is nothing to show: no block at or before `t_ms`, or no I-block
/// at or before the target.
///
/// # Errors
///
/// [`Error::BlocksUnsorted`] if the pts go backwards anywhere in `blocks` (checked in O(n)),
/// [`Error::MissingForwardAnchor`] if the target is a B-block with no anchor after it.
pub fn chain(blocks: &[BlockInfo], t_ms: u32) -> Result<Vec<Step>> {
    check_sorted(blocks)?;
    let Some(target) = blocks.partition_point(|b| b.ts_ms <= t_ms).checked_sub(1) else {
        return Ok(Vec::new());
    };
    let Some(key) = keyframe_at_or_before(blocks, target) else {
        return Ok(Vec::new());
    };
    let mut steps: Vec<Step> = blocks
        .iter()
        .enumerate()
        .take(target + 1)
        .skip(key)
        .filter(|(_, b)| b.kind.is_anchor())
        .map(|(index, b)| Step {
            index,
            kind: b.kind,
        })
        .collect();
    if let Some(block) = blocks.get(target).filter(|b| !b.kind.is_anchor()) {
        let forward = next_anchor(blocks, target).ok_or(Error::MissingForwardAnchor {
            index: target,
            ts_ms: block.ts_ms,
        })?;
        steps.push(forward);
        steps.push(Step {
            index: target,
            kind: block.kind,
        });
    }
    Ok(steps)
}

/// The decode plan that presents every block with `t0_ms <= pts <= t1_ms`, for playback.
///
/// Steps are in decode order with no duplicates. Anchors (I and P) come in storage order;
/// each run of B-blocks comes right after its forward anchor, before any later anchor.
/// Besides the presented blocks, the plan holds what they need and nothing else: the last
/// I-block at or before the first presented block and every P-block from there on, and, if the
/// range ends in B-blocks, the first anchor after the range. Those extra blocks are decoded only
/// to be referenced; a caller tells them apart by their pts, which lie outside the range.
///
/// An empty plan means no block has its pts in the range.
///
/// # Errors
///
/// [`Error::InvalidRange`] if `t0_ms > t1_ms`,
/// [`Error::BlocksUnsorted`] if the pts go backwards anywhere in `blocks`,
/// [`Error::MissingKeyframe`] if the first presented block is a P or B with no I-block before
/// it (so it, or the anchors it needs, cannot be decoded),
/// [`Error::MissingForwardAnchor`] for the first presented B-block with no anchor after it.
pub fn range(blocks: &[BlockInfo], t0_ms: u32, t1_ms: u32) -> Result<Vec<Step>> {
    if t0_ms > t1_ms {
        return Err(Error::InvalidRange { t0_ms, t1_ms });
    }
    check_sorted(blocks)?;
    let lo = blocks.partition_point(|b| b.ts_ms < t0_ms);
    let hi = blocks.partition_point(|b| b.ts_ms <= t1_ms);
    let Some(first) = blocks.get(lo).filter(|_| lo < hi) else {
        return Ok(Vec::new());
    };
    let key = keyframe_at_or_before(blocks, lo).ok_or(Error::MissingKeyframe {
        index: lo,
        ts_ms: first.ts_ms,
        kind: first.kind,
    })?;

    let mut steps = Vec::new();
    // First presented B-block waiting for its forward anchor; every block from it up to the
    // next anchor is a B-block.
    let mut pending: Option<usize> = None;
    for (index, block) in blocks.iter().enumerate().skip(key) {
        if index >= hi && pending.is_none() {
            break;
        }
        if block.kind.is_anchor() {
            steps.push(Step {
                index,
                kind: block.kind,
            });
            if let Some(from) = pending.take() {
                let waiting = blocks.get(from..index.min(hi)).unwrap_or_default();
                steps.extend(waiting.iter().zip(from..).map(|(b, index)| Step {
                    index,
                    kind: b.kind,
                }));
            }
        } else if index >= lo && index < hi {
            pending.get_or_insert(index);
        }
    }
    if let Some(index) = pending {
        let ts_ms = blocks.get(index).map_or(0, |b| b.ts_ms);
        return Err(Error::MissingForwardAnchor { index, ts_ms });
    }
    Ok(steps)
}

/// Fails on the first block whose pts is smaller than its predecessor's.
fn check_sorted(blocks: &[BlockInfo]) -> Result<()> {
    match blocks
        .windows(2)
        .position(|w| matches!(w, [a, b] if b.ts_ms < a.ts_ms))
    {
        None => Ok(()),
        Some(before) => {
            let (prev_ts_ms, ts_ms) = match blocks.get(before..before + 2) {
                Some([a, b]) => (a.ts_ms, b.ts_ms),
                _ => (0, 0),
            };
            Err(Error::BlocksUnsorted {
                index: before + 1,
                ts_ms,
                prev_ts_ms,
            })
        }
    }
}

/// Index of the last I-block at or before `index`.
fn keyframe_at_or_before(blocks: &[BlockInfo], index: usize) -> Option<usize> {
    blocks
        .get(..=index)?
        .iter()
        .rposition(|b| b.kind == BlockKind::Key)
}

/// The first anchor stored after `index`.
fn next_anchor(blocks: &[BlockInfo], index: usize) -> Option<Step> {
    blocks
        .iter()
        .enumerate()
        .skip(index.checked_add(1)?)
        .find(|(_, b)| b.kind.is_anchor())
        .map(|(index, b)| Step {
            index,
            kind: b.kind,
        })
}

/// Where blocks given in decode order go in presentation order, which is the order a track is
/// stored in (docs/FORMAT.md §5): one rank per block, such that sorting the blocks stably by
/// `(pts, rank)` puts each B-block before the anchor it follows in decode order (its forward
/// anchor), even at the same pts, and keeps every other pair in decode order.
///
/// The `n`-th anchor (I or P, from 1) ranks `2 n`; a B-block after it in decode order ranks
/// `2 n - 1`.
///
/// ```
/// use h4mk_gop::{presentation_ranks, BlockKind::{Bidirectional as B, Key as I, Predictive as P}};
///
/// // Decode order I0 P10 B10 (a B-block at its forward anchor's pts): B10 is stored first.
/// let (kinds, pts) = ([I, P, B], [0, 10, 10]);
/// let ranks = presentation_ranks(kinds);
/// let mut order = vec![0, 1, 2];
/// order.sort_by_key(|&i| (pts[i], ranks[i]));
/// assert_eq!(order, [0, 2, 1]);
/// ```
pub fn presentation_ranks(kinds: impl IntoIterator<Item = BlockKind>) -> Vec<u64> {
    let mut anchors = 0u64;
    kinds
        .into_iter()
        .map(|kind| match kind {
            BlockKind::Bidirectional => (2 * anchors).saturating_sub(1),
            BlockKind::Key | BlockKind::Predictive => {
                anchors += 1;
                2 * anchors
            }
        })
        .collect()
}

/// Blocks handed over in decode order, as an encoder produces them, put in presentation order
/// as they come: the streaming form of sorting by `(pts, rank)` with [`presentation_ranks`],
/// for a live encoder whose blocks a muxer takes a track at a time in presentation order.
///
/// It holds the last anchor and the B-blocks after it in decode order: those are presented
/// before that anchor, so they all go out, in order, when the next anchor comes, or at
/// [`PresentationOrder::finish`]. Blocks in decode order as the format means it (each
/// B-block after its forward anchor, its pts between its two anchors') come out as sorting
/// them all would put them; a B-block whose pts is below the anchor before its forward one
/// comes out after that anchor, and the muxer then refuses it (pts going back).
///
/// ```
/// use h4mk_gop::{BlockKind::{Bidirectional as B, Key as I, Predictive as P}, PresentationOrder};
///
/// let mut order = PresentationOrder::default();
/// let mut stored = Vec::new();
/// // An encoder's decode order: I0, P40, then the B-blocks at 20 and 30 that need P40.
/// for (pts, kind) in [(0, I), (40, P), (20, B), (30, B), (80, P)] {
///     stored.extend(order.push(pts, kind, pts));
/// }
/// stored.extend(order.finish());
/// assert_eq!(stored, [0, 20, 30, 40, 80]);
/// ```
#[derive(Debug)]
pub struct PresentationOrder<T> {
    /// The last anchor and the B-blocks after it, as `(pts, rank, item)`.
    held: Vec<(u32, u64, T)>,
    /// Anchors handed over so far.
    anchors: u64,
}

impl<T> Default for PresentationOrder<T> {
    fn default() -> Self {
        PresentationOrder {
            held: Vec::new(),
            anchors: 0,
        }
    }
}

impl<T> PresentationOrder<T> {
    /// Takes the next block in decode order, with its pts and type; returns the blocks it
    /// lets go, in presentation order: those held, when this one is an anchor.
    pub fn push(&mut self, ts_ms: u32, kind: BlockKind, item: T) -> Vec<T> {
        // The ranks of `presentation_ranks`, counted as the blocks come.
        if kind.is_anchor() {
            self.anchors += 1;
            let released = self.release();
            self.held.push((ts_ms, 2 * self.anchors, item));
            released
        } else {
            let rank = (2 * self.anchors).saturating_sub(1);
            self.held.push((ts_ms, rank, item));
            Vec::new()
        }
    }

    /// The blocks still held, in presentation order: call it once the encoder is done.
    pub fn finish(mut self) -> Vec<T> {
        self.release()
    }

    /// How many blocks are held.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    fn release(&mut self) -> Vec<T> {
        let mut held = std::mem::take(&mut self.held);
        held.sort_by_key(|&(ts_ms, rank, _)| (ts_ms, rank));
        held.into_iter().map(|(_, _, item)| item).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses "I0 P40 B80" into blocks.
    fn blocks(spec: &str) -> Vec<BlockInfo> {
        spec.split_whitespace()
            .map(|word| {
                let mut chars = word.chars();
                let kind = BlockKind::try_from(chars.next().unwrap()).unwrap();
                BlockInfo {
                    ts_ms: chars.as_str().parse().unwrap(),
                    kind,
                }
            })
            .collect()
    }

    /// Renders steps as "I0 P1 B2" (letter and index).
    fn render(steps: &[Step]) -> String {
        let words: Vec<String> = steps
            .iter()
            .map(|s| format!("{}{}", s.kind.letter(), s.index))
            .collect();
        words.join(" ")
    }

    #[track_caller]
    fn check_chain(spec: &str, t_ms: u32, expect: Result<&str>) {
        let got = chain(&blocks(spec), t_ms);
        assert_eq!(
            got.map(|s| render(&s)),
            expect.map(str::to_owned),
            "{spec} @ {t_ms}"
        );
    }

    #[track_caller]
    fn check_range(spec: &str, t0: u32, t1: u32, expect: Result<&str>) {
        let got = range(&blocks(spec), t0, t1);
        assert_eq!(
            got.map(|s| render(&s)),
            expect.map(str::to_owned),
            "{spec} @ {t0}..={t1}"
        );
    }

    // The block sequence of the `bframes` reference fixture, first two GOPs.
    const BFRAMES: &str = "I0 P40 B80 B120 P160 B200 B240 P280 B320 B360 P400 B440 I480 P520";

    #[test]
    fn chain_linear() {
        let s = "I0 P33 P66 I100 P133";
        check_chain(s, 0, Ok("I0"));
        check_chain(s, 32, Ok("I0"));
        check_chain(s, 33, Ok("I0 P1"));
        check_chain(s, 99, Ok("I0 P1 P2"));
        check_chain(s, 100, Ok("I3"));
        check_chain(s, u32::MAX, Ok("I3 P4"));
    }

    #[test]
    fn chain_with_b_blocks() {
        check_chain(BFRAMES, 40, Ok("I0 P1"));
        check_chain(BFRAMES, 80, Ok("I0 P1 P4 B2"));
        check_chain(BFRAMES, 130, Ok("I0 P1 P4 B3"));
        check_chain(BFRAMES, 160, Ok("I0 P1 P4"));
        check_chain(BFRAMES, 250, Ok("I0 P1 P4 P7 B6"));
        // The forward anchor of the last B of a GOP opens the next GOP.
        check_chain(BFRAMES, 479, Ok("I0 P1 P4 P7 P10 I12 B11"));
        check_chain(BFRAMES, 480, Ok("I12"));
        check_chain(BFRAMES, 600, Ok("I12 P13"));
    }

    #[test]
    fn chain_empty() {
        check_chain("", 0, Ok(""));
        check_chain("", u32::MAX, Ok(""));
        check_chain("I10 P20", 9, Ok(""));
        // Blocks before the first keyframe cannot be shown.
        check_chain("P0 B5 I10 P20", 0, Ok(""));
        check_chain("P0 B5 I10 P20", 9, Ok(""));
        check_chain("P0 B5 I10 P20", 10, Ok("I2"));
        check_chain("B0 B1", 5, Ok(""));
    }

    #[test]
    fn chain_equal_timestamps() {
        // The target is the last block with pts <= t, in storage order.
        check_chain("I0 P10 P10 B10 P20", 10, Ok("I0 P1 P2 P4 B3"));
        check_chain("I0 I0 P0", 0, Ok("I1 P2"));
        check_chain("I0 B5 P5", 5, Ok("I0 P2"));
    }

    #[test]
    fn chain_errors() {
        check_chain(
            "I0 P10 B20 B30",
            30,
            Err(Error::MissingForwardAnchor {
                index: 3,
                ts_ms: 30,
            }),
        );
        check_chain(
            "I0 P10 B20 B30",
            25,
            Err(Error::MissingForwardAnchor {
                index: 2,
                ts_ms: 20,
            }),
        );
        // A B-block before it is not needed, so no error.
        check_chain("I0 B5 P10 B20", 10, Ok("I0 P2"));
        check_chain(
            "I0 P10 P5",
            10,
            Err(Error::BlocksUnsorted {
                index: 2,
                ts_ms: 5,
                prev_ts_ms: 10,
            }),
        );
    }

    #[test]
    fn range_plans() {
        let s = "I0 P33 P66 I100 P133";
        check_range(s, 0, 0, Ok("I0"));
        check_range(s, 0, 99, Ok("I0 P1 P2"));
        check_range(s, 50, 120, Ok("I0 P1 P2 I3"));
        check_range(s, 101, 200, Ok("I3 P4"));
        check_range(s, 134, 200, Ok(""));
        check_range("", 0, u32::MAX, Ok(""));

        check_range(BFRAMES, 0, 200, Ok("I0 P1 P4 B2 B3 P7 B5"));
        check_range(BFRAMES, 100, 130, Ok("I0 P1 P4 B3"));
        check_range(BFRAMES, 200, 240, Ok("I0 P1 P4 P7 B5 B6"));
        check_range(BFRAMES, 440, 480, Ok("I0 P1 P4 P7 P10 I12 B11"));
        check_range(BFRAMES, 440, 600, Ok("I0 P1 P4 P7 P10 I12 B11 P13"));
        check_range(BFRAMES, 480, 480, Ok("I12"));
        check_range(
            BFRAMES,
            0,
            u32::MAX,
            Ok("I0 P1 P4 B2 B3 P7 B5 B6 P10 B8 B9 I12 B11 P13"),
        );
    }

    #[test]
    fn range_equal_timestamps() {
        check_range("I0 B10 B10 P10 B20 P20", 10, 10, Ok("I0 P3 B1 B2"));
        check_range("I0 B10 B10 P10 B20 P20", 10, 20, Ok("I0 P3 B1 B2 P5 B4"));
    }

    #[test]
    fn range_errors() {
        check_range("I0", 5, 4, Err(Error::InvalidRange { t0_ms: 5, t1_ms: 4 }));
        check_range("", 5, 4, Err(Error::InvalidRange { t0_ms: 5, t1_ms: 4 }));
        check_range(
            "P0 I10",
            0,
            10,
            Err(Error::MissingKeyframe {
                index: 0,
                ts_ms: 0,
                kind: BlockKind::Predictive,
            }),
        );
        check_range(
            "P0 B5 I10",
            5,
            10,
            Err(Error::MissingKeyframe {
                index: 1,
                ts_ms: 5,
                kind: BlockKind::Bidirectional,
            }),
        );
        // Blocks before the first keyframe that the range does not need are no error.
        check_range("P0 B5 I10 P20", 10, 20, Ok("I2 P3"));
        check_range(
            "I0 B10 P20 B30 B40",
            0,
            35,
            Err(Error::MissingForwardAnchor {
                index: 3,
                ts_ms: 30,
            }),
        );
        check_range("I0 B10 P20 B30 B40", 0, 20, Ok("I0 P2 B1"));
        check_range(
            "I0 P10 P5",
            0,
            10,
            Err(Error::BlocksUnsorted {
                index: 2,
                ts_ms: 5,
                prev_ts_ms: 10,
            }),
        );
    }

    #[test]
    fn error_messages() {
        let err = chain(&blocks("I0 B7"), 7).unwrap_err();
        assert_eq!(
            err.to_string(),
            "B-block 1 (pts 7 ms) has no forward anchor after it"
        );
        let err = range(&blocks("P3 I7"), 0, 7).unwrap_err();
        assert_eq!(
            err.to_string(),
            "block 0 (P, pts 3 ms) has no keyframe before it"
        );
    }
}
