//! End to end through the built `h4mk` binary: build → info → verify → chain → extract, and
//! failing builds that must leave nothing behind.

use std::process::Command;

use serde_json::json;

use crate::TempDir;
use crate::binary::{h4mk, json_of, succeeded as stdout};

#[test]
fn build_info_verify_chain_extract_round_trip() {
    let dir = TempDir::new("e2e_round_trip");
    let d = dir.path();
    std::fs::create_dir(d.join("blocks")).unwrap();
    let key: Vec<u8> = (0..=255).collect();
    std::fs::write(d.join("blocks/key.bin"), &key).unwrap();
    // Written as text: a sidecar keeps the manifest's key order ("title" before "n").
    let manifest = r#"{
        "tracks": [
            {"track_id": 1, "name": "video", "kind": "video", "codec": "h4core",
             "sample_rate": 0, "channels": 0, "note": ""},
            {"track_id": 2, "name": "voice", "kind": "audio", "codec": "h4core"}
        ],
        "sidecars": {"meta": {"title": "round trip", "n": [1, 2]}, "note": "hello\nworld"},
        "blocks": [
            {"track": 1, "pts_ms": 0, "type": "I", "file": "blocks/key.bin"},
            {"track": 2, "pts_ms": 0, "type": "I", "text": "voice key"},
            {"track": 1, "pts_ms": 40, "type": "B", "hex": "b0b1"},
            {"track": 1, "pts_ms": 80, "type": "P", "base64": "UFBQ"},
            {"track": 2, "pts_ms": 50, "type": "P", "hex": ""},
            {"track": 1, "pts_ms": 120, "type": "I", "text": "second key"}
        ]
    }"#;
    std::fs::write(d.join("song.json"), manifest).unwrap();

    let built = json_of(&h4mk(
        d,
        &["build", "song.json", "-o", "song.h4mk", "--json"],
    ));
    assert_eq!(built["blocks"], 6);
    assert_eq!(
        built["tracks"],
        json!([{"track_id": 1, "blocks": 4, "keyframes": 2}, {"track_id": 2, "blocks": 2, "keyframes": 1}])
    );

    let info = json_of(&h4mk(d, &["info", "--json", "song.h4mk"]));
    assert_eq!(info["file"], "song.h4mk");
    assert_eq!(info["blocks"], 6);
    assert_eq!(info["index"]["how"], "trailing");
    let t1 = &info["tracks"][0];
    assert_eq!(
        (
            &t1["blocks"],
            &t1["keyframes"],
            &t1["bidirectional"],
            &t1["pts_span_ms"]
        ),
        (&json!(4), &json!(2), &json!(1), &json!(120))
    );
    assert_eq!(info["tracks"][1]["sample_rate"], 48000);
    assert_eq!(
        info["sidecars"],
        json!([
            {"tag": "META", "size": 36, "text": "{\"title\": \"round trip\", \"n\": [1, 2]}"},
            {"tag": "NOTE", "size": 11, "text": "hello\nworld"}
        ])
    );

    let verify = h4mk(d, &["verify", "song.h4mk"]);
    assert_eq!(
        stdout(&verify),
        "song.h4mk: ok (11 chunks, 873 bytes, 2 tracks)\n"
    );

    // Showing track 1 at 50 ms needs the B-block at 40 ms after its forward anchor at 80 ms.
    let chain = json_of(&h4mk(
        d,
        &[
            "chain",
            "--json",
            "--track",
            "1",
            "--t-ms",
            "50",
            "song.h4mk",
        ],
    ));
    let steps: Vec<(String, u64)> = chain["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["type"].as_str().unwrap().to_owned(),
                s["pts_ms"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(steps, [("I".into(), 0), ("P".into(), 80), ("B".into(), 40)]);

    let extracted = h4mk(d, &["extract", "--track", "1", "--dir", "out", "song.h4mk"]);
    assert_eq!(
        stdout(&extracted),
        "wrote 4 blocks of track 1 (271 opaque bytes) to out\n"
    );
    let mut files: Vec<String> = std::fs::read_dir(d.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let offsets: Vec<u64> = chain["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(files.len(), 4);
    assert!(
        files.contains(&format!("0000000000_I_{}.bin", offsets[0])),
        "{files:?}"
    );
    assert!(
        files.contains(&format!("0000000040_B_{}.bin", offsets[2])),
        "{files:?}"
    );
    assert_eq!(
        std::fs::read(
            d.join("out")
                .join(format!("0000000000_I_{}.bin", offsets[0]))
        )
        .unwrap(),
        key
    );
    assert_eq!(
        std::fs::read(
            d.join("out")
                .join(format!("0000000040_B_{}.bin", offsets[2]))
        )
        .unwrap(),
        [0xb0, 0xb1]
    );
    // Sorted by name, as `ls` and a shell's `*.bin` sort them, the files come in the track's
    // order (pts 0, 40, 80, 120): names with the pts unpadded put 120 before 40.
    let pts: Vec<u32> = files
        .iter()
        .map(|f| f.split('_').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(pts, [0, 40, 80, 120]);

    stdout(&h4mk(
        d,
        &["extract", "--track", "1", "-o", "track1.lp", "song.h4mk"],
    ));
    let stream = std::fs::read(d.join("track1.lp")).unwrap();
    let mut want = Vec::new();
    for block in [&key[..], &[0xb0, 0xb1], b"PPP", b"second key"] {
        want.extend_from_slice(&u32::try_from(block.len()).unwrap().to_le_bytes());
        want.extend_from_slice(block);
    }
    assert!(stream == want);

    let note = h4mk(d, &["extract", "--sidecar", "note", "-o", "-", "song.h4mk"]);
    assert_eq!(stdout(&note), "hello\nworld");

    // The same manifest from standard input gives the same bytes.
    let mut child = Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .current_dir(d)
        .args(["build", "-", "-o", "again.h4mk"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), manifest.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(
        std::fs::read(d.join("again.h4mk")).unwrap() == std::fs::read(d.join("song.h4mk")).unwrap()
    );
}

#[test]
fn failing_builds_leave_nothing_behind() {
    let track = json!({"track_id": 1, "name": "a", "kind": "audio", "codec": "h4core"});
    let cases: [(&str, String, &str); 6] = [
        ("not json", "{\"tracks\": [".to_owned(), "h4mk: error: bad.json: EOF while parsing"),
        (
            "unknown key",
            json!({"tracks": [track], "blocks": [{"track": 1, "pts_ms": 0, "type": "I", "hex": "", "size": 3}]}).to_string(),
            "h4mk: error: bad.json: unknown field `size`",
        ),
        (
            "unknown track",
            json!({"tracks": [track], "blocks": [
                {"track": 1, "pts_ms": 0, "type": "I", "text": "k"},
                {"track": 9, "pts_ms": 5, "type": "I", "text": "k"}
            ]}).to_string(),
            "h4mk: error: bad.json: blocks[1] (track 9, pts 5 ms): track 9 is not in the track list",
        ),
        (
            "P before I",
            json!({"tracks": [track], "blocks": [{"track": 1, "pts_ms": 0, "type": "P", "text": "p"}]}).to_string(),
            "h4mk: error: bad.json: blocks[0] (track 1, pts 0 ms): track 1: the first block (pts 0 ms) is a P-block",
        ),
        (
            "ends on B",
            json!({"tracks": [track], "blocks": [
                {"track": 1, "pts_ms": 0, "type": "I", "text": "k"},
                {"track": 1, "pts_ms": 5, "type": "B", "text": "b"}
            ]}).to_string(),
            "h4mk: error: bad.json: track 1 ends on a B-block (pts 5 ms)",
        ),
        (
            "missing block file",
            json!({"tracks": [track], "blocks": [{"track": 1, "pts_ms": 0, "type": "I", "file": "nope.bin"}]}).to_string(),
            "h4mk: error: bad.json: blocks[0] (track 1, pts 0 ms): opening nope.bin: ",
        ),
    ];
    for (what, manifest, want) in cases {
        let dir = TempDir::new("e2e_failing_build");
        let d = dir.path();
        std::fs::write(d.join("bad.json"), manifest).unwrap();
        let o = h4mk(d, &["build", "bad.json", "-o", "out.h4mk"]);
        let stderr = String::from_utf8(o.stderr).unwrap();
        assert_eq!(o.status.code(), Some(1), "{what}: {stderr}");
        assert!(o.stdout.is_empty(), "{what}");
        assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
        assert!(stderr.starts_with(want), "{what}: {stderr}");
        assert_eq!(dir.files(), ["bad.json"], "{what}: a file was left behind");
    }
}

#[test]
fn bad_usage_exits_2() {
    let dir = TempDir::new("e2e_usage");
    for args in [
        &["build", "-o", "x.h4mk"][..],
        &["extract", "--track", "1", "f.h4mk"],
        &["chain", "--track", "1", "f.h4mk"],
        &["nonsense"],
    ] {
        let o = h4mk(dir.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
    assert_eq!(dir.files(), Vec::<String>::new());
}

#[test]
fn every_command_has_examples_in_its_help() {
    let dir = TempDir::new("e2e_help");
    for cmd in [
        "info", "list", "chain", "range", "verify", "extract", "build", "remux", "decode",
        "encode", "mt_build", "mt_list", "mt_chain",
    ] {
        let help = stdout(&h4mk(dir.path(), &[cmd, "--help"]));
        assert!(help.contains("Examples:"), "{cmd}");
        assert!(help.contains(&format!("h4mk {cmd}")), "{cmd}");
    }
    assert!(stdout(&h4mk(dir.path(), &["--help"])).contains("Examples:"));
}

/// `h4mk list big.h4mk | head`: the reader goes away early; h4mk stops quietly with status 0
/// (it used to print "Broken pipe" errors), and its output reaches the pipe in large writes.
#[test]
fn a_closed_output_pipe_ends_quietly() {
    use std::io::Read;
    use std::process::Stdio;

    let file = crate::reference_fixtures::fixtures_dir().join("reference/three_tracks_2000.h4mk");
    // As text and as JSON: serde_json wraps the pipe's error in its own, which once hid it
    // and printed "h4mk: error: Broken pipe".
    for json in [false, true] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_h4mk"))
            .arg("list")
            .args(json.then_some("--json"))
            .arg(&file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 64];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        // The pipe's read end is dropped here, before h4mk has written its 6,000 blocks.
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "json {json}: status {:?}", out.status);
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "json {json}");
    }
}

#[test]
fn an_empty_chain_says_why() {
    use h4mk_format::{FileHeader, Tag, Writer, WriterOptions};
    use h4mk_gop::{BlockKind, GopFlags, SeekEntry, SeekTableBuf};
    use h4mk_mt::{TrackSpec, encode_track_list, route_header};

    // A track opening on a P-block, then an I-block, as the original muxer would write it
    // (it does not enforce the GOP rules).
    let mut w = Writer::new(Vec::new(), &FileHeader::default(), WriterOptions::default()).unwrap();
    let track = TrackSpec {
        track_id: 1,
        name: "t1".into(),
        kind: "audio".into(),
        codec: "h4core".into(),
        sample_rate: 48_000,
        channels: 1,
        note: String::new(),
    };
    w.write_chunk(Tag::TRAK, 0, &encode_track_list(&[track]).unwrap())
        .unwrap();
    let mut offsets = Vec::new();
    for (pts, kind) in [(0, BlockKind::Predictive), (10, BlockKind::Key)] {
        let flags = GopFlags::new(pts, kind).unwrap().to_bits();
        let at = w
            .write_chunk_parts(Tag::CORE, flags, &[&route_header(1), b"x"])
            .unwrap();
        offsets.push(at + 12);
    }
    let table = SeekTableBuf {
        track_id: 1,
        entries: vec![SeekEntry {
            ts_ms: 10,
            offset: offsets[1],
        }],
    };
    w.write_chunk(Tag::TSEK, 0, &table.to_bytes().unwrap())
        .unwrap();
    let dir = TempDir::new("e2e_empty_chain");
    let file = dir.path().join("starts_on_p.h4mk");
    std::fs::write(&file, w.finish().unwrap()).unwrap();

    let chain = |t: &str, json: bool| {
        let mut args = vec!["chain", "--track", "1", "--t-ms", t, "starts_on_p.h4mk"];
        if json {
            args.insert(1, "--json");
        }
        stdout(&h4mk(dir.path(), &args))
    };
    let why = format!(
        "no I-block at or before the P-block at offset {}, pts 0 ms",
        offsets[0]
    );
    assert!(chain("5", false).ends_with(&format!("nothing to decode ({why})\n")));
    let report: serde_json::Value = serde_json::from_str(&chain("5", true)).unwrap();
    assert_eq!(report["empty"], why.as_str());
    assert_eq!(report["steps"].as_array().unwrap().len(), 0);
    // A plan has no reason.
    let report: serde_json::Value = serde_json::from_str(&chain("10", true)).unwrap();
    assert!(report.get("empty").is_none(), "{report}");
    assert_eq!(report["steps"].as_array().unwrap().len(), 1);
}

/// A file cut where its last four bytes happen to sit where a file CRC would be has no index
/// at its end: the plan comes from a rebuilt index, short of the whole file's. `chain`,
/// `range` and `decode` still answer (the blocks present are sound), but they used to say
/// nothing of it; they now warn, naming why the index was rebuilt.
#[test]
fn plans_from_a_rebuilt_index_warn() {
    let dir = TempDir::new("e2e_rebuilt_warns");
    let d = dir.path();
    let demo = std::fs::read(crate::reference_fixtures::fixtures_dir().join("reference/demo.h4mk"))
        .unwrap();
    std::fs::write(d.join("cut.h4mk"), &demo[..501]).unwrap();
    std::fs::write(d.join("whole.h4mk"), &demo).unwrap();
    for args in [
        &["chain", "--track", "1", "--t-ms", "100"][..],
        &["range", "--track", "1", "--from-ms", "0", "--to-ms", "400"],
        &[
            "decode",
            "--adapter",
            "null",
            "--track",
            "1",
            "-o",
            "out.bin",
        ],
    ] {
        let whole = h4mk(d, &[args, &["whole.h4mk"]].concat());
        stdout(&whole);
        assert_eq!(String::from_utf8_lossy(&whole.stderr), "", "{args:?}");
        let cut = h4mk(d, &[args, &["cut.h4mk"]].concat());
        stdout(&cut);
        let warning = String::from_utf8_lossy(&cut.stderr);
        assert_eq!(
            warning,
            "h4mk: warning: cut.h4mk: the index was rebuilt by a full scan (no TSEK seek table \
             of track 2 ends at offset 497); a file cut short or edited may lack blocks its \
             writer wrote (h4mk verify says more)\n",
            "{args:?}"
        );
    }
}

/// Text that comes from the file (a track's kind and codec) cannot forge a line of `info`'s
/// output or send the terminal escapes.
#[test]
fn track_text_cannot_break_info_into_lines() {
    let dir = TempDir::new("e2e_track_text");
    let d = dir.path();
    let manifest = json!({
        "tracks": [{"track_id": 1, "name": "n\nh4mk: error: forged", "kind": "k\nh4mk: error: forged",
                    "codec": "c\u{1b}]0;title\u{7}"}],
        "blocks": [{"track": 1, "pts_ms": 0, "type": "I", "hex": "00"}]
    });
    std::fs::write(d.join("m.json"), manifest.to_string()).unwrap();
    stdout(&h4mk(d, &["build", "m.json", "-o", "t.h4mk"]));
    let info = stdout(&h4mk(d, &["info", "t.h4mk"]));
    assert!(
        !info.lines().any(|l| l.starts_with("h4mk: error")),
        "{info}"
    );
    assert!(!info.chars().any(|c| c.is_control() && c != '\n'), "{info}");
    assert!(
        info.contains(r"k\nh4mk: error: forged, codec c\u{1b}]0;title\u{7}"),
        "{info}"
    );
}

/// Each damaged seek table the rebuilding scan reads past is named on a warning line of its
/// own, up to three, then counted: five damaged tables used to give five lines, and ten
/// thousand would have given ten thousand. The chain is the intact file's.
#[test]
fn damaged_seek_tables_are_named_up_to_three_then_counted() {
    let dir = TempDir::new("e2e_damaged_tables");
    let d = dir.path();
    let tracks: Vec<_> = (1..=5)
        .map(|id| json!({"track_id": id, "name": "t", "kind": "k", "codec": "c"}))
        .collect();
    let blocks: Vec<_> = (1..=5)
        .map(|id| json!({"track": id, "pts_ms": 0, "type": "I", "text": "key"}))
        .collect();
    let manifest = json!({"tracks": tracks, "blocks": blocks});
    std::fs::write(d.join("m.json"), manifest.to_string()).unwrap();
    stdout(&h4mk(d, &["build", "m.json", "-o", "good.h4mk"]));
    let mut bytes = std::fs::read(d.join("good.h4mk")).unwrap();
    let tables: Vec<usize> = bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"TSEK")
        .map(|(at, _)| at)
        .collect();
    assert_eq!(tables.len(), 5);
    for at in tables {
        bytes[at + 20] ^= 0x01;
    }
    std::fs::write(d.join("bad.h4mk"), &bytes).unwrap();
    let chain = |file| h4mk(d, &["chain", "--track", "3", "--t-ms", "0", file]);
    let o = chain("bad.h4mk");
    assert!(o.status.success());
    let good = String::from_utf8(chain("good.h4mk").stdout).unwrap();
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        good.replace("good.h4mk", "bad.h4mk")
    );
    let stderr = String::from_utf8(o.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 5, "{stderr}");
    assert!(
        lines[0].contains("the index was rebuilt by a full scan"),
        "{stderr}"
    );
    for line in &lines[1..4] {
        assert!(
            line.starts_with("h4mk: warning: bad.h4mk: the scan found chunk TSEK at offset "),
            "{stderr}"
        );
    }
    assert_eq!(
        lines[4],
        "h4mk: warning: bad.h4mk: and 2 more damaged chunks (h4mk verify --lenient lists them)"
    );
}

/// `verify` takes several files (`h4mk verify *.h4mk`), as `flac -t` does: each is checked in
/// turn and reported as alone, a file that cannot be read is an error line and the rest are
/// still checked, and the exit status is 0 only when every file is sound. With `--json`,
/// several reports come as an array. It used to take one file.
#[test]
fn verify_checks_several_files_in_turn() {
    let dir = TempDir::new("e2e_verify_several");
    let d = dir.path();
    stdout(&h4mk(d, &["build", "--demo", "-o", "a.h4mk"]));
    let mut bad = std::fs::read(d.join("a.h4mk")).unwrap();
    bad[500] ^= 0x01;
    std::fs::write(d.join("b.h4mk"), &bad).unwrap();
    let alone = |f: &str| String::from_utf8(h4mk(d, &["verify", f]).stdout).unwrap();
    let both = stdout(&h4mk(d, &["verify", "a.h4mk", "a.h4mk"]));
    assert_eq!(both, alone("a.h4mk").repeat(2));

    let o = h4mk(d, &["verify", "a.h4mk", "missing.h4mk", "b.h4mk"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        alone("a.h4mk") + &alone("b.h4mk")
    );
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert!(
        stderr.starts_with("h4mk: error: opening missing.h4mk"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    // Same names in two folders: the paths as given tell the reports apart.
    std::fs::create_dir(d.join("x")).unwrap();
    std::fs::copy(d.join("b.h4mk"), d.join("x/a.h4mk")).unwrap();
    let o = h4mk(d, &["verify", "a.h4mk", "x/a.h4mk"]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.starts_with("a.h4mk: ok") && text.contains("\nx/a.h4mk: "),
        "{text}"
    );
    // With --json, every file given has an entry, one not read too.
    let o = h4mk(d, &["verify", "--json", "a.h4mk", "missing.h4mk"]);
    assert_eq!(o.status.code(), Some(1));
    let reports = serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap();
    assert_eq!(reports[1]["file"], "missing.h4mk");
    assert_eq!(reports[1]["ok"], false);
    assert_eq!(reports[1]["problems"][0]["check"], "read");
    let o = h4mk(d, &["verify", "--json", "a.h4mk", "b.h4mk"]);
    assert_eq!(o.status.code(), Some(1));
    let reports = serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap();
    let one = |f: &str| {
        let o = h4mk(d, &["verify", "--json", f]);
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    assert_eq!(reports, json!([one("a.h4mk"), one("b.h4mk")]));
    assert_eq!(reports[1]["ok"], false);
}
