//! `h4mk salvage`: a sound container from the intact chunks of a damaged one, through
//! [`h4mk_mt::salvage_with`], with a report of what was kept and what was lost.
//!
//! The output is written atomically (a temporary file beside OUT, synced and renamed onto it),
//! and only when something was recovered: an input with nothing usable leaves OUT untouched and
//! exits 1. The report goes to standard output, or to standard error when the container itself
//! goes to standard output (`-o -`). The JSON shape is this module's own serde types.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use h4mk_mt::salvage::{DropReason, FooterState, SalvageOptions, SalvageReport, TrackListSource};
use serde::Serialize;

use crate::EXIT_DAMAGED;
use crate::cmd::{plural, warn_if_extended, write_json};
use crate::input::{Input, display_name};
use crate::output::{AtomicFile, is_stdout, refuse_input_as_output, write_failed};

/// Rebuild a sound container from the intact chunks of a damaged one.
///
/// Finds every chunk whose CRC holds, keeps the track list, sidecars, unknown chunks and every
/// block that can still be decoded, rebuilds the index and the file CRC, and reports what was
/// lost and why.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
What is kept: the first intact track list that parses (else one rebuilt from the track ids of
the seek tables and blocks, named \"track N\", kind and codec \"unknown\"); the first of each
sidecar before the blocks; chunks of unknown tags, in their place; every intact block that can
still be decoded, in its original order. What is dropped, per track: blocks before its first
intact I-block; after a lost I- or P-block, every P- and B-block up to the next I-block, and
the B-blocks whose forward anchor it was; B-blocks at the end of a track with no anchor after
them. A lost B-block costs nothing else. Damaged bytes that no chunk header explains (24 bytes
or more) may have held any track's anchor and count as one for every track.

Output lines: one per problem (skipped bytes, lost or dropped block, left-out chunk), up to
10,000 of each kind, then how many more there were, then a summary. The output file passes
`h4mk verify` when the input's blocks were in order and its track list was as the reference
writes it (it is copied as it is).

Exit status: 0 when OUT was written (the input was intact or something was recovered), 1 when
nothing was recoverable (OUT is not written) or on an error, 2 on bad usage.

Examples:
  h4mk salvage crashed.h4mk -o fixed.h4mk
  h4mk salvage --json damaged.h4mk -o fixed.h4mk")]
pub(crate) struct Args {
    /// The damaged container (`-` for standard input).
    file: PathBuf,
    /// The container to write (`-` for standard output; the report then goes to standard
    /// error).
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// Add an XLOC index locator (one is written anyway when the input had one).
    #[arg(long)]
    locator: bool,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    refuse_input_as_output(&args.file, &args.output)?;
    let input = Input::open(&args.file)?;
    let name = input.name();
    let opts = SalvageOptions {
        sync: false,
        index_locator: args.locator,
        ..SalvageOptions::default()
    };
    let to_stdout = is_stdout(&args.output);
    let report = if to_stdout {
        // Nothing goes out when nothing is recovered, which only the whole pass can tell: a
        // first pass writes nowhere, and a second, the same bytes, to standard output. The
        // output used to be held in memory instead, as large as the file (a scale review).
        let (_, report) =
            h4mk_mt::salvage_with(&input, io::sink(), opts).with_context(|| name.clone())?;
        if report.recovered() {
            let mut stdout = io::BufWriter::with_capacity(1 << 20, &mut *out);
            h4mk_mt::salvage_with(&input, &mut stdout, opts).context("writing standard output")?;
            stdout.flush().context("writing standard output")?;
        }
        report
    } else {
        let mut file = AtomicFile::create(&args.output, false)?;
        let (_, report) = h4mk_mt::salvage_with(&input, file.writer(), opts)
            .map_err(|e| write_failed(&args.output, e))?;
        if report.recovered() {
            file.commit()?;
        }
        report
    };
    let output = if to_stdout {
        "-".to_owned()
    } else {
        display_name(&args.output)
    };
    let warnings = if report.recovered() {
        warn_if_extended(err, &output, report.ext_tables)?
    } else {
        Vec::new()
    };
    let shown = Shown::new(&name, &output, &report, warnings);
    let sink: &mut dyn Write = if to_stdout { err } else { out };
    if args.json {
        write_json(sink, &shown)?;
    } else {
        print_text(sink, &shown)?;
    }
    Ok(if report.recovered() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_DAMAGED)
    })
}

/// The `--json` report of `h4mk salvage`.
#[derive(Debug, Serialize)]
struct Shown {
    /// The input's file name.
    file: String,
    /// The output's file name (`-` for standard output).
    output: String,
    /// Whether the output was written (something was recovered).
    written: bool,
    /// Input size in bytes.
    input_size: u64,
    /// Output size in bytes (as written, or as it would have been).
    output_size: u64,
    /// The input was intact (header, every byte in an intact chunk, file CRC matching).
    intact: bool,
    /// The input was intact and everything in it was kept.
    complete: bool,
    /// The input starts with the file header.
    header: bool,
    /// `"intact"`, `"mismatch"` or `"missing"`.
    footer: &'static str,
    /// `"found"` (with `track_list_offset`), `"rebuilt"`, or `"absent"` (an intact file of no
    /// track list and no block, rewritten as it is).
    track_list: &'static str,
    /// Offset of the TRAK chunk used, when found.
    track_list_offset: Option<u64>,
    /// Blocks written.
    blocks_kept: u64,
    /// Damaged blocks (lost), as each track's `damaged` counts them, with those of no track.
    blocks_damaged: u64,
    /// Intact blocks not written because they cannot be decoded, as each track's `dropped`
    /// counts them, with those of no track.
    blocks_dropped: u64,
    /// Per track, in track-list order.
    tracks: Vec<ShownTrack>,
    /// Sidecar tags kept, in the order written.
    sidecars: Vec<String>,
    /// Chunks of other tags kept, in file order.
    kept_chunks: Vec<ShownChunk>,
    /// Index chunks of the input replaced by the rebuilt index.
    index_chunks_replaced: u64,
    /// Byte ranges of the input outside every intact chunk.
    skipped: Vec<ShownRange>,
    /// Damaged chunks framed inside them by their own headers.
    damaged_chunks: Vec<ShownDamaged>,
    /// Parts of the skipped ranges no chunk header explains.
    unidentified: Vec<ShownRange>,
    /// Every block not kept, in file order.
    dropped: Vec<ShownDropped>,
    /// Intact chunks left out, in file order.
    ignored: Vec<ShownIgnored>,
    /// Bytes skipped in all, in listed ranges or not.
    skipped_bytes: u64,
    /// Entries each list above leaves out, by the list's name: each lists at most 10,000.
    omitted: ShownOmitted,
    /// The warnings written to standard error, left out when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ShownOmitted {
    kept_chunks: u64,
    skipped: u64,
    damaged_chunks: u64,
    unidentified: u64,
    dropped: u64,
    ignored: u64,
}

#[derive(Debug, Serialize)]
struct ShownTrack {
    track_id: u16,
    kept: u64,
    keyframes: u64,
    dropped: u64,
    damaged: u64,
}

#[derive(Debug, Serialize)]
struct ShownChunk {
    tag: String,
    offset: u64,
}

#[derive(Debug, Serialize)]
struct ShownRange {
    offset: u64,
    len: u64,
}

#[derive(Debug, Serialize)]
struct ShownDamaged {
    offset: u64,
    tag: String,
    len: u64,
    truncated: bool,
}

#[derive(Debug, Serialize)]
struct ShownDropped {
    /// Payload offset of the block in the input.
    offset: u64,
    track: u16,
    pts_ms: u32,
    #[serde(rename = "type")]
    kind: String,
    /// A stable code: damaged, truncated, unknown_track, no_keyframe, anchor_lost,
    /// forward_anchor_lost, no_forward_anchor, anchor_too_far.
    reason: &'static str,
    /// Where the anchor it needed was lost, for anchor_lost and forward_anchor_lost.
    lost_at: Option<u64>,
    message: String,
}

#[derive(Debug, Serialize)]
struct ShownIgnored {
    offset: u64,
    tag: String,
    /// A stable code: extra_track_list, bad_track_list, repeated_sidecar, stray_sidecar,
    /// unroutable.
    reason: &'static str,
    message: String,
}

impl Shown {
    fn new(file: &str, output: &str, r: &SalvageReport, warnings: Vec<String>) -> Self {
        let (track_list, track_list_offset) = match r.track_list {
            TrackListSource::Found { offset } => ("found", Some(offset)),
            TrackListSource::Reconstructed => ("rebuilt", None),
            TrackListSource::Absent => ("absent", None),
        };
        let range = |s: &h4mk_format::resync::Skipped| ShownRange {
            offset: s.offset,
            len: s.len,
        };
        Shown {
            file: file.to_owned(),
            output: output.to_owned(),
            written: r.recovered(),
            input_size: r.input_len,
            output_size: r.output_len,
            intact: r.intact,
            complete: r.is_complete(),
            header: r.header,
            footer: match r.footer {
                FooterState::Intact => "intact",
                FooterState::Mismatch { .. } => "mismatch",
                _ => "missing",
            },
            track_list,
            track_list_offset,
            blocks_kept: r.blocks_kept(),
            blocks_damaged: r.blocks_lost,
            blocks_dropped: r.blocks_dropped,
            tracks: r
                .tracks
                .iter()
                .map(|t| ShownTrack {
                    track_id: t.track_id,
                    kept: t.kept,
                    keyframes: t.keyframes,
                    dropped: t.dropped,
                    damaged: t.damaged,
                })
                .collect(),
            sidecars: r.sidecars.iter().map(|t| t.to_string()).collect(),
            kept_chunks: r
                .kept_chunks
                .iter()
                .map(|c| ShownChunk {
                    tag: c.tag.to_string(),
                    offset: c.offset,
                })
                .collect(),
            index_chunks_replaced: r.index_chunks,
            skipped: r.skipped.iter().map(range).collect(),
            damaged_chunks: r
                .damaged
                .iter()
                .map(|d| ShownDamaged {
                    offset: d.offset,
                    tag: d.tag.to_string(),
                    len: d.len,
                    truncated: d.truncated,
                })
                .collect(),
            unidentified: r.unidentified.iter().map(range).collect(),
            dropped: r
                .dropped
                .iter()
                .map(|d| ShownDropped {
                    offset: d.offset,
                    track: d.track,
                    pts_ms: d.ts_ms,
                    kind: d.kind.letter().to_string(),
                    reason: d.reason.code(),
                    lost_at: match d.reason {
                        DropReason::AnchorLost { at } | DropReason::ForwardAnchorLost { at } => {
                            Some(at)
                        }
                        _ => None,
                    },
                    message: d.reason.to_string(),
                })
                .collect(),
            ignored: r
                .ignored
                .iter()
                .map(|i| ShownIgnored {
                    offset: i.offset,
                    tag: i.tag.to_string(),
                    reason: i.reason.code(),
                    message: i.reason.to_string(),
                })
                .collect(),
            skipped_bytes: r.skipped_bytes,
            omitted: ShownOmitted {
                kept_chunks: r.omitted.kept_chunks,
                skipped: r.omitted.skipped,
                damaged_chunks: r.omitted.damaged,
                unidentified: r.omitted.unidentified,
                dropped: r.omitted.dropped,
                ignored: r.omitted.ignored,
            },
            warnings,
        }
    }
}

/// Damaged chunks named on the line of the skipped range they lie in; the rest are counted.
const NAMED_PER_RANGE: usize = 3;

/// One line per problem, then the summary line.
fn print_text(out: &mut dyn Write, r: &Shown) -> Result<()> {
    let (f, output) = (crate::one_line(&r.file), crate::one_line(&r.output));
    if !r.header {
        writeln!(out, "{f}: no file header; scanned from offset 0")?;
    }
    if r.track_list == "rebuilt" && !r.complete {
        let n = r.tracks.len() as u64;
        if n == 0 {
            writeln!(out, "{f}: no usable track list and no track id found")?;
        } else {
            writeln!(
                out,
                "{f}: no usable track list; rebuilt {n} track{} from the track ids found",
                plural(n)
            )?;
        }
    }
    let mut damaged = r.damaged_chunks.iter().peekable();
    for s in &r.skipped {
        let end = s.offset.saturating_add(s.len);
        // The first few damaged chunks inside, then how many more: a run of a million made
        // one line of 30 MB.
        let mut inside: Vec<String> = Vec::new();
        let mut more = 0u64;
        for d in std::iter::from_fn(|| damaged.next_if(|d| d.offset < end)) {
            if inside.len() < NAMED_PER_RANGE {
                let state = if d.truncated { "cut off" } else { "damaged" };
                inside.push(format!("{state} {} chunk at offset {}", d.tag, d.offset));
            } else {
                more += 1;
            }
        }
        if more > 0 {
            inside.push(format!("and {more} more damaged chunk{}", plural(more)));
        }
        let what = if inside.is_empty() {
            String::new()
        } else {
            format!(" ({})", inside.join(", "))
        };
        writeln!(
            out,
            "{f}: skipped {} byte{} at offset {}{what}",
            s.len,
            plural(s.len),
            s.offset
        )?;
    }
    // Damaged chunks of ranges past the list's cap were named on no line: counted below.
    let unnamed = damaged.count() as u64;
    match r.footer {
        "missing" => writeln!(out, "{f}: no file CRC at the end")?,
        "mismatch" => writeln!(out, "{f}: the file CRC does not match")?,
        _ => {}
    }
    for d in &r.dropped {
        let verb = if d.reason == "damaged" || d.reason == "truncated" {
            "lost"
        } else {
            "dropped"
        };
        writeln!(
            out,
            "{f}: block at offset {} (track {}, pts {} ms, {}) {verb}: {}",
            d.offset, d.track, d.pts_ms, d.kind, d.message
        )?;
    }
    for i in &r.ignored {
        writeln!(
            out,
            "{f}: {} chunk at offset {} left out: {}",
            i.tag, i.offset, i.message
        )?;
    }
    // What the lists this text prints leave out, counted by kind (unidentified ranges and
    // kept chunks are in the JSON report only).
    let o = &r.omitted;
    let counted: Vec<String> = [
        (o.skipped, "skipped range", "skipped ranges"),
        (
            o.damaged_chunks + unnamed,
            "damaged chunk",
            "damaged chunks",
        ),
        (o.dropped, "block lost or dropped", "blocks lost or dropped"),
        (o.ignored, "chunk left out", "chunks left out"),
    ]
    .into_iter()
    .filter(|(n, ..)| *n > 0)
    .map(|(n, one, many)| format!("{n} {}", if n == 1 { one } else { many }))
    .collect();
    if !counted.is_empty() {
        writeln!(
            out,
            "{f}: not listed (past 10,000 of a kind): {}",
            counted.join(", ")
        )?;
    }
    let tracks = r.tracks.len() as u64;
    if r.complete {
        writeln!(
            out,
            "{f}: intact; rewritten to {} ({} block{}, {tracks} track{})",
            output,
            r.blocks_kept,
            plural(r.blocks_kept),
            plural(tracks)
        )?;
    } else if r.written {
        let skipped = r.skipped_bytes;
        writeln!(
            out,
            "{f}: recovered {} block{} of {tracks} track{} into {}; {} block{} lost to damage, {} dropped, {skipped} byte{} skipped",
            r.blocks_kept,
            plural(r.blocks_kept),
            plural(tracks),
            output,
            r.blocks_damaged,
            plural(r.blocks_damaged),
            r.blocks_dropped,
            plural(skipped)
        )?;
    } else {
        writeln!(out, "{f}: nothing recoverable; {} not written", output)?;
    }
    Ok(())
}
