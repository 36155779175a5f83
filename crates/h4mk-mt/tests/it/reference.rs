//! The reference fixtures: rebuilding each from its recipe gives its bytes, and reading it
//! gives what its expect.json lists.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use h4mk_gop::BlockKind;
use h4mk_mt::{Demuxer, IndexStatus, MuxOptions, Muxer, Sidecars, TrackSpec};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::reference_fixtures::{REFERENCE, read_reference};

fn json(name: &str, ext: &str) -> Value {
    serde_json::from_slice(&read_reference(name, ext)).unwrap()
}

fn b64(v: &Value) -> Vec<u8> {
    STANDARD.decode(v.as_str().unwrap()).unwrap()
}

fn rebuild(recipe: &Value, opts: MuxOptions) -> Vec<u8> {
    let tracks: Vec<TrackSpec> = serde_json::from_value(recipe["tracks"].clone()).unwrap();
    let side = &recipe["sidecars"];
    let bytes = |k: &str| side.get(k).map(b64);
    let (meta, safety, verify, note) = (
        bytes("meta_json"),
        bytes("safety_json"),
        bytes("verify_json"),
        bytes("note_bytes"),
    );
    let sidecars = Sidecars {
        meta: meta.as_deref(),
        safety: safety.as_deref(),
        verify: verify.as_deref(),
        note: note.as_deref(),
    };
    let mut m = Muxer::new(Vec::new(), tracks, &sidecars, opts).unwrap();
    for b in recipe["blocks"].as_array().unwrap() {
        let letter = b["type"].as_str().unwrap().chars().next().unwrap();
        m.push(
            u16::try_from(b["track_id"].as_u64().unwrap()).unwrap(),
            u32::try_from(b["pts_ms"].as_u64().unwrap()).unwrap(),
            BlockKind::try_from(letter).unwrap(),
            &b64(&b["opaque_base64"]),
        )
        .unwrap();
    }
    let (bytes, summary) = m.finish().unwrap();
    assert_eq!(summary.file_len, bytes.len() as u64);
    bytes
}

#[test]
fn rebuilding_every_recipe_gives_the_reference_bytes() {
    for name in REFERENCE {
        let recipe = json(name, "recipe.json");
        let expected = read_reference(name, "h4mk");
        let got = rebuild(&recipe, MuxOptions::default());
        assert!(
            got == expected,
            "{name}: muxer output differs from the reference file"
        );
        // Flushing per chunk changes nothing in the bytes.
        let synced = rebuild(
            &recipe,
            MuxOptions {
                sync: true,
                ..MuxOptions::default()
            },
        );
        assert!(synced == expected, "{name}: sync changes the bytes");
    }
}

fn letter(k: BlockKind) -> String {
    k.letter().to_string()
}

#[test]
fn reading_every_fixture_gives_its_expectations() {
    for name in REFERENCE {
        let bytes = read_reference(name, "h4mk");
        let expect = json(name, "expect.json");
        let d = Demuxer::open(&bytes).unwrap();
        assert_eq!(d.index_status(), &IndexStatus::Trailing, "{name}");
        assert!(d.problems().is_empty(), "{name}: {:?}", d.problems());

        let h = d.header();
        assert_eq!(
            (u64::from(h.version), u64::from(h.flags), h.timestamp_ms),
            (
                expect["header"]["version"].as_u64().unwrap(),
                expect["header"]["flags"].as_u64().unwrap(),
                expect["header"]["timestamp"].as_u64().unwrap()
            ),
            "{name}"
        );
        let tracks: Vec<TrackSpec> = serde_json::from_value(expect["tracks"].clone()).unwrap();
        assert_eq!(d.tracks(), tracks, "{name}");

        let blocks: Vec<Value> = d
            .blocks()
            .map(|b| {
                let b = b.unwrap();
                serde_json::json!({
                    "payload_offset": b.offset,
                    "track_id": b.track,
                    "pts_ms": b.ts_ms,
                    "type": letter(b.kind),
                    "opaque_len": b.opaque.len(),
                    "opaque_sha256": format!("{:x}", Sha256::digest(b.opaque)),
                })
            })
            .collect();
        assert_eq!(Value::Array(blocks), expect["blocks"], "{name}");

        for t in d.tracks() {
            let got: Vec<Value> = d
                .seek_table(t.track_id)
                .unwrap()
                .iter()
                .map(|e| serde_json::json!([e.ts_ms, e.offset]))
                .collect();
            assert_eq!(
                Value::Array(got),
                expect["seek_tables"][t.track_id.to_string()],
                "{name} track {}",
                t.track_id
            );
        }

        for c in expect["chains"].as_array().unwrap() {
            let track = u16::try_from(c["track_id"].as_u64().unwrap()).unwrap();
            let t = u32::try_from(c["t_ms"].as_u64().unwrap()).unwrap();
            let got: Vec<Value> = d
                .chain(track, t)
                .unwrap()
                .iter()
                .map(|s| serde_json::json!({"payload_offset": s.block.offset, "step": letter(s.kind)}))
                .collect();
            assert_eq!(
                Value::Array(got),
                c["expected"],
                "{name} chain({track}, {t})"
            );
        }

        // Every block is reachable by its offset, and the file verifies clean.
        for b in d.blocks() {
            let b = b.unwrap();
            assert_eq!(d.block_at(b.offset).unwrap(), b);
        }
        let report = d.verify();
        assert!(report.is_ok(), "{name}: {:?}", report.problems);
    }
}

#[test]
fn sidecars_read_back_as_stored() {
    let bytes = read_reference("sidecars", "h4mk");
    let d = Demuxer::open(&bytes).unwrap();
    let s = d.sidecars();
    assert_eq!(s.meta, Some(&br#"{"title": "test"}"#[..]));
    assert_eq!(s.safety, Some(&br#"{"safe": true}"#[..]));
    assert_eq!(s.verify, Some(&br#"{"crc": "abc123"}"#[..]));
    assert_eq!(s.note, Some("Test notes\nsecond line, café".as_bytes()));
}

#[test]
fn opening_costs_nothing_per_block() {
    // The 6000-block fixture opens through its trailing tables; a chain at the end walks only
    // the last GOP of its track.
    let bytes = read_reference("three_tracks_2000", "h4mk");
    let d = Demuxer::open(&bytes).unwrap();
    assert_eq!(d.index_status(), &IndexStatus::Trailing);
    let last = d.seek_table(1).unwrap().last().copied().unwrap();
    let chain = d.chain(1, u32::MAX).unwrap();
    assert_eq!(chain.first().map(|s| s.block.offset), Some(last.offset));
}
