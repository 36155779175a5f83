//! `h4mk extract`: a track's blocks or a sidecar's bytes, out of a container.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::UsageError;
use crate::cmd::{
    Sidecar, UpToCut, open, plural, report_sink, require_track_or_blocks, say_warning, write_json,
};
use crate::input::{Input, display_name};
use crate::output::{
    AtomicFile, Unfinished, exists, file_id, input_id, is_stdout, no_clobber,
    refuse_input_as_output, write_to,
};
use crate::report::ExtractReport;

/// Extract the blocks of one track, or one sidecar.
///
/// Every file is written to a temporary file beside it and renamed into place once complete
/// (the per-block files of `--dir` without waiting for the disk after each one).
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Outputs:
  --track N --dir DIR   one file per block of track N, named <pts>_<type>_<offset>.bin
                        with the pts in ten digits, so that names sort in pts order (e.g.
                        0000000066_B_563.bin: pts 66 ms, a B-block, CORE payload at offset
                        563); the folder is created if needed.
                        Every block is read and checked before any file is written; if
                        writing fails, the files this run created are removed.
  --track N -o STREAM   one stream of the track's blocks in file (pts) order; per block: its
                        length as a u32 little-endian, then its opaque bytes.
  --sidecar NAME -o OUT the payload of the META, SAFE, VERI or NOTE chunk, byte for byte.
  -o - writes to standard output, and the report (with --json only) to standard error.
A file cut short inside a chunk (as a crashed writer leaves it) gives its blocks up to that
chunk, with a warning; any other damage is an error, and so is a cut exactly four bytes into
a chunk's header, which reads as a whole file whose file CRC is wrong (docs/FORMAT.md §7.2).

Examples:
  h4mk extract --track 1 --dir blocks/ song.h4mk
  h4mk extract --track 1 -o track1.lp song.h4mk
  h4mk extract --sidecar meta -o - song.h4mk | jq .")]
pub(crate) struct Args {
    /// The container (`-` for standard input).
    file: PathBuf,
    /// The track whose blocks to extract (one the track list leaves out too, when it has
    /// blocks: they are extracted as stored, with a warning).
    #[arg(
        long,
        value_name = "N",
        required_unless_present = "sidecar",
        conflicts_with = "sidecar"
    )]
    track: Option<u16>,
    /// The sidecar to extract.
    #[arg(long, value_enum, value_name = "NAME")]
    sidecar: Option<Sidecar>,
    /// Write one file per block into this folder.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["output", "sidecar"])]
    dir: Option<PathBuf>,
    /// Write to this file (`-` for standard output).
    #[arg(short, long, value_name = "OUT", required_unless_present = "dir")]
    output: Option<PathBuf>,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitCode> {
    if let Some(output) = &args.output {
        refuse_input_as_output(&args.file, output)?;
    }
    let input = Input::open_h4mk(&args.file)?;
    let demux = open(&input)?;
    let name = input.name();
    let mut report = ExtractReport {
        file: name.clone(),
        track: args.track,
        sidecar: None,
        output: String::new(),
        items: 0,
        bytes: 0,
        warnings: Vec::new(),
    };
    if let (Some(sidecar), Some(output)) = (args.sidecar, &args.output) {
        let tag = sidecar.tag();
        let Some(payload) = demux.sidecars().get(tag) else {
            // Asked for what the file does not have, as a track it does not list: bad usage.
            return Err(UsageError(format!("{name}: no {tag} sidecar in the file")).into());
        };
        write_to(output, out, |w| Ok(w.write_all(payload)?))
            .with_context(|| format!("writing {}", display_name(output)))?;
        report.sidecar = Some(tag.to_string());
        report.output = display_name(output);
        report.items = 1;
        report.bytes = payload.len() as u64;
    } else if let Some(track) = args.track {
        if require_track_or_blocks(&demux, &name, track)? {
            let text = format!(
                "{}: track {track} is not in the track list; its blocks are extracted as stored \
                 (h4mk verify says more)",
                crate::one_line(&name)
            );
            say_warning(err, &mut report.warnings, text)?;
        }
        // A file cut short is extracted up to the chunk it was cut in, with a warning, as
        // `list` lists it.
        let mut walk = UpToCut::new(&demux, &name);
        let blocks = walk
            .by_ref()
            .filter(|b| b.as_ref().map_or(true, |b| b.track == track));
        if let Some(dir) = &args.dir {
            if dir.exists() && !dir.is_dir() {
                bail!("--dir {}: not a directory", dir.display());
            }
            // Every block is read, its CRC checked, and its file named (and looked up) before
            // anything is written, so a damaged block fails the command with the folder as it
            // was.
            let input = input_id(&args.file);
            let mut files = Vec::new();
            for b in blocks {
                let b = b.with_context(|| name.clone())?;
                let path = dir.join(format!(
                    "{:010}_{}_{}.bin",
                    b.ts_ms,
                    b.kind.letter(),
                    b.offset
                ));
                let existing = file_id(&path);
                if no_clobber() && fs::symlink_metadata(&path).is_ok() {
                    return Err(exists(&path));
                }
                if existing.is_some() && existing == input {
                    return Err(UsageError(format!(
                        "--dir {}: block file {} would replace the input",
                        dir.display(),
                        path.display()
                    ))
                    .into());
                }
                // What the write would refuse (a folder, a link to nothing), refused before
                // anything is written.
                let refused = match existing {
                    Some(_) => path.is_dir(),
                    None => fs::symlink_metadata(&path).is_ok(),
                };
                if refused {
                    bail!(
                        "--dir {}: block file {} is a folder or a link to nothing",
                        dir.display(),
                        path.display()
                    );
                }
                files.push((path, b.opaque, existing.is_some()));
            }
            // The folders this run makes, outermost first, then the files it creates: all
            // removed, newest first, if writing fails or the process is interrupted. A folder
            // is registered only once this run has made it: one that was there (reached
            // through `..`, or made meanwhile by someone else) is never removed.
            let mut made = Vec::new();
            let mut missing: Vec<&Path> = dir
                .ancestors()
                .take_while(|p| !p.as_os_str().is_empty() && !p.exists())
                .collect();
            missing.reverse();
            for folder in missing {
                match Unfinished::make(|| fs::create_dir(folder).map(|()| (folder.to_owned(), ())))
                {
                    Ok((u, ())) => made.push(u),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => {
                        made.into_iter().rev().for_each(Unfinished::remove);
                        return Err(e).with_context(|| format!("creating {}", folder.display()));
                    }
                }
            }
            let mut write_all = || -> Result<()> {
                for (path, opaque, existed) in &files {
                    // Registered before its temporary file, so that an interruption removes the
                    // temporary file first: a rename that beats it leaves a file removed next,
                    // one that comes after it fails.
                    if !existed {
                        made.push(Unfinished::new(path.clone()));
                    }
                    let mut f = AtomicFile::create(path, false)?;
                    f.writer().write_all(opaque)?;
                    f.commit_unsynced()?;
                    report.items += 1;
                    report.bytes += opaque.len() as u64;
                }
                Ok(())
            };
            if let Err(e) = write_all() {
                made.into_iter().rev().for_each(Unfinished::remove);
                return Err(e);
            }
            report.output = display_name(dir);
        } else if let Some(output) = &args.output {
            if is_stdout(output) {
                // Standard output cannot be taken back: every chunk is checked before the
                // first block goes out, as `--dir` and `decode` do (a file output is removed
                // on failure instead). It used to stream the blocks before a damaged one.
                for chunk in UpToCut::new(&demux, &name) {
                    chunk.with_context(|| name.clone())?;
                }
            }
            let (items, bytes) = write_to(output, out, |w| {
                let (mut items, mut bytes) = (0u64, 0u64);
                for b in blocks {
                    let b = b.with_context(|| name.clone())?;
                    let len = u32::try_from(b.opaque.len()).with_context(|| {
                        format!(
                            "{name}: block at offset {} is {} bytes, too long for a u32 length prefix",
                            b.offset,
                            b.opaque.len()
                        )
                    })?;
                    w.write_all(&len.to_le_bytes())?;
                    w.write_all(b.opaque)?;
                    items += 1;
                    bytes += u64::from(len);
                }
                Ok((items, bytes))
            })?;
            report.items = items;
            report.bytes = bytes;
            report.output = display_name(output);
        }
        if let Some(text) = walk.cut {
            say_warning(err, &mut report.warnings, text)?;
        }
    } else {
        bail!("give --track N (with --dir or -o) or --sidecar NAME (with -o)");
    }
    let to_stdout = args.output.as_deref().is_some_and(is_stdout);
    let Some(out) = report_sink(to_stdout, args.json, out, err) else {
        return Ok(ExitCode::SUCCESS);
    };
    if args.json {
        write_json(out, &report)?;
    } else if let Some(sidecar) = &report.sidecar {
        writeln!(
            out,
            "wrote the {sidecar} sidecar ({} bytes) to {}",
            report.bytes,
            crate::one_line(&report.output)
        )?;
    } else {
        writeln!(
            out,
            "wrote {} block{} of track {} ({} opaque bytes) to {}",
            report.items,
            plural(report.items),
            args.track.unwrap_or_default(),
            report.bytes,
            crate::one_line(&report.output)
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
