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
    AdapterRegistry, Block, BlockKind, DspAdapter, EncoderConfig, NullAdapter, PcmMix, Present,
    Step, decode_plan, decode_plan_each, encode, in_presentation_order,
};
use h4mk_mt::{Demuxer, MuxOptions, Muxer, Sidecars, TrackSpec};

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

/// Each segment overlap-added as it comes, into the whole output.
fn dsp_decode(blocks: &[Block], steps: &[Step]) -> usize {
    let mut mix = PcmMix::default();
    let mut adapter = DspAdapter::default();
    decode_plan_each(&mut adapter, blocks, steps, Present::All, |r| mix.add(&r)).unwrap();
    mix.finish().unwrap().samples.len()
}

/// `blocks` as track 1 of a container, handed over in presentation order as `h4mk encode`
/// does.
fn container(blocks: &[Block]) -> Vec<u8> {
    let track = TrackSpec {
        track_id: 1,
        name: "mix".into(),
        kind: "audio".into(),
        codec: "dsp1".into(),
        sample_rate: RATE,
        channels: 1,
        note: String::new(),
    };
    let sidecars = Sidecars::default();
    let mut mux = Muxer::new(Vec::new(), vec![track], &sidecars, MuxOptions::default()).unwrap();
    for b in in_presentation_order(blocks) {
        mux.push(1, b.ts_ms, b.kind, &b.bytes).unwrap();
    }
    mux.finish().unwrap().0
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
        // From a container through the registry, to WAV bytes that are discarded: decoded
        // whole then written, and written as it decodes (`h4mk decode`).
        let file = container(&blocks);
        let demux = Demuxer::open(&file).unwrap();
        let track = demux.range(1, 0, u32::MAX).unwrap();
        let all = Present::Range {
            start_ms: 0,
            end_ms: u32::MAX,
        };
        let mut dsp = AdapterRegistry::default().get("dsp").unwrap();
        group.bench_function("dsp_to_wav_whole", |b| {
            b.iter(|| {
                let decoded = dsp.decode(black_box(&track), all).unwrap();
                decoded.write_to(&mut std::io::sink()).unwrap();
            })
        });
        group.bench_function("dsp_to_wav_as_it_goes", |b| {
            b.iter(|| {
                let prepared = dsp.prepare(black_box(&track), all).unwrap();
                dsp.write(&track, all, prepared, &mut std::io::sink())
                    .unwrap();
            })
        });
        group.finish();
    }
}

/// One keyframe and `p_blocks` P-blocks of 16 bytes, 1 ms apart, as one track's container.
fn one_long_group(p_blocks: u32) -> Vec<u8> {
    let blocks: Vec<Block> = (0..=p_blocks)
        .map(|ts_ms| Block {
            ts_ms,
            kind: if ts_ms == 0 {
                BlockKind::Key
            } else {
                BlockKind::Predictive
            },
            bytes: vec![ts_ms as u8; 16],
        })
        .collect();
    container(&blocks)
}

/// `h4mk decode --adapter null` of a whole track that is one group of blocks, at two lengths:
/// the time per block should not grow with the group. It grew with it, 8 s for 40,000
/// P-blocks, when each state copied its anchor's chain and the registry's decoder rendered
/// each block as its whole chain to drop it.
fn null_long_group(c: &mut Criterion) {
    let mut group = c.benchmark_group("null_one_group");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3));
    for p_blocks in [2_000u32, 20_000] {
        let file = one_long_group(p_blocks);
        let demux = Demuxer::open(&file).unwrap();
        let track = demux.range(1, 0, u32::MAX).unwrap();
        let all = Present::Range {
            start_ms: 0,
            end_ms: u32::MAX,
        };
        let mut null = AdapterRegistry::default().get("null").unwrap();
        group.throughput(Throughput::Elements(u64::from(p_blocks) + 1));
        group.bench_function(format!("{p_blocks}_p_blocks"), |b| {
            b.iter(|| {
                let prepared = null.prepare(black_box(&track), all).unwrap();
                null.write(&track, all, prepared, &mut std::io::sink())
                    .unwrap();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decode, null_long_group);
criterion_main!(benches);
