//! Decode throughput of `NullAdapter` and `DspAdapter` over 10 s of 48 kHz audio encoded at the
//! default settings.
//!
//! Throughput is reported in elements of one second of audio, so criterion's `elem/s` is the
//! real-time factor: seconds of audio decoded per second.
//! Run with `cargo bench -p h4mk-adapters --bench decode`.
#![allow(clippy::unwrap_used, missing_docs)] // Benches fail loudly; criterion generates undocumented items.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use h4mk_adapters::{
    Block, DspAdapter, EncoderConfig, NullAdapter, PcmMix, Present, Step, decode_plan,
    decode_plan_each, encode,
};

const RATE: u32 = 48_000;
const SECONDS: u64 = 10;

fn signal() -> Vec<f32> {
    h4mk_adapters::signal::sample_mix(RATE, SECONDS as f64)
}

fn plan(blocks: &[Block]) -> Vec<Step> {
    blocks
        .iter()
        .enumerate()
        .map(|(index, b)| Step {
            index,
            kind: b.kind,
        })
        .collect()
}

/// As `h4mk decode` does: each segment overlap-added as it comes.
fn dsp_decode(blocks: &[Block], steps: &[Step]) -> usize {
    let mut mix = PcmMix::default();
    let mut adapter = DspAdapter::default();
    decode_plan_each(&mut adapter, blocks, steps, Present::All, |r| mix.add(&r)).unwrap();
    mix.finish().samples.len()
}

fn null_decode(blocks: &[Block], steps: &[Step]) -> usize {
    let out = decode_plan(&mut NullAdapter::default(), blocks, steps, Present::All).unwrap();
    out.len()
}

fn decode(c: &mut Criterion) {
    for b_blocks in [0, 2] {
        let config = EncoderConfig {
            b_blocks,
            ..EncoderConfig::default()
        };
        let blocks = encode(&signal(), RATE, &config).unwrap();
        let steps = plan(&blocks);
        // One timed pass outside criterion, so the factor shows even in a quick run.
        let t = Instant::now();
        dsp_decode(&blocks, &steps);
        let rtf = SECONDS as f64 / t.elapsed().as_secs_f64();
        eprintln!(
            "dsp decode + render, b_blocks {b_blocks}: real-time factor {rtf:.0}x (one pass)"
        );

        let mut group = c.benchmark_group(format!("decode_10s_48k_b{b_blocks}"));
        group
            .throughput(Throughput::Elements(SECONDS))
            .sample_size(10);
        group.measurement_time(Duration::from_secs(3));
        // NullAdapter renders each block as its whole chain, so presenting every block copies
        // O(GOP²) bytes; presenting nothing measures the pass-through alone.
        group.bench_function("null", |b| {
            b.iter(|| null_decode(black_box(&blocks), &steps))
        });
        group.bench_function("null_parse_only", |b| {
            b.iter(|| {
                decode_plan(
                    &mut NullAdapter::default(),
                    black_box(&blocks[..]),
                    &steps,
                    Present::Index(usize::MAX),
                )
                .unwrap()
            })
        });
        group.bench_function("dsp_parse_only", |b| {
            // Presenting nothing decodes every state but renders none.
            b.iter(|| {
                decode_plan(
                    &mut DspAdapter::default(),
                    black_box(&blocks[..]),
                    &steps,
                    Present::Index(usize::MAX),
                )
                .unwrap()
            })
        });
        group.bench_function("dsp_decode_and_render", |b| {
            b.iter(|| dsp_decode(black_box(&blocks), &steps))
        });
        group.finish();
    }
}

criterion_group!(benches, decode);
criterion_main!(benches);
