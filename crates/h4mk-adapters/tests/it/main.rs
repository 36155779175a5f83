//! Integration tests of h4mk-adapters: one binary, one module per concern.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose; helpers outside #[test] too.

// The checks of the `chain_plan` fuzz target, one copy shared with fuzz/ (its own workspace, so
// included by path).
#[allow(dead_code, unreachable_pub)]
#[path = "../../../../fuzz/src/checks_plan.rs"]
mod checks_plan;
// And of the `dsp_decode` target.
#[allow(dead_code, unreachable_pub)]
#[path = "../../../../fuzz/src/checks_dsp.rs"]
mod checks_dsp;
// And of the `wav` target.
#[allow(dead_code, unreachable_pub)]
#[path = "../../../../fuzz/src/checks_wav.rs"]
mod checks_wav;
mod container;
mod driver;
mod dsp0;
mod dsp1;
mod fuzz_regressions;
// The replay loop, one copy shared with the other layers' replay tests.
#[allow(unreachable_pub)]
#[path = "../../../../fuzz/src/replay.rs"]
mod replay;
mod robustness;
mod roundtrip;
mod stream;
mod timing;

// The fixtures' folder and names, one copy shared by every layer's tests.
#[allow(dead_code)]
#[path = "../../../h4mk-format/tests/it/reference_fixtures.rs"]
mod reference_fixtures;

use h4mk_adapters::{Block, BlockKind, DspAdapter, Pcm, Present, Step, decode_plan, render_pcm};

/// Every block, in decode order.
pub(crate) fn plan_all(blocks: &[Block]) -> Vec<Step> {
    blocks
        .iter()
        .enumerate()
        .map(|(index, b)| Step {
            index,
            kind: b.kind,
        })
        .collect()
}

/// The plan for a seek to the keyframe at decode position `key`: everything from it on, except
/// the B-blocks presented before it (they belong to the previous group).
pub(crate) fn plan_from_key(blocks: &[Block], key: usize) -> Vec<Step> {
    assert_eq!(blocks[key].kind, BlockKind::Key);
    let ts = blocks[key].ts_ms;
    plan_all(blocks)
        .into_iter()
        .skip(key)
        .filter(|s| !(s.kind == BlockKind::Bidirectional && blocks[s.index].ts_ms < ts))
        .collect()
}

/// Decodes `steps` with a fresh [`DspAdapter`] and overlap-adds the result.
pub(crate) fn decode_pcm(blocks: &[Block], steps: &[Step]) -> Pcm {
    let rendered = decode_plan(&mut DspAdapter::default(), blocks, steps, Present::All).unwrap();
    render_pcm(&rendered).unwrap()
}
