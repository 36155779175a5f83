//! Integration tests of h4mk-adapters: one binary, one module per concern.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose; helpers outside #[test] too.

mod container;
mod driver;
mod dsp0;
mod dsp1;
mod robustness;
mod roundtrip;

use h4mk_adapters::{Block, BlockKind, DspAdapter, Pcm, Present, Step, decode_plan, render_pcm};

/// The test signal: three tones and a linear chirp from 100 Hz to 8 kHz, peaking below 0.8.
pub(crate) fn test_signal(sample_rate: u32, seconds: f32) -> Vec<f32> {
    let sr = sample_rate as f64;
    let len = (seconds as f64 * sr) as usize;
    let (f0, f1, dur) = (100.0, 8000.0, seconds as f64);
    (0..len)
        .map(|i| {
            let t = i as f64 / sr;
            let tau = std::f64::consts::TAU;
            let tones = 0.25 * (tau * 220.0 * t).sin()
                + 0.15 * (tau * 1000.0 * t + 0.3).sin()
                + 0.1 * (tau * 3520.0 * t + 1.1).sin();
            let chirp = 0.2 * (tau * (f0 * t + (f1 - f0) * t * t / (2.0 * dur))).sin();
            (tones + chirp) as f32
        })
        .collect()
}

/// Signal-to-noise ratio in dB of `decoded` against `reference`.
pub(crate) fn snr_db(reference: &[f32], decoded: &[f32]) -> f64 {
    assert_eq!(reference.len(), decoded.len());
    let signal: f64 = reference.iter().map(|&x| f64::from(x).powi(2)).sum();
    let noise: f64 = reference
        .iter()
        .zip(decoded)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    10.0 * (signal / noise).log10()
}

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
