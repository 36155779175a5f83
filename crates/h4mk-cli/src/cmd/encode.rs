//! `h4mk encode`: a WAV file into a container of one track (its channels averaged), or of one
//! track per channel (`--split-channels`), through the DSP1 encoder of `h4mk-adapters` and the
//! streaming [`Muxer`].

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use h4mk_adapters::{
    AdapterRegistry, Block, BlockKind, Encoder, EncoderConfig, WavStream, in_presentation_order,
};
use h4mk_gop::MAX_TIMESTAMP_MS;
use h4mk_mt::{MuxOptions, Muxer, Sidecars, TrackSpec};

use crate::UsageError;
use crate::cmd::{
    MAX_CHANNELS, plural, report_sink, say_warning, tracks_phrase, warn_if_extended, write_json,
};
use crate::input::{display_name, open_sequential};
use crate::output::{
    Progress, is_stdin, is_stdout, progress_bar, refuse_input_as_output, write_failed, write_to,
};
use crate::report::EncodeReport;

/// The adapters that encode, and the codec name each writes into the track list.
const ENCODERS: [(&str, &str); 1] = [("dsp", "h4dsp1")];

/// Frames read, encoded and muxed at a time: memory stays flat whatever the input's length.
const PIECE: usize = 1 << 16;

/// Muxes a group of blocks as the encoder gives them (in decode order: an anchor, then the
/// B-blocks before it) in presentation order, as a container holds a track.
fn mux_group<W: Write>(
    mux: &mut Muxer<'_, W>,
    track_id: u16,
    blocks: Vec<Block>,
    tally: &mut Tally,
) -> h4mk_mt::Result<()> {
    for b in in_presentation_order(&blocks) {
        mux.push(track_id, b.ts_ms, b.kind, &b.bytes)?;
        tally.add(b);
    }
    Ok(())
}

/// What went into the container, for the report.
#[derive(Default)]
struct Tally {
    samples: u64,
    keyframes: u64,
    bidirectional: u64,
    last_pts_ms: u32,
    opaque_bytes: u64,
}

impl Tally {
    fn add(&mut self, block: &Block) {
        self.keyframes += u64::from(block.kind == BlockKind::Key);
        self.bidirectional += u64::from(block.kind == BlockKind::Bidirectional);
        self.last_pts_ms = block.ts_ms;
        self.opaque_bytes += block.bytes.len() as u64;
    }
}

/// Encode a WAV file into a new container with one audio track, or one per channel.
///
/// The WAV file's channels are averaged to mono (or, with --split-channels, each kept as a
/// track of its own), cut into DSP1 blocks (docs/ADAPTERS.md §3) and muxed in presentation
/// order. The container is written to a temporary file beside OUT and renamed onto it only once
/// complete.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
The track is {track_id: N, name: NAME, kind: \"audio\", codec: \"h4dsp1\", sample_rate: the
WAV file's, channels: 1}. The encoder's defaults: 1024-sample frames with a 512-sample hop,
the 96 strongest bins per frame, 8 frames per block, a keyframe every 16 blocks, no B-blocks
(--frame-size, --hop, --bins, --frames-per-block, --key-interval, --b-blocks; the track's note
records the first four; docs/ADAPTERS.md §4 gives SNRs by bins per frame). A block spans at
least one frame: frames per block times the hop is at least the frame size. With --b-blocks
B, B B-blocks sit between consecutive anchors; the decoded samples are the same as without
them, bit for bit. With --split-channels, channel k (from 1) becomes track
N + k - 1, named \"NAME chK\"; `h4mk decode --track N,N+1,...` gives the channels back. Only the
dsp adapter encodes.

Examples:
  h4mk encode --adapter dsp song.wav -o song.h4mk
  h4mk encode --adapter dsp --b-blocks 2 --key-interval 8 song.wav -o song.h4mk
  h4mk encode --adapter dsp --bins 192 --frame-size 2048 --hop 1024 song.wav -o song.h4mk
  h4mk encode --adapter dsp --split-channels stereo.wav -o stereo.h4mk
  h4mk encode --adapter dsp --track-id 3 --name voice --locator --json voice.wav -o voice.h4mk")]
pub(crate) struct Args {
    /// The WAV file (integer PCM of 8 to 32 bits or 32- or 64-bit float, any channel count;
    /// `-` for standard input).
    input: PathBuf,
    /// The adapter to encode with: only `dsp` encodes (`null` only decodes).
    #[arg(long, value_name = "NAME")]
    adapter: String,
    /// The container to write (`-` for standard output; a `--json` report then goes to
    /// standard error).
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// The track's id (the first track's, with --split-channels).
    #[arg(long = "track-id", value_name = "N", default_value_t = 1)]
    track_id: u16,
    /// One track per channel of the WAV file, ids from N on, instead of one of their average.
    #[arg(long = "split-channels")]
    split_channels: bool,
    /// The track's name [default: the input's file name without its extension; "audio" for
    /// standard input].
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// A keyframe (I-block) every K blocks.
    #[arg(long = "key-interval", value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    key_interval: Option<u32>,
    /// B-blocks between consecutive anchors (I- or P-blocks).
    #[arg(long = "b-blocks", value_name = "B", value_parser = clap::value_parser!(u32).range(..=1024))]
    b_blocks: Option<u32>,
    /// Samples per STFT frame: even, 16 to 32768 (a larger frame needs a larger hop or more
    /// frames per block) [default: 1024].
    #[arg(long = "frame-size", value_name = "N")]
    frame_size: Option<usize>,
    /// Samples from one frame to the next: divides the frame size, at most half of it
    /// [default: 512].
    #[arg(long, value_name = "H")]
    hop: Option<usize>,
    /// The strongest bins kept per frame: more is larger and closer [default: 96].
    #[arg(long, value_name = "K")]
    bins: Option<usize>,
    /// Frames per block: at least the frame size over the hop, at most 4096 [default: 8].
    #[arg(long = "frames-per-block", value_name = "F")]
    frames_per_block: Option<usize>,
    /// Add an XLOC index locator before the file CRC, so readers find the index in O(1).
    #[arg(long)]
    locator: bool,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    let Some(&(_, codec)) = ENCODERS.iter().find(|(name, _)| *name == args.adapter) else {
        let encoders: Vec<&str> = ENCODERS.iter().map(|(name, _)| *name).collect();
        let known = AdapterRegistry::default()
            .list()
            .any(|(n, _)| n == args.adapter);
        let why = if known {
            "decodes only"
        } else {
            "is not an adapter"
        };
        return Err(UsageError(format!(
            "--adapter {}: {why}; the adapters that encode: {}",
            args.adapter,
            encoders.join(", ")
        ))
        .into());
    };
    if args.key_interval == Some(1) && args.b_blocks.is_some_and(|b| b > 0) {
        return Err(UsageError(
            "--b-blocks with --key-interval 1: every block is a keyframe, so none can be a \
             B-block"
                .to_owned(),
        )
        .into());
    }
    refuse_input_as_output(&args.input, &args.output)?;
    let in_name = display_name(&args.input);
    let reading = || format!("{in_name}: reading WAV");
    let encoding = || format!("{in_name}: encoding");
    let (input, file_len) = open_sequential(&args.input)?;
    let mut wav = WavStream::new(input).with_context(reading)?;
    let sample_rate = wav.sample_rate();
    let defaults = EncoderConfig::default();
    let config = EncoderConfig {
        key_interval: args
            .key_interval
            .map_or(defaults.key_interval, |k| k as usize),
        b_blocks: args.b_blocks.map_or(defaults.b_blocks, |b| b as usize),
        frame_size: args.frame_size.unwrap_or(defaults.frame_size),
        hop: args.hop.unwrap_or(defaults.hop),
        bins_per_frame: args.bins.unwrap_or(defaults.bins_per_frame),
        frames_per_block: args.frames_per_block.unwrap_or(defaults.frames_per_block),
    };
    let lanes = if args.split_channels {
        wav.channels()
    } else {
        1
    };
    if lanes > MAX_CHANNELS {
        return Err(UsageError(format!(
            "--split-channels: {in_name} has {lanes} channels; at most {MAX_CHANNELS} tracks"
        ))
        .into());
    }
    let track_ids: Vec<u16> = (0..lanes)
        .map(|k| {
            u16::try_from(k)
                .ok()
                .and_then(|k| args.track_id.checked_add(k))
        })
        .collect::<Option<_>>()
        .ok_or_else(|| {
            UsageError(format!(
                "--track-id {}: {lanes} tracks from it pass the largest id, 65535",
                args.track_id
            ))
        })?;
    // Settings given on the command line that the encoder refuses are a usage error (exit 2),
    // named by their flags; the defaults fail only for the input's rate (exit 1, below).
    let given = [
        args.frame_size.map(|_| "--frame-size"),
        args.hop.map(|_| "--hop"),
        args.bins.map(|_| "--bins"),
        args.frames_per_block.map(|_| "--frames-per-block"),
    ];
    let given: Vec<&str> = given.into_iter().flatten().collect();
    // The encoder keeps all a frame has for more bins, but the track's note would record
    // the number asked for.
    let has = config.frame_size / 2 + 1;
    if args.bins.is_some_and(|b| b > has) && config.frame_size.is_multiple_of(2) {
        return Err(UsageError(format!(
            "--bins {}: a frame of {} samples has {has} bins",
            config.bins_per_frame, config.frame_size
        ))
        .into());
    }
    if !given.is_empty()
        && let Err(e) = config.validate(sample_rate)
    {
        return Err(UsageError(format!("{}: {e}", given.join(", "))).into());
    }
    let mut encoders = (0..lanes)
        .map(|_| Encoder::new(sample_rate, &config))
        .collect::<h4mk_adapters::Result<Vec<_>>>()
        .with_context(encoding)?;
    let too_long = |samples: u64, at_least: &str| {
        anyhow!(
            "{in_name}: {at_least}{:.1} hours of audio at {sample_rate} Hz; a track's blocks must start by {MAX_TIMESTAMP_MS} ms (74.6 hours)",
            samples as f64 / f64::from(sample_rate) / 3600.0,
        )
    };
    // Checked before writing, so that nothing goes out, to standard output either: a file
    // shorter than its data chunk, and one too long for the container's timestamps. Either is
    // read to its end first, as the whole file was read before streaming, so that what is
    // wrong with its samples (a file cut short) comes first. A stream of unknown length is
    // checked as it goes.
    let cut_short = file_len
        .zip(wav.declared_end())
        .is_some_and(|(len, end)| end > len);
    let declared = wav.declared_samples();
    let too_long_declared = declared.is_some_and(|samples| {
        config
            .last_block_ms(samples, sample_rate)
            .is_some_and(|ms| ms > u64::from(MAX_TIMESTAMP_MS))
    });
    if cut_short || too_long_declared {
        let mut scratch = Vec::with_capacity(PIECE);
        while wav.read(&mut scratch, PIECE).with_context(reading)? > 0 {
            scratch.clear();
        }
        if let Some(samples) = declared
            && too_long_declared
        {
            return Err(too_long(samples, ""));
        }
        bail!("{in_name}: reading WAV: the file ends before its data chunk does");
    }
    // A piece of each track's samples: the channels averaged, or each channel.
    let mut pieces: Vec<Vec<f32>> = (0..lanes).map(|_| Vec::with_capacity(PIECE)).collect();
    let mut read = |pieces: &mut [Vec<f32>]| -> Result<usize> {
        pieces.iter_mut().for_each(Vec::clear);
        let frames = match pieces {
            [mixed] if !args.split_channels => wav.read(mixed, PIECE),
            channels => wav.read_channels(channels, PIECE),
        };
        frames.with_context(reading)
    };
    let first = read(&mut pieces)?;
    if first == 0 {
        bail!("{in_name}: no samples to encode");
    }
    // The first piece is encoded before anything is written: a sample in it that is not a
    // number leaves standard output untouched too.
    let mut tally = Tally {
        samples: first as u64,
        ..Tally::default()
    };
    let encode_piece = |encoders: &mut [Encoder], pieces: &[Vec<f32>]| {
        encoders
            .iter_mut()
            .zip(pieces)
            .map(|(e, piece)| e.push(piece))
            .collect::<h4mk_adapters::Result<Vec<_>>>()
            .with_context(encoding)
    };
    let mut blocks = encode_piece(&mut encoders, &pieces)?;

    let track_name = args.name.clone().unwrap_or_else(|| {
        args.input
            .file_stem()
            .filter(|_| !is_stdin(&args.input))
            .map_or_else(|| "audio".to_owned(), |s| s.to_string_lossy().into_owned())
    });
    let tracks = track_ids
        .iter()
        .zip(1..)
        .map(|(&track_id, k)| TrackSpec {
            track_id,
            name: if args.split_channels {
                format!("{track_name} ch{k}")
            } else {
                track_name.clone()
            },
            kind: "audio".to_owned(),
            codec: codec.to_owned(),
            sample_rate,
            channels: 1,
            note: format!(
                "DSP1: {}-sample frames, hop {}, {} bins per frame, {} frames per block",
                config.frame_size, config.hop, config.bins_per_frame, config.frames_per_block
            ),
        })
        .collect();
    let opts = MuxOptions {
        index_locator: args.locator,
        ..MuxOptions::default()
    };
    let out_name = display_name(&args.output);
    let summary = write_to(&args.output, out, |w| {
        let mut mux = Muxer::new(w, tracks, &Sidecars::default(), opts)
            .map_err(|e| write_failed(&args.output, e))?;
        // Each track's blocks of a piece, the tracks in turn: the muxer holds one track's
        // until the others' reach their pts.
        let mut put = |groups: Vec<Vec<Block>>, tally: &mut Tally| -> Result<()> {
            if groups.iter().flatten().any(|b| b.ts_ms > MAX_TIMESTAMP_MS) {
                return Err(too_long(tally.samples, "at least "));
            }
            for (&track_id, blocks) in track_ids.iter().zip(groups) {
                mux_group(&mut mux, track_id, blocks, tally)
                    .map_err(|e| write_failed(&args.output, e))?;
            }
            Ok(())
        };
        let bar = declared.and_then(|n| progress_bar(n, Progress::Samples(sample_rate)));
        loop {
            put(blocks, &mut tally)?;
            let frames = read(&mut pieces)?;
            if frames == 0 {
                break;
            }
            tally.samples += frames as u64;
            if let Some(bar) = &bar {
                bar.set_position(tally.samples);
            }
            blocks = encode_piece(&mut encoders, &pieces)?;
        }
        drop(bar);
        let last = encoders
            .into_iter()
            .map(Encoder::finish)
            .collect::<h4mk_adapters::Result<Vec<_>>>()
            .with_context(encoding)?;
        put(last, &mut tally)?;
        let (_, summary) = mux.finish().map_err(|e| write_failed(&args.output, e))?;
        Ok(summary)
    })?;
    let mut said = Vec::new();
    if let Some(at) = wav.later_data_chunk() {
        // Only the first data chunk's samples are read, as other readers read them.
        let text = format!(
            "{}: a second data chunk at offset {at} is not read: only the first one's samples \
             are encoded",
            crate::one_line(&in_name)
        );
        say_warning(err, &mut said, text)?;
    }
    said.extend(warn_if_extended(err, &out_name, summary.index.ext_tables)?);
    let Some(out) = report_sink(is_stdout(&args.output), args.json, out, err) else {
        return Ok(ExitCode::SUCCESS);
    };
    let report = EncodeReport {
        input: in_name,
        file: out_name,
        adapter: args.adapter.clone(),
        track_id: args.track_id,
        tracks: track_ids.clone(),
        codec: codec.to_owned(),
        sample_rate,
        samples: tally.samples,
        duration_ms: tally.samples * 1000 / u64::from(sample_rate),
        blocks: summary.blocks,
        keyframes: tally.keyframes,
        bidirectional: tally.bidirectional,
        last_pts_ms: tally.last_pts_ms,
        opaque_bytes: tally.opaque_bytes,
        size: summary.file_len,
        encoder: config,
        locator_offset: summary.index.locator,
        warnings: said,
    };
    if args.json {
        write_json(out, &report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let seconds = tally.samples as f64 / f64::from(sample_rate);
    writeln!(
        out,
        "wrote {}: {} ({}), {} block{} ({} keyframe{}, {} B-block{}), {seconds:.3} s at {} Hz, {} bytes ({:.1} kbit/s)",
        crate::one_line(&report.file),
        tracks_phrase(&report.tracks),
        report.codec,
        report.blocks,
        plural(report.blocks),
        report.keyframes,
        plural(report.keyframes),
        report.bidirectional,
        plural(report.bidirectional),
        report.sample_rate,
        report.size,
        report.size as f64 * 8.0 / seconds / 1000.0
    )?;
    Ok(ExitCode::SUCCESS)
}
