//! Adapters chosen by name at run time (`h4mk decode --adapter dsp`), as Symphonia's codec
//! registry does: a sorted map from name to constructor, so listings are deterministic.

use std::collections::BTreeMap;
use std::io::Write;

use h4mk_mt::DecodeStep;

use crate::adapter::Present;
use crate::container::decode_steps;
use crate::dsp::DspAdapter;
use crate::error::{Error, Result};
use crate::null::NullAdapter;
use crate::pcm::{Pcm, PcmMix};
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

    /// The file extension the output is usually stored under.
    pub fn extension(&self) -> &'static str {
        match self {
            Decoded::Bytes(_) => "bin",
            Decoded::Pcm(_) => "wav",
        }
    }
}

/// An adapter behind a uniform, type-erased face: a plan in, one [`Decoded`] out.
pub trait NamedDecoder {
    /// Decodes `steps` (a demuxer's plan, in decode order) and renders the blocks `present`
    /// selects.
    fn decode(&mut self, steps: &[DecodeStep<'_>], present: Present) -> Result<Decoded>;

    /// True when a block's output overlaps its neighbours', so that rendering a range exactly
    /// needs the block before it as a lead ([`Present::Lead`]).
    fn overlaps(&self) -> bool {
        false
    }
}

impl NamedDecoder for NullAdapter {
    /// Checks every step has its anchors, then returns the plan's opaque bytes in decode order.
    fn decode(&mut self, steps: &[DecodeStep<'_>], present: Present) -> Result<Decoded> {
        decode_steps(self, steps, present, |_| Ok(()))?;
        Ok(Decoded::Bytes(
            steps
                .iter()
                .flat_map(|s| s.block.opaque.iter().copied())
                .collect(),
        ))
    }
}

impl NamedDecoder for DspAdapter {
    /// Renders the presented blocks to PCM, overlap-added in presentation order as they are
    /// decoded: the decode holds its output and the few blocks still waiting, not every
    /// block's samples.
    fn decode(&mut self, steps: &[DecodeStep<'_>], present: Present) -> Result<Decoded> {
        let mut mix = PcmMix::default();
        decode_steps(self, steps, present, |r| mix.add(&r))?;
        Ok(Decoded::Pcm(mix.finish()))
    }

    /// Frames overlap by `frame_size - hop` samples (docs/ADAPTERS.md §3.6).
    fn overlaps(&self) -> bool {
        true
    }
}

/// A registered adapter: what it is for and how to make one.
struct Entry {
    summary: &'static str,
    make: Box<dyn Fn() -> Box<dyn NamedDecoder> + Send + Sync>,
}

/// Adapters by name; [`AdapterRegistry::default`] holds `null` and `dsp`.
pub struct AdapterRegistry {
    entries: BTreeMap<&'static str, Entry>,
}

impl Default for AdapterRegistry {
    fn default() -> Self {
        let mut registry = AdapterRegistry {
            entries: BTreeMap::new(),
        };
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
    /// configuration, a model's path say).
    pub fn register(
        &mut self,
        name: &'static str,
        summary: &'static str,
        make: impl Fn() -> Box<dyn NamedDecoder> + Send + Sync + 'static,
    ) {
        let make = Box::new(make);
        self.entries.insert(name, Entry { summary, make });
    }

    /// A new adapter called `name`.
    pub fn get(&self, name: &str) -> Result<Box<dyn NamedDecoder>> {
        match self.entries.get(name) {
            Some(entry) => Ok((entry.make)()),
            None => Err(Error::UnknownAdapter {
                name: name.to_owned(),
                known: self.entries.keys().copied().collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// Every registered name with its summary, sorted by name.
    pub fn list(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.entries
            .iter()
            .map(|(name, entry)| (*name, entry.summary))
    }
}
