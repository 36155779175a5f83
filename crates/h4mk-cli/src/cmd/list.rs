//! `h4mk list`: every block of a file, in file order.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cmd::{open, plural, require_track, write_json};
use crate::input::Input;
use crate::report::{BlockReport, ListReport};

/// List every block: payload offset, track, pts, type and opaque size.
///
/// Blocks come in file order, which is (pts, track id) order. Every chunk CRC is checked on
/// the way, and the file CRC at the end.
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
    /// List only the blocks of this track.
    #[arg(long, value_name = "N")]
    track: Option<u16>,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &Args, out: &mut dyn Write) -> Result<ExitCode> {
    let input = Input::open_h4mk(&args.file)?;
    let demux = open(&input)?;
    if let Some(track) = args.track {
        require_track(&demux, &input.name(), track)?;
    }
    let wanted = |t: u16| args.track.is_none_or(|w| w == t);
    let blocks = demux
        .blocks()
        .filter(|b| b.as_ref().map_or(true, |b| wanted(b.track)));
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
        let report = ListReport {
            file: input.name(),
            track: args.track,
            blocks,
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
    Ok(ExitCode::SUCCESS)
}
