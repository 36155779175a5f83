//! `cargo xtask demo`: the main job, end to end, on built-in data.
//!
//! Builds `h4mk` in release, writes a test signal (tones and a chirp) as a WAV file under
//! `target/demo/`, and runs the commands a user would, echoing each one and its output: encode
//! it into a container, inspect, verify and plan it, decode a range and the whole track back
//! to WAV, encode a stereo signal as one track per channel and decode both tracks back into
//! one stereo file, cut a range out of the container and put tracks of two containers
//! together (`remux`), then build and list the original's multi-track demo file. Ends with the
//! SNR of the decoded audio against the input, computed here, and fails if any command fails
//! or an SNR is below [`MIN_SNR_DB`].

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use h4mk_adapters::signal::{sample_mix, snr_db};
use h4mk_adapters::{Pcm, WavStream, WavWriter, read_wav, write_wav};

use crate::ci::cargo;

/// The demo fails below this SNR of the decoded audio against the input.
const MIN_SNR_DB: f64 = 20.0;
/// Sample rate of the test signal.
const RATE: u32 = 48_000;
/// Its length in seconds.
const SECONDS: f64 = 4.0;

pub(crate) fn run(root: &Path) -> Result<()> {
    cargo(root, &["build", "--release", "-p", "h4mk-cli"], &[])?;
    let target = target_dir(root);
    let h4mk = target
        .join("release")
        .join(format!("h4mk{}", std::env::consts::EXE_SUFFIX));
    let dir = target.join("demo");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    println!();
    println!(
        "# A {SECONDS} s test signal at {RATE} Hz: tones at 220, 1000 and 3520 Hz and a chirp from 100 Hz to 8 kHz"
    );
    let wav = dir.join("signal.wav");
    let file =
        std::fs::File::create(&wav).with_context(|| format!("creating {}", wav.display()))?;
    write_wav(
        std::io::BufWriter::new(file),
        &Pcm::new(RATE, sample_mix(RATE, SECONDS)),
    )
    .with_context(|| format!("writing {}", wav.display()))?;
    println!("wrote {}", wav.display());

    let run = |title: &str, args: &[&str]| -> Result<String> {
        println!();
        println!("# {title}");
        h4mk_run(&h4mk, &dir, args)
    };
    run(
        "Encode it with the DSP adapter: DSP1 blocks, two B-blocks between anchors",
        &[
            "encode",
            "--adapter",
            "dsp",
            "--b-blocks",
            "2",
            "signal.wav",
            "-o",
            "signal.h4mk",
        ],
    )?;
    run("What the container holds", &["info", "signal.h4mk"])?;
    run("Every CRC and the structure", &["verify", "signal.h4mk"])?;
    run(
        "The blocks to decode to show 2000 ms: it falls in a B-block, decoded after its forward anchor",
        &["chain", "--track", "1", "--t-ms", "2000", "signal.h4mk"],
    )?;
    run(
        "The blocks to decode to play 1000..=1500 ms",
        &[
            "range",
            "--track",
            "1",
            "--from-ms",
            "1000",
            "--to-ms",
            "1500",
            "signal.h4mk",
        ],
    )?;
    let range = run(
        "Decode 1000 to 2000 ms to WAV, cut to the sample (the JSON report says where its samples start)",
        &[
            "decode",
            "--adapter",
            "dsp",
            "--track",
            "1",
            "--from-ms",
            "1000",
            "--to-ms",
            "2000",
            "--json",
            "signal.h4mk",
            "-o",
            "range.wav",
        ],
    )?;
    run(
        "Decode the whole track to WAV",
        &[
            "decode",
            "--adapter",
            "dsp",
            "--track",
            "1",
            "signal.h4mk",
            "-o",
            "decoded.wav",
        ],
    )?;
    let stereo = write_stereo(&dir)?;
    run(
        "Encode it as one track per channel",
        &[
            "encode",
            "--adapter",
            "dsp",
            "--split-channels",
            "stereo.wav",
            "-o",
            "stereo.h4mk",
        ],
    )?;
    run(
        "Both tracks decoded side by side into one stereo WAV file",
        &[
            "decode",
            "--adapter",
            "dsp",
            "--track",
            "1,2",
            "stereo.h4mk",
            "-o",
            "stereo_decoded.wav",
        ],
    )?;
    run(
        "Cut 1000..=2000 ms out of the container, no block decoded: the blocks that span needs, \
         from the keyframe before it",
        &[
            "remux",
            "--from-ms",
            "1000",
            "--to-ms",
            "2000",
            "signal.h4mk",
            "-o",
            "cut.h4mk",
        ],
    )?;
    run(
        "The same time decoded from the cut",
        &[
            "decode",
            "--adapter",
            "dsp",
            "--track",
            "1",
            "--from-ms",
            "1000",
            "--to-ms",
            "2000",
            "cut.h4mk",
            "-o",
            "cut_range.wav",
        ],
    )?;
    run(
        "The mono track and the stereo file's right channel, together in one container",
        &[
            "remux",
            "signal.h4mk",
            "stereo.h4mk",
            "--map",
            "0:1",
            "--map",
            "1:2",
            "-o",
            "together.h4mk",
        ],
    )?;
    run(
        "The original's multi-track demo file, built byte for byte as the Python reference writes it",
        &["build", "--demo", "-o", "demo_multitrack.h4mk"],
    )?;
    run(
        "Listed as the original's mt_list prints it",
        &["mt_list", "--in", "demo_multitrack.h4mk"],
    )?;

    println!();
    println!("# Decoded against the input");
    let input = read(&wav)?;
    let decoded = read(&dir.join("decoded.wav"))?;
    if decoded.samples.len() != input.samples.len() {
        bail!(
            "decoded.wav has {} samples, signal.wav {}",
            decoded.samples.len(),
            input.samples.len()
        );
    }
    let whole = snr_db(&input.samples, &decoded.samples);
    println!(
        "whole track: SNR {whole:.1} dB over {} samples ({:.1} s)",
        input.samples.len(),
        input.seconds()
    );
    let report: serde_json::Value =
        serde_json::from_str(&range).context("reading decode's JSON report")?;
    let start = report["start_sample"]
        .as_u64()
        .context("decode's report has no start_sample")? as usize;
    let part = read(&dir.join("range.wav"))?;
    let Some(reference) = input.samples.get(start..start + part.samples.len()) else {
        bail!("range.wav runs past the end of the input");
    };
    let range_snr = snr_db(reference, &part.samples);
    // A decode from the middle adds in the tail of the block before it: its samples are those
    // of the whole decode, bit for bit, exactly the second asked for.
    let rate = u64::from(input.sample_rate);
    if (start as u64, part.samples.len() as u64) != (rate, rate) {
        bail!(
            "range.wav holds {} samples from sample {start}, not the second from 1000 ms",
            part.samples.len()
        );
    }
    let same = decoded.samples.get(start..start + part.samples.len()) == Some(&part.samples[..]);
    println!(
        "1000..2000 ms: SNR {range_snr:.1} dB over {} samples from sample {start}; {}",
        part.samples.len(),
        if same {
            "the same samples as the whole decode's"
        } else {
            "NOT the same samples as the whole decode's"
        }
    );
    if !same {
        bail!("range.wav differs from decoded.wav over the samples it covers");
    }
    let cut_same =
        std::fs::read(dir.join("cut_range.wav"))? == std::fs::read(dir.join("range.wav"))?;
    println!(
        "1000..2000 ms from the cut: {}",
        if cut_same {
            "the same bytes as from the whole container"
        } else {
            "NOT the same bytes as from the whole container"
        }
    );
    if !cut_same {
        bail!("cut_range.wav differs from range.wav");
    }

    let decoded_stereo = read_channels(&dir.join("stereo_decoded.wav"))?;
    let mut stereo_snr = Vec::new();
    for (side, (input, decoded)) in ["left", "right"]
        .into_iter()
        .zip(stereo.iter().zip(&decoded_stereo))
    {
        if decoded.len() != input.len() {
            bail!(
                "stereo_decoded.wav's {side} channel has {} samples, not {}",
                decoded.len(),
                input.len()
            );
        }
        let snr = snr_db(input, decoded);
        println!(
            "stereo, {side} channel: SNR {snr:.1} dB over {} samples",
            input.len()
        );
        stereo_snr.push((side, snr));
    }

    println!();
    println!("# Files, in {}", dir.display());
    let mut names: Vec<(String, u64)> = std::fs::read_dir(&dir)?
        .map(|e| {
            let e = e?;
            Ok((
                e.file_name().to_string_lossy().into_owned(),
                e.metadata()?.len(),
            ))
        })
        .collect::<Result<_>>()?;
    names.sort();
    for (name, len) in names {
        println!("{len:>10}  {name}");
    }

    let checked = [("whole track", whole), ("range", range_snr)];
    for (what, snr) in checked.into_iter().chain(stereo_snr) {
        if snr < MIN_SNR_DB {
            bail!("the {what} decodes at {snr:.1} dB SNR, below {MIN_SNR_DB} dB");
        }
    }
    println!();
    println!("demo ok: every command succeeded; SNR {whole:.1} dB (at least {MIN_SNR_DB} dB)");
    Ok(())
}

/// Writes `stereo.wav` in `dir` (the test signal on the left, backwards and quieter on the
/// right) and returns its channels as read back, what the encoder sees.
fn write_stereo(dir: &Path) -> Result<Vec<Vec<f32>>> {
    let left = sample_mix(RATE, SECONDS);
    let right: Vec<f32> = left.iter().rev().map(|s| 0.6 * s).collect();
    let path = dir.join("stereo.wav");
    let file =
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let mut wav = WavWriter::new(std::io::BufWriter::new(file), RATE, 2, left.len() as u64)?;
    let frames: Vec<f32> = left
        .iter()
        .zip(&right)
        .flat_map(|(&l, &r)| [l, r])
        .collect();
    wav.push(&frames)?;
    wav.finish()?;
    println!();
    println!(
        "# A stereo signal: the test signal on the left, backwards at 0.6 of its level on the right"
    );
    println!("wrote {}", path.display());
    read_channels(&path)
}

/// Every channel of a WAV file.
fn read_channels(path: &Path) -> Result<Vec<Vec<f32>>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut wav = WavStream::new(std::io::BufReader::new(file))?;
    let mut channels = vec![Vec::new(); wav.channels()];
    while wav.read_channels(&mut channels, 1 << 16)? > 0 {}
    Ok(channels)
}

/// Where cargo puts build output: `$CARGO_TARGET_DIR` (relative to the workspace root when
/// relative), else `target/`.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// Runs `h4mk ARGS` in `dir`, echoing the command line and everything it prints; returns its
/// standard output, or fails if it fails.
fn h4mk_run(h4mk: &Path, dir: &Path, args: &[&str]) -> Result<String> {
    let line = format!("h4mk {}", args.join(" "));
    println!("$ {line}");
    let out = Command::new(h4mk)
        .args(args)
        .current_dir(dir)
        .output()
        .with_context(|| format!("starting {}", h4mk.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        bail!("`{line}` failed ({})", out.status);
    }
    Ok(stdout)
}

/// A WAV file as mono samples.
fn read(path: &Path) -> Result<Pcm> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    read_wav(std::io::BufReader::new(file)).with_context(|| format!("reading {}", path.display()))
}
