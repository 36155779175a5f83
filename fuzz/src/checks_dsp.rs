//! The checks behind the `dsp_decode` fuzz target: h4mk-adapters' [`DspAdapter`] on any block
//! bytes, fed as a decode driver feeds it.
//!
//! This file is the one copy of these checks and of the input layout. The fuzz crate exposes it
//! as `h4mk_fuzz::checks_dsp`; the stable test binary of h4mk-adapters includes it with
//! `#[path]` (tests/it/main.rs), where `fuzz_regressions.rs` replays every committed fuzz input
//! through it, and xtask includes it to write the seeds. So it depends on `h4mk_adapters`,
//! `h4mk_mt` and `std` only.
//!
//! The input is a run of steps, each an op byte, a little-endian u16 length and that many block
//! bytes (the last step takes what is left). `op % 3` says how the block decodes: 0 as an
//! I-block (`decode_key`), 1 as a P-block on the last anchor (`apply_predictive`), 2 as a B-block
//! between the two last anchors (`apply_bidirectional`); the anchors are the states of the last
//! I and P steps that decoded, as the driver keeps them. So an encoded stream laid out this way,
//! in decode order, is a seed (`cargo xtask fuzz-smoke` writes some, DSP0 and DSP1).
//!
//! What must hold, with [`LIMITS`] (smaller than the defaults, so each input runs fast):
//! - no call panics: each returns `Ok` or a typed error;
//! - every state that decodes renders (`finalize`) to `Ok` or an error, and a rendered segment
//!   has only finite samples (docs/ADAPTERS.md §5), at most `max_block_samples` of them, and
//!   owns a range inside them;
//! - the rendered segments overlap-add (`render_pcm`, each at 10 ms per step, the first one
//!   as a lead) to `Ok` or an error, and then to finite samples, no more than twice the
//!   segments' together; added one at a time (`PcmMix`), they give the same samples bit for bit, or an
//!   error, never samples where `render_pcm` gives an error;
//! - decoding is a pure function of the blocks: the same steps through the same adapter again,
//!   after `reset`, with its FFT plans and window left from the first pass, give the same
//!   states, errors and bit-identical samples (the adapter keeps nothing else between calls);
//! - the steps as a demuxer's plan (`DecodeStep`s at 10 ms apart), presented whole and with the
//!   first block as a lead: written as they decode (`NamedDecoder::prepare`, then `write`) they
//!   give the bytes of `decode` then `Decoded::write_to`, or the same error, before any byte.

use h4mk_adapters::{
    BlockKind, DspAdapter, DspOptions, DspState, Limits, ModelAdapter, NamedDecoder, PcmMix,
    PcmSegment, Present, Rendered, render_pcm,
};
use h4mk_mt::{BlockRef, DecodeStep};

/// The most steps read from one input.
pub const MAX_STEPS: usize = 64;

/// The adapter's caps: frames of up to 4096 samples, 64 per block, 64 Ki samples rendered.
pub const LIMITS: Limits = Limits {
    max_frame_size: 4096,
    max_frames_per_block: 64,
    max_block_samples: 1 << 16,
};

/// How a step's block decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `decode_key`.
    Key,
    /// `apply_predictive` on the last anchor.
    Predictive,
    /// `apply_bidirectional` between the two last anchors.
    Bidirectional,
}

impl Op {
    /// How a block of this kind decodes.
    pub fn of(kind: BlockKind) -> Op {
        match kind {
            BlockKind::Key => Op::Key,
            BlockKind::Predictive => Op::Predictive,
            BlockKind::Bidirectional => Op::Bidirectional,
        }
    }

    /// The op byte that stands for this op.
    pub fn byte(self) -> u8 {
        match self {
            Op::Key => 0,
            Op::Predictive => 1,
            Op::Bidirectional => 2,
        }
    }
}

/// The steps an input stands for: at most [`MAX_STEPS`].
pub fn steps(data: &[u8]) -> Vec<(Op, &[u8])> {
    let mut out = Vec::new();
    let mut rest = data;
    while let [op, lo, hi, tail @ ..] = rest
        && out.len() < MAX_STEPS
    {
        let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
        let (block, after) = tail.split_at(len);
        let op = match op % 3 {
            0 => Op::Key,
            1 => Op::Predictive,
            _ => Op::Bidirectional,
        };
        out.push((op, block));
        rest = after;
    }
    out
}

/// Lays `steps` out as an input: the inverse of [`steps`] for blocks of at most 65,535 bytes.
pub fn input(steps: &[(Op, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (op, block) in steps {
        let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
        out.push(op.byte());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(block.get(..usize::from(len)).unwrap_or(block));
    }
    out
}

/// A DSP0 block listing `(index, magnitude, phase)` bins (docs/ADAPTERS.md §2: magic, bin
/// count, reserved, then the entries), for the seeds and the adapters' tests.
pub fn dsp0_block(bins: &[(u16, u16, u16)]) -> Vec<u8> {
    let mut b = b"DSP0".to_vec();
    b.extend_from_slice(&(bins.len() as u16).to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    for &(i, m, p) in bins {
        for v in [i, m, p] {
            b.extend_from_slice(&v.to_le_bytes());
        }
    }
    b
}

/// What one step gave: its state and its samples as bits, or the errors as text.
pub type Outcome = Result<(DspState, Result<Vec<u32>, String>), String>;

/// What a run gave: each step's outcome, and the overlap-added samples as bits (or the error).
pub type Run = (Vec<Outcome>, Result<Vec<u32>, String>);

/// An adapter with [`LIMITS`].
pub fn adapter() -> DspAdapter {
    DspAdapter::new(DspOptions {
        limits: LIMITS,
        ..DspOptions::default()
    })
}

/// Runs `steps` through `adapter` as a driver would, checking each rendered segment, then
/// overlap-adds the segments.
pub fn run(adapter: &mut DspAdapter, steps: &[(Op, &[u8])]) -> Run {
    // The anchor before the last, and the last.
    let mut prev: Option<DspState> = None;
    let mut last: Option<DspState> = None;
    let mut outcomes = Vec::with_capacity(steps.len());
    let mut segments = Vec::new();
    for (index, &(op, block)) in steps.iter().enumerate() {
        let decoded = match (op, &prev, &last) {
            (Op::Key, _, _) => adapter.decode_key(block),
            (Op::Predictive, _, Some(l)) => adapter.apply_predictive(l, block),
            (Op::Bidirectional, Some(p), Some(l)) => adapter.apply_bidirectional(p, l, block),
            _ => {
                outcomes.push(Err("no anchor".to_string()));
                continue;
            }
        };
        let state = match decoded {
            Ok(state) => state,
            Err(e) => {
                outcomes.push(Err(format!("{e:?}")));
                continue;
            }
        };
        let rendered = match adapter.finalize(&state) {
            Ok(segment) => {
                let bits = checked_bits(&segment);
                segments.push(Rendered {
                    index,
                    ts_ms: (index as u32).saturating_mul(10),
                    kind: BlockKind::Key,
                    output: segment,
                    lead: segments.is_empty(),
                });
                Ok(bits)
            }
            Err(e) => Err(format!("{e:?}")),
        };
        if op != Op::Bidirectional {
            prev = last.replace(state.clone());
        }
        outcomes.push(Ok((state, rendered)));
    }
    let whole = render_pcm(&segments);
    // Mixing one segment at a time, in the same order, gives the same samples, bit for bit, or
    // an error; never accepts what the whole mix refuses.
    let mut mix = PcmMix::default();
    if let Ok(streamed) = segments
        .iter()
        .try_for_each(|r| mix.add(r))
        .and_then(|()| mix.finish())
    {
        match &whole {
            Ok(pcm) => assert!(
                streamed.start == pcm.start
                    && streamed.sample_rate == pcm.sample_rate
                    && streamed
                        .samples
                        .iter()
                        .map(|x| x.to_bits())
                        .eq(pcm.samples.iter().map(|x| x.to_bits())),
                "PcmMix and render_pcm differ"
            ),
            Err(e) => panic!("PcmMix accepted what render_pcm refused: {e:?}"),
        }
    }
    let mixed = whole.map_err(|e| format!("{e:?}")).map(|pcm| {
        // Gaps are filled with silence up to twice the samples held (`TimingGaps`).
        let total: usize = segments.iter().map(|r| r.output.samples.len()).sum();
        assert!(
            pcm.samples.len() <= 2 * total,
            "{} mixed samples from {total}",
            pcm.samples.len()
        );
        pcm.samples
            .iter()
            .map(|x| finite_bits(*x, "mixed"))
            .collect()
    });
    (outcomes, mixed)
}

/// The bits of a sample, which must be finite.
fn finite_bits(x: f32, what: &str) -> u32 {
    assert!(x.is_finite(), "a {what} sample is {x}");
    x.to_bits()
}

/// Checks a rendered segment and returns its samples' bits.
fn checked_bits(segment: &PcmSegment) -> Vec<u32> {
    let samples = &segment.samples;
    assert!(
        samples.len() <= LIMITS.max_block_samples,
        "{} samples rendered, above the cap",
        samples.len()
    );
    assert!(
        segment.own.start <= segment.own.end && segment.own.end <= samples.len(),
        "owned range {:?} outside {} samples",
        segment.own,
        samples.len()
    );
    samples
        .iter()
        .map(|x| finite_bits(*x, "rendered"))
        .collect()
}

/// Target `dsp_decode`: any steps decode and render without panicking, to finite samples within
/// the caps, and the same again on the same adapter.
pub fn dsp_decode(data: &[u8]) {
    let steps = steps(data);
    let mut adapter = adapter();
    let first = run(&mut adapter, &steps);
    adapter.reset();
    let second = run(&mut adapter, &steps);
    assert_eq!(first, second, "a second pass decoded differently");
    written_as_it_goes(&mut adapter, &steps);
}

/// `steps` as a demuxer's plan of one track, 10 ms apart, written as they decode and as a
/// whole: the same bytes, or the same error with nothing written.
fn written_as_it_goes(adapter: &mut DspAdapter, steps: &[(Op, &[u8])]) {
    let plan: Vec<DecodeStep<'_>> = steps
        .iter()
        .zip(0u32..)
        .map(|(&(op, opaque), i)| {
            let kind = match op {
                Op::Key => BlockKind::Key,
                Op::Predictive => BlockKind::Predictive,
                Op::Bidirectional => BlockKind::Bidirectional,
            };
            let block = BlockRef {
                offset: u64::from(i),
                track: 1,
                ts_ms: i.saturating_mul(10),
                kind,
                opaque,
            };
            DecodeStep { block, kind }
        })
        .collect();
    let presents = [
        Present::Range {
            start_ms: 0,
            end_ms: u32::MAX,
        },
        Present::Lead {
            lead_ms: 0,
            start_ms: 10,
            end_ms: u32::MAX,
        },
        Present::Cut {
            lead_ms: 0,
            from_ms: 15,
            to_ms: 45,
        },
    ];
    for present in presents {
        let whole = adapter.decode(&plan, present).map(|decoded| {
            let mut bytes = Vec::new();
            decoded.write_to(&mut bytes).map(|()| bytes)
        });
        let streamed = adapter.prepare(&plan, present).map(|prepared| {
            let mut bytes = Vec::new();
            let written = adapter.write(&plan, present, prepared, &mut bytes);
            (written, bytes)
        });
        match (whole, streamed) {
            (Ok(Ok(a)), Ok((Ok(()), b))) => assert!(a == b, "written as it goes differs"),
            (Ok(Err(a)), Ok((Err(b), bytes))) => {
                assert_eq!(a.to_string(), b.to_string(), "write errors differ");
                assert!(bytes.is_empty(), "bytes written before the error");
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "errors differ"),
            (a, b) => panic!("decoded whole {a:?}, as it goes {b:?}"),
        }
    }
}
