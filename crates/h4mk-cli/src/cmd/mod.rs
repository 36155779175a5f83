//! The subcommands, one module each, and what they share: opening a file as a demuxer and
//! printing JSON reports.

mod build;
mod decode;
mod encode;
mod extract;
mod info;
mod legacy;
mod list;
mod plan;
mod remux;
mod salvage;
mod verify;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use h4mk_format::Tag;
use h4mk_mt::{Demuxer, IndexStatus, MuxOptions, MuxSummary, Problem};
use serde::Serialize;

use crate::UsageError;
use crate::input::{Input, display_name};
use crate::output::is_stdout;
use crate::report::{BuildReport, BuiltTrack};

// Every `h4mk` subcommand (a plain comment: clap would show a doc comment in `h4mk --help`).
// `decode` and `encode` go through the model adapters of `h4mk-adapters`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    Info(info::Args),
    List(list::Args),
    Chain(plan::ChainArgs),
    Range(plan::RangeArgs),
    Verify(verify::Args),
    Salvage(salvage::Args),
    Extract(extract::Args),
    Build(build::Args),
    Remux(remux::Args),
    Decode(decode::Args),
    Encode(encode::Args),
    #[command(name = "mt_build")]
    MtBuild(legacy::BuildArgs),
    #[command(name = "mt_list")]
    MtList(legacy::ListArgs),
    #[command(name = "mt_chain")]
    MtChain(legacy::ChainArgs),
}

impl Command {
    pub(crate) fn run(self, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
        match self {
            Command::Info(args) => info::run(&args, out),
            Command::List(args) => list::run(&args, out, err),
            Command::Chain(args) => plan::run_chain(&args, out, err),
            Command::Range(args) => plan::run_range(&args, out, err),
            Command::Verify(args) => verify::run(&args, out, err),
            Command::Salvage(args) => salvage::run(&args, out, err),
            Command::Extract(args) => extract::run(&args, out, err),
            Command::Build(args) => build::run(&args, out, err),
            Command::Remux(args) => remux::run(&args, out, err),
            Command::Decode(args) => decode::run(&args, out, err),
            Command::Encode(args) => encode::run(&args, out, err),
            Command::MtBuild(args) => legacy::run_build(&args, out, err),
            Command::MtList(args) => legacy::run_list(&args, out, err),
            Command::MtChain(args) => legacy::run_chain(&args, out, err),
        }
    }
}

/// Opens `input` as a multi-track file (header, track list, sidecars, index; CRCs of what it
/// reads checked), errors prefixed with the file name.
fn open(input: &Input) -> Result<Demuxer<'_>> {
    Demuxer::open(input).with_context(|| input.name())
}

/// Warns, on `err`, that the index a command planned with was rebuilt by a scan: the stored
/// one was missing or wrong, so the file may have been cut short or edited, and what the
/// command found (a chain, a decode) may be short of what the writer wrote. A damaged chunk
/// the scan read past, or the chunk cut short that ended it, is named on a line of its own,
/// up to [`DAMAGE_LINES`] of them, then counted.
///
/// Returns the warnings' texts, for a JSON report: a script reading one cannot see standard
/// error, and took an answer from a rebuilt index for a whole one.
fn warn_if_rebuilt(demux: &Demuxer<'_>, input: &Input, err: &mut dyn Write) -> Result<Vec<String>> {
    let mut said = Vec::new();
    if let IndexStatus::Rebuilt { reason } = demux.index_status() {
        let name = crate::one_line(&input.name());
        let mut say = |text| say_warning(err, &mut said, text);
        say(format!(
            "{name}: the index was rebuilt by a full scan ({reason}); a file cut short or \
             edited may lack blocks its writer wrote (h4mk verify says more)"
        ))?;
        let damage: Vec<_> = demux
            .problems()
            .iter()
            .filter_map(|p| match p {
                Problem::Damage(e) => Some(e),
                _ => None,
            })
            .collect();
        for e in damage.iter().take(DAMAGE_LINES) {
            say(match cut_short(demux, e) {
                Some(text) => format!("{name}: {text}"),
                None => format!("{name}: the scan found {e}"),
            })?;
        }
        if let Some(more) = damage.len().checked_sub(DAMAGE_LINES).filter(|&n| n > 0) {
            say(format!(
                "{name}: and {more} more damaged chunk{} (h4mk verify --lenient lists them)",
                plural(more as u64)
            ))?;
        }
    }
    Ok(said)
}

/// Says `text` on `err` as a warning, and keeps it in `said` for a JSON report, which a script
/// reads without seeing standard error: every warning goes out this one way.
fn say_warning(err: &mut dyn Write, said: &mut Vec<String>, text: String) -> Result<()> {
    writeln!(err, "h4mk: warning: {text}")?;
    said.push(text);
    Ok(())
}

/// The blocks of a file in file order, as [`Demuxer::blocks`] walks them, but ending with no
/// error at the chunk a file was cut short in, whose warning ([`cut_short`], after the file's
/// name) it keeps: what `list` and `extract` read of a file a crashed writer left.
struct UpToCut<'a, 'd> {
    blocks: h4mk_mt::Blocks<'a>,
    demux: &'d Demuxer<'a>,
    name: String,
    /// The warning, once the walk has ended at a cut.
    cut: Option<String>,
}

impl<'a, 'd> UpToCut<'a, 'd> {
    /// The walk over `demux`, the file named `name` in its warning.
    fn new(demux: &'d Demuxer<'a>, name: &str) -> Self {
        UpToCut {
            blocks: demux.blocks(),
            demux,
            name: crate::one_line(name),
            cut: None,
        }
    }
}

impl<'a> Iterator for UpToCut<'a, '_> {
    type Item = h4mk_mt::Result<h4mk_mt::BlockRef<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.blocks.next()? {
            Err(e) => match cut_short(self.demux, &e) {
                Some(text) => {
                    self.cut = Some(format!("{}: {text}", self.name));
                    None
                }
                None => Some(Err(e)),
            },
            block => Some(block),
        }
    }
}

/// What `info`, `list` and `extract` say of a file cut short inside a chunk (`e`, the error
/// at it), as a crashed writer leaves it: read as far as it goes, as `chain` and `decode`
/// answer from it. The cut is the one opening found ([`Demuxer::cut_short`]), which a walk
/// over the chunks meets again: not tested a second time here.
fn cut_short(demux: &Demuxer<'_>, e: &h4mk_mt::Error) -> Option<String> {
    let cut = demux.cut_short()?;
    (e.offset() == cut.offset()).then(|| {
        format!(
            "the file is cut short: {cut}; read up to that chunk (h4mk salvage rebuilds a sound \
             file from the intact chunks)"
        )
    })
}

/// Damaged chunks [`warn_if_rebuilt`] names, one line each, before it counts the rest.
const DAMAGE_LINES: usize = 3;

/// Where a writing command's report goes: standard output, or, when its output goes there
/// (`-o -`), standard error for a `--json` report (asked for by name: it used to be dropped
/// without a word) and nowhere for the text one, so that a pipeline's standard error stays
/// quiet. `salvage` differs: its report says what was lost, and always goes to standard error.
fn report_sink<'w>(
    to_stdout: bool,
    json: bool,
    out: &'w mut dyn Write,
    err: &'w mut dyn Write,
) -> Option<&'w mut dyn Write> {
    match (to_stdout, json) {
        (false, _) => Some(out),
        (true, true) => Some(err),
        (true, false) => None,
    }
}

/// Warns, on `err`, when the file `name` was written with extended seek tables (XSEK,
/// docs/FORMAT.md §6.2): a track with more than 65,535 keyframes, or one past 4 GiB, which a
/// version 1 table cannot list whole. Readers of version 1 tables alone, the original among
/// them, find only the keyframes the TSEK lists, and the original could not have written the
/// file: a compatibility review built one with no word said.
/// Returns what it said, for a JSON report.
fn warn_if_extended(err: &mut dyn Write, name: &str, ext_tables: u32) -> Result<Vec<String>> {
    let mut said = Vec::new();
    let n = u64::from(ext_tables);
    if n > 0 {
        let text = format!(
            "{}: {n} track{} with more keyframes than a version 1 seek table lists (over \
             65,535, or past 4 GiB): XSEK tables list them all, but readers of version 1 tables \
             alone (the original) find only those the TSEK lists",
            crate::one_line(name),
            plural(n)
        );
        say_warning(err, &mut said, text)?;
    }
    Ok(said)
}

/// Refuses a `--track` the file `name` does not have as bad usage (exit 2): the file is not at
/// fault.
fn require_track(demux: &Demuxer<'_>, name: &str, track: u16) -> Result<()> {
    if demux.track(track).is_none() {
        return Err(not_listed(name, track));
    }
    Ok(())
}

/// [`require_track`] for the commands that walk every block (`list`, `extract`): a track the
/// track list leaves out but that has blocks (a writer that forgot it, an edited file) is
/// read as stored, so that no block is out of reach. True when the track is not listed.
fn require_track_or_blocks(demux: &Demuxer<'_>, name: &str, track: u16) -> Result<bool> {
    if demux.track(track).is_some() {
        return Ok(false);
    }
    if demux.blocks().any(|b| b.is_ok_and(|b| b.track == track)) {
        return Ok(true);
    }
    Err(not_listed(name, track))
}

fn not_listed(name: &str, track: u16) -> anyhow::Error {
    UsageError(format!("{name}: track {track} is not in the track list")).into()
}

/// The most channels a command makes tracks of or decodes side by side (an encoder or a decode
/// thread each): 7th-order ambisonics has 64.
const MAX_CHANNELS: usize = 64;

/// "track 1", or "tracks 1, 2" for several.
fn tracks_phrase(tracks: &[u16]) -> String {
    let ids: Vec<String> = tracks.iter().map(u16::to_string).collect();
    match ids.as_slice() {
        [one] => format!("track {one}"),
        many => format!("tracks {}", many.join(", ")),
    }
}

/// Refuses `--from-ms` after `--to-ms` as bad usage, before any file is read.
fn check_range(from_ms: u32, to_ms: u32) -> Result<()> {
    if from_ms > to_ms {
        return Err(UsageError(format!("--from-ms {from_ms} is after --to-ms {to_ms}")).into());
    }
    Ok(())
}

/// A time argument (`--at-ms`, `--from-ms`, ...): milliseconds (`1500`), or a clock time as
/// ffmpeg takes one, `[H:]MM:SS[.fff]` (`1:02.5`, `01:02:03.250`), minutes and seconds
/// below 60, digits past the millisecond dropped. A reviewer used to ffmpeg's `-ss 1:00` had
/// only milliseconds.
fn parse_ms(text: &str) -> Result<u32, String> {
    let refused = || {
        format!(
            "`{text}` is not a time: give milliseconds (1500) or [H:]MM:SS[.mmm] (1:02.5, \
             01:02:03.250), up to 4294967295 ms"
        )
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let two_digits = |t: &str| digits(t) && t.len() <= 2;
    if digits(text) {
        return text.parse().map_err(|_| refused());
    }
    let parts: Vec<&str> = text.split(':').collect();
    let (hours, minutes, seconds) = match parts.as_slice() {
        [m, s] => ("0", *m, *s),
        [h, m, s] => (*h, *m, *s),
        _ => return Err(refused()),
    };
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, "0"));
    if !(digits(hours) && two_digits(minutes) && two_digits(whole) && digits(fraction)) {
        return Err(refused());
    }
    // To the millisecond, as ffmpeg and mkvmerge cut finer times.
    let fraction = fraction.get(..3).unwrap_or(fraction);
    let number = |t: &str| t.parse::<u64>().ok();
    let (Some(h), Some(m), Some(s), Some(f)) = (
        number(hours),
        number(minutes),
        number(whole),
        number(&format!("{fraction:0<3}")),
    ) else {
        return Err(refused());
    };
    if m >= 60 || s >= 60 {
        return Err(refused());
    }
    h.checked_mul(60)
        .and_then(|t| {
            t.checked_add(m)?
                .checked_mul(60)?
                .checked_add(s)?
                .checked_mul(1000)
        })
        .and_then(|t| t.checked_add(f))
        .and_then(|t| u32::try_from(t).ok())
        .ok_or_else(refused)
}

/// A sidecar, by the name of its tag (`extract --sidecar`, `remux --sidecar`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Sidecar {
    /// META (JSON metadata).
    Meta,
    /// SAFE (JSON safety information).
    Safe,
    /// VERI (JSON verification data).
    Veri,
    /// NOTE (text).
    Note,
}

impl Sidecar {
    fn tag(self) -> Tag {
        match self {
            Sidecar::Meta => Tag::META,
            Sidecar::Safe => Tag::SAFE,
            Sidecar::Veri => Tag::VERI,
            Sidecar::Note => Tag::NOTE,
        }
    }
}

/// Where `build` and `remux` write the container, and how they report it.
#[derive(Debug, clap::Args)]
struct ContainerOutput {
    /// The container to write (`-` for standard output; a `--json` report then goes to
    /// standard error).
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// Add an XLOC index locator before the file CRC, so readers find the index in O(1) (the
    /// reference ignores it).
    #[arg(long)]
    locator: bool,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

impl ContainerOutput {
    /// The muxer's options these flags ask for.
    fn mux_options(&self) -> MuxOptions {
        MuxOptions {
            index_locator: self.locator,
            ..MuxOptions::default()
        }
    }

    /// Reports the container written: its size, tracks and blocks, and how much earlier its
    /// blocks are than in their inputs when they were moved (`shifted_ms`), as a line or as
    /// JSON; when it went to standard output, the JSON one to standard error and no text one.
    /// The JSON one lists the warnings said before (`said`) and here.
    fn report(
        &self,
        out: &mut dyn Write,
        err: &mut dyn Write,
        summary: &MuxSummary,
        shifted_ms: Option<u32>,
        mut said: Vec<String>,
    ) -> Result<ExitCode> {
        said.extend(warn_if_extended(
            err,
            &display_name(&self.output),
            summary.index.ext_tables,
        )?);
        let Some(out) = report_sink(is_stdout(&self.output), self.json, out, err) else {
            return Ok(ExitCode::SUCCESS);
        };
        let report = BuildReport {
            file: display_name(&self.output),
            size: summary.file_len,
            blocks: summary.blocks,
            tracks: summary
                .tracks
                .iter()
                .map(|t| BuiltTrack {
                    track_id: t.track_id,
                    blocks: t.blocks,
                    keyframes: t.keyframes,
                })
                .collect(),
            index_offset: summary.index.index_offset,
            locator_offset: summary.index.locator,
            peak_held_blocks: summary.peak_held_blocks,
            shifted_ms,
            warnings: said,
        };
        if self.json {
            write_json(out, &report)?;
        } else {
            let tracks = report.tracks.len() as u64;
            writeln!(
                out,
                "wrote {} bytes to {} ({tracks} track{}, {} block{})",
                report.size,
                crate::one_line(&report.file),
                plural(tracks),
                report.blocks,
                plural(report.blocks)
            )?;
            if let Some(ms) = shifted_ms.filter(|_| report.blocks > 0) {
                writeln!(out, "every block is {ms} ms earlier than in its input")?;
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// Writes `report` as pretty JSON and a newline.
fn write_json(out: &mut dyn Write, report: &impl Serialize) -> Result<()> {
    // Through `io::Error`: serde_json's own error does not list an I/O failure among its
    // sources, and a closed pipe must be seen as one to end quietly. Through a buffer too:
    // serde_json writes a token at a time, which `out` may not buffer (standard error).
    let mut buffered = std::io::BufWriter::new(&mut *out);
    serde_json::to_writer_pretty(&mut buffered, report).map_err(std::io::Error::from)?;
    writeln!(buffered)?;
    buffered.flush()?;
    Ok(())
}

/// `"s"` unless `n` is 1.
fn plural(n: impl Into<u64>) -> &'static str {
    if n.into() == 1 { "" } else { "s" }
}

/// An error and its sources on one line, joined by `": "` (as anyhow's `{:#}` prints them).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        line.push_str(": ");
        line.push_str(&s.to_string());
        source = s.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::{parse_ms, write_json};

    /// A JSON report reaches its writer in a few large writes: standard error, which the
    /// binary does not buffer the way it buffers standard output, took one write call per
    /// token (27 s for a 7.5 MB report sent there by `-o -`, a review found).
    #[test]
    fn a_json_report_is_written_in_large_pieces() {
        struct Counting(Vec<u8>, usize);
        impl std::io::Write for Counting {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.1 += 1;
                self.0.extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let report: Vec<(u32, &str)> = (0..10_000).map(|i| (i, "block")).collect();
        let mut out = Counting(Vec::new(), 0);
        write_json(&mut out, &report).unwrap();
        let want = serde_json::to_string_pretty(&report).unwrap() + "\n";
        assert_eq!(out.0, want.as_bytes());
        assert!(out.1 <= want.len() / 8192 + 2, "{} writes", out.1);
    }

    /// Times as milliseconds or as a clock, ffmpeg's way; anything else, or past what a pts
    /// can hold in a `u32`, refused. Before, only milliseconds were taken.
    #[test]
    fn times_are_milliseconds_or_a_clock() {
        for (text, ms) in [
            ("0", 0),
            ("1500", 1_500),
            ("4294967295", u32::MAX),
            ("1:02", 62_000),
            ("1:02.5", 62_500),
            ("01:02:03.250", 3_723_250),
            ("0:00.007", 7),
            ("1:00.1239", 60_123),
            ("59:59.999", 3_599_999),
            ("1193:02:47.295", u32::MAX),
        ] {
            assert_eq!(parse_ms(text), Ok(ms), "{text}");
        }
        for text in [
            "",
            "1.5",
            "-1",
            "+1",
            "1:",
            ":1",
            "1:60",
            "1:61:00",
            "60:00",
            "1:005",
            "001:00",
            "1:00.",
            "a:00",
            "1:2:3:4",
            "4294967296",
            "1193:02:47.296",
            " 1",
            "1 ",
        ] {
            let e = parse_ms(text).unwrap_err();
            assert!(
                e.starts_with(&format!("`{text}` is not a time")),
                "{text}: {e}"
            );
        }
    }
}
