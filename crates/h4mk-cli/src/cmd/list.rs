//! `h4mk list`: every block of a file, in file order.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cmd::{UpToCut, open, plural, require_track_or_blocks, say_warning, write_json};
use crate::input::Input;
use crate::report::{BlockReport, ListReport};

/// List every block: payload offset, track, pts, type and opaque size.
///
/// Blocks come in file order, which is (pts, track id) order. Every chunk CRC is checked on
/// the way, and the file CRC at the end; a file cut short inside a chunk (as a crashed writer
/// leaves it) is listed up to that chunk, with a warning.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
The offset is that of the block's CORE payload, as seek tables store it and as `h4mk chain`
prints it; the size is that of the opaque model bytes.

Examples:
  h4mk list song.h4mk
  h4mk list --track 2 multitrack.h4mk
  h4mk list --json song.h4mk")]
pub(crate) struct Args {
    /// The container (`-` for standard input).
    file: PathBuf,
    /// List only the blocks of this track (one the track list leaves out too, when it has
    /// blocks, with a warning).
    #[arg(long, value_name = "N")]
    track: Option<u16>,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    let input = Input::open_h4mk(&args.file)?;
    let demux = open(&input)?;
    if let Some(track) = args.track {
        // An unlisted track's blocks are listed with the warning below.
        require_track_or_blocks(&demux, &input.name(), track)?;
    }
    let wanted = |t: u16| args.track.is_none_or(|w| w == t);
    let declared: BTreeSet<u16> = demux.tracks().iter().map(|t| t.track_id).collect();
    // Tracks of blocks listed that the track list does not declare, and how many blocks.
    let mut undeclared = (BTreeSet::new(), 0u64);
    // A file cut short is listed up to the chunk it was cut in, with a warning.
    let mut walk = UpToCut::new(&demux, &input.name());
    let blocks = walk
        .by_ref()
        .filter(|b| b.as_ref().map_or(true, |b| wanted(b.track)))
        .inspect(|b| {
            if let Ok(b) = b
                && !declared.contains(&b.track)
            {
                undeclared.0.insert(b.track);
                undeclared.1 += 1;
            }
        });
    if args.json {
        let blocks = blocks
            .map(|b| {
                b.map(|b| BlockReport {
                    offset: b.offset,
                    track: b.track,
                    pts_ms: b.ts_ms,
                    kind: b.kind.letter(),
                    size: b.opaque.len(),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| input.name())?;
        let warnings = warn(err, &input, &undeclared, walk.cut)?;
        let report = ListReport {
            file: input.name(),
            track: args.track,
            blocks,
            warnings,
        };
        write_json(out, &report)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{:>12}  {:>5}  {:>10}  type  {:>10}",
        "offset", "track", "pts_ms", "size"
    )?;
    let mut n: u64 = 0;
    for b in blocks {
        let b = b.with_context(|| input.name())?;
        writeln!(
            out,
            "{:>12}  {:>5}  {:>10}  {:<4}  {:>10}",
            b.offset,
            b.track,
            b.ts_ms,
            b.kind.letter(),
            b.opaque.len()
        )?;
        n += 1;
    }
    let name = crate::one_line(&input.name());
    match args.track {
        Some(t) => writeln!(out, "{name}: {n} block{} of track {t}", plural(n))?,
        None => writeln!(out, "{name}: {n} block{}", plural(n))?,
    }
    warn(err, &input, &undeclared, walk.cut)?;
    Ok(ExitCode::SUCCESS)
}

/// Warns, on `err`, of listed blocks whose tracks the track list does not declare, as `info`
/// and `verify` report them (no other command can reach them), and of the chunk a file was
/// cut short in (`cut`, said by [`UpToCut`]). Returns the warnings' texts.
fn warn(
    err: &mut dyn Write,
    input: &Input,
    (tracks, blocks): &(BTreeSet<u16>, u64),
    cut: Option<String>,
) -> Result<Vec<String>> {
    let name = crate::one_line(&input.name());
    let mut said = Vec::new();
    if *blocks > 0 {
        let ids: Vec<String> = tracks.iter().map(u16::to_string).collect();
        let text = format!(
            "{name}: {blocks} block{} of track{} {} that the track list does not declare (h4mk \
             verify says more)",
            plural(*blocks),
            plural(tracks.len() as u64),
            ids.join(", ")
        );
        say_warning(err, &mut said, text)?;
    }
    if let Some(text) = cut {
        say_warning(err, &mut said, text)?;
    }
    Ok(said)
}
