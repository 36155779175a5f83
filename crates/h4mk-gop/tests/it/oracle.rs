//! A slow, obviously-correct planner and a two-state decode driver, written from
//! docs/FORMAT.md §5 without looking at how the crate does it.
//!
//! The oracle works by dependency closure: every block lists the blocks it reads from
//! (P: its previous anchor; B: its previous and next anchors), a plan is the closure of the
//! blocks to show, and decode order puts each anchor at its storage position and each B-block
//! right after its forward anchor.

use std::collections::BTreeSet;

use h4mk_gop::{BlockInfo, BlockKind, Error, Step};

fn is_anchor(kind: BlockKind) -> bool {
    matches!(kind, BlockKind::Key | BlockKind::Predictive)
}

/// The last anchor stored before `i`.
pub(crate) fn prev_anchor(blocks: &[BlockInfo], i: usize) -> Option<usize> {
    (0..i).rev().find(|&j| is_anchor(blocks[j].kind))
}

/// The first anchor stored after `i`.
pub(crate) fn next_anchor(blocks: &[BlockInfo], i: usize) -> Option<usize> {
    (i + 1..blocks.len()).find(|&j| is_anchor(blocks[j].kind))
}

/// Every block `i` needs (itself included), and whether a previous anchor (so, in the end, a
/// keyframe) or a forward anchor is missing anywhere on the way.
struct Closure {
    needed: BTreeSet<usize>,
    missing_keyframe: bool,
    missing_forward: bool,
}

fn closure(blocks: &[BlockInfo], i: usize) -> Closure {
    let mut out = Closure {
        needed: BTreeSet::new(),
        missing_keyframe: false,
        missing_forward: false,
    };
    let mut todo = vec![i];
    while let Some(j) = todo.pop() {
        if !out.needed.insert(j) {
            continue;
        }
        if blocks[j].kind == BlockKind::Key {
            continue;
        }
        match prev_anchor(blocks, j) {
            Some(k) => todo.push(k),
            None => out.missing_keyframe = true,
        }
        if blocks[j].kind == BlockKind::Bidirectional {
            match next_anchor(blocks, j) {
                Some(k) => todo.push(k),
                None => out.missing_forward = true,
            }
        }
    }
    out
}

/// Puts a set of blocks in decode order.
fn decode_order(blocks: &[BlockInfo], needed: &BTreeSet<usize>) -> Vec<Step> {
    let mut keyed: Vec<((usize, u8, usize), usize)> = needed
        .iter()
        .map(|&i| {
            let key = if is_anchor(blocks[i].kind) {
                (i, 0, i)
            } else {
                (next_anchor(blocks, i).expect("checked by closure"), 1, i)
            };
            (key, i)
        })
        .collect();
    keyed.sort();
    keyed
        .into_iter()
        .map(|(_, index)| Step {
            index,
            kind: blocks[index].kind,
        })
        .collect()
}

fn first_descent(blocks: &[BlockInfo]) -> Option<Error> {
    (1..blocks.len())
        .find(|&i| blocks[i].ts_ms < blocks[i - 1].ts_ms)
        .map(|i| Error::BlocksUnsorted {
            index: i,
            ts_ms: blocks[i].ts_ms,
            prev_ts_ms: blocks[i - 1].ts_ms,
        })
}

/// What `chain(blocks, t)` must return.
pub(crate) fn chain(blocks: &[BlockInfo], t: u32) -> Result<Vec<Step>, Error> {
    if let Some(err) = first_descent(blocks) {
        return Err(err);
    }
    let Some(target) = (0..blocks.len()).filter(|&i| blocks[i].ts_ms <= t).max() else {
        return Ok(vec![]);
    };
    if !(0..=target).any(|i| blocks[i].kind == BlockKind::Key) {
        return Ok(vec![]);
    }
    let c = closure(blocks, target);
    assert!(!c.missing_keyframe, "an I-block precedes the target");
    if c.missing_forward {
        return Err(Error::MissingForwardAnchor {
            index: target,
            ts_ms: blocks[target].ts_ms,
        });
    }
    Ok(decode_order(blocks, &c.needed))
}

/// What `range(blocks, t0, t1)` must return.
pub(crate) fn range(blocks: &[BlockInfo], t0: u32, t1: u32) -> Result<Vec<Step>, Error> {
    if t0 > t1 {
        return Err(Error::InvalidRange {
            t0_ms: t0,
            t1_ms: t1,
        });
    }
    if let Some(err) = first_descent(blocks) {
        return Err(err);
    }
    let presented: Vec<usize> = (0..blocks.len())
        .filter(|&i| (t0..=t1).contains(&blocks[i].ts_ms))
        .collect();
    // First presented block that cannot be decoded for want of a keyframe.
    for &i in &presented {
        if closure(blocks, i).missing_keyframe {
            let b = blocks[i];
            return Err(Error::MissingKeyframe {
                index: i,
                ts_ms: b.ts_ms,
                kind: b.kind,
            });
        }
    }
    let mut needed = BTreeSet::new();
    for &i in &presented {
        let c = closure(blocks, i);
        if c.missing_forward {
            return Err(Error::MissingForwardAnchor {
                index: i,
                ts_ms: blocks[i].ts_ms,
            });
        }
        needed.extend(c.needed);
    }
    Ok(decode_order(blocks, &needed))
}

/// Runs `steps` through a driver that keeps only the last two anchors decoded, and checks that
/// each step finds the state it needs, that no step repeats, and that every block in `shown`
/// is decoded.
#[track_caller]
pub(crate) fn drive(blocks: &[BlockInfo], steps: &[Step], shown: &[usize]) {
    let mut prev: Option<usize> = None;
    let mut last: Option<usize> = None;
    let mut seen = BTreeSet::new();
    for (n, step) in steps.iter().enumerate() {
        let i = step.index;
        assert!(i < blocks.len(), "step {n} indexes past the end");
        assert_eq!(step.kind, blocks[i].kind, "step {n} has the wrong kind");
        assert!(seen.insert(i), "step {n} decodes block {i} twice");
        match step.kind {
            BlockKind::Key => (prev, last) = (last, Some(i)),
            BlockKind::Predictive => {
                assert_eq!(
                    last,
                    prev_anchor(blocks, i),
                    "P step {n} (block {i}) on wrong state"
                );
                (prev, last) = (last, Some(i));
            }
            BlockKind::Bidirectional => {
                assert_eq!(
                    (prev, last),
                    (prev_anchor(blocks, i), next_anchor(blocks, i)),
                    "B step {n} (block {i}) without both anchors just before it"
                );
            }
        }
    }
    for i in shown {
        assert!(seen.contains(i), "block {i} is never decoded");
    }
}
