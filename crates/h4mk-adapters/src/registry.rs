//! Adapters chosen by name at run time (`h4mk decode --adapter dsp`), as Symphonia's codec
//! registry does: a sorted map from name to constructor, so listings are deterministic.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::io::Write;

use h4mk_mt::{DecodeStep, TrackSpec};

use crate::adapter::Present;
use crate::container::decode_steps;
#[cfg(feature = "dsp")]
use crate::dsp::{DspAdapter, Extents};
use crate::error::{Error, Result};
use crate::null::NullAdapter;
use crate::pcm::Pcm;
#[cfg(feature = "dsp")]
use crate::pcm::{PcmMix, PcmPlan};
#[cfg(feature = "dsp")]
use crate::wav::WavWriter;
use crate::wav::write_wav;

/// What a named decoder produces for a plan.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    /// Raw bytes (the null adapter's decode stream).
    Bytes(Vec<u8>),
    /// Audio (the DSP adapter).
    Pcm(Pcm),
}

impl Decoded {
    /// Writes the output as a file would hold it: bytes as they are, audio as 16-bit WAV.
    pub fn write_to(&self, out: &mut dyn Write) -> Result<()> {
        match self {
            Decoded::Bytes(bytes) => Ok(out.write_all(bytes)?),
            Decoded::Pcm(pcm) => write_wav(out, pcm),
        }
    }

    /// What the output is, less its bytes or samples.
    pub fn shape(&self) -> Shape {
        match self {
            Decoded::Bytes(b) => Shape::Bytes {
                len: b.len() as u64,
            },
            Decoded::Pcm(pcm) => Shape::Pcm {
                sample_rate: pcm.sample_rate,
                start: pcm.start,
                samples: pcm.samples.len() as u64,
            },
        }
    }

    /// The file extension the output is usually stored under.
    pub fn extension(&self) -> &'static str {
        match self {
            Decoded::Bytes(_) => "bin",
            Decoded::Pcm(_) => "wav",
        }
    }
}

/// An adapter behind a uniform, type-erased face: a plan in, one [`Decoded`] out, or written
/// to a file a piece at a time.
///
/// [`decode`](NamedDecoder::decode) returns the whole output. To write it instead,
/// [`prepare`](NamedDecoder::prepare) checks the plan and says what the output will be (its
/// [`Shape`]) before anything is written, and [`write`](NamedDecoder::write) then writes it as
/// [`Decoded::write_to`] would. The provided methods hold the decoded output in between; the
/// `null` and `dsp` adapters write as they decode instead, holding only what is not written
/// yet. [`write_wav_channels`](crate::write_wav_channels) writes several audio plans as the
/// channels of one file.
///
/// A decoder is `Send`, so that channels decode on threads of their own.
///
/// An adapter of another crate needs only [`decode`](NamedDecoder::decode), which
/// [`decode_steps`] runs, to be chosen by name:
///
/// ```
/// use h4mk_adapters::{
///     AdapterRegistry, BlockKind, DecodeStep, Decoded, Demuxer, Error, ModelAdapter,
///     NamedDecoder, Present, Result, TrackSpec, decode_steps,
/// };
/// use h4mk_mt::{MuxOptions, Muxer, Sidecars};
///
/// /// A toy codec: a keyframe is a row of bytes, a P- or B-block adds its bytes to the anchor
/// /// before it.
/// struct Delta;
///
/// impl ModelAdapter for Delta {
///     type State = Vec<u8>;
///     type Output = Vec<u8>;
///
///     fn decode_key(&mut self, block: &[u8]) -> Result<Vec<u8>> {
///         Ok(block.to_vec())
///     }
///     fn apply_predictive(&mut self, anchor: &Vec<u8>, block: &[u8]) -> Result<Vec<u8>> {
///         if block.len() != anchor.len() {
///             return Err(Error::adapter("a delta is not as long as its anchor"));
///         }
///         Ok(anchor.iter().zip(block).map(|(a, d)| a.wrapping_add(*d)).collect())
///     }
///     fn apply_bidirectional(&mut self, prev: &Vec<u8>, _: &Vec<u8>, block: &[u8]) -> Result<Vec<u8>> {
///         self.apply_predictive(prev, block)
///     }
///     fn finalize(&mut self, state: &Vec<u8>) -> Result<Vec<u8>> {
///         Ok(state.clone())
///     }
/// }
///
/// impl NamedDecoder for Delta {
///     /// The presented blocks' rows, one after another.
///     fn decode(&mut self, steps: &[DecodeStep<'_>], present: Present) -> Result<Decoded> {
///         let mut rows = Vec::new();
///         decode_steps(self, steps, present, |r| Ok(rows.extend(r.output)))?;
///         Ok(Decoded::Bytes(rows))
///     }
/// }
///
/// let mut registry = AdapterRegistry::default();
/// registry.register("delta", "rows of bytes, each a delta of the one before", || Box::new(Delta));
///
/// let track = TrackSpec::new(1, "rows", "control", "delta");
/// let mut mux = Muxer::new(Vec::new(), vec![track], &Sidecars::default(), MuxOptions::default())?;
/// mux.push(1, 0, BlockKind::Key, &[1, 2, 3])?;
/// mux.push(1, 10, BlockKind::Predictive, &[1, 1, 1])?;
/// let (bytes, _) = mux.finish()?;
///
/// // What track 1 shows at 15 ms, by the adapter's name.
/// let file = Demuxer::open(&bytes)?;
/// let plan = file.chain(1, 15)?;
/// let mut delta = registry.get("delta")?;
/// let shown = delta.decode(&plan, Present::Index(plan.len() - 1))?;
/// assert_eq!(shown, Decoded::Bytes(vec![2, 3, 4]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait NamedDecoder: Send {
    /// Decodes `steps` (a demuxer's plan, in decode order) and renders the blocks `present`
    /// selects.
    fn decode(&mut self, steps: &[DecodeStep<'_>], present: Present) -> Result<Decoded>;

    /// Tells the decoder the track its plans come from, before it decodes one: what the track
    /// declares (its sample rate, say) serves blocks that do not carry it. A decoder not told
    /// uses its own defaults; by default it ignores the track.
    fn set_track(&mut self, track: &TrackSpec) {
        let _ = track;
    }

    /// Tells the decoder the track's first block (its first keyframe: pts and bytes) before it
    /// decodes a plan of the track. A decoder that places blocks in time by their pts, and by
    /// positions they carry, takes from it how far the pts move the track, so that every
    /// decode of the track, of any part of it, places it alike; without it, a decode takes
    /// that from the first block it places (docs/ADAPTERS.md §3.6). By default it is ignored.
    fn set_first_block(&mut self, ts_ms: u32, block: &[u8]) {
        let _ = (ts_ms, block);
    }

    /// True when a block's output overlaps its neighbours', so that rendering exactly from a
    /// block needs the block before it ([`Present::Lead`]; [`Present::Cut`] for a time range,
    /// which `h4mk decode` plans for such decoders).
    ///
    /// A decoder that says so takes on the work those plans give it: [`plan_decode`] then
    /// hands it [`Present::Lead`] and [`Present::Cut`], and its
    /// [`decode`](NamedDecoder::decode) must leave out the outputs of leads
    /// ([`Rendered::lead`](crate::Rendered::lead)) and cut the samples to `from_ms..to_ms`.
    /// [`PcmSegment`](crate::PcmSegment) and [`PcmMix::for_present`](crate::PcmMix::for_present)
    /// do both, as the DSP adapter uses them (docs/ADAPTERS.md §1); nothing checks a decoder
    /// that does neither, whose output then starts early.
    ///
    /// [`plan_decode`]: crate::plan_decode
    fn overlaps(&self) -> bool {
        false
    }

    /// Checks that `steps` decode, with what `present` selects, and says what the output will
    /// be: every error [`decode`](NamedDecoder::decode) would return comes here, before any
    /// output is written.
    fn prepare(&mut self, steps: &[DecodeStep<'_>], present: Present) -> Result<Prepared> {
        Ok(Prepared::held(self.decode(steps, present)?, steps, present))
    }

    /// Writes the output of the plan `prepared` was made for (the same `steps` and `present`,
    /// or an error before any byte), with the bytes [`Decoded::write_to`] gives.
    fn write(
        &mut self,
        steps: &[DecodeStep<'_>],
        present: Present,
        prepared: Prepared,
        out: &mut dyn Write,
    ) -> Result<()> {
        let (_, how) = prepared.open(steps, present)?;
        write_without_adapter(how, steps, out)
    }

    /// Hands the samples of an audio plan `prepared` was made for to `emit`, in order, a piece
    /// at a time: [`Shape::Pcm`]'s `samples` in all. An output of bytes is an error.
    fn write_samples(
        &mut self,
        steps: &[DecodeStep<'_>],
        present: Present,
        prepared: Prepared,
        emit: &mut dyn FnMut(&[f32]) -> Result<()>,
    ) -> Result<()> {
        let (_, how) = prepared.open(steps, present)?;
        samples_without_adapter(how, emit)
    }
}

/// Writes an output that needs no adapter: one held, or a plan's opaque bytes.
fn write_without_adapter(how: How, steps: &[DecodeStep<'_>], out: &mut dyn Write) -> Result<()> {
    match how {
        How::Held(decoded) => decoded.write_to(out),
        How::Blocks => {
            for step in steps {
                out.write_all(step.block.opaque)?;
            }
            Ok(())
        }
        #[cfg(feature = "dsp")]
        How::Pcm(_) => Err(NOT_MINE),
    }
}

/// Hands over the samples of an output that needs no adapter: one held.
fn samples_without_adapter(how: How, emit: &mut dyn FnMut(&[f32]) -> Result<()>) -> Result<()> {
    match how {
        How::Held(Decoded::Pcm(pcm)) => emit(&pcm.samples),
        How::Held(Decoded::Bytes(_)) | How::Blocks => Err(NOT_AUDIO),
        #[cfg(feature = "dsp")]
        How::Pcm(_) => Err(NOT_MINE),
    }
}

/// A plan whose output is bytes, where samples were asked for.
pub(crate) const NOT_AUDIO: Error = Error::Parameter("the output is bytes, not audio samples");

/// A plan prepared by one decoder, handed to another.
#[cfg(feature = "dsp")]
const NOT_MINE: Error = Error::Parameter("a plan is written by the adapter that prepared it");

/// What a plan's output will be, found by [`NamedDecoder::prepare`] before it is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Raw bytes, this many.
    Bytes {
        /// The output's length.
        len: u64,
    },
    /// Audio, written as 16-bit WAV.
    Pcm {
        /// Samples per second (0 when no block is presented: such an output cannot be
        /// written as WAV).
        sample_rate: u32,
        /// Stream position of the first sample.
        start: u64,
        /// Number of samples.
        samples: u64,
    },
}

impl Shape {
    /// An audio output's sample rate, first sample and sample count; `None` for bytes.
    pub fn pcm(self) -> Option<(u32, u64, u64)> {
        match self {
            Shape::Pcm {
                sample_rate,
                start,
                samples,
            } => Some((sample_rate, start, samples)),
            Shape::Bytes { .. } => None,
        }
    }
}

/// A plan checked by [`NamedDecoder::prepare`], to hand to [`NamedDecoder::write`] of the
/// same decoder with the same plan.
#[derive(Debug)]
pub struct Prepared {
    shape: Shape,
    how: How,
    /// What it was prepared for: the plan ([`plan_fingerprint`]), and what it presents.
    plan: u64,
    present: Present,
}

/// How a prepared plan is written.
#[derive(Debug)]
enum How {
    /// The whole output, decoded already.
    Held(Decoded),
    /// The plan's opaque bytes, in decode order.
    Blocks,
    /// Decoded again and rendered as this plan lays the output out.
    #[cfg(feature = "dsp")]
    Pcm(PcmPlan),
}

impl Prepared {
    /// What the output will be.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The plan `steps`, presenting `present`, whose output is `decoded`, held until written.
    pub fn held(decoded: Decoded, steps: &[DecodeStep<'_>], present: Present) -> Self {
        Prepared::new(decoded.shape(), How::Held(decoded), steps, present)
    }

    fn new(shape: Shape, how: How, steps: &[DecodeStep<'_>], present: Present) -> Self {
        Prepared {
            shape,
            how,
            plan: plan_fingerprint(steps),
            present,
        }
    }

    /// Its shape and how it is written, once `steps` and `present` are those it was prepared
    /// for.
    fn open(self, steps: &[DecodeStep<'_>], present: Present) -> Result<(Shape, How)> {
        if self.plan != plan_fingerprint(steps) || self.present != present {
            return Err(Error::Parameter(
                "the plan to write is not the one prepared",
            ));
        }
        Ok((self.shape, self.how))
    }
}

/// What tells a plan from another: each step's block (its offset and pts in the file, where
/// its bytes lie in memory, and how many) and type, hashed. Comparing the plans' lengths alone
/// let a plan of as many steps elsewhere in the file be written with the output prepared for
/// another (a library user's review).
fn plan_fingerprint(steps: &[DecodeStep<'_>]) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    for step in steps {
        let b = &step.block;
        let at = (
            b.offset,
            b.ts_ms,
            b.opaque.as_ptr() as usize,
            b.opaque.len(),
        );
        (at, step.kind.letter()).hash(&mut hasher);
    }
    hasher.finish()
}

impl NullAdapter {
    /// Checks every step of `steps` has its anchors. No step is presented (the index is past
    /// the plan): the bytes come from the plan, and rendering each presented state as its
    /// whole chain, to drop it, made a group of N blocks cost N².
    fn check_anchors(&mut self, steps: &[DecodeStep<'_>]) -> Result<()> {
        decode_steps(self, steps, Present::Index(steps.len()), |_| Ok(()))
    }
}

impl NamedDecoder for NullAdapter {
    /// Checks every step has its anchors, then returns the plan's opaque bytes in decode order.
    fn decode(&mut self, steps: &[DecodeStep<'_>], _present: Present) -> Result<Decoded> {
        self.check_anchors(steps)?;
        Ok(Decoded::Bytes(
            steps
                .iter()
                .flat_map(|s| s.block.opaque.iter().copied())
                .collect(),
        ))
    }

    /// Checks every step has its anchors; the bytes are written straight from the plan.
    fn prepare(&mut self, steps: &[DecodeStep<'_>], present: Present) -> Result<Prepared> {
        self.check_anchors(steps)?;
        let len = steps.iter().map(|s| s.block.opaque.len() as u64).sum();
        Ok(Prepared::new(
            Shape::Bytes { len },
            How::Blocks,
            steps,
            present,
        ))
    }
}

#[cfg(feature = "dsp")]
impl NamedDecoder for DspAdapter {
    /// Renders the presented blocks to PCM, overlap-added in presentation order as they are
    /// decoded: the decode holds its output and the few blocks still waiting, not every
    /// block's samples.
    fn decode(&mut self, steps: &[DecodeStep<'_>], present: Present) -> Result<Decoded> {
        let mut mix = PcmMix::placed(present, self.offset_ms());
        decode_steps(self, steps, present, |r| mix.add(&r))?;
        Ok(Decoded::Pcm(mix.finish()?))
    }

    /// DSP0 blocks carry no sample rate: they render at the track's (docs/ADAPTERS.md §2).
    fn set_track(&mut self, track: &TrackSpec) {
        self.set_dsp0_sample_rate(track.sample_rate);
    }

    /// DSP1 positions move by the whole milliseconds this block's pts gives (docs/ADAPTERS.md
    /// §3.6); a block that does not decode, or DSP0, which carries no position, sets nothing.
    fn set_first_block(&mut self, ts_ms: u32, block: &[u8]) {
        self.set_offset_from(ts_ms, block);
    }

    /// Frames overlap by `frame_size - hop` samples (docs/ADAPTERS.md §3.6).
    fn overlaps(&self) -> bool {
        true
    }

    /// Decodes the plan without rendering it (no inverse FFT): where each presented block's
    /// samples go lays out the output.
    fn prepare(&mut self, steps: &[DecodeStep<'_>], present: Present) -> Result<Prepared> {
        let mut plan = PcmPlan::placed(present, self.offset_ms());
        decode_steps(&mut Extents(self), steps, present, |r| plan.add(&r))?;
        Ok(Prepared::new(plan.shape()?, How::Pcm(plan), steps, present))
    }

    /// Decodes the plan again and writes each sample once no later block adds to it: what is
    /// held is the samples that are not final yet, not the output.
    fn write(
        &mut self,
        steps: &[DecodeStep<'_>],
        present: Present,
        prepared: Prepared,
        out: &mut dyn Write,
    ) -> Result<()> {
        match prepared.open(steps, present)? {
            (_, How::Blocks) => Err(NOT_MINE),
            (
                Shape::Pcm {
                    sample_rate,
                    samples,
                    ..
                },
                how,
            ) => {
                let mut wav = WavWriter::new(out, sample_rate, 1, samples)?;
                self.samples(steps, present, how, &mut |s| wav.push(s))?;
                wav.finish()
            }
            (Shape::Bytes { .. }, how) => write_without_adapter(how, steps, out),
        }
    }

    /// Decodes the plan again and hands each sample over once no later block adds to it.
    fn write_samples(
        &mut self,
        steps: &[DecodeStep<'_>],
        present: Present,
        prepared: Prepared,
        emit: &mut dyn FnMut(&[f32]) -> Result<()>,
    ) -> Result<()> {
        let (_, how) = prepared.open(steps, present)?;
        self.samples(steps, present, how, emit)
    }
}

#[cfg(feature = "dsp")]
impl DspAdapter {
    /// The samples of a plan this adapter prepared (or of one held), handed to `emit`.
    fn samples(
        &mut self,
        steps: &[DecodeStep<'_>],
        present: Present,
        how: How,
        emit: &mut dyn FnMut(&[f32]) -> Result<()>,
    ) -> Result<()> {
        let How::Pcm(plan) = how else {
            return samples_without_adapter(how, emit);
        };
        let mut stream = plan.stream(emit);
        decode_steps(self, steps, present, |r| stream.add(&r))?;
        stream.finish()
    }
}

/// A registered adapter: what it is for and how to make one.
struct Entry {
    summary: Cow<'static, str>,
    make: Box<dyn Fn() -> Box<dyn NamedDecoder> + Send + Sync>,
}

/// Adapters by name; [`AdapterRegistry::default`] holds `null` and `dsp`.
pub struct AdapterRegistry {
    entries: BTreeMap<Cow<'static, str>, Entry>,
}

impl Default for AdapterRegistry {
    fn default() -> Self {
        let mut registry = AdapterRegistry {
            entries: BTreeMap::new(),
        };
        #[cfg(feature = "dsp")]
        registry.register("dsp", "DSP0/DSP1 audio blocks to PCM (WAV)", || {
            Box::new(DspAdapter::default())
        });
        registry.register(
            "null",
            "identity: the plan's opaque bytes in decode order",
            || Box::new(NullAdapter::default()),
        );
        registry
    }
}

impl AdapterRegistry {
    /// Adds (or replaces) the adapter called `name`, made by `make` (which may capture its
    /// configuration, a model's path say). The name and summary may be literals or strings
    /// made at run time (read from a configuration file, say).
    pub fn register(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        summary: impl Into<Cow<'static, str>>,
        make: impl Fn() -> Box<dyn NamedDecoder> + Send + Sync + 'static,
    ) {
        let make = Box::new(make);
        let summary = summary.into();
        self.entries.insert(name.into(), Entry { summary, make });
    }

    /// A new adapter called `name`.
    pub fn get(&self, name: &str) -> Result<Box<dyn NamedDecoder>> {
        match self.entries.get(name) {
            Some(entry) => Ok((entry.make)()),
            None => Err(Error::UnknownAdapter {
                name: name.to_owned(),
                known: self
                    .entries
                    .keys()
                    .map(|k| k.as_ref())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Every registered name with its summary, sorted by name.
    pub fn list(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.entries
            .iter()
            .map(|(name, entry)| (name.as_ref(), entry.summary.as_ref()))
    }
}
