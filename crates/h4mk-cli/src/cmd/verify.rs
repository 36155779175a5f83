//! `h4mk verify`: every CRC in one pass, then the structure.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use h4mk_format::{ContainerRef, Error, ParseOptions};

use crate::EXIT_DAMAGED;
use crate::input::Input;
use crate::report::{Problem, VerifyReport};

/// Files at least this large get a progress bar when standard error is a terminal.
const PROGRESS_MIN_BYTES: u64 = 64 << 20;

/// Check every CRC and the structure of a file.
///
/// Strict by default: the first problem ends the check. With `--lenient`, every problem is
/// reported and the check goes on where the framing allows. Exits 0 only for a file that is
/// entirely sound.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  h4mk verify song.h4mk\n  h4mk verify --lenient --json damaged.h4mk"
)]
pub(crate) struct Args {
    /// The container to check (`-` for standard input).
    file: PathBuf,
    /// Report every problem instead of stopping at the first.
    #[arg(long)]
    lenient: bool,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &Args, out: &mut dyn Write, _err: &mut dyn Write) -> Result<ExitCode> {
    let input = Input::open(&args.file)?;
    let report = verify(&input, args.lenient);
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        for p in &report.problems {
            writeln!(out, "{}: {}", report.file, p.message)?;
        }
        if report.ok {
            writeln!(
                out,
                "{}: ok ({} chunks, {} bytes)",
                report.file, report.intact_chunks, report.size
            )?;
        } else {
            let n = report.problems.len();
            writeln!(
                out,
                "{}: damaged ({n} problem{})",
                report.file,
                if n == 1 { "" } else { "s" }
            )?;
        }
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_DAMAGED)
    })
}

fn verify(input: &Input, lenient: bool) -> VerifyReport {
    let size = input.len() as u64;
    let mut report = VerifyReport {
        file: input.name(),
        size,
        ok: false,
        intact_chunks: 0,
        stored_file_crc: None,
        computed_file_crc: None,
        problems: Vec::new(),
    };
    let file = match ContainerRef::parse_with(input, &ParseOptions::default()) {
        Ok(file) => file,
        Err(e) => {
            report.problems.push(problem(&e));
            return report;
        }
    };
    let bar = progress_bar(size);
    let v = file.verify_with_progress(&mut |offset| {
        if let Some(bar) = &bar {
            bar.set_position(offset);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    report.intact_chunks = v.intact_chunks;
    report.stored_file_crc = Some(v.stored_file_crc);
    report.computed_file_crc = v.computed_file_crc;
    let keep = if lenient { v.errors.len() } else { 1 };
    report
        .problems
        .extend(v.errors.iter().take(keep).map(problem));
    report.ok = report.problems.is_empty();
    report
}

fn problem(e: &Error) -> Problem {
    Problem {
        offset: e.offset(),
        message: e.to_string(),
    }
}

fn progress_bar(size: u64) -> Option<indicatif::ProgressBar> {
    if size < PROGRESS_MIN_BYTES || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}
