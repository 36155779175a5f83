//! Where a decode places its blocks in time: a gap left by blocks a track lost is silence
//! when the rest of the track justifies it, timing that spreads a few blocks far apart is
//! still refused, and a track whose timestamps were all moved decodes moved as well.

use h4mk_adapters::{
    AdapterRegistry, Block, BlockKind, Decoded, EncoderConfig, Error, Pcm, Present, encode,
    in_presentation_order, signal::sample_mix,
};
use h4mk_mt::{Demuxer, MuxOptions, Muxer, Sidecars, TrackSpec};

use crate::dsp1::header;
use crate::stream::check;

const RATE: u32 = 16_000;

/// A one-track container of `blocks` (in decode order) at `rate`, handed over in
/// presentation order.
fn container(rate: u32, blocks: &[Block]) -> Vec<u8> {
    let track = TrackSpec {
        track_id: 1,
        name: "signal".into(),
        kind: "audio".into(),
        codec: "dsp1".into(),
        sample_rate: rate,
        channels: 1,
        note: String::new(),
    };
    let options = MuxOptions::default();
    let mut mux = Muxer::new(Vec::new(), vec![track], &Sidecars::default(), options).unwrap();
    for b in in_presentation_order(blocks) {
        mux.push(1, b.ts_ms, b.kind, &b.bytes).unwrap();
    }
    mux.finish().unwrap().0
}

/// Track 1 of `file` decoded whole through the registry's `dsp` decoder, after checking that
/// writing it as it decodes gives the same bytes or the same error.
fn decode_whole(file: &[u8]) -> Result<Pcm, Error> {
    let demux = Demuxer::open(file).unwrap();
    let steps = demux.range(1, 0, u32::MAX).unwrap();
    let present = Present::Range {
        start_ms: 0,
        end_ms: u32::MAX,
    };
    let mut decoder = AdapterRegistry::default().get("dsp").unwrap();
    check(decoder.as_mut(), &steps, present);
    match decoder.decode(&steps, present)? {
        Decoded::Pcm(pcm) => Ok(pcm),
        Decoded::Bytes(_) => panic!("dsp decodes to samples"),
    }
}

fn bits(samples: &[f32]) -> Vec<u32> {
    samples.iter().map(|s| s.to_bits()).collect()
}

/// Blocks of `seconds` of the sample mix at `rate`, a keyframe every 6 blocks and two B-blocks
/// between anchors, in decode order.
fn blocks_of(rate: u32, seconds: f64) -> Vec<Block> {
    let config = EncoderConfig {
        b_blocks: 2,
        key_interval: 6,
        ..EncoderConfig::default()
    };
    encode(&sample_mix(rate, seconds), rate, &config).unwrap()
}

#[test]
fn blocks_a_track_lost_early_leave_silence_and_the_rest_where_it_was() {
    // Keyframes every 6 blocks, B-blocks between anchors: as `salvage` leaves a track whose
    // P-block 3 was damaged, blocks 1 to 5 (presentation order) are gone, block 6 (I) next.
    let blocks = blocks_of(RATE, 3.0);
    let mut by_time: Vec<u32> = blocks.iter().map(|b| b.ts_ms).collect();
    by_time.sort_unstable();
    let (first_gone, sixth) = (by_time[1], by_time[6]);
    let kept: Vec<Block> = blocks
        .iter()
        .filter(|b| !(first_gone..sixth).contains(&b.ts_ms))
        .cloned()
        .collect();
    assert_eq!(kept.len(), blocks.len() - 5);
    let whole = decode_whole(&container(RATE, &blocks)).unwrap();
    // Before the fix: refused, the span so far (blocks 0 and 6) being more than twice the
    // samples of those two blocks.
    let gapped = decode_whole(&container(RATE, &kept)).unwrap();
    assert_eq!(
        (gapped.start, gapped.samples.len(), gapped.sample_rate),
        (whole.start, whole.samples.len(), whole.sample_rate)
    );
    // At the defaults (N = 1024, H = 512, 8 frames a block), block 0 owns 0..3584 and lends
    // its next 512 samples to block 1; block 6's frames start at 6 * 4096 - 512 and their
    // first 512 samples lack the tail of block 5.
    let (n_h, own0, six) = (512, 3584, 6 * 4096 - 512);
    assert_eq!(bits(&gapped.samples[..own0]), bits(&whole.samples[..own0]));
    assert!(gapped.samples[own0..own0 + n_h].iter().any(|&s| s != 0.0));
    assert!(gapped.samples[own0 + n_h..six].iter().all(|&s| s == 0.0));
    assert_eq!(
        bits(&gapped.samples[six + n_h..]),
        bits(&whole.samples[six + n_h..])
    );
}

#[test]
fn two_tiny_blocks_claiming_positions_far_apart_are_refused() {
    // Two keyframes of one 16-sample frame each, 100,000,000 frames apart, each at the pts
    // its position gives: 32 samples rendered, 800 million spanned.
    let block = |first_frame: u32| {
        let mut bytes = header(b'I', 16, 8, 1, RATE, first_frame, 8);
        bytes.push(0);
        let own_start = u64::from(first_frame) * 8 - 8;
        Block {
            ts_ms: (own_start * 1000 / u64::from(RATE)) as u32,
            kind: BlockKind::Key,
            bytes,
        }
    };
    let file = container(RATE, &[block(1), block(100_000_001)]);
    let err = decode_whole(&file).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TimingGaps {
                first_block: 0,
                last_block: 1,
                held: 32,
                span: 800_000_016,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_track_whose_timestamps_were_all_moved_decodes_moved_by_as_many_milliseconds() {
    // At 22,050 Hz a millisecond is not a whole number of samples.
    for rate in [16_000, 22_050] {
        let blocks = blocks_of(rate, 3.0);
        // A cut from the second keyframe (presentation block 6) on, then the same with every
        // pts moved earlier by the keyframe's, as `remux --start-at-zero` writes it.
        let key = blocks
            .iter()
            .filter(|b| b.kind == BlockKind::Key)
            .nth(1)
            .unwrap();
        let moved_by = key.ts_ms;
        let cut: Vec<Block> = blocks
            .iter()
            .filter(|b| b.ts_ms >= moved_by)
            .cloned()
            .collect();
        let moved: Vec<Block> = cut
            .iter()
            .map(|b| Block {
                ts_ms: b.ts_ms - moved_by,
                ..b.clone()
            })
            .collect();
        let at_pts = decode_whole(&container(rate, &cut)).unwrap();
        // Before the fix: the same start, the blocks' own positions being all that counted.
        let at_zero = decode_whole(&container(rate, &moved)).unwrap();
        // The same samples, `moved_by` ms (rounded up to a whole sample) earlier: within a
        // millisecond of the start.
        assert_eq!(bits(&at_zero.samples), bits(&at_pts.samples), "{rate} Hz");
        let shift = (u64::from(moved_by) * u64::from(rate)).div_ceil(1000);
        assert_eq!(at_zero.start, at_pts.start - shift, "{rate} Hz");
        assert!(at_zero.start * 1000 < u64::from(rate), "{rate} Hz");
    }
}

/// An encoder that rounds timestamps to the nearest millisecond, or up, rather than down
/// puts some blocks 1 ms after the time their position gives. That is rounding, not a move: a
/// decode from any block lands every sample where the whole decode does, as before the pts
/// rule (a reviewer's file at 44,100 Hz decoded from 371 ms came out 44 samples late).
#[test]
fn timestamps_rounded_up_by_an_encoder_do_not_move_a_track() {
    let rate = 44_100;
    let blocks = blocks_of(rate, 3.0);
    let floor_file = container(rate, &blocks);
    // Every other block in presentation order 1 ms later, as rounding up would put it.
    let mut by_time: Vec<u32> = blocks.iter().map(|b| b.ts_ms).collect();
    by_time.sort_unstable();
    let rounded: Vec<Block> = blocks
        .iter()
        .map(|b| {
            let rank = by_time.iter().position(|&t| t == b.ts_ms).unwrap();
            Block {
                ts_ms: b.ts_ms + u32::from(rank % 2 == 1),
                ..b.clone()
            }
        })
        .collect();
    let rounded_file = container(rate, &rounded);
    let whole = decode_whole(&floor_file).unwrap();
    let again = decode_whole(&rounded_file).unwrap();
    assert_eq!(
        (again.start, bits(&again.samples)),
        (whole.start, bits(&whole.samples))
    );
    // From each block on: the first block placed differs, the positions do not.
    let demux = Demuxer::open(&rounded_file).unwrap();
    let mut decoder = AdapterRegistry::default().get("dsp").unwrap();
    for b in demux.blocks().map(Result::unwrap).skip(1) {
        let steps = demux.range(1, b.ts_ms, u32::MAX).unwrap();
        let present = Present::Range {
            start_ms: b.ts_ms,
            end_ms: u32::MAX,
        };
        let Decoded::Pcm(part) = decoder.decode(&steps, present).unwrap() else {
            panic!("dsp decodes to samples");
        };
        // Exact from the first block's second frame on (no lead is decoded here).
        let at = usize::try_from(part.start - whole.start).unwrap();
        let exact = 1024;
        assert_eq!(
            bits(&part.samples[exact..]),
            bits(&whole.samples[at + exact..at + part.samples.len()]),
            "from {} ms",
            b.ts_ms
        );
    }
}

/// Track 1 of `file` from `from_ms` to its end through the registry's `dsp` decoder, told the
/// track's first block or not, after checking that writing it as it decodes gives the same.
fn decode_from(file: &[u8], from_ms: u32, told: bool) -> Pcm {
    let demux = Demuxer::open(file).unwrap();
    let mut decoder = AdapterRegistry::default().get("dsp").unwrap();
    if told {
        let first = demux
            .block_at(demux.seek_table(1).unwrap()[0].offset)
            .unwrap();
        decoder.set_first_block(first.ts_ms, first.opaque);
    }
    let steps = demux.range(1, from_ms, u32::MAX).unwrap();
    let present = Present::Range {
        start_ms: from_ms,
        end_ms: u32::MAX,
    };
    check(decoder.as_mut(), &steps, present);
    match decoder.decode(&steps, present).unwrap() {
        Decoded::Pcm(pcm) => pcm,
        Decoded::Bytes(_) => panic!("dsp decodes to samples"),
    }
}

/// Whether `part` (a decode from a block, with no lead) has the samples `whole` has at its
/// positions, from its first block's second frame on.
fn lands_in(part: &Pcm, whole: &Pcm) -> bool {
    let exact = 1024;
    part.start.checked_sub(whole.start).is_some_and(|at| {
        let at = usize::try_from(at).unwrap();
        whole.samples.get(at + exact..at + part.samples.len()) == part.samples.get(exact..)
    })
}

/// Pts rounded up by an encoder, then all moved by the same whole milliseconds (`h4mk remux
/// --start-at-zero`): blocks are `S` or `S - 1` ms before the time their position gives. Told
/// the track's first block, every decode moves the track by what that block gives, so a
/// decode from any block lands every sample where the whole decode does; without it, a
/// decode takes the offset from the first block it places, and decodes from every other
/// block came out a millisecond apart.
#[test]
fn every_decode_of_a_moved_track_places_it_by_its_first_block() {
    let rate = 44_100;
    let blocks = blocks_of(rate, 3.0);
    let mut by_time: Vec<u32> = blocks.iter().map(|b| b.ts_ms).collect();
    by_time.sort_unstable();
    let key = by_time[6];
    // Every other block 1 ms later, then the cut from the second keyframe moved to 0.
    let moved: Vec<Block> = blocks
        .iter()
        .filter(|b| b.ts_ms >= key)
        .map(|b| {
            let rank = by_time.iter().position(|&t| t == b.ts_ms).unwrap();
            Block {
                ts_ms: b.ts_ms + u32::from(rank % 2 == 1) - key,
                ..b.clone()
            }
        })
        .collect();
    let file = container(rate, &moved);
    let whole = decode_from(&file, 0, true);
    // Within a millisecond of 0.
    assert!(whole.start * 1000 < u64::from(rate));
    let mut apart = 0;
    for b in Demuxer::open(&file)
        .unwrap()
        .blocks()
        .map(Result::unwrap)
        .skip(1)
    {
        assert!(
            lands_in(&decode_from(&file, b.ts_ms, true), &whole),
            "from {} ms: not where the whole decode puts it",
            b.ts_ms
        );
        apart += usize::from(!lands_in(&decode_from(&file, b.ts_ms, false), &whole));
    }
    // Before the fix, what every decode did.
    assert!(apart > 0);
}

/// Pts that drift from the positions, as an encoder that adds up a rounded block duration
/// writes them (each block's a little earlier than the last's, a millisecond every few
/// blocks): the track moves by one offset, its first block's, so every block stays where its
/// position puts it next to the others, and the decode is the one of exact pts, bit for bit.
#[test]
fn pts_that_drift_by_rounding_leave_a_track_whole() {
    let blocks = blocks_of(RATE, 3.0);
    let mut by_time: Vec<u32> = blocks.iter().map(|b| b.ts_ms).collect();
    by_time.sort_unstable();
    let drifted: Vec<Block> = blocks
        .iter()
        .map(|b| {
            let rank = by_time.iter().position(|&t| t == b.ts_ms).unwrap();
            Block {
                ts_ms: b.ts_ms - u32::try_from(rank / 3).unwrap(),
                ..b.clone()
            }
        })
        .collect();
    let exact = decode_from(&container(RATE, &blocks), 0, true);
    for told in [true, false] {
        let whole = decode_from(&container(RATE, &drifted), 0, told);
        assert_eq!(
            (whole.start, bits(&whole.samples)),
            (exact.start, bits(&exact.samples)),
            "told {told}"
        );
    }
}
