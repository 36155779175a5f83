//! The driver, through NullAdapter: decode order, presentation order and missing references.

use std::cell::Cell;

use h4mk_adapters::{
    Block, BlockKind, EncoderConfig, Error, ModelAdapter, NullAdapter, Present, Rendered, Step,
    decode_plan, decode_plan_each, encode,
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

/// The null adapter, counting the blocks it has decoded.
struct Counting<'a> {
    inner: NullAdapter,
    decoded: &'a Cell<usize>,
}

impl ModelAdapter for Counting<'_> {
    type State = <NullAdapter as ModelAdapter>::State;
    type Output = Vec<u8>;

    fn decode_key(&mut self, block: &[u8]) -> h4mk_adapters::Result<Self::State> {
        self.decoded.set(self.decoded.get() + 1);
        self.inner.decode_key(block)
    }

    fn apply_predictive(
        &mut self,
        state: &Self::State,
        block: &[u8],
    ) -> h4mk_adapters::Result<Self::State> {
        self.decoded.set(self.decoded.get() + 1);
        self.inner.apply_predictive(state, block)
    }

    fn apply_bidirectional(
        &mut self,
        prev: &Self::State,
        next: &Self::State,
        block: &[u8],
    ) -> h4mk_adapters::Result<Self::State> {
        self.decoded.set(self.decoded.get() + 1);
        self.inner.apply_bidirectional(prev, next, block)
    }

    fn finalize(&mut self, state: &Self::State) -> h4mk_adapters::Result<Vec<u8>> {
        self.inner.finalize(state)
    }

    fn reset(&mut self) {
        self.inner.reset();
    }
}

#[test]
fn each_output_is_handed_over_once_nothing_later_sorts_before_it() {
    // Decode order I0 P30 B10 B20 P60 B40 B50.
    let spec = [(I, 0), (P, 30), (B, 10), (B, 20), (P, 60), (B, 40), (B, 50)];
    let blocks = blocks(&spec);
    let decoded = Cell::new(0);
    let mut adapter = Counting {
        inner: NullAdapter::default(),
        decoded: &decoded,
    };
    let mut handed = |present| {
        let mut seen = Vec::new();
        decode_plan_each(&mut adapter, &blocks, &plan_all(&blocks), present, |r| {
            seen.push((r.ts_ms, decoded.get()));
            Ok(())
        })
        .unwrap();
        decoded.set(0);
        seen
    };
    // (timestamp, blocks decoded when it was handed over): P30 waits for B20, P60 for B50.
    assert_eq!(
        handed(Present::All),
        [(0, 1), (10, 3), (20, 4), (30, 4), (40, 6), (50, 7), (60, 7)]
    );
    // Blocks not presented hold nothing back: B10 and B20 are not, so P30 goes at once.
    let present = Present::Range {
        start_ms: 30,
        end_ms: 60,
    };
    assert_eq!(handed(present), [(30, 2), (40, 6), (50, 7), (60, 7)]);
    // The order is decode_plan's.
    let all = decode_plan(
        &mut NullAdapter::default(),
        &blocks,
        &plan_all(&blocks),
        present,
    )
    .unwrap();
    let order: Vec<u32> = all.iter().map(|r| r.ts_ms).collect();
    assert_eq!(order, [30, 40, 50, 60]);
}

#[test]
fn an_error_from_the_consumer_stops_the_decode() {
    let spec = [(I, 0), (P, 10), (P, 20), (P, 30)];
    let blocks = blocks(&spec);
    let decoded = Cell::new(0);
    let mut adapter = Counting {
        inner: NullAdapter::default(),
        decoded: &decoded,
    };
    let err = decode_plan_each(
        &mut adapter,
        &blocks,
        &plan_all(&blocks),
        Present::All,
        |r| match r.ts_ms {
            10 => Err(Error::Parameter("full")),
            _ => Ok(()),
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::Parameter("full")), "{err:?}");
    assert_eq!(decoded.get(), 2);
}

#[test]
fn a_b_block_at_its_forward_anchors_timestamp_is_presented_before_it() {
    // Decode order I0 P10 B10; stored, and presented, I0 B10 P10 (FORMAT.md §5).
    let spec = [(I, 0), (P, 10), (B, 10)];
    let expect = [(0, "I0;"), (10, "I0;P10;B10;"), (10, "I0;P10;")];
    check(&spec, Present::All, &expect);
    // And a B-block at its previous anchor's timestamp after that anchor.
    let spec = [(I, 0), (P, 10), (B, 0)];
    let expect = [(0, "I0;"), (0, "I0;P10;B0;"), (10, "I0;P10;")];
    check(&spec, Present::All, &expect);
    // Two B-blocks framed by the same anchors keep their decode order.
    let spec = [(I, 0), (P, 10), (B, 10), (B, 10)];
    let expect = [
        (0, "I0;"),
        (10, "I0;P10;B10;"),
        (10, "I0;P10;B10;"),
        (10, "I0;P10;"),
    ];
    check(&spec, Present::All, &expect);
}
