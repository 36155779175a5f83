//! `h4mk remux`: tracks of one or more containers copied into a new one, whole or cut to a
//! time range, through [`h4mk_mt::remux()`]: no block is decoded or changed, each input is
//! read once, and the output is written as it is read.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use h4mk_mt::{Demuxer, MuxOptions, Pick, RemuxOptions};

use crate::UsageError;
use crate::cmd::{
    ContainerOutput, Sidecar, check_range, parse_ms, plural, require_track, say_warning,
    warn_if_rebuilt,
};
use crate::input::{Input, display_name, distinct_names};
use crate::output::{is_stdin, refuse_input_as_output, stdin_twice, write_failed, write_to};

/// Copy tracks of one or more containers into a new one, whole or cut to a time range.
///
/// No block is decoded or changed. The file is written to a temporary file beside OUT and
/// renamed onto it only once complete: a failed remux leaves no file behind.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Tracks: without --map, every track of every input, in the order given, each under its own
  id (two inputs with the same track id need --map). --map IN:ID takes track ID of input IN
  (inputs count from 0, in the order given), --map IN:ID=NEW gives it id NEW in the new
  file; the new file lists its tracks in --map order, and a track may be taken twice under
  two ids.
Cutting: --from-ms A and --to-ms B (either may be left out: 0, and the end) keep, of each
  track, the blocks that present every pts from A to B (as `h4mk range` plans them), from
  the block just before A and the one before that (an audio decode of the span renders
  both: their samples overlap) with what they need, and every block between:
  a run from a keyframe, so the new file decodes that span, from its first sample, as the
  old one does. A span inside one block keeps that block (what `h4mk chain` shows at A)
  when the track goes on after it; a track that ends before A keeps nothing. Blocks keep
  their pts (--start-at-zero moves them all earlier by the lowest one kept, so the new
  file starts at 0 ms, as mkvmerge and ffmpeg cut, and decodes to the same samples that
  much earlier: decode places blocks by pts); a track with no block by B, or no keyframe
  at all, is kept with none. A cut reads the span, to the first block of each picked
  track after it (to the end of the file for a track with keyframes but none after it, or
  a cut open to the end), every chunk CRC on the way checked; without a cut, every input
  is read whole, its file CRC checked too.
  Each input must be in pts order, as the reference writes it (h4mk verify says when one
  is not).
Sidecars (META, SAFE, VERI, NOTE) are those of input 0, or of the input --sidecars-from
  names, and so is the header's creation time. --sidecar NAME=FILE stores FILE's bytes as
  they are as that sidecar instead (h4mk extract --sidecar NAME writes them out to edit:
  a cut keeps the input's META, whatever duration it states), and --drop-sidecar NAME
  leaves it out.
GOP rules: a whole remux copies blocks as the inputs hold them, GOP rules or not (the
  reference writes tracks that open on a P-block or end on a B-block; h4mk verify reports
  them); a cut plans from keyframes, and refuses a span of such a track that has none, or
  a B-block whose forward anchor is not there.
Chunks of tags h4mk does not read are left out: with a warning by a whole remux; a cut
  keeps none, whatever it reads.
Without --locator, the new file is what the Python reference would write: every track of
  one file remuxed whole is that file again, byte for byte (but for chunks of other tags).

Examples:
  h4mk remux song.h4mk --map 0:2 -o captions.h4mk
  h4mk remux music.h4mk voice.h4mk --map 0:1 --map 1:1=2 -o both.h4mk
  h4mk remux --from-ms 60000 --to-ms 120000 song.h4mk -o minute2.h4mk
  h4mk remux --from-ms 60000 --to-ms 120000 --start-at-zero song.h4mk -o minute2.h4mk
  h4mk remux song.h4mk --sidecar meta=meta.json --drop-sidecar note -o retagged.h4mk")]
pub(crate) struct Args {
    /// The containers to read, numbered from 0 in this order (`-` for standard input, once).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// A track to take: track ID of input IN, as track NEW if given; repeat for more.
    #[arg(long = "map", value_name = "IN:ID[=NEW]", value_parser = parse_pick)]
    map: Vec<Pick>,
    /// Keep each track from the block just before this time (and the keyframe it needs), in
    /// milliseconds or as [H:]MM:SS[.mmm].
    #[arg(long = "from-ms", value_name = "A", value_parser = parse_ms)]
    from_ms: Option<u32>,
    /// Keep each track up to what presenting this time needs, in milliseconds or as
    /// [H:]MM:SS[.mmm] (inclusive).
    #[arg(long = "to-ms", value_name = "B", value_parser = parse_ms)]
    to_ms: Option<u32>,
    /// Move every block earlier by the lowest pts kept, so the new file starts at 0 ms (the
    /// tracks keep their offsets to one another).
    #[arg(long = "start-at-zero")]
    start_at_zero: bool,
    /// The input whose sidecars the new file carries.
    #[arg(long = "sidecars-from", value_name = "IN", default_value_t = 0)]
    sidecars_from: usize,
    /// Store FILE's bytes as sidecar NAME (meta, safe, veri or note); repeat for more.
    #[arg(long = "sidecar", value_name = "NAME=FILE", value_parser = parse_sidecar_file)]
    sidecar: Vec<(Sidecar, PathBuf)>,
    /// Leave sidecar NAME out; repeat for more.
    #[arg(long = "drop-sidecar", value_name = "NAME", value_enum)]
    drop_sidecar: Vec<Sidecar>,
    #[command(flatten)]
    out: ContainerOutput,
}

/// Reads `NAME=FILE`.
fn parse_sidecar_file(text: &str) -> Result<(Sidecar, PathBuf), String> {
    let (name, file) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not NAME=FILE (say meta=meta.json)"))?;
    let sidecar = <Sidecar as clap::ValueEnum>::from_str(name, true)
        .map_err(|_| format!("`{text}`: `{name}` is not meta, safe, veri or note"))?;
    if file.is_empty() {
        return Err(format!("`{text}`: no file after `=`"));
    }
    Ok((sidecar, PathBuf::from(file)))
}

/// Reads `IN:ID` or `IN:ID=NEW`.
fn parse_pick(text: &str) -> Result<Pick, String> {
    let (source, new) = match text.split_once('=') {
        Some((source, new)) => (source, Some(new)),
        None => (text, None),
    };
    let (input, track) = source
        .split_once(':')
        .ok_or_else(|| format!("`{text}` is not IN:ID or IN:ID=NEW (say 0:1 or 1:1=2)"))?;
    let number = |what: &str, s: &str| {
        s.parse::<u16>()
            .map_err(|_| format!("`{text}`: {what} `{s}` is not a number from 0 to 65535"))
    };
    let track = number("track", track)?;
    Ok(Pick {
        input: number("input", input)?.into(),
        track,
        as_track: new.map_or(Ok(track), |n| number("new id", n))?,
    })
}

pub(crate) fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    let span = match (args.from_ms, args.to_ms) {
        (None, None) => None,
        (from, to) => {
            let span = (from.unwrap_or(0), to.unwrap_or(u32::MAX));
            check_range(span.0, span.1)?;
            Some(span)
        }
    };
    let count = args.files.len();
    let check_input = |flag: String, input: usize| {
        if input >= count {
            let have = match count {
                1 => "there is one input, 0".to_owned(),
                n => format!("the inputs are 0 to {}", n - 1),
            };
            return Err(UsageError(format!(
                "{flag}: there is no input {input}; {have}"
            )));
        }
        Ok(())
    };
    for pick in &args.map {
        check_input(format!("--map {}", show(pick)), pick.input)?;
    }
    check_input(
        format!("--sidecars-from {}", args.sidecars_from),
        args.sidecars_from,
    )?;
    for file in &args.files {
        refuse_input_as_output(file, &args.out.output)?;
    }
    let mut named = HashSet::new();
    let tags = args
        .sidecar
        .iter()
        .map(|(s, _)| s)
        .chain(&args.drop_sidecar);
    for tag in tags.map(|s| s.tag()) {
        if !named.insert(tag) {
            return Err(UsageError(format!(
                "sidecar {tag} is named twice by --sidecar or --drop-sidecar"
            ))
            .into());
        }
    }
    if args
        .files
        .iter()
        .chain(args.sidecar.iter().map(|(_, f)| f))
        .filter(|f| is_stdin(f))
        .count()
        > 1
    {
        return Err(stdin_twice());
    }
    // Read before any input is opened or output made: a file that cannot be read is the
    // command's first error. A pipe is read to one byte past what a chunk can carry, which
    // the writer then refuses: a FIFO fed from /dev/zero is not read until memory runs out.
    let replaced = args
        .sidecar
        .iter()
        .map(|(sidecar, file)| {
            Input::open_at_most(file, u64::from(u32::MAX))
                .map(|bytes| (*sidecar, bytes))
                .with_context(|| format!("--sidecar {}", sidecar.tag()))
        })
        .collect::<Result<Vec<_>>>()?;
    let inputs = args
        .files
        .iter()
        .map(|f| Input::open_h4mk(f))
        .collect::<Result<Vec<_>>>()?;
    // Each file's name, followed by its number when another input has the same name.
    let names = distinct_names(inputs.iter().map(Input::path), |i, _, name| {
        format!("{name} (input {i})")
    });
    let demuxers = inputs
        .iter()
        .zip(&names)
        .map(|(input, name)| Demuxer::open(input).with_context(|| name.clone()))
        .collect::<Result<Vec<_>>>()?;
    let picks = if args.map.is_empty() {
        every_track(&demuxers)
    } else {
        args.map.clone()
    };
    for pick in &picks {
        if let (Some(demux), Some(name)) = (demuxers.get(pick.input), names.get(pick.input)) {
            require_track(demux, name, pick.track)?;
        }
    }
    refuse_repeated_ids(&picks, &names, args.map.is_empty())?;
    let main = demuxers.get(args.sidecars_from);
    let mut sidecars = main.map(Demuxer::sidecars).unwrap_or_default();
    let replacing = replaced.iter().map(|(s, bytes)| (s, Some(&bytes[..])));
    for (sidecar, bytes) in replacing.chain(args.drop_sidecar.iter().map(|s| (s, None))) {
        if let Some(slot) = sidecars.slot_mut(sidecar.tag()) {
            *slot = bytes;
        }
    }
    let summary = write_to(&args.out.output, out, |w| {
        h4mk_mt::remux(
            w,
            &demuxers,
            &picks,
            &sidecars,
            RemuxOptions {
                span,
                start_at_zero: args.start_at_zero,
                mux: MuxOptions {
                    // The file's creation time goes with its sidecars.
                    timestamp_ms: main.map_or(0, |d| d.header().timestamp_ms),
                    ..args.out.mux_options()
                },
            },
        )
        .map(|(_, summary)| summary)
        .map_err(|e| match e {
            h4mk_mt::Error::InInput { input, source } => {
                let name = names.get(input).cloned().unwrap_or_default();
                anyhow::Error::new(*source).context(name)
            }
            e => write_failed(&args.out.output, e),
        })
    })?;
    let mut said = Vec::new();
    for (demux, input) in demuxers.iter().zip(&inputs) {
        said.extend(warn_if_rebuilt(demux, input, err)?);
    }
    // Chunks of tags h4mk does not know have no place in the new file: they are left out,
    // as mkvmerge leaves out elements it does not know, but no longer without a word.
    for (input, unknown) in &summary.unknown_chunks {
        let name = crate::one_line(names.get(*input).map_or("", String::as_str));
        let n = unknown.count;
        let first = match unknown.first {
            Some((tag, offset)) if n == 1 => format!(" ({tag} at offset {offset})"),
            Some((tag, offset)) => format!(" (the first, {tag}, at offset {offset})"),
            None => String::new(),
        };
        let text = format!(
            "{name}: {n} chunk{} of a tag h4mk does not read left out{first}",
            plural(n)
        );
        say_warning(err, &mut said, text)?;
    }
    // A cut that keeps nothing of a track with keyframes (a span past its end, say) used to
    // say nothing, and the file written looked like any other. The written tracks are the
    // picks, in order.
    if let Some((from_ms, to_ms)) = span {
        let to = if to_ms == u32::MAX {
            "the end".to_owned()
        } else {
            format!("{to_ms} ms")
        };
        let had_keyframes = |pick: &Pick| {
            demuxers
                .get(pick.input)
                .and_then(|d| d.index().track(pick.track))
                .is_some_and(|t| t.lookup(u32::MAX).is_some())
        };
        let emptied = summary.written.tracks.iter().zip(&picks);
        for (t, _) in emptied.filter(|(t, pick)| t.blocks == 0 && had_keyframes(pick)) {
            let text = format!(
                "{}: track {} keeps no block from {from_ms} ms to {to}",
                crate::one_line(&display_name(&args.out.output)),
                t.track_id
            );
            say_warning(err, &mut said, text)?;
        }
    }
    let shifted_ms = args.start_at_zero.then_some(summary.shifted_ms);
    args.out
        .report(out, err, &summary.written, shifted_ms, said)
}

/// Every track of every input, in order, under its own id.
fn every_track(demuxers: &[Demuxer<'_>]) -> Vec<Pick> {
    demuxers
        .iter()
        .enumerate()
        .flat_map(|(input, d)| {
            d.tracks().iter().map(move |t| Pick {
                input,
                track: t.track_id,
                as_track: t.track_id,
            })
        })
        .collect()
}

/// Refuses two picks with the same id in the new file as bad usage, saying how to part them.
fn refuse_repeated_ids(picks: &[Pick], names: &[String], all: bool) -> Result<()> {
    let mut taken: HashMap<u16, &Pick> = HashMap::with_capacity(picks.len());
    for pick in picks {
        let Some(first) = taken.insert(pick.as_track, pick) else {
            continue;
        };
        let message = if all {
            let name = |p: &Pick| names.get(p.input).cloned().unwrap_or_default();
            let ids: std::collections::HashSet<u16> = picks.iter().map(|p| p.as_track).collect();
            let example = match (1..=u16::MAX).chain([0]).find(|id| !ids.contains(id)) {
                Some(free) => format!(" (--map {}:{}={free})", pick.input, pick.track),
                None => String::new(),
            };
            format!(
                "{} and {} both have track {}: take the tracks with --map, giving one a new \
                 id{example}",
                name(first),
                name(pick),
                pick.as_track,
            )
        } else {
            format!(
                "--map {} and --map {} both make track {}: give one a new id (IN:ID=NEW)",
                show(first),
                show(pick),
                pick.as_track
            )
        };
        return Err(UsageError(message).into());
    }
    Ok(())
}

/// A pick as `--map` reads it.
fn show(pick: &Pick) -> String {
    if pick.as_track == pick.track {
        format!("{}:{}", pick.input, pick.track)
    } else {
        format!("{}:{}={}", pick.input, pick.track, pick.as_track)
    }
}
