//! `h4mk verify`: every CRC and the structure, in one pass over the bytes.
//!
//! The structure is what the multi-track layer checks above the chunks
//! ([`h4mk_mt::Demuxer::verify_with_progress`]): the track list has the version 1 keys, every
//! CORE chunk is a block of a declared track in (pts, track id) order, each track keeps the GOP
//! rules, the stored seek tables match the keyframes, and the index extensions agree with what
//! they point at.
//!
//! One pass over the bytes: the demuxer is opened with CRC checks off (it reads only the head
//! and the index), and its `verify_with_progress` hashes every chunk once, combining the chunk
//! CRCs into the file CRC, while it checks the structure chunk by chunk. When the file cannot
//! be opened as a multi-track file, the CRC pass runs on its own. Either way, a large file gets
//! a progress bar on a terminal.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use h4mk_format::{ContainerRef, Mode, ParseOptions, Verification};
use h4mk_mt::Demuxer;

use crate::EXIT_DAMAGED;
use crate::cmd::{error_chain, plural, write_json};
use crate::input::{Input, distinct_names};
use crate::output::{Progress, is_stdin, progress_bar, stdin_twice};
use crate::report::{Problem, VerifyReport};

/// Check every CRC and the structure of a file.
///
/// Strict by default: the first problem ends the check. With `--lenient`, every problem is
/// reported and the check goes on where the framing allows. Exits 0 only for a file that is
/// entirely sound.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Checks, in this order: the header; every chunk's framing and CRC and the file CRC (one pass
over the bytes); then the structure: a TRAK track list with exactly the version 1 keys, every
CORE block routed to a declared track with a valid type, blocks in (pts, track id) order,
each track starting on an I-block with pts that never go back and no trailing B-block, seek
tables that match the keyframes, and index extensions (XSEK, XLOC) that agree with the blocks.

Several files are checked in turn; with --json their reports come as an array. A file that
cannot be read is an error line, and the others are still checked.

Exit status: 0 when every file is entirely sound, 1 when a problem was found, 2 on bad usage.

Examples:
  h4mk verify song.h4mk
  h4mk verify --lenient --json damaged.h4mk
  h4mk verify *.h4mk")]
pub(crate) struct Args {
    /// The containers to check (`-` for standard input), each in turn.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Report every problem instead of stopping at the first.
    #[arg(long)]
    lenient: bool,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    if args.files.iter().filter(|f| is_stdin(f)).count() > 1 {
        return Err(stdin_twice());
    }
    // Each file in turn: one that cannot be read is an error line, and the rest are checked
    // (`h4mk verify *.h4mk`).
    let mut reports = Vec::with_capacity(args.files.len());
    let mut sound = true;
    // A file whose name another shares goes by the path given.
    let names = distinct_names(args.files.iter().map(PathBuf::as_path), |_, path, _| {
        path.display().to_string()
    });
    for (path, name) in args.files.iter().zip(names) {
        match Input::open_h4mk(path) {
            Ok(input) => {
                let report = VerifyReport {
                    file: name,
                    ..verify(&input, args.lenient)
                };
                sound &= report.ok;
                // Held only for the JSON array: as text, each is printed and dropped.
                if args.json {
                    reports.push(report);
                } else {
                    print_text(out, &report)?;
                }
            }
            Err(e) if args.files.len() > 1 => {
                sound = false;
                let message = crate::one_line(&format!("{e:#}"));
                writeln!(err, "h4mk: error: {message}")?;
                // In the JSON array too, so that it has an entry for every file given.
                if args.json {
                    reports.push(VerifyReport {
                        problems: vec![Problem {
                            check: "read",
                            offset: None,
                            message,
                        }],
                        ..VerifyReport::unread(name)
                    });
                }
            }
            Err(e) => return Err(e),
        }
    }
    if args.json {
        // One file's report as it was; several as an array of them, in the order given.
        match reports.as_slice() {
            [one] if args.files.len() == 1 => write_json(out, one)?,
            _ => write_json(out, &reports)?,
        }
    }
    Ok(if sound {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_DAMAGED)
    })
}

/// A report as text: each problem on a line, then a summary line.
fn print_text(out: &mut dyn Write, report: &VerifyReport) -> Result<()> {
    let file = crate::one_line(&report.file);
    for p in &report.problems {
        writeln!(out, "{file}: {}", p.message)?;
    }
    if report.omitted_problems > 0 {
        let more = report.omitted_problems;
        writeln!(
            out,
            "{}: {more} more problem{} found, not listed (each check lists at most {})",
            file,
            plural(more),
            ParseOptions::default().limits.max_problems
        )?;
    }
    let n = report.problems.len() as u64 + report.omitted_problems;
    if report.ok {
        let tracks = report
            .tracks
            .map(|t| format!(", {t} track{}", plural(t as u64)))
            .unwrap_or_default();
        writeln!(
            out,
            "{}: ok ({} chunks, {} bytes{tracks})",
            file, report.intact_chunks, report.size
        )?;
    } else if report.problems.iter().any(|p| p.check == "header") {
        writeln!(out, "{}: bad header ({n} problem{})", file, plural(n))?;
    } else if report.problems.iter().any(|p| p.check == "crc") {
        writeln!(out, "{}: damaged ({n} problem{})", file, plural(n))?;
    } else {
        writeln!(out, "{}: bad structure ({n} problem{})", file, plural(n))?;
    }
    Ok(())
}

fn verify(input: &Input, lenient: bool) -> VerifyReport {
    let mut report = VerifyReport {
        size: input.len() as u64,
        ..VerifyReport::unread(input.name())
    };
    let file = match ContainerRef::parse_with(input, &ParseOptions::default()) {
        Ok(file) => file,
        // A wrong magic, a header cut short, no room for the file CRC: the file is not read
        // as H4MK at all (these were filed under "crc").
        Err(e) => {
            report.problems.push(Problem {
                check: "header",
                offset: e.offset(),
                message: e.to_string(),
            });
            return report;
        }
    };
    let structure_opts = ParseOptions {
        mode: if lenient { Mode::Lenient } else { Mode::Strict },
        check_crc: false,
        ..ParseOptions::default()
    };
    let bar = progress_bar(report.size, Progress::Bytes);
    let mut progress = |offset| {
        if let Some(bar) = &bar {
            bar.set_position(offset);
        }
    };
    let structure = match Demuxer::open_with(input, &structure_opts) {
        Ok(demux) => {
            let checked = demux.verify_with_progress(&mut progress);
            add_crc(&mut report, &checked.container);
            report.tracks = Some(demux.tracks().len());
            report.index = Some(demux.index_status().to_string());
            report.omitted_problems += checked.omitted_problems;
            checked
                .problems
                .iter()
                .map(|p| Problem {
                    check: "structure",
                    offset: p.offset(),
                    message: p.to_string(),
                })
                .collect()
        }
        Err(e) => {
            let v = file.verify_with_progress(&mut progress);
            add_crc(&mut report, &v);
            vec![Problem {
                check: "structure",
                offset: e.offset(),
                message: error_chain(&e),
            }]
        }
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    // Damage makes structure problems of its own; strict mode reports the damage.
    if lenient || report.problems.is_empty() {
        let mut seen: HashSet<String> = report.problems.iter().map(|p| p.message.clone()).collect();
        for p in structure {
            if seen.insert(p.message.clone()) {
                report.problems.push(p);
            }
        }
    }
    if !lenient {
        report.problems.truncate(1);
        report.omitted_problems = 0;
    }
    report.ok = report.problems.is_empty() && report.omitted_problems == 0;
    report
}

fn add_crc(report: &mut VerifyReport, v: &Verification) {
    report.intact_chunks = v.intact_chunks;
    report.stored_file_crc = Some(v.stored_file_crc);
    report.computed_file_crc = v.computed_file_crc;
    report.omitted_problems += v.omitted_errors;
    report.problems.extend(v.errors.iter().map(|e| Problem {
        check: "crc",
        offset: e.offset(),
        message: e.to_string(),
    }));
}
