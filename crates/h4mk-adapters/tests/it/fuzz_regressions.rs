//! Replays every committed fuzz input (`fuzz/corpus/<target>/regressions/*`), whatever its
//! target, through the checks of the `chain_plan` target (any bytes read as a block sequence),
//! of the `dsp_decode` target (any bytes read as decode steps) and of the `wav` target (any
//! bytes read as a WAV file and encoded), so a plain `cargo test` on
//! stable catches a crasher coming back. The checks are the fuzz harness's own
//! (`fuzz/src/checks_plan.rs`, `fuzz/src/checks_dsp.rs`, `fuzz/src/checks_wav.rs`): h4mk-gop's
//! planners, decoded through this crate's `NullAdapter`; this crate's `DspAdapter`; and its
//! WAV reading and encoder.

use std::path::Path;

use h4mk_adapters::{EncoderConfig, encode, signal::sample_mix};

use crate::checks_dsp::{self, Op};
use crate::checks_plan;
use crate::checks_wav;
use crate::replay::replay_all;

#[test]
fn every_fuzz_regression_passes_the_plan_and_dsp_checks() {
    let corpus = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus"));
    // Any bytes read both ways: every input, whatever its target.
    replay_all(corpus, &|_target, data| {
        checks_plan::chain_plan(data);
        checks_dsp::dsp_decode(data);
        checks_wav::wav(data);
    });
}

/// Runs `steps` under the `dsp_decode` checks and asserts that every one decodes and renders:
/// the harness then reaches the whole decoder, not only its errors.
#[track_caller]
fn assert_decodes_whole(steps: &[(Op, &[u8])], what: &str) {
    let (outcomes, mixed) = checks_dsp::run(&mut checks_dsp::adapter(), steps);
    assert_eq!(outcomes.len(), steps.len(), "{what}");
    assert!(mixed.is_ok(), "{what}: {mixed:?}");
    for (i, outcome) in outcomes.iter().enumerate() {
        let (_, rendered) = outcome
            .as_ref()
            .unwrap_or_else(|e| panic!("{what}, step {i}: {e}"));
        assert!(rendered.is_ok(), "{what}, step {i}: {rendered:?}");
    }
}

/// The seeds committed for `target` (`fuzz/corpus/TARGET/seeds/`), with their paths; at least
/// `least` of them.
fn seeds(target: &str, least: usize) -> Vec<(String, Vec<u8>)> {
    let corpus = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus"));
    let dir = corpus.join(target).join("seeds");
    let seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            (path.display().to_string(), std::fs::read(&path).unwrap())
        })
        .collect();
    assert!(
        seeds.len() >= least,
        "{} seeds under {}",
        seeds.len(),
        dir.display()
    );
    seeds
}

#[test]
fn every_dsp_decode_seed_decodes_whole() {
    for (path, data) in seeds("dsp_decode", 3) {
        assert_decodes_whole(&checks_dsp::steps(&data), &path);
    }
}

/// The harness reaches the encoder from every seed: each reads and encodes to blocks.
#[test]
fn every_wav_seed_reads_and_encodes() {
    for (path, data) in seeds("wav", 2) {
        let pcm = h4mk_adapters::read_wav(&data[1..]).unwrap();
        assert!(pcm.samples.len() <= checks_wav::MAX_ENCODED);
        let blocks = encode(&pcm.samples, pcm.sample_rate, &EncoderConfig::default()).unwrap();
        assert!(!blocks.is_empty(), "{path}");
        checks_wav::wav(&data);
    }
}

#[test]
fn an_encoded_stream_laid_out_as_steps_decodes_whole_under_the_dsp_checks() {
    // The layout the `dsp_decode` seeds use: each block with its op, in decode order.
    let config = EncoderConfig {
        b_blocks: 1,
        key_interval: 4,
        ..EncoderConfig::default()
    };
    let blocks = encode(&sample_mix(16_000, 0.5), 16_000, &config).unwrap();
    let steps: Vec<(Op, &[u8])> = blocks
        .iter()
        .map(|b| (Op::of(b.kind), &b.bytes[..]))
        .collect();
    let input = checks_dsp::input(&steps);
    assert_eq!(checks_dsp::steps(&input), steps);
    assert!(steps.iter().any(|(op, _)| *op == Op::Bidirectional));
    assert_decodes_whole(&steps, "sample mix at the defaults");
    checks_dsp::dsp_decode(&input);
}
