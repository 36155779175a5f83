//! Writing a decode as it goes ([`NamedDecoder::prepare`], then [`NamedDecoder::write`]) gives
//! the bytes, the shape and the errors of decoding it whole and writing the result.

use h4mk_adapters::{
    AdapterRegistry, BlockKind, Channel, Decoded, EncoderConfig, Error, NamedDecoder, Present,
    SampleFormat, Shape, WavStream, encode, in_presentation_order, signal::sample_mix,
    write_wav_channels,
};
use h4mk_mt::{DecodeStep, Demuxer, MuxOptions, Muxer, Sidecars, TrackSpec};

use crate::reference_fixtures::{REFERENCE, read_reference};

/// A one-track container of `seconds` of the sample mix at 16 kHz, encoded with `b_blocks`.
fn encoded(seconds: f64, b_blocks: usize) -> Vec<u8> {
    let rate = 16_000;
    tracks(&[(rate, sample_mix(rate, seconds), b_blocks)])
}

/// A container with one track per `(sample rate, signal, B-blocks)`, ids from 1.
fn tracks(signals: &[(u32, Vec<f32>, usize)]) -> Vec<u8> {
    let specs = signals
        .iter()
        .zip(1..)
        .map(|(&(rate, ..), track_id)| TrackSpec {
            track_id,
            name: format!("signal {track_id}"),
            kind: "audio".into(),
            codec: "dsp1".into(),
            sample_rate: rate,
            channels: 1,
            note: String::new(),
        })
        .collect();
    let mut mux = Muxer::new(
        Vec::new(),
        specs,
        &Sidecars::default(),
        MuxOptions::default(),
    )
    .unwrap();
    for ((rate, signal, b_blocks), track_id) in signals.iter().zip(1..) {
        let config = EncoderConfig {
            b_blocks: *b_blocks,
            key_interval: 4,
            ..EncoderConfig::default()
        };
        let blocks = encode(signal, *rate, &config).unwrap();
        // In presentation order, as `h4mk encode` hands them over.
        for b in in_presentation_order(&blocks) {
            mux.push(track_id, b.ts_ms, b.kind, &b.bytes).unwrap();
        }
    }
    mux.finish().unwrap().0
}

/// Checks that `steps` written by `decoder` as it goes match `decode` written whole: the same
/// bytes and shape, or the same error (in `prepare`, or, for an output WAV cannot hold, in
/// `write` before any byte). Returns true when there was output.
pub(crate) fn check(
    decoder: &mut dyn NamedDecoder,
    steps: &[DecodeStep<'_>],
    present: Present,
) -> bool {
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
    assert_eq!(prepared.shape(), whole.shape(), "{what}");
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
fn a_prepared_plan_is_written_only_by_its_adapter_and_for_its_plan() {
    let file = encoded(0.5, 0);
    let demux = Demuxer::open(&file).unwrap();
    let steps = demux.range(1, 0, u32::MAX).unwrap();
    assert_eq!(steps[0].kind, BlockKind::Key);
    let registry = AdapterRegistry::default();
    let present = Present::Range {
        start_ms: 0,
        end_ms: u32::MAX,
    };
    let prepare = |adapter: &str| {
        registry
            .get(adapter)
            .unwrap()
            .prepare(&steps, present)
            .unwrap()
    };
    let mut out = Vec::new();
    // Each adapter refuses the other's plan.
    for (by, to) in [("dsp", "null"), ("null", "dsp")] {
        let err = registry
            .get(to)
            .unwrap()
            .write(&steps, present, prepare(by), &mut out)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid parameter: a plan is written by the adapter that prepared it",
            "{by} to {to}"
        );
    }
    // A plan written with other steps or another range than it was prepared for.
    let shorter = Present::Range {
        start_ms: 0,
        end_ms: 100,
    };
    for adapter in ["dsp", "null"] {
        let mut decoder = registry.get(adapter).unwrap();
        for (steps, present) in [(&steps[..], shorter), (&steps[..steps.len() - 1], present)] {
            let err = decoder
                .write(steps, present, prepare(adapter), &mut out)
                .expect_err(&format!("{adapter} {} {present:?}", steps.len()));
            assert_eq!(
                err.to_string(),
                "invalid parameter: the plan to write is not the one prepared"
            );
        }
        // Another plan of as many steps: only the lengths were compared, and the output
        // prepared for one was written for the other.
        let n = steps.len() - 1;
        let prepared = decoder.prepare(&steps[..n], present).unwrap();
        let err = decoder
            .write(&steps[1..], present, prepared, &mut out)
            .expect_err(adapter);
        assert_eq!(
            err.to_string(),
            "invalid parameter: the plan to write is not the one prepared"
        );
    }
    assert!(out.is_empty());
}

/// The 16-bit samples of a WAV file, interleaved, with its channel count and rate.
fn samples_of(wav: &[u8]) -> (u16, u32, Vec<i16>) {
    let mut reader = hound::WavReader::new(wav).unwrap();
    let spec = reader.spec();
    let samples = reader.samples::<i16>().map(Result::unwrap).collect();
    (spec.channels, spec.sample_rate, samples)
}

/// A plan of `from_ms` to `to_ms` (`steps`, the demuxer's `range`), prepared by a new `dsp`
/// decoder.
fn channel<'a>(steps: &'a [DecodeStep<'a>], from_ms: u32, to_ms: u32) -> Channel<'a> {
    let mut decoder = AdapterRegistry::default().get("dsp").unwrap();
    let present = Present::Range {
        start_ms: from_ms,
        end_ms: to_ms,
    };
    let prepared = decoder.prepare(steps, present).unwrap();
    Channel {
        decoder,
        steps,
        present,
        prepared,
    }
}

/// The mono WAV file `channel` writes on its own.
fn alone(c: Channel<'_>) -> Vec<u8> {
    let Channel {
        mut decoder,
        steps,
        present,
        prepared,
    } = c;
    let mut out = Vec::new();
    decoder.write(steps, present, prepared, &mut out).unwrap();
    out
}

#[test]
fn tracks_written_as_channels_interleave_what_each_writes_alone() {
    let rate = 16_000;
    let a = sample_mix(rate, 2.0);
    let b: Vec<f32> = a.iter().rev().map(|s| -0.5 * s).collect();
    let file = tracks(&[(rate, a, 0), (rate, b, 2)]);
    let demux = Demuxer::open(&file).unwrap();
    // Whole tracks, then ranges that cover different samples in each track: the file spans
    // both, and each channel is silent where its track has nothing.
    for ((from_a, to_a), (from_b, to_b)) in [
        ((0, u32::MAX), (0, u32::MAX)),
        ((300, 900), (700, 1500)),
        ((1200, 1300), (0, 200)),
    ] {
        let plan_a = demux.range(1, from_a, to_a).unwrap();
        let plan_b = demux.range(2, from_b, to_b).unwrap();
        let channels = vec![
            channel(&plan_a, from_a, to_a),
            channel(&plan_b, from_b, to_b),
        ];
        let shapes: Vec<Shape> = channels.iter().map(|c| c.prepared.shape()).collect();
        let mut out = Vec::new();
        let shape = write_wav_channels(channels, SampleFormat::I16, &mut out)
            .unwrap()
            .shape;
        let (count, got_rate, interleaved) = samples_of(&out);
        assert_eq!((count, got_rate), (2, rate));

        let mut spans = Vec::new();
        for s in &shapes {
            let Shape::Pcm { start, samples, .. } = *s else {
                panic!("{s:?}")
            };
            spans.push((start, start + samples));
        }
        let start = spans.iter().map(|s| s.0).min().unwrap();
        let end = spans.iter().map(|s| s.1).max().unwrap();
        assert_eq!(
            shape,
            Shape::Pcm {
                sample_rate: rate,
                start,
                samples: end - start
            }
        );
        assert_eq!(interleaved.len() as u64, 2 * (end - start));
        for (k, (track, from, to)) in [(1, from_a, to_a), (2, from_b, to_b)]
            .into_iter()
            .enumerate()
        {
            let plan = demux.range(track, from, to).unwrap();
            let (_, _, mono) = samples_of(&alone(channel(&plan, from, to)));
            let got: Vec<i16> = interleaved.iter().skip(k).step_by(2).copied().collect();
            let lead = (spans[k].0 - start) as usize;
            assert!(
                got[..lead].iter().all(|&s| s == 0),
                "silence before track {track}"
            );
            assert_eq!(got[lead..lead + mono.len()], mono[..], "track {track}");
            assert!(
                got[lead + mono.len()..].iter().all(|&s| s == 0),
                "silence after"
            );
        }
    }
}

#[test]
fn channels_that_cannot_share_a_file_are_refused_before_a_byte() {
    let file = tracks(&[
        (16_000, sample_mix(16_000, 0.5), 0),
        (8_000, sample_mix(8_000, 0.5), 0),
    ]);
    let demux = Demuxer::open(&file).unwrap();
    let mut out = Vec::new();
    let (plan_1, plan_2) = (
        demux.range(1, 0, 100).unwrap(),
        demux.range(2, 0, 100).unwrap(),
    );
    let err = write_wav_channels(
        vec![channel(&plan_1, 0, 100), channel(&plan_2, 0, 100)],
        SampleFormat::I16,
        &mut out,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "channel 2 has sample rate 8000, channel 1 has 16000"
    );
    // Bytes are not audio.
    let mut null = AdapterRegistry::default().get("null").unwrap();
    let present = Present::Range {
        start_ms: 0,
        end_ms: 100,
    };
    let prepared = null.prepare(&plan_1, present).unwrap();
    let bytes = Channel {
        decoder: null,
        steps: &plan_1,
        present,
        prepared,
    };
    let err = write_wav_channels(
        vec![channel(&plan_1, 0, 100), bytes],
        SampleFormat::I16,
        &mut out,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::InChannel { channel: 2, source } if source.to_string()
            == "invalid parameter: the output is bytes, not audio samples"),
        "{err:?}"
    );
    assert!(write_wav_channels(Vec::new(), SampleFormat::I16, &mut out).is_err());
    assert!(out.is_empty());
}

/// A channel of `samples` from stream position `start`, held by a decoder with nothing to
/// decode.
fn held(start: u64, samples: Vec<f32>) -> Channel<'static> {
    let present = Present::Index(0);
    let pcm = h4mk_adapters::Pcm {
        sample_rate: 8000,
        start,
        samples,
    };
    Channel {
        decoder: Box::new(h4mk_adapters::NullAdapter::default()),
        steps: &[],
        present,
        prepared: h4mk_adapters::Prepared::held(Decoded::Pcm(pcm), &[], present),
    }
}

#[test]
fn a_channel_with_no_samples_is_silent_and_widens_nothing() {
    let mut out = Vec::new();
    let shape = write_wav_channels(
        vec![held(100, vec![0.5; 1000]), held(5000, Vec::new())],
        SampleFormat::I16,
        &mut out,
    )
    .unwrap()
    .shape;
    assert_eq!(
        shape,
        Shape::Pcm {
            sample_rate: 8000,
            start: 100,
            samples: 1000
        }
    );
    let (channels, _, interleaved) = samples_of(&out);
    assert_eq!(channels, 2);
    assert_eq!(interleaved.len(), 2000);
    assert!(interleaved.chunks(2).all(|f| f == [16_384, 0]));
    // Only silence: no frame.
    let shape = write_wav_channels(
        vec![held(7, Vec::new())],
        SampleFormat::I16,
        &mut Vec::new(),
    )
    .unwrap()
    .shape;
    assert!(matches!(shape, Shape::Pcm { samples: 0, .. }), "{shape:?}");
}

/// A decoded signal can overshoot full scale (a float WAV peaking at 4.8 encodes fine): its
/// samples are clipped to 16 bits, and how many is now counted, so that `h4mk decode` can say
/// so, as sox does, where it said nothing.
#[test]
fn samples_clipped_to_sixteen_bits_are_counted() {
    let mut out = Vec::new();
    let written = write_wav_channels(
        vec![
            held(0, vec![1.5, -1.0, 0.9999, 0.5]),
            held(0, vec![-2.0, 1.0, 0.0, -1.00002]),
        ],
        SampleFormat::I16,
        &mut out,
    )
    .unwrap();
    // 1.5 and -2.0 are past it, 1.0 rounds to 32768 and -1.00002 to -32769; -1.0 is -32768.
    assert_eq!(written.clipped, 4);
    let silent = write_wav_channels(
        vec![held(0, vec![0.25; 10])],
        SampleFormat::I16,
        &mut Vec::new(),
    )
    .unwrap();
    assert_eq!(silent.clipped, 0);
}

/// As 32-bit floats, samples are written as decoded: nothing is clipped, and reading the file
/// back gives them bit for bit, at one, two and three channels (`WAVE_FORMAT_IEEE_FLOAT`, then
/// `WAVEFORMATEXTENSIBLE` with the float subtype).
#[test]
fn float_files_keep_every_sample_as_decoded() {
    let signals = [
        vec![1.5f32, -1.0, 0.9999, 0.123_456_79],
        vec![-2.0, 1.0, 0.0, -1.000_02],
        vec![4.8, -4.8, 1e-9, 0.5],
    ];
    for n in 1..=3 {
        let mut out = Vec::new();
        let channels = signals.iter().take(n).map(|s| held(0, s.clone())).collect();
        let written = write_wav_channels(channels, SampleFormat::F32, &mut out).unwrap();
        assert_eq!(written.clipped, 0);
        assert_eq!(
            u16::from_le_bytes([out[20], out[21]]),
            if n > 2 { 0xFFFE } else { 3 }
        );
        // A `fmt ` chunk that states its extra bytes (cbSize 0 for plain float), then a
        // `fact` chunk with the frames: sox warned of a float file without them.
        let fmt_len = u32::from_le_bytes(out[16..20].try_into().unwrap()) as usize;
        assert_eq!(fmt_len, if n > 2 { 40 } else { 18 });
        assert_eq!(&out[36..38], if n > 2 { &[22, 0] } else { &[0, 0] });
        let fact = 20 + fmt_len;
        assert_eq!(&out[fact..fact + 8], b"fact\x04\0\0\0");
        assert_eq!(out[fact + 8..fact + 12], 4u32.to_le_bytes());
        assert_eq!(
            u32::from_le_bytes(out[4..8].try_into().unwrap()) as usize,
            out.len() - 8
        );
        let mut back = vec![Vec::new(); n];
        WavStream::new(&out[..])
            .unwrap()
            .read_channels(&mut back, 100)
            .unwrap();
        assert_eq!(back, signals[..n], "{n} channels");
    }
}

/// The samples of a planned decode, and its shape's first sample.
fn planned_samples(demux: &Demuxer<'_>, span: h4mk_adapters::Span) -> (u64, Vec<f32>) {
    let mut dsp = AdapterRegistry::default().get("dsp").unwrap();
    let planned = h4mk_adapters::plan_decode(demux, dsp.as_mut(), 1, span).unwrap();
    let Shape::Pcm { start, .. } = planned.prepared.shape() else {
        panic!("{span:?}: not audio");
    };
    let mut samples = Vec::new();
    dsp.write_samples(
        &planned.steps,
        planned.present,
        planned.prepared,
        &mut |s| {
            samples.extend_from_slice(s);
            Ok(())
        },
    )
    .unwrap();
    (start, samples)
}

/// `plan_decode` of a time range is the whole track's decode cut to the sample, bit for bit,
/// from inside a block, with B-blocks and without: what `h4mk decode` gives, now in the
/// library. `decode_range` of the same blocks starts at the first block at or after the
/// range's start, without the overlap of the block before (a library user's review: 24 dB
/// against the whole decode).
#[test]
fn a_planned_range_is_the_whole_decode_cut_to_the_sample() {
    use h4mk_adapters::Span;
    for b_blocks in [0, 2] {
        let file = encoded(2.0, b_blocks);
        let demux = Demuxer::open(&file).unwrap();
        let (whole_start, whole) = planned_samples(&demux, Span::Whole);
        assert_eq!(whole_start, 0);
        for (a, b) in [(0, 300), (130, 770), (1001, 1999), (500, u32::MAX)] {
            let (start, cut) = planned_samples(&demux, Span::Range(a, b));
            let from = u64::from(a) * 16;
            let to = if b == u32::MAX {
                whole.len() as u64
            } else {
                u64::from(b) * 16
            };
            assert_eq!(start, from, "{b_blocks} B, {a}..{b}");
            let want = &whole[usize::try_from(from).unwrap()..usize::try_from(to).unwrap()];
            assert!(
                cut == want,
                "{b_blocks} B, {a}..{b}: not the whole decode's samples"
            );
        }
        // A time: the target block's samples, with the overlap of the block before it.
        let target = demux.chain(1, 1000).unwrap().last().unwrap().block.ts_ms;
        let (start, shown) = planned_samples(&demux, Span::At(1000));
        let at = usize::try_from(start).unwrap();
        assert!(
            start > 0 && shown[..] == whole[at..at + shown.len()],
            "at 1000 ms"
        );
        assert!(
            u64::from(target) * 16 <= start + 16,
            "{target} ms, sample {start}"
        );
    }
}
