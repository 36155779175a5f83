//! `h4mk info`: what a file holds, in one walk over its chunks.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use h4mk_format::Tag;
use h4mk_gop::BlockKind;
use h4mk_mt::index::is_known_tag;
use h4mk_mt::{Demuxer, IndexStatus, route};

use crate::cmd::{cut_short, open, plural, write_json};
use crate::input::Input;
use crate::report::{
    HeaderReport, IndexReport, InfoReport, MAX_OTHER_TAGS, SidecarReport, TrackReport,
};

/// Sidecars up to this many bytes are shown as text when they are UTF-8.
const MAX_TEXT_BYTES: usize = 256;

/// Show the header, tracks, sidecars, blocks per track and how the index was found.
///
/// Walks every chunk once, checking its CRC (and the file CRC at the end): a damaged file is
/// an error here, but for one cut short inside a chunk (as a crashed writer leaves it), shown
/// up to that chunk with a warning; `h4mk verify --lenient` lists every problem.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Per track: its track-list entry, its blocks (I, P and B counts), the pts of its first and last
block, its opaque bytes and its seek-table entries. Sidecars are shown with their size, and as
text when they are short UTF-8.

Examples:
  h4mk info song.h4mk
  h4mk info --json song.h4mk | jq '.tracks[] | {track_id, blocks, first_pts_ms, last_pts_ms}'")]
pub(crate) struct Args {
    /// The container (`-` for standard input).
    file: PathBuf,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &Args, out: &mut dyn Write) -> Result<ExitCode> {
    let input = Input::open_h4mk(&args.file)?;
    let demux = open(&input)?;
    let report = info(&input, &demux)?;
    if args.json {
        write_json(out, &report)?;
    } else {
        print(out, &report)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn info(input: &Input, demux: &Demuxer<'_>) -> Result<InfoReport> {
    let header = demux.header();
    let mut tracks: Vec<TrackReport> = demux
        .tracks()
        .iter()
        .map(|t| TrackReport {
            track_id: t.track_id,
            name: t.name.clone(),
            kind: t.kind.clone(),
            codec: t.codec.clone(),
            sample_rate: t.sample_rate,
            channels: t.channels,
            note: t.note.clone(),
            blocks: 0,
            keyframes: 0,
            predictive: 0,
            bidirectional: 0,
            first_pts_ms: None,
            last_pts_ms: None,
            pts_span_ms: None,
            opaque_bytes: 0,
            seek_entries: demux.seek_table(t.track_id).map_or(0, <[_]>::len),
        })
        .collect();
    let slots: BTreeMap<u16, usize> = tracks
        .iter()
        .enumerate()
        .map(|(slot, t)| (t.track_id, slot))
        .collect();
    let mut warnings: Vec<String> = demux.problems().iter().map(ToString::to_string).collect();
    // As many as verify lists; the rest are counted.
    let cap =
        usize::try_from(demux.container().options().limits.max_problems).unwrap_or(usize::MAX);
    let mut more = demux.omitted_problems();
    let mut chunks: BTreeMap<Tag, u64> = BTreeMap::new();
    let mut other_tags = 0;
    let mut chunks_of_unlisted_tags = 0;
    let mut blocks = 0;
    let mut walk = demux.container().chunks();
    loop {
        let chunk = match walk.next_chunk() {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                let e = h4mk_mt::Error::from(e);
                let Some(text) = cut_short(demux, &e) else {
                    return Err(e).with_context(|| input.name());
                };
                // The index scan met the same chunk, and listed it as damage: said once.
                let damage = e.to_string();
                warnings.retain(|w| *w != damage);
                warnings.push(text);
                break;
            }
        };
        let known = is_known_tag(chunk.tag);
        if let Some(n) = chunks.get_mut(&chunk.tag) {
            *n += 1;
        } else if known || other_tags < MAX_OTHER_TAGS {
            other_tags += usize::from(!known);
            chunks.insert(chunk.tag, 1);
        } else {
            chunks_of_unlisted_tags += 1;
        }
        if chunk.tag != Tag::CORE {
            continue;
        }
        let block = route(chunk).with_context(|| input.name())?;
        blocks += 1;
        let Some(t) = slots.get(&block.track).and_then(|&s| tracks.get_mut(s)) else {
            // Worded and placed (the chunk's offset) as verify reports the same block.
            if warnings.len() < cap {
                warnings.push(format!(
                    "CORE chunk at offset {}: block for undeclared track {}",
                    block.chunk_offset(),
                    block.track
                ));
            } else {
                more += 1;
            }
            continue;
        };
        t.blocks += 1;
        match block.kind {
            BlockKind::Key => t.keyframes += 1,
            BlockKind::Predictive => t.predictive += 1,
            BlockKind::Bidirectional => t.bidirectional += 1,
        }
        let first = *t.first_pts_ms.get_or_insert(block.ts_ms);
        let last = t.last_pts_ms.map_or(block.ts_ms, |l| l.max(block.ts_ms));
        t.last_pts_ms = Some(last);
        t.pts_span_ms = Some(last.saturating_sub(first));
        t.opaque_bytes += block.opaque.len() as u64;
    }
    if more > 0 {
        warnings.push(format!("{more} more warning{}, not listed", plural(more)));
    }
    let sidecars = demux
        .sidecars()
        .iter()
        .map(|(tag, payload)| SidecarReport {
            tag: tag.to_string(),
            size: payload.len() as u64,
            text: (payload.len() <= MAX_TEXT_BYTES)
                .then(|| std::str::from_utf8(payload).ok())
                .flatten()
                .map(str::to_owned),
        })
        .collect();
    Ok(InfoReport {
        file: input.name(),
        size: input.len() as u64,
        header: HeaderReport {
            version: header.version,
            flags: header.flags,
            reserved: header.reserved,
            timestamp_ms: header.timestamp_ms,
        },
        index: index_report(demux.index_status()),
        tracks,
        sidecars,
        chunks: chunks
            .into_iter()
            .map(|(t, n)| (t.to_string(), n))
            .collect(),
        chunks_of_unlisted_tags,
        blocks,
        warnings,
    })
}

fn index_report(status: &IndexStatus) -> IndexReport {
    let (how, locator_offset, reason) = match status {
        IndexStatus::Located { offset } => ("locator", Some(*offset), None),
        IndexStatus::Trailing => ("trailing", None, None),
        IndexStatus::Rebuilt { reason } => ("rebuilt", None, Some(reason.to_string())),
        other => ("other", None, Some(other.to_string())),
    };
    IndexReport {
        how,
        locator_offset,
        reason,
    }
}

fn print(out: &mut dyn Write, r: &InfoReport) -> Result<()> {
    let h = &r.header;
    writeln!(
        out,
        "{}: H4MK version {}, {} bytes (header flags {}, timestamp {})",
        crate::one_line(&r.file),
        h.version,
        r.size,
        h.flags,
        h.timestamp_ms
    )?;
    let index = match (r.index.how, r.index.locator_offset, &r.index.reason) {
        ("locator", Some(offset), _) => format!("read through the XLOC locator at offset {offset}"),
        ("trailing", ..) => "found at the end of the file".to_owned(),
        (_, _, Some(reason)) => format!("rebuilt by a full scan: {reason}"),
        (how, ..) => how.to_owned(),
    };
    writeln!(out, "index: {index}")?;
    writeln!(out, "tracks: {}", r.tracks.len())?;
    for t in &r.tracks {
        writeln!(
            out,
            "  track {} {:?}: {}, codec {}, {} Hz, {} channel{}",
            t.track_id,
            t.name,
            crate::one_line(&t.kind),
            crate::one_line(&t.codec),
            t.sample_rate,
            t.channels,
            plural(t.channels)
        )?;
        if !t.note.is_empty() {
            writeln!(out, "    note: {:?}", t.note)?;
        }
        match (t.first_pts_ms, t.last_pts_ms) {
            (Some(first), Some(last)) => writeln!(
                out,
                "    blocks: {} ({} I, {} P, {} B), pts {first}..{last} ms, {} opaque bytes",
                t.blocks, t.keyframes, t.predictive, t.bidirectional, t.opaque_bytes
            )?,
            _ => writeln!(out, "    blocks: none")?,
        }
        writeln!(
            out,
            "    seek table: {} keyframe{}",
            t.seek_entries,
            plural(t.seek_entries as u64)
        )?;
    }
    writeln!(out, "sidecars: {}", r.sidecars.len())?;
    for s in &r.sidecars {
        match &s.text {
            Some(text) => writeln!(out, "  {} ({} bytes): {text:?}", s.tag, s.size)?,
            None => writeln!(out, "  {} ({} bytes)", s.tag, s.size)?,
        }
    }
    let total: u64 = r.chunks.values().sum::<u64>() + r.chunks_of_unlisted_tags;
    let mut per_tag: Vec<String> = r.chunks.iter().map(|(t, n)| format!("{t} {n}")).collect();
    if r.chunks_of_unlisted_tags > 0 {
        per_tag.push(format!(
            "{} of tags past the first {MAX_OTHER_TAGS} unknown ones",
            r.chunks_of_unlisted_tags
        ));
    }
    writeln!(out, "chunks: {total} ({})", per_tag.join(", "))?;
    writeln!(out, "blocks: {}", r.blocks)?;
    for w in &r.warnings {
        writeln!(out, "warning: {w}")?;
    }
    Ok(())
}
