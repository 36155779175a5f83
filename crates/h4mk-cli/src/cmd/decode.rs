//! `h4mk decode`: a track's blocks through a model adapter of `h4mk-adapters`, to a file.
//!
//! [`plan_decode`] plans the time asked for (a chain for `--at-ms`, a range otherwise) and the
//! adapter named by `--adapter` ([`AdapterRegistry`]) checks the plan before the output is
//! opened; audio is exact from its first sample (a time range is the whole decode cut, bit for
//! bit), and a damaged block before the time asked for costs a warning, not the decode
//! ([`h4mk_adapters::Shortfall`]). The plan is then written through [`crate::output`] as it
//! decodes ([`NamedDecoder::write`]: bytes for `null`; a WAV file for `dsp`), holding only what
//! is not written yet. Several tracks are decoded side by side into the channels of one WAV
//! file ([`write_wav_channels`]).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::builder::{PossibleValue, PossibleValuesParser};
use h4mk_adapters::{
    AdapterRegistry, Channel, NamedDecoder, Pcm, Planned, SampleFormat, Shape, Span, WavWriter,
    channels_shape, plan_decode, write_wav_channels,
};
use h4mk_mt::Demuxer;

use crate::UsageError;
use crate::cmd::{
    MAX_CHANNELS, check_range, open, parse_ms, plural, report_sink, require_track, say_warning,
    tracks_phrase, warn_if_rebuilt, write_json,
};
use crate::input::{Input, display_name};
use crate::output::{Progress, is_stdout, progress_bar, refuse_input_as_output, write_to};
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
                        pts <= T (as `h4mk chain` prints it); audio shows only that
                        block, bytes (null) are the whole chain's.
  --from-ms A --to-ms B audio (dsp): the signal from A ms up to B ms, cut to the sample:
                        samples A*rate/1000 up to B*rate/1000 (each rounded down) where the
                        track has them, silence in a gap inside it, bit for bit what the
                        whole track's decode gives there (but for DSP0 blocks closer
                        together than a frame, below); bytes (null): every block with
                        A <= pts <= B and the anchors they need, in decode order (as
                        `h4mk range` prints them). Either alone runs from
                        0 or to the track's end, as for remux.
  neither               the whole track (every block from its first to its last).

Outputs: the null adapter writes the opaque bytes of every block of the plan, in decode
order, one after another (`h4mk extract --dir` writes blocks apart);
the dsp adapter writes mono 16-bit PCM WAV (32-bit float with --sample-format f32, which
keeps samples past full scale that 16 bits clip); for DSP1 blocks it is exact from its first
sample (the block before the first one output is decoded too, for the samples they overlap:
for a range, from the block before the one that reaches A; when a block there does not
decode, the decode starts after it where it can, with a warning saying what that cost),
while DSP0 blocks, which carry no timing or sample rate, are placed at their pts at the
rate the track declares (refused when 0), and blocks closer together than a frame overlap
more than the blocks decoded before cover. A track sits in time where its pts put it: DSP1
blocks whose pts were all moved (remux --start-at-zero) decode moved as much, every decode
of a track placed by its first keyframe. Several tracks (--track 1,2) are decoded side by
side into the channels of one WAV file, in the order given (at most 64): they must share a
sample rate, the file spans every track's samples, and a channel is silent where its track
has none; a track with no block (bytes) or no sample (audio) in the time asked for is an
error, as for one track.
-o - writes to standard output, and the report (with --json only) to standard error. The
JSON report gives the steps decoded, the blocks output, the bytes written and, for audio, the
sample rate, the channel count, the sample count of each channel, the stream position of the
first sample, the sample format (s16 or f32) and how many samples were past full scale and
clipped to 16 bits (also a warning on standard error), and the warnings said, when any.

Examples:
  h4mk decode --adapter dsp --track 1 song.h4mk -o song.wav
  h4mk decode --adapter dsp --track 1,2 stereo.h4mk -o stereo.wav
  h4mk decode --adapter dsp --track 1 --from-ms 1000 --to-ms 2000 song.h4mk -o part.wav
  h4mk decode --adapter null --track 1 --at-ms 70 demo.h4mk -o chain.bin
  h4mk decode --json --adapter dsp --track 1 --at-ms 1500 song.h4mk -o frame.wav")]
pub(crate) struct Args {
    /// The container (`-` for standard input).
    file: PathBuf,
    /// The model adapter that turns the blocks into output.
    #[arg(long, value_name = "NAME", value_parser = adapter_names())]
    adapter: String,
    /// The track to decode; several (`--track 1,2` or `--track 1 --track 2`) are written as
    /// the channels of one audio file, in that order.
    #[arg(long, value_name = "N", value_delimiter = ',', required = true)]
    track: Vec<u16>,
    /// Decode what the track shows at this time, in milliseconds or as [H:]MM:SS[.mmm].
    #[arg(
        long = "at-ms",
        value_name = "T",
        value_parser = parse_ms,
        conflicts_with_all = ["from_ms", "to_ms"]
    )]
    at_ms: Option<u32>,
    /// Where to start, in milliseconds or as [H:]MM:SS[.mmm] (0 when left out): audio starts
    /// at that sample; bytes (null) with the first block at or after it, after the anchors it
    /// needs.
    #[arg(long = "from-ms", value_name = "A", value_parser = parse_ms)]
    from_ms: Option<u32>,
    /// Where to stop, in milliseconds or as [H:]MM:SS[.mmm] (the track's end when left out):
    /// audio ends just before that sample; bytes (null) with the last block at or before it,
    /// or an anchor it needs.
    #[arg(long = "to-ms", value_name = "B", value_parser = parse_ms)]
    to_ms: Option<u32>,
    /// Write the output to this file (`-` for standard output).
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// How audio samples are written: 16-bit integers (clipped to full scale) or 32-bit floats
    /// (as decoded) [default: s16].
    #[arg(long = "sample-format", value_name = "FORMAT")]
    sample_format: Option<WavFormat>,
    /// Decode a damaged file as `h4mk salvage` rebuilds it, from every intact chunk, with a
    /// warning saying what was lost; the rebuilt file is held in memory (about the input's
    /// size), and offsets in messages are its own.
    #[arg(long)]
    salvage: bool,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

/// `--sample-format`'s values, as ffmpeg and sox name them.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum WavFormat {
    /// 16-bit integer PCM.
    S16,
    /// 32-bit IEEE float.
    F32,
}

impl From<WavFormat> for SampleFormat {
    fn from(f: WavFormat) -> Self {
        match f {
            WavFormat::S16 => SampleFormat::I16,
            WavFormat::F32 => SampleFormat::F32,
        }
    }
}

/// The registry's adapters, with their summaries, as the values `--adapter` takes.
fn adapter_names() -> PossibleValuesParser {
    let registry = AdapterRegistry::default();
    PossibleValuesParser::new(
        registry
            .list()
            .map(|(name, summary)| PossibleValue::new(name.to_owned()).help(summary.to_owned())),
    )
}

pub(crate) fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    let span = match (args.at_ms, args.from_ms, args.to_ms) {
        (Some(t), _, _) => Span::At(t),
        (None, None, None) => Span::Whole,
        (None, a, b) => Span::Range(a.unwrap_or(0), b.unwrap_or(u32::MAX)),
    };
    if let Span::Range(from, to) = span {
        check_range(from, to)?;
    }
    if args.track.len() > MAX_CHANNELS {
        return Err(UsageError(format!(
            "--track: {} tracks; at most {MAX_CHANNELS} decode side by side",
            args.track.len()
        ))
        .into());
    }
    if args.track.len() > 1 && args.adapter == "null" {
        return Err(UsageError(
            "--adapter null decodes one track at a time: several tracks are written as the \
             channels of one audio file"
                .to_owned(),
        )
        .into());
    }
    if args.sample_format.is_some() && args.adapter == "null" {
        return Err(UsageError(
            "--sample-format: --adapter null writes the blocks' bytes, not samples".to_owned(),
        )
        .into());
    }
    let format = args
        .sample_format
        .map_or(SampleFormat::I16, SampleFormat::from);
    refuse_input_as_output(&args.file, &args.output)?;
    let input = Input::open_h4mk(&args.file)?;
    let name = input.name();
    // Every warning, said on standard error as it comes and kept for the JSON report.
    let mut said = Vec::new();
    let rebuilt = if args.salvage {
        Some(salvaged(&input, err, &mut said)?)
    } else {
        None
    };
    let demux = match &rebuilt {
        Some(bytes) => Demuxer::open(bytes).with_context(|| format!("{name}, salvaged"))?,
        None => open(&input)?,
    };
    for &track in &args.track {
        require_track(&demux, &name, track)?;
    }
    let registry = AdapterRegistry::default();
    let mut decodes = Vec::with_capacity(args.track.len());
    for &track in &args.track {
        let mut decoder = registry.get(&args.adapter)?;
        let outcome = plan_decode(&demux, decoder.as_mut(), track, span);
        if outcome.is_err() {
            // A rebuilt index explains the plan's error: said before it.
            warn_if_rebuilt(&demux, &input, err)?;
        }
        let outcome = outcome
            .map_err(crate::adapters_error)
            .with_context(|| format!("{name}: track {track}, adapter {}", args.adapter))?;
        decodes.push((track, decoder, outcome));
    }
    said.extend(warn_if_rebuilt(&demux, &input, err)?);
    let steps = decodes.iter().map(|(.., o)| o.steps.len()).sum::<usize>();
    let presented = decodes.iter().map(|(.., o)| o.presented).sum::<usize>();
    let from_ms = decodes.iter().map(|(.., o)| o.from_ms).min().unwrap_or(0);
    let to_ms = decodes.iter().map(|(.., o)| o.to_ms).max().unwrap_or(0);
    let shape = match decodes.as_slice() {
        [(_, _, one)] => one.prepared.shape(),
        many => {
            let shapes: Vec<Shape> = many.iter().map(|(.., o)| o.prepared.shape()).collect();
            channels_shape(&shapes)
                .map_err(|e| in_tracks(&args.track, e))
                .with_context(|| name.clone())?
        }
    };
    // An output WAV cannot hold (a sample rate or a length past its header's fields) is
    // refused before the output is opened: the header, written nowhere.
    if let Shape::Pcm {
        sample_rate,
        samples,
        ..
    } = shape
    {
        let channels = u16::try_from(args.track.len()).unwrap_or(u16::MAX);
        WavWriter::with_format(io::sink(), sample_rate, channels, samples, format)
            .with_context(|| format!("{name}: {}", tracks_phrase(&args.track)))?;
    }
    let shortfalls: Vec<String> = decodes
        .iter()
        .filter_map(|(track, _, o)| {
            let shortfall = o.shortfall.as_ref()?;
            Some(format!(
                "{}: track {track}: {shortfall}",
                crate::one_line(&name)
            ))
        })
        .collect();
    let out_name = display_name(&args.output);
    // The samples' bytes, for a bar: the WAV header is left out.
    let expected = match shape {
        Shape::Bytes { len } => len,
        Shape::Pcm { samples, .. } => {
            let width: u64 = if format == SampleFormat::F32 { 4 } else { 2 };
            samples.saturating_mul(width * args.track.len() as u64)
        }
    };
    let (bytes, clipped) = write_to(&args.output, out, |w| {
        let mut counted = Counting {
            inner: w,
            bytes: 0,
            bar: progress_bar(expected, Progress::Bytes),
        };
        let clipped =
            write(decodes, format, &mut counted).with_context(|| format!("writing {out_name}"))?;
        Ok((counted.bytes, clipped))
    })?;
    let mut say = |text| say_warning(err, &mut said, text);
    for text in shortfalls {
        say(text)?;
    }
    let wav_named = args
        .output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("wav") || e.eq_ignore_ascii_case("wave"));
    // A device or a FIFO (`-o /dev/null`) has no format to mistake.
    let a_file = std::fs::metadata(&args.output).is_ok_and(|m| m.is_file());
    if matches!(shape, Shape::Pcm { .. }) && !is_stdout(&args.output) && a_file && !wav_named {
        // sox and ffmpeg pick the format by the extension: `-o out.flac` wrote WAV unsaid.
        say(format!(
            "{}: written as WAV, the one audio format h4mk writes",
            crate::one_line(&out_name)
        ))?;
    }
    if matches!(shape, Shape::Pcm { samples: 0, .. }) {
        // A WAV of no sample, with exit 0 and nothing said, looked like a decode that worked
        // (an adversarial review: a block whose frames all lie before the end of the block
        // before it owns none).
        say(format!(
            "{}: {}: the decode holds no sample (the blocks presented own none)",
            crate::one_line(&name),
            tracks_phrase(&args.track)
        ))?;
    }
    if clipped > 0 {
        // As sox does: a decode that overshoots full scale is not silent about it.
        say(format!(
            "{}: {clipped} sample{} past full scale clipped to 16 bits (--sample-format f32 \
             keeps them)",
            crate::one_line(&out_name),
            plural(clipped)
        ))?;
    }
    let Some(out) = report_sink(is_stdout(&args.output), args.json, out, err) else {
        return Ok(ExitCode::SUCCESS);
    };
    let pcm = shape.pcm();
    let (at_ms, report_from, report_to) = match span {
        Span::At(t) => (Some(t), None, None),
        Span::Range(..) | Span::Whole => (None, Some(from_ms), Some(to_ms)),
    };
    let channels = args.track.len();
    let report = DecodeReport {
        file: name,
        adapter: args.adapter.clone(),
        track: args.track.first().copied().unwrap_or_default(),
        tracks: args.track.clone(),
        at_ms,
        from_ms: report_from,
        to_ms: report_to,
        steps,
        presented,
        output: out_name,
        bytes,
        sample_rate: pcm.map(|(rate, ..)| rate),
        channels: pcm.map(|_| channels),
        samples: pcm.map(|(.., samples)| samples),
        start_sample: pcm.map(|(_, start, _)| start),
        clipped: pcm.map(|_| clipped),
        sample_format: pcm.map(|_| match format {
            SampleFormat::I16 => "s16",
            SampleFormat::F32 => "f32",
        }),
        warnings: said,
    };
    if args.json {
        write_json(out, &report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let what = match (report.at_ms, span) {
        (Some(t), _) => format!("at {t} ms"),
        (None, Span::Whole) => format!("(whole, {from_ms} to {to_ms} ms)"),
        (None, _) => format!("from {from_ms} to {to_ms} ms"),
    };
    let steps = report.steps as u64;
    let presented = report.presented as u64;
    let output = match pcm {
        Some((rate, start, samples)) => {
            let each = if channels > 1 {
                format!(" in each of {channels} channels")
            } else {
                String::new()
            };
            let float = if format == SampleFormat::F32 {
                " as 32-bit floats"
            } else {
                ""
            };
            format!(
                "{presented} block{} output, {samples} samples{each} at {rate} Hz{float} ({:.3} s \
                 from sample {start})",
                plural(presented),
                Pcm::duration(samples, rate)
            )
        }
        // Bytes are every step's, not only the presented blocks'.
        None => format!(
            "all written as opaque bytes in decode order ({presented} block{} presented)",
            plural(presented)
        ),
    };
    let tracks = tracks_phrase(&args.track);
    writeln!(
        out,
        "{}: {tracks} {what} with {}: {steps} step{} decoded, {output}; wrote {bytes} bytes to {}",
        crate::one_line(&report.file),
        report.adapter,
        plural(steps),
        crate::one_line(&report.output)
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `input` as `h4mk salvage` rebuilds it, in memory, after a warning saying what was lost when
/// anything was; refused when nothing is recoverable.
fn salvaged(input: &Input, err: &mut dyn Write, said: &mut Vec<String>) -> Result<Vec<u8>> {
    let name = crate::one_line(&input.name());
    let (bytes, report) = h4mk_mt::salvage(input, Vec::new()).with_context(|| name.clone())?;
    if !report.recovered() {
        bail!("{name}: nothing recoverable to decode");
    }
    if report.is_complete() {
        return Ok(bytes);
    }
    let skipped = report.skipped_bytes;
    let dropped = report.blocks_lost + report.blocks_dropped;
    let text = format!(
        "{name}: damaged; decoding what salvage keeps: {} block{}, {dropped} lost or dropped, \
         {skipped} byte{} skipped",
        report.blocks_kept(),
        plural(report.blocks_kept()),
        plural(skipped)
    );
    say_warning(err, said, text)?;
    Ok(bytes)
}

/// Writes the decodes prepared for each track: bytes as their decoder writes them, audio as the
/// channels of one WAV file, in the order given. Returns how many samples were clipped to 16
/// bits.
fn write(
    decodes: Vec<(u16, Box<dyn NamedDecoder>, Planned<'_>)>,
    format: SampleFormat,
    out: &mut dyn Write,
) -> Result<u64> {
    let mut plans = Vec::with_capacity(decodes.len());
    let mut writers = Vec::with_capacity(decodes.len());
    for (track, decoder, outcome) in decodes {
        plans.push((track, outcome.steps));
        writers.push((decoder, outcome.present, outcome.prepared));
    }
    if let ([(_, steps)], [_]) = (plans.as_slice(), writers.as_slice())
        && let Some((mut decoder, present, prepared)) = writers.pop()
    {
        let Some((sample_rate, _, samples)) = prepared.shape().pcm() else {
            decoder
                .write(steps, present, prepared, out)
                .map_err(|e| crate::adapters_error(e.in_plan(steps)))?;
            return Ok(0);
        };
        // The samples as they come, into a WAV file here, to count those clipped.
        let mut wav = WavWriter::with_format(out, sample_rate, 1, samples, format)?;
        decoder
            .write_samples(steps, present, prepared, &mut |s| wav.push(s))
            .map_err(|e| crate::adapters_error(e.in_plan(steps)))?;
        let clipped = wav.clipped();
        wav.finish()?;
        return Ok(clipped);
    }
    let channels = writers
        .into_iter()
        .zip(&plans)
        .map(|((decoder, present, prepared), (_, steps))| Channel {
            decoder,
            steps,
            present,
            prepared,
        })
        .collect();
    write_wav_channels(channels, format, out)
        .map(|written| written.clipped)
        .map_err(|e| match e {
            h4mk_adapters::Error::InChannel { channel, source } => {
                match plans.get(channel.wrapping_sub(1)) {
                    Some((track, plan)) => crate::adapters_error(source.in_plan(plan))
                        .context(format!("track {track}")),
                    None => anyhow::Error::new(*source),
                }
            }
            other => anyhow::Error::new(other),
        })
}

/// An error about the channels of several tracks, naming the track rather than the channel.
fn in_tracks(tracks: &[u16], e: h4mk_adapters::Error) -> anyhow::Error {
    match e {
        h4mk_adapters::Error::ChannelMismatch {
            what,
            channel,
            value,
            first,
        } => anyhow!(
            "track {} has {what} {value}, track {} has {first}: tracks written as channels must agree",
            tracks
                .get(channel.wrapping_sub(1))
                .copied()
                .unwrap_or_default(),
            tracks.first().copied().unwrap_or_default()
        ),
        other => anyhow::Error::new(other),
    }
}

/// A writer that counts the bytes written through it, on a bar when it has one.
struct Counting<'a> {
    inner: &'a mut dyn Write,
    bytes: u64,
    bar: Option<indicatif::ProgressBar>,
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        if let Some(bar) = &self.bar {
            bar.set_position(self.bytes);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
