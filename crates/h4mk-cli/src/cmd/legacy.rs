//! The original Python CLI's commands, `mt_build`, `mt_list` and `mt_chain`, under their own
//! names and flags, printing the lines the original printed, so scripts written against it
//! keep working.
//!
//! One difference is on purpose: `mt_chain` plans by the decode rules of docs/FORMAT.md §5, so
//! where B-blocks are involved it lists the forward anchor a B-block needs and leaves out
//! B-blocks the target does not need (the original listed every block from the keyframe to
//! the time, in file order). Errors print the original's messages on standard error, exit 1.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use h4mk_mt::{BlockRef, Demuxer, MuxOptions};

use crate::cmd::error_chain;
use crate::input::Input;
use crate::output::write_to;

/// Write the demo container (the original's `mt_build`).
///
/// Two tracks ("main" audio, "safety" audit), five blocks of track 1 (I P B P I at 0, 33, 66,
/// 99 and 333 ms) and META and SAFE sidecars: the bytes of fixtures/reference/demo.h4mk.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Prints `Wrote N bytes to PATH`. `h4mk build --demo -o PATH` writes the same file.

Examples:
  h4mk mt_build
  h4mk mt_build --out /tmp/demo.h4mk")]
pub(crate) struct BuildArgs {
    /// Where to write the container.
    #[arg(long, value_name = "PATH", default_value = "demo_multitrack.h4mk")]
    out: PathBuf,
}

/// List tracks and blocks (the original's `mt_list`).
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Prints a TRACKS section (id, name, kind, codec, channels, sample rate, note) and a CORE BLOCKS
section with one line per block in file order: `[idx=OFFSET] track=ID t=PTSms TYPE (SIZEB)`,
where OFFSET is the offset of the block's CORE payload. `h4mk info` and `h4mk list` say more.

Examples:
  h4mk mt_list --in demo_multitrack.h4mk")]
pub(crate) struct ListArgs {
    /// The container.
    #[arg(long = "in", value_name = "PATH")]
    input: PathBuf,
}

/// Print the decode chain for one time (the original's `mt_chain`).
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Prints `Decode chain for track=N t=Tms:` and then one `  -> chunk_index=OFFSET` line per
step in decode order (OFFSET is that of the block's CORE payload), or `  (empty)`. The chain
follows docs/FORMAT.md §5: a B-block comes after its forward anchor. `h4mk chain` says more.

Examples:
  h4mk mt_chain --in demo_multitrack.h4mk --track 1 --t_ms 70")]
pub(crate) struct ChainArgs {
    /// The container.
    #[arg(long = "in", value_name = "PATH")]
    input: PathBuf,
    /// The track.
    #[arg(long, value_name = "N")]
    track: u16,
    /// The time to show, in milliseconds.
    #[arg(long = "t_ms", value_name = "T")]
    t_ms: u32,
}

pub(crate) fn run_build(
    args: &BuildArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    let written = write_to(&args.out, out, |w| {
        Ok(crate::demo::write(w, MuxOptions::default())?)
    });
    match written {
        Ok(summary) => {
            writeln!(
                out,
                "Wrote {} bytes to {}",
                summary.file_len,
                args.out.display()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            writeln!(err, "Error: {e:#}")?;
            Ok(ExitCode::from(1))
        }
    }
}

pub(crate) fn run_list(
    args: &ListArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    let Some(input) = open(&args.input, "Error reading tracks", err)? else {
        return Ok(ExitCode::from(1));
    };
    let read = Demuxer::open(&input).and_then(|d| {
        let blocks = d.blocks().collect::<h4mk_mt::Result<Vec<BlockRef<'_>>>>()?;
        Ok((d, blocks))
    });
    let (demux, blocks) = match read {
        Ok(read) => read,
        Err(e) => {
            writeln!(err, "Error reading tracks: {}", error_chain(&e))?;
            return Ok(ExitCode::from(1));
        }
    };
    writeln!(out, "\n=== TRACKS ===")?;
    for t in demux.tracks() {
        writeln!(out, "  [{}] {}", t.track_id, t.name)?;
        writeln!(out, "      kind={}, codec={}", t.kind, t.codec)?;
        writeln!(out, "      {}ch @ {}Hz", t.channels, t.sample_rate)?;
        if !t.note.is_empty() {
            writeln!(out, "      note: {}", t.note)?;
        }
    }
    writeln!(out, "\n=== CORE BLOCKS ===")?;
    for b in &blocks {
        writeln!(
            out,
            "  [idx={}] track={} t={}ms {} ({}B)",
            b.offset,
            b.track,
            b.ts_ms,
            b.kind.letter(),
            b.opaque.len()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run_chain(
    args: &ChainArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    let Some(input) = open(&args.input, "Error computing chain", err)? else {
        return Ok(ExitCode::from(1));
    };
    let steps = match Demuxer::open(&input).and_then(|d| d.chain(args.track, args.t_ms)) {
        Ok(steps) => steps,
        Err(e) => {
            writeln!(err, "Error computing chain: {}", error_chain(&e))?;
            return Ok(ExitCode::from(1));
        }
    };
    writeln!(
        out,
        "Decode chain for track={} t={}ms:",
        args.track, args.t_ms
    )?;
    if steps.is_empty() {
        writeln!(out, "  (empty)")?;
    }
    for s in &steps {
        writeln!(out, "  -> chunk_index={}", s.block.offset)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens `path`, printing the original's messages when there is no such file or it cannot be
/// read (`what` says what the command was doing).
fn open(path: &Path, what: &str, err: &mut dyn Write) -> Result<Option<Input>> {
    if !path.exists() {
        writeln!(err, "Error: file not found: {}", path.display())?;
        return Ok(None);
    }
    match Input::open(path) {
        Ok(input) => Ok(Some(input)),
        Err(e) => {
            writeln!(err, "{what}: {e:#}")?;
            Ok(None)
        }
    }
}
