//! `cargo xtask perf`: whole-process figures for docs/PERFORMANCE.md.
//!
//! Builds the release binaries, writes large containers under `target/perf/` (deterministic, so
//! reruns compare like with like), and times whole processes with a warm page cache: each
//! command runs once to warm up, then `RUNS` times, and the median counts. Criterion benches
//! measure the same work in-process; this measures what a user waits for.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use h4mk_gop::BlockKind;
use h4mk_mt::{MuxOptions, Muxer, Sidecars, TrackSpec};

use crate::ci::cargo;

/// Timed runs per command, after one warm-up run.
const RUNS: usize = 5;

/// A container to generate: how many blocks, of what sizes, how often a keyframe.
struct Shape {
    name: &'static str,
    blocks: u64,
    min_len: u32,
    max_len: u32,
}

const VERIFY_256MIB: Shape = Shape {
    name: "verify_256mib",
    blocks: 132_000,
    min_len: 40,
    max_len: 4000,
};
const BIG_1M: Shape = Shape {
    name: "blocks_1m",
    blocks: 1_000_000,
    min_len: 40,
    max_len: 2100,
};
const SMALL_1K: Shape = Shape {
    name: "blocks_1k",
    blocks: 1_000,
    min_len: 40,
    max_len: 2100,
};

/// Keyframe interval in blocks of track 1.
const GOP: u64 = 25;
/// Track 2 (control, all keyframes) has a block every this many of track 1's.
const CONTROL_EVERY: u64 = 50;
/// Milliseconds between blocks of a track.
const STEP_MS: u64 = 20;

pub(crate) fn run(root: &Path) -> Result<()> {
    if cfg!(debug_assertions) {
        // The muxing is timed inside this process: in the dev build `cargo xtask` runs,
        // crc32fast and the muxer are unoptimised and the figure is ten times too slow.
        return cargo(
            root,
            &["run", "--release", "--quiet", "-p", "xtask", "--", "perf"],
            &[],
        );
    }
    cargo(root, &["build", "--release", "-p", "h4mk-cli"], &[])?;
    let bin = root.join("target/release");
    let dir = root.join("target/perf");
    std::fs::create_dir_all(&dir)?;
    let h4mk = bin.join("h4mk");
    let xtask = std::env::current_exe().context("finding the running xtask")?;

    let mut report = String::from("| measurement | median | figure |\n|---|---|---|\n");
    let mut row = |what: &str, median: Duration, figure: String| {
        let line = format!(
            "| {what} | {:.1} ms | {figure} |\n",
            median.as_secs_f64() * 1e3
        );
        print!("{line}");
        report.push_str(&line);
    };

    // Verification against one CRC pass over the same file.
    let (verify_file, verify_mux) = generate(&dir, &VERIFY_256MIB, true)?;
    let size = std::fs::metadata(&verify_file)?.len();
    let crc = time(&xtask, &["crc32", path_str(&verify_file)?])?;
    let verify = time(&h4mk, &["verify", path_str(&verify_file)?])?;
    row(
        "one-pass crc32 of the 256 MiB file (xtask crc32)",
        crc,
        gib_per_s(size, crc),
    );
    row(
        "h4mk verify, same file",
        verify,
        format!(
            "{}, {:.2} of the crc32 process",
            gib_per_s(size, verify),
            crc.as_secs_f64() / verify.as_secs_f64()
        ),
    );

    // Muxing into a file next to copying the same bytes.
    let copy_target = dir.join("copy.h4mk");
    let cp = time(
        Path::new("cp"),
        &[path_str(&verify_file)?, path_str(&copy_target)?],
    )?;
    row("cp of the 256 MiB file", cp, gib_per_s(size, cp));
    row(
        "muxing the same blocks into a file (in-process, through a 1 MiB BufWriter)",
        verify_mux,
        format!(
            "{}, {:.2} of cp",
            gib_per_s(size, verify_mux),
            cp.as_secs_f64() / verify_mux.as_secs_f64()
        ),
    );
    let _ = std::fs::remove_file(&copy_target);

    // Remuxing the same file whole: every chunk read and checked, every block written again.
    // Into a file it is synced before it is renamed into place (as every output of h4mk), so
    // next to a copy synced too; to standard output (here /dev/null) it is the work alone.
    let remuxed = dir.join("remux.h4mk");
    let cp_sync = time(
        Path::new("sh"),
        &[
            "-c",
            r#"cp "$0" "$1" && sync "$1""#,
            path_str(&verify_file)?,
            path_str(&copy_target)?,
        ],
    )?;
    let remux = time(
        &h4mk,
        &["remux", path_str(&verify_file)?, "-o", path_str(&remuxed)?],
    )?;
    let remux_out = time(&h4mk, &["remux", path_str(&verify_file)?, "-o", "-"])?;
    row(
        "cp, then sync of the copy",
        cp_sync,
        gib_per_s(size, cp_sync),
    );
    row(
        "h4mk remux of the 256 MiB file, whole, into a file",
        remux,
        format!(
            "{}, {:.2} of cp and sync",
            gib_per_s(size, remux),
            cp_sync.as_secs_f64() / remux.as_secs_f64()
        ),
    );
    row(
        "h4mk remux, same, to standard output (/dev/null)",
        remux_out,
        gib_per_s(size, remux_out),
    );
    let _ = std::fs::remove_file(&remuxed);
    let _ = std::fs::remove_file(&copy_target);

    // Open + chain and list on 1,000,000 blocks next to 1,000.
    let (big, _) = generate(&dir, &BIG_1M, false)?;
    let (small, _) = generate(&dir, &SMALL_1K, false)?;
    let big_t = (BIG_1M.blocks / 2 * STEP_MS - 7).to_string();
    let small_t = (SMALL_1K.blocks / 2 * STEP_MS - 7).to_string();
    let chain_big = time(
        &h4mk,
        &["chain", path_str(&big)?, "--track", "1", "--t-ms", &big_t],
    )?;
    let chain_small = time(
        &h4mk,
        &[
            "chain",
            path_str(&small)?,
            "--track",
            "1",
            "--t-ms",
            &small_t,
        ],
    )?;
    let big_size = std::fs::metadata(&big)?.len();
    row("h4mk chain, 1,000 blocks", chain_small, String::new());
    row(
        &format!(
            "h4mk chain, 1,000,000 blocks ({:.2} GiB)",
            big_size as f64 / f64::from(1 << 30)
        ),
        chain_big,
        format!(
            "{:.2}x the 1,000-block file",
            chain_big.as_secs_f64() / chain_small.as_secs_f64()
        ),
    );
    let list = time(&h4mk, &["list", path_str(&big)?])?;
    let listed = BIG_1M.blocks + BIG_1M.blocks.div_ceil(CONTROL_EVERY);
    row(
        &format!("h4mk list, {listed} blocks (stdout to /dev/null)"),
        list,
        format!("{:.2} M blocks/s", listed as f64 / list.as_secs_f64() / 1e6),
    );
    // A one-minute cut reads the index and the minute's blocks, not the file.
    let (from, to) = (
        big_t.clone(),
        (BIG_1M.blocks / 2 * STEP_MS + 60_000).to_string(),
    );
    let cut = dir.join("cut.h4mk");
    let cut_small = time(
        &h4mk,
        &[
            "remux",
            path_str(&small)?,
            "--from-ms",
            "0",
            "--to-ms",
            "60000",
            "-o",
            path_str(&cut)?,
        ],
    )?;
    let cut_big = time(
        &h4mk,
        &[
            "remux",
            path_str(&big)?,
            "--from-ms",
            &from,
            "--to-ms",
            &to,
            "-o",
            path_str(&cut)?,
        ],
    )?;
    // Open to the end: planned at its start only, then read to the file's end.
    let big_len = std::fs::metadata(&big)?.len();
    let cut_rest = time(
        &h4mk,
        &["remux", path_str(&big)?, "--from-ms", &from, "-o", "-"],
    )?;
    let _ = std::fs::remove_file(&cut);
    row(
        "h4mk remux, the second half of the 1,000,000-block file (--from-ms alone), to /dev/null",
        cut_rest,
        gib_per_s(big_len / 2, cut_rest),
    );
    row(
        "h4mk remux, a 1-minute cut of the 1,000,000-block file",
        cut_big,
        format!(
            "{:.2}x remuxing the whole 1,000-block file (20 s)",
            cut_big.as_secs_f64() / cut_small.as_secs_f64()
        ),
    );
    std::fs::write(dir.join("report.md"), &report)?;
    println!("written to {}", dir.join("report.md").display());
    Ok(())
}

/// `cargo xtask crc32 FILE`: the baseline, one CRC pass over a file read in 1 MiB pieces.
pub(crate) fn crc32(file: &Path) -> Result<()> {
    let mut f = File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut hasher = crc32fast::Hasher::new();
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    println!("{:08x}", hasher.finalize());
    Ok(())
}

/// Writes the container for `shape` (two tracks interleaved: 1 carries the blocks, 2 a
/// keyframe a second) and returns its path and the time the muxing took. `timed` writes it
/// once to warm up and then `RUNS` times, and the median counts, as for [`time`].
fn generate(dir: &Path, shape: &Shape, timed: bool) -> Result<(PathBuf, Duration)> {
    let path = dir.join(format!("{}.h4mk", shape.name));
    let mut times = vec![mux_file(&path, shape)?];
    if timed {
        times.clear();
        for _ in 0..RUNS {
            times.push(mux_file(&path, shape)?);
        }
    }
    let took = median(times);
    println!(
        "wrote {} ({} bytes) in {took:.2?}",
        path.display(),
        std::fs::metadata(&path)?.len()
    );
    Ok((path, took))
}

/// The blocks of `shape`, in order: each a run of bytes counting up (mod 256) from a start,
/// its length and start drawn by a xorshift. They are slices of one short ramp, so handing them
/// over costs nothing to prepare and holds no memory; building them up front as `Vec`s took
/// about 1 GiB for [`BIG_1M`].
fn payloads<'r>(shape: &Shape, ramp: &'r [u8]) -> impl Iterator<Item = &'r [u8]> {
    let mut x = 0x2545_f491u32;
    let (min_len, span) = (shape.min_len, shape.max_len - shape.min_len + 1);
    (0..shape.blocks).map(move |_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let start = usize::from(x as u8);
        let len = (min_len + x % span) as usize;
        ramp.get(start..start + len).unwrap_or_default()
    })
}

/// Muxes the blocks of `shape` into a new file at `path`, through a 1 MiB BufWriter; returns
/// the time from creating the file to its last byte handed to the kernel.
fn mux_file(path: &Path, shape: &Shape) -> Result<Duration> {
    // Byte k of the ramp is k mod 256: a block starting at s is ramp[s..s + len].
    let ramp: Vec<u8> = (0..256 + shape.max_len as usize).map(|k| k as u8).collect();
    let started = Instant::now();
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let tracks = vec![track(1, "main", "audio"), track(2, "control", "control")];
    let mut mux = Muxer::new(
        BufWriter::with_capacity(1 << 20, file),
        tracks,
        &Sidecars::default(),
        MuxOptions::default(),
    )?;
    for (i, payload) in (0u64..).zip(payloads(shape, &ramp)) {
        let ts = u32::try_from(i * STEP_MS)?;
        let kind = if i % GOP == 0 {
            BlockKind::Key
        } else {
            BlockKind::Predictive
        };
        mux.push(1, ts, kind, payload)?;
        if i % CONTROL_EVERY == 0 {
            mux.push(2, ts, BlockKind::Key, b"{}")?;
        }
    }
    let (mut w, _) = mux.finish()?;
    w.flush()?;
    Ok(started.elapsed())
}

fn track(id: u16, name: &str, kind: &str) -> TrackSpec {
    TrackSpec {
        track_id: id,
        name: name.to_owned(),
        kind: kind.to_owned(),
        codec: "h4core".to_owned(),
        sample_rate: 0,
        channels: 0,
        note: String::new(),
    }
}

/// Median wall time of `RUNS` runs of `program args`, after one warm-up; stdout discarded.
fn time(program: &Path, args: &[&str]) -> Result<Duration> {
    let mut times = Vec::with_capacity(RUNS);
    for i in 0..=RUNS {
        let started = Instant::now();
        let status = Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .status()
            .with_context(|| format!("starting {}", program.display()))?;
        let took = started.elapsed();
        if !status.success() {
            bail!("{} {} failed ({status})", program.display(), args.join(" "));
        }
        if i > 0 {
            times.push(took);
        }
    }
    Ok(median(times))
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn gib_per_s(bytes: u64, took: Duration) -> String {
    format!(
        "{:.2} GiB/s",
        bytes as f64 / f64::from(1 << 30) / took.as_secs_f64()
    )
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .with_context(|| format!("{} is not UTF-8", p.display()))
}
