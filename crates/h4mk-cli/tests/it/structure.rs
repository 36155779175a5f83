//! `verify` and the reading commands over files that are sound chunk by chunk but break a rule
//! of the multi-track layer, each built here with the format layer's writer (the fixtures hold
//! none yet): verify must name each problem on one line with the tag and offset of the chunk it
//! is about, and its JSON report must give that offset.

use std::path::Path;
use std::process::ExitCode;

use h4mk_format::{FileHeader, Tag, Writer, WriterOptions};
use h4mk_gop::{BlockKind, GopFlags, SeekEntry, SeekTableBuf};
use h4mk_mt::{TrackSpec, encode_track_list, route_header};
use insta::{assert_snapshot, with_settings};

use crate::{TempDir, h4mk};

/// What goes into a hand-built file, chunk by chunk, in order.
enum Chunk<'a> {
    /// A TRAK chunk with this JSON payload.
    Trak(&'a str),
    /// A TRAK chunk listing these track ids.
    Tracks(&'a [u16]),
    /// A CORE block: track, pts, type, opaque bytes.
    Block(u16, u32, BlockKind, &'a [u8]),
    /// A CORE chunk with raw flags.
    RawCore(u16, u32),
    /// A CORE chunk with flags 0 and this raw payload (no routing header of ours).
    BadCore(&'a [u8]),
    /// A TSEK table for a track, entries given as (pts, index of the block among the CORE
    /// chunks written so far).
    Seek(u16, &'a [(u32, usize)]),
    /// A chunk of a tag no reader knows, with an empty payload.
    Unknown([u8; 4]),
}

fn write_file(path: &Path, chunks: &[Chunk<'_>]) {
    let mut w = Writer::new(Vec::new(), &FileHeader::default(), WriterOptions::default()).unwrap();
    let mut cores: Vec<u64> = Vec::new();
    for c in chunks {
        match *c {
            Chunk::Trak(json) => {
                w.write_chunk(Tag::TRAK, 0, json.as_bytes()).unwrap();
            }
            Chunk::Tracks(ids) => {
                let tracks: Vec<TrackSpec> = ids
                    .iter()
                    .map(|&id| TrackSpec {
                        track_id: id,
                        name: format!("t{id}"),
                        kind: "audio".into(),
                        codec: "h4core".into(),
                        sample_rate: 48_000,
                        channels: 1,
                        note: String::new(),
                    })
                    .collect();
                w.write_chunk(Tag::TRAK, 0, &encode_track_list(&tracks).unwrap())
                    .unwrap();
            }
            Chunk::Block(track, pts, kind, bytes) => {
                let flags = GopFlags::new(pts, kind).unwrap().to_bits();
                let at = w
                    .write_chunk_parts(Tag::CORE, flags, &[&route_header(track), bytes])
                    .unwrap();
                cores.push(at + 12);
            }
            Chunk::RawCore(track, flags) => {
                let at = w
                    .write_chunk(Tag::CORE, flags, &route_header(track))
                    .unwrap();
                cores.push(at + 12);
            }
            Chunk::Unknown(tag) => {
                w.write_chunk(Tag(tag), 0, b"").unwrap();
            }
            Chunk::BadCore(payload) => {
                let at = w.write_chunk(Tag::CORE, 0, payload).unwrap();
                cores.push(at + 12);
            }
            Chunk::Seek(track, entries) => {
                let table = SeekTableBuf {
                    track_id: track,
                    entries: entries
                        .iter()
                        .map(|&(ts_ms, i)| SeekEntry {
                            ts_ms,
                            offset: cores[i],
                        })
                        .collect(),
                };
                w.write_chunk(Tag::TSEK, 0, &table.to_bytes().unwrap())
                    .unwrap();
            }
        }
    }
    std::fs::write(path, w.finish().unwrap()).unwrap();
}

/// Builds each case, runs `verify` (strict, lenient, and lenient in JSON), `info` and `list` over it,
/// and snapshots the lot as `structure@CASE`.
fn check(case: &str, chunks: &[Chunk<'_>]) {
    let dir = TempDir::new(&format!("structure_{case}"));
    let file = dir.path().join(format!("{case}.h4mk"));
    write_file(&file, chunks);
    let mut text = String::new();
    for args in [
        &["verify", "{}"][..],
        &["verify", "--lenient", "{}"],
        &["verify", "--lenient", "--json", "{}"],
        &["info", "{}"],
        &["list", "{}"],
    ] {
        let o = h4mk(args, &file);
        text += &format!(
            "$ h4mk {}\n--- stdout\n{}--- stderr\n{}",
            args.join(" ").replace("{}", &format!("{case}.h4mk")),
            o.stdout,
            o.stderr
        );
    }
    with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        assert_snapshot!(format!("structure@{case}"), text);
    });
}

use BlockKind::{Bidirectional as B, Key as I, Predictive as P};

#[test]
fn sound_file_is_ok() {
    check(
        "sound",
        &[
            Chunk::Tracks(&[1]),
            Chunk::Block(1, 0, I, b"k"),
            Chunk::Block(1, 10, B, b"b"),
            Chunk::Block(1, 20, P, b"p"),
            Chunk::Seek(1, &[(0, 0)]),
        ],
    );
}

#[test]
fn p_before_i() {
    check(
        "p_before_i",
        &[
            Chunk::Tracks(&[1]),
            Chunk::Block(1, 0, P, b"p"),
            Chunk::Block(1, 10, I, b"k"),
            Chunk::Seek(1, &[(10, 1)]),
        ],
    );
}

#[test]
fn block_of_undeclared_track() {
    check(
        "undeclared_track",
        &[
            Chunk::Tracks(&[1]),
            Chunk::Block(1, 0, I, b"k"),
            Chunk::Block(9, 5, I, b"x"),
            Chunk::Seek(1, &[(0, 0)]),
        ],
    );
}

/// A track the track list leaves out is still reachable block by block: `list --track` and
/// `extract --track` read its blocks as stored, with a warning (both refused it before, so no
/// command could get its bytes out); a track with neither a listing nor blocks is refused.
#[test]
fn blocks_of_an_undeclared_track_can_be_listed_and_extracted() {
    let dir = TempDir::new("structure_undeclared_extract");
    let file = dir.path().join("undeclared.h4mk");
    write_file(
        &file,
        &[
            Chunk::Tracks(&[1]),
            Chunk::Block(1, 0, I, b"k"),
            Chunk::Block(9, 5, I, b"x"),
            Chunk::Seek(1, &[(0, 0)]),
        ],
    );
    let listed = h4mk(&["list", "--track", "9", "{}"], &file);
    assert_eq!(listed.code, ExitCode::SUCCESS, "{}", listed.stderr);
    assert!(
        listed
            .stdout
            .contains("         197      9           5  I              1")
    );
    assert!(
        listed
            .stderr
            .contains("1 block of track 9 that the track list does not declare")
    );
    let out = dir.path().join("x.bin");
    let out = out.to_str().unwrap();
    let extracted = h4mk(&["extract", "--track", "9", "-o", out, "{}"], &file);
    assert_eq!(extracted.code, ExitCode::SUCCESS, "{}", extracted.stderr);
    assert_eq!(
        extracted.stderr,
        "h4mk: warning: undeclared.h4mk: track 9 is not in the track list; its blocks are \
         extracted as stored (h4mk verify says more)\n"
    );
    // Its one block: length 1, then its byte.
    assert_eq!(std::fs::read(out).unwrap(), [1, 0, 0, 0, b'x']);
    // The JSON reports carry the warnings: they were left out of them (a docs review).
    for (args, warned) in [
        (
            &["list", "--json", "--track", "9", "{}"][..],
            &listed.stderr,
        ),
        (
            &["extract", "--json", "--track", "9", "-o", out, "{}"],
            &extracted.stderr,
        ),
    ] {
        let o = h4mk(args, &file);
        let report: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        let warning = warned.trim_end().strip_prefix("h4mk: warning: ").unwrap();
        assert_eq!(report["warnings"], serde_json::json!([warning]), "{args:?}");
    }
    let reference = h4mk(&["extract", "--track", "1", "-o", out, "{}"], &file);
    assert_eq!(
        (reference.code, reference.stderr.as_str()),
        (ExitCode::SUCCESS, "")
    );
    for args in [
        &["list", "--track", "7", "{}"][..],
        &["extract", "--track", "7", "-o", out, "{}"],
    ] {
        let refused = h4mk(args, &file);
        assert_eq!(refused.code, ExitCode::from(2), "{args:?}");
        assert_eq!(
            refused.stderr, "h4mk: error: undeclared.h4mk: track 7 is not in the track list\n",
            "{args:?}"
        );
    }
}

#[test]
fn seek_table_misses_a_keyframe() {
    check(
        "seek_table_mismatch",
        &[
            Chunk::Tracks(&[1]),
            Chunk::Block(1, 0, I, b"k"),
            Chunk::Block(1, 10, I, b"k"),
            Chunk::Seek(1, &[(0, 0)]),
        ],
    );
}

#[test]
fn seek_entry_points_at_a_p_block() {
    check(
        "seek_entry_wrong",
        &[
            Chunk::Tracks(&[1]),
            Chunk::Block(1, 0, I, b"k"),
            Chunk::Block(1, 10, P, b"p"),
            Chunk::Seek(1, &[(10, 1)]),
        ],
    );
}

/// The reference writes any Python value it is handed (`sample_rate=44100 / 2` is `22050.0`,
/// `note=None` is `null`). Such a file stays readable: `info` and `list` work and warn,
/// `verify` names each value, and `mt_list` prints the lines the original printed.
#[test]
fn track_list_with_values_of_other_types() {
    let chunks = [
        Chunk::Trak(
            r#"{"tracks": [{"track_id": 1, "name": "a", "kind": null, "codec": "c", "sample_rate": 22050.0, "channels": true, "note": null}, {"track_id": 2, "name": "b", "kind": "k", "codec": "c", "sample_rate": 1e+16, "channels": "2", "note": 0.5}]}"#,
        ),
        Chunk::Block(1, 0, I, b"k"),
        Chunk::Seek(1, &[(0, 0)]),
        Chunk::Seek(2, &[]),
    ];
    check("trak_off_types", &chunks);
    let dir = TempDir::new("structure_trak_off_types_mt_list");
    let file = dir.path().join("off_types.h4mk");
    write_file(&file, &chunks);
    let list = h4mk(&["list", "{}"], &file);
    assert_eq!(
        list.code,
        std::process::ExitCode::SUCCESS,
        "{}",
        list.stderr
    );
    assert!(
        list.stdout.contains("off_types.h4mk: 1 block"),
        "{}",
        list.stdout
    );
    let mt_list = h4mk(&["mt_list", "--in", "{}"], &file);
    assert_eq!(
        mt_list.stdout,
        "\n=== TRACKS ===\n  [1] a\n      kind=None, codec=c\n      Truech @ 22050.0Hz\n  \
         [2] b\n      kind=k, codec=c\n      2ch @ 1e+16Hz\n      note: 0.5\n\n\
         === CORE BLOCKS ===\n  [idx=279] track=1 t=0ms I (1B)\n"
    );
}

#[test]
fn track_list_with_an_extra_key() {
    check(
        "trak_extra_key",
        &[
            Chunk::Trak(
                r#"{"tracks": [{"track_id": 1, "name": "a", "kind": "k", "codec": "c", "sample_rate": 0, "channels": 0, "note": "", "lang": "fr"}]}"#,
            ),
            Chunk::Block(1, 0, I, b"k"),
            Chunk::Seek(1, &[(0, 0)]),
        ],
    );
}

#[test]
fn block_with_the_reserved_type() {
    check(
        "reserved_type",
        &[
            Chunk::Tracks(&[1]),
            Chunk::Block(1, 0, I, b"k"),
            Chunk::RawCore(1, 0x3000_000a),
            Chunk::Seek(1, &[(0, 0)]),
        ],
    );
}

#[test]
fn blocks_out_of_order_and_trailing_b() {
    check(
        "order_and_trailing_b",
        &[
            Chunk::Tracks(&[1, 2]),
            Chunk::Block(2, 0, I, b"k"),
            Chunk::Block(1, 0, I, b"k"),
            Chunk::Block(1, 20, P, b"p"),
            Chunk::Block(1, 10, B, b"b"),
            Chunk::Seek(1, &[(0, 1)]),
            Chunk::Seek(2, &[(0, 0)]),
        ],
    );
}

#[test]
fn core_chunks_that_do_not_route() {
    check(
        "unroutable_core",
        &[
            Chunk::Tracks(&[1]),
            Chunk::Block(1, 0, I, b"k"),
            Chunk::BadCore(b"H4TX\x01\x00\x00\x00"),
            Chunk::BadCore(b"H4TB"),
            Chunk::Seek(1, &[(0, 0)]),
        ],
    );
}

#[test]
fn blocks_without_a_track_list() {
    check(
        "no_track_list",
        &[Chunk::Block(1, 0, I, b"k"), Chunk::Block(1, 10, P, b"p")],
    );
}

#[test]
fn a_track_list_after_the_first_block() {
    check(
        "late_track_list",
        &[
            Chunk::Block(1, 0, I, b"k"),
            Chunk::Tracks(&[1]),
            Chunk::Seek(1, &[(0, 0)]),
        ],
    );
}

#[test]
fn verify_lists_at_most_ten_thousand_crc_errors_and_counts_the_rest() {
    let dir = TempDir::new("structure_many_crc_errors");
    let file = dir.path().join("crc.h4mk");
    let mut chunks = vec![Chunk::Tracks(&[1])];
    chunks.extend((0..10_005).map(|i| Chunk::Block(1, i, if i == 0 { I } else { P }, b"x")));
    chunks.push(Chunk::Seek(1, &[(0, 0)]));
    write_file(&file, &chunks);
    let mut bytes = std::fs::read(&file).unwrap();
    let cores: Vec<usize> = h4mk_format::ContainerRef::parse(&bytes)
        .unwrap()
        .chunks()
        .map(Result::unwrap)
        .filter(|c| c.tag == h4mk_format::Tag::CORE)
        .map(|c| usize::try_from(c.payload_offset()).unwrap() + c.payload.len() - 1)
        .collect();
    for last in cores {
        bytes[last] ^= 1;
    }
    std::fs::write(&file, bytes).unwrap();

    let text = h4mk(&["verify", "--lenient", "{}"], &file);
    assert_eq!(text.code, std::process::ExitCode::from(1));
    let lines: Vec<&str> = text.stdout.lines().collect();
    // 10,005 chunk CRCs and the file CRC.
    assert_eq!(lines.len(), 10_002, "{:?}", &lines[10_000..]);
    assert!(lines[9_999].contains("crc"), "{}", lines[9_999]);
    assert_eq!(
        lines[10_000],
        "crc.h4mk: 6 more problems found, not listed (each check lists at most 10000)"
    );
}

#[test]
fn verify_lists_at_most_ten_thousand_problems_and_counts_the_rest() {
    // No track list: each of the 10,005 blocks is a block of an undeclared track.
    let dir = TempDir::new("structure_many_problems");
    let file = dir.path().join("many.h4mk");
    let blocks: Vec<Chunk<'_>> = (0..10_005).map(|i| Chunk::Block(1, i, I, b"x")).collect();
    write_file(&file, &blocks);

    let text = h4mk(&["verify", "--lenient", "{}"], &file);
    assert_eq!(text.code, std::process::ExitCode::from(1));
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert_eq!(lines.len(), 10_002);
    assert!(lines[9_999].contains("block for undeclared track 1 (pts 9999 ms)"));
    assert_eq!(
        lines[10_000..],
        [
            "many.h4mk: 5 more problems found, not listed (each check lists at most 10000)",
            "many.h4mk: bad structure (10005 problems)"
        ]
    );

    let json: serde_json::Value =
        serde_json::from_str(&h4mk(&["verify", "--lenient", "--json", "{}"], &file).stdout)
            .unwrap();
    assert_eq!(json["problems"].as_array().unwrap().len(), 10_000);
    assert_eq!(json["omitted_problems"], 5);
    assert_eq!(json["ok"], false);

    // Without --lenient the first problem is the report.
    let strict = h4mk(&["verify", "{}"], &file);
    assert_eq!(strict.stdout.lines().count(), 2, "{}", strict.stdout);

    // info warns as verify reports, with the same cap.
    let info: serde_json::Value =
        serde_json::from_str(&h4mk(&["info", "--json", "{}"], &file).stdout).unwrap();
    let warnings = info["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 10_001);
    assert_eq!(warnings[10_000], "5 more warnings, not listed");
}

/// `info` counted every tag apart: a file of a million made-up tags made a list as long as the
/// file (an adversarial review). The tags it reads are always counted apart, and the first 100
/// others.
#[test]
fn info_counts_at_most_a_hundred_unknown_tags_apart() {
    let dir = TempDir::new("structure_many_tags");
    let file = dir.path().join("tags.h4mk");
    let tag = |i: usize| -> [u8; 4] { format!("Z{i:03}").into_bytes().try_into().unwrap() };
    let mut chunks = vec![Chunk::Tracks(&[1])];
    // 150 tags, each twice; then the file's own tags, met after the first 100 others.
    chunks.extend((0..300).map(|i| Chunk::Unknown(tag(i % 150))));
    chunks.push(Chunk::Block(1, 0, I, b"x"));
    chunks.push(Chunk::Seek(1, &[(0, 0)]));
    write_file(&file, &chunks);

    let o = h4mk(&["info", "--json", "{}"], &file);
    assert_eq!(o.code, ExitCode::SUCCESS, "{}", o.stderr);
    let info: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let counted = info["chunks"].as_object().unwrap();
    let listed: Vec<&str> = counted.keys().map(String::as_str).collect();
    let mut expected: Vec<String> = (0..100).map(|i| format!("Z{i:03}")).collect();
    expected.extend(["CORE", "TRAK", "TSEK"].map(String::from));
    expected.sort();
    assert_eq!(listed, expected);
    assert!(counted.values().all(|n| n == 2 || n == 1), "{counted:?}");
    assert_eq!(info["chunks_of_unlisted_tags"], 100);

    let text = h4mk(&["info", "{}"], &file).stdout;
    let line = text.lines().find(|l| l.starts_with("chunks: ")).unwrap();
    assert!(
        line.starts_with("chunks: 303 (CORE 1, TRAK 1, TSEK 1, Z000 2, "),
        "{line}"
    );
    assert!(
        line.ends_with("Z099 2, 100 of tags past the first 100 unknown ones)"),
        "{line}"
    );
}
