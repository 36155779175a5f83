//! DSP1 blocks that are malformed, hand-built or corrupted: errors with offsets, never panics.

use h4mk_adapters::{BlockKind, DspAdapter, DspState, EncoderConfig, Error, ModelAdapter, encode};

/// A DSP1 header (docs/ADAPTERS.md §3.1).
pub(crate) fn header(
    kind: u8,
    n: u16,
    hop: u16,
    frames: u16,
    rate: u32,
    first: u32,
    length: u32,
) -> Vec<u8> {
    let mut b = b"DSP1".to_vec();
    b.extend_from_slice(&[kind, 0]);
    for v in [n, hop, frames] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    for v in [rate, first, length] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b
}

fn key_block() -> Vec<u8> {
    let blocks = encode(
        &h4mk_adapters::signal::sample_mix(8000, 0.5),
        8000,
        &EncoderConfig::default(),
    )
    .unwrap();
    blocks[0].bytes.clone()
}

#[track_caller]
fn check_key(block: &[u8], expect: fn(&Error) -> bool) {
    match DspAdapter::default().decode_key(block) {
        Ok(state) => panic!("decoded {state:?}"),
        Err(e) => assert!(expect(&e), "unexpected error {e:?}"),
    }
}

#[test]
fn a_hand_built_block_decodes() {
    // One frame: bins 0 and 3, magnitudes 8 and 5, phases 0 and 2048 (π), no prediction.
    let mut b = header(b'I', 16, 8, 1, 8000, 0, 0);
    b.extend_from_slice(&[2, 0, 16, 0, 2, 10, 128, 64]);
    let mut a = DspAdapter::default();
    let state = a.decode_key(&b).unwrap();
    let DspState::Dsp1(s) = &state else { panic!() };
    assert_eq!(
        (s.frame_count(), s.bins_in_frame(0), s.frame_size(), s.hop()),
        (1, 2, 16, 8)
    );
    let seg = a.finalize(&state).unwrap();
    assert_eq!(
        (seg.start, seg.own.clone(), seg.samples.len()),
        (Some(-8), 8..8, 16)
    );
}

#[test]
fn header_fields_are_checked() {
    let good = key_block();
    let patched = |at: usize, bytes: &[u8]| {
        let mut b = good.clone();
        b[at..at + bytes.len()].copy_from_slice(bytes);
        b
    };
    check_key(&patched(4, b"P"), |e| {
        matches!(
            e,
            Error::KindMismatch {
                offset: 4,
                expected: BlockKind::Key,
                found: b'P'
            }
        ) && e.to_string() == "block kind byte 0x50 at byte 4 does not match the plan's I-block"
    });
    check_key(&patched(5, &[1]), |e| {
        matches!(
            e,
            Error::InvalidField {
                offset: 5,
                field: "reserved",
                value: 1
            }
        )
    });
    check_key(&patched(6, &1023u16.to_le_bytes()), |e| {
        matches!(e, Error::InvalidField { offset: 6, .. })
    });
    check_key(&patched(6, &8u16.to_le_bytes()), |e| {
        matches!(e, Error::InvalidField { offset: 6, .. })
    });
    check_key(&patched(6, &65_534u16.to_le_bytes()), |e| {
        matches!(
            e,
            Error::Limit {
                what: "frame_size",
                ..
            }
        )
    });
    check_key(&patched(8, &0u16.to_le_bytes()), |e| {
        matches!(e, Error::InvalidField { offset: 8, .. })
    });
    check_key(&patched(8, &1024u16.to_le_bytes()), |e| {
        matches!(e, Error::InvalidField { offset: 8, .. })
    });
    check_key(&patched(8, &300u16.to_le_bytes()), |e| {
        matches!(e, Error::InvalidField { offset: 8, .. })
    });
    check_key(&patched(10, &0u16.to_le_bytes()), |e| {
        matches!(e, Error::InvalidField { offset: 10, .. })
    });
    check_key(&patched(10, &5000u16.to_le_bytes()), |e| {
        matches!(
            e,
            Error::Limit {
                what: "frame_count",
                ..
            }
        )
    });
    check_key(&patched(12, &0u32.to_le_bytes()), |e| {
        matches!(e, Error::InvalidField { offset: 12, .. })
    });
    check_key(&patched(20, &u32::MAX.to_le_bytes()), |e| {
        matches!(e, Error::InvalidField { offset: 20, .. })
    });
}

#[test]
fn a_block_that_would_render_too_many_samples_is_refused() {
    let b = header(b'I', 32_768, 16_384, 4096, 48_000, 0, 0);
    check_key(&b, |e| {
        matches!(
            e,
            Error::Limit {
                what: "block samples",
                ..
            }
        )
    });
}

#[test]
fn frames_that_span_far_past_what_the_block_owns_are_refused() {
    // 4,094 empty frames of 2,048 samples owning nothing: 4 KB that rendered 4 M samples
    // (16 MiB) for no output, so a small file could hold gigabytes through a decode.
    let mut b = header(b'I', 2048, 1024, 4094, 48_000, 0, 0);
    b.resize(b.len() + 4094, 0); // one empty bin list per frame
    check_key(&b, |e| {
        matches!(
            e,
            Error::InvalidField {
                offset: 10,
                field: "frame_count",
                value: 4094
            }
        )
    });
    // At the edge: frames spanning what the block owns plus one frame are fine.
    let mut b = header(b'I', 2048, 1024, 4, 48_000, 1, 2048);
    b.resize(b.len() + 4, 0);
    DspAdapter::default().decode_key(&b).unwrap();
    let mut b = header(b'I', 2048, 1024, 5, 48_000, 1, 2048);
    b.resize(b.len() + 5, 0);
    check_key(&b, |e| matches!(e, Error::InvalidField { offset: 10, .. }));
    // The encoder's I-blocks keep the rule at any length (the round trips decode all kinds).
    for len in [1, 2, 3, 511, 512, 513, 1023, 1025, 4095, 4097, 12_345] {
        for b_blocks in [0, 2] {
            let config = EncoderConfig {
                b_blocks,
                ..EncoderConfig::default()
            };
            for block in encode(&vec![0.5f32; len], 48_000, &config).unwrap() {
                let mut adapter = DspAdapter::default();
                if block.kind == BlockKind::Key {
                    adapter.decode_key(&block.bytes).unwrap();
                }
            }
        }
    }
}

#[test]
fn every_truncation_and_any_trailing_byte_is_an_error() {
    let good = key_block();
    for len in 0..good.len() {
        assert!(
            DspAdapter::default().decode_key(&good[..len]).is_err(),
            "prefix of {len} bytes"
        );
    }
    let mut long = good.clone();
    long.push(0);
    check_key(&long, |e| {
        matches!(e, Error::TrailingBytes { remaining: 1, .. })
    });
}

#[test]
fn bad_bins_name_their_offset() {
    // Bin count above the spectrum size.
    let mut b = header(b'I', 16, 8, 1, 8000, 0, 0);
    b.push(10);
    check_key(&b, |e| {
        matches!(
            e,
            Error::InvalidField {
                offset: 24,
                field: "bin count",
                value: 10
            }
        )
    });
    // Bin index 600 with a 1024-point frame (max 512).
    let mut b = header(b'I', 1024, 512, 1, 8000, 0, 0);
    b.extend_from_slice(&[1, 0xd8, 0x04, 0, 0]);
    check_key(&b, |e| {
        matches!(
            e,
            Error::BinOutOfRange {
                offset: 25,
                bin: 600,
                max: 512
            }
        )
    });
    // A magnitude delta below 0.
    let mut b = header(b'I', 1024, 512, 1, 8000, 0, 0);
    b.extend_from_slice(&[1, 0, 1, 0]);
    check_key(&b, |e| {
        matches!(
            e,
            Error::Malformed {
                offset: 26,
                field: "magnitude delta"
            }
        )
    });
    // A varint longer than five bytes.
    let mut b = header(b'I', 1024, 512, 1, 8000, 0, 0);
    b.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]);
    check_key(&b, |e| {
        matches!(
            e,
            Error::Malformed {
                offset: 24,
                field: "bin count"
            }
        )
    });
}

#[test]
fn deltas_against_an_incompatible_anchor_are_a_mismatch() {
    let at = |rate| {
        encode(
            &h4mk_adapters::signal::sample_mix(rate, 1.0),
            rate,
            &EncoderConfig::default(),
        )
        .unwrap()
    };
    let (a8, a16) = (at(8000), at(16_000));
    let mut a = DspAdapter::default();
    let key8 = a.decode_key(&a8[0].bytes).unwrap();
    let r = a.apply_predictive(&key8, &a16[1].bytes);
    assert!(
        matches!(
            r,
            Err(Error::Mismatch {
                what: "sample_rate",
                block: 16_000,
                reference: 8000
            })
        ),
        "{r:?}"
    );
    // A P-block decoded as a key block, or a key block as a P-block, is a kind mismatch.
    check_key(&a8[1].bytes, |e| {
        matches!(
            e,
            Error::KindMismatch {
                expected: BlockKind::Key,
                ..
            }
        )
    });
    let r = a.apply_predictive(&key8, &a8[0].bytes);
    assert!(matches!(
        r,
        Err(Error::KindMismatch {
            expected: BlockKind::Predictive,
            found: b'I',
            ..
        })
    ));
}
