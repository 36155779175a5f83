//! `h4mk salvage`: intact files come back unchanged, cut files come back sound, nothing
//! recoverable exits 1 and writes nothing, and the crash test: a separate process writing with
//! the streaming muxer (a sync per chunk) is killed with SIGKILL at many points, and salvaging
//! what it left recovers exactly the decodable blocks whose chunks were complete on disk.
//!
//! The writer process is this test binary itself, run as `it salvage::crash_writer_child
//! --exact` with `H4MK_CRASH_CHILD_OUT` set: no helper binary, and nothing in `h4mk --help`.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use h4mk_cli::output::AtomicFile;
use h4mk_gop::BlockKind;
use h4mk_mt::{Demuxer, MuxOptions, Muxer, Sidecars, TrackSpec};
use serde_json::Value;

use crate::reference_fixtures::fixtures_dir;
use crate::{TempDir, h4mk};

/// The environment variable that turns [`crash_writer_child`] into the writer process: the
/// path of the container to write.
const CHILD_ENV: &str = "H4MK_CRASH_CHILD_OUT";
/// The prefix of the writer's progress lines: `h4mk-crash end OFFSET`, printed after each flush.
const PROGRESS: &str = "h4mk-crash end ";

/// A block of a file and where its chunk ends.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Blk {
    end: u64,
    track: u16,
    ts_ms: u32,
    kind: BlockKind,
    opaque: Vec<u8>,
}

fn blocks_of(bytes: &[u8]) -> Vec<Blk> {
    let d = Demuxer::open(bytes).unwrap();
    d.blocks()
        .map(|b| {
            let b = b.unwrap();
            Blk {
                end: b.end_offset(),
                track: b.track,
                ts_ms: b.ts_ms,
                kind: b.kind,
                opaque: b.opaque.to_vec(),
            }
        })
        .collect()
}

fn contents(blocks: &[Blk]) -> Vec<(u16, u32, char, Vec<u8>)> {
    blocks
        .iter()
        .map(|b| (b.track, b.ts_ms, b.kind.letter(), b.opaque.clone()))
        .collect()
}

/// The blocks of `complete` (a file's blocks, in order, nothing lost between them) that can be
/// decoded: each track from its first I-block on, without the B-blocks after its last anchor.
fn decodable(complete: &[Blk]) -> Vec<Blk> {
    let mut keep = Vec::with_capacity(complete.len());
    let mut started = BTreeSet::new();
    for b in complete {
        if b.kind == BlockKind::Key {
            started.insert(b.track);
        }
        keep.push(started.contains(&b.track));
    }
    for &t in &started {
        for i in (0..complete.len()).rev() {
            if complete[i].track != t || !keep[i] {
                continue;
            }
            if complete[i].kind != BlockKind::Bidirectional {
                break;
            }
            keep[i] = false;
        }
    }
    complete
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(b, _)| b.clone())
        .collect()
}

fn run_json(args: &[&str], file: &Path) -> (ExitCode, Value) {
    let o = h4mk(args, file);
    let v = serde_json::from_str(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} / {}", o.stdout, o.stderr));
    (o.code, v)
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// The reference files, and `valid/empty.h4mk`, a file of no chunk, which was refused as
/// "nothing recoverable" (a docs review).
#[test]
fn intact_files_are_rewritten_unchanged() {
    let dir = TempDir::new("salvage_intact");
    let references = std::fs::read_dir(fixtures_dir().join("reference")).unwrap();
    let paths = references.map(|e| e.unwrap().path());
    for path in paths.chain([fixtures_dir().join("valid/empty.h4mk")]) {
        if path.extension().is_none_or(|e| e != "h4mk") {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let out = dir.path().join(&name);
        let o = h4mk(&["salvage", "{}", "-o", out.to_str().unwrap()], &path);
        assert_eq!(o.code, ExitCode::SUCCESS, "{name}: {}", o.stderr);
        assert!(
            o.stdout
                .starts_with(&format!("{name}: intact; rewritten to {name} (")),
            "{}",
            o.stdout
        );
        assert_eq!(
            std::fs::read(&out).unwrap(),
            std::fs::read(&path).unwrap(),
            "{name}"
        );
        let (_, report) = run_json(
            &["salvage", "--json", "{}", "-o", out.to_str().unwrap()],
            &path,
        );
        // The empty file has no track list, and none was made for it.
        let track_list = if name == "empty.h4mk" {
            "absent"
        } else {
            "found"
        };
        assert_eq!(report["track_list"], track_list, "{name}");
    }
}

#[test]
fn a_cut_file_is_salvaged_into_one_that_verifies() {
    let dir = TempDir::new("salvage_cut");
    let demo = std::fs::read(fixtures_dir().join("reference/demo.h4mk")).unwrap();
    let all = blocks_of(&demo);
    for cut in [333, 500, 650, 700, 780, demo.len() - 1] {
        let input = dir.path().join(format!("cut{cut}.h4mk"));
        std::fs::write(&input, &demo[..cut]).unwrap();
        let out = dir.path().join(format!("fixed{cut}.h4mk"));
        let (code, report) = run_json(
            &["salvage", "--json", "{}", "-o", out.to_str().unwrap()],
            &input,
        );
        assert_eq!(code, ExitCode::SUCCESS, "{cut}");
        assert_eq!(report["written"], true);
        assert_eq!(report["intact"], false);
        assert_eq!(report["footer"], "missing");
        let verify = h4mk(&["verify", "{}"], &out);
        assert_eq!(verify.code, ExitCode::SUCCESS, "{cut}: {}", verify.stdout);
        let complete: Vec<Blk> = all
            .iter()
            .filter(|b| b.end <= cut as u64)
            .cloned()
            .collect();
        let expect = decodable(&complete);
        assert_eq!(
            contents(&blocks_of(&std::fs::read(&out).unwrap())),
            contents(&expect),
            "{cut}"
        );
        assert_eq!(report["blocks_kept"], expect.len());
        // The totals count what the tracks count: lost to damage, and intact but dropped.
        let per_track = |key: &str| -> u64 {
            let tracks = report["tracks"].as_array().unwrap();
            tracks.iter().map(|t| t[key].as_u64().unwrap()).sum()
        };
        assert_eq!(report["blocks_damaged"], per_track("damaged"), "{cut}");
        assert_eq!(report["blocks_dropped"], per_track("dropped"), "{cut}");
    }
}

#[test]
fn the_text_report_names_each_problem() {
    let dir = TempDir::new("salvage_text");
    let mut bytes = std::fs::read(fixtures_dir().join("reference/bframes.h4mk")).unwrap();
    // Damage the payload of the fourth chunk after the TRAK (a block).
    let (offset, payload_offset, end) = {
        let file = h4mk_format::ContainerRef::parse(&bytes).unwrap();
        let c = file.chunks().nth(4).unwrap().unwrap();
        (c.offset, c.payload_offset(), c.end_offset())
    };
    bytes[payload_offset as usize + 9] ^= 0x40;
    let input = dir.path().join("flipped.h4mk");
    std::fs::write(&input, &bytes).unwrap();
    let out = dir.path().join("fixed.h4mk");
    let o = h4mk(&["salvage", "{}", "-o", out.to_str().unwrap()], &input);
    assert_eq!(o.code, ExitCode::SUCCESS);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert!(
        lines[0].starts_with(&format!(
            "flipped.h4mk: skipped {} bytes at offset {} (damaged CORE chunk at offset {})",
            end - offset,
            offset,
            offset
        )),
        "{}",
        o.stdout
    );
    assert_eq!(lines[1], "flipped.h4mk: the file CRC does not match");
    assert!(
        lines[2].contains(" lost: its chunk is damaged"),
        "{}",
        o.stdout
    );
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("flipped.h4mk: recovered "),
        "{}",
        o.stdout
    );
    assert_eq!(h4mk(&["verify", "{}"], &out).code, ExitCode::SUCCESS);
}

#[test]
fn nothing_recoverable_exits_1_and_writes_nothing() {
    let dir = TempDir::new("salvage_nothing");
    let input = dir.path().join("garbage.h4mk");
    std::fs::write(&input, vec![0x5a; 300]).unwrap();
    let out = dir.path().join("out.h4mk");
    let (code, report) = run_json(
        &["salvage", "--json", "{}", "-o", out.to_str().unwrap()],
        &input,
    );
    assert_eq!(code, ExitCode::from(1));
    assert_eq!(report["written"], false);
    assert_eq!(report["skipped"][0]["len"], 300);
    assert_eq!(files_in(dir.path()), [input]);
}

/// Past 10,000 problems the report counts the rest in one line (`omitted` in JSON): a file of
/// a million damaged blocks made a text report of a million lines and 134 MB (a review).
#[test]
fn a_report_past_ten_thousand_problems_counts_the_rest() {
    let dir = TempDir::new("salvage_many_problems");
    let input = dir.path().join("many.h4mk");
    let (mut bytes, ends) = keyframes_of_one_track(10_005);
    for end in ends {
        bytes[end - 1] ^= 1;
    }
    std::fs::write(&input, bytes).unwrap();
    let out = dir.path().join("out.h4mk");
    let o = h4mk(&["salvage", "{}", "-o", out.to_str().unwrap()], &input);
    let lines: Vec<&str> = o.stdout.lines().collect();
    // The skipped range (its first damaged chunks named), the file CRC, 10,000 blocks, the
    // count of the rest, the summary.
    assert_eq!(lines.len(), 10_004, "{:?}", &lines[..3]);
    assert!(lines[0].len() < 300, "{}", lines[0]);
    let not_listed = "many.h4mk: not listed (past 10,000 of a kind): 5 damaged chunks, 5 \
                      blocks lost or dropped";
    assert_eq!(lines[lines.len() - 2], not_listed);
    assert!(
        lines
            .last()
            .unwrap()
            .contains("10005 blocks lost to damage"),
        "{:?}",
        lines.last()
    );
    let (_, report) = run_json(
        &["salvage", "--json", "{}", "-o", out.to_str().unwrap()],
        &input,
    );
    assert_eq!(report["blocks_damaged"], 10_005);
    assert_eq!(report["dropped"].as_array().unwrap().len(), 10_000);
    assert_eq!(report["omitted"]["dropped"], 5);
    assert_eq!(report["omitted"]["damaged_chunks"], 5);
}

/// A file of `n` one-byte keyframes of one track, and where each block's chunk ends.
fn keyframes_of_one_track(n: u32) -> (Vec<u8>, Vec<usize>) {
    let track = TrackSpec::new(1, "a", "audio", "c");
    let opts = MuxOptions::default();
    let mut mux = Muxer::new(Vec::new(), vec![track], &Sidecars::default(), opts).unwrap();
    for ts_ms in 0..n {
        mux.push(1, ts_ms, BlockKind::Key, b"k").unwrap();
    }
    let (bytes, _) = mux.finish().unwrap();
    let ends = Demuxer::open(&bytes)
        .unwrap()
        .blocks()
        .map(|b| b.unwrap().end_offset() as usize)
        .collect();
    (bytes, ends)
}

/// Damaged chunks in skipped ranges past the list's cap are named on no line: the text report
/// counts them with those its list left out. With 10,005 runs of garbage before them, the
/// damage of the last 4 blocks was said nowhere (a review).
#[test]
fn damaged_chunks_of_ranges_not_listed_are_counted() {
    let dir = TempDir::new("salvage_unnamed_damage");
    let input = dir.path().join("late.h4mk");
    // Three bytes of garbage after each of the first 10,005 blocks; the next one intact, the
    // last 4 damaged.
    let (clean, ends) = keyframes_of_one_track(10_010);
    let mut bytes = Vec::with_capacity(clean.len() + 3 * ends.len());
    let mut at = 0;
    for (i, &end) in ends.iter().enumerate() {
        bytes.extend_from_slice(&clean[at..end]);
        at = end;
        if i < 10_005 {
            bytes.extend_from_slice(&[0xA5; 3]);
        } else if i > 10_005
            && let Some(crc) = bytes.last_mut()
        {
            *crc ^= 1;
        }
    }
    bytes.extend_from_slice(&clean[at..]);
    std::fs::write(&input, bytes).unwrap();
    let out = dir.path().join("out.h4mk");
    let o = h4mk(&["salvage", "{}", "-o", out.to_str().unwrap()], &input);
    let not_listed = "late.h4mk: not listed (past 10,000 of a kind): 6 skipped ranges, 4 \
                      damaged chunks";
    assert!(
        o.stdout.lines().any(|l| l == not_listed),
        "{:?}",
        o.stdout.lines().rev().take(3).collect::<Vec<_>>()
    );
}

/// Three tracks (GOPs `I B B P B P`, `I P P P`, all I) with opaque bytes of 50 to 1,500 bytes.
fn crash_tracks() -> Vec<TrackSpec> {
    (1..=3)
        .map(|id| TrackSpec {
            track_id: id,
            name: format!("track {id}"),
            kind: "audio".into(),
            codec: "h4core".into(),
            sample_rate: 48_000,
            channels: 1,
            note: String::new(),
        })
        .collect()
}

fn crash_blocks() -> Vec<(u16, u32, BlockKind, Vec<u8>)> {
    use BlockKind::{Bidirectional as B, Key as I, Predictive as P};
    let gops: [&[BlockKind]; 3] = [&[I, B, B, P, B, P], &[I, P, P, P], &[I]];
    let mut x = 0x1234_5678u32;
    let mut rand = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let mut out = Vec::new();
    for step in 0..48u32 {
        for (t, gop) in gops.iter().enumerate() {
            let track = t as u16 + 1;
            let kind = gop[step as usize % gop.len()];
            let len = 50 + rand() as usize % 1450;
            let opaque = (0..len).map(|_| rand() as u8).collect();
            out.push((track, step * 40, kind, opaque));
        }
    }
    // Last step: anchors only, so no track ends on a B-block.
    for t in 1..=3 {
        out.push((t, 48 * 40, BlockKind::Key, vec![t as u8; 64]));
    }
    out
}

/// Writes the crash-test file to `sink` with the streaming muxer; `pace` runs after each block.
fn write_crash_file<W: Write>(sink: W, sync: bool, mut pace: impl FnMut()) -> W {
    let sidecars = Sidecars {
        meta: Some(br#"{"title": "crash test"}"#),
        ..Sidecars::default()
    };
    let opts = MuxOptions {
        sync,
        ..MuxOptions::default()
    };
    let mut m = Muxer::new(sink, crash_tracks(), &sidecars, opts).unwrap();
    for (track, ts, kind, opaque) in crash_blocks() {
        m.push(track, ts, kind, &opaque).unwrap();
        pace();
    }
    m.finish().unwrap().0
}

/// A sink that counts the bytes through it and, after each flush (the muxer's sync flushes
/// once per chunk, and `SyncOnFlush` makes that an fsync), prints how many bytes are out.
struct Progress<W: Write> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Progress<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()?;
        let mut so = std::io::stdout().lock();
        writeln!(so, "{PROGRESS}{}", self.written)?;
        so.flush()
    }
}

/// The writer process of the crash test; does nothing unless [`CHILD_ENV`] is set.
#[test]
fn crash_writer_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let mut file = AtomicFile::create(Path::new(&path), true).unwrap();
    let progress = Progress {
        inner: file.writer(),
        written: 0,
    };
    write_crash_file(progress, true, || {
        std::thread::sleep(std::time::Duration::from_micros(300));
    });
    file.commit().unwrap();
}

/// What one kill left and what salvage made of it.
struct KillOutcome {
    reported: u64,
    on_disk: u64,
    recovered: u64,
}

fn kill_after(dir: &Path, lines: usize, full: &[u8], all: &[Blk], trak_end: u64) -> KillOutcome {
    let target = dir.join("crash.h4mk");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "salvage::crash_writer_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &target)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut reported: Vec<u64> = Vec::new();
    let mut line = String::new();
    while reported.len() < lines {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(n) = line.trim_end().strip_prefix(PROGRESS) {
            reported.push(n.parse().unwrap());
        }
    }
    // SIGKILL: no destructor, no flush, no rename runs in the child.
    child.kill().unwrap();
    child.wait().unwrap();
    // Lines printed before the kill are still in the pipe.
    for l in reader.lines() {
        if let Some(n) = l.unwrap().strip_prefix(PROGRESS) {
            reported.push(n.parse().unwrap());
        }
    }
    let last_reported = reported.last().copied().unwrap_or(0);
    let left = files_in(dir);
    assert!(left.len() <= 1, "{left:?}");
    let Some(partial_path) = left.first() else {
        assert_eq!(last_reported, 0, "a flushed chunk but no file");
        return KillOutcome {
            reported: 0,
            on_disk: 0,
            recovered: 0,
        };
    };
    let partial = std::fs::read(partial_path).unwrap();
    let on_disk = partial.len() as u64;
    // Durability: every chunk reported flushed is on disk, and the file is a prefix of the
    // complete one (nothing torn, nothing invented).
    assert!(on_disk >= last_reported, "{on_disk} < {last_reported}");
    assert_eq!(partial[..], full[..partial.len()], "not a prefix");

    let fixed = dir.join("fixed.out");
    let (code, report) = run_json(
        &["salvage", "--json", "{}", "-o", fixed.to_str().unwrap()],
        partial_path,
    );
    let complete: Vec<Blk> = all.iter().filter(|b| b.end <= on_disk).cloned().collect();
    let expect = decodable(&complete);
    let recovered = if on_disk >= trak_end {
        assert_eq!(code, ExitCode::SUCCESS, "{report}");
        let bytes = std::fs::read(&fixed).unwrap();
        let d = Demuxer::open(&bytes).unwrap();
        let v = d.verify();
        assert!(v.is_ok(), "{:?}", v.problems);
        let got = blocks_of(&bytes);
        assert_eq!(
            contents(&got),
            contents(&expect),
            "killed at {on_disk} bytes"
        );
        assert_eq!(report["blocks_kept"], got.len());
        got.len() as u64
    } else {
        assert_eq!(code, ExitCode::from(1), "{report}");
        assert!(!fixed.exists());
        assert!(expect.is_empty());
        0
    };
    for f in files_in(dir) {
        std::fs::remove_file(f).unwrap();
    }
    KillOutcome {
        reported: reported.len() as u64,
        on_disk,
        recovered,
    }
}

/// Kills the writer at 24 points spread over its run (after 0, 1, ... progress lines, with a
/// seeded jitter, and once after it finished) and salvages each file it left.
#[test]
fn a_writer_killed_at_any_point_leaves_every_complete_decodable_block() {
    let started = Instant::now();
    let full = write_crash_file(Vec::new(), false, || {});
    let all = blocks_of(&full);
    let file = h4mk_format::ContainerRef::parse(&full).unwrap();
    let trak_end = file.chunks().next().unwrap().unwrap().end_offset();
    let chunks = file.chunks().count();
    let dir = TempDir::new("salvage_crash");
    const KILLS: usize = 24;
    let mut x = 0x00c0_ffeeu32;
    let mut points: Vec<usize> = (0..KILLS - 1)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let span = chunks / (KILLS - 1);
            i * span + (x as usize) % span.max(1)
        })
        .collect();
    points[0] = 0;
    points.push(chunks + 10);
    let (mut recovered, mut sizes) = (0u64, BTreeSet::new());
    for (i, &lines) in points.iter().enumerate() {
        let o = kill_after(dir.path(), lines, &full, &all, trak_end);
        println!(
            "kill {i:2}: after {lines:3} progress lines: {:3} reported, {:6} bytes on disk, {:3} blocks recovered",
            o.reported, o.on_disk, o.recovered
        );
        recovered += o.recovered;
        sizes.insert(o.on_disk);
    }
    println!(
        "crash test: {KILLS} kill points ({} distinct file lengths), {recovered} blocks recovered in all, of {} blocks written per run, in {:?}",
        sizes.len(),
        all.len(),
        started.elapsed()
    );
    assert!(
        sizes.len() >= KILLS / 2,
        "kills landed at too few points: {sizes:?}"
    );
}

#[test]
fn the_container_can_go_to_standard_output_with_the_report_on_standard_error() {
    let demo = fixtures_dir().join("reference/demo.h4mk");
    let bytes = std::fs::read(&demo).unwrap();
    let dir = TempDir::new("salvage_stdout");
    let cut = dir.path().join("cut.h4mk");
    std::fs::write(&cut, &bytes[..600]).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .args(["salvage", cut.to_str().unwrap(), "-o", "-"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert!(
        stderr.ends_with(
            "cut.h4mk: recovered 2 blocks of 2 tracks into -; 1 block lost to damage, 0 dropped, 49 bytes skipped\n"
        ),
        "{stderr}"
    );
    let d = Demuxer::open(&o.stdout).unwrap();
    assert!(d.verify().is_ok());
    assert_eq!(dir.files(), ["cut.h4mk"]);
    // The same bytes as into a file (standard output is written by a second pass), and none
    // at all when nothing is recovered.
    let file = dir.path().join("fixed.h4mk");
    let to_file = h4mk(&["salvage", "{}", "-o", file.to_str().unwrap()], &cut);
    assert_eq!(to_file.code, ExitCode::SUCCESS, "{}", to_file.stderr);
    assert_eq!(o.stdout, std::fs::read(&file).unwrap());
    let garbage = dir.path().join("garbage.h4mk");
    std::fs::write(&garbage, [0x5a; 300]).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .args(["salvage", garbage.to_str().unwrap(), "-o", "-"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
}
