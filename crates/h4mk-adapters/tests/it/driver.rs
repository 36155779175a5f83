//! The driver, through NullAdapter: decode order, presentation order and missing references.

use h4mk_adapters::{
    Block, BlockKind, EncoderConfig, Error, NullAdapter, Present, Rendered, Step, decode_plan,
    encode,
};

use crate::plan_all;

use BlockKind::{Bidirectional as B, Key as I, Predictive as P};

/// Blocks named by their kind and timestamp, e.g. `I0`, `P20`, `B10`.
fn blocks(spec: &[(BlockKind, u32)]) -> Vec<Block> {
    spec.iter()
        .map(|&(kind, ts_ms)| {
            let tag = match kind {
                I => 'I',
                P => 'P',
                B => 'B',
            };
            Block {
                ts_ms,
                kind,
                bytes: format!("{tag}{ts_ms};").into_bytes(),
            }
        })
        .collect()
}

#[track_caller]
fn check(spec: &[(BlockKind, u32)], present: Present, expect: &[(u32, &str)]) {
    let blocks = blocks(spec);
    let out = decode_plan(
        &mut NullAdapter::default(),
        &blocks,
        &plan_all(&blocks),
        present,
    )
    .unwrap();
    let got: Vec<(u32, String)> = out
        .into_iter()
        .map(|r| (r.ts_ms, String::from_utf8(r.output).unwrap()))
        .collect();
    let expect: Vec<(u32, String)> = expect.iter().map(|&(t, s)| (t, s.to_owned())).collect();
    assert_eq!(got, expect);
}

#[test]
fn a_chain_outputs_its_blocks_in_decode_order() {
    let spec = [(I, 0), (P, 10), (P, 20)];
    check(&spec, Present::Index(2), &[(20, "I0;P10;P20;")]);
    check(
        &spec,
        Present::All,
        &[(0, "I0;"), (10, "I0;P10;"), (20, "I0;P10;P20;")],
    );
}

#[test]
fn b_blocks_take_their_place_in_presentation_order() {
    // Decode order I0 P30 B10 B20 P60 B40 B50; presentation order by timestamp.
    let spec = [(I, 0), (P, 30), (B, 10), (B, 20), (P, 60), (B, 40), (B, 50)];
    check(
        &spec,
        Present::All,
        &[
            (0, "I0;"),
            (10, "I0;P30;B10;"),
            (20, "I0;P30;B20;"),
            (30, "I0;P30;"),
            (40, "I0;P30;P60;B40;"),
            (50, "I0;P30;P60;B50;"),
            (60, "I0;P30;P60;"),
        ],
    );
    check(
        &spec,
        Present::Range {
            start_ms: 20,
            end_ms: 40,
        },
        &[
            (20, "I0;P30;B20;"),
            (30, "I0;P30;"),
            (40, "I0;P30;P60;B40;"),
        ],
    );
}

#[test]
fn a_b_block_across_an_open_gop_keyframe_sees_both_chains() {
    let spec = [(I, 0), (P, 10), (I, 30), (B, 20)];
    check(&spec, Present::Index(3), &[(20, "I0;P10;I30;B20;")]);
}

#[test]
fn encoded_chains_concatenate_to_their_blocks_in_decode_order() {
    let rate = 16_000;
    let signal = h4mk_adapters::signal::sample_mix(rate, 2.0);
    let config = EncoderConfig {
        key_interval: 6,
        ..EncoderConfig::default()
    };
    let blocks = encode(&signal, rate, &config).unwrap();
    let plan = plan_all(&blocks);
    for target in 0..blocks.len() {
        let key = (0..=target)
            .rev()
            .find(|&i| blocks[i].kind == BlockKind::Key)
            .unwrap();
        let out = decode_plan(
            &mut NullAdapter::default(),
            &blocks,
            &plan[key..=target],
            Present::Index(target),
        )
        .unwrap();
        let expect: Vec<u8> = blocks[key..=target]
            .iter()
            .flat_map(|b| b.bytes.iter().copied())
            .collect();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].output, expect, "target {target}");
    }
}

#[track_caller]
fn check_err(spec: &[(BlockKind, u32)], steps: &[Step], expect: fn(&Error) -> bool) {
    let blocks = blocks(spec);
    let r: Result<Vec<Rendered<Vec<u8>>>, _> =
        decode_plan(&mut NullAdapter::default(), &blocks, steps, Present::All);
    let err = r.unwrap_err();
    assert!(expect(&err), "{err:?}");
}

#[test]
fn missing_anchors_are_errors_not_guesses() {
    let spec = [(I, 0), (P, 20), (B, 10)];
    let step = |index, kind| Step { index, kind };
    check_err(&spec, &[step(1, P)], |e| {
        matches!(
            e,
            Error::MissingReference {
                index: 1,
                ts_ms: 20,
                kind: BlockKind::Predictive
            }
        ) && e.to_string() == "P-block 1 at 20 ms has no anchor state to reference"
    });
    check_err(&spec, &[step(0, I), step(2, B)], |e| {
        matches!(
            e,
            Error::MissingReference {
                index: 2,
                ts_ms: 10,
                kind: BlockKind::Bidirectional
            }
        )
    });
    check_err(&spec, &[step(0, I), step(7, P)], |e| {
        matches!(e, Error::UnknownBlock { index: 7 })
    });
}

#[test]
fn adapter_errors_name_the_block() {
    let blocks = vec![Block {
        ts_ms: 5,
        kind: I,
        bytes: b"nope".to_vec(),
    }];
    let mut dsp = h4mk_adapters::DspAdapter::default();
    let err = decode_plan(&mut dsp, &blocks, &plan_all(&blocks), Present::All).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::InBlock {
                index: 0,
                ts_ms: 5,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(matches!(err.innermost(), Error::BadMagic { .. }));
    assert_eq!(err.to_string(), "block 0 at 5 ms");
    assert_eq!(
        err.innermost().to_string(),
        "unknown block format: byte 0 holds `nope`, not `DSP0` or `DSP1`"
    );
}
