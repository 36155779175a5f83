//! DSP0, the original format, with hand-built blocks.

use std::f32::consts::TAU;

use h4mk_adapters::{
    Dsp0Bin, Dsp0Synthesis, DspAdapter, DspOptions, DspState, Error, ModelAdapter,
};

use crate::checks_dsp::dsp0_block as dsp0;

fn bins(state: &DspState) -> Vec<(u16, u16, u16)> {
    let DspState::Dsp0(s) = state else {
        panic!("not DSP0: {state:?}")
    };
    s.bins()
        .iter()
        .map(|b: &Dsp0Bin| (b.index, b.magnitude, b.phase))
        .collect()
}

type Expect<'a> = Result<&'a [(u16, u16, u16)], fn(&Error) -> bool>;

#[track_caller]
fn check_key(block: &[u8], expect: Expect<'_>) {
    let got = DspAdapter::default().decode_key(block);
    match (got, expect) {
        (Ok(state), Ok(want)) => assert_eq!(bins(&state), want),
        (Err(e), Err(is)) => assert!(is(&e), "unexpected error {e:?}"),
        (got, want) => panic!("got {got:?}, want {:?}", want.map_err(|_| "an error")),
    }
}

#[test]
fn key_blocks_set_the_bins_they_list() {
    check_key(&dsp0(&[]), Ok(&[]));
    check_key(
        &dsp0(&[(3, 100, 7), (1, 65_535, 0)]),
        Ok(&[(1, 65_535, 0), (3, 100, 7)]),
    );
    // The reserved field is ignored.
    let mut b = dsp0(&[(2, 1, 1)]);
    b[6] = 0xAA;
    check_key(&b, Ok(&[(2, 1, 1)]));
}

#[test]
fn malformed_blocks_are_errors_with_offsets() {
    check_key(
        b"",
        Err(|e| matches!(e, Error::BadMagic { found } if found.is_empty())),
    );
    check_key(b"DSP", Err(|e| matches!(e, Error::BadMagic { .. })));
    check_key(
        b"DSQ0\0\0\0\0",
        Err(|e| matches!(e, Error::BadMagic { .. })),
    );
    check_key(
        b"DSP0\x01",
        Err(|e| {
            matches!(
                e,
                Error::Truncated {
                    offset: 4,
                    field: "bin count",
                    ..
                }
            )
        }),
    );
    check_key(
        b"DSP0\x00\x00\x00",
        Err(|e| matches!(e, Error::Truncated { offset: 6, .. })),
    );
    // Two bins declared, one present.
    let mut b = dsp0(&[(1, 1, 1)]);
    b[4] = 2;
    check_key(
        &b,
        Err(|e| {
            matches!(
                e,
                Error::Truncated {
                    offset: 8,
                    needed: 12,
                    remaining: 6,
                    ..
                }
            )
        }),
    );
    // u16::MAX bins declared with none present: refused before anything is allocated.
    let mut b = dsp0(&[]);
    b[4..6].copy_from_slice(&u16::MAX.to_le_bytes());
    check_key(
        &b,
        Err(|e| {
            matches!(
                e,
                Error::Truncated {
                    needed: 393_210,
                    remaining: 0,
                    ..
                }
            )
        }),
    );
    // One bin declared, two present.
    let mut b = dsp0(&[(1, 1, 1), (2, 2, 2)]);
    b[4] = 1;
    check_key(
        &b,
        Err(|e| {
            matches!(
                e,
                Error::TrailingBytes {
                    offset: 14,
                    remaining: 6
                }
            )
        }),
    );
    // A bin listed twice: the error names the second entry.
    check_key(
        &dsp0(&[(5, 1, 1), (9, 1, 1), (5, 2, 2)]),
        Err(|e| matches!(e, Error::DuplicateBin { offset: 20, bin: 5 })),
    );
}

#[test]
fn p_blocks_add_magnitudes_and_replace_phases() {
    let mut a = DspAdapter::default();
    let key = a
        .decode_key(&dsp0(&[(1, 1000, 10), (4, 65_000, 10)]))
        .unwrap();
    let p = a
        .apply_predictive(&key, &dsp0(&[(4, 1000, 20), (6, 5, 20)]))
        .unwrap();
    assert_eq!(bins(&p), [(1, 1000, 10), (4, 65_535, 20), (6, 5, 20)]);
    let p2 = a.apply_predictive(&p, &dsp0(&[])).unwrap();
    assert_eq!(p2, p);
}

#[test]
fn b_blocks_apply_to_the_midpoint_of_their_anchors() {
    let mut a = DspAdapter::default();
    let prev = a.decode_key(&dsp0(&[(1, 100, 1), (2, 100, 1)])).unwrap();
    let next = a.decode_key(&dsp0(&[(2, 300, 2), (3, 40, 2)])).unwrap();
    let b = a
        .apply_bidirectional(&prev, &next, &dsp0(&[(3, 1, 9)]))
        .unwrap();
    assert_eq!(bins(&b), [(1, 50, 1), (2, 200, 1), (3, 21, 9)]);
}

#[test]
fn a_key_block_renders_as_a_bank_of_cosines() {
    let mut a = DspAdapter::default();
    let state = a
        .decode_key(&dsp0(&[(0, 32_768, 0), (8, 65_535, 16_384)]))
        .unwrap();
    let seg = a.finalize(&state).unwrap();
    assert_eq!(
        (seg.sample_rate, seg.start, seg.samples.len()),
        (48_000, None, 1024)
    );
    for (t, x) in seg.samples.iter().enumerate() {
        let want = 32_768.0 / 65_535.0 + (TAU * 8.0 * t as f32 / 1024.0 + TAU / 4.0).cos();
        assert!((x - want).abs() < 1e-4, "sample {t}: {x} vs {want}");
    }
}

#[test]
fn bins_above_the_synthesis_nyquist_are_an_error_at_finalize() {
    let options = DspOptions {
        dsp0: Dsp0Synthesis {
            frame_size: 64,
            sample_rate: 8000,
        },
        ..DspOptions::default()
    };
    let mut a = DspAdapter::new(options);
    let ok = a.decode_key(&dsp0(&[(32, 1, 1)])).unwrap();
    assert_eq!(a.finalize(&ok).unwrap().samples.len(), 64);
    let state = a.decode_key(&dsp0(&[(33, 1, 1)])).unwrap();
    assert!(matches!(
        a.finalize(&state),
        Err(Error::Limit {
            value: 33,
            max: 32,
            ..
        })
    ));
}

#[test]
fn mixing_formats_is_a_mismatch() {
    let mut a = DspAdapter::default();
    let key = a.decode_key(&dsp0(&[(1, 1, 1)])).unwrap();
    let dsp1 = h4mk_adapters::encode(&[0.5; 4096], 8000, &Default::default()).unwrap();
    let r = a.apply_predictive(&key, &dsp1[1].bytes);
    assert!(
        matches!(
            r,
            Err(Error::Mismatch {
                what: "format",
                block: 1,
                reference: 0
            })
        ),
        "{r:?}"
    );
    let dsp1_key = a.decode_key(&dsp1[0].bytes).unwrap();
    let r = a.apply_bidirectional(&key, &dsp1_key, &dsp0(&[]));
    assert!(
        matches!(r, Err(Error::Mismatch { what: "format", .. })),
        "{r:?}"
    );
}

#[test]
fn back_to_back_blocks_at_rounded_timestamps_decode_one_at_a_time_as_all_at_once() {
    // 1024-sample DSP0 frames at 48 kHz last 21.33 ms; at timestamps rounded to the
    // millisecond (0, 21, 43, ...) the third leaves a gap of 16 samples that the later blocks
    // make up for. The streaming mix refused the track after three blocks.
    use h4mk_adapters::{
        AdapterRegistry, Block, BlockKind, Decoded, Present, Step, decode_plan, render_pcm,
    };
    use h4mk_mt::{Demuxer, MuxOptions, Muxer, Sidecars, TrackSpec};

    let pts: Vec<u32> = (0..7u64)
        .map(|k| ((k * 1024 * 1000 + 24_000) / 48_000) as u32)
        .collect();
    assert_eq!(pts, [0, 21, 43, 64, 85, 107, 128]);
    let blocks: Vec<Block> = pts
        .iter()
        .map(|&ts_ms| Block {
            ts_ms,
            kind: BlockKind::Key,
            bytes: dsp0(&[(8, 30_000, 0)]),
        })
        .collect();
    let steps: Vec<Step> = (0..blocks.len())
        .map(|index| Step {
            index,
            kind: BlockKind::Key,
        })
        .collect();
    let rendered = decode_plan(&mut DspAdapter::default(), &blocks, &steps, Present::All).unwrap();
    let whole = render_pcm(&rendered).unwrap();
    assert_eq!(whole.samples.len(), 128 * 48 + 1024);

    let track = TrackSpec {
        track_id: 1,
        name: "dsp0".into(),
        kind: "audio".into(),
        codec: "dsp0".into(),
        sample_rate: 48_000,
        channels: 1,
        note: String::new(),
    };
    let sidecars = Sidecars::default();
    let mut mux = Muxer::new(Vec::new(), vec![track], &sidecars, MuxOptions::default()).unwrap();
    for b in &blocks {
        mux.push(1, b.ts_ms, b.kind, &b.bytes).unwrap();
    }
    let (file, _) = mux.finish().unwrap();
    let demux = Demuxer::open(&file).unwrap();
    let steps = demux.range(1, 0, u32::MAX).unwrap();
    let present = Present::Range {
        start_ms: 0,
        end_ms: u32::MAX,
    };
    let decoded = AdapterRegistry::default()
        .get("dsp")
        .unwrap()
        .decode(&steps, present)
        .unwrap();
    assert_eq!(decoded, Decoded::Pcm(whole));
}

#[test]
fn the_registry_renders_dsp0_at_the_sample_rate_the_track_declares() {
    use h4mk_adapters::{AdapterRegistry, BlockKind, Decoded, Present};
    use h4mk_mt::{Demuxer, MuxOptions, Muxer, Sidecars, TrackSpec};

    let file_at = |sample_rate| {
        let track = TrackSpec {
            track_id: 1,
            name: "dsp0".into(),
            kind: "audio".into(),
            codec: "dsp0".into(),
            sample_rate,
            channels: 1,
            note: String::new(),
        };
        let sidecars = Sidecars::default();
        let mut mux =
            Muxer::new(Vec::new(), vec![track], &sidecars, MuxOptions::default()).unwrap();
        for ts_ms in [0, 46] {
            mux.push(1, ts_ms, BlockKind::Key, &dsp0(&[(10, 30_000, 0)]))
                .unwrap();
        }
        mux.finish().unwrap().0
    };
    let present = Present::Range {
        start_ms: 0,
        end_ms: u32::MAX,
    };
    // What a decoder told the track (or not) makes of it, decoded whole and written as it
    // goes alike: (sample rate, samples).
    let decode = |file: &[u8], tell: bool| {
        let demux = Demuxer::open(file).unwrap();
        let steps = demux.range(1, 0, u32::MAX).unwrap();
        let mut decoder = AdapterRegistry::default().get("dsp").unwrap();
        if tell {
            decoder.set_track(&demux.tracks()[0]);
        }
        crate::stream::check(decoder.as_mut(), &steps, present);
        match decoder.decode(&steps, present) {
            Ok(Decoded::Pcm(pcm)) => Ok((pcm.sample_rate, pcm.samples.len())),
            Ok(Decoded::Bytes(_)) => panic!("dsp decodes to samples"),
            Err(e) => Err(e.innermost().to_string()),
        }
    };
    // The second 1024-sample frame at 46 ms: sample 1014 at 22,050 Hz, 2208 at 48 kHz (the
    // default, for a decoder not told the track; before the fix, whatever the track said).
    let slow = file_at(22_050);
    assert_eq!(decode(&slow, true), Ok((22_050, 1014 + 1024)));
    assert_eq!(decode(&slow, false), Ok((48_000, 2208 + 1024)));
    // A track that declares 0 has no rate to render DSP0 blocks at.
    let err = decode(&file_at(0), true).unwrap_err();
    assert!(
        err.ends_with("DSP0 blocks render at the track's sample rate, and it is 0"),
        "{err}"
    );
}
