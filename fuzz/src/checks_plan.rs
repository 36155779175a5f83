//! The checks behind the `chain_plan` fuzz target: h4mk-gop's decode planning ([`chain`] and
//! [`range`]) over any block sequence, and every plan decoded through h4mk-adapters'
//! [`NullAdapter`] with [`decode_plan`].
//!
//! This file is the one copy of these checks. The fuzz crate exposes it as
//! `h4mk_fuzz::checks_plan`; the stable test binary of h4mk-adapters includes it with `#[path]`
//! (tests/it/main.rs), where `fuzz_regressions.rs` replays every committed fuzz input through
//! it. So it depends on `h4mk_gop`, `h4mk_adapters` and `std` only.
//!
//! The input is a run of little-endian u32 words, one block each, laid out as the flags word of
//! a CORE chunk (docs/FORMAT.md §3): pts in bits 0..27, block type in bits 28..29 (the reserved
//! type 3 reads as B), bits 30..31 ignored. So the flags words of a real track are a seed as
//! they stand (`cargo xtask fuzz-smoke` writes those of the fixtures), and pts may go backwards,
//! which the planners must refuse.
//!
//! What must hold, for `chain` at every block's pts (and one either side, 0 and `u32::MAX`) and
//! `range` over windows of blocks:
//! - the answer is exactly the one the rules of docs/FORMAT.md §5 give, computed here by a
//!   plain model: the error when there is one (unsorted pts, missing keyframe, missing forward
//!   anchor, `t0 > t1`), else the exact set of blocks, with no duplicates;
//! - the plan runs on a driver that keeps two states: a P step comes right after its previous
//!   anchor, a B step right after both of its anchors (the last two anchors decoded are exactly
//!   the anchor before it and the one after it, in storage order);
//! - `decode_plan` through `NullAdapter` succeeds and renders each presented block as the
//!   blocks it depends on, in decode order: what the plan must have decoded to show it.

use h4mk_adapters::{Block, NullAdapter, Present, decode_plan};
use h4mk_gop::{BlockInfo, BlockKind, Error, MAX_TIMESTAMP_MS, Step, chain, range};

/// The most blocks read from one input: plans are O(n) each and there are O(n) of them.
pub const MAX_BLOCKS: usize = 256;

/// Plans decoded per kind of query (chain, range); the others are only checked as plans.
const DECODED_PLANS: usize = 24;

/// The checks of a fuzz target by its name, for the replay of `fuzz/corpus/<name>/regressions`.
pub fn by_name(target: &str) -> Option<fn(&[u8])> {
    match target {
        "chain_plan" => Some(chain_plan),
        _ => None,
    }
}

/// The blocks an input stands for: one per 4-byte word, at most [`MAX_BLOCKS`].
pub fn blocks(data: &[u8]) -> Vec<BlockInfo> {
    data.chunks_exact(4)
        .take(MAX_BLOCKS)
        .map(|w| {
            let word = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            let kind = match (word >> 28) & 0b11 {
                0 => BlockKind::Key,
                1 => BlockKind::Predictive,
                _ => BlockKind::Bidirectional,
            };
            BlockInfo {
                ts_ms: word & MAX_TIMESTAMP_MS,
                kind,
            }
        })
        .collect()
}

/// Target `chain_plan`: `chain` and `range` over the blocks of `data` give exactly the plans the
/// model gives, and each decodes through `NullAdapter` to what it must.
pub fn chain_plan(data: &[u8]) {
    let blocks = blocks(data);
    let model = Model::new(&blocks);
    // Each block's bytes name it, so NullAdapter's output says which blocks it was built from.
    let source: Vec<Block> = blocks
        .iter()
        .enumerate()
        .map(|(index, b)| Block {
            ts_ms: b.ts_ms,
            kind: b.kind,
            bytes: name(index).to_vec(),
        })
        .collect();

    let mut times = vec![0, u32::MAX, MAX_TIMESTAMP_MS];
    for b in &blocks {
        times.extend([
            b.ts_ms.saturating_sub(1),
            b.ts_ms,
            b.ts_ms.saturating_add(1),
        ]);
    }
    for (q, &t) in times.iter().enumerate() {
        let got = chain(&blocks, t);
        if let Some((steps, target)) = model.check_chain(t, got)
            && q < DECODED_PLANS
        {
            model.check_decode(&source, &steps, Present::Index(target));
        }
    }

    let mut ranges = vec![(0, u32::MAX), (1, 0), (MAX_TIMESTAMP_MS + 1, u32::MAX)];
    for (i, b) in blocks.iter().enumerate() {
        let later = blocks.get(i + 3).or(blocks.last()).map_or(0, |l| l.ts_ms);
        ranges.push((b.ts_ms, b.ts_ms));
        ranges.push((b.ts_ms.saturating_sub(1), later));
        ranges.push((b.ts_ms.saturating_add(1), later));
    }
    for (q, &(t0, t1)) in ranges.iter().enumerate() {
        let got = range(&blocks, t0, t1);
        if let Some(steps) = model.check_range(t0, t1, got)
            && q < DECODED_PLANS
        {
            model.check_decode(
                &source,
                &steps,
                Present::Range {
                    start_ms: t0,
                    end_ms: t1,
                },
            );
            // The same plan with its blocks before t0 + 1 as leads.
            model.check_decode(
                &source,
                &steps,
                Present::Lead {
                    lead_ms: t0,
                    start_ms: t0.saturating_add(1),
                    end_ms: t1,
                },
            );
            // The same plan cut to the time after t0: every block rendered and presented.
            model.check_decode(
                &source,
                &steps,
                Present::Cut {
                    lead_ms: t0,
                    from_ms: t0.saturating_add(1),
                    to_ms: t1,
                },
            );
        }
    }
}

/// The bytes of block `index` in the source NullAdapter decodes.
fn name(index: usize) -> [u8; 2] {
    u16::try_from(index).unwrap_or(u16::MAX).to_le_bytes()
}

/// The rules of docs/FORMAT.md §5, computed the plain way for one block sequence.
struct Model<'b> {
    blocks: &'b [BlockInfo],
    /// First index whose pts is below its predecessor's.
    unsorted: Option<usize>,
    /// Per block: the last I-block at or before it.
    key: Vec<Option<usize>>,
    /// Per block: the last anchor (I or P) before it.
    prev_anchor: Vec<Option<usize>>,
    /// Per block: the first anchor after it.
    next_anchor: Vec<Option<usize>>,
}

impl<'b> Model<'b> {
    fn new(blocks: &'b [BlockInfo]) -> Self {
        let n = blocks.len();
        let unsorted = (1..n).find(|&i| blocks[i].ts_ms < blocks[i - 1].ts_ms);
        let mut key = Vec::with_capacity(n);
        let mut prev_anchor = Vec::with_capacity(n);
        let (mut k, mut a) = (None, None);
        for (i, b) in blocks.iter().enumerate() {
            prev_anchor.push(a);
            if b.kind == BlockKind::Key {
                k = Some(i);
            }
            if b.kind.is_anchor() {
                a = Some(i);
            }
            key.push(k);
        }
        let mut next_anchor = vec![None; n];
        let mut a = None;
        for i in (0..n).rev() {
            next_anchor[i] = a;
            if blocks[i].kind.is_anchor() {
                a = Some(i);
            }
        }
        Model {
            blocks,
            unsorted,
            key,
            prev_anchor,
            next_anchor,
        }
    }

    fn is_b(&self, i: usize) -> bool {
        self.blocks[i].kind == BlockKind::Bidirectional
    }

    /// Checks one `chain(t)` answer; returns the plan and its target when there is one.
    fn check_chain(&self, t: u32, got: Result<Vec<Step>, Error>) -> Option<(Vec<Step>, usize)> {
        if let Some(bad) = self.unsorted {
            assert!(
                matches!(got, Err(Error::BlocksUnsorted { index, .. }) if index == bad),
                "chain({t}) over pts going back at block {bad}: {got:?}"
            );
            return None;
        }
        let target = self.blocks.partition_point(|b| b.ts_ms <= t).checked_sub(1);
        let Some((target, key)) = target.and_then(|i| Some((i, self.key[i]?))) else {
            assert!(
                matches!(&got, Ok(s) if s.is_empty()),
                "chain({t}) with nothing to show: {got:?}"
            );
            return None;
        };
        let forward = self.next_anchor[target];
        if self.is_b(target) && forward.is_none() {
            assert!(
                matches!(got, Err(Error::MissingForwardAnchor { index, .. }) if index == target),
                "chain({t}) to B-block {target} with no anchor after it: {got:?}"
            );
            return None;
        }
        let steps = got.unwrap_or_else(|e| panic!("chain({t}) to block {target} failed: {e}"));
        // The anchors from the keyframe to the target, then the forward anchor and the target
        // when it is a B-block.
        let mut want: Vec<usize> = (key..=target)
            .filter(|&i| self.blocks[i].kind.is_anchor())
            .collect();
        if self.is_b(target) {
            want.extend(forward);
            want.push(target);
        }
        let got_indices: Vec<usize> = steps.iter().map(|s| s.index).collect();
        assert_eq!(got_indices, want, "chain({t})");
        self.check_driver(&steps);
        Some((steps, target))
    }

    /// Checks one `range(t0, t1)` answer; returns the plan when there is one.
    fn check_range(&self, t0: u32, t1: u32, got: Result<Vec<Step>, Error>) -> Option<Vec<Step>> {
        if t0 > t1 {
            assert!(
                matches!(got, Err(Error::InvalidRange { .. })),
                "range({t0}, {t1}): {got:?}"
            );
            return None;
        }
        if let Some(bad) = self.unsorted {
            assert!(
                matches!(got, Err(Error::BlocksUnsorted { index, .. }) if index == bad),
                "range({t0}, {t1}) over pts going back at block {bad}: {got:?}"
            );
            return None;
        }
        let lo = self.blocks.partition_point(|b| b.ts_ms < t0);
        let hi = self.blocks.partition_point(|b| b.ts_ms <= t1);
        if lo >= hi {
            assert!(
                matches!(&got, Ok(s) if s.is_empty()),
                "range({t0}, {t1}) presents nothing: {got:?}"
            );
            return None;
        }
        let Some(key) = self.key[lo] else {
            assert!(
                matches!(got, Err(Error::MissingKeyframe { index, .. }) if index == lo),
                "range({t0}, {t1}) from block {lo} with no keyframe before it: {got:?}"
            );
            return None;
        };
        if let Some(stranded) = (lo..hi).find(|&i| self.is_b(i) && self.next_anchor[i].is_none()) {
            assert!(
                matches!(got, Err(Error::MissingForwardAnchor { index, .. }) if index == stranded),
                "range({t0}, {t1}) presents B-block {stranded}, with no anchor after it: {got:?}"
            );
            return None;
        }
        let steps = got.unwrap_or_else(|e| panic!("range({t0}, {t1}) failed: {e}"));
        // Every anchor from the keyframe on, every presented B-block, and the forward anchor of
        // B-blocks at the end of the range.
        let mut want: Vec<usize> = (key..hi)
            .filter(|&i| self.blocks[i].kind.is_anchor() || i >= lo)
            .collect();
        want.extend(
            (lo..hi)
                .filter(|&i| self.is_b(i))
                .filter_map(|i| self.next_anchor[i])
                .filter(|&a| a >= hi)
                .take(1),
        );
        let mut got_indices: Vec<usize> = steps.iter().map(|s| s.index).collect();
        got_indices.sort_unstable();
        assert_eq!(got_indices, want, "range({t0}, {t1}) (sorted indices)");
        self.check_driver(&steps);
        Some(steps)
    }

    /// The plan runs on a two-state driver: no block twice, each step labelled with its
    /// block's type, anchors in storage order, a P step right after its previous anchor, a B
    /// step with exactly its two anchors as the last two anchors decoded.
    fn check_driver(&self, steps: &[Step]) {
        let mut seen = vec![false; self.blocks.len()];
        let (mut prev, mut last): (Option<usize>, Option<usize>) = (None, None);
        for s in steps {
            let i = s.index;
            let block = self
                .blocks
                .get(i)
                .expect("a step names a block of the slice");
            assert!(!seen[i], "block {i} planned twice: {steps:?}");
            seen[i] = true;
            assert_eq!(s.kind, block.kind, "step {i} mislabelled");
            match s.kind {
                BlockKind::Key => {}
                BlockKind::Predictive => assert!(
                    last.is_some() && last == self.prev_anchor[i],
                    "P-block {i} decoded on anchor {last:?}, not on {:?}: {steps:?}",
                    self.prev_anchor[i]
                ),
                BlockKind::Bidirectional => assert!(
                    prev.is_some() && (prev, last) == (self.prev_anchor[i], self.next_anchor[i]),
                    "B-block {i} decoded between {prev:?} and {last:?}, not between {:?} and {:?}: {steps:?}",
                    self.prev_anchor[i],
                    self.next_anchor[i]
                ),
            }
            if s.kind.is_anchor() {
                assert!(
                    last.is_none_or(|l| l < i),
                    "anchors out of order: {steps:?}"
                );
                prev = last;
                last = Some(i);
            }
        }
    }

    /// The blocks block `i` is built from, in decode order (storage order for anchors), itself
    /// last: for an anchor, every anchor since its keyframe; for a B-block, those of both of
    /// its anchors.
    fn depends_on(&self, i: usize) -> Vec<usize> {
        if self.is_b(i) {
            let mut deps: Vec<usize> = [self.prev_anchor[i], self.next_anchor[i]]
                .into_iter()
                .flatten()
                .flat_map(|a| self.depends_on(a))
                .collect();
            deps.sort_unstable();
            deps.dedup();
            deps.push(i);
            deps
        } else {
            let key = self.key[i].unwrap_or(i);
            (key..=i)
                .filter(|&k| self.blocks[k].kind.is_anchor())
                .collect()
        }
    }

    /// `decode_plan` through `NullAdapter` succeeds and renders exactly the presented blocks
    /// and leads, in storage order, each as the blocks it depends on, with the leads marked as
    /// such.
    fn check_decode(&self, source: &[Block], steps: &[Step], present: Present) {
        let rendered = decode_plan(&mut NullAdapter::default(), source, steps, present)
            .unwrap_or_else(|e| panic!("decoding {steps:?} failed: {e}"));
        let shown: Vec<usize> = rendered.iter().map(|r| r.index).collect();
        // Presentation order is storage order (FORMAT.md §5), ties of pts included.
        assert!(
            shown.is_sorted(),
            "outputs for {present:?} not in storage order: {shown:?}"
        );
        let mut want: Vec<usize> = steps
            .iter()
            .map(|s| s.index)
            .filter(|&i| match present {
                Present::All => true,
                Present::Index(t) => i == t,
                Present::Range { start_ms, end_ms } => {
                    (start_ms..=end_ms).contains(&self.blocks[i].ts_ms)
                }
                Present::Lead {
                    lead_ms, end_ms, ..
                } => (lead_ms..=end_ms).contains(&self.blocks[i].ts_ms),
                Present::Cut { lead_ms, .. } => self.blocks[i].ts_ms >= lead_ms,
            })
            .collect();
        want.sort_unstable();
        assert_eq!(shown, want, "blocks rendered for {present:?}");
        for r in &rendered {
            let lead = matches!(present, Present::Lead { start_ms, .. } if r.ts_ms < start_ms);
            assert_eq!(r.lead, lead, "block {} as a lead for {present:?}", r.index);
            let expect: Vec<u8> = self
                .depends_on(r.index)
                .into_iter()
                .flat_map(name)
                .collect();
            assert!(
                r.output == expect,
                "block {} rendered from {:?}, not {:?}",
                r.index,
                r.output,
                expect
            );
        }
    }
}
