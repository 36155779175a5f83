//! [`DspAdapter`], the reference DSP adapter, and its [encoder](encode).
//!
//! Two block formats, told apart by their first four bytes (docs/ADAPTERS.md):
//! - `DSP0`, the original's: one list of bins (index, linear magnitude, phase) per block, with
//!   no timing; rendered as one frame of a bank of oscillators.
//! - `DSP1`, ours: frames of an STFT's strongest bins, quantised (log-magnitude and phase) and
//!   coded as deltas to a prediction; rendered by inverse FFT and windowed overlap-add, so it
//!   round-trips real audio.

mod bytes;
mod dsp0;
mod dsp1;
mod encoder;
mod stft;

use std::fmt;

use realfft::RealFftPlanner;

use crate::adapter::ModelAdapter;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::pcm::{PcmSegment, SegmentExtent};
use h4mk_gop::BlockKind;

pub use dsp0::Dsp0Bin;
pub use encoder::{Encoder, EncoderConfig, encode, encode_i16};

/// Options of a [`DspAdapter`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DspOptions {
    /// Caps on what a block can make the adapter allocate.
    pub limits: Limits,
    /// How DSP0 states render, since DSP0 blocks carry no frame size or sample rate.
    pub dsp0: Dsp0Synthesis,
}

/// How a DSP0 state renders: one frame of `frame_size` samples at `sample_rate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dsp0Synthesis {
    /// Samples per rendered frame; even, at most [`Limits::max_frame_size`]. Bins above
    /// `frame_size / 2` are an error at [`finalize`](ModelAdapter::finalize).
    pub frame_size: usize,
    /// Sample rate given to the rendered PCM, not 0 (refused at
    /// [`finalize`](ModelAdapter::finalize)). The registry's `dsp` decoder takes the track's
    /// declared one ([`NamedDecoder::set_track`](crate::NamedDecoder::set_track)).
    pub sample_rate: u32,
}

impl Default for Dsp0Synthesis {
    fn default() -> Self {
        Dsp0Synthesis {
            frame_size: 1024,
            sample_rate: 48_000,
        }
    }
}

/// The reference DSP adapter: decodes DSP0 and DSP1 blocks and renders them to PCM.
///
/// Its states are pure functions of the blocks (and anchors) they came from; between calls the
/// adapter keeps only FFT plans and a window, so [`reset`](ModelAdapter::reset) has nothing to
/// forget.
/// Each state renders to a [`PcmSegment`]; [`render_pcm`](crate::render_pcm) overlap-adds them.
///
/// Block semantics (docs/ADAPTERS.md):
/// - DSP0: an I-block sets the bins it lists; a P-block adds its magnitudes to the anchor's
///   (saturating at 1) and replaces their phases; a B-block applies like a P-block to the
///   midpoint of its two anchors.
/// - DSP1: every value is a delta to a prediction from the anchor(s), so a P- or B-block
///   reproduces exactly the quantised spectrum an I-block would have carried.
pub struct DspAdapter {
    options: DspOptions,
    planner: RealFftPlanner<f32>,
    synthesis: Option<stft::Synthesis>,
    /// The track's pts offset in milliseconds, from its first block
    /// (`NamedDecoder::set_first_block`); `None`: from the first segment a decode places.
    offset_ms: Option<i64>,
}

impl fmt::Debug for DspAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DspAdapter")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Default for DspAdapter {
    fn default() -> Self {
        DspAdapter::new(DspOptions::default())
    }
}

impl DspAdapter {
    /// An adapter with these options.
    pub fn new(options: DspOptions) -> Self {
        DspAdapter {
            options,
            planner: RealFftPlanner::new(),
            synthesis: None,
            offset_ms: None,
        }
    }

    /// The adapter's options.
    pub fn options(&self) -> &DspOptions {
        &self.options
    }

    /// Renders DSP0 states at `sample_rate` from now on (a track's, which DSP0 blocks do not
    /// carry).
    pub(crate) fn set_dsp0_sample_rate(&mut self, sample_rate: u32) {
        self.options.dsp0.sample_rate = sample_rate;
    }

    /// Places later decodes by the pts offset of the keyframe `block` at pts `ts_ms`
    /// ([`crate::pcm::pts_offset_ms`]); by the first segment each places when it does not
    /// decode or is untimed.
    pub(crate) fn set_offset_from(&mut self, ts_ms: u32, block: &[u8]) {
        let extent = self.decode_key(block).and_then(|s| self.extent(&s)).ok();
        self.offset_ms = extent
            .and_then(|e| crate::pcm::pts_offset_ms(e.start?, e.own.start, ts_ms, e.sample_rate));
    }

    /// What [`DspAdapter::set_offset_from`] set.
    pub(crate) fn offset_ms(&self) -> Option<i64> {
        self.offset_ms
    }
}

/// A decoded DSP block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DspState {
    /// From a DSP0 block.
    Dsp0(Dsp0State),
    /// From a DSP1 block.
    Dsp1(Dsp1State),
}

/// The state of a DSP0 chain: its bins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dsp0State {
    bins: Vec<Dsp0Bin>,
}

impl Dsp0State {
    /// The bins, sorted by index, each index once.
    pub fn bins(&self) -> &[Dsp0Bin] {
        &self.bins
    }
}

/// The state of a DSP1 block: its header and quantised frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dsp1State {
    block: dsp1::Block,
}

impl Dsp1State {
    /// Samples per second.
    pub fn sample_rate(&self) -> u32 {
        self.block.header.sample_rate
    }

    /// STFT frame size in samples.
    pub fn frame_size(&self) -> usize {
        self.block.header.frame_size
    }

    /// STFT hop in samples.
    pub fn hop(&self) -> usize {
        self.block.header.hop
    }

    /// Index of the block's first frame in the stream.
    pub fn first_frame(&self) -> u32 {
        self.block.header.first_frame
    }

    /// Number of frames in the block.
    pub fn frame_count(&self) -> usize {
        self.block.frames.len()
    }

    /// Number of bins coded in frame `j` (0 past the last frame).
    pub fn bins_in_frame(&self, j: usize) -> usize {
        self.block.frames.frame(j).len()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Dsp0,
    Dsp1,
}

impl Format {
    fn of(block: &[u8]) -> Result<Format> {
        match block.get(..4) {
            Some(m) if m == dsp0::MAGIC => Ok(Format::Dsp0),
            Some(m) if m == dsp1::MAGIC => Ok(Format::Dsp1),
            _ => Err(Error::BadMagic {
                found: block.iter().take(4).copied().collect(),
            }),
        }
    }

    fn of_state(state: &DspState) -> Format {
        match state {
            DspState::Dsp0(_) => Format::Dsp0,
            DspState::Dsp1(_) => Format::Dsp1,
        }
    }
}

fn format_mismatch(block: Format, state: &DspState) -> Error {
    let number = |f| match f {
        Format::Dsp0 => 0,
        Format::Dsp1 => 1,
    };
    Error::Mismatch {
        what: "format",
        block: number(block),
        reference: number(Format::of_state(state)),
    }
}

impl ModelAdapter for DspAdapter {
    type State = DspState;
    type Output = PcmSegment;

    fn decode_key(&mut self, block: &[u8]) -> Result<DspState> {
        Ok(match Format::of(block)? {
            Format::Dsp0 => DspState::Dsp0(Dsp0State {
                bins: dsp0::parse(block)?,
            }),
            Format::Dsp1 => {
                let limits = &self.options.limits;
                let block = dsp1::decode(block, BlockKind::Key, dsp1::Anchors::None, limits)?;
                DspState::Dsp1(Dsp1State { block })
            }
        })
    }

    fn apply_predictive(&mut self, state: &DspState, block: &[u8]) -> Result<DspState> {
        let format = Format::of(block)?;
        Ok(match (format, state) {
            (Format::Dsp0, DspState::Dsp0(s)) => DspState::Dsp0(Dsp0State {
                bins: dsp0::apply_delta(&s.bins, &dsp0::parse(block)?),
            }),
            (Format::Dsp1, DspState::Dsp1(s)) => {
                let anchors = dsp1::Anchors::One(&s.block);
                let limits = &self.options.limits;
                let block = dsp1::decode(block, BlockKind::Predictive, anchors, limits)?;
                DspState::Dsp1(Dsp1State { block })
            }
            _ => return Err(format_mismatch(format, state)),
        })
    }

    fn apply_bidirectional(
        &mut self,
        prev: &DspState,
        next: &DspState,
        block: &[u8],
    ) -> Result<DspState> {
        let format = Format::of(block)?;
        Ok(match (format, prev, next) {
            (Format::Dsp0, DspState::Dsp0(p), DspState::Dsp0(n)) => {
                let delta = dsp0::parse(block)?;
                let bins = dsp0::apply_delta(&dsp0::midpoint(&p.bins, &n.bins), &delta);
                DspState::Dsp0(Dsp0State { bins })
            }
            (Format::Dsp1, DspState::Dsp1(p), DspState::Dsp1(n)) => {
                let anchors = dsp1::Anchors::Two(&p.block, &n.block);
                let limits = &self.options.limits;
                let block = dsp1::decode(block, BlockKind::Bidirectional, anchors, limits)?;
                DspState::Dsp1(Dsp1State { block })
            }
            (_, DspState::Dsp0(_), DspState::Dsp1(_))
            | (_, DspState::Dsp1(_), DspState::Dsp0(_)) => {
                return Err(format_mismatch(Format::of_state(prev), next));
            }
            _ => return Err(format_mismatch(format, prev)),
        })
    }

    fn finalize(&mut self, state: &DspState) -> Result<PcmSegment> {
        match state {
            DspState::Dsp0(s) => self.render_dsp0(s),
            DspState::Dsp1(s) => self.render_dsp1(s),
        }
    }

    fn reset(&mut self) {}
}

impl DspAdapter {
    /// Where `state`'s segment goes, without rendering it: what [`finalize`] returns, less the
    /// samples, refused where `finalize` refuses the state.
    ///
    /// [`finalize`]: ModelAdapter::finalize
    pub(crate) fn extent(&self, state: &DspState) -> Result<SegmentExtent> {
        match state {
            DspState::Dsp0(s) => self.dsp0_extent(s),
            DspState::Dsp1(s) => Ok(dsp1_extent(&s.block.header)),
        }
    }

    /// A DSP0 state's extent: one frame at its block's timestamp, once the options and its
    /// bins are checked.
    fn dsp0_extent(&self, state: &Dsp0State) -> Result<SegmentExtent> {
        let Dsp0Synthesis {
            frame_size: n,
            sample_rate,
        } = self.options.dsp0;
        if n < 2 || !n.is_multiple_of(2) || n > self.options.limits.max_frame_size {
            return Err(Error::Parameter(
                "DSP0 frame size must be even, >= 2 and within the limits",
            ));
        }
        if sample_rate == 0 {
            return Err(Error::Parameter(
                "DSP0 blocks render at the track's sample rate, and it is 0",
            ));
        }
        if let Some(b) = state.bins.iter().find(|b| usize::from(b.index) > n / 2) {
            return Err(Error::Limit {
                what: "DSP0 bin index (half the DSP0 frame size)",
                value: b.index.into(),
                max: (n / 2) as u64,
            });
        }
        Ok(SegmentExtent {
            sample_rate,
            start: None,
            own: 0..n,
            len: n,
        })
    }

    fn render_dsp0(&mut self, state: &Dsp0State) -> Result<PcmSegment> {
        let extent = self.dsp0_extent(state)?;
        let bins = state
            .bins
            .iter()
            .map(|b| (usize::from(b.index), b.amplitude(), b.radians()));
        let samples = stft::oscillator_bank(&mut self.planner, extent.len, bins)?;
        Ok(PcmSegment::rendered(extent, samples))
    }

    fn render_dsp1(&mut self, state: &Dsp1State) -> Result<PcmSegment> {
        let h = &state.block.header;
        let synthesis = match &mut self.synthesis {
            Some(s) if s.is_for(h.frame_size, h.hop) => s,
            slot => slot.insert(stft::Synthesis::new(&mut self.planner, h.frame_size, h.hop)),
        };
        let extent = dsp1_extent(h);
        let mut samples = vec![0.0f32; extent.len];
        for (j, frame) in state.block.frames.iter().enumerate() {
            let out = samples.get_mut(j * h.hop..).unwrap_or(&mut []);
            synthesis.add_frame(dsp1::dequantised(frame), out)?;
        }
        Ok(PcmSegment::rendered(extent, samples))
    }
}

/// A DSP1 block's extent: its frames from its first one's position, owning `length` samples
/// from the first at or after position 0.
fn dsp1_extent(h: &dsp1::Header) -> SegmentExtent {
    // own_start ≥ start, and the header check keeps own_start + length within the frames.
    let own_start = (h.own_start() - h.start()) as usize;
    SegmentExtent {
        sample_rate: h.sample_rate,
        start: Some(h.start()),
        own: own_start..own_start + h.length as usize,
        len: h.segment_len(),
    }
}

/// The DSP adapter with [`finalize`](ModelAdapter::finalize) giving where a state's segment
/// goes instead of rendering it: a plan's output laid out for the cost of parsing its blocks.
pub(crate) struct Extents<'a>(pub(crate) &'a mut DspAdapter);

impl ModelAdapter for Extents<'_> {
    type State = DspState;
    type Output = SegmentExtent;

    fn decode_key(&mut self, block: &[u8]) -> Result<DspState> {
        self.0.decode_key(block)
    }

    fn apply_predictive(&mut self, state: &DspState, block: &[u8]) -> Result<DspState> {
        self.0.apply_predictive(state, block)
    }

    fn apply_bidirectional(
        &mut self,
        prev: &DspState,
        next: &DspState,
        block: &[u8],
    ) -> Result<DspState> {
        self.0.apply_bidirectional(prev, next, block)
    }

    fn finalize(&mut self, state: &DspState) -> Result<SegmentExtent> {
        self.0.extent(state)
    }

    fn reset(&mut self) {
        self.0.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::{Present, decode_plan};
    use crate::signal::sample_mix;
    use crate::{Block, Step};

    fn plan(blocks: &[Block]) -> Vec<Step> {
        (0..blocks.len())
            .map(|index| Step {
                index,
                kind: blocks[index].kind,
            })
            .collect()
    }

    /// What each presented block renders to, as its extent, and what `Extents` says instead.
    fn both(adapter: &mut DspAdapter, blocks: &[Block]) -> [Result<Vec<SegmentExtent>>; 2] {
        let steps = plan(blocks);
        let rendered = decode_plan(adapter, blocks, &steps, Present::All)
            .map(|r| r.iter().map(|r| r.output.extent()).collect());
        let extents = decode_plan(&mut Extents(adapter), blocks, &steps, Present::All)
            .map(|r| r.into_iter().map(|r| r.output).collect());
        [rendered, extents]
    }

    #[test]
    fn an_extent_is_what_finalize_renders_less_the_samples() {
        let rate = 16_000;
        for (frames_per_block, b_blocks, frame_size) in [(8, 0, 1024), (3, 2, 256), (2, 1, 128)] {
            let config = EncoderConfig {
                frame_size,
                hop: frame_size / 2,
                frames_per_block,
                b_blocks,
                key_interval: 3,
                ..EncoderConfig::default()
            };
            let blocks = encode(&sample_mix(rate, 0.7), rate, &config).unwrap();
            let [rendered, extents] = both(&mut DspAdapter::default(), &blocks);
            let rendered = rendered.unwrap();
            assert_eq!(rendered.len(), blocks.len());
            assert_eq!(extents.unwrap(), rendered, "{config:?}");
        }
    }

    #[test]
    fn an_extent_is_refused_where_finalize_refuses() {
        let dsp0 = |index: u16| {
            let mut b = dsp0::MAGIC.to_vec();
            b.extend_from_slice(&1u16.to_le_bytes());
            b.extend_from_slice(&0u16.to_le_bytes());
            for v in [index, 1000, 0] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            Block {
                ts_ms: 0,
                kind: BlockKind::Key,
                bytes: b,
            }
        };
        let frame = |frame_size| {
            DspAdapter::new(DspOptions {
                dsp0: Dsp0Synthesis {
                    frame_size,
                    sample_rate: 8000,
                },
                ..DspOptions::default()
            })
        };
        // A bin at the synthesis Nyquist renders; one past it, or a frame size that cannot
        // render, is refused by both, with the same error.
        let [rendered, extents] = both(&mut frame(64), &[dsp0(32)]);
        assert_eq!(extents.unwrap(), rendered.unwrap());
        for (adapter, bin) in [(frame(64), 33), (frame(63), 1), (frame(1 << 20), 1)] {
            let mut adapter = adapter;
            let [rendered, extents] = both(&mut adapter, &[dsp0(bin)]);
            let (a, b) = (rendered.unwrap_err(), extents.unwrap_err());
            assert_eq!(a.to_string(), b.to_string());
        }
    }
}
