//! Measures the allocator's peak while the streaming muxer writes 1,000,000 blocks to a sink
//! that discards them: `cargo run --release -p h4mk-mt --example mux_memory`.
//!
//! The peak stays flat (it does not grow with the file): the muxer keeps the track states,
//! at most one held block per other track when blocks are handed over in pts order, and the
//! index (16 bytes per keyframe).
#![allow(clippy::unwrap_used)] // An example fails loudly on purpose.

use std::io;

use h4mk_gop::BlockKind;
use h4mk_mt::{MuxOptions, Muxer, Sidecars, TrackSpec};
use peak_alloc::PeakAlloc;

#[global_allocator]
static PEAK: PeakAlloc = PeakAlloc;

fn run(blocks: u32, key_every: u32) -> (usize, h4mk_mt::MuxSummary) {
    let tracks: Vec<TrackSpec> = (1..=3)
        .map(|id| TrackSpec {
            track_id: id,
            name: format!("t{id}"),
            kind: "audio".into(),
            codec: "h4core".into(),
            sample_rate: 48_000,
            channels: 2,
            note: String::new(),
        })
        .collect();
    let opaque = vec![0x5au8; 1024];
    PEAK.reset_peak_usage();
    let base = PEAK.current_usage();
    let mut m = Muxer::new(
        io::sink(),
        tracks,
        &Sidecars::default(),
        MuxOptions::default(),
    )
    .unwrap();
    for i in 0..blocks {
        let track = (i % 3) as u16 + 1;
        let n = i / 3;
        let kind = if n % key_every == 0 {
            BlockKind::Key
        } else {
            BlockKind::Predictive
        };
        m.push(track, n * 20, kind, &opaque).unwrap();
    }
    let (_, summary) = m.finish().unwrap();
    (PEAK.peak_usage().saturating_sub(base), summary)
}

fn main() {
    println!("blocks     key_every  file_bytes      keyframes  peak_heap_bytes  peak_held_blocks");
    for (blocks, key_every) in [
        (10_000, 250),
        (100_000, 250),
        (1_000_000, 250),
        (1_000_000, 1_000_000),
    ] {
        let (peak, s) = run(blocks, key_every);
        let keys: u64 = s.tracks.iter().map(|t| t.keyframes).sum();
        println!(
            "{blocks:<10} {key_every:<10} {:<15} {keys:<10} {peak:<16} {}",
            s.file_len, s.peak_held_blocks
        );
    }
}
