//! `h4mk chain` and `h4mk range`: which blocks to decode, in which order, to show one time or
//! to play a time range (decode rules of docs/FORMAT.md §5).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use h4mk_mt::{DecodeStep, IndexStatus};

use crate::cmd::{check_range, open, parse_ms, plural, require_track, warn_if_rebuilt, write_json};
use crate::input::Input;
use crate::report::{PlanReport, StepReport};

/// The decode chain that shows one track at one time.
///
/// The target is the track's last block with pts <= T. The chain starts at the last I-block at
/// or before it and takes every P-block up to it; B-blocks other than the target are left out,
/// and a B target comes after its forward anchor (the next I or P of the track). No block at or
/// before T, or no I-block at or before the target, gives an empty chain, and the report says
/// which (`empty` in JSON).
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Steps are printed in decode order, each with its type (I, P or B), the offset of its CORE
payload, its pts and the size of its opaque bytes.

Examples:
  h4mk chain --track 1 --t-ms 70 demo.h4mk
  h4mk chain --json --track 1 --t-ms 12345 song.h4mk")]
pub(crate) struct ChainArgs {
    /// The container (`-` for standard input).
    file: PathBuf,
    /// The track.
    #[arg(long, value_name = "N")]
    track: u16,
    /// The time to show, in milliseconds or as [H:]MM:SS[.mmm].
    #[arg(long = "t-ms", value_name = "T", value_parser = parse_ms)]
    t_ms: u32,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

/// The decode plan that presents every block of one track in a time range.
///
/// Every block with FROM <= pts <= TO is decoded, each B-block after its forward anchor,
/// starting from the keyframe its first block needs.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Steps are printed in decode order, each with its type (I, P or B), the offset of its CORE
payload, its pts and the size of its opaque bytes.

A block is placed at its pts only, as the format stores it: a block before FROM whose output
lasts into the span (an audio frame) is not in the plan. `h4mk decode --from-ms` (audio) and
`h4mk remux --from-ms` take it too.

Examples:
  h4mk range --track 1 --from-ms 0 --to-ms 200 demo.h4mk
  h4mk range --json --track 2 --from-ms 1000 --to-ms 2000 multitrack.h4mk")]
pub(crate) struct RangeArgs {
    /// The container (`-` for standard input).
    file: PathBuf,
    /// The track.
    #[arg(long, value_name = "N")]
    track: u16,
    /// The first time to present, in milliseconds or as [H:]MM:SS[.mmm].
    #[arg(long = "from-ms", value_name = "A", value_parser = parse_ms)]
    from_ms: u32,
    /// The last time to present, in milliseconds or as [H:]MM:SS[.mmm] (inclusive).
    #[arg(long = "to-ms", value_name = "B", value_parser = parse_ms)]
    to_ms: u32,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run_chain(
    args: &ChainArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    let input = Input::open_h4mk(&args.file)?;
    let demux = open(&input)?;
    require_track(&demux, &input.name(), args.track)?;
    // Warned before the plan's own error too: a rebuilt index explains it.
    let steps = demux.chain(args.track, args.t_ms);
    let mut warnings = warn_if_rebuilt(&demux, &input, err)?;
    let warned = matches!(demux.index_status(), IndexStatus::Rebuilt { .. });
    let steps = steps.with_context(|| input.name())?;
    // An empty chain has one of two reasons (FORMAT.md §5); a plan of the blocks up to the
    // time, from the track's first, tells them apart.
    let empty = steps
        .is_empty()
        .then(|| match demux.range(args.track, 0, args.t_ms) {
            Err(h4mk_mt::Error::MissingKeyframe {
                offset,
                ts_ms,
                kind,
                ..
            }) => format!(
                "no I-block at or before the {}-block at offset {offset}, pts {ts_ms} ms",
                kind.letter()
            ),
            _ => "no block of the track at or before that time".to_owned(),
        });
    // The plan that explains an empty chain may have rebuilt the index itself.
    if !warned {
        warnings = warn_if_rebuilt(&demux, &input, err)?;
    }
    let report = PlanReport {
        file: input.name(),
        track: args.track,
        t_ms: Some(args.t_ms),
        from_ms: None,
        to_ms: None,
        steps: step_reports(&steps),
        empty,
        warnings,
    };
    let what = format!("at {} ms", args.t_ms);
    print(out, &report, &what, args.json)
}

pub(crate) fn run_range(
    args: &RangeArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    check_range(args.from_ms, args.to_ms)?;
    let input = Input::open_h4mk(&args.file)?;
    let demux = open(&input)?;
    require_track(&demux, &input.name(), args.track)?;
    let steps = demux.range(args.track, args.from_ms, args.to_ms);
    let warnings = warn_if_rebuilt(&demux, &input, err)?;
    let steps = steps.with_context(|| input.name())?;
    let report = PlanReport {
        file: input.name(),
        track: args.track,
        t_ms: None,
        from_ms: Some(args.from_ms),
        to_ms: Some(args.to_ms),
        steps: step_reports(&steps),
        empty: steps
            .is_empty()
            .then(|| "no block of the track in that range".to_owned()),
        warnings,
    };
    let what = format!("from {} to {} ms", args.from_ms, args.to_ms);
    print(out, &report, &what, args.json)
}

fn step_reports(steps: &[DecodeStep<'_>]) -> Vec<StepReport> {
    steps
        .iter()
        .map(|s| StepReport {
            kind: s.kind.letter(),
            offset: s.block.offset,
            pts_ms: s.block.ts_ms,
            size: s.block.opaque.len(),
        })
        .collect()
}

fn print(out: &mut dyn Write, r: &PlanReport, what: &str, json: bool) -> Result<ExitCode> {
    if json {
        write_json(out, r)?;
        return Ok(ExitCode::SUCCESS);
    }
    let n = r.steps.len() as u64;
    let file = crate::one_line(&r.file);
    if let Some(empty) = &r.empty {
        writeln!(
            out,
            "{}: track {} {what}: nothing to decode ({empty})",
            file, r.track
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{}: track {} {what}: {n} step{} in decode order",
        file,
        r.track,
        plural(n)
    )?;
    writeln!(
        out,
        "{:>6}  type  {:>12}  {:>10}  {:>10}",
        "step", "offset", "pts_ms", "size"
    )?;
    for (i, s) in r.steps.iter().enumerate() {
        writeln!(
            out,
            "{:>6}  {:<4}  {:>12}  {:>10}  {:>10}",
            i + 1,
            s.kind,
            s.offset,
            s.pts_ms,
            s.size
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
