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
use crate::pcm::PcmSegment;
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
    /// Sample rate given to the rendered PCM.
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
        }
    }

    /// The adapter's options.
    pub fn options(&self) -> &DspOptions {
        &self.options
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
    fn render_dsp0(&mut self, state: &Dsp0State) -> Result<PcmSegment> {
        let Dsp0Synthesis {
            frame_size: n,
            sample_rate,
        } = self.options.dsp0;
        if n < 2 || !n.is_multiple_of(2) || n > self.options.limits.max_frame_size {
            return Err(Error::Parameter(
                "DSP0 frame size must be even, >= 2 and within the limits",
            ));
        }
        if let Some(b) = state.bins.iter().find(|b| usize::from(b.index) > n / 2) {
            return Err(Error::Limit {
                what: "DSP0 bin index (half the DSP0 frame size)",
                value: b.index.into(),
                max: (n / 2) as u64,
            });
        }
        let bins = state
            .bins
            .iter()
            .map(|b| (usize::from(b.index), b.amplitude(), b.radians()));
        let samples = stft::oscillator_bank(&mut self.planner, n, bins)?;
        Ok(PcmSegment {
            sample_rate,
            start: None,
            own: 0..n,
            samples,
        })
    }

    fn render_dsp1(&mut self, state: &Dsp1State) -> Result<PcmSegment> {
        let h = &state.block.header;
        let synthesis = match &mut self.synthesis {
            Some(s) if s.is_for(h.frame_size, h.hop) => s,
            slot => slot.insert(stft::Synthesis::new(&mut self.planner, h.frame_size, h.hop)),
        };
        let mut samples = vec![0.0f32; h.segment_len()];
        for (j, frame) in state.block.frames.iter().enumerate() {
            let out = samples.get_mut(j * h.hop..).unwrap_or(&mut []);
            synthesis.add_frame(dsp1::dequantised(frame), out)?;
        }
        // own_start ≥ start, and the header check keeps own_start + length within the frames.
        let own_start = (h.own_start() - h.start()) as usize;
        let own = own_start..own_start + h.length as usize;
        Ok(PcmSegment {
            sample_rate: h.sample_rate,
            start: Some(h.start()),
            own,
            samples,
        })
    }
}
