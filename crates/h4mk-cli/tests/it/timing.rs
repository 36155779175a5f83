//! Where `h4mk decode` places a track's blocks in time, end to end through the built binary: a
//! gap `salvage` leaves decodes as silence with every later block where it was, and a cut
//! `remux --start-at-zero` moved decodes moved, in step with a track that was not.

use std::path::Path;

use h4mk_adapters::signal::sample_mix;
use h4mk_adapters::{Pcm, read_wav, write_wav};
use h4mk_gop::BlockKind;
use h4mk_mt::Demuxer;

use crate::TempDir;
use crate::audio::channels_of;
use crate::binary::{h4mk, json_of as json, succeeded as ok};

/// Sample rate of the test signal.
const RATE: u32 = 48_000;

/// Writes 2.5 s of the test signal to `DIR/in.wav` and encodes it to `DIR/song.h4mk` with
/// `extra` options.
fn encode_song(dir: &Path, extra: &[&str]) {
    let file = std::fs::File::create(dir.join("in.wav")).unwrap();
    write_wav(file, &Pcm::new(RATE, sample_mix(RATE, 2.5))).unwrap();
    let mut args = vec!["encode", "--adapter", "dsp"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["in.wav", "-o", "song.h4mk"]);
    ok(&h4mk(dir, &args));
}

/// `h4mk decode --json --adapter dsp --track TRACKS [ARGS...] FILE -o OUT`: the report, and
/// the WAV file's samples.
fn decode(
    dir: &Path,
    tracks: &str,
    args: &[&str],
    file: &str,
    out: &str,
) -> (serde_json::Value, Pcm) {
    let mut argv = vec!["decode", "--json", "--adapter", "dsp", "--track", tracks];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&[file, "-o", out]);
    let report = json(&h4mk(dir, &argv));
    let wav = read_wav(std::fs::File::open(dir.join(out)).unwrap()).unwrap();
    (report, wav)
}

#[test]
fn a_track_salvage_dropped_blocks_from_early_on_decodes_with_silence_in_their_place() {
    let dir = TempDir::new("timing_salvaged_gap");
    let d = dir.path();
    encode_song(d, &["--b-blocks", "2", "--key-interval", "6"]);
    // Damage the first P-block: salvage drops it and the four B-blocks that depend on it,
    // blocks 1 to 5 of the track, leaving keyframes 0 and 6 side by side.
    let mut bytes = std::fs::read(d.join("song.h4mk")).unwrap();
    let (p_block, blocks) = {
        let demux = Demuxer::open(&bytes).unwrap();
        let blocks: Vec<_> = demux.blocks().map(Result::unwrap).collect();
        let p = blocks
            .iter()
            .find(|b| b.kind == BlockKind::Predictive)
            .unwrap();
        (p.offset as usize + p.opaque.len() / 2, blocks.len())
    };
    bytes[p_block] ^= 0xff;
    std::fs::write(d.join("damaged.h4mk"), &bytes).unwrap();
    ok(&h4mk(d, &["salvage", "damaged.h4mk", "-o", "fixed.h4mk"]));
    let fixed = std::fs::read(d.join("fixed.h4mk")).unwrap();
    assert_eq!(Demuxer::open(&fixed).unwrap().blocks().count(), blocks - 5);
    ok(&h4mk(d, &["verify", "fixed.h4mk"]));

    // Before the fix: refused, blocks 0 and 6 spanning more than twice their samples.
    let (report, gapped) = decode(d, "1", &[], "fixed.h4mk", "fixed.wav");
    let (_, whole) = decode(d, "1", &[], "song.h4mk", "whole.wav");
    assert_eq!(report["start_sample"], 0);
    assert_eq!(gapped.samples.len(), whole.samples.len());
    // At the defaults (N = 1024, H = 512, 8 frames a block), block 0 owns 0..3584 and lends
    // its next 512 samples to block 1; block 6's frames start at 6 * 4096 - 512 and their
    // first 512 samples lack the tail of block 5.
    let (n_h, own0, six) = (512, 3584, 6 * 4096 - 512);
    assert_eq!(gapped.samples[..own0], whole.samples[..own0]);
    assert!(gapped.samples[own0 + n_h..six].iter().all(|&s| s == 0.0));
    assert_eq!(gapped.samples[six + n_h..], whole.samples[six + n_h..]);

    // What the first block after the gap shows: its lead, the block before the gap, is too far
    // from it to plan with, so it is decoded without, exactly and with no warning (before,
    // one said the lead did not decode).
    let six_ms = (six as u64 * 1000 / u64::from(RATE) + 1).to_string();
    let args = [
        "decode",
        "--adapter",
        "dsp",
        "--track",
        "1",
        "--at-ms",
        &six_ms,
    ];
    let o = h4mk(d, &[&args[..], &["fixed.h4mk", "-o", "at.wav"]].concat());
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
    ok(&o);

    // A time range is the whole decode of the salvaged file there, the gap included: before,
    // a range inside it was refused, and one running into it stopped where it starts.
    let at = |ms: u32| (u64::from(ms) * u64::from(RATE) / 1000) as usize;
    for (a, b) in [(100, 200), (50, 300), (300, 600), (80, 90)] {
        let (a_ms, b_ms) = (a.to_string(), b.to_string());
        let (_, cut) = decode(
            d,
            "1",
            &["--from-ms", &a_ms, "--to-ms", &b_ms],
            "fixed.h4mk",
            "cut.wav",
        );
        assert!(
            cut.samples[..] == gapped.samples[at(a)..at(b)],
            "{a}..{b} ms: {} samples",
            cut.samples.len()
        );
    }
}

#[test]
fn a_cut_moved_to_start_at_zero_decodes_moved_and_in_step_with_the_track_it_was_cut_from() {
    let dir = TempDir::new("timing_start_at_zero");
    let d = dir.path();
    encode_song(d, &["--b-blocks", "2", "--key-interval", "6"]);
    // The cut keeps from keyframe 6 (501 ms, its first sample owned at 24064) on.
    let remux = json(&h4mk(
        d,
        &[
            "remux",
            "--json",
            "--from-ms",
            "1013",
            "--to-ms",
            "2000",
            "--start-at-zero",
            "song.h4mk",
            "-o",
            "zero.h4mk",
        ],
    ));
    let shifted_ms = remux["shifted_ms"].as_u64().unwrap();
    assert_eq!(shifted_ms, 501);
    let shift = (shifted_ms * u64::from(RATE) / 1000) as usize;

    // Its first block decodes within a millisecond of sample 0 (24064 before the fix).
    let (first, _) = decode(d, "1", &["--at-ms", "0"], "zero.h4mk", "0.wav");
    let start = first["start_sample"].as_u64().unwrap() as usize;
    assert_eq!(start, 24_064 - shift);
    // The whole cut is the whole track's samples from there, `shift` earlier (but for the
    // first 512, which lack the tail of the block before the cut).
    let (_, cut) = decode(d, "1", &[], "zero.h4mk", "cut.wav");
    let (_, whole) = decode(d, "1", &[], "song.h4mk", "whole.wav");
    let from = start + shift + 512;
    assert_eq!(
        cut.samples[512..],
        whole.samples[from..from + cut.samples.len() - 512]
    );

    // Beside the track it was cut from, as channel 2: each block plays at its pts, so the
    // channels are in step by them, channel 2 the same samples `shift` earlier (before the
    // fix, at the same samples: the pts were ignored), and silent before the cut's first.
    ok(&h4mk(
        d,
        &[
            "remux",
            "song.h4mk",
            "zero.h4mk",
            "--map",
            "0:1",
            "--map",
            "1:1=2",
            "-o",
            "both.h4mk",
        ],
    ));
    ok(&h4mk(
        d,
        &[
            "decode",
            "--adapter",
            "dsp",
            "--track",
            "1,2",
            "both.h4mk",
            "-o",
            "both.wav",
        ],
    ));
    let [one, two] = <[Vec<i16>; 2]>::try_from(channels_of(&d.join("both.wav"))).unwrap();
    let exact = start + 512..start + cut.samples.len();
    assert!(two[..start].iter().all(|&s| s == 0));
    assert_eq!(
        two[exact.clone()],
        one[exact.start + shift..exact.end + shift]
    );
}

/// A file whose pts were rounded up by its encoder (every other block 1 ms late), cut and
/// moved to start at zero: every block is `S` or `S - 1` ms before the time its position
/// gives. Each time range decodes to the whole decode's samples there, bit for bit: every
/// decode of a track is placed by the track's first block. Before, each took its shift from
/// the first block it placed, and ranges whose lead was a late block came out a millisecond
/// off.
#[test]
fn time_ranges_of_a_moved_track_with_rounded_pts_are_the_whole_decode_there() {
    let dir = TempDir::new("timing_rounded_moved");
    let d = dir.path();
    encode_song(d, &["--b-blocks", "2", "--key-interval", "6"]);
    let song = std::fs::read(d.join("song.h4mk")).unwrap();
    let demux = Demuxer::open(&song).unwrap();
    let mut mux = h4mk_mt::Muxer::new(
        Vec::new(),
        demux.tracks().to_vec(),
        &demux.sidecars(),
        h4mk_mt::MuxOptions::default(),
    )
    .unwrap();
    for (rank, b) in demux.blocks().map(Result::unwrap).enumerate() {
        mux.push(b.track, b.ts_ms + (rank % 2) as u32, b.kind, b.opaque)
            .unwrap();
    }
    std::fs::write(d.join("rounded.h4mk"), mux.finish().unwrap().0).unwrap();
    ok(&h4mk(
        d,
        &[
            "remux",
            "--from-ms",
            "1013",
            "--start-at-zero",
            "rounded.h4mk",
            "-o",
            "zero.h4mk",
        ],
    ));
    let (report, whole) = decode(d, "1", &[], "zero.h4mk", "whole.wav");
    let first = report["start_sample"].as_u64().unwrap();
    let at = |ms: u32| u64::from(ms) * u64::from(RATE) / 1000;
    for from in (0..900).step_by(37) {
        let (a, b) = (from.to_string(), (from + 250).to_string());
        let (report, cut) = decode(
            d,
            "1",
            &["--from-ms", &a, "--to-ms", &b],
            "zero.h4mk",
            "cut.wav",
        );
        let lo = at(from).max(first);
        assert_eq!(report["start_sample"], lo, "from {from} ms");
        let skip = usize::try_from(lo - first).unwrap();
        assert!(
            cut.samples[..] == whole.samples[skip..skip + cut.samples.len()],
            "from {from} ms: other samples"
        );
    }

    // Beside another track, with its first keyframe damaged, the track's decodes are placed
    // by its next keyframe: from the second group of blocks on, the same samples. Before,
    // each took the first block it placed, and ranges led by a late block came out a
    // millisecond off.
    let map = ["--map", "0:1", "--map", "1:1=2"];
    let mut args = vec!["remux", "song.h4mk", "zero.h4mk", "-o", "mix.h4mk"];
    args.extend(map);
    ok(&h4mk(d, &args));
    let mut damaged = std::fs::read(d.join("mix.h4mk")).unwrap();
    let key = Demuxer::open(&damaged).unwrap().seek_table(2).unwrap()[0].offset as usize;
    damaged[key + 40] ^= 0x10;
    std::fs::write(d.join("damaged.h4mk"), damaged).unwrap();
    for from in (600..1400).step_by(37) {
        let (a, b) = (from.to_string(), (from + 250).to_string());
        let args = ["--from-ms", a.as_str(), "--to-ms", b.as_str()];
        let (report, cut) = decode(d, "2", &args, "damaged.h4mk", "cut.wav");
        assert_eq!(report["start_sample"], at(from), "from {from} ms");
        let skip = usize::try_from(at(from) - first).unwrap();
        assert!(
            cut.samples[..] == whole.samples[skip..skip + cut.samples.len()],
            "from {from} ms, first keyframe damaged: other samples"
        );
    }
}
