//! PCM → DSP1 blocks → PCM: quality, seeking and B-blocks.

use h4mk_adapters::{BlockKind, EncoderConfig, Pcm, encode, read_wav, write_wav};

use h4mk_adapters::signal::{sample_mix, snr_db};

use crate::{decode_pcm, plan_all, plan_from_key};

const RATE: u32 = 48_000;

/// B-blocks carry lossless integer deltas of the same quantised spectra, so decoding with them
/// must give exactly the samples decoding without them gives (docs/ADAPTERS.md §4).
const B_BLOCK_TOLERANCE: f32 = 0.0;

#[test]
fn ten_seconds_at_48k_reach_20_db_at_the_defaults() {
    let signal = sample_mix(RATE, 10.0);
    let blocks = encode(&signal, RATE, &EncoderConfig::default()).unwrap();
    let pcm = decode_pcm(&blocks, &plan_all(&blocks));
    assert_eq!(
        (pcm.sample_rate, pcm.start, pcm.samples.len()),
        (RATE, 0, signal.len())
    );
    let snr = snr_db(&signal, &pcm.samples);
    let bytes: usize = blocks.iter().map(|b| b.bytes.len()).sum();
    println!(
        "default settings: SNR {snr:.2} dB, {} blocks, {} bytes ({:.0} kbit/s)",
        blocks.len(),
        bytes,
        bytes as f64 * 8.0 / 10.0 / 1000.0
    );
    assert!(snr >= 20.0, "SNR {snr:.2} dB is below 20 dB");
}

#[test]
fn seeking_to_any_keyframe_gives_the_same_samples_as_decoding_from_the_start() {
    let config = EncoderConfig {
        key_interval: 4,
        ..EncoderConfig::default()
    };
    let signal = sample_mix(RATE, 3.0);
    for b_blocks in [0, 2] {
        let blocks = encode(&signal, RATE, &EncoderConfig { b_blocks, ..config }).unwrap();
        let full = decode_pcm(&blocks, &plan_all(&blocks));
        let keys: Vec<usize> = (0..blocks.len())
            .filter(|&i| blocks[i].kind == BlockKind::Key)
            .collect();
        assert!(keys.len() >= 5, "{} keyframes", keys.len());
        for &key in &keys {
            let seek = decode_pcm(&blocks, &plan_from_key(&blocks, key));
            let at = seek.start as usize;
            assert_eq!(
                at as u64 * 1000 / u64::from(RATE),
                u64::from(blocks[key].ts_ms)
            );
            assert_eq!(at + seek.samples.len(), full.samples.len());
            // The keyframe's first frame_size - hop samples also need the block before it.
            let settled = config.frame_size - config.hop;
            assert_eq!(
                seek.samples[settled..],
                full.samples[at + settled..],
                "b_blocks {b_blocks}, keyframe at decode position {key}"
            );
        }
    }
}

#[test]
fn b_blocks_decode_to_the_same_samples_as_p_blocks() {
    let signal = sample_mix(RATE, 4.0);
    let plain = encode(&signal, RATE, &EncoderConfig::default()).unwrap();
    let reference = decode_pcm(&plain, &plan_all(&plain));
    for b_blocks in [1, 3] {
        let config = EncoderConfig {
            b_blocks,
            ..EncoderConfig::default()
        };
        let blocks = encode(&signal, RATE, &config).unwrap();
        let count = |k| blocks.iter().filter(|b| b.kind == k).count();
        assert!(count(BlockKind::Bidirectional) > blocks.len() / 3);
        assert_eq!(
            count(BlockKind::Key),
            plain.iter().filter(|b| b.kind == BlockKind::Key).count()
        );
        let with_b = decode_pcm(&blocks, &plan_all(&blocks));
        assert_eq!(with_b.samples.len(), reference.samples.len());
        let max_diff = with_b
            .samples
            .iter()
            .zip(&reference.samples)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        println!("b_blocks {b_blocks}: max |difference| {max_diff:e}");
        assert!(
            max_diff <= B_BLOCK_TOLERANCE,
            "b_blocks {b_blocks}: {max_diff}"
        );
    }
}

#[test]
fn wav_in_blocks_wav_out_sounds_like_the_input() {
    let rate = 22_050;
    let mut wav_in = Vec::new();
    write_wav(&mut wav_in, &Pcm::new(rate, sample_mix(rate, 1.0))).unwrap();
    let input = read_wav(&wav_in[..]).unwrap();
    let blocks = encode(&input.samples, input.sample_rate, &EncoderConfig::default()).unwrap();
    let pcm = decode_pcm(&blocks, &plan_all(&blocks));
    let mut wav_out = Vec::new();
    write_wav(&mut wav_out, &pcm).unwrap();
    let output = read_wav(&wav_out[..]).unwrap();
    assert_eq!(output.sample_rate, rate);
    let snr = snr_db(&input.samples, &output.samples);
    assert!(snr >= 20.0, "{snr:.2} dB");
}

#[test]
fn i16_input_and_odd_lengths_round_trip() {
    for len in [1, 2, 511, 512, 513, 4096, 4097, 12_345] {
        let signal: Vec<i16> = sample_mix(RATE, 1.0)[..len]
            .iter()
            .map(|&x| (x * 32_767.0) as i16)
            .collect();
        let blocks = h4mk_adapters::encode_i16(&signal, RATE, &EncoderConfig::default()).unwrap();
        let pcm = decode_pcm(&blocks, &plan_all(&blocks));
        assert_eq!(pcm.samples.len(), len, "length {len}");
    }
    assert!(
        encode(&[], RATE, &EncoderConfig::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_signal_past_the_largest_magnitude_step_decodes_clipped_and_finite() {
    // At 1e12, the tones' bins are above the largest step (+200 dB, docs/ADAPTERS.md §3.3),
    // which the encoder writes instead: the decoder accepts every block, and the output is
    // finite and quieter than the input.
    let signal: Vec<f32> = sample_mix(RATE, 0.5).iter().map(|x| x * 1e12).collect();
    let blocks = encode(&signal, RATE, &EncoderConfig::default()).unwrap();
    let pcm = decode_pcm(&blocks, &plan_all(&blocks));
    assert_eq!(pcm.samples.len(), signal.len());
    let peak = |s: &[f32]| s.iter().fold(0.0f32, |p, x| p.max(x.abs()));
    assert!(pcm.samples.iter().all(|x| x.is_finite()));
    let (out, input) = (peak(&pcm.samples), peak(&signal));
    assert!(
        out > 1e9 && out < 0.9 * input,
        "peak {out:e} against {input:e}"
    );
}

#[test]
fn timestamps_increase_in_presentation_order() {
    let config = EncoderConfig {
        b_blocks: 2,
        ..EncoderConfig::default()
    };
    let mut blocks = encode(&sample_mix(RATE, 2.0), RATE, &config).unwrap();
    blocks.sort_by_key(|b| b.ts_ms);
    assert!(blocks.windows(2).all(|w| w[0].ts_ms < w[1].ts_ms));
    assert_eq!(blocks[0].ts_ms, 0);
}

#[test]
fn bad_configurations_are_parameter_errors() {
    let d = EncoderConfig::default();
    for config in [
        EncoderConfig {
            frame_size: 1023,
            ..d
        },
        EncoderConfig {
            frame_size: 8,
            hop: 4,
            ..d
        },
        EncoderConfig { hop: 1024, ..d },
        EncoderConfig { hop: 300, ..d },
        EncoderConfig {
            bins_per_frame: 0,
            ..d
        },
        EncoderConfig {
            frames_per_block: 0,
            ..d
        },
        EncoderConfig {
            frames_per_block: 1,
            ..d
        },
        EncoderConfig {
            key_interval: 0,
            ..d
        },
    ] {
        let r = encode(&[0.0; 100], RATE, &config);
        assert!(
            matches!(r, Err(h4mk_adapters::Error::Parameter(_))),
            "{config:?}"
        );
    }
    assert!(matches!(
        encode(&[0.0], 0, &d),
        Err(h4mk_adapters::Error::Parameter(_))
    ));
}

#[test]
fn timestamps_strictly_increase_or_the_configuration_is_refused() {
    // The first block owns N - H samples fewer than the others: with small hops, or rates in
    // the MHz, it used to span under 1 ms, and the first two blocks both had pts 0.
    let small = EncoderConfig {
        frame_size: 64,
        hop: 16,
        bins_per_frame: 8,
        frames_per_block: 4,
        ..EncoderConfig::default()
    };
    let d = EncoderConfig::default();
    for (config, rate, refused) in [
        (&small, 48_000, true),
        (&small, 8_000, false),
        (&d, 3_584_001, true),
        (&d, 3_584_000, false),
        (&d, RATE, false),
    ] {
        let encoded = encode(&vec![0.25f32; 20_000], rate, config);
        if refused {
            // The message names the rate and the most these settings take (it used to say
            // only "invalid parameter", though the caller had set none).
            let max = config.frames_per_block * config.hop - (config.frame_size - config.hop);
            assert!(
                matches!(encoded, Err(h4mk_adapters::Error::BlockUnderOneMs { sample_rate, max_rate, .. })
                    if sample_rate == rate && max_rate == max as u64 * 1000),
                "{rate} Hz: {encoded:?}"
            );
            continue;
        }
        let mut ts: Vec<u32> = encoded.unwrap().iter().map(|b| b.ts_ms).collect();
        ts.sort_unstable();
        assert!(ts.windows(2).all(|w| w[0] < w[1]), "{rate} Hz: {ts:?}");
    }
}
