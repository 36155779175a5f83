//! The checks behind the `wav` fuzz target: h4mk-adapters' WAV reading and DSP1 encoding, a
//! piece at a time against all at once, on any bytes.
//!
//! This file is the one copy of these checks. The fuzz crate exposes it as
//! `h4mk_fuzz::checks_wav`; the stable test binary of h4mk-adapters includes it with `#[path]`
//! (tests/it/main.rs), where `fuzz_regressions.rs` replays every committed fuzz input through
//! it. So it depends on `h4mk_adapters` and `std` only.
//!
//! The input is one byte `p`, then a WAV file; pieces are `p + 1` samples. What must hold:
//! - no call panics: reading and encoding return `Ok` or a typed error, in memory the input
//!   justifies (a header may declare any length);
//! - [`WavStream`] read in pieces gives what [`read_wav`] gives: the same rate and the same
//!   samples bit for bit, or the same error;
//! - for a file that reads, of at most [`MAX_ENCODED`] samples: the [`Encoder`] fed those
//!   pieces gives what [`encode`] gives for the whole signal, block for block, or the same
//!   error (a sample that is not a number, a rate the encoder refuses), and holds no more
//!   frames than its bound.

use h4mk_adapters::{Block, Encoder, EncoderConfig, Error, WavStream, encode, read_wav};

/// The most samples encoded per input: an FFT per 512 samples, so each input runs fast.
pub const MAX_ENCODED: usize = 1 << 14;

/// Target `wav`.
pub fn wav(data: &[u8]) {
    let Some((&p, file)) = data.split_first() else {
        return;
    };
    let piece = usize::from(p) + 1;
    let whole = read_wav(file);
    let pieces = read_in_pieces(file, piece);
    let pcm = match (whole, pieces) {
        (Ok(pcm), Ok((rate, samples))) => {
            assert_eq!(pcm.sample_rate, rate);
            assert!(
                bits(&pcm.samples) == bits(&samples),
                "WavStream in pieces of {piece} read other samples than read_wav"
            );
            pcm
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string());
            return;
        }
        (a, b) => panic!("read_wav and WavStream disagree: {a:?}, {b:?}"),
    };
    if pcm.samples.len() > MAX_ENCODED {
        return;
    }
    let config = EncoderConfig::default();
    let at_once = encode(&pcm.samples, pcm.sample_rate, &config);
    let in_pieces = encode_in_pieces(&pcm.samples, pcm.sample_rate, &config, piece);
    match (at_once, in_pieces) {
        (Ok(a), Ok(b)) => assert!(a == b, "the Encoder in pieces of {piece} gave other blocks"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("encode and the Encoder disagree: {a:?}, {b:?}"),
    }
}

fn read_in_pieces(file: &[u8], piece: usize) -> Result<(u32, Vec<f32>), Error> {
    let mut wav = WavStream::new(file)?;
    let mut samples = Vec::new();
    while wav.read(&mut samples, piece)? > 0 {}
    Ok((wav.sample_rate(), samples))
}

fn encode_in_pieces(
    samples: &[f32],
    rate: u32,
    config: &EncoderConfig,
    piece: usize,
) -> Result<Vec<Block>, Error> {
    let mut encoder = Encoder::new(rate, config)?;
    let mut blocks = Vec::new();
    for p in samples.chunks(piece) {
        blocks.extend(encoder.push(p)?);
    }
    let bound = (config.b_blocks + 1) * config.frames_per_block + 1;
    assert!(encoder.peak_held_frames() <= bound);
    blocks.extend(encoder.finish()?);
    Ok(blocks)
}

/// Samples as bits, so that NaN compares equal to itself.
fn bits(samples: &[f32]) -> Vec<u32> {
    samples.iter().map(|s| s.to_bits()).collect()
}
