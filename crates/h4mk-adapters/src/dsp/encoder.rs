//! The DSP1 encoder: PCM to blocks (docs/ADAPTERS.md §3.5).

use realfft::RealFftPlanner;

use crate::adapter::Block;
use crate::dsp::dsp1::{self, Bin, Frames, Header, Reference};
use crate::dsp::stft::Analysis;
use crate::error::{Error, Result};
use crate::limits::{Limits, MAX_FRAME_SIZE, MIN_FRAME_SIZE};
use h4mk_gop::BlockKind;

/// How [`encode`] cuts and codes a signal.
///
/// The defaults suit 44.1 and 48 kHz: 21 ms frames with 50 % overlap, the 96 strongest of 513
/// bins per frame, 8 frames (85 ms) per block, a keyframe every 16 blocks (1.4 s), no B-blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EncoderConfig {
    /// STFT frame size in samples: even, 16 to 32 768.
    pub frame_size: usize,
    /// STFT hop in samples: divides `frame_size`, at most half of it.
    pub hop: usize,
    /// Bins kept per frame, the strongest first (at least 1).
    pub bins_per_frame: usize,
    /// Frames per block (at least 1); a block must span at least one frame and 1 ms, the first
    /// block (which owns `N - H` samples fewer) included.
    pub frames_per_block: usize,
    /// A keyframe every this many blocks (at least 1).
    pub key_interval: usize,
    /// B-blocks between consecutive anchors (0 for none).
    pub b_blocks: usize,
}

impl Default for EncoderConfig {
    fn default() -> Self {
        EncoderConfig {
            frame_size: 1024,
            hop: 512,
            bins_per_frame: 96,
            frames_per_block: 8,
            key_interval: 16,
            b_blocks: 0,
        }
    }
}

impl EncoderConfig {
    fn validate(&self, sample_rate: u32) -> Result<()> {
        let limits = Limits::default();
        let n = self.frame_size;
        let checks = [
            (
                (MIN_FRAME_SIZE..=MAX_FRAME_SIZE).contains(&n) && n.is_multiple_of(2),
                "frame_size must be even and 16..=32768",
            ),
            (
                self.hop > 0 && n.is_multiple_of(self.hop) && n / self.hop >= 2,
                "hop must divide frame_size and be at most half of it",
            ),
            (self.bins_per_frame > 0, "bins_per_frame must be at least 1"),
            (
                self.frames_per_block > 0 && self.frames_per_block <= limits.max_frames_per_block,
                "frames_per_block must be 1..=4096",
            ),
            (self.key_interval > 0, "key_interval must be at least 1"),
            (sample_rate > 0, "sample rate must be positive"),
        ];
        if let Some((_, msg)) = checks.iter().find(|(ok, _)| !ok) {
            return Err(Error::Parameter(msg));
        }
        // The first block owns the least: its first frame starts N - H samples before the
        // signal.
        let span = self.frames_per_block * self.hop;
        let first_span = span.saturating_sub(n - self.hop);
        if span < n {
            return Err(Error::Parameter("a block must span at least one frame"));
        }
        if (first_span as u64) * 1000 < u64::from(sample_rate) {
            return Err(Error::BlockUnderOneMs {
                frames_per_block: self.frames_per_block,
                first_block_samples: first_span,
                sample_rate,
                max_rate: first_span as u64 * 1000,
            });
        }
        if (self.frames_per_block - 1) * self.hop + n > limits.max_block_samples {
            return Err(Error::Parameter(
                "a block may render at most Limits::max_block_samples",
            ));
        }
        Ok(())
    }
}

/// Encodes 16-bit mono PCM; see [`encode`].
pub fn encode_i16(samples: &[i16], sample_rate: u32, config: &EncoderConfig) -> Result<Vec<Block>> {
    let samples: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32_768.0).collect();
    encode(&samples, sample_rate, config)
}

/// Encodes mono PCM (nominally `-1.0..=1.0`) into DSP1 blocks, in decode order.
///
/// Every frame keeps its `bins_per_frame` strongest bins, quantised.
/// Block `i` (in presentation order) is a keyframe when `i % key_interval == 0`, an anchor
/// (P) when `i % (b_blocks + 1) == 0` or it is the last block, and a B-block otherwise; each
/// B-block follows, in decode order, the anchor after it.
/// Timestamps are the first sample each block owns, in milliseconds, rounded down.
/// An empty signal gives no blocks; a NaN or infinite sample is refused
/// ([`Error::NonFiniteSample`]), since it would spread through the spectrum of every frame
/// that holds it and come out as silence.
pub fn encode(samples: &[f32], sample_rate: u32, config: &EncoderConfig) -> Result<Vec<Block>> {
    config.validate(sample_rate)?;
    if samples.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(index) = samples.iter().position(|s| !s.is_finite()) {
        return Err(Error::NonFiniteSample { index });
    }
    let (n, hop, per_block) = (config.frame_size, config.hop, config.frames_per_block);
    let pad = n - hop;
    let len = samples.len();
    let frame_count = (len - 1 + pad) / hop + 1;
    let too_long = || Error::Limit {
        what: "signal frames",
        value: frame_count as u64,
        max: u32::MAX.into(),
    };
    u32::try_from(frame_count).map_err(|_| too_long())?;
    let frames = analyse(samples, n, hop, config.bins_per_frame, frame_count)?;

    let block_count = frame_count.div_ceil(per_block);
    let kind = |i: usize| {
        if i.is_multiple_of(config.key_interval) {
            BlockKind::Key
        } else if i.is_multiple_of(config.b_blocks + 1) || i + 1 == block_count {
            BlockKind::Predictive
        } else {
            BlockKind::Bidirectional
        }
    };
    let header = |i: usize, kind| -> Result<Header> {
        let first = i * per_block;
        let count = per_block.min(frame_count - first);
        let start = (first * hop) as i64 - pad as i64;
        let own_start = start.max(0) as u64;
        let own_end = ((start + (count * hop) as i64).max(0) as u64).min(len as u64);
        let length = u32::try_from(own_end - own_start).map_err(|_| Error::Limit {
            what: "block length",
            value: own_end - own_start,
            max: u32::MAX.into(),
        })?;
        Ok(Header {
            kind,
            frame_size: n,
            hop,
            frame_count: count,
            sample_rate,
            first_frame: first as u32,
            length,
        })
    };
    let ts_ms = |h: &Header| -> Result<u32> {
        let ms = h.own_start() as u64 * 1000 / u64::from(sample_rate);
        u32::try_from(ms).map_err(|_| Error::Limit {
            what: "timestamp ms",
            value: ms,
            max: u32::MAX.into(),
        })
    };

    let anchors: Vec<usize> = (0..block_count)
        .filter(|&i| kind(i) != BlockKind::Bidirectional)
        .collect();
    let mut blocks = Vec::with_capacity(block_count);
    let mut pred = Vec::new();
    let mut encode_block =
        |i: usize, reference: Reference<'_>, blocks: &mut Vec<Block>| -> Result<()> {
            let h = header(i, kind(i))?;
            let mut bytes = Vec::new();
            h.write(&mut bytes)?;
            let first = i * per_block;
            for j in 0..h.frame_count {
                let r = if j == 0 {
                    reference
                } else {
                    Reference::One {
                        frame: frames.frame(first + j - 1),
                        distance: 1,
                    }
                };
                dsp1::predict(r, n, hop, &mut pred);
                dsp1::write_frame(frames.frame(first + j), &pred, &mut bytes);
            }
            blocks.push(Block {
                ts_ms: ts_ms(&h)?,
                kind: h.kind,
                bytes,
            });
            Ok(())
        };
    let last_frame_of = |a: usize| (a * per_block + per_block).min(frame_count) - 1;
    for (k, &a) in anchors.iter().enumerate() {
        let prev = k.checked_sub(1).and_then(|p| anchors.get(p)).copied();
        let reference = match (kind(a), prev) {
            (BlockKind::Key, _) | (_, None) => Reference::None,
            (_, Some(p)) => Reference::One {
                frame: frames.frame(last_frame_of(p)),
                distance: (a * per_block) as i64 - last_frame_of(p) as i64,
            },
        };
        encode_block(a, reference, &mut blocks)?;
        // The B-blocks between the previous anchor and this one follow it in decode order.
        if let Some(p) = prev {
            for b in p + 1..a {
                let reference = Reference::Two {
                    prev: frames.frame(last_frame_of(p)),
                    d_prev: (b * per_block) as i64 - last_frame_of(p) as i64,
                    next: frames.frame(a * per_block),
                    d_next: ((a - b) * per_block) as i64,
                };
                encode_block(b, reference, &mut blocks)?;
            }
        }
    }
    Ok(blocks)
}

/// The quantised strongest bins of every frame.
fn analyse(
    samples: &[f32],
    n: usize,
    hop: usize,
    keep: usize,
    frame_count: usize,
) -> Result<Frames> {
    let pad = (n - hop) as i64;
    let mut analysis = Analysis::new(&mut RealFftPlanner::new(), n);
    let mut frames = Frames::default();
    let mut order: Vec<(usize, f32)> = Vec::with_capacity(n / 2 + 1);
    let mut kept: Vec<Bin> = Vec::with_capacity(keep.min(n / 2 + 1));
    for f in 0..frame_count {
        analysis.frame(samples, (f * hop) as i64 - pad)?;
        order.clear();
        order.extend(analysis.spectrum.iter().map(|c| c.norm()).enumerate());
        // Strongest first; ties (and NaN) in a fixed order, so encoding is deterministic.
        let strongest =
            |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if keep < order.len() {
            order.select_nth_unstable_by(keep, strongest);
            order.truncate(keep);
        }
        order.sort_unstable_by_key(|&(k, _)| k);
        kept.clear();
        for &(k, m) in &order {
            let mag = dsp1::quantise_mag(m);
            let c = analysis.spectrum.get(k).copied().unwrap_or_default();
            if mag > 0 {
                kept.push(Bin {
                    bin: k as u16,
                    mag,
                    phase: dsp1::quantise_phase(c.im.atan2(c.re)),
                });
            }
        }
        frames.push_frame(kept.iter().copied());
    }
    Ok(frames)
}
