//! `h4mk remux` through the built binary: every reference file remuxed is itself again; a file
//! split by track and merged back is the file again; a cut decodes its span as the whole file
//! does, moved to start at zero or not; bad usage and damaged inputs fail in one line and leave nothing behind.

use std::path::Path;

use h4mk_adapters::signal::sample_mix;
use h4mk_adapters::{Pcm, write_wav};

use crate::TempDir;
use crate::binary::{h4mk, json_of, succeeded as ok};
use crate::reference_fixtures::{REFERENCE, fixtures_dir};

fn reference(name: &str) -> String {
    fixtures_dir()
        .join(format!("reference/{name}.h4mk"))
        .to_str()
        .unwrap()
        .to_owned()
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap()
}

#[test]
fn every_reference_file_remuxed_whole_is_itself() {
    let dir = TempDir::new("remux_reference");
    let d = dir.path();
    for name in REFERENCE {
        ok(&h4mk(d, &["remux", &reference(name), "-o", "again.h4mk"]));
        assert!(
            read(d, "again.h4mk") == std::fs::read(reference(name)).unwrap(),
            "{name}"
        );
    }
}

/// A file's creation time (its header's timestamp) is kept, with its sidecars: remux wrote 0,
/// so a file that had one was not itself again. The file of `--sidecars-from` gives both.
#[test]
fn a_remuxed_file_keeps_its_creation_time() {
    let dir = TempDir::new("remux_timestamp");
    let d = dir.path();
    let mut bytes = std::fs::read(reference("sidecars")).unwrap();
    let stamp = 1_764_072_000_123u64.to_le_bytes();
    bytes.get_mut(8..16).unwrap().copy_from_slice(&stamp);
    let body = bytes.len() - 4;
    let crc = h4mk_format::crc::crc32(&bytes[..body]);
    bytes[body..].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(d.join("stamped.h4mk"), &bytes).unwrap();
    ok(&h4mk(d, &["verify", "stamped.h4mk"]));
    ok(&h4mk(d, &["remux", "stamped.h4mk", "-o", "again.h4mk"]));
    assert!(read(d, "again.h4mk") == bytes);
    let both = |from: &str| {
        ok(&h4mk(
            d,
            &[
                "remux",
                &reference("demo"),
                "stamped.h4mk",
                "--map",
                "0:1",
                "--map",
                "1:1=9",
                "--sidecars-from",
                from,
                "-o",
                "both.h4mk",
            ],
        ));
        read(d, "both.h4mk")[8..16].to_vec()
    };
    assert_eq!(both("1"), stamp);
    assert_eq!(both("0"), [0; 8]);
}

#[test]
fn a_file_split_by_track_and_merged_back_is_the_file_again() {
    let dir = TempDir::new("remux_split_merge");
    let d = dir.path();
    let whole = reference("three_tracks_2000");
    // Track 2 alone under id 1, then tracks 3 and 1 as 1 and 2: ids the merge has to undo.
    ok(&h4mk(
        d,
        &["remux", &whole, "--map", "0:2=1", "-o", "a.h4mk"],
    ));
    let b = json_of(&h4mk(
        d,
        &[
            "remux", &whole, "--map", "0:3=1", "--map", "0:1=2", "--json", "-o", "b.h4mk",
        ],
    ));
    assert_eq!(b["blocks"], 4000);
    let merged = json_of(&h4mk(
        d,
        &[
            "remux",
            "a.h4mk",
            "b.h4mk",
            "--map",
            "1:2=1",
            "--map",
            "0:1=2",
            "--map",
            "1:1=3",
            "--json",
            "-o",
            "merged.h4mk",
        ],
    ));
    assert!(read(d, "merged.h4mk") == std::fs::read(&whole).unwrap());
    // Handed over by pts across the two files, at most one block per track waits.
    assert!(
        merged["peak_held_blocks"].as_u64().unwrap() <= 3,
        "{merged}"
    );
}

#[test]
fn a_cut_decodes_its_span_as_the_whole_file_does() {
    let dir = TempDir::new("remux_cut_decode");
    let d = dir.path();
    let file = std::fs::File::create(d.join("in.wav")).unwrap();
    write_wav(file, &Pcm::new(48_000, sample_mix(48_000, 6.0))).unwrap();
    ok(&h4mk(
        d,
        &[
            "encode",
            "--adapter",
            "dsp",
            "--b-blocks",
            "2",
            "--key-interval",
            "8",
            "in.wav",
            "-o",
            "song.h4mk",
        ],
    ));
    let listed = json_of(&h4mk(d, &["list", "--json", "song.h4mk"]));
    let blocks = listed["blocks"].as_array().unwrap();
    let pts = |b: &serde_json::Value| b["pts_ms"].as_u64().unwrap();
    let after = |ms: u64, kind: &str| {
        blocks
            .iter()
            .filter(|b| pts(b) >= ms && (kind.is_empty() || b["type"] == kind))
            .map(pts)
            .next()
            .unwrap()
    };
    // From a time between blocks, from a P-block's pts, from a keyframe's and from just after
    // it: the decode of the span renders the block that reaches its start and the block
    // before that one (its tail completes the first samples), which the cut keeps. Before,
    // from just after a keyframe the cut kept only the keyframe, and the first 500 or so
    // samples decoded from the cut lacked their overlap.
    let between = after(2500, "") + 1;
    assert!(after(between, "") > between);
    let all = blocks.len() as u64;
    let key = after(2500, "I");
    for from in [between, after(2500, "P"), key, key + 1] {
        let (from, to) = (from.to_string(), (from + 1500).to_string());
        let cut = json_of(&h4mk(
            d,
            &[
                "remux",
                "--from-ms",
                &from,
                "--to-ms",
                &to,
                "song.h4mk",
                "--json",
                "-o",
                "cut.h4mk",
            ],
        ));
        let kept = cut["blocks"].as_u64().unwrap();
        assert!(kept > 0 && kept < all, "{cut}");
        assert!(cut.get("shifted_ms").is_none(), "{cut}");
        // The same cut moved to start at 0 ms, its span as far earlier as the report says.
        let zero = json_of(&h4mk(
            d,
            &[
                "remux",
                "--from-ms",
                &from,
                "--to-ms",
                &to,
                "--start-at-zero",
                "song.h4mk",
                "--json",
                "-o",
                "zero.h4mk",
            ],
        ));
        assert_eq!(zero["blocks"], cut["blocks"]);
        let shift = zero["shifted_ms"].as_u64().unwrap();
        let first = json_of(&h4mk(d, &["list", "--json", "cut.h4mk"]));
        assert_eq!(first["blocks"][0]["type"], "I");
        assert_eq!(shift, pts(&first["blocks"][0]));
        let moved = |ms: &str| (ms.parse::<u64>().unwrap() - shift).to_string();
        for (file, from, to) in [
            ("song", from.clone(), to.clone()),
            ("cut", from.clone(), to.clone()),
            ("zero", moved(&from), moved(&to)),
        ] {
            ok(&h4mk(
                d,
                &[
                    "decode",
                    "--adapter",
                    "dsp",
                    "--track",
                    "1",
                    "--from-ms",
                    &from,
                    "--to-ms",
                    &to,
                    &format!("{file}.h4mk"),
                    "-o",
                    &format!("{file}.wav"),
                ],
            ));
        }
        for file in ["cut.wav", "zero.wav"] {
            assert!(
                read(d, "song.wav") == read(d, file),
                "{from}..{to} ms decodes otherwise from {file}"
            );
        }
        let listed = json_of(&h4mk(d, &["list", "--json", "zero.h4mk"]));
        assert_eq!(pts(&listed["blocks"][0]), 0);
    }
}

#[test]
fn bad_usage_exits_2_and_writes_nothing() {
    let dir = TempDir::new("remux_usage");
    let d = dir.path();
    let demo = reference("demo");
    let three = reference("three_tracks_2000");
    for (args, want) in [
        (
            vec![demo.as_str(), three.as_str()],
            "h4mk: error: demo.h4mk and three_tracks_2000.h4mk both have track 1: take the \
             tracks with --map, giving one a new id (--map 1:1=4)",
        ),
        (
            vec![demo.as_str(), "--map", "0:1", "--map", "0:2=1"],
            "h4mk: error: --map 0:1 and --map 0:2=1 both make track 1: give one a new id \
             (IN:ID=NEW)",
        ),
        (
            vec![demo.as_str(), "--map", "1:1"],
            "h4mk: error: --map 1:1: there is no input 1; there is one input, 0",
        ),
        (
            vec![demo.as_str(), "--sidecars-from", "2"],
            "h4mk: error: --sidecars-from 2: there is no input 2; there is one input, 0",
        ),
        (
            vec![demo.as_str(), "--map", "0:7"],
            "h4mk: error: demo.h4mk: track 7 is not in the track list",
        ),
        (
            vec!["-", "-"],
            "h4mk: error: standard input (`-`) can be read only once",
        ),
        (
            vec![demo.as_str(), "--from-ms", "9", "--to-ms", "8"],
            "h4mk: error: --from-ms 9 is after --to-ms 8",
        ),
        (
            vec![
                demo.as_str(),
                "--sidecar",
                "meta=m.json",
                "--drop-sidecar",
                "meta",
            ],
            "h4mk: error: sidecar META is named twice by --sidecar or --drop-sidecar",
        ),
        (
            vec!["-", "--sidecar", "note=-"],
            "h4mk: error: standard input (`-`) can be read only once",
        ),
        (
            vec!["-", "--sidecar", "note=/dev/stdin"],
            "h4mk: error: standard input (`-`) can be read only once",
        ),
        (
            vec![demo.as_str(), "--sidecar", "title=m.json"],
            "error: invalid value 'title=m.json' for '--sidecar <NAME=FILE>': `title=m.json`: \
             `title` is not meta, safe, veri or note",
        ),
        (
            vec![demo.as_str(), "--map", "0:1=x"],
            "error: invalid value '0:1=x' for '--map <IN:ID[=NEW]>': `0:1=x`: new id `x` is not \
             a number from 0 to 65535",
        ),
    ] {
        let mut argv = vec!["remux"];
        argv.extend(args);
        argv.extend(["-o", "out.h4mk"]);
        let o = h4mk(d, &argv);
        let stderr = String::from_utf8(o.stderr).unwrap();
        assert_eq!(o.status.code(), Some(2), "{argv:?}: {stderr}");
        let stderr = stderr.replace(
            &format!("{}/", fixtures_dir().join("reference").display()),
            "",
        );
        assert_eq!(stderr.lines().next(), Some(want), "{argv:?}");
        assert_eq!(dir.files(), Vec::<String>::new(), "{argv:?}");
    }
}

/// A sidecar is replaced by a file's bytes, as they are, or dropped, and nothing else
/// changes: a cut used to carry the input's META, stating the whole file's duration, with no
/// way to mend it short of `build`.
#[test]
fn sidecars_are_replaced_from_files_or_dropped() {
    let dir = TempDir::new("remux_sidecars");
    let d = dir.path();
    let input = reference("sidecars");
    let meta = "{\"title\": \"cut\", \"duration_ms\": 0}\n";
    std::fs::write(d.join("meta.json"), meta).unwrap();
    let note: &[u8] = b"not UTF-8: \xff, kept as it is";
    std::fs::write(d.join("note.bin"), note).unwrap();
    let argv = [
        "remux",
        &input,
        "--sidecar",
        "meta=meta.json",
        "--sidecar",
        "NOTE=note.bin",
        "--drop-sidecar",
        "safe",
        "-o",
        "out.h4mk",
    ];
    ok(&h4mk(d, &argv));
    ok(&h4mk(d, &["verify", "out.h4mk"]));
    let info = json_of(&h4mk(d, &["info", "--json", "out.h4mk"]));
    let tags: Vec<&str> = info["sidecars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["META", "VERI", "NOTE"]);
    for (name, want) in [("meta", meta.as_bytes()), ("note", note)] {
        ok(&h4mk(
            d,
            &["extract", "--sidecar", name, "-o", "got", "out.h4mk"],
        ));
        assert_eq!(read(d, "got"), want, "{name}");
    }
    // VERI and the blocks (bytes, pts and types) are the input's.
    let veri = |file: &str| ok(&h4mk(d, &["extract", "--sidecar", "veri", "-o", "-", file]));
    assert_eq!(veri("out.h4mk"), veri(&input));
    let blocks = |file: &str| ok(&h4mk(d, &["extract", "--track", "1", "-o", "-", file]));
    assert_eq!(blocks("out.h4mk"), blocks(&input));
    let listed = |file: &str| {
        let mut list = json_of(&h4mk(d, &["list", "--json", file]))["blocks"].take();
        for block in list.as_array_mut().unwrap() {
            block.as_object_mut().unwrap().remove("offset");
        }
        list
    };
    assert_eq!(listed("out.h4mk"), listed(&input));

    // `-` is standard input, as for any input.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .current_dir(d)
        .args(["remux", &input, "--sidecar", "note=-", "-o", "piped.h4mk"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from a pipe")
        .unwrap();
    assert!(child.wait().unwrap().success());
    let piped = ok(&h4mk(
        d,
        &["extract", "--sidecar", "note", "-o", "-", "piped.h4mk"],
    ));
    assert_eq!(piped, "from a pipe");

    // A sidecar file that cannot be read fails the command, with nothing written.
    std::fs::remove_file(d.join("out.h4mk")).unwrap();
    let o = h4mk(
        d,
        &[
            "remux",
            &input,
            "--sidecar",
            "meta=gone.json",
            "-o",
            "out.h4mk",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert!(
        stderr.starts_with("h4mk: error: --sidecar META: opening gone.json: "),
        "{stderr}"
    );
    assert!(!d.join("out.h4mk").exists());
}

/// A chunk of a tag h4mk does not read is left out with a warning, in the JSON report too:
/// it was dropped without a word (a docs review).
#[test]
fn chunks_of_unknown_tags_are_left_out_with_a_warning() {
    let dir = TempDir::new("remux_unknown_tags");
    let d = dir.path();
    let input = fixtures_dir().join("valid/assorted_tags.h4mk");
    let input = input.to_str().unwrap();
    let o = h4mk(d, &["remux", "--json", input, "-o", "out.h4mk"]);
    let report = json_of(&o);
    let warning = "assorted_tags.h4mk: 1 chunk of a tag h4mk does not read left out (ZZZZ at \
                   offset 183)";
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        format!("h4mk: warning: {warning}\n")
    );
    assert_eq!(report["warnings"], serde_json::json!([warning]));
    let info = json_of(&h4mk(d, &["info", "--json", "out.h4mk"]));
    assert!(info["chunks"].get("ZZZZ").is_none(), "{info}");
    // A reference file has none, and nothing is said.
    let o = h4mk(d, &["remux", &reference("demo"), "-o", "out.h4mk"]);
    assert!(o.status.success() && o.stderr.is_empty(), "{o:?}");
}

#[test]
fn inputs_of_the_same_name_are_told_apart_by_number() {
    let dir = TempDir::new("remux_same_name");
    let d = dir.path();
    let mut bytes = std::fs::read(reference("three_tracks_2000")).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x10;
    for (sub, data) in [
        ("a", std::fs::read(reference("three_tracks_2000")).unwrap()),
        ("b", bytes),
    ] {
        std::fs::create_dir(d.join(sub)).unwrap();
        std::fs::write(d.join(sub).join("song.h4mk"), data).unwrap();
    }
    let o = h4mk(
        d,
        &[
            "remux",
            "a/song.h4mk",
            "b/song.h4mk",
            "--map",
            "0:1",
            "--map",
            "1:2",
            "-o",
            "out.h4mk",
        ],
    );
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("h4mk: error: song.h4mk (input 1): chunk CORE at offset "),
        "{stderr}"
    );
    let o = h4mk(
        d,
        &["remux", "a/song.h4mk", "a/song.h4mk", "-o", "out.h4mk"],
    );
    assert_eq!(
        String::from_utf8(o.stderr).unwrap().lines().next(),
        Some(
            "h4mk: error: song.h4mk (input 0) and song.h4mk (input 1) both have track 1: take \
             the tracks with --map, giving one a new id (--map 1:1=4)"
        )
    );
    assert_eq!(dir.files(), ["a", "b"]);
}

#[test]
fn a_damaged_input_fails_naming_it_and_leaves_nothing() {
    let dir = TempDir::new("remux_damaged");
    let d = dir.path();
    let mut bytes = std::fs::read(reference("three_tracks_2000")).unwrap();
    // A byte in the middle of the blocks: its chunk's CRC no longer holds.
    let at = bytes.len() / 2;
    bytes[at] ^= 0x10;
    std::fs::write(d.join("bad.h4mk"), &bytes).unwrap();
    let good = reference("demo");
    let o = h4mk(
        d,
        &[
            "remux", &good, "bad.h4mk", "--map", "0:1", "--map", "1:2=2", "-o", "out.h4mk",
        ],
    );
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("h4mk: error: bad.h4mk: chunk CORE at offset "),
        "{stderr}"
    );
    assert_eq!(dir.files(), ["bad.h4mk"]);
}

#[test]
fn a_span_past_the_end_keeps_every_track_with_no_block() {
    let dir = TempDir::new("remux_past_end");
    let d = dir.path();
    // --from-ms alone, past the largest pts a file can hold: not a bad range, only an empty
    // one. Track 1 ended long before, so it keeps nothing, not the block it shows there.
    let report = json_of(&h4mk(
        d,
        &[
            "remux",
            "--from-ms",
            "300000000",
            &reference("demo"),
            "--json",
            "-o",
            "empty.h4mk",
        ],
    ));
    assert_eq!(report["blocks"], 0);
    assert_eq!(report["tracks"].as_array().unwrap().len(), 2);
    ok(&h4mk(d, &["verify", "empty.h4mk"]));
}

/// A cut that keeps no block of a track (a span past the file's end) wrote a file of empty
/// tracks and said nothing: each such track is now named in a warning. The file is written
/// as before, and a cut that keeps blocks of every track that has any says nothing (the
/// demo's track 2 has none).
#[test]
fn a_cut_that_keeps_nothing_of_a_track_says_so() {
    let dir = TempDir::new("remux_empty_cut");
    let d = dir.path();
    let o = h4mk(
        d,
        &[
            "remux",
            &reference("demo"),
            "--from-ms",
            "5000",
            "--to-ms",
            "6000",
            "-o",
            "cut.h4mk",
        ],
    );
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "h4mk: warning: cut.h4mk: track 1 keeps no block from 5000 ms to 6000 ms\n"
    );
    // Moved to start at zero, it has no block to move: the line saying how far every block
    // moved said "0 ms" of none (a docs review).
    let argv = [
        "remux",
        &reference("demo"),
        "--from-ms",
        "5000",
        "--start-at-zero",
        "-o",
        "cut.h4mk",
    ];
    assert_eq!(
        ok(&h4mk(d, &argv)),
        format!(
            "wrote {} bytes to cut.h4mk (2 tracks, 0 blocks)\n",
            read(d, "cut.h4mk").len()
        )
    );
    let o = h4mk(
        d,
        &[
            "remux",
            &reference("demo"),
            "--to-ms",
            "0:00.2",
            "-o",
            "cut.h4mk",
        ],
    );
    assert!(o.status.success() && o.stderr.is_empty(), "{o:?}");
}
