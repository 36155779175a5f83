//! `cargo xtask fuzz-smoke [secs]`: every fuzz target for `secs` seconds, through `fuzz/smoke.sh`.
//!
//! Not part of `cargo xtask ci`: it needs cargo-fuzz (`cargo install cargo-fuzz --locked`) and
//! minutes of machine time. Before the run it writes the seeds that are taken from the fixtures
//! (`fuzz/corpus/<target>/seeds/`, committed; writing them again changes nothing unless the
//! fixtures changed), then runs `bash fuzz/smoke.sh <secs>`, the one copy of the command line
//! each target runs with, which prints the executions per target and fails when a target
//! crashed, hung or ran out of memory. See docs/RELIABILITY.md §2.4.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use h4mk_adapters::{EncoderConfig, Pcm, encode, signal::sample_mix, write_wav};
use h4mk_format::{ContainerRef, Tag};
use h4mk_gop::GopFlags;
use h4mk_mt::Demuxer;

// The `dsp_decode` target's input layout, one copy shared with the fuzz crate (its own
// workspace, so included by path).
#[allow(dead_code, unreachable_pub)]
#[path = "../../fuzz/src/checks_dsp.rs"]
mod checks_dsp;

use checks_dsp::Op;

/// Seeds larger than this are left out: the targets run with `-max_len=16384`, and a small seed
/// mutates faster.
const MAX_SEED_LEN: usize = 4096;

/// Blocks per `chain_plan` seed: the target reads at most 256 (`checks_plan::MAX_BLOCKS`).
const MAX_SEED_BLOCKS: usize = 256;

/// Writes the seeds, then (unless `seeds_only`) runs `fuzz/smoke.sh secs`.
pub(crate) fn smoke(root: &Path, secs: u64, seeds_only: bool) -> Result<()> {
    let written = seeds(root)?;
    println!(
        "fuzz seeds: {written} taken from the fixtures or encoded, under fuzz/corpus/*/seeds/"
    );
    if seeds_only {
        return Ok(());
    }
    let has_cargo_fuzz = Command::new(cargo())
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_cargo_fuzz {
        bail!("cargo-fuzz is missing: cargo install cargo-fuzz --locked");
    }
    let secs = secs.to_string();
    println!("$ bash fuzz/smoke.sh {secs}");
    let status = Command::new("bash")
        .arg(root.join("fuzz/smoke.sh"))
        .arg(&secs)
        .current_dir(root)
        .status()
        .context("starting bash fuzz/smoke.sh")?;
    if !status.success() {
        bail!("a fuzz target failed ({status}); its input and how to reproduce it are above");
    }
    Ok(())
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Writes the seeds taken from the fixtures: every TSEK payload (`seek_table`), every TRAK
/// payload (`track_list`) and every track's GOP flags words (`chain_plan`, the input layout it
/// reads); and for `dsp_decode` and `wav`, which no fixture feeds, the streams of [`dsp_seeds`]
/// and the files of [`wav_seeds`]. Returns
/// how many seeds there are.
pub(crate) fn seeds(root: &Path) -> Result<usize> {
    let mut seeds: BTreeMap<(&str, String), Vec<u8>> = BTreeMap::new();
    for (name, input) in dsp_seeds()? {
        seeds.insert(("dsp_decode", name.to_string()), input);
    }
    for (name, input) in wav_seeds()? {
        seeds.insert(("wav", name.to_string()), input);
    }
    for dir in ["reference", "valid"] {
        let dir = root.join("fixtures").join(dir);
        for name in crate::files_under(&dir, &[])? {
            let Some(stem) = name.strip_suffix(".h4mk") else {
                continue;
            };
            let data = fs::read(dir.join(&name)).with_context(|| format!("reading {name}"))?;
            let file = ContainerRef::parse(&data).with_context(|| format!("parsing {name}"))?;
            for chunk in file.chunks() {
                let chunk = chunk.with_context(|| format!("walking {name}"))?;
                let target = match chunk.tag {
                    Tag::TSEK => "seek_table",
                    Tag::TRAK => "track_list",
                    _ => continue,
                };
                seeds.insert(
                    (target, format!("{stem}-{}", chunk.offset)),
                    chunk.payload.to_vec(),
                );
            }
            let demux = Demuxer::open(&data).with_context(|| format!("opening {name}"))?;
            let blocks: Vec<_> = demux
                .blocks()
                .collect::<Result<_, _>>()
                .with_context(|| format!("reading the blocks of {name}"))?;
            for t in demux.tracks() {
                let mut words = Vec::new();
                for b in blocks
                    .iter()
                    .filter(|b| b.track == t.track_id)
                    .take(MAX_SEED_BLOCKS)
                {
                    let flags = GopFlags::new(b.ts_ms, b.kind)?;
                    words.extend_from_slice(&flags.to_bits().to_le_bytes());
                }
                if !words.is_empty() {
                    seeds.insert(("chain_plan", format!("{stem}-track{}", t.track_id)), words);
                }
            }
        }
    }
    seeds.retain(|_, bytes| bytes.len() <= MAX_SEED_LEN);
    for ((target, name), bytes) in &seeds {
        let dir = root.join("fuzz/corpus").join(target).join("seeds");
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(name);
        if fs::read(&path).ok().as_ref() != Some(bytes) {
            fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(seeds.len())
}

/// Small WAV files in the `wav` target's layout (a piece-size byte, then the file): 16-bit
/// mono as `write_wav` writes it, 32-bit float stereo whose data length is left unknown
/// (as `ffmpeg -f wav -` writes to a pipe), ending inside a frame, and 64-bit float stereo
/// (`WAVE_FORMAT_EXTENSIBLE`) with sox's placeholder length, ending inside a sample. Each is long enough for a
/// block at the encoder's defaults.
fn wav_seeds() -> Result<Vec<(&'static str, Vec<u8>)>> {
    let signal = sample_mix(8000, 0.125);
    let mut mono = vec![99];
    write_wav(&mut mono, &Pcm::new(8000, signal.clone()))?;
    let mut stereo = vec![200];
    stereo.extend_from_slice(b"RIFF\xff\xff\xff\xffWAVEfmt ");
    for field in [16u32, 0x0002_0003, 8000, 64_000, 0x0020_0008] {
        stereo.extend_from_slice(&field.to_le_bytes()); // float, 2 channels, 8 bytes a frame
    }
    stereo.extend_from_slice(b"data\xff\xff\xff\xff");
    for s in signal.iter().take(400) {
        stereo.extend_from_slice(&s.to_le_bytes());
        stereo.extend_from_slice(&(-s).to_le_bytes());
    }
    stereo.push(0);
    // 64-bit float stereo as WAVE_FORMAT_EXTENSIBLE, its data length sox's placeholder for a
    // pipe, ending inside a sample.
    let mut double = vec![150];
    double.extend_from_slice(b"RIFF\xff\xff\xff\x7fWAVEfmt ");
    for field in [
        40u32,
        0x0002_FFFE,
        8000,
        128_000,
        0x0040_0010,
        0x0040_0016,
        3,
    ] {
        double.extend_from_slice(&field.to_le_bytes()); // cbSize 22, valid bits 64, mask 3
    }
    double.extend_from_slice(b"\x03\0\0\0\0\0\x10\0\x80\0\0\xaa\0\x38\x9b\x71"); // float
    double.extend_from_slice(b"data\0\xf0\xff\x7f");
    for s in signal.iter().take(250) {
        double.extend_from_slice(&f64::from(*s).to_le_bytes());
        double.extend_from_slice(&f64::from(-s).to_le_bytes());
    }
    double.extend_from_slice(&[1, 2, 3]);
    Ok(vec![
        ("mono16", mono),
        ("stereo-float-streamed", stereo),
        ("stereo-f64-extensible-placeholder", double),
    ])
}

/// Small DSP streams in `dsp_decode`'s layout, each block with its op in decode order: DSP1 as
/// the encoder writes it, with and without B-blocks, and a hand-built DSP0 I, P and B.
fn dsp_seeds() -> Result<Vec<(&'static str, Vec<u8>)>> {
    let mut out = Vec::new();
    for (name, b_blocks) in [("dsp1-ip", 0), ("dsp1-ipb", 1)] {
        let config = EncoderConfig {
            frame_size: 64,
            hop: 32,
            bins_per_frame: 8,
            frames_per_block: 2,
            key_interval: 4,
            b_blocks,
        };
        let blocks = encode(&sample_mix(8000, 0.25), 8000, &config)?;
        let steps: Vec<(Op, &[u8])> = blocks
            .iter()
            .map(|b| (Op::of(b.kind), &b.bytes[..]))
            .collect();
        out.push((name, checks_dsp::input(&steps)));
    }
    let dsp0 = checks_dsp::dsp0_block;
    let key = dsp0(&[(1, 40_000, 0), (5, 20_000, 16_384), (9, 65_535, 32_768)]);
    let p = dsp0(&[(5, 1_000, 0), (12, 30_000, 49_152)]);
    let b = dsp0(&[(1, 500, 8_192)]);
    let steps = [
        (Op::Key, &key[..]),
        (Op::Predictive, &p),
        (Op::Bidirectional, &b),
    ];
    out.push(("dsp0-ipb", checks_dsp::input(&steps)));
    Ok(out)
}
