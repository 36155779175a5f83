//! What a DSP decode holds, measured by the allocator; in a test binary of its own so that no
//! other test allocates while it measures.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::sync::Mutex;

use h4mk_adapters::{
    AdapterRegistry, BlockKind, Decoded, EncoderConfig, Present, Shape, encode, signal::sample_mix,
};
use h4mk_mt::{Demuxer, MuxOptions, Muxer, Sidecars, TrackSpec};
use peak_alloc::PeakAlloc;

#[global_allocator]
static PEAK: PeakAlloc = PeakAlloc;

/// Held by each test from its start, so that no other test allocates while it measures.
static MEASURING: Mutex<()> = Mutex::new(());

/// A one-track container of `blocks`, handed over in order.
fn container(
    codec: &str,
    sample_rate: u32,
    blocks: impl IntoIterator<Item = (u32, BlockKind, Vec<u8>)>,
) -> Vec<u8> {
    let track = TrackSpec {
        track_id: 1,
        name: codec.into(),
        kind: "audio".into(),
        codec: codec.into(),
        sample_rate,
        channels: 1,
        note: String::new(),
    };
    let mut mux = Muxer::new(
        Vec::new(),
        vec![track],
        &Sidecars::default(),
        MuxOptions::default(),
    )
    .unwrap();
    for (ts_ms, kind, bytes) in blocks {
        mux.push(1, ts_ms, kind, &bytes).unwrap();
    }
    mux.finish().unwrap().0
}

/// A DSP1 I-block (docs/ADAPTERS.md §3.1) of one silent 32,768-point frame at hop 16: it owns
/// the 16 samples from `16 j` on, and renders 32,768.
fn tiny_block(j: u32) -> Vec<u8> {
    let mut b = b"DSP1I\0".to_vec();
    b.extend_from_slice(&32_768u16.to_le_bytes()); // frame_size
    b.extend_from_slice(&16u16.to_le_bytes()); // hop
    b.extend_from_slice(&1u16.to_le_bytes()); // frame_count
    b.extend_from_slice(&16_000u32.to_le_bytes()); // sample_rate
    // Frame 2047 is the first to start at sample 0 (it is padded by 32,768 - 16).
    b.extend_from_slice(&(2_047 + j).to_le_bytes()); // first_frame
    b.extend_from_slice(&16u32.to_le_bytes()); // length
    b.push(0); // no bins
    b
}

/// Blocks that each own 16 samples but render 32,768: a decode that kept every block's
/// samples until the end held 2,048 times its output (docs/ADAPTERS.md §5). Decoded as
/// `h4mk decode` does, it holds its output and a few blocks.
#[test]
fn a_decode_holds_its_output_and_a_few_blocks_not_every_block() {
    let _measuring = MEASURING.lock().unwrap();
    let blocks = 500;
    let file = container(
        "dsp1",
        16_000,
        (0..blocks).map(|j| (j, BlockKind::Key, tiny_block(j))),
    );
    let demux = Demuxer::open(&file).unwrap();
    let steps = demux.range(1, 0, u32::MAX).unwrap();
    let mut decoder = AdapterRegistry::default().get("dsp").unwrap();

    PEAK.reset_peak_usage();
    let base = PEAK.current_usage();
    let present = Present::Range {
        start_ms: 0,
        end_ms: blocks - 1,
    };
    let Decoded::Pcm(pcm) = decoder.decode(&steps, present).unwrap() else {
        panic!("the DSP adapter decodes to PCM");
    };
    let peak = PEAK.peak_usage() - base;

    assert_eq!(pcm.samples.len(), 16 * blocks as usize);
    let block_bytes = 32_768 * 4;
    let held_before = blocks as usize * block_bytes;
    // The mix (its own samples and the last block's tail), a few blocks, the FFT's plan.
    let bound = 16 * block_bytes;
    assert!(
        peak <= bound,
        "peak {peak} bytes for {blocks} blocks of {block_bytes} (bound {bound}, \
         {held_before} if every block were held)"
    );
}

/// Writing a decode as it goes (`prepare`, then `write`, as `h4mk decode` does) holds the
/// samples not final yet, not the output: a minute of audio takes what a second would.
#[test]
fn a_decode_written_as_it_goes_holds_what_is_not_written_yet() {
    let _measuring = MEASURING.lock().unwrap();
    let rate = 48_000;
    let signal = sample_mix(rate, 60.0);
    let blocks = encode(&signal, rate, &EncoderConfig::default()).unwrap();
    let file = container(
        "dsp1",
        rate,
        blocks.into_iter().map(|b| (b.ts_ms, b.kind, b.bytes)),
    );
    drop(signal);
    let demux = Demuxer::open(&file).unwrap();
    let steps = demux.range(1, 0, u32::MAX).unwrap();
    let mut decoder = AdapterRegistry::default().get("dsp").unwrap();
    let present = Present::Range {
        start_ms: 0,
        end_ms: u32::MAX,
    };

    PEAK.reset_peak_usage();
    let base = PEAK.current_usage();
    let prepared = decoder.prepare(&steps, present).unwrap();
    let Shape::Pcm { samples, .. } = prepared.shape() else {
        panic!("the DSP adapter decodes to PCM");
    };
    let mut out = Counted(0);
    decoder.write(&steps, present, prepared, &mut out).unwrap();
    let peak = PEAK.peak_usage() - base;

    assert_eq!(samples, 60 * u64::from(rate));
    assert_eq!(out.0, 44 + 2 * samples);
    // Decoded whole, the output alone is 4 bytes a sample.
    let whole = 4 * samples as usize;
    assert!(
        peak <= whole / 40,
        "peak {peak} bytes writing {samples} samples ({whole} bytes as f32)"
    );
}

/// A sink that only counts what is written to it.
struct Counted(u64);

impl std::io::Write for Counted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
