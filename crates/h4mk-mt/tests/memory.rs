//! What a remux holds, measured by the allocator; in a test binary of its own so that no other
//! test allocates while it measures.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use h4mk_gop::BlockKind;
use h4mk_mt::{Demuxer, MuxOptions, Pick, RemuxOptions, Sidecars, remux};
use peak_alloc::PeakAlloc;

#[path = "it/support.rs"]
#[allow(dead_code)] // This binary uses a few of the shared helpers.
mod support;

use support::{Input, mux, spec};

#[global_allocator]
static PEAK: PeakAlloc = PeakAlloc;

/// Tracks 1 and 2: `n` blocks each, every 20 ms, a keyframe every 25 blocks (half a second).
/// Track 3: a block every 10 s, keyframes only at 0 ms and at its last block.
fn three_tracks(n: u32) -> Vec<u8> {
    let sparse_last = (n - 1) / 500 * 500;
    let mut inputs = Vec::new();
    for i in 0..n {
        let block = |track, key| Input {
            track,
            ts_ms: i * 20,
            kind: if key {
                BlockKind::Key
            } else {
                BlockKind::Predictive
            },
            opaque: i.to_le_bytes().to_vec(),
        };
        if i % 500 == 0 {
            inputs.push(block(3, i == 0 || i == sparse_last));
        }
        inputs.extend([block(1, i % 25 == 0), block(2, i % 25 == 0)]);
    }
    mux(&[spec(1), spec(2), spec(3)], &inputs, MuxOptions::default())
}

/// A cut open to the end (`h4mk remux --from-ms A` with no `--to-ms`) plans its start and
/// ends each track with its last block: it holds about a group of blocks per track, where
/// planning the whole span held every block after its start. Each track is planned only as
/// far as its own start needs: the sparse track, whose next keyframe is its last block, does
/// not make the others hold every block to the end.
#[test]
fn a_cut_open_to_the_end_holds_a_group_of_blocks_not_the_span() {
    let n = 100_000;
    let file = three_tracks(n);
    let inputs = [Demuxer::open(&file).unwrap()];
    let picks = [1, 2, 3].map(|track| Pick {
        input: 0,
        track,
        as_track: track,
    });
    let cut = |t1_ms: u32| {
        let opts = RemuxOptions {
            span: Some((60_000, t1_ms)),
            ..RemuxOptions::default()
        };
        PEAK.reset_peak_usage();
        let base = PEAK.current_usage();
        let (_, summary) =
            remux(std::io::sink(), &inputs, &picks, &Sidecars::default(), opts).unwrap();
        (PEAK.peak_usage() - base, summary.written)
    };
    let (open, written) = cut(u32::MAX);
    // Tracks 1 and 2 from the keyframe before the block before 60 s, to the end; track 3
    // from its first keyframe.
    let blocks: Vec<u64> = written.tracks.iter().map(|t| t.blocks).collect();
    assert_eq!(blocks, [u64::from(n - 2_975), u64::from(n - 2_975), 200]);
    // The new file's index (16 bytes a keyframe, doubled by a growing `Vec`), a group of
    // blocks of tracks 1 and 2, and track 3's 200 blocks, all in its one group. Planning the
    // span whole held 29.6 MB for these blocks.
    let keyframes: u64 = written.tracks.iter().map(|t| t.keyframes).sum();
    let bound = 2 * 16 * keyframes as usize + (128 << 10);
    assert!(
        open <= bound,
        "open to the end: {open} bytes (bound {bound}); planned whole: {} bytes",
        cut((n - 1) * 20 - 1).0
    );
}
