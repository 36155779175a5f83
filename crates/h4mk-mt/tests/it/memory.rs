//! The streaming muxer's memory stays flat: 1,000,000 blocks to a sink that discards them.
//!
//! This test checks the muxer's own accounting (blocks and bytes held back, seek entries
//! kept). `examples/mux_memory.rs` measures the real allocator peak of the same run:
//! `cargo run --release -p h4mk-mt --example mux_memory`.

use std::io;

use h4mk_gop::BlockKind;
use h4mk_mt::{MuxOptions, Muxer, Sidecars};

use crate::support::spec;

#[test]
fn a_million_blocks_hold_back_at_most_a_block_per_track() {
    let tracks = vec![spec(1), spec(2), spec(3)];
    let mut m = Muxer::new(
        io::sink(),
        tracks,
        &Sidecars::default(),
        MuxOptions::default(),
    )
    .unwrap();
    let opaque = [0x5au8; 64];
    let mut peak = 0;
    for i in 0..1_000_000u32 {
        let track = (i % 3) as u16 + 1;
        let n = i / 3;
        let kind = if n % 250 == 0 {
            BlockKind::Key
        } else {
            BlockKind::Predictive
        };
        m.push(track, n * 20, kind, &opaque).unwrap();
        peak = peak.max(m.held_blocks());
    }
    let (_, summary) = m.finish().unwrap();
    assert_eq!(summary.blocks, 1_000_000);
    // Round-robin hand-over in pts order: at most one block per other track waits.
    assert!(peak <= 2, "peak held {peak}");
    assert_eq!(summary.peak_held_blocks, peak);
    assert!(summary.peak_held_bytes <= 2 * 64);
    let keyframes: u64 = summary.tracks.iter().map(|t| t.keyframes).sum();
    assert_eq!(keyframes, 1_000_000 / 3 / 250 * 3 + 3);
    let tables: u64 = summary.tracks.iter().map(|t| 32 + 8 * t.keyframes).sum();
    assert_eq!(summary.file_len, summary.index.index_offset + tables + 4);
}
