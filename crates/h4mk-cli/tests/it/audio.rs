//! Audio end to end through the built `h4mk` binary: a test signal written as WAV, `encode`,
//! `verify`, `decode` of a range, a time and the whole track compared with the input by SNR,
//! the null adapter's output against `extract`, B-blocks against none, and damaged files.

use std::path::Path;

use h4mk_adapters::signal::{sample_mix, snr_db};
use h4mk_adapters::{AdapterRegistry, Decoded, Demuxer, Pcm, Present, read_wav, write_wav};

use crate::TempDir;
use crate::binary::{h4mk, json_of as json, succeeded as ok};

/// Sample rate of the test signal.
const RATE: u32 = 48_000;
/// Its length: long enough for two keyframes at the encoder's defaults (one every 1.37 s).
const SECONDS: f64 = 2.5;

/// Writes the test signal to `DIR/in.wav` (16-bit) and returns it as read back: what the
/// encoder sees.
fn write_input(dir: &Path) -> Pcm {
    let file = std::fs::File::create(dir.join("in.wav")).unwrap();
    write_wav(file, &Pcm::new(RATE, sample_mix(RATE, SECONDS))).unwrap();
    read_wav(std::fs::File::open(dir.join("in.wav")).unwrap()).unwrap()
}

/// `h4mk encode --adapter dsp [EXTRA...] in.wav -o OUT` in `dir`; returns what it printed.
fn encode(dir: &Path, extra: &[&str], out: &str) -> String {
    let mut args = vec!["encode", "--adapter", "dsp"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["in.wav", "-o", out]);
    ok(&h4mk(dir, &args))
}

fn read(path: &Path) -> Pcm {
    read_wav(std::fs::File::open(path).unwrap()).unwrap()
}

/// Decodes `args` (after `decode --json --adapter dsp --track 1`) of `song.h4mk` into `out`,
/// checks the report against the WAV written, and returns the SNR against `input` over the
/// samples the report says the output covers, and where they start.
fn decoded_snr(dir: &Path, input: &Pcm, args: &[&str], out: &str) -> (f64, usize) {
    let mut argv = vec!["decode", "--json", "--adapter", "dsp", "--track", "1"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["song.h4mk", "-o", out]);
    let report = json(&h4mk(dir, &argv));
    let wav = read(&dir.join(out));
    let start = report["start_sample"].as_u64().unwrap() as usize;
    let samples = report["samples"].as_u64().unwrap() as usize;
    assert_eq!(report["sample_rate"], RATE);
    assert_eq!(wav.sample_rate, RATE);
    assert_eq!(wav.samples.len(), samples, "{argv:?}");
    assert_eq!(
        report["bytes"].as_u64().unwrap(),
        std::fs::metadata(dir.join(out)).unwrap().len()
    );
    let reference = &input.samples[start..start + samples];
    (snr_db(reference, &wav.samples), start)
}

#[test]
fn encode_verify_and_decode_a_range_a_time_and_the_whole_track() {
    let dir = TempDir::new("audio_round_trip");
    let d = dir.path();
    let input = write_input(d);

    let summary = encode(d, &[], "song.h4mk");
    assert!(
        summary.starts_with("wrote song.h4mk: track 1 (h4dsp1), 30 blocks (2 keyframes, 0 B-blocks), 2.500 s at 48000 Hz,"),
        "{summary}"
    );
    assert_eq!(
        ok(&h4mk(d, &["verify", "song.h4mk"])),
        format!(
            "song.h4mk: ok (32 chunks, {} bytes, 1 track)\n",
            std::fs::metadata(d.join("song.h4mk")).unwrap().len()
        )
    );
    let info = json(&h4mk(d, &["info", "--json", "song.h4mk"]));
    let track = &info["tracks"][0];
    assert_eq!(
        (&track["name"], &track["codec"], &track["sample_rate"]),
        (&"in".into(), &"h4dsp1".into(), &RATE.into())
    );

    // A range across the second keyframe (1365 ms), starting mid-GOP.
    let (range, range_start) = decoded_snr(
        d,
        &input,
        &["--from-ms", "1000", "--to-ms", "1800"],
        "range.wav",
    );
    println!("range 1000..=1800 ms: SNR {range:.1} dB");
    assert!(range >= 20.0, "range SNR {range:.1} dB");

    let (at, at_start) = decoded_snr(d, &input, &["--at-ms", "1500"], "at.wav");
    println!("at 1500 ms: SNR {at:.1} dB");
    assert!(at >= 20.0, "chain target SNR {at:.1} dB");

    let (whole, _) = decoded_snr(d, &input, &[], "whole.wav");
    println!("whole track: SNR {whole:.1} dB");
    assert!(whole >= 20.0, "whole-track SNR {whole:.1} dB");
    let whole = read(&d.join("whole.wav"));
    assert_eq!(whole.samples.len(), input.samples.len());

    // A part is the same samples as the whole, bit for bit, from its first sample on: the
    // decode adds in the tail of the block before the part (docs/ADAPTERS.md §3.6).
    for (part, start) in [("range.wav", range_start), ("at.wav", at_start)] {
        let part = read(&d.join(part)).samples;
        assert!(
            whole.samples[start..start + part.len()] == part[..],
            "{start}"
        );
    }

    // Text report, and standard output.
    let text = ok(&h4mk(
        d,
        &[
            "decode",
            "--adapter",
            "dsp",
            "--track",
            "1",
            "song.h4mk",
            "-o",
            "again.wav",
        ],
    ));
    assert_eq!(
        text,
        "song.h4mk: track 1 (whole, 0 to 2464 ms) with dsp: 30 steps decoded, 30 blocks output, \
         120000 samples at 48000 Hz (2.500 s from sample 0); wrote 240044 bytes to again.wav\n"
    );
    let piped = h4mk(
        d,
        &[
            "decode",
            "--adapter",
            "dsp",
            "--track",
            "1",
            "song.h4mk",
            "-o",
            "-",
        ],
    );
    assert!(piped.status.success());
    assert!(piped.stdout == std::fs::read(d.join("whole.wav")).unwrap());
}

/// `--to-ms` alone runs from 0, as for `remux` (`--from-ms` alone, to the end:
/// `a_time_range_is_the_whole_decode_cut_to_the_sample`); a whole decode reports the track's
/// own first pts, not 0.
#[test]
fn either_end_of_a_range_alone_runs_from_the_start_or_to_the_end() {
    let dir = TempDir::new("audio_open_range");
    let d = dir.path();
    write_input(d);
    encode(d, &[], "song.h4mk");
    let decode = |file: &str, args: &[&str], out: &str| {
        let mut argv = vec!["decode", "--json", "--adapter", "dsp", "--track", "1"];
        argv.extend_from_slice(args);
        argv.extend_from_slice(&[file, "-o", out]);
        let report = json(&h4mk(d, &argv));
        (report, std::fs::read(d.join(out)).unwrap())
    };
    let pts = |file: &str| {
        let track = json(&h4mk(d, &["info", "--json", file]))["tracks"][0].clone();
        let ms = |key: &str| track[key].as_u64().unwrap();
        (ms("first_pts_ms"), ms("last_pts_ms"))
    };
    let (open, open_wav) = decode("song.h4mk", &["--to-ms", "1000"], "open.wav");
    let (mut closed, closed_wav) = decode(
        "song.h4mk",
        &["--from-ms", "0", "--to-ms", "1000"],
        "closed.wav",
    );
    assert!(open_wav == closed_wav);
    // The same report, the range included, but for the output's name.
    closed["output"] = open["output"].clone();
    assert_eq!(open, closed);

    // A track that starts late: a cut of the song from 1500 ms (from the keyframe at
    // 1365 ms it needs), its pts kept.
    ok(&h4mk(
        d,
        &["remux", "--from-ms", "1500", "song.h4mk", "-o", "late.h4mk"],
    ));
    let (first, last) = pts("late.h4mk");
    assert!(first > 0);
    let (whole, _) = decode("late.h4mk", &[], "late.wav");
    assert_eq!(
        (&whole["from_ms"], &whole["to_ms"]),
        (&first.into(), &last.into())
    );
    let text = ok(&h4mk(
        d,
        &[
            "decode",
            "--adapter",
            "dsp",
            "--track",
            "1",
            "late.h4mk",
            "-o",
            "late.wav",
        ],
    ));
    assert!(
        text.contains(&format!("(whole, {first} to {last} ms)")),
        "{text}"
    );
}

#[test]
fn b_blocks_decode_to_the_same_samples() {
    let dir = TempDir::new("audio_b_blocks");
    let d = dir.path();
    write_input(d);
    encode(d, &[], "plain.h4mk");
    let report = json(&h4mk(
        d,
        &[
            "encode",
            "--json",
            "--adapter",
            "dsp",
            "--b-blocks",
            "2",
            "--key-interval",
            "9",
            "in.wav",
            "-o",
            "b.h4mk",
        ],
    ));
    assert_eq!(
        (
            &report["blocks"],
            &report["keyframes"],
            &report["bidirectional"]
        ),
        (&30.into(), &4.into(), &19.into())
    );
    // The settings used, the ones given and the defaults.
    assert_eq!(
        report["encoder"],
        serde_json::json!({
            "frame_size": 1024,
            "hop": 512,
            "bins_per_frame": 96,
            "frames_per_block": 8,
            "key_interval": 9,
            "b_blocks": 2
        })
    );
    ok(&h4mk(d, &["verify", "b.h4mk"]));
    // docs/ADAPTERS.md §4: the tolerance is 0, the samples are bit for bit the same.
    for span in [
        &[][..],
        &["--from-ms", "700", "--to-ms", "1900"],
        &["--at-ms", "1000"],
        &["--at-ms", "1100"],
    ] {
        let mut decoded = Vec::new();
        for file in ["plain.h4mk", "b.h4mk"] {
            let mut args = vec!["decode", "--adapter", "dsp", "--track", "1"];
            args.extend_from_slice(span);
            args.extend_from_slice(&[file, "-o", "out.wav"]);
            ok(&h4mk(d, &args));
            decoded.push(std::fs::read(d.join("out.wav")).unwrap());
        }
        assert!(decoded[0] == decoded[1], "{span:?}");
    }
}

#[test]
fn null_decode_of_a_chain_is_its_blocks_bytes() {
    let dir = TempDir::new("audio_null_chain");
    let d = dir.path();
    write_input(d);
    encode(d, &["--b-blocks", "2"], "song.h4mk");
    ok(&h4mk(
        d,
        &["extract", "--track", "1", "--dir", "blocks", "song.h4mk"],
    ));
    // 1500 ms is in a B-block: its chain holds the keyframe, the P-blocks up to its forward
    // anchor, the forward anchor and then the B-block.
    let chain = json(&h4mk(
        d,
        &[
            "chain",
            "--json",
            "--track",
            "1",
            "--t-ms",
            "1500",
            "song.h4mk",
        ],
    ));
    let steps = chain["steps"].as_array().unwrap();
    assert_eq!(steps.last().unwrap()["type"], "B");
    let mut want = Vec::new();
    for s in steps {
        let file = format!(
            "{:010}_{}_{}.bin",
            s["pts_ms"].as_u64().unwrap(),
            s["type"].as_str().unwrap(),
            s["offset"]
        );
        want.extend(std::fs::read(d.join("blocks").join(file)).unwrap());
    }
    let report = json(&h4mk(
        d,
        &[
            "decode",
            "--json",
            "--adapter",
            "null",
            "--track",
            "1",
            "--at-ms",
            "1500",
            "song.h4mk",
            "-o",
            "chain.bin",
        ],
    ));
    assert_eq!(report["steps"], steps.len());
    assert_eq!(report["presented"], 1);
    assert_eq!(report["bytes"], want.len());
    assert!(report.get("samples").is_none());
    assert!(std::fs::read(d.join("chain.bin")).unwrap() == want);
}

#[test]
fn damaged_files_fail_with_one_line_and_leave_nothing() {
    let dir = TempDir::new("audio_damaged");
    let d = dir.path();
    let good = song_and_its_first_half(d);
    // One byte flipped inside the opaque bytes of the block at 1000 ms or just after.
    let list = json(&h4mk(d, &["list", "--json", "song.h4mk"]));
    let block = list["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["pts_ms"].as_u64().unwrap() >= 1000)
        .unwrap();
    let at = block["offset"].as_u64().unwrap() as usize + 40;
    let mut flipped = good.clone();
    flipped[at] ^= 0x10;
    std::fs::write(d.join("flipped.h4mk"), flipped).unwrap();
    let mut before = dir.files();
    before.sort();

    for (file, span, want) in [
        ("flipped.h4mk", &[][..], "crc"),
        (
            "flipped.h4mk",
            &["--from-ms", "900", "--to-ms", "1200"],
            "crc",
        ),
    ] {
        let mut args = vec!["decode", "--adapter", "dsp", "--track", "1"];
        args.extend_from_slice(span);
        args.extend_from_slice(&[file, "-o", "out.wav"]);
        let o = h4mk(d, &args);
        let stderr = String::from_utf8(o.stderr).unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(o.stdout.is_empty(), "{args:?}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with(&format!("h4mk: error: {file}: ")) && stderr.contains(want),
            "{args:?}: {stderr}"
        );
        assert_eq!(dir.files(), before, "{args:?}: a file was left behind");
    }

    // A file cut short, as a writer that crashed leaves it, decodes from the blocks before
    // the cut, as the file `h4mk salvage` rebuilds does, with warnings naming the cut. It
    // used to fail, though the CLI's README said it answers from the blocks present.
    h4mk(d, &["salvage", "cut.h4mk", "-o", "cut.salvaged.h4mk"]);
    for span in [
        &[][..],
        &["--at-ms", "100"],
        &["--from-ms", "500", "--to-ms", "900"],
    ] {
        ok(&decode_args(
            d,
            &[span, &["cut.salvaged.h4mk"]].concat(),
            "want.wav",
        ));
        let o = decode_args(d, &[span, &["cut.h4mk"]].concat(), "got.wav");
        let stderr = String::from_utf8(o.stderr.clone()).unwrap();
        ok(&o);
        let warnings: Vec<&str> = stderr.lines().collect();
        assert_eq!(warnings.len(), 2, "{span:?}: {stderr}");
        assert!(
            warnings[0]
                .starts_with("h4mk: warning: cut.h4mk: the index was rebuilt by a full scan")
                && warnings[1].starts_with(
                    "h4mk: warning: cut.h4mk: the file is cut short: chunk CORE at offset "
                )
                && warnings[1]
                    .ends_with(" (h4mk salvage rebuilds a sound file from the intact chunks)"),
            "{span:?}: {stderr}"
        );
        assert!(
            std::fs::read(d.join("got.wav")).unwrap() == std::fs::read(d.join("want.wav")).unwrap(),
            "{span:?}"
        );
    }
    let _ = std::fs::remove_file(d.join("cut.salvaged.h4mk"));

    // With --salvage both decode what `h4mk salvage` keeps, bit for bit, saying what was lost
    // in one warning; an intact file decodes as without it, with nothing said.
    for file in ["flipped.h4mk", "cut.h4mk"] {
        let repaired = file.replace(".h4mk", ".salvaged.h4mk");
        h4mk(d, &["salvage", file, "-o", &repaired]);
        ok(&decode_args(d, &[&repaired], "want.wav"));
        let o = decode_args(d, &["--salvage", file], "got.wav");
        let stderr = String::from_utf8(o.stderr.clone()).unwrap();
        ok(&o);
        assert_eq!(stderr.lines().count(), 1, "{file}: {stderr}");
        assert!(
            stderr.starts_with(&format!(
                "h4mk: warning: {file}: damaged; decoding what salvage keeps: "
            )),
            "{stderr}"
        );
        assert!(
            std::fs::read(d.join("got.wav")).unwrap() == std::fs::read(d.join("want.wav")).unwrap()
        );
        // The JSON report lists that warning too: it was left out of it.
        let o = decode_args(d, &["--json", "--salvage", file], "got.wav");
        let warning = stderr.trim_end().strip_prefix("h4mk: warning: ").unwrap();
        assert_eq!(json(&o)["warnings"], serde_json::json!([warning]), "{file}");
    }
    let o = decode_args(d, &["--salvage", "song.h4mk"], "intact.wav");
    assert!(o.stderr.is_empty());
    ok(&decode_args(d, &["song.h4mk"], "plain.wav"));
    assert!(
        std::fs::read(d.join("intact.wav")).unwrap() == std::fs::read(d.join("plain.wav")).unwrap()
    );
}

/// Encodes the test signal to `song.h4mk` in `dir`, and writes its first half, as a writer
/// that crashed halfway leaves it, to `cut.h4mk`; returns the whole file's bytes.
fn song_and_its_first_half(dir: &Path) -> Vec<u8> {
    write_input(dir);
    encode(dir, &[], "song.h4mk");
    let bytes = std::fs::read(dir.join("song.h4mk")).unwrap();
    std::fs::write(dir.join("cut.h4mk"), &bytes[..bytes.len() / 2]).unwrap();
    bytes
}

/// A WAV file with a second data chunk is encoded from its first, as other readers read it,
/// with a warning, in the JSON report too: the second was ignored without a word (an
/// adversarial review).
#[test]
fn a_second_data_chunk_is_encoded_with_a_warning() {
    let dir = TempDir::new("audio_second_data");
    let d = dir.path();
    let tone = Pcm::new(8_000, vec![0.25; 8_000]);
    let mut wav = Vec::new();
    write_wav(&mut wav, &tone).unwrap();
    let first_len = wav.len();
    wav.extend_from_slice(b"data\x04\0\0\0\x01\x02\x03\x04");
    std::fs::write(d.join("two.wav"), &wav).unwrap();
    let args = [
        "encode",
        "--json",
        "--adapter",
        "dsp",
        "two.wav",
        "-o",
        "two.h4mk",
    ];
    let o = h4mk(d, &args);
    let report = json(&o);
    let warning = format!(
        "two.wav: a second data chunk at offset {first_len} is not read: only the first one's \
         samples are encoded"
    );
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        format!("h4mk: warning: {warning}\n")
    );
    assert_eq!(report["warnings"], serde_json::json!([warning]));
    assert_eq!(report["samples"], 8_000);
}

/// `decode --adapter dsp --track 1 ARGS... -o OUT` in `dir`.
fn decode_args(dir: &Path, args: &[&str], out: &str) -> std::process::Output {
    let base = ["decode", "--adapter", "dsp", "--track", "1"];
    h4mk(dir, &[&base[..], args, &["-o", out]].concat())
}

/// A time range of audio is the whole decode's samples from A up to B, bit for bit: from
/// inside a block, with B-blocks, at 48 kHz and at 44.1 kHz (where a millisecond is not a
/// whole number of samples), open at either end and past the track's end. Before, it was the
/// blocks whose pts are in the range: from the first block at or after A to the end of the
/// last one at or before B.
#[test]
fn a_time_range_is_the_whole_decode_cut_to_the_sample() {
    let dir = TempDir::new("audio_cut");
    let d = dir.path();
    for (rate, extra) in [
        (48_000, &["--b-blocks", "2", "--key-interval", "6"][..]),
        (44_100, &[][..]),
    ] {
        let file = std::fs::File::create(d.join("in.wav")).unwrap();
        write_wav(file, &Pcm::new(rate, sample_mix(rate, SECONDS))).unwrap();
        encode(d, extra, "song.h4mk");
        let song = std::fs::read(d.join("song.h4mk")).unwrap();
        let decode = |args: &[&str]| {
            let mut argv = vec!["decode", "--json", "--adapter", "dsp", "--track", "1"];
            argv.extend_from_slice(args);
            argv.extend_from_slice(&["song.h4mk", "-o", "out.wav"]);
            (json(&h4mk(d, &argv)), read(&d.join("out.wav")))
        };
        let (report, whole) = decode(&[]);
        let first = report["start_sample"].as_u64().unwrap();
        let end = first + whole.samples.len() as u64;
        let at = |ms: u32| u64::from(ms) * u64::from(rate) / 1000;
        for (a, b) in [
            (Some(0), Some(1)),
            (Some(1013), Some(1500)),
            (Some(1), Some(2000)),
            (Some(700), None),
            (None, Some(1234)),
            (Some(2400), Some(9999)),
        ] {
            let (a_arg, b_arg) = (a.map(|a: u32| a.to_string()), b.map(|b: u32| b.to_string()));
            let mut args = Vec::new();
            if let Some(a) = &a_arg {
                args.extend(["--from-ms", a.as_str()]);
            }
            if let Some(b) = &b_arg {
                args.extend(["--to-ms", b.as_str()]);
            }
            let (report, cut) = decode(&args);
            // The plan is the range from the block before the last one that starts before A,
            // and no more (a clean track has no gap to plan past B for).
            let demux = Demuxer::open(&song).unwrap();
            let before = |t: u32| {
                let t = t.checked_sub(1)?;
                Some(demux.chain(1, t).unwrap().last()?.block.ts_ms)
            };
            let from = a.unwrap_or(0);
            let start_ms = before(from)
                .and_then(before)
                .or(before(from))
                .unwrap_or(from);
            let planned = demux.range(1, start_ms, b.unwrap_or(u32::MAX)).unwrap();
            assert_eq!(report["steps"], planned.len(), "{rate} Hz {args:?}");
            let lo = at(a.unwrap_or(0)).max(first);
            let hi = b.map_or(end, |b| at(b).min(end));
            assert_eq!(report["start_sample"], lo, "{rate} Hz {args:?}");
            assert_eq!(report["samples"], hi - lo, "{rate} Hz {args:?}");
            let want = &whole.samples[(lo - first) as usize..(hi - first) as usize];
            assert!(cut.samples == want, "{rate} Hz {args:?}: other samples");
            assert_eq!(report["from_ms"], a.unwrap_or(0), "{rate} Hz {args:?}");
            // Open to the end: where the output ends.
            let to_ms = b.unwrap_or((hi * 1000).div_ceil(u64::from(rate)) as u32);
            assert_eq!(report["to_ms"], to_ms, "{rate} Hz {args:?}");
        }
    }

    // A range with no sample in it is refused, naming it, and leaves no file.
    std::fs::remove_file(d.join("out.wav")).unwrap();
    for (a, b, why) in [
        (
            "1000",
            "1000",
            "audio runs from A up to B, not including B, so the range is empty",
        ),
        ("9000", "9999", "the track has no samples in that time"),
    ] {
        let o = decode_args(d, &["--from-ms", a, "--to-ms", b, "song.h4mk"], "out.wav");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{a}..{b}: {stderr}");
        assert!(
            stderr.contains(&format!("nothing to decode from {a} ms to {b} ms: {why}")),
            "{stderr}"
        );
        assert!(!d.join("out.wav").exists());
    }
}

#[test]
fn a_damaged_block_before_a_range_only_costs_its_overlap() {
    let dir = TempDir::new("audio_damaged_lead");
    let d = dir.path();
    write_input(d);
    encode(d, &[], "song.h4mk");
    // A range from the second keyframe: it decodes without the block before, which only lends
    // its tail to the keyframe's first samples (and owns the few before the keyframe's first,
    // less than a millisecond, which the pts rounded down).
    let list = json(&h4mk(d, &["list", "--json", "song.h4mk"]));
    let blocks = list["blocks"].as_array().unwrap();
    let key = blocks
        .iter()
        .rposition(|b| b["type"] == "I")
        .filter(|&k| k > 0)
        .unwrap();
    let key_ms = blocks[key]["pts_ms"].as_u64().unwrap().to_string();
    let lead_at = blocks[key - 1]["offset"].as_u64().unwrap() as usize;
    let mut damaged = std::fs::read(d.join("song.h4mk")).unwrap();
    damaged[lead_at + 40] ^= 0x10;
    std::fs::write(d.join("damaged.h4mk"), damaged).unwrap();

    let mut reports = Vec::new();
    for file in ["song.h4mk", "damaged.h4mk"] {
        let args = [
            "decode",
            "--json",
            "--adapter",
            "dsp",
            "--track",
            "1",
            "--from-ms",
            &key_ms,
            "--to-ms",
            "2000",
            file,
            "-o",
            "out.wav",
        ];
        let o = h4mk(d, &args);
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        reports.push((json(&o), read(&d.join("out.wav")).samples, stderr));
    }
    let [(exact, exact_pcm, quiet), (without, without_pcm, warned)] = &reports[..] else {
        unreachable!()
    };
    // The fallback says what it cost, on standard error; the intact file decodes quietly.
    assert_eq!(quiet, "");
    assert!(
        warned.starts_with("h4mk: warning: damaged.h4mk: track 1: decoding from before ")
            && warned.contains(" failed (")
            && warned.contains(&format!(
                " after {key_ms} ms, and its first samples lack the overlap"
            ))
            && warned.lines().count() == 1,
        "{warned}"
    );
    let start = |r: &serde_json::Value| r["start_sample"].as_u64().unwrap() as usize;
    let late = start(without) - start(exact);
    assert!(late < 48, "{exact} {without}");
    assert_eq!(exact_pcm.len(), late + without_pcm.len());
    // With the blocks before, the decode plans from them; without, from the keyframe.
    assert!(
        exact["steps"].as_u64() > without["steps"].as_u64(),
        "{exact} {without}"
    );
    // The frame overlap (frame size 1024 - hop 512 at the defaults) is all that differs.
    let exact_pcm = &exact_pcm[late..];
    assert!(exact_pcm[..512] != without_pcm[..512]);
    assert!(exact_pcm[512..] == without_pcm[512..]);
}

/// Builds `DIR/NAME.h4mk` from a manifest of one DSP track declaring `rate` with `blocks`,
/// each (pts, type, bin): a DSP0 block (docs/ADAPTERS.md §2) with that one bin at magnitude
/// 5000.
fn dsp0_track(dir: &Path, name: &str, rate: u32, blocks: &[(u32, &str, u16)]) {
    use base64::Engine;
    let blocks: Vec<_> = blocks
        .iter()
        .map(|&(pts, kind, bin)| {
            let bytes = crate::checks_dsp::dsp0_block(&[(bin, 5000, 0)]);
            let base64 = base64::engine::general_purpose::STANDARD.encode(bytes);
            serde_json::json!({"track": 1, "pts_ms": pts, "type": kind, "base64": base64})
        })
        .collect();
    let manifest = serde_json::json!({
        "tracks": [{"track_id": 1, "name": "a", "kind": "audio", "codec": "dsp",
                    "sample_rate": rate, "channels": 1, "note": ""}],
        "blocks": blocks,
    });
    let json = format!("{name}.json");
    std::fs::write(dir.join(&json), manifest.to_string()).unwrap();
    ok(&h4mk(dir, &["build", &json, "-o", &format!("{name}.h4mk")]));
}

#[test]
fn keyframes_too_far_apart_to_fill_fail_naming_them_and_leave_nothing() {
    let dir = TempDir::new("audio_far_apart");
    let d = dir.path();
    // Two DSP0 keyframes three days apart: DSP0 blocks carry no timing, so each is placed at
    // its pts, and joining them would take 13 G samples of silence.
    dsp0_track(d, "far", 48_000, &[(0, "I", 1), (268_000_000, "I", 1)]);
    // Either keyframe alone decodes.
    for ms in ["0", "268000000"] {
        let args = ["decode", "--adapter", "dsp", "--track", "1", "--at-ms", ms];
        ok(&h4mk(
            d,
            &[&args[..], &["far.h4mk", "-o", "one.wav"]].concat(),
        ));
        std::fs::remove_file(d.join("one.wav")).unwrap();
    }

    let before = dir.files();
    let o = h4mk(
        d,
        &[
            "decode",
            "--adapter",
            "dsp",
            "--track",
            "1",
            "far.h4mk",
            "-o",
            "all.wav",
        ],
    );
    let stderr = String::from_utf8(o.stderr).unwrap();
    // Exit 1, the file's fault; not 2, which would blame the command line.
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("h4mk: error: far.h4mk: ")
            && stderr.contains("blocks 0 at 0 ms to 1 at 268000000 ms span ")
            && stderr.ends_with(": their timing leaves gaps\n"),
        "{stderr}"
    );
    assert_eq!(dir.files(), before, "a file was left behind");
}

#[test]
fn dsp0_blocks_render_at_the_sample_rate_their_track_declares() {
    let dir = TempDir::new("audio_dsp0_rate");
    let d = dir.path();
    // Two 1024-sample frames at 0 and 46 ms of a track declaring 22,050 Hz: the second at
    // sample 46 * 22050 / 1000 = 1014. Before the fix: 48 kHz, the second at 2208.
    dsp0_track(d, "slow", 22_050, &[(0, "I", 10), (46, "I", 10)]);
    let args = ["decode", "--json", "--adapter", "dsp", "--track", "1"];
    let report = json(&h4mk(
        d,
        &[&args[..], &["slow.h4mk", "-o", "slow.wav"]].concat(),
    ));
    assert_eq!(report["sample_rate"], 22_050);
    assert_eq!(report["samples"], 1014 + 1024);
    assert_eq!(read(&d.join("slow.wav")).sample_rate, 22_050);
    // A track that declares 0 has no rate to render DSP0 blocks at: refused, nothing written.
    dsp0_track(d, "none", 0, &[(0, "I", 10)]);
    let before = dir.files();
    let o = h4mk(d, &[&args[..], &["none.h4mk", "-o", "none.wav"]].concat());
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.ends_with("DSP0 blocks render at the track's sample rate, and it is 0\n"),
        "{stderr}"
    );
    assert_eq!(dir.files(), before);
}

#[test]
fn at_a_time_two_blocks_share_only_the_target_is_output() {
    let dir = TempDir::new("audio_twin_pts");
    let d = dir.path();
    // One bin each: I at 0 ms, then two P-blocks at 30 ms. At 30 ms the second one shows: the
    // state after all three, presented alone.
    dsp0_track(
        d,
        "twin",
        48_000,
        &[(0, "I", 4), (30, "P", 8), (30, "P", 16)],
    );
    let args = [
        "decode",
        "--json",
        "--adapter",
        "dsp",
        "--track",
        "1",
        "--at-ms",
        "30",
    ];
    let report = json(&h4mk(
        d,
        &[&args[..], &["twin.h4mk", "-o", "at.wav"]].concat(),
    ));
    assert_eq!(report["presented"], 1);

    // What the adapter gives for the chain with only its target presented.
    let bytes = std::fs::read(d.join("twin.h4mk")).unwrap();
    let demux = h4mk_mt::Demuxer::open(&bytes).unwrap();
    let steps = demux.chain(1, 30).unwrap();
    let mut dsp = AdapterRegistry::default().get("dsp").unwrap();
    let Decoded::Pcm(expected) = dsp.decode(&steps, Present::Index(steps.len() - 1)).unwrap()
    else {
        panic!("dsp gives PCM")
    };
    assert_eq!(report["start_sample"], expected.start);
    let (got, want) = (read(&d.join("at.wav")).to_i16(), expected.to_i16());
    assert!(
        got == want,
        "starts {:?}, not {:?}",
        &got[..8.min(got.len())],
        &want[..8.min(want.len())]
    );
}

#[test]
fn audio_past_the_largest_pts_is_refused_before_anything_is_written() {
    let dir = TempDir::new("audio_too_long");
    let d = dir.path();
    // 300,000 samples at 1 Hz: 83 hours, past the 28-bit pts of 74.6 hours.
    let file = std::fs::File::create(d.join("long.wav")).unwrap();
    write_wav(file, &Pcm::new(1, vec![0.0; 300_000])).unwrap();
    for out in ["-", "long.h4mk"] {
        let o = h4mk(d, &["encode", "--adapter", "dsp", "long.wav", "-o", out]);
        let stderr = String::from_utf8(o.stderr).unwrap();
        assert_eq!(o.status.code(), Some(1), "{stderr}");
        assert_eq!(
            stderr,
            "h4mk: error: long.wav: 83.3 hours of audio at 1 Hz; a track's blocks must start by 268435455 ms (74.6 hours)\n"
        );
        assert!(
            o.stdout.is_empty(),
            "{out}: {} bytes written",
            o.stdout.len()
        );
    }
    assert_eq!(dir.files(), ["long.wav"]);
}

#[test]
fn only_dsp_encodes_and_bad_input_leaves_nothing() {
    let dir = TempDir::new("audio_encode_errors");
    let d = dir.path();
    write_input(d);
    std::fs::write(d.join("noise.wav"), b"RIFF but not really a WAV file").unwrap();
    let o = h4mk(
        d,
        &["encode", "--adapter", "null", "in.wav", "-o", "x.h4mk"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "h4mk: error: --adapter null: decodes only; the adapters that encode: dsp\n"
    );
    let o = h4mk(
        d,
        &["encode", "--adapter", "dsp", "noise.wav", "-o", "x.h4mk"],
    );
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert!(
        stderr.starts_with("h4mk: error: noise.wav: reading WAV: "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1);
    let o = h4mk(
        d,
        &[
            "encode",
            "--adapter",
            "dsp",
            "--key-interval",
            "0",
            "in.wav",
            "-o",
            "x.h4mk",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    // Flags that contradict each other: B-blocks asked for where every block is a keyframe.
    let o = h4mk(
        d,
        &[
            "encode",
            "--adapter",
            "dsp",
            "--key-interval",
            "1",
            "--b-blocks",
            "2",
            "in.wav",
            "-o",
            "x.h4mk",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8(o.stderr)
            .unwrap()
            .contains("none can be a B-block"),
        "usage error"
    );
    assert_eq!(dir.files(), ["in.wav", "noise.wav"]);
}

#[test]
fn decode_help_lists_the_registry() {
    let dir = TempDir::new("audio_help");
    let help = ok(&h4mk(dir.path(), &["decode", "--help"]));
    for (name, summary) in AdapterRegistry::default().list() {
        assert!(help.contains(&format!("- {name}:")), "{name}: {help}");
        assert!(help.contains(summary), "{name}: {help}");
    }
    let o = h4mk(
        dir.path(),
        &[
            "decode",
            "--adapter",
            "mp3",
            "--track",
            "1",
            "x.h4mk",
            "-o",
            "x",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8(o.stderr)
            .unwrap()
            .contains("[possible values: dsp, null]")
    );
}

/// A RIFF WAVE file: a `fmt ` chunk of `fmt`, then a data chunk of `data` whose length field
/// says `data_len` (the real length when `None`).
fn riff(fmt: &[u8], data: &[u8], data_len: Option<u32>) -> Vec<u8> {
    let mut body = b"WAVEfmt ".to_vec();
    body.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    body.extend_from_slice(fmt);
    body.extend_from_slice(b"data");
    body.extend_from_slice(&data_len.unwrap_or(data.len() as u32).to_le_bytes());
    body.extend_from_slice(data);
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend_from_slice(&body);
    file
}

/// A PCM `fmt ` chunk body; with `valid_bits`, as `WAVE_FORMAT_EXTENSIBLE`.
fn pcm_fmt(channels: u16, container_bits: u16, valid_bits: Option<u16>) -> Vec<u8> {
    let align = channels * container_bits / 8;
    let tag: u16 = if valid_bits.is_some() { 0xFFFE } else { 1 };
    let mut f = Vec::new();
    f.extend_from_slice(&tag.to_le_bytes());
    f.extend_from_slice(&channels.to_le_bytes());
    f.extend_from_slice(&RATE.to_le_bytes());
    f.extend_from_slice(&(RATE * u32::from(align)).to_le_bytes());
    f.extend_from_slice(&align.to_le_bytes());
    f.extend_from_slice(&container_bits.to_le_bytes());
    if let Some(valid) = valid_bits {
        f.extend_from_slice(&22u16.to_le_bytes());
        f.extend_from_slice(&valid.to_le_bytes());
        f.extend_from_slice(&4u32.to_le_bytes()); // front centre
        // KSDATAFORMAT_SUBTYPE_PCM
        f.extend_from_slice(&[
            1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71,
        ]);
    }
    f
}

/// `fmt` (a `fmt ` chunk body) at `rate` Hz, its byte rate to match.
fn at_rate(mut fmt: Vec<u8>, rate: u32) -> Vec<u8> {
    let align = u32::from(u16::from_le_bytes([fmt[12], fmt[13]]));
    fmt[4..8].copy_from_slice(&rate.to_le_bytes());
    fmt[8..12].copy_from_slice(&(rate * align).to_le_bytes());
    fmt
}

/// A 440 Hz tone at half scale, as 24-bit integers.
fn tone_24(n: usize) -> Vec<i32> {
    (0..n)
        .map(|i| {
            let x = 0.5 * (std::f64::consts::TAU * 440.0 * i as f64 / f64::from(RATE)).sin();
            (x * f64::from((1 << 23) - 1)).round() as i32
        })
        .collect()
}

/// Encodes each `NAME.wav` in `dir` to `NAME.h4mk` and returns the containers' bytes.
fn encode_each(dir: &Path, names: &[&str]) -> Vec<Vec<u8>> {
    names
        .iter()
        .map(|name| {
            let (wav, out) = (format!("{name}.wav"), format!("{name}.h4mk"));
            let args = [
                "encode",
                "--adapter",
                "dsp",
                "--name",
                "t",
                &wav,
                "-o",
                &out,
            ];
            ok(&h4mk(dir, &args));
            std::fs::read(dir.join(out)).unwrap()
        })
        .collect()
}

#[test]
fn extensible_24_bit_samples_in_32_bit_containers_encode_as_plain_24_bit_ones() {
    // WAVE_FORMAT_EXTENSIBLE puts the 24 valid bits high in each 32-bit container, the low
    // ones zero; hound alone read the low bits, and the file encoded as full-scale noise.
    let dir = TempDir::new("audio_24_in_32");
    let d = dir.path();
    let tone = tone_24(9600);
    let packed: Vec<u8> = tone
        .iter()
        .flat_map(|&s| s.to_le_bytes()[..3].to_vec())
        .collect();
    let in_32: Vec<u8> = tone.iter().flat_map(|&s| (s << 8).to_le_bytes()).collect();
    std::fs::write(
        d.join("p24.wav"),
        riff(&pcm_fmt(1, 24, None), &packed, None),
    )
    .unwrap();
    let extensible = riff(&pcm_fmt(1, 32, Some(24)), &in_32, None);
    std::fs::write(d.join("x24in32.wav"), extensible).unwrap();
    let [plain, extensible] = &encode_each(d, &["p24", "x24in32"])[..] else {
        unreachable!()
    };
    assert!(plain == extensible);
    let decode = [
        "decode",
        "--adapter",
        "dsp",
        "--track",
        "1",
        "x24in32.h4mk",
        "-o",
        "out.wav",
    ];
    ok(&h4mk(d, &decode));
    let reference: Vec<f32> = tone.iter().map(|&s| s as f32 / (1 << 23) as f32).collect();
    let snr = snr_db(&reference, &read(&d.join("out.wav")).samples);
    assert!(snr > 20.0, "24-in-32 decoded at {snr:.1} dB SNR");
}

#[test]
fn a_streamed_wav_with_an_unknown_data_length_is_read_to_its_end() {
    // Writers that cannot seek back (`ffmpeg ... -f wav -`) leave the data chunk's length at
    // 0xFFFFFFFF. Stereo 16-bit, so that length is not a whole number of frames.
    let dir = TempDir::new("audio_streamed_wav");
    let d = dir.path();
    let stereo: Vec<u8> = tone_24(9600)
        .iter()
        .flat_map(|&s| {
            let s = ((s >> 8) as i16).to_le_bytes();
            [s, s].concat()
        })
        .collect();
    let fmt = pcm_fmt(2, 16, None);
    std::fs::write(d.join("sized.wav"), riff(&fmt, &stereo, None)).unwrap();
    // And a byte of a frame cut short at the end.
    let streamed = riff(&fmt, &[&stereo[..], &[7]].concat(), Some(u32::MAX));
    std::fs::write(d.join("streamed.wav"), streamed).unwrap();
    // sox writing to a pipe leaves 0x7FFFF000 there, arecord 0x80000000: such a file was
    // refused as cut short ("declares 2147479552 bytes, but the file ends after ...").
    for (name, len) in [("sox", 0x7FFF_F000), ("arecord", 0x8000_0000)] {
        let file = riff(&fmt, &[&stereo[..], &[7]].concat(), Some(len));
        std::fs::write(d.join(format!("{name}.wav")), file).unwrap();
    }
    // A recorder stopped inside a frame: the length counts its first byte. And a length that
    // counts a partial frame the file lacks (refused as cut short from a file, read from a
    // pipe, in a review): the frame is left out either way.
    let partial = riff(&fmt, &[&stereo[..], &[7]].concat(), None);
    std::fs::write(d.join("partial.wav"), partial).unwrap();
    let lacking = riff(&fmt, &stereo, Some(stereo.len() as u32 + 2));
    std::fs::write(d.join("lacking.wav"), lacking).unwrap();
    let names = ["sized", "streamed", "sox", "arecord", "partial", "lacking"];
    let containers = encode_each(d, &names);
    for (name, container) in names.iter().zip(&containers) {
        assert!(*container == containers[0], "{name}");
    }
    // And sox's through a pipe, as `sox ... -t wav - | h4mk encode -` gives it, and the one
    // lacking its partial frame.
    for name in ["sox", "lacking"] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_h4mk"))
            .current_dir(d)
            .args(["encode", "--adapter", "dsp", "--name", "t", "-", "-o", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let wav = std::fs::read(d.join(format!("{name}.wav"))).unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let feed = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &wav));
        let piped = child.wait_with_output().unwrap();
        feed.join().unwrap().unwrap();
        assert!(piped.status.success(), "{name}");
        assert!(piped.stdout == containers[0], "{name}");
    }
    // A length of 0 is an empty data chunk, as sox reads it: the chunks after it are not
    // samples (a review found a LIST chunk after it read as 8 frames of noise).
    let mut empty = riff(&fmt, &[], None);
    empty.extend_from_slice(b"LIST\x1a\0\0\0INFOISFT\x0e\0\0\0Lavf59.27.100\0");
    std::fs::write(d.join("empty.wav"), empty).unwrap();
    let run = h4mk(
        d,
        &[
            "encode",
            "--adapter",
            "dsp",
            "empty.wav",
            "-o",
            "empty.h4mk",
        ],
    );
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(run.stderr).unwrap(),
        "h4mk: error: empty.wav: no samples to encode\n"
    );
}

/// The encoder's settings were fixed in the CLI, though docs/ADAPTERS.md §4 gives sizes and
/// SNRs for others: `--frame-size`, `--hop`, `--bins` and `--frames-per-block` set them, the
/// track's note records them, and the decode follows them; settings the encoder refuses are
/// refused before anything is written.
#[test]
fn encoder_settings_are_flags_and_the_note_records_them() {
    let dir = TempDir::new("audio_encoder_flags");
    let d = dir.path();
    let input = write_input(d);
    let flags = [
        "--frame-size",
        "2048",
        "--hop",
        "512",
        "--bins",
        "2",
        "--frames-per-block",
        "4",
    ];
    encode(d, &flags, "song.h4mk");
    let info = json(&h4mk(d, &["info", "--json", "song.h4mk"]));
    assert_eq!(
        info["tracks"][0]["note"],
        "DSP1: 2048-sample frames, hop 512, 2 bins per frame, 4 frames per block"
    );
    let blocks = info["tracks"][0]["blocks"].as_u64().unwrap();
    let (snr, start) = decoded_snr(d, &input, &[], "set.wav");
    assert_eq!(start, 0);
    encode(d, &[], "song.h4mk");
    let (default_snr, _) = decoded_snr(d, &input, &[], "default.wav");
    assert!(
        snr + 10.0 < default_snr,
        "{snr:.1} dB against {default_snr:.1} dB"
    );
    // Blocks of 4 hops of 512 samples, against 8: about twice as many.
    let default_blocks = json(&h4mk(d, &["info", "--json", "song.h4mk"]))["tracks"][0]["blocks"]
        .as_u64()
        .unwrap();
    assert!((2 * default_blocks - 1..=2 * default_blocks + 1).contains(&blocks));
    for (bad, message) in [
        (
            ["--hop", "300"],
            "hop must divide frame_size and be at most half of it",
        ),
        (
            ["--frames-per-block", "0"],
            "frames_per_block must be 1..=4096",
        ),
        (
            ["--frame-size", "15"],
            "frame_size must be even and 16..=32768",
        ),
    ] {
        let run = h4mk(
            d,
            &[
                &["encode", "--adapter", "dsp"][..],
                &bad,
                &["in.wav", "-o", "bad.h4mk"],
            ]
            .concat(),
        );
        assert_eq!(run.status.code(), Some(2));
        assert_eq!(
            String::from_utf8(run.stderr).unwrap(),
            format!("h4mk: error: {}: invalid parameter: {message}\n", bad[0])
        );
        assert!(!d.join("bad.h4mk").exists());
    }
    // More bins than a frame has kept them all, and the note recorded the number asked for.
    let run = h4mk(
        d,
        &[
            "encode",
            "--adapter",
            "dsp",
            "--bins",
            "514",
            "in.wav",
            "-o",
            "bad.h4mk",
        ],
    );
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(run.stderr).unwrap(),
        "h4mk: error: --bins 514: a frame of 1024 samples has 513 bins\n"
    );
    assert!(!d.join("bad.h4mk").exists());
    encode(d, &["--bins", "513"], "all.h4mk");
}

/// A float WAV file may peak past full scale (4.8 in a user's review), and it encodes as it
/// is; decoded to 16 bits, 16,164 of its 48,000 samples were clipped without a word. The
/// decode now says how many, on standard error and in its JSON report, as sox does; one that
/// stays within full scale says nothing.
#[test]
fn a_decode_past_full_scale_says_how_many_samples_it_clipped() {
    let dir = TempDir::new("audio_clipped");
    let d = dir.path();
    let mut fmt = pcm_fmt(1, 32, None);
    fmt[0] = 3; // WAVE_FORMAT_IEEE_FLOAT
    for (name, peak) in [("loud", 4.8f32), ("quiet", 0.5)] {
        let data: Vec<u8> = tone_24(9600)
            .iter()
            .flat_map(|&s| (s as f32 / (1 << 22) as f32 * peak).to_le_bytes())
            .collect();
        std::fs::write(d.join(format!("{name}.wav")), riff(&fmt, &data, None)).unwrap();
    }
    encode_each(d, &["loud", "quiet"]);
    let decode = |name: &str| {
        let file = format!("{name}.h4mk");
        decode_args(d, &["--json", &file], &format!("{name}.out.wav"))
    };
    let loud = decode("loud");
    let report = json(&loud);
    let clipped = report["clipped"].as_u64().unwrap();
    let decoded = read(&d.join("loud.out.wav"));
    let at_rails = decoded
        .samples
        .iter()
        .filter(|&&s| s <= -1.0 || s >= 32_767.0 / 32_768.0)
        .count() as u64;
    assert!(
        clipped > 1000 && clipped <= at_rails,
        "{clipped} of {at_rails}"
    );
    assert_eq!(
        String::from_utf8(loud.stderr).unwrap(),
        format!(
            "h4mk: warning: loud.out.wav: {clipped} samples past full scale clipped to 16 bits \
             (--sample-format f32 keeps them)\n"
        )
    );
    let quiet = decode("quiet");
    assert_eq!(json(&quiet)["clipped"], 0);
    assert!(quiet.stderr.is_empty());

    // As 32-bit floats nothing is clipped: the samples are those of the 16-bit file where it
    // did not clip, to 16 bits, and past full scale where it did.
    let float = decode_args(
        d,
        &["--json", "--sample-format", "f32", "loud.h4mk"],
        "loud.f32.wav",
    );
    let report = json(&float);
    assert_eq!(
        (report["clipped"].as_u64(), report["sample_format"].as_str()),
        (Some(0), Some("f32"))
    );
    assert!(float.stderr.is_empty());
    let floats = read(&d.join("loud.f32.wav"));
    assert_eq!(floats.samples.len(), decoded.samples.len());
    let past = floats.samples.iter().filter(|s| s.abs() > 1.0).count() as u64;
    assert!(
        past <= clipped && past + 10 >= clipped,
        "{past} past full scale, {clipped} clipped"
    );
    for (f, s) in floats.samples.iter().zip(&decoded.samples) {
        let rounded = (f * 32_768.0).round().clamp(-32_768.0, 32_767.0) / 32_768.0;
        assert_eq!(rounded, *s);
    }
    // The null adapter writes bytes: a sample format is a mistake.
    let null = h4mk(
        d,
        &[
            "decode",
            "--adapter",
            "null",
            "--track",
            "1",
            "--sample-format",
            "f32",
            "loud.h4mk",
            "-o",
            "x",
        ],
    );
    assert_eq!(null.status.code(), Some(2));
}

/// `scipy.io.wavfile.write` writes a `float64` array as 64-bit float WAV, which was refused
/// ("bits per sample is not 32", or, read from a file, a false "the file ends after 0 of
/// them"); it encodes as the 32-bit float file of the same samples does.
#[test]
fn a_sixty_four_bit_float_wav_encodes_as_its_thirty_two_bit_floats() {
    let dir = TempDir::new("audio_f64_wav");
    let d = dir.path();
    let samples: Vec<f32> = tone_24(9600)
        .iter()
        .map(|&s| s as f32 / (1 << 23) as f32)
        .collect();
    let float_fmt = |bits: u16| {
        let mut fmt = pcm_fmt(1, bits, None);
        fmt[0] = 3; // WAVE_FORMAT_IEEE_FLOAT
        fmt
    };
    let f32_data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let f64_data: Vec<u8> = samples
        .iter()
        .flat_map(|&s| f64::from(s).to_le_bytes())
        .collect();
    std::fs::write(d.join("f32.wav"), riff(&float_fmt(32), &f32_data, None)).unwrap();
    std::fs::write(d.join("f64.wav"), riff(&float_fmt(64), &f64_data, None)).unwrap();
    let [single, double] = &encode_each(d, &["f32", "f64"])[..] else {
        unreachable!()
    };
    assert!(single == double);
}

#[test]
fn a_sample_that_is_not_a_number_is_refused_naming_it() {
    // One NaN in a float WAV spread through the spectrum of the two frames holding it, and
    // about 1,000 samples around it came out as silence, with exit 0.
    let dir = TempDir::new("audio_nan_sample");
    let d = dir.path();
    let mut tone: Vec<f32> = tone_24(9600)
        .iter()
        .map(|&s| s as f32 / (1 << 23) as f32)
        .collect();
    tone[3000] = f32::NAN;
    let data: Vec<u8> = tone.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut fmt = pcm_fmt(1, 32, None);
    fmt[0] = 3; // WAVE_FORMAT_IEEE_FLOAT
    std::fs::write(d.join("nan.wav"), riff(&fmt, &data, None)).unwrap();
    let o = h4mk(
        d,
        &["encode", "--adapter", "dsp", "nan.wav", "-o", "nan.h4mk"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "h4mk: error: nan.wav: encoding: sample 3000 is not a finite number\n"
    );
    assert_eq!(dir.files(), ["nan.wav"]);
}

/// The most memory, in bytes, the process `pid` has held (its peak resident set).
#[cfg(target_os = "linux")]
fn peak_resident(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// `encode -` held all of standard input, then every sample and every block: about 10 GB for
/// a 5.5 GB stream. It now reads, encodes and writes a piece at a time.
#[test]
#[cfg(target_os = "linux")]
fn encode_reads_a_stream_as_it_comes_in_flat_memory() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let dir = TempDir::new("audio_encode_flat");
    let d = dir.path();
    // 64 channels of 32-bit samples: 64 MiB of stream in 262,144 frames, little to encode.
    let channels = 64u16;
    let frames = 1usize << 18;
    let fmt = at_rate(pcm_fmt(channels, 32, None), 8_000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .current_dir(d)
        .args([
            "encode",
            "--json",
            "--adapter",
            "dsp",
            "-",
            "-o",
            "long.h4mk",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&riff(&fmt, &[], Some(u32::MAX))).unwrap();
    let frame: Vec<u8> = (0..channels)
        .flat_map(|c| (i32::from(c) << 20).to_le_bytes())
        .collect();
    let stream_len = frames * frame.len();
    for _ in 0..frames / 1024 {
        if let Err(e) = stdin.write_all(&frame.repeat(1024)) {
            drop(stdin);
            let o = child.wait_with_output().unwrap();
            panic!("{e}: {}", String::from_utf8_lossy(&o.stderr));
        }
    }
    // All but the pipe's buffer has been read: a reader that keeps it holds 64 MiB by now.
    let peak = peak_resident(child.id());
    drop(stdin);
    let report = json(&child.wait_with_output().unwrap());
    assert_eq!(report["samples"], frames);
    assert!(
        peak < stream_len as u64 / 4,
        "{peak} bytes held for a {stream_len}-byte stream"
    );
}

/// Writes `dir/name`: one audio track per rate in `rates` (ids from 1), then `blocks`
/// (track, pts, kind, bytes) handed to the muxer in order.
fn write_container(
    dir: &Path,
    name: &str,
    rates: &[u32],
    blocks: impl IntoIterator<Item = (u16, u32, h4mk_adapters::BlockKind, Vec<u8>)>,
) {
    use h4mk_mt::{MuxOptions, Muxer, Sidecars, TrackSpec};

    let specs = rates
        .iter()
        .zip(1..)
        .map(|(&sample_rate, track_id)| TrackSpec {
            track_id,
            name: format!("channel {track_id}"),
            kind: "audio".into(),
            codec: "h4dsp1".into(),
            sample_rate,
            channels: 1,
            note: String::new(),
        })
        .collect();
    let file = std::fs::File::create(dir.join(name)).unwrap();
    let mut mux = Muxer::new(file, specs, &Sidecars::default(), MuxOptions::default()).unwrap();
    for (track, ts_ms, kind, bytes) in blocks {
        mux.push(track, ts_ms, kind, &bytes).unwrap();
    }
    mux.finish().unwrap();
}

/// A container with one DSP1 track per `(sample rate, signal)`, ids from 1, written to
/// `dir/name`.
fn multi_track(dir: &Path, name: &str, signals: &[(u32, Vec<f32>)]) {
    use h4mk_adapters::{EncoderConfig, encode};

    let rates: Vec<u32> = signals.iter().map(|&(rate, _)| rate).collect();
    let blocks = signals.iter().zip(1..).flat_map(|((rate, signal), track)| {
        encode(signal, *rate, &EncoderConfig::default())
            .unwrap()
            .into_iter()
            .map(move |b| (track, b.ts_ms, b.kind, b.bytes))
    });
    write_container(dir, name, &rates, blocks);
}

/// A DSP1 I-block (docs/ADAPTERS.md §3.1) of `frames` silent frames (no bins), its header
/// fields as given.
fn silent_dsp1(
    frame_size: u16,
    hop: u16,
    frames: u16,
    rate: u32,
    first_frame: u32,
    length: u32,
) -> Vec<u8> {
    let mut b = b"DSP1I\0".to_vec();
    b.extend_from_slice(&frame_size.to_le_bytes());
    b.extend_from_slice(&hop.to_le_bytes());
    b.extend_from_slice(&frames.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&first_frame.to_le_bytes());
    b.extend_from_slice(&length.to_le_bytes());
    b.extend(std::iter::repeat_n(0u8, frames.into())); // no bins in any frame
    b
}

/// A decode that holds no sample (a block presented that owns none) writes its empty WAV
/// file with a warning, in the JSON report too: it said nothing, and looked like a decode
/// that worked (an adversarial review).
#[test]
fn a_decode_of_no_sample_says_so() {
    use h4mk_adapters::BlockKind;

    let dir = TempDir::new("audio_no_sample");
    let d = dir.path();
    // The second block's frames (8 to 15) lie before the first's (16 to 23): placed after
    // it, it owns none of the stream.
    let block = |first_frame| silent_dsp1(1_024, 512, 8, RATE, first_frame, 8 * 512);
    let stream = [
        (1, 0, BlockKind::Key, block(16)),
        (1, 85, BlockKind::Key, block(8)),
    ];
    write_container(d, "none.h4mk", &[RATE], stream);
    let o = decode_args(d, &["--json", "--at-ms", "100", "none.h4mk"], "none.wav");
    let report = json(&o);
    assert_eq!(report["samples"], 0);
    let warning = "none.h4mk: track 1: the decode holds no sample (the blocks presented own none)";
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        format!("h4mk: warning: {warning}\n")
    );
    assert_eq!(report["warnings"], serde_json::json!([warning]));
    // The block before owns samples: a decode of it says nothing.
    let o = decode_args(d, &["--at-ms", "10", "none.h4mk"], "some.wav");
    assert!(o.status.success() && o.stderr.is_empty(), "{o:?}");
}

/// The samples of every channel of a 16-bit WAV file as `decode` writes it (a 44-byte
/// header: the channel count at byte 22, the samples from byte 44).
pub(crate) fn channels_of(path: &Path) -> Vec<Vec<i16>> {
    let wav = std::fs::read(path).unwrap();
    assert_eq!(&wav[..4], b"RIFF");
    assert_eq!(&wav[36..40], b"data");
    let n = usize::from(u16::from_le_bytes([wav[22], wav[23]]));
    let all: Vec<i16> = wav[44..]
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    (0..n)
        .map(|k| all.iter().skip(k).step_by(n).copied().collect())
        .collect()
}

#[test]
fn several_tracks_decode_to_the_channels_of_one_file() {
    let dir = TempDir::new("audio_channels");
    let d = dir.path();
    let left = sample_mix(RATE, 1.5);
    let right: Vec<f32> = left.iter().rev().map(|s| 0.5 * s).collect();
    multi_track(d, "stereo.h4mk", &[(RATE, left), (RATE, right)]);
    for span in [
        &[][..],
        &["--from-ms", "200", "--to-ms", "900"],
        &["--at-ms", "700"],
    ] {
        let mut args = vec!["decode", "--json", "--adapter", "dsp", "--track", "2,1"];
        args.extend_from_slice(span);
        args.extend_from_slice(&["stereo.h4mk", "-o", "both.wav"]);
        let report = json(&h4mk(d, &args));
        assert_eq!(report["tracks"], serde_json::json!([2, 1]), "{span:?}");
        assert_eq!(report["channels"], 2);
        let both = channels_of(&d.join("both.wav"));
        assert_eq!(both.len(), 2);
        assert_eq!(report["samples"], both[0].len());
        // Each channel is what decoding its track alone writes (the tracks are as long, so no
        // channel is padded).
        for (k, track) in ["2", "1"].into_iter().enumerate() {
            let mut args = vec!["decode", "--adapter", "dsp", "--track", track];
            args.extend_from_slice(span);
            args.extend_from_slice(&["stereo.h4mk", "-o", "one.wav"]);
            ok(&h4mk(d, &args));
            assert_eq!(
                both[k],
                channels_of(&d.join("one.wav"))[0],
                "track {track} {span:?}"
            );
        }
    }
    // The same, to standard output.
    let piped = h4mk(
        d,
        &[
            "decode",
            "--adapter",
            "dsp",
            "--track",
            "2",
            "--track",
            "1",
            "stereo.h4mk",
            "-o",
            "-",
        ],
    );
    assert!(
        piped.status.success(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    ok(&h4mk(
        d,
        &[
            "decode",
            "--adapter",
            "dsp",
            "--track",
            "2,1",
            "stereo.h4mk",
            "-o",
            "both.wav",
        ],
    ));
    assert!(piped.stdout == std::fs::read(d.join("both.wav")).unwrap());
}

/// 16-bit PCM samples of `channels` interleaved, as a WAV file at `RATE`.
fn wav_16(channels: u16, interleaved: &[i16]) -> Vec<u8> {
    let data: Vec<u8> = interleaved.iter().flat_map(|s| s.to_le_bytes()).collect();
    riff(&pcm_fmt(channels, 16, None), &data, None)
}

#[test]
fn split_channels_encode_each_channel_as_its_own_track_and_decode_back() {
    let dir = TempDir::new("audio_split");
    let d = dir.path();
    let to_i16 = |x: f32| (x * 32_767.0).round() as i16;
    let left: Vec<i16> = sample_mix(RATE, 1.2).into_iter().map(to_i16).collect();
    let right: Vec<i16> = left.iter().rev().map(|&s| s / 3).collect();
    let stereo: Vec<i16> = left
        .iter()
        .zip(&right)
        .flat_map(|(&l, &r)| [l, r])
        .collect();
    std::fs::write(d.join("stereo.wav"), wav_16(2, &stereo)).unwrap();
    std::fs::write(d.join("left.wav"), wav_16(1, &left)).unwrap();
    std::fs::write(d.join("right.wav"), wav_16(1, &right)).unwrap();

    let report = json(&h4mk(
        d,
        &[
            "encode",
            "--json",
            "--adapter",
            "dsp",
            "--split-channels",
            "--track-id",
            "4",
            "stereo.wav",
            "-o",
            "stereo.h4mk",
        ],
    ));
    assert_eq!(report["tracks"], serde_json::json!([4, 5]));
    assert_eq!(report["samples"], left.len());
    let listed = ok(&h4mk(d, &["info", "stereo.h4mk"]));
    assert!(
        listed.contains("stereo ch1") && listed.contains("stereo ch2"),
        "{listed}"
    );
    // Each track holds the blocks the channel encodes to alone, and decodes to its samples.
    for (track, alone) in [("4", "left"), ("5", "right")] {
        ok(&h4mk(
            d,
            &[
                "encode",
                "--adapter",
                "dsp",
                &format!("{alone}.wav"),
                "-o",
                "alone.h4mk",
            ],
        ));
        for (file, t) in [("stereo.h4mk", track), ("alone.h4mk", "1")] {
            let out = format!("{file}.{t}.bin");
            ok(&h4mk(
                d,
                &[
                    "decode",
                    "--adapter",
                    "null",
                    "--track",
                    t,
                    file,
                    "-o",
                    &out,
                ],
            ));
        }
        assert!(
            std::fs::read(d.join(format!("stereo.h4mk.{track}.bin"))).unwrap()
                == std::fs::read(d.join("alone.h4mk.1.bin")).unwrap(),
            "track {track}"
        );
    }
    ok(&h4mk(
        d,
        &[
            "decode",
            "--adapter",
            "dsp",
            "--track",
            "4,5",
            "stereo.h4mk",
            "-o",
            "back.wav",
        ],
    ));
    let back = channels_of(&d.join("back.wav"));
    for (k, input) in [&left, &right].into_iter().enumerate() {
        let reference: Vec<f32> = input.iter().map(|&s| f32::from(s) / 32_768.0).collect();
        let decoded: Vec<f32> = back[k].iter().map(|&s| f32::from(s) / 32_768.0).collect();
        assert_eq!(decoded.len(), reference.len());
        let snr = snr_db(&reference, &decoded);
        assert!(snr > 30.0, "channel {} at {snr:.1} dB", k + 1);
    }
    // More than 64 channels are refused, as bad usage.
    std::fs::write(d.join("wide.wav"), wav_16(65, &[0; 65 * 100])).unwrap();
    let run = h4mk(
        d,
        &[
            "encode",
            "--adapter",
            "dsp",
            "--split-channels",
            "wide.wav",
            "-o",
            "x.h4mk",
        ],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("at most 64 tracks"));
    // Ids past 65535 are refused before any output.
    let run = h4mk(
        d,
        &[
            "encode",
            "--adapter",
            "dsp",
            "--split-channels",
            "--track-id",
            "65535",
            "stereo.wav",
            "-o",
            "x.h4mk",
        ],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("pass the largest id"));
    assert!(!d.join("x.h4mk").exists());
}

#[test]
fn tracks_that_cannot_share_a_file_are_refused_and_leave_nothing() {
    let dir = TempDir::new("audio_channels_refused");
    let d = dir.path();
    multi_track(
        d,
        "rates.h4mk",
        &[
            (RATE, sample_mix(RATE, 0.5)),
            (16_000, sample_mix(16_000, 0.5)),
        ],
    );
    let run = h4mk(
        d,
        &[
            "decode",
            "--adapter",
            "dsp",
            "--track",
            "1,2",
            "rates.h4mk",
            "-o",
            "x.wav",
        ],
    );
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&run.stderr),
        "h4mk: error: rates.h4mk: track 2 has sample rate 16000, track 1 has 48000: tracks \
         written as channels must agree\n"
    );
    assert!(!d.join("x.wav").exists());
    let run = h4mk(
        d,
        &[
            "decode",
            "--adapter",
            "null",
            "--track",
            "1,2",
            "rates.h4mk",
            "-o",
            "x.bin",
        ],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("--adapter null decodes one track at a time")
    );
    let run = h4mk(
        d,
        &[
            "decode",
            "--adapter",
            "dsp",
            "--track",
            "1,3",
            "rates.h4mk",
            "-o",
            "x.wav",
        ],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("track 3 is not in the track list"));
    // At most 64 tracks side by side, each on a thread of its own.
    let many = vec!["1"; 65].join(",");
    let run = h4mk(
        d,
        &[
            "decode",
            "--adapter",
            "dsp",
            "--track",
            &many,
            "rates.h4mk",
            "-o",
            "x.wav",
        ],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("at most 64"));
    assert!(!d.join("x.wav").exists() && !d.join("x.bin").exists());
}

/// A track whose blocks claim a sample rate WAV cannot hold is refused as the input's fault,
/// before the output is opened; it used to be found writing the WAV header.
#[test]
fn a_rate_wav_cannot_hold_is_refused_before_the_output() {
    use h4mk_adapters::BlockKind;

    let dir = TempDir::new("audio_wav_limits");
    let d = dir.path();
    // One 16-sample frame at hop 8, owning 8 samples, at a rate past the WAV header's.
    let block = silent_dsp1(16, 8, 1, u32::MAX, 1, 8);
    write_container(d, "fast.h4mk", &[RATE], [(1, 0, BlockKind::Key, block)]);
    for o in ["-", "x.wav"] {
        let run = h4mk(
            d,
            &[
                "decode",
                "--adapter",
                "dsp",
                "--track",
                "1",
                "fast.h4mk",
                "-o",
                o,
            ],
        );
        assert_eq!(run.status.code(), Some(1), "-o {o}");
        assert_eq!(
            String::from_utf8_lossy(&run.stderr),
            "h4mk: error: fast.h4mk: track 1: limit WAV sample rate: 4294967295 > 2147483647\n"
        );
        assert!(run.stdout.is_empty());
    }
    assert!(!d.join("x.wav").exists());
}

/// `decode` held the whole output as `f32` before writing the first byte: 4 bytes a sample,
/// twice what the WAV file holds. It now writes each sample once no later block adds to it.
#[test]
#[cfg(target_os = "linux")]
fn decode_writes_as_it_decodes_in_flat_memory() {
    use std::io::Read;
    use std::process::{Command, Stdio};

    use h4mk_adapters::BlockKind;

    let dir = TempDir::new("audio_decode_flat");
    let d = dir.path();
    // Silent DSP1 I-blocks (docs/ADAPTERS.md §3.1) of 500 frames of 1,024 at hop 512: each
    // owns 256,000 samples (the first 512 fewer) in about 500 bytes.
    let (frames, hop, blocks) = (500u16, 512u32, 64u32);
    let block_ms = u32::from(frames) * hop * 1000 / RATE;
    let stream = (0..blocks).map(|j| {
        let owned = u32::from(frames) * hop - if j == 0 { hop } else { 0 };
        let first_frame = j * u32::from(frames);
        let block = silent_dsp1(1_024, hop as u16, frames, RATE, first_frame, owned);
        (1, j * block_ms, BlockKind::Key, block)
    });
    write_container(d, "long.h4mk", &[RATE], stream);
    let samples = u64::from(blocks * u32::from(frames) * hop - hop);

    let mut child = Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .current_dir(d)
        .args([
            "decode",
            "--adapter",
            "dsp",
            "--track",
            "1",
            "long.h4mk",
            "-o",
            "-",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut head = vec![0u8; 1 << 20];
    stdout.read_exact(&mut head).unwrap();
    // The first MiB is out: a decode that renders everything first holds it all by now.
    let peak = peak_resident(child.id());
    let rest = std::io::copy(&mut stdout, &mut std::io::sink()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(head.len() as u64 + rest, 44 + 2 * samples);
    assert!(head[44..].iter().all(|&b| b == 0), "silence");
    let whole = 4 * samples;
    assert!(
        peak < whole / 4,
        "{peak} bytes held writing {samples} samples ({whole} bytes as f32)"
    );
}

/// Runs `encode --adapter dsp NAME -o OUT` in `dir` for OUT `-` and `NAME.h4mk`, and
/// `encode - -o -` with standard input redirected from NAME; checks each fails with exit 1,
/// the one error line `error` and nothing on standard output.
fn refused_before_writing(dir: &Path, name: &str, error: &str) {
    let out = name.replace(".wav", ".h4mk");
    for o in ["-", out.as_str()] {
        let run = h4mk(dir, &["encode", "--adapter", "dsp", name, "-o", o]);
        let stderr = String::from_utf8(run.stderr).unwrap();
        assert_eq!(run.status.code(), Some(1), "{name} -o {o}: {stderr}");
        assert_eq!(stderr, format!("h4mk: error: {error}\n"), "{name} -o {o}");
        assert!(
            run.stdout.is_empty(),
            "{name} -o {o}: {} bytes out",
            run.stdout.len()
        );
    }
    // Standard input redirected from the file is a file too, read from where it stands: here
    // after 5 bytes of something else.
    let path = dir.join("after_junk.wav");
    std::fs::write(
        &path,
        [&b"junk!"[..], &std::fs::read(dir.join(name)).unwrap()].concat(),
    )
    .unwrap();
    let mut redirect = std::fs::File::open(&path).unwrap();
    std::io::Read::read_exact(&mut redirect, &mut [0u8; 5]).unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .current_dir(dir)
        .args(["encode", "--adapter", "dsp", "-", "-o", "-"])
        .stdin(redirect)
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    let stderr = String::from_utf8(run.stderr).unwrap();
    assert_eq!(run.status.code(), Some(1), "- < {name}: {stderr}");
    let error = error.replacen(name, "-", 1);
    assert_eq!(stderr, format!("h4mk: error: {error}\n"), "- < {name}");
    assert!(
        run.stdout.is_empty(),
        "- < {name}: {} bytes out",
        run.stdout.len()
    );
}

/// Since `encode` streams, a file cut short was reported as too long when its header stated a
/// long data chunk, and with `-o -` a file cut short or with a bad first sample sent part of a
/// container out before failing. A file (not a pipe) is checked first, as when it was read
/// whole; the first piece is encoded before anything is written.
#[test]
fn a_wav_file_cut_short_or_bad_at_once_writes_nothing_even_to_standard_output() {
    let dir = TempDir::new("audio_cut_short");
    let d = dir.path();
    // 8-bit mono at 4 kHz stating 0x7FFF0000 bytes (149 hours), holding 25 s; a length from
    // 0x7FFFF000 on is a placeholder, an upper bound.
    let fmt = at_rate(pcm_fmt(1, 8, None), 4_000);
    let long = riff(&fmt, &[0x80; 100_000], Some(0x7FFF_0000));
    std::fs::write(d.join("long.wav"), long).unwrap();
    refused_before_writing(
        d,
        "long.wav",
        "long.wav: reading WAV: the WAV data chunk at offset 36 declares 2147418112 bytes, but \
         the file ends after 100000 of them",
    );
    // 16-bit stereo stating 600,000 bytes, cut at 300,000: more than a piece read.
    let stereo = riff(&pcm_fmt(2, 16, None), &[1; 300_000], Some(600_000));
    std::fs::write(d.join("cut.wav"), stereo).unwrap();
    refused_before_writing(
        d,
        "cut.wav",
        "cut.wav: reading WAV: the WAV data chunk at offset 36 declares 600000 bytes, but the \
         file ends after 300000 of them",
    );
    // A float file whose first sample is not a number.
    let mut fmt = pcm_fmt(1, 32, None);
    fmt[0] = 3; // WAVE_FORMAT_IEEE_FLOAT
    let data: Vec<u8> = [f32::NAN, 0.5, 0.25]
        .repeat(1000)
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    std::fs::write(d.join("nan0.wav"), riff(&fmt, &data, None)).unwrap();
    refused_before_writing(
        d,
        "nan0.wav",
        "nan0.wav: encoding: sample 0 is not a finite number",
    );
    assert_eq!(dir.files(), ["cut.wav", "long.wav", "nan0.wav"]);
}

/// A stream of unknown length is only found too long as it goes: the message says how much
/// had been read, as a lower bound (it said the samples read so far as if they were all).
#[test]
fn a_stream_of_unknown_length_too_long_for_the_timestamps_is_refused_as_at_least() {
    let dir = TempDir::new("audio_stream_too_long");
    let d = dir.path();
    let fmt = at_rate(pcm_fmt(1, 8, None), 1);
    // 300,000 samples at 1 Hz: 83.3 hours, past the 74.6 hours of 28-bit timestamps.
    std::fs::write(
        d.join("stream.wav"),
        riff(&fmt, &[0x80; 300_000], Some(u32::MAX)),
    )
    .unwrap();
    let run = h4mk(
        d,
        &[
            "encode",
            "--adapter",
            "dsp",
            "stream.wav",
            "-o",
            "stream.h4mk",
        ],
    );
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(run.stderr).unwrap(),
        "h4mk: error: stream.wav: at least 83.3 hours of audio at 1 Hz; a track's blocks must \
         start by 268435455 ms (74.6 hours)\n"
    );
    assert_eq!(dir.files(), ["stream.wav"]);
}

/// With `-o -`, a `--json` report goes to standard error, beside the output on standard
/// output: `decode`, `encode`, `extract`, `build` and `remux` used to drop it without a word
/// (`salvage` already wrote it there). It is the report of the same command into a file, but
/// for the output's name; without `--json` nothing is printed besides the output.
#[test]
fn a_json_report_goes_to_standard_error_beside_an_output_on_standard_output() {
    let dir = TempDir::new("audio_json_report_to_stderr");
    let d = dir.path();
    write_input(d);
    encode(d, &[], "song.h4mk");
    for (command, output_at) in [
        (&["encode", "--adapter", "dsp", "in.wav"][..], "file"),
        (
            &["decode", "--adapter", "dsp", "--track", "1", "song.h4mk"],
            "output",
        ),
        (
            &["decode", "--adapter", "null", "--track", "1", "song.h4mk"],
            "output",
        ),
        (&["extract", "--track", "1", "song.h4mk"], "output"),
        (&["build", "--demo"], "file"),
        (&["remux", "song.h4mk"], "file"),
    ] {
        let run = |json: bool, out: &str| {
            let json = if json { &["--json"][..] } else { &[] };
            h4mk(d, &[command, json, &["-o", out]].concat())
        };
        let piped = run(true, "-");
        assert!(piped.status.success(), "{command:?}");
        let mut report: serde_json::Value = serde_json::from_slice(&piped.stderr)
            .unwrap_or_else(|e| panic!("{command:?}: {e}: {:?}", piped.stderr));
        let mut from_file = json(&run(true, "out.bin"));
        assert!(
            std::fs::read(d.join("out.bin")).unwrap() == piped.stdout,
            "{command:?}"
        );
        // The output's name differs, and so may what is said of it (`out.bin` is not `.wav`).
        for field in [output_at, "warnings"] {
            report[field] = serde_json::Value::Null;
            from_file[field] = serde_json::Value::Null;
        }
        assert_eq!(report, from_file, "{command:?}");
        let quiet = run(false, "-");
        assert!(
            quiet.status.success() && quiet.stderr.is_empty(),
            "{command:?}"
        );
        assert!(quiet.stdout == piped.stdout, "{command:?}");
    }
}

/// Audio is written as WAV whatever the output's name: sox and ffmpeg pick the format by the
/// extension, so `-o out.flac` now warns that the file is WAV; `.wav` and `.WAVE` do not,
/// and the bytes are the same.
#[test]
fn audio_named_other_than_wav_is_written_as_wav_with_a_warning() {
    let dir = TempDir::new("audio_extension");
    let d = dir.path();
    write_input(d);
    encode(d, &[], "song.h4mk");
    let mut written = Vec::new();
    for (out, warned) in [("out.flac", true), ("out.WAVE", false), ("out.wav", false)] {
        let o = decode_args(d, &["--to-ms", "100", "song.h4mk"], out);
        assert!(o.status.success());
        let stderr = String::from_utf8(o.stderr).unwrap();
        let want =
            format!("h4mk: warning: {out}: written as WAV, the one audio format h4mk writes\n");
        assert_eq!(stderr, if warned { want } else { String::new() }, "{out}");
        written.push(std::fs::read(d.join(out)).unwrap());
    }
    assert!(written.windows(2).all(|w| w[0] == w[1]));
    // A device has no format to mistake, nor standard output (a file named `-` beside it
    // notwithstanding).
    std::fs::write(d.join("-"), b"").unwrap();
    for out in ["/dev/null", "-"] {
        let o = decode_args(d, &["--to-ms", "100", "song.h4mk"], out);
        assert!(
            o.status.success() && o.stderr.is_empty(),
            "{out}: {:?}",
            o.stderr
        );
    }
}

/// A command that fails on a file cut short says first that the index was rebuilt and where
/// the scan stopped: the error (a B-block whose forward anchor the cut took) reads as damage
/// only with them, and both used to be left out when the command failed.
#[test]
fn a_failure_on_a_cut_file_comes_after_the_warnings_that_explain_it() {
    let dir = TempDir::new("audio_cut_then_fail");
    let d = dir.path();
    write_input(d);
    encode(d, &["--b-blocks", "2"], "song.h4mk");
    let list = json(&h4mk(d, &["list", "--json", "song.h4mk"]));
    let blocks = list["blocks"].as_array().unwrap();
    // A B-block in the middle, and the anchor stored right after it: cut inside the anchor.
    let at = blocks.len() / 2
        + blocks[blocks.len() / 2..]
            .iter()
            .position(|b| b["type"] == "B")
            .unwrap();
    let (b_pts, anchor) = (blocks[at]["pts_ms"].as_u64().unwrap(), &blocks[at + 1]);
    assert_ne!(anchor["type"], "B");
    let cut = anchor["offset"].as_u64().unwrap() as usize + 10;
    let bytes = std::fs::read(d.join("song.h4mk")).unwrap();
    std::fs::write(d.join("cut.h4mk"), &bytes[..cut]).unwrap();
    for args in [
        vec![
            "chain",
            "--track",
            "1",
            "--t-ms",
            &b_pts.to_string(),
            "cut.h4mk",
        ],
        vec![
            "range",
            "--track",
            "1",
            "--from-ms",
            &b_pts.to_string(),
            "--to-ms",
            &b_pts.to_string(),
            "cut.h4mk",
        ],
    ] {
        let o = h4mk(d, &args);
        let stderr = String::from_utf8(o.stderr).unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 3, "{args:?}: {stderr}");
        assert!(
            lines[0].contains("the index was rebuilt by a full scan"),
            "{stderr}"
        );
        assert!(
            lines[1].contains("cut.h4mk: the file is cut short: chunk CORE at offset"),
            "{stderr}"
        );
        assert!(
            lines[2].starts_with("h4mk: error: cut.h4mk: ") && lines[2].contains("forward anchor"),
            "{stderr}"
        );
    }
}

/// `info`, `list` and `extract` of a file cut short, as a crashed writer leaves it, read what
/// is there up to the cut, with a warning: the blocks `h4mk salvage` keeps. They failed at the
/// cut, while `chain` and `decode` answered. A length field damaged further up still fails
/// them.
#[test]
fn info_list_and_extract_read_a_file_cut_short_up_to_its_cut() {
    let dir = TempDir::new("audio_cut_info_list");
    let d = dir.path();
    let bytes = song_and_its_first_half(d);
    ok(&h4mk(d, &["salvage", "cut.h4mk", "-o", "kept.h4mk"]));
    let listed = |file: &str| {
        let o = h4mk(d, &["list", "--json", file]);
        let stderr = String::from_utf8(o.stderr.clone()).unwrap();
        (json(&o), stderr)
    };
    let (kept, said) = listed("kept.h4mk");
    assert_eq!(said, "");
    let (cut, said) = listed("cut.h4mk");
    assert!(cut["blocks"].as_array().unwrap().len() > 10);
    assert_eq!(cut["blocks"], kept["blocks"]);
    assert!(
        said.starts_with("h4mk: warning: cut.h4mk: the file is cut short: chunk CORE at offset ")
            && said.lines().count() == 1,
        "{said}"
    );
    let warning = said.trim_end().strip_prefix("h4mk: warning: ").unwrap();
    assert_eq!(cut["warnings"], serde_json::json!([warning]));
    let text = ok(&h4mk(d, &["list", "cut.h4mk"]));
    assert!(text.ends_with(&format!(
        "cut.h4mk: {} blocks\n",
        kept["blocks"].as_array().unwrap().len()
    )));

    for file in ["cut.h4mk", "kept.h4mk"] {
        let args = ["extract", "--track", "1", "-o", &format!("{file}.lp"), file];
        let o = h4mk(d, &args);
        let stderr = String::from_utf8(o.stderr.clone()).unwrap();
        ok(&o);
        let want = if file == "cut.h4mk" {
            said.as_str()
        } else {
            ""
        };
        assert_eq!(stderr, want, "{file}");
    }
    assert!(
        std::fs::read(d.join("cut.h4mk.lp")).unwrap()
            == std::fs::read(d.join("kept.h4mk.lp")).unwrap()
    );
    // To standard output, and a file per block, the same blocks with the same warning.
    let o = h4mk(d, &["extract", "--track", "1", "-o", "-", "cut.h4mk"]);
    assert_eq!(String::from_utf8(o.stderr.clone()).unwrap(), said);
    assert!(o.stdout == std::fs::read(d.join("kept.h4mk.lp")).unwrap());
    let o = h4mk(
        d,
        &["extract", "--track", "1", "--dir", "blocks", "cut.h4mk"],
    );
    assert_eq!(String::from_utf8(o.stderr.clone()).unwrap(), said);
    let files = std::fs::read_dir(d.join("blocks")).unwrap().count();
    assert_eq!(files, cut["blocks"].as_array().unwrap().len());

    let info = json(&h4mk(d, &["info", "--json", "cut.h4mk"]));
    let kept_info = json(&h4mk(d, &["info", "--json", "kept.h4mk"]));
    assert_eq!(info["tracks"], kept_info["tracks"]);
    let warnings = info["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .starts_with("the file is cut short: chunk CORE at offset "),
        "{warnings:?}"
    );

    // The first block's length field made to run past the end: damage, not a cut.
    let first = cut["blocks"][0]["offset"].as_u64().unwrap() as usize;
    let mut damaged = bytes.clone();
    let len_field = first - 4;
    damaged[len_field..len_field + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(d.join("damaged.h4mk"), damaged).unwrap();
    for args in [
        &["info", "damaged.h4mk"][..],
        &["list", "damaged.h4mk"],
        &["extract", "--track", "1", "-o", "x.lp", "damaged.h4mk"],
    ] {
        let command = args[0];
        let o = h4mk(d, args);
        let stderr = String::from_utf8(o.stderr).unwrap();
        assert_eq!(o.status.code(), Some(1), "{command}: {stderr}");
        assert!(
            stderr.starts_with("h4mk: error: damaged.h4mk: "),
            "{command}: {stderr}"
        );
    }
}

/// A JSON report carries the warnings written to standard error: a script reading
/// `chain --json` of a file cut short took its answer for the whole file's, since the
/// warnings that say otherwise went only to standard error (a review).
#[test]
fn json_reports_carry_their_warnings() {
    let dir = TempDir::new("audio_json_warnings");
    let d = dir.path();
    song_and_its_first_half(d);
    for args in [
        &[
            "chain", "--json", "--track", "1", "--t-ms", "100", "cut.h4mk",
        ][..],
        &[
            "range",
            "--json",
            "--track",
            "1",
            "--from-ms",
            "0",
            "--to-ms",
            "100",
            "cut.h4mk",
        ],
        &[
            "decode",
            "--json",
            "--adapter",
            "dsp",
            "--track",
            "1",
            "--to-ms",
            "100",
            "cut.h4mk",
            "-o",
            "out.flac",
        ],
    ] {
        let o = h4mk(d, args);
        assert!(o.status.success(), "{args:?}");
        let report = json(&o);
        let stderr = String::from_utf8(o.stderr).unwrap();
        let said: Vec<&str> = stderr
            .lines()
            .map(|l| l.strip_prefix("h4mk: warning: ").unwrap())
            .collect();
        assert!(said.len() >= 2, "{args:?}: {stderr}");
        assert_eq!(report["warnings"], serde_json::json!(said), "{args:?}");
    }
    // A writer's too: a cut that keeps no block.
    let o = h4mk(
        d,
        &[
            "remux",
            "--json",
            "--from-ms",
            "5000",
            "--to-ms",
            "6000",
            "song.h4mk",
            "-o",
            "c.h4mk",
        ],
    );
    let stderr = String::from_utf8(o.stderr.clone()).unwrap();
    let said: Vec<&str> = stderr
        .lines()
        .map(|l| l.strip_prefix("h4mk: warning: ").unwrap())
        .collect();
    assert_eq!(said.len(), 1, "{stderr}");
    assert_eq!(json(&o)["warnings"], serde_json::json!(said));
    // None, no field.
    let o = h4mk(
        d,
        &[
            "chain",
            "--json",
            "--track",
            "1",
            "--t-ms",
            "100",
            "song.h4mk",
        ],
    );
    assert!(json(&o).get("warnings").is_none());
}
