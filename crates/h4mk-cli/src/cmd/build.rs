//! `h4mk build`: a container from a JSON manifest, or the original's demo file.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use h4mk_gop::MAX_TIMESTAMP_MS;
use h4mk_mt::{MuxOptions, MuxSummary, Muxer, Sidecars};

use crate::cmd::ContainerOutput;
use crate::input::Input;
use crate::manifest::{Manifest, SidecarBytes};
use crate::output::{file_id, is_stdin, refuse_input_as_output, write_failed, write_to};

/// Build a container from a JSON manifest (tracks, sidecars, blocks).
///
/// The file is written to a temporary file beside OUT and renamed onto it only once complete:
/// a failed build leaves nothing behind.
#[derive(Debug, clap::Args)]
#[command(after_help = r#"Manifest (a JSON file, or `-` for standard input):

  {
    "tracks": [
      {"track_id": 1, "name": "main", "kind": "audio", "codec": "h4core",
       "sample_rate": 48000, "channels": 1, "note": "Primary audio track"}
    ],
    "sidecars": {"meta": {"title": "Demo"}, "safe": "{\"ok\": true}", "note": "free text"},
    "blocks": [
      {"track": 1, "pts_ms": 0,  "type": "I", "file": "blocks/0.bin"},
      {"track": 1, "pts_ms": 33, "type": "P", "hex": "00ff10"},
      {"track": 1, "pts_ms": 66, "type": "B", "base64": "AAEC"},
      {"track": 1, "pts_ms": 99, "type": "P", "text": "plain UTF-8 bytes"}
    ]
  }

tracks: the track list in order, with the seven TRAK keys (sample_rate, channels and note may
  be left out: 48000, 1 and ""); any other key is an error.
sidecars: optional meta, safe, veri and note. A JSON string is stored verbatim as UTF-8; null
  stores nothing, as a missing key; any other JSON value is stored as Python's json.dumps
  writes it (", " and ": ", keys in order, floats as their repr, integers of any size).
blocks: any order across tracks (the file is sorted by pts, then track id, keeping manifest
  order among equals) but pts order within a track, which must start with an I-block and
  must not end on a B-block. Each block has exactly one of "file" (relative to the manifest's
  folder), "hex", "base64" (standard, padded) or "text".

The same manifest always gives the same bytes; without --locator they are what the Python
reference writes.

Examples:
  h4mk build song.json -o song.h4mk
  h4mk build --locator song.json -o song.h4mk
  cat song.json | h4mk build - -o song.h4mk
  h4mk build --demo -o demo.h4mk"#)]
pub(crate) struct Args {
    /// The manifest (`-` for standard input).
    #[arg(required_unless_present = "demo", conflicts_with = "demo")]
    manifest: Option<PathBuf>,
    /// Write the original's demo file instead of reading a manifest.
    #[arg(long)]
    demo: bool,
    #[command(flatten)]
    out: ContainerOutput,
}

pub(crate) fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    let opts = args.out.mux_options();
    let output = &args.out.output;
    let summary = match &args.manifest {
        Some(path) if !args.demo => {
            refuse_input_as_output(path, output)?;
            build(path, output, opts, out)?
        }
        _ => write_to(output, out, |w| {
            crate::demo::write(w, opts).map_err(|e| write_failed(output, e))
        })?,
    };
    args.out.report(out, err, &summary, None, Vec::new())
}

/// Builds the container described by the manifest at `path` into `output`.
fn build(path: &Path, output: &Path, opts: MuxOptions, out: &mut dyn Write) -> Result<MuxSummary> {
    let input = Input::open(path)?;
    let name = input.name();
    let manifest = Manifest::parse(&input).with_context(|| name.clone())?;
    let dir = match path.parent() {
        Some(p) if !is_stdin(path) => p.to_owned(),
        _ => PathBuf::from("."),
    };
    // The block files are inputs too (only an existing output can be one of them): the
    // output's id once, each block file's against it.
    if let Some(output_id) = file_id(output) {
        for file in manifest.blocks().iter().filter_map(|b| b.file(&dir)) {
            if file_id(&file).as_ref() == Some(&output_id) {
                refuse_input_as_output(&file, output)?;
            }
        }
    }
    let tracks = manifest.tracks().with_context(|| name.clone())?;
    let s = manifest.sidecars();
    let sidecars = Sidecars {
        meta: sidecar_bytes(&s.meta),
        safety: sidecar_bytes(&s.safe),
        verify: sidecar_bytes(&s.veri),
        note: sidecar_bytes(&s.note),
    };
    write_to(output, out, |w| {
        let mut mux = Muxer::new(w, tracks, &sidecars, opts).with_context(|| name.clone())?;
        // Each block's next one on the same track: after a block, its track is advanced to that
        // pts, so a track whose blocks are far apart does not hold every other track's blocks
        // until its next one.
        let blocks = manifest.blocks();
        let mut next_pts = vec![None; blocks.len()];
        let mut later: HashMap<u16, u32> = HashMap::new();
        for (next, b) in next_pts.iter_mut().zip(blocks).rev() {
            *next = later.insert(b.track, b.pts_ms);
        }
        for (i, (b, next)) in blocks.iter().zip(next_pts).enumerate() {
            let at = || {
                format!(
                    "{name}: blocks[{i}] (track {}, pts {} ms)",
                    b.track, b.pts_ms
                )
            };
            let data = b.bytes(&dir).with_context(at)?;
            mux.push(b.track, b.pts_ms, b.kind, &data)
                .map_err(|e| blame(e, &at, output))?;
            // A pts the next block cannot have is left for that block to be refused at.
            if let Some(next) = next.filter(|&pts| pts <= MAX_TIMESTAMP_MS) {
                mux.advance(b.track, next)
                    .map_err(|e| blame(e, &at, output))?;
            }
        }
        let (_, summary) = mux
            .finish()
            .map_err(|e| blame(e, &|| name.clone(), output))?;
        Ok(summary)
    })
}

/// A muxer's error, said of the manifest where `at` says, but for a failed write, which is
/// said of `output`: a full disk was reported as a fault of a manifest's block.
fn blame(e: h4mk_mt::Error, at: &dyn Fn() -> String, output: &Path) -> anyhow::Error {
    match e {
        e @ h4mk_mt::Error::Format(h4mk_format::Error::Io(_)) => write_failed(output, e),
        e => anyhow::Error::new(e).context(at()),
    }
}

fn sidecar_bytes(b: &Option<SidecarBytes>) -> Option<&[u8]> {
    b.as_ref().map(|b| b.0.as_slice())
}
