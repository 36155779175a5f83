//! Arbitrary and mutated block bytes never panic: every call returns `Ok` or `Err`.

use h4mk_adapters::{DspAdapter, EncoderConfig, ModelAdapter, NullAdapter, encode};
use proptest::prelude::*;

fn exercise(a: &mut DspAdapter, anchors: &[&[u8]], block: &[u8]) {
    if let Ok(s) = a.decode_key(block) {
        let _ = a.finalize(&s);
    }
    let states: Vec<_> = anchors
        .iter()
        .filter_map(|b| a.decode_key(b).ok())
        .collect();
    if let [prev, next, ..] = &states[..] {
        if let Ok(s) = a.apply_predictive(next, block) {
            let _ = a.finalize(&s);
        }
        if let Ok(s) = a.apply_bidirectional(prev, next, block) {
            let _ = a.finalize(&s);
        }
    }
}

fn stream() -> Vec<Vec<u8>> {
    let config = EncoderConfig {
        key_interval: 1,
        frames_per_block: 4,
        ..EncoderConfig::default()
    };
    encode(&h4mk_adapters::signal::sample_mix(8000, 0.6), 8000, &config)
        .unwrap()
        .into_iter()
        .map(|b| b.bytes)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_after_a_magic(magic in 0usize..3, rest in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut block = [&b"DSP0"[..], b"DSP1", b""][magic].to_vec();
        block.extend(rest);
        let keys = stream();
        exercise(&mut DspAdapter::default(), &[&keys[0], &keys[1]], &block);
        let mut null = NullAdapter::default();
        let s = null.decode_key(&block).unwrap();
        prop_assert_eq!(null.finalize(&s).unwrap(), block);
    }

    #[test]
    fn mutated_blocks(which in 0usize..4, at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let blocks = stream();
        let mut block = blocks[which.min(blocks.len() - 1)].clone();
        let i = at.index(block.len());
        block[i] = byte;
        let keep = block.len() - cut.index(block.len() / 4 + 1);
        block.truncate(keep);
        exercise(&mut DspAdapter::default(), &[&blocks[0], &blocks[1]], &block);
    }
}
