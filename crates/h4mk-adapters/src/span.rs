//! Planning a decode of a track by time, as `h4mk decode` does: [`plan_decode`].
//!
//! The demuxer's plans ([`Demuxer::chain`], [`Demuxer::range`]) present blocks by their pts.
//! Audio whose blocks overlap ([`NamedDecoder::overlaps`]) needs more to be exact from its
//! first sample: a block's first samples overlap the tail of the block before it
//! (docs/ADAPTERS.md §3.6). So for such decoders a time range is a cut ([`Present::Cut`]):
//! planned from the block before the last one that starts before its start, and cut to the
//! samples from its start up to its end, bit for bit what the whole track's decode gives there.
//! A time is planned from the block before its target and rendered as a lead
//! ([`Present::Lead`]). If such a decode fails (a block before the time asked for, or its chain,
//! is damaged, which is not the output's concern), the plan that starts later is decoded, and
//! [`Planned::shortfall`] says what that cost. Bytes (the null adapter) are the blocks of
//! [`Demuxer::range`] or [`Demuxer::chain`], as the demuxer gives them.

use std::fmt;
use std::io::Write;

use h4mk_mt::{DecodeStep, Demuxer};

use crate::adapter::Present;
use crate::error::{Error, Result};
use crate::registry::{NamedDecoder, Prepared, Shape};

/// What of a track to decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    /// What the track shows at this time, in milliseconds: the chain to its last block with
    /// pts at or before it, that block presented.
    At(u32),
    /// From the first time up to the second, in milliseconds (`u32::MAX`: to the track's end).
    /// For a decoder whose outputs overlap ([`NamedDecoder::overlaps`], the DSP adapter's
    /// audio), the samples run from the first time's sample up to, not including, the
    /// second's. For any other decoder, samples or bytes, the output is every block with a pts
    /// from the first time to the second, both included, with the anchors they need: samples
    /// then start at the first such block, not at the first time.
    Range(u32, u32),
    /// Every block of the track.
    Whole,
}

/// A decode planned and checked by [`plan_decode`], ready to write.
#[derive(Debug)]
pub struct Planned<'d> {
    /// The blocks to decode, in decode order: the plan asked for, or a longer one from the
    /// block before it (whose output overlaps the first one presented).
    pub steps: Vec<DecodeStep<'d>>,
    /// What of `steps` is presented.
    pub present: Present,
    /// The decoder's check of the plan: hand it to the same decoder's
    /// [`write`](NamedDecoder::write) or [`write_samples`](NamedDecoder::write_samples) with
    /// `steps` and `present`, or to [`Planned::write`].
    pub prepared: Prepared,
    /// How many blocks are output: for audio, those whose samples reach into the span.
    pub presented: usize,
    /// The span presented, in milliseconds: for a time, the target's pts (both); for a whole
    /// track, its first to its last pts; for a range open to the end, where the output ends.
    pub from_ms: u32,
    /// See `from_ms`.
    pub to_ms: u32,
    /// What a block before the span that did not decode cost the output, when the plan that
    /// starts later was decoded instead.
    pub shortfall: Option<Shortfall>,
}

impl Planned<'_> {
    /// Writes the output (bytes, or a 16-bit WAV file) with `decoder`, the decoder that
    /// planned it, naming a block that fails by its offset ([`Error::AtBlock`]).
    pub fn write(self, decoder: &mut dyn NamedDecoder, out: &mut dyn Write) -> Result<()> {
        decoder
            .write(&self.steps, self.present, self.prepared, out)
            .map_err(|e| e.in_plan(&self.steps))
    }
}

/// What decoding from before the span cost when a block there, or its chain, did not decode:
/// the decode started later, and its first samples lack the overlap of the blocks before them.
#[derive(Debug)]
pub struct Shortfall {
    /// Why the decode from before the span failed.
    pub cause: Error,
    /// Where the output starts against the time asked for.
    pub late: Late,
}

/// Where an output that lacks the overlap of the blocks before it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Late {
    /// At its first block, whose pts is this: its first samples lack the overlap.
    AtBlock(u32),
    /// A cut from this time, on time: up to a frame of it may lack the overlap.
    OnTime(u32),
    /// A cut from `from_ms` that starts `samples` later (at `sample_rate`).
    By {
        /// The time asked for.
        from_ms: u32,
        /// How many samples late it starts.
        samples: u64,
        /// Their rate.
        sample_rate: u32,
    },
}

impl fmt::Display for Shortfall {
    /// One sentence: what failed (with its causes) and what it cost.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut cause = self.cause.to_string();
        let mut source = std::error::Error::source(&self.cause);
        while let Some(e) = source {
            cause.push_str(": ");
            cause.push_str(&e.to_string());
            source = e.source();
        }
        match self.late {
            Late::AtBlock(first_ms) => write!(
                f,
                "decoding from the block before {first_ms} ms failed ({cause}); the output's \
                 first samples lack its overlap"
            ),
            Late::OnTime(from_ms) => write!(
                f,
                "decoding from before {from_ms} ms failed ({cause}); the output starts at \
                 {from_ms} ms, but up to a frame of it may lack the overlap of the blocks \
                 before it"
            ),
            Late::By {
                from_ms,
                samples,
                sample_rate,
            } => write!(
                f,
                "decoding from before {from_ms} ms failed ({cause}); the output starts \
                 {samples} samples ({:.1} ms) after {from_ms} ms, and its first samples lack \
                 the overlap of the blocks before them",
                samples as f64 * 1000.0 / f64::from(sample_rate)
            ),
        }
    }
}

/// Plans `span` of `track` and has `decoder` check it, so that every error the plan's blocks
/// hold is found before an output is opened; then [`Planned::write`] writes it.
///
/// The decoder is told the track ([`NamedDecoder::set_track`]) and its first intact keyframe
/// ([`NamedDecoder::set_first_block`]), so that every decode of the track, of any part of it,
/// is placed alike in time. For a decoder whose outputs overlap (audio), a time range is cut
/// to the sample and a time is rendered with the block before it (see the module docs).
///
/// ```
/// use h4mk_adapters::{AdapterRegistry, Demuxer, Span, plan_decode};
///
/// let file = std::fs::read(concat!(
///     env!("CARGO_MANIFEST_DIR"),
///     "/../../fixtures/reference/demo.h4mk"
/// ))?;
/// let demux = Demuxer::open(&file)?;
/// let mut null = AdapterRegistry::default().get("null")?;
/// let planned = plan_decode(&demux, null.as_mut(), 1, Span::At(70))?;
/// // The B-block at 66 ms, after its anchors: I at 0, P at 33 and its forward anchor at 99.
/// let pts: Vec<u32> = planned.steps.iter().map(|s| s.block.ts_ms).collect();
/// assert_eq!(pts, [0, 33, 99, 66]);
/// let mut bytes = Vec::new();
/// planned.write(null.as_mut(), &mut bytes)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn plan_decode<'d>(
    demux: &Demuxer<'d>,
    decoder: &mut dyn NamedDecoder,
    track: u16,
    span: Span,
) -> Result<Planned<'d>> {
    if let Some(spec) = demux.track(track) {
        decoder.set_track(spec);
    }
    if let Some(block) = demux
        .seek_table(track)?
        .iter()
        .find_map(|key| demux.block_at(key.offset).ok())
    {
        decoder.set_first_block(block.ts_ms, block.opaque);
    }
    let (steps, present, from_ms, to_ms) = match span {
        Span::At(t) => {
            let steps = demux.chain(track, t)?;
            let Some(target) = steps.last() else {
                return Err(nothing(
                    format!("at {t} ms"),
                    "no block of the track at or before it",
                ));
            };
            let ts = target.block.ts_ms;
            (steps.clone(), Present::Index(steps.len() - 1), ts, ts)
        }
        Span::Range(a, b) => {
            if let Some(cut) = cut(demux, decoder, track, (a, b))? {
                return Ok(cut);
            }
            let steps = demux.range(track, a, b)?;
            let Some(last) = steps.iter().map(|s| s.block.ts_ms).max() else {
                return Err(nothing(
                    from_to(a, b),
                    "no block of the track in that range",
                ));
            };
            // Open to the end: the range reported ends with the track.
            let b = if b == u32::MAX { last } else { b };
            (steps, range(a, b), a, b)
        }
        Span::Whole => {
            let steps = demux.range(track, 0, u32::MAX)?;
            let pts = steps.iter().map(|s| s.block.ts_ms);
            let (Some(first), Some(last)) = (pts.clone().min(), pts.max()) else {
                return Err(nothing(String::new(), "the track has no blocks"));
            };
            (steps, range(0, last), first, last)
        }
    };
    let presented: Vec<u32> = steps
        .iter()
        .enumerate()
        .filter(|&(i, s)| match present {
            Present::Index(target) => i == target,
            _ => (from_ms..=to_ms).contains(&s.block.ts_ms),
        })
        .map(|(_, s)| s.block.ts_ms)
        .collect();
    let first = presented.iter().copied().min().unwrap_or(from_ms);
    let last = presented.iter().copied().max().unwrap_or(to_ms);
    let lead = with_lead(demux, decoder, track, (first, last), presented.len());
    let (steps, present, prepared, shortfall) = match lead {
        Ok(Some((steps, present, prepared))) => (steps, present, prepared, None),
        lead => {
            let prepared = decoder
                .prepare(&steps, present)
                .map_err(|e| e.in_plan(&steps))?;
            let shortfall = lead.err().filter(|e| !is_gap(e)).map(|cause| Shortfall {
                cause,
                late: Late::AtBlock(first),
            });
            (steps, present, prepared, shortfall)
        }
    };
    Ok(Planned {
        steps,
        present,
        prepared,
        presented: presented.len(),
        from_ms,
        to_ms,
        shortfall,
    })
}

/// The time from `a` up to `b` ms (`u32::MAX`: to the end) of `track`, cut to the sample
/// ([`Present::Cut`]), for a decoder whose outputs overlap (audio): planned from the block
/// before the last one that starts before `a`, so that every sample is exact. If that plan
/// does not decode (the lead or its chain is damaged), the plan from the block that starts
/// before `a`, then the plan from `a`, are tried in turn, as [`with_lead`] does, with a
/// shortfall; the last one's error is the decode's. `None` when the outputs do not overlap,
/// or are bytes: the blocks from `a` to `b` are then decoded whole.
fn cut<'d>(
    demux: &Demuxer<'d>,
    decoder: &mut dyn NamedDecoder,
    track: u16,
    (a, b): (u32, u32),
) -> Result<Option<Planned<'d>>> {
    if !decoder.overlaps() {
        return Ok(None);
    }
    if a == b {
        return Err(nothing(
            from_to(a, b),
            "audio runs from A up to B, not including B, so the range is empty",
        ));
    }
    // The pts of the last block that starts before `t`: its samples reach `t`.
    let before = |t: u32| -> Result<Option<u32>> {
        let Some(t) = t.checked_sub(1) else {
            return Ok(None);
        };
        Ok(demux.chain(track, t)?.last().map(|s| s.block.ts_ms))
    };
    let mut damage = None;
    let first = before(a).unwrap_or_else(|e| {
        damage = Some(e);
        None
    });
    let lead = first.map(before).transpose().unwrap_or_else(|e| {
        damage.get_or_insert(e);
        None
    });
    let starts: Vec<u32> = [lead.flatten(), first, Some(a)]
        .into_iter()
        .flatten()
        .collect();
    let plan_to = |decoder: &mut dyn NamedDecoder, start: u32, end: u32| -> Result<_> {
        let steps = demux.range(track, start, end)?;
        let present = Present::Cut {
            lead_ms: start,
            from_ms: a,
            to_ms: b,
        };
        let prepared = decoder
            .prepare(&steps, present)
            .map_err(|e| e.in_plan(&steps))?;
        Ok((steps, present, prepared))
    };
    let mut planned = None;
    for (n, &start) in starts.iter().enumerate() {
        match plan_to(decoder, start, b) {
            Ok(plan) => {
                planned = Some((start, plan));
                break;
            }
            Err(e) if n + 1 < starts.len() => {
                if !is_gap(&e) {
                    damage.get_or_insert(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
    let Some((start_ms, (mut steps, mut present, mut prepared))) = planned else {
        return Ok(None);
    };
    let Some((rate, start, samples)) = prepared.shape().pcm() else {
        return Ok(None);
    };
    // A gap before `b` (blocks a damaged file lost) is silence in the whole decode when the
    // track goes on after it: planned on to the keyframe after `b`, the cut spans it too. The
    // output ends at `b`'s position rounded down, as the cut keeps it.
    let reaches_b = rate > 0 && start + samples >= u64::from(b) * u64::from(rate) / 1000;
    if b != u32::MAX
        && !reaches_b
        && let Some(key) = demux.index().track(track).and_then(|t| t.first_from(b + 1))
        && let Ok(plan) = plan_to(decoder, start_ms, key.ts_ms)
    {
        (steps, present, prepared) = plan;
    }
    let Some((sample_rate, start, samples)) = prepared.shape().pcm() else {
        return Ok(None);
    };
    if samples == 0 {
        return Err(nothing(
            from_to(a, b),
            "the track has no samples in that time",
        ));
    }
    let end = start + samples;
    let shortfall = damage.map(|cause| {
        let late = start.saturating_sub(u64::from(a) * u64::from(sample_rate) / 1000);
        Shortfall {
            cause,
            late: if late > 0 {
                Late::By {
                    from_ms: a,
                    samples: late,
                    sample_rate,
                }
            } else {
                Late::OnTime(a)
            },
        }
    });
    // The blocks output: those whose samples reach into the cut.
    let shown = first.unwrap_or(a);
    let presented = steps
        .iter()
        .filter(|s| s.block.ts_ms >= shown && (s.block.ts_ms < b || b == u32::MAX))
        .count();
    Ok(Some(Planned {
        steps,
        present,
        prepared,
        presented,
        from_ms: a,
        // Open to the end: where the output ends.
        to_ms: if b == u32::MAX {
            u32::try_from((end * 1000).div_ceil(u64::from(sample_rate))).unwrap_or(u32::MAX)
        } else {
            b
        },
        shortfall,
    }))
}

/// The plan of the `presented` blocks of `track`, from `first_ms` to `last_ms`, with the
/// block just before them as a lead, prepared as PCM; `None` when the decoder's outputs do
/// not overlap, the track has no block before `first_ms`, that plan gives bytes, or other
/// blocks share those timestamps (a lead presents blocks by time, so a target of
/// [`Span::At`] with a twin at its pts would come out mixed with it); an error when the lead,
/// or its chain, does not decode.
fn with_lead<'d>(
    demux: &Demuxer<'d>,
    decoder: &mut dyn NamedDecoder,
    track: u16,
    (first_ms, last_ms): (u32, u32),
    presented: usize,
) -> Result<Option<(Vec<DecodeStep<'d>>, Present, Prepared)>> {
    let Some(before) = first_ms.checked_sub(1).filter(|_| decoder.overlaps()) else {
        return Ok(None);
    };
    let Some(lead_ms) = demux.chain(track, before)?.last().map(|s| s.block.ts_ms) else {
        return Ok(None);
    };
    let steps = demux.range(track, lead_ms, last_ms)?;
    let in_span = steps
        .iter()
        .filter(|s| (first_ms..=last_ms).contains(&s.block.ts_ms))
        .count();
    if in_span != presented {
        return Ok(None);
    }
    let present = Present::Lead {
        lead_ms,
        start_ms: first_ms,
        end_ms: last_ms,
    };
    let prepared = decoder
        .prepare(&steps, present)
        .map_err(|e| e.in_plan(&steps))?;
    Ok(match prepared.shape() {
        Shape::Pcm { .. } => Some((steps, present, prepared)),
        Shape::Bytes { .. } => None,
    })
}

/// True when a plan failed for timing that spreads its blocks too far apart (a lead before a
/// gap that `salvage` left, say), not for damage: a plan that starts after the gap renders
/// the same samples, and nothing is lost.
fn is_gap(e: &Error) -> bool {
    let inner = match e {
        Error::AtBlock { source, .. } => source,
        other => other,
    };
    matches!(inner.innermost(), Error::TimingGaps { .. })
}

fn range(start_ms: u32, end_ms: u32) -> Present {
    Present::Range { start_ms, end_ms }
}

fn nothing(span: String, why: &'static str) -> Error {
    Error::NothingToDecode { span, why }
}

/// "from A ms to B ms", or "from A ms to the end".
fn from_to(a: u32, b: u32) -> String {
    if b == u32::MAX {
        format!("from {a} ms to the end")
    } else {
        format!("from {a} ms to {b} ms")
    }
}
