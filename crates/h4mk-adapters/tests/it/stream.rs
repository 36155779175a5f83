//! Writing a decode as it goes ([`NamedDecoder::prepare`], then [`NamedDecoder::write`]) gives
//! the bytes, the shape and the errors of decoding it whole and writing the result.

use h4mk_adapters::{
    AdapterRegistry, BlockKind, Decoded, EncoderConfig, NamedDecoder, Present, Shape, encode,
    signal::sample_mix,
};
use h4mk_mt::{DecodeStep, Demuxer, MuxOptions, Muxer, Sidecars, TrackSpec};

use crate::reference_fixtures::{REFERENCE, read_reference};

/// A one-track container of `seconds` of the sample mix at 16 kHz, encoded with `b_blocks`.
fn encoded(seconds: f64, b_blocks: usize) -> Vec<u8> {
    let rate = 16_000;
    let config = EncoderConfig {
        b_blocks,
        key_interval: 4,
        ..EncoderConfig::default()
    };
    let blocks = encode(&sample_mix(rate, seconds), rate, &config).unwrap();
    let track = TrackSpec {
        track_id: 1,
        name: "mix".into(),
        kind: "audio".into(),
        codec: "dsp1".into(),
        sample_rate: rate,
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
    // In presentation order, as `h4mk encode` hands them over.
    let ranks = h4mk_gop::presentation_ranks(blocks.iter().map(|b| b.kind));
    let mut ranked: Vec<_> = ranks.into_iter().zip(&blocks).collect();
    ranked.sort_by_key(|(rank, b)| (b.ts_ms, *rank));
    for (_, b) in ranked {
        mux.push(1, b.ts_ms, b.kind, &b.bytes).unwrap();
    }
    mux.finish().unwrap().0
}

/// The shape `decode`'s output has.
fn shape_of(decoded: &Decoded) -> Shape {
    match decoded {
        Decoded::Bytes(b) => Shape::Bytes {
            len: b.len() as u64,
        },
        Decoded::Pcm(p) => Shape::Pcm {
            sample_rate: p.sample_rate,
            start: p.start,
            samples: p.samples.len() as u64,
        },
    }
}

/// Checks that `steps` written by `decoder` as it goes match `decode` written whole: the same
/// bytes and shape, or the same error (in `prepare`, or, for an output WAV cannot hold, in
/// `write` before any byte). Returns true when there was output.
fn check(decoder: &mut dyn NamedDecoder, steps: &[DecodeStep<'_>], present: Present) -> bool {
    let what = format!("{} steps, {present:?}", steps.len());
    let whole = decoder.decode(steps, present);
    let prepared = decoder.prepare(steps, present);
    let (whole, prepared) = match (whole, prepared) {
        (Ok(w), Ok(p)) => (w, p),
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string(), "{what}");
            return false;
        }
        (w, p) => panic!("{what}: decode {w:?}, prepare {p:?}"),
    };
    assert_eq!(prepared.shape(), shape_of(&whole), "{what}");
    let mut want = Vec::new();
    let written = whole.write_to(&mut want);
    let mut got = Vec::new();
    let streamed = decoder.write(steps, present, prepared, &mut got);
    match (written, streamed) {
        (Ok(()), Ok(())) => {
            assert!(
                got == want,
                "{what}: {} bytes against {}",
                got.len(),
                want.len()
            );
            true
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string(), "{what}");
            assert!(
                got.is_empty(),
                "{what}: {} bytes before the error",
                got.len()
            );
            false
        }
        (a, b) => panic!("{what}: written whole {a:?}, as it goes {b:?}"),
    }
}

/// The plans `h4mk decode` makes of a track: every chain, ranges at and between blocks, and
/// the same ranges from the block before as a lead.
fn plans<'d>(demux: &Demuxer<'d>, track: u16) -> Vec<(Vec<DecodeStep<'d>>, Present)> {
    let all = demux.range(track, 0, u32::MAX).unwrap();
    let mut pts: Vec<u32> = all.iter().map(|s| s.block.ts_ms).collect();
    pts.sort_unstable();
    pts.dedup();
    let mut plans = vec![(
        all,
        Present::Range {
            start_ms: 0,
            end_ms: u32::MAX,
        },
    )];
    let stride = (pts.len() / 6).max(1);
    for (i, &t) in pts.iter().enumerate().step_by(stride) {
        let steps = demux.chain(track, t).unwrap();
        let target = steps.len() - 1;
        plans.push((steps, Present::Index(target)));
        let end = pts.get(i + 2 * stride).copied().unwrap_or(u32::MAX);
        let (start_ms, end_ms) = (t.saturating_add(1), end);
        plans.push((
            demux.range(track, start_ms, end_ms).unwrap(),
            Present::Range { start_ms, end_ms },
        ));
        plans.push((
            demux.range(track, t, end_ms).unwrap(),
            Present::Lead {
                lead_ms: t,
                start_ms,
                end_ms,
            },
        ));
    }
    plans
}

#[test]
fn a_decode_written_as_it_goes_is_the_decode_written_whole() {
    let registry = AdapterRegistry::default();
    let mut files: Vec<Vec<u8>> = REFERENCE
        .iter()
        .map(|name| read_reference(name, "h4mk"))
        .collect();
    files.extend([encoded(2.5, 0), encoded(2.5, 2)]);
    let mut written = [0, 0];
    for file in &files {
        let demux = Demuxer::open(file).unwrap();
        for track in demux.tracks().iter().map(|t| t.track_id) {
            for (steps, present) in plans(&demux, track) {
                for (k, adapter) in ["null", "dsp"].into_iter().enumerate() {
                    let mut decoder = registry.get(adapter).unwrap();
                    if check(decoder.as_mut(), &steps, present) {
                        written[k] += 1;
                    }
                }
            }
        }
    }
    // Both adapters wrote output for many plans (the reference blocks are not all DSP).
    assert!(written[0] > 150 && written[1] > 40, "{written:?}");
}

#[test]
fn a_prepared_plan_is_written_only_by_the_adapter_that_prepared_it() {
    let file = encoded(0.5, 0);
    let demux = Demuxer::open(&file).unwrap();
    let steps = demux.range(1, 0, u32::MAX).unwrap();
    assert_eq!(steps[0].kind, BlockKind::Key);
    let registry = AdapterRegistry::default();
    let present = Present::Range {
        start_ms: 0,
        end_ms: u32::MAX,
    };
    let prepared = registry
        .get("dsp")
        .unwrap()
        .prepare(&steps, present)
        .unwrap();
    let mut out = Vec::new();
    let err = registry
        .get("null")
        .unwrap()
        .write(&steps, present, prepared, &mut out)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid parameter: a PCM plan is written by the adapter that prepared it"
    );
    assert!(out.is_empty());
}
