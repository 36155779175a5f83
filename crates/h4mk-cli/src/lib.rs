//! The `h4mk` command as a library: [`run`] parses arguments, runs one command and writes to
//! the output and error streams it is handed, so tests call it in-process.
//!
//! This is the top layer: it depends on the `h4mk-*` crates below it and is the only one that
//! touches the file system (memory-mapped inputs in [`input`], atomic outputs in [`output`]).
//!
//! The commands (`h4mk help COMMAND` shows each one's flags and examples):
//! - `info`, `list`, `chain`, `range`: what a file holds, every block, and decode plans, read
//!   through [`h4mk_mt::Demuxer`];
//! - `verify`: every CRC in one pass, then the multi-track structure; exit 0 only for a sound
//!   file;
//! - `extract`: a track's blocks (one file each, or a length-prefixed stream) or a sidecar;
//! - `build`: a container from a JSON manifest (see the crate's README), or the demo file;
//! - `remux`: tracks of one or more containers into a new one, chosen, renumbered and cut to
//!   a time range, through [`h4mk_mt::remux()`];
//! - `decode`: a track, a time or a time range through a model adapter of `h4mk-adapters`
//!   (`null`: the blocks' bytes; `dsp`: WAV);
//! - `encode`: a WAV file into a container of DSP1 blocks, one track or one per channel;
//! - `salvage`: every intact chunk of a damaged or truncated file, rebuilt into a container
//!   that passes `verify` (when the input's track list and block order do), with a report of
//!   what was kept and what was lost;
//! - `mt_build`, `mt_list`, `mt_chain`: the original Python CLI's commands and output lines.
//!
//! Every reporting command but the original's (`mt_*`) takes `--json`, printed from the serde
//! types in [`report`]. Every file written goes through [`output::AtomicFile`]. Errors are one
//! line, `h4mk: error: FILE: what is wrong at which offset`, with exit status 1
//! ([`EXIT_DAMAGED`]), ending with a pointer
//! to `salvage` when a chunk is damaged or the file cut short; bad usage exits 2
//! ([`EXIT_USAGE`]), and so does a `--track` the file does not have.
//!
//! ```
//! let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/reference/demo.h4mk");
//! let (mut out, mut err) = (Vec::new(), Vec::new());
//! let code = h4mk_cli::run(["h4mk", "verify", demo], &mut out, &mut err);
//! assert_eq!(code, std::process::ExitCode::SUCCESS);
//! assert!(String::from_utf8(out)?.contains("ok"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cmd;
mod demo;
pub mod input;
mod manifest;
pub mod output;
pub mod report;

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

/// Exit status for a file that is damaged or fails a check.
pub const EXIT_DAMAGED: u8 = 1;
/// Exit status for bad usage.
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "h4mk",
    version,
    about = "Inspect, check, build and decode H4MK multi-track containers",
    after_help = "\
Every command that reports (but mt_*) takes --json; errors are one line naming the file, the
offset and what is wrong, with exit status 1 (2 for bad usage, a track the file lacks
included). Files are written atomically (devices and FIFOs in place), never over the input,
and with -n (--no-clobber) never over any existing file.

Examples:
  h4mk info song.h4mk
  h4mk list --track 1 song.h4mk
  h4mk chain --track 1 --t-ms 70 song.h4mk
  h4mk verify --lenient song.h4mk
  h4mk extract --track 1 --dir blocks/ song.h4mk
  h4mk build song.json -o song.h4mk
  h4mk remux music.h4mk voice.h4mk --map 0:1 --map 1:1=2 -o both.h4mk
  h4mk encode --adapter dsp song.wav -o song.h4mk
  h4mk decode --adapter dsp --track 1 --from-ms 1000 --to-ms 2000 song.h4mk -o part.wav
  h4mk mt_list --in demo_multitrack.h4mk"
)]
struct Cli {
    #[command(subcommand)]
    command: cmd::Command,
    /// Never replace an existing file: a command whose output exists fails before it writes
    /// anything (extract --dir: if any block file exists), as ffmpeg's `-n` does, and the
    /// file is left as it was.
    #[arg(short = 'n', long = "no-clobber", global = true)]
    no_clobber: bool,
}

/// Runs the command line `args` (program name first), writing results to `out` and messages to
/// `err`; returns the process exit status.
pub fn run<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = if e.use_stderr() {
                write!(err, "{e}")
            } else {
                write!(out, "{e}")
            };
            return ExitCode::from(code);
        }
    };
    let mut out = Watched {
        inner: out,
        failure: None,
    };
    let _no_clobber = output::NoClobber::set(cli.no_clobber);
    match cli.command.run(&mut out, err) {
        Ok(code) => code,
        // The reader of our output went away (`h4mk list big.h4mk | head`): stop quietly.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        // Whatever the command made of it, the output failed: say so, once.
        Err(_) if let Some(failure) = out.failure => {
            let _ = writeln!(err, "h4mk: error: writing standard output: {failure}");
            ExitCode::from(EXIT_DAMAGED)
        }
        Err(e) => {
            let hint = if is_salvageable(&e) {
                SALVAGE_HINT
            } else if is_mapping_cut_short(&e) {
                &cut_short_hint()
            } else {
                ""
            };
            let _ = writeln!(err, "h4mk: error: {}{hint}", one_line(&format!("{e:#}")));
            let usage = e.downcast_ref::<UsageError>().is_some();
            ExitCode::from(if usage { EXIT_USAGE } else { EXIT_DAMAGED })
        }
    }
}

/// What an error for a file cut short or with a damaged chunk adds, on its one line.
const SALVAGE_HINT: &str = " (h4mk salvage rebuilds a sound file from the intact chunks)";

/// What an error from a write of mapped bytes that another program cut away adds: which
/// inputs were mapped.
fn cut_short_hint() -> String {
    let names = input::mapped_names();
    let which = if names.is_empty() {
        String::new()
    } else {
        format!(": {names}")
    };
    format!(" (an input file was cut short by another program while h4mk read it{which})")
}

/// True when `e` is the system's refusal to write bytes from an address it cannot read
/// (`EFAULT`): h4mk hands it only slices of its inputs' mappings, so the file under one was
/// cut short. A read of such bytes raises SIGBUS instead (`input::clean_up_on_sigbus`); a
/// write of them said only "Bad address (os error 14)", naming nothing.
fn is_mapping_cut_short(e: &anyhow::Error) -> bool {
    const EFAULT: i32 = 14;
    cfg!(unix)
        && e.chain().any(|cause| {
            cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.raw_os_error() == Some(EFAULT))
        })
}

/// True when `e` comes of a chunk whose CRC fails or of a file that ends too soon: damage
/// that `salvage` works around, as opposed to a file that is not H4MK or breaks a limit.
fn is_salvageable(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        // h4mk-mt's errors show the format layer's through, without it as their source.
        let format = cause.downcast_ref::<h4mk_format::Error>().or_else(|| {
            match cause.downcast_ref::<h4mk_mt::Error>() {
                Some(h4mk_mt::Error::Format(e)) => Some(e),
                _ => None,
            }
        });
        matches!(
            format,
            Some(
                h4mk_format::Error::ChunkCrc { .. }
                    | h4mk_format::Error::FileCrc { .. }
                    | h4mk_format::Error::Truncated { .. }
                    | h4mk_format::Error::TruncatedChunkHeader { .. }
                    | h4mk_format::Error::MissingFooter { .. }
            )
        )
    })
}

/// An error of h4mk-adapters as anyhow's, a container error inside it
/// ([`h4mk_adapters::Error::Container`]) as h4mk-mt's own: what reads the chain (the salvage
/// hint) finds it there.
pub(crate) fn adapters_error(e: h4mk_adapters::Error) -> anyhow::Error {
    match e {
        h4mk_adapters::Error::Container(e) => anyhow::Error::new(e),
        e => anyhow::Error::new(e),
    }
}

/// `text` with its control characters escaped (`\n`, `\u{1b}`), so that a file name holding
/// a newline cannot break an error into two lines, or forge a second one; and its
/// bidirectional controls (`\u{202e}`), which reorder what a terminal shows after them, as
/// `{:?}` escapes them in the names `info` quotes (a review found a track's kind printed raw).
pub(crate) fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        // Line and paragraph separators break a line as a newline does; the others are the
        // bidirectional marks, embeddings, overrides and isolates.
        let bidi = matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        );
        if c.is_control() || bidi {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A mistake in the command line that parsing alone cannot see (an output that is the input,
/// a range that ends before it starts): reported like any error, with exit status 2.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The output stream, remembering its first failure: a command may wrap that error in its
/// own words, or lose it, and the message should name standard output.
struct Watched<'a> {
    inner: &'a mut dyn Write,
    failure: Option<io::Error>,
}

impl Watched<'_> {
    fn watch<T>(&mut self, r: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &r
            && self.failure.is_none()
            && e.kind() != io::ErrorKind::BrokenPipe
        {
            self.failure = Some(io::Error::new(e.kind(), e.to_string()));
        }
        r
    }
}

impl Write for Watched<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.inner.write(buf);
        self.watch(r)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let r = self.inner.write_all(buf);
        self.watch(r)
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = self.inner.flush();
        self.watch(r)
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write of mapped bytes another program cut away fails with `EFAULT`, which said only
    /// "Bad address (os error 14)"; it now says why, however deep in the chain it is.
    #[test]
    fn a_write_from_a_mapping_cut_short_is_named_as_such() {
        let efault = || std::io::Error::from_raw_os_error(14);
        let wrapped = anyhow::Error::new(h4mk_format::Error::Io(efault())).context("writing x");
        assert!(is_mapping_cut_short(&anyhow::Error::new(efault())));
        assert!(is_mapping_cut_short(&wrapped));
        let full = std::io::Error::from_raw_os_error(28); // ENOSPC
        assert!(!is_mapping_cut_short(&anyhow::Error::new(full)));
    }

    #[test]
    fn one_line_escapes_controls_and_bidirectional_overrides() {
        assert_eq!(one_line("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
        assert_eq!(one_line("audio\u{202e}3pm.exe"), "audio\\u{202e}3pm.exe");
        assert_eq!(one_line("a\u{2028}b"), "a\\u{2028}b");
        assert_eq!(one_line("é 世界"), "é 世界");
    }
}
