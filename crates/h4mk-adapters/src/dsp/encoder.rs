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
    /// The timestamp of the last block [`encode`] makes of `samples` samples at
    /// `sample_rate` (`None` for no samples): known before encoding, so a caller can refuse a
    /// signal too long for its container before writing anything.
    pub fn last_block_ms(&self, samples: u64, sample_rate: u32) -> Option<u64> {
        let (hop, pad) = (
            self.hop.max(1) as u64,
            self.frame_size.saturating_sub(self.hop) as u64,
        );
        let frame_count = (samples.checked_sub(1)?.saturating_add(pad)) / hop + 1;
        let per_block = self.frames_per_block.max(1) as u64;
        let first_frame = (frame_count - 1) / per_block * per_block;
        let own_start = first_frame.saturating_mul(hop).saturating_sub(pad);
        Some(own_start.saturating_mul(1000) / u64::from(sample_rate.max(1)))
    }

    /// Checks the configuration for a signal at `sample_rate`, as [`encode`] and
    /// [`Encoder::new`] do before anything else: [`Error::Parameter`] naming the field at
    /// fault, or [`Error::BlockUnderOneMs`] for blocks too short for millisecond timestamps.
    pub fn validate(&self, sample_rate: u32) -> Result<()> {
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
        let renders = (self.frames_per_block - 1) * self.hop + n;
        if renders > limits.max_block_samples {
            return Err(Error::Limit {
                what: "samples a block renders ((frames_per_block - 1) * hop + frame_size)",
                value: renders as u64,
                max: limits.max_block_samples as u64,
            });
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
///
/// A signal too long to hold in memory is encoded in pieces with [`Encoder`], to the same
/// blocks.
///
/// A muxer takes a track's blocks in presentation order (`h4mk_mt::Muxer::push`): put them in
/// it with [`in_presentation_order`](crate::in_presentation_order) first.
pub fn encode(samples: &[f32], sample_rate: u32, config: &EncoderConfig) -> Result<Vec<Block>> {
    let mut encoder = Encoder::new(sample_rate, config)?;
    let mut blocks = encoder.push(samples)?;
    blocks.extend(encoder.finish()?);
    Ok(blocks)
}

/// Encodes a signal as it arrives, in memory bounded by the configuration, not the signal.
///
/// [`Encoder::push`] takes the samples in pieces of any size and returns the blocks it can
/// settle; [`Encoder::finish`] returns the rest. Together they are exactly the blocks
/// [`encode`] gives for the whole signal, in the same decode order, however it was cut.
///
/// A block is settled once the samples after it show it is not the last (the last block is
/// always an anchor), and a B-block once the anchor after it is: so each call returns whole
/// groups, an anchor followed by the B-blocks before it, and sorting a call's blocks by
/// timestamp puts them in presentation order. The encoder holds the samples not analysed yet
/// (at most about two frames' and 16,384 more, however long the piece) and the frames of one
/// group: at most
/// `(b_blocks + 1) * frames_per_block + 1` frames. A piece refused (a sample that is not a
/// number) changes nothing.
///
/// ```
/// use h4mk_adapters::{Encoder, EncoderConfig, encode};
///
/// let signal: Vec<f32> = (0..48_000).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
/// let config = EncoderConfig { b_blocks: 2, ..EncoderConfig::default() };
/// let mut encoder = Encoder::new(48_000, &config)?;
/// let mut blocks = Vec::new();
/// for piece in signal.chunks(4_000) {
///     blocks.extend(encoder.push(piece)?);
/// }
/// blocks.extend(encoder.finish()?);
/// assert_eq!(blocks, encode(&signal, 48_000, &config)?);
/// # Ok::<(), h4mk_adapters::Error>(())
/// ```
pub struct Encoder {
    config: EncoderConfig,
    sample_rate: u32,
    analysis: Analysis,
    /// Samples from `window_start` on: those the frames not analysed yet need.
    window: Vec<f32>,
    window_start: u64,
    /// Samples pushed so far.
    total: u64,
    /// Frames analysed, from frame `frames_start` on.
    frames: Frames,
    frames_start: usize,
    /// The next frame to analyse and the next block to settle.
    next_frame: usize,
    next_block: usize,
    /// The last anchor encoded: the next anchor and the B-blocks before it refer to its last
    /// frame.
    prev_anchor: Option<usize>,
    /// The most frames held at once.
    peak_frames: usize,
    order: Vec<(usize, f32)>,
    kept: Vec<Bin>,
    pred: Vec<Bin>,
}

/// Samples [`Encoder::push`] copies into its window at a time.
const PUSH_CHUNK: usize = 1 << 14;

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("config", &self.config)
            .field("sample_rate", &self.sample_rate)
            .field("samples", &self.total)
            .field("next_block", &self.next_block)
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// An encoder for a signal at `sample_rate`; refuses a configuration [`encode`] refuses.
    pub fn new(sample_rate: u32, config: &EncoderConfig) -> Result<Self> {
        config.validate(sample_rate)?;
        let n = config.frame_size;
        Ok(Encoder {
            config: *config,
            sample_rate,
            analysis: Analysis::new(&mut RealFftPlanner::new(), n),
            window: Vec::new(),
            window_start: 0,
            total: 0,
            frames: Frames::default(),
            frames_start: 0,
            next_frame: 0,
            next_block: 0,
            prev_anchor: None,
            peak_frames: 0,
            order: Vec::with_capacity(n / 2 + 1),
            kept: Vec::with_capacity(config.bins_per_frame.min(n / 2 + 1)),
            pred: Vec::new(),
        })
    }

    /// Samples pushed so far.
    pub fn samples(&self) -> u64 {
        self.total
    }

    /// The most frames of bins held at once so far (see the type's bound).
    pub fn peak_held_frames(&self) -> usize {
        self.peak_frames
    }

    /// Takes the next samples of the signal; returns the blocks they settle, in decode order.
    pub fn push(&mut self, samples: &[f32]) -> Result<Vec<Block>> {
        if let Some(i) = samples.iter().position(|s| !s.is_finite()) {
            return Err(Error::NonFiniteSample {
                index: usize::try_from(self.total)
                    .unwrap_or(usize::MAX)
                    .saturating_add(i),
            });
        }
        // A piece is taken a chunk at a time, so that a long one (the whole signal, from
        // `encode`) is not copied whole into the window.
        let mut blocks = Vec::new();
        for chunk in samples.chunks(PUSH_CHUNK) {
            self.push_chunk(chunk, &mut blocks)?;
        }
        Ok(blocks)
    }

    /// [`Encoder::push`] of a chunk of finite samples, appending the blocks it settles.
    fn push_chunk(&mut self, samples: &[f32], blocks: &mut Vec<Block>) -> Result<()> {
        self.window.extend_from_slice(samples);
        self.total += samples.len() as u64;
        // A frame is analysed once all its samples are here, and a block is settled as soon as
        // its frames are, so that the frames held stay within the bound.
        let (n, per_block) = (self.config.frame_size, self.config.frames_per_block);
        while self.frame_start(self.next_frame) + n as i64 <= self.total as i64 {
            self.analyse_next()?;
            // A block is not the last once its last frame is analysed: the next frame starts
            // inside the signal, since the padding is at least a hop.
            if (self.next_block + 1) * per_block <= self.next_frame {
                self.settle(false, blocks)?;
            }
        }
        self.drop_analysed_samples();
        Ok(())
    }

    /// Ends the signal; returns the blocks not returned yet, in decode order.
    pub fn finish(mut self) -> Result<Vec<Block>> {
        self.settle_rest()
    }

    /// Analyses the last frames and settles every block left, the last one last.
    fn settle_rest(&mut self) -> Result<Vec<Block>> {
        let mut blocks = Vec::new();
        if self.total == 0 {
            return Ok(blocks);
        }
        let (hop, pad) = (self.config.hop, self.pad());
        // Every frame that starts inside the signal; samples past its end are zero.
        let frame_count = usize::try_from(self.total - 1)
            .ok()
            .and_then(|last| last.checked_add(pad))
            .map(|x| x / hop + 1)
            .ok_or(Error::Limit {
                what: "signal frames",
                value: self.total,
                max: u32::MAX.into(),
            })?;
        let per_block = self.config.frames_per_block;
        let block_count = frame_count.div_ceil(per_block);
        while self.next_block < block_count {
            let last = self.next_block + 1 == block_count;
            let end = if last {
                frame_count
            } else {
                (self.next_block + 1) * per_block
            };
            while self.next_frame < end {
                self.analyse_next()?;
            }
            self.settle(last, &mut blocks)?;
        }
        Ok(blocks)
    }

    fn pad(&self) -> usize {
        self.config.frame_size - self.config.hop
    }

    /// Where frame `f` starts in the signal (before it for the first frames).
    fn frame_start(&self, f: usize) -> i64 {
        (f * self.config.hop) as i64 - self.pad() as i64
    }

    /// Analyses the next frame into its quantised strongest bins.
    fn analyse_next(&mut self) -> Result<()> {
        let f = self.next_frame;
        if u32::try_from(f).map_or(true, |f| f == u32::MAX) {
            return Err(Error::Limit {
                what: "signal frames",
                value: f as u64 + 1,
                max: u32::MAX.into(),
            });
        }
        let start = self.frame_start(f) - self.window_start as i64;
        self.analysis.frame(&self.window, start)?;
        let keep = self.config.bins_per_frame;
        let order = &mut self.order;
        order.clear();
        order.extend(self.analysis.spectrum.iter().map(|c| c.norm()).enumerate());
        // Strongest first; ties (and NaN) in a fixed order, so encoding is deterministic.
        let strongest =
            |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if keep < order.len() {
            order.select_nth_unstable_by(keep, strongest);
            order.truncate(keep);
        }
        order.sort_unstable_by_key(|&(k, _)| k);
        self.kept.clear();
        for &(k, m) in order.iter() {
            let mag = dsp1::quantise_mag(m);
            let c = self.analysis.spectrum.get(k).copied().unwrap_or_default();
            if mag > 0 {
                self.kept.push(Bin {
                    bin: k as u16,
                    mag,
                    phase: dsp1::quantise_phase(c.im.atan2(c.re)),
                });
            }
        }
        self.frames.push_frame(self.kept.iter().copied());
        self.peak_frames = self.peak_frames.max(self.frames.len());
        self.next_frame = f + 1;
        Ok(())
    }

    /// Drops the samples before the next frame, once they are most of the window (so each
    /// sample moves at most once on average).
    fn drop_analysed_samples(&mut self) {
        let needed = self.frame_start(self.next_frame).max(0) as u64;
        let dead = (needed.saturating_sub(self.window_start) as usize).min(self.window.len());
        if dead > 0 && dead >= self.window.len() / 2 {
            self.window.drain(..dead);
            self.window_start += dead as u64;
        }
    }

    /// The bins of frame `f`, which must still be held.
    fn frame(&self, f: usize) -> &[Bin] {
        f.checked_sub(self.frames_start)
            .map_or(&[], |j| self.frames.frame(j))
    }

    /// Settles the next block (`last` if it is the signal's last): an anchor is encoded with
    /// the B-blocks before it, a B-block waits for the anchor after it.
    fn settle(&mut self, last: bool, blocks: &mut Vec<Block>) -> Result<()> {
        let i = self.next_block;
        self.next_block += 1;
        let c = self.config;
        let kind = if i.is_multiple_of(c.key_interval) {
            BlockKind::Key
        } else if i.is_multiple_of(c.b_blocks + 1) || last {
            BlockKind::Predictive
        } else {
            return Ok(());
        };
        let per_block = c.frames_per_block;
        let frame_count = if last {
            self.next_frame - i * per_block
        } else {
            per_block
        };
        // Only the last block can end short, and the block before an anchor is never last.
        let last_frame_of = |a: usize| a * per_block + per_block - 1;
        let prev = self.prev_anchor;
        let mut pred = std::mem::take(&mut self.pred);
        let reference = match (kind, prev) {
            (BlockKind::Key, _) | (_, None) => Reference::None,
            (_, Some(p)) => Reference::One {
                frame: self.frame(last_frame_of(p)),
                distance: (i * per_block) as i64 - last_frame_of(p) as i64,
            },
        };
        blocks.push(self.block(&mut pred, i, kind, frame_count, reference)?);
        // The B-blocks between the previous anchor and this one follow it in decode order.
        if let Some(p) = prev {
            for b in p + 1..i {
                let reference = Reference::Two {
                    prev: self.frame(last_frame_of(p)),
                    d_prev: (b * per_block) as i64 - last_frame_of(p) as i64,
                    next: self.frame(i * per_block),
                    d_next: ((i - b) * per_block) as i64,
                };
                let b = self.block(&mut pred, b, BlockKind::Bidirectional, per_block, reference)?;
                blocks.push(b);
            }
        }
        self.pred = pred;
        self.prev_anchor = Some(i);
        // From here on only this anchor's last frame is referred to.
        let keep_from = i * per_block + frame_count - 1;
        self.frames.drop_first(keep_from - self.frames_start);
        self.frames_start = keep_from;
        Ok(())
    }

    /// Encodes block `i` of `frame_count` frames, its first predicted from `reference`
    /// (`pred` is scratch space).
    fn block(
        &self,
        pred: &mut Vec<Bin>,
        i: usize,
        kind: BlockKind,
        frame_count: usize,
        reference: Reference<'_>,
    ) -> Result<Block> {
        let c = self.config;
        let (n, hop, per_block) = (c.frame_size, c.hop, c.frames_per_block);
        let first = i * per_block;
        let start = self.frame_start(first);
        let own_start = start.max(0) as u64;
        let own_end = ((start + (frame_count * hop) as i64).max(0) as u64).min(self.total);
        let length = u32::try_from(own_end - own_start).map_err(|_| Error::Limit {
            what: "block length",
            value: own_end - own_start,
            max: u32::MAX.into(),
        })?;
        let h = Header {
            kind,
            frame_size: n,
            hop,
            frame_count,
            sample_rate: self.sample_rate,
            first_frame: first as u32,
            length,
        };
        let mut bytes = Vec::new();
        h.write(&mut bytes)?;
        for j in 0..frame_count {
            let r = if j == 0 {
                reference
            } else {
                Reference::One {
                    frame: self.frame(first + j - 1),
                    distance: 1,
                }
            };
            dsp1::predict(r, n, hop, pred);
            dsp1::write_frame(self.frame(first + j), pred, &mut bytes);
        }
        let ms = h.own_start() as u64 * 1000 / u64::from(self.sample_rate);
        let ts_ms = u32::try_from(ms).map_err(|_| Error::Limit {
            what: "timestamp ms",
            value: ms,
            max: u32::MAX.into(),
        })?;
        Ok(Block { ts_ms, kind, bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn config() -> impl Strategy<Value = EncoderConfig> {
        (
            0..4usize,
            1..3u32,
            1..21usize,
            0..6usize,
            1..8usize,
            0..4usize,
        )
            .prop_map(|(h, ratio, bins, extra, key_interval, b_blocks)| {
                let hop = 16 << h;
                let frame_size = hop << ratio;
                EncoderConfig {
                    frame_size,
                    hop,
                    bins_per_frame: bins,
                    frames_per_block: frame_size / hop + extra,
                    key_interval,
                    b_blocks,
                }
            })
    }

    fn signal(len: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (i as f32 * 0.013 * (1.0 + (i % 97) as f32 * 0.01)).sin() * 0.6)
            .collect()
    }

    proptest! {
        /// However the signal is cut, the blocks are those of the whole signal, and the frames
        /// held never pass the bound the type's docs state.
        #[test]
        fn any_cut_gives_the_blocks_of_the_whole(
            config in config(),
            len in 0..4000usize,
            cuts in proptest::collection::vec(1..300usize, 1..40),
        ) {
            let signal = signal(len);
            let whole = encode(&signal, 16_000, &config).unwrap();
            let mut encoder = Encoder::new(16_000, &config).unwrap();
            let mut blocks = Vec::new();
            let mut rest = &signal[..];
            for &cut in cuts.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (piece, after) = rest.split_at(cut.min(rest.len()));
                blocks.extend(encoder.push(piece).unwrap());
                blocks.extend(encoder.push(&[]).unwrap());
                rest = after;
            }
            blocks.extend(encoder.settle_rest().unwrap());
            prop_assert_eq!(blocks, whole);
            let bound = (config.b_blocks + 1) * config.frames_per_block + 1;
            prop_assert!(encoder.peak_held_frames() <= bound);
        }
    }

    /// Each call returns whole groups: sorted by timestamp, a call's blocks are in
    /// presentation order and follow the blocks of the call before.
    #[test]
    fn each_call_returns_whole_groups() {
        let config = EncoderConfig {
            b_blocks: 3,
            key_interval: 5,
            ..EncoderConfig::default()
        };
        let signal = signal(200_000);
        let mut encoder = Encoder::new(48_000, &config).unwrap();
        let mut presented: Vec<Block> = Vec::new();
        for piece in signal.chunks(3_001).map(Some).chain([None]) {
            let mut blocks = match piece {
                Some(piece) => encoder.push(piece).unwrap(),
                None => std::mem::replace(&mut encoder, Encoder::new(48_000, &config).unwrap())
                    .finish()
                    .unwrap(),
            };
            blocks.sort_by_key(|b| b.ts_ms);
            if let (Some(before), Some(first)) = (presented.last(), blocks.first()) {
                assert!(
                    before.ts_ms < first.ts_ms,
                    "a call's blocks go back in time"
                );
            }
            presented.extend(blocks);
        }
        let mut whole = encode(&signal, 48_000, &config).unwrap();
        assert!(whole.iter().any(|b| b.kind == BlockKind::Bidirectional));
        whole.sort_by_key(|b| b.ts_ms);
        assert_eq!(presented, whole);
    }

    proptest! {
        #[test]
        fn the_last_block_is_known_before_encoding(config in config(), len in 0..4000usize) {
            let blocks = encode(&signal(len), 16_000, &config).unwrap();
            let last = blocks.iter().map(|b| u64::from(b.ts_ms)).max();
            prop_assert_eq!(config.last_block_ms(len as u64, 16_000), last);
        }
    }

    #[test]
    fn a_non_finite_sample_is_refused_with_its_index_in_the_signal() {
        let mut encoder = Encoder::new(48_000, &EncoderConfig::default()).unwrap();
        encoder.push(&[0.1; 4_000]).unwrap();
        let mut piece = vec![0.1f32; 1_000];
        piece[321] = f32::INFINITY;
        let err = encoder.push(&piece).unwrap_err();
        assert!(
            matches!(err, Error::NonFiniteSample { index: 4_321 }),
            "{err}"
        );
    }
}
