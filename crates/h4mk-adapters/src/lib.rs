//! The adapters layer of H4MK: turning model-coded blocks back into output.
//!
//! H4MK stores opaque blocks, each an I- (key), P- (predictive) or B- (bidirectional) block
//! with a millisecond timestamp.
//! This crate defines how they are decoded and ships two adapters. It is layer 3 of the
//! workspace: it depends on `h4mk-gop` (the plan types [`Step`] and [`BlockKind`]) and
//! `h4mk-mt` (the demuxer whose plans [`decode_chain`] and [`decode_range`] run).
//!
//! - [`ModelAdapter`]: the original manifest's `decode_I` / `apply_P` / `apply_B` / `finalize`
//!   interface as [`decode_key`](ModelAdapter::decode_key),
//!   [`apply_predictive`](ModelAdapter::apply_predictive),
//!   [`apply_bidirectional`](ModelAdapter::apply_bidirectional) and
//!   [`finalize`](ModelAdapter::finalize), plus [`reset`](ModelAdapter::reset).
//! - [`decode_plan`]: runs a plan of [`Step`]s through an adapter, keeping the previous and the
//!   last anchor state, and returns the [`Rendered`] output of the blocks asked for
//!   ([`Present`]) in presentation order; [`decode_plan_each`] hands each one over as soon as
//!   nothing later in the plan can come before it.
//! - [`decode_chain`] and [`decode_range`]: the same, straight from a [`h4mk_mt::Demuxer`];
//!   [`decode_steps`] runs a plan the demuxer gave.
//! - [`plan_decode`]: a track by time, as `h4mk decode` does it: a [`Span`] (a time, a time
//!   range, the whole track) planned and checked before anything is written, audio exact to
//!   the sample from the first one (a range is the whole track's decode cut, bit for bit).
//! - [`AdapterRegistry`]: adapters by name (`null`, `dsp`), for tools that choose at run time.
//!   Each is a [`NamedDecoder`], which returns a plan's output whole ([`Decoded`]) or checks it
//!   ([`NamedDecoder::prepare`]) and then writes it as it decodes ([`NamedDecoder::write`]),
//!   holding only what is not written yet.
//! - [`NullAdapter`]: identity; the output of a chain is its blocks' bytes in decode order.
//! - [`DspAdapter`]: decodes the original's `DSP0` blocks and our `DSP1` blocks to
//!   [`PcmSegment`]s, which [`render_pcm`] overlap-adds into [`Pcm`] ([`PcmMix`] as they
//!   come, holding only the output).
//! - [`encode`]: PCM to DSP1 [`Block`]s; [`read_wav`] and [`write_wav`] convert WAV files.
//!   [`Encoder`], [`WavStream`] and [`WavWriter`] do the same a piece at a time, for signals
//!   too long to hold, and read or write each channel of a WAV file.
//! - [`signal`]: built-in sample audio and an SNR measure, for demos and tests.
//! - [`Error`]: errors about block bytes name the byte offset inside the block; [`Limits`]
//!   caps what a block can make an adapter allocate.
//! - [`DecodeStep`], [`Demuxer`] and [`TrackSpec`], which the decoders take, are h4mk-mt's,
//!   re-exported so that an adapter's crate need not depend on that one; [`NamedDecoder`]
//!   shows an adapter of another crate chosen by name.
//!
//! Block formats and the error budget are in `docs/ADAPTERS.md`.
//!
//! ```
//! # #[cfg(feature = "dsp")]
//! # fn main() -> Result<(), h4mk_adapters::Error> {
//! use h4mk_adapters::{decode_plan, encode, render_pcm, DspAdapter, EncoderConfig, Present, Step};
//!
//! // Half a second of a 440 Hz tone at 16 kHz.
//! let rate = 16_000;
//! let tone: Vec<f32> =
//!     (0..rate / 2).map(|t| 0.5 * (std::f32::consts::TAU * 440.0 * t as f32 / rate as f32).sin()).collect();
//!
//! let blocks = encode(&tone, rate, &EncoderConfig::default())?;
//! let plan: Vec<Step> = blocks.iter().enumerate().map(|(index, b)| Step { index, kind: b.kind }).collect();
//! let rendered = decode_plan(&mut DspAdapter::default(), &blocks[..], &plan, Present::All)?;
//! let pcm = render_pcm(&rendered)?;
//!
//! assert_eq!(pcm.samples.len(), tone.len());
//! let err: f32 = tone.iter().zip(&pcm.samples).map(|(a, b)| (a - b).powi(2)).sum();
//! let sig: f32 = tone.iter().map(|a| a * a).sum();
//! assert!(10.0 * (sig / err).log10() > 30.0);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "dsp"))]
//! # fn main() {}
//! ```
//!
//! Features: `dsp` (on by default) builds the DSP codec, the one part that needs an FFT
//! (`realfft`); without it the crate is the adapter trait, the decode driver, the null adapter,
//! PCM and WAV, for a codec of one's own.
#![forbid(unsafe_code)]

mod adapter;
mod channels;
mod container;
#[cfg(feature = "dsp")]
mod dsp;
mod error;
mod limits;
mod null;
mod pcm;
mod registry;
pub mod signal;
mod span;
mod wav;

pub use adapter::{
    Block, BlockRef, BlockSource, ModelAdapter, Present, Rendered, decode_plan, decode_plan_each,
    in_presentation_order,
};
pub use channels::{Channel, WavWritten, channels_shape, write_wav_channels};
pub use container::{decode_chain, decode_range, decode_steps};
#[cfg(feature = "dsp")]
pub use dsp::{
    Dsp0Bin, Dsp0State, Dsp0Synthesis, Dsp1State, DspAdapter, DspOptions, DspState, Encoder,
    EncoderConfig, encode, encode_i16,
};
pub use error::{Error, Result};
pub use h4mk_gop::{BlockKind, Step};
pub use h4mk_mt::{DecodeStep, Demuxer, TrackSpec};
pub use limits::{Limits, MAX_FRAME_SIZE, MIN_FRAME_SIZE};
pub use null::{NullAdapter, NullState};
pub use pcm::{Pcm, PcmMix, PcmSegment, render_pcm};
pub use registry::{AdapterRegistry, Decoded, NamedDecoder, Prepared, Shape};
pub use span::{Late, Planned, Shortfall, Span, plan_decode};
pub use wav::{STREAMED_LENGTHS_FROM, SampleFormat, WavStream, WavWriter, read_wav, write_wav};
