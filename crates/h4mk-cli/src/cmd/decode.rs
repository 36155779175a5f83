//! `h4mk decode`: a track's blocks through a model adapter of `h4mk-adapters`, to a file.
//!
//! The demuxer plans (a chain for `--at-ms`, a range otherwise), the adapter named by
//! `--adapter` decodes the plan through [`AdapterRegistry`], and [`Decoded::write_to`] writes
//! the result (bytes for `null`, a 16-bit WAV file for `dsp`) through [`crate::output`].
//!
//! Audio is exact from its first sample: a block's first `N - H` samples overlap the tail of
//! the block before it (docs/ADAPTERS.md §3.6), which a plan that starts at the blocks asked
//! for leaves out. So when the track has a block just before the first one asked for, the
//! decode plans from that block and renders it as a lead ([`Present::Lead`]): one decode,
//! exact from the first sample, for adapters whose outputs overlap
//! ([`NamedDecoder::overlaps`]). If that decode fails (the lead or its chain is damaged, which
//! is not the output's concern), the plan asked for is decoded as it is; bytes (the null
//! adapter) are always the plan's blocks as the demuxer gives them.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::builder::{PossibleValue, PossibleValuesParser};
use h4mk_adapters::{AdapterRegistry, Decoded, NamedDecoder, Pcm, Present};
use h4mk_mt::{DecodeStep, Demuxer};

use crate::cmd::{check_range, open, plural, require_track, warn_if_rebuilt, write_json};
use crate::input::{Input, display_name};
use crate::output::{is_stdout, refuse_input_as_output, write_to};
use crate::report::DecodeReport;

/// Decode a track (or a time or time range of it) with a model adapter.
///
/// The demuxer plans the blocks to decode (as `h4mk chain` and `h4mk range` print them), the
/// adapter decodes them, and the output is written to a temporary file beside OUT that is
/// renamed onto it only once complete: a failed decode leaves nothing behind.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
What is decoded:
  --at-ms T             what the track shows at T ms: the chain to its last block with
                        pts <= T (as `h4mk chain` prints it); only that block is output.
  --from-ms A --to-ms B every block with A <= pts <= B (as `h4mk range` prints it).
  neither               the whole track (every block from pts 0 to the last).

Outputs: the null adapter writes the opaque bytes of the plan's blocks, in decode order; the
dsp adapter writes mono 16-bit PCM WAV; for DSP1 blocks it is exact from its first sample
(the block before the first one output is decoded too, for the samples they overlap), while
DSP0 blocks, which carry no timing, are placed at their pts, and blocks closer together than
a frame overlap more than that one lead covers. -o - writes to standard
output (and prints no report). The JSON report gives the steps decoded, the blocks output,
the bytes written and, for audio, the sample rate, the sample count and the stream position
of the first sample.

Examples:
  h4mk decode --adapter dsp --track 1 song.h4mk -o song.wav
  h4mk decode --adapter dsp --track 1 --from-ms 1000 --to-ms 2000 song.h4mk -o part.wav
  h4mk decode --adapter null --track 1 --at-ms 70 demo.h4mk -o chain.bin
  h4mk decode --json --adapter dsp --track 1 --at-ms 1500 song.h4mk -o frame.wav")]
pub(crate) struct Args {
    /// The container (`-` for standard input).
    file: PathBuf,
    /// The model adapter that turns the blocks into output.
    #[arg(long, value_name = "NAME", value_parser = adapter_names())]
    adapter: String,
    /// The track to decode.
    #[arg(long, value_name = "N")]
    track: u16,
    /// Decode what the track shows at this time, in milliseconds.
    #[arg(long = "at-ms", value_name = "T", conflicts_with_all = ["from_ms", "to_ms"])]
    at_ms: Option<u32>,
    /// The first time to present, in milliseconds.
    #[arg(long = "from-ms", value_name = "A", requires = "to_ms")]
    from_ms: Option<u32>,
    /// The last time to present, in milliseconds (inclusive).
    #[arg(long = "to-ms", value_name = "B", requires = "from_ms")]
    to_ms: Option<u32>,
    /// Write the output to this file (`-` for standard output).
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

/// The registry's adapters, with their summaries, as the values `--adapter` takes.
fn adapter_names() -> PossibleValuesParser {
    PossibleValuesParser::new(
        AdapterRegistry::default()
            .list()
            .map(|(name, summary)| PossibleValue::new(name).help(summary)),
    )
}

/// What to present.
#[derive(Clone, Copy, Debug)]
enum Span {
    /// The target of the chain at this time.
    At(u32),
    /// Every block in this inclusive range.
    Range(u32, u32),
    /// Every block of the track.
    Whole,
}

/// A decode and what it took.
struct Outcome {
    decoded: Decoded,
    steps: usize,
    presented: usize,
    /// The presented range, as planned: for a whole track, 0 to its last pts.
    from_ms: u32,
    to_ms: u32,
}

pub(crate) fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    let span = match (args.at_ms, args.from_ms, args.to_ms) {
        (Some(t), _, _) => Span::At(t),
        (None, Some(a), Some(b)) => Span::Range(a, b),
        _ => Span::Whole,
    };
    if let Span::Range(from, to) = span {
        check_range(from, to)?;
    }
    refuse_input_as_output(&args.file, &args.output)?;
    let input = Input::open_h4mk(&args.file)?;
    let name = input.name();
    let demux = open(&input)?;
    require_track(&demux, &input, args.track)?;
    let registry = AdapterRegistry::default();
    let mut decoder = registry.get(&args.adapter)?;
    let outcome = decode(&demux, decoder.as_mut(), args.track, span)
        .with_context(|| format!("{name}: track {}, adapter {}", args.track, args.adapter))?;
    let bytes = write_to(&args.output, out, |w| {
        let mut counted = Counting { inner: w, bytes: 0 };
        outcome
            .decoded
            .write_to(&mut counted)
            .with_context(|| format!("writing {}", display_name(&args.output)))?;
        Ok(counted.bytes)
    })?;
    warn_if_rebuilt(&demux, &input, err)?;
    if is_stdout(&args.output) {
        return Ok(ExitCode::SUCCESS);
    }
    let pcm = match &outcome.decoded {
        Decoded::Pcm(pcm) => Some(pcm),
        Decoded::Bytes(_) => None,
    };
    let (at_ms, from_ms, to_ms) = match span {
        Span::At(t) => (Some(t), None, None),
        Span::Range(..) | Span::Whole => (None, Some(outcome.from_ms), Some(outcome.to_ms)),
    };
    let report = DecodeReport {
        file: name,
        adapter: args.adapter.clone(),
        track: args.track,
        at_ms,
        from_ms,
        to_ms,
        steps: outcome.steps,
        presented: outcome.presented,
        output: display_name(&args.output),
        bytes,
        sample_rate: pcm.map(|p| p.sample_rate),
        samples: pcm.map(|p| p.samples.len() as u64),
        start_sample: pcm.map(|p| p.start),
    };
    if args.json {
        write_json(out, &report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let what = match (report.at_ms, span) {
        (Some(t), _) => format!("at {t} ms"),
        (None, Span::Whole) => format!("(whole, {} to {} ms)", outcome.from_ms, outcome.to_ms),
        (None, _) => format!("from {} to {} ms", outcome.from_ms, outcome.to_ms),
    };
    let content = match pcm {
        Some(p) => format!(
            "{} samples at {} Hz ({:.3} s from sample {})",
            p.samples.len(),
            p.sample_rate,
            p.seconds(),
            p.start
        ),
        None => "opaque bytes".to_owned(),
    };
    let steps = outcome.steps as u64;
    let presented = outcome.presented as u64;
    writeln!(
        out,
        "{}: track {} {what} with {}: {steps} step{} decoded, {presented} block{} output, {content}; wrote {bytes} bytes to {}",
        crate::one_line(&report.file),
        report.track,
        report.adapter,
        plural(steps),
        plural(presented),
        crate::one_line(&report.output)
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Plans `span` of `track` with the demuxer and decodes it with `decoder`.
fn decode(
    demux: &Demuxer<'_>,
    decoder: &mut dyn NamedDecoder,
    track: u16,
    span: Span,
) -> Result<Outcome> {
    let (steps, present, from_ms, to_ms) = match span {
        Span::At(t) => {
            let steps = demux.chain(track, t)?;
            let Some(target) = steps.last() else {
                bail!("nothing to decode at {t} ms: no block of the track at or before it");
            };
            let ts = target.block.ts_ms;
            (steps.clone(), Present::Index(steps.len() - 1), ts, ts)
        }
        Span::Range(a, b) => {
            let steps = demux.range(track, a, b)?;
            if steps.is_empty() {
                bail!("nothing to decode from {a} to {b} ms: no block of the track in that range");
            }
            (steps, range(a, b), a, b)
        }
        Span::Whole => {
            let steps = demux.range(track, 0, u32::MAX)?;
            let Some(last) = steps.iter().map(|s| s.block.ts_ms).max() else {
                bail!("nothing to decode: the track has no blocks");
            };
            (steps, range(0, last), 0, last)
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
    let (decoded, decoded_steps) = match lead {
        Some((pcm, lead_steps)) => (Decoded::Pcm(pcm), lead_steps),
        None => (decode_steps(decoder, &steps, present)?, steps.len()),
    };
    Ok(Outcome {
        decoded,
        steps: decoded_steps,
        presented: presented.len(),
        from_ms,
        to_ms,
    })
}

fn range(start_ms: u32, end_ms: u32) -> Present {
    Present::Range { start_ms, end_ms }
}

/// Decodes `steps` and names a failing block by its CORE payload offset and pts rather than by
/// its position in the plan.
fn decode_steps(
    decoder: &mut dyn NamedDecoder,
    steps: &[DecodeStep<'_>],
    present: Present,
) -> Result<Decoded> {
    decoder.decode(steps, present).map_err(|e| {
        if let h4mk_adapters::Error::InBlock { index, .. } = &e
            && let Some(step) = steps.get(*index)
        {
            let b = step.block;
            let inner = e.innermost().to_string();
            return anyhow::anyhow!(
                "{}-block at offset {} (pts {} ms): {inner}",
                b.kind.letter(),
                b.offset,
                b.ts_ms
            );
        }
        anyhow::Error::new(e)
    })
}

/// The `presented` blocks of `track`, from `first_ms` to `last_ms`, decoded to PCM with the
/// block just before them as a lead, and the number of steps decoded; `None` when the
/// decoder's outputs do not overlap, the track has no block before `first_ms`, that decode
/// fails or gives bytes, or other blocks share those timestamps (a lead presents blocks by
/// time, so an `--at-ms` target with a twin at its pts would come out mixed with it).
fn with_lead(
    demux: &Demuxer<'_>,
    decoder: &mut dyn NamedDecoder,
    track: u16,
    (first_ms, last_ms): (u32, u32),
    presented: usize,
) -> Option<(Pcm, usize)> {
    if !decoder.overlaps() {
        return None;
    }
    let before = first_ms.checked_sub(1)?;
    let lead_ms = demux.chain(track, before).ok()?.last()?.block.ts_ms;
    let steps = demux.range(track, lead_ms, last_ms).ok()?;
    let in_span = steps
        .iter()
        .filter(|s| (first_ms..=last_ms).contains(&s.block.ts_ms))
        .count();
    if in_span != presented {
        return None;
    }
    let present = Present::Lead {
        lead_ms,
        start_ms: first_ms,
        end_ms: last_ms,
    };
    match decoder.decode(&steps, present).ok()? {
        Decoded::Pcm(pcm) => Some((pcm, steps.len())),
        Decoded::Bytes(_) => None,
    }
}

/// A writer that counts the bytes written through it.
struct Counting<'a> {
    inner: &'a mut dyn Write,
    bytes: u64,
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
