//! Writing reference files byte for byte: `mt_build`, `build --demo`, and `build` from a
//! manifest that mirrors each `fixtures/reference/*.recipe.json`.

use std::process::ExitCode;

use base64::Engine;
use serde_json::{Value, json};

use crate::reference_fixtures::fixtures_dir;
use crate::{TempDir, h4mk};

fn reference(name: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join("reference").join(name)).unwrap()
}

#[test]
fn mt_build_writes_the_reference_demo() {
    let dir = TempDir::new("mt_build");
    let out = dir.path().join("demo_multitrack.h4mk");
    let o = h4mk(&["mt_build", "--out", "{}"], &out);
    assert_eq!(o.code, ExitCode::SUCCESS, "{}", o.stderr);
    assert_eq!(o.stdout, "Wrote 793 bytes to demo_multitrack.h4mk\n");
    assert_eq!(o.stderr, "");
    assert!(std::fs::read(&out).unwrap() == reference("demo.h4mk"));
    assert_eq!(dir.files(), ["demo_multitrack.h4mk"]);
}

#[test]
fn mt_build_with_an_empty_out_writes_the_default_name() {
    // The original took `--out ''` for its default, as Python's `or` does.
    let dir = TempDir::new("mt_build_empty_out");
    let o = crate::binary::h4mk(dir.path(), &["mt_build", "--out", ""]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "Wrote 793 bytes to demo_multitrack.h4mk\n"
    );
    assert_eq!(dir.files(), ["demo_multitrack.h4mk"]);
}

#[test]
fn build_demo_writes_the_reference_demo() {
    let dir = TempDir::new("build_demo");
    let out = dir.path().join("demo.h4mk");
    let o = h4mk(&["build", "--demo", "-o", "{}"], &out);
    assert_eq!(o.code, ExitCode::SUCCESS, "{}", o.stderr);
    assert_eq!(
        o.stdout,
        "wrote 793 bytes to demo.h4mk (2 tracks, 5 blocks)\n"
    );
    assert!(std::fs::read(&out).unwrap() == reference("demo.h4mk"));
}

/// The manifest that says what a recipe says: same tracks, blocks in the same order with
/// their bytes as base64, sidecars as the exact text they hold.
fn manifest_from_recipe(recipe: &Value) -> Value {
    let text = |b64: &Value| {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
        Value::String(String::from_utf8(bytes).unwrap())
    };
    let mut sidecars = serde_json::Map::new();
    for (from, to) in [
        ("meta_json", "meta"),
        ("safety_json", "safe"),
        ("verify_json", "veri"),
        ("note_bytes", "note"),
    ] {
        if let Some(b64) = recipe["sidecars"].get(from) {
            sidecars.insert(to.to_owned(), text(b64));
        }
    }
    assert_eq!(
        recipe["sidecars"].as_object().unwrap().len(),
        sidecars.len(),
        "a sidecar the conversion does not know"
    );
    let blocks: Vec<Value> = recipe["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            json!({
                "track": b["track_id"],
                "pts_ms": b["pts_ms"],
                "type": b["type"],
                "base64": b["opaque_base64"],
            })
        })
        .collect();
    json!({"tracks": recipe["tracks"], "sidecars": sidecars, "blocks": blocks})
}

#[test]
fn build_reproduces_every_reference_file() {
    let dir = TempDir::new("build_reference");
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir().join("reference"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".recipe.json").map(str::to_owned))
        .collect();
    names.sort();
    assert!(names.len() >= 6, "{names:?}");
    for name in names {
        let recipe: Value =
            serde_json::from_slice(&reference(&format!("{name}.recipe.json"))).unwrap();
        let manifest = dir.path().join(format!("{name}.json"));
        std::fs::write(
            &manifest,
            serde_json::to_vec_pretty(&manifest_from_recipe(&recipe)).unwrap(),
        )
        .unwrap();
        let out = dir.path().join(format!("{name}.h4mk"));
        let o = h4mk(&["build", "{}", "-o", out.to_str().unwrap()], &manifest);
        assert_eq!(o.code, ExitCode::SUCCESS, "{name}: {}", o.stderr);
        let built = std::fs::read(&out).unwrap();
        let want = reference(&format!("{name}.h4mk"));
        assert_eq!(built.len(), want.len(), "{name}");
        assert!(built == want, "{name}: the bytes differ");
    }
}

#[test]
fn locator_build_is_found_through_the_locator() {
    let dir = TempDir::new("build_locator");
    let out = dir.path().join("demo.h4mk");
    let o = h4mk(
        &["build", "--demo", "--locator", "--json", "-o", "{}"],
        &out,
    );
    assert_eq!(o.code, ExitCode::SUCCESS, "{}", o.stderr);
    let report: Value = serde_json::from_str(&o.stdout).unwrap();
    let locator = report["locator_offset"].as_u64().unwrap();
    assert_eq!(report["index_offset"], 709);
    let info: Value = serde_json::from_str(&h4mk(&["info", "--json", "{}"], &out).stdout).unwrap();
    assert_eq!(
        info["index"],
        json!({"how": "locator", "locator_offset": locator, "reason": null})
    );
    let v = h4mk(&["verify", "{}"], &out);
    assert_eq!(v.code, ExitCode::SUCCESS, "{}", v.stdout);
    // The golden file of the locator extension (docs/FORMAT.md §8).
    let golden = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../h4mk-mt/tests/golden/locator.h4mk"
    );
    assert!(std::fs::read(&out).unwrap() == std::fs::read(golden).unwrap());
}

#[test]
fn build_holds_no_block_for_a_sparse_track() {
    let dir = TempDir::new("build_sparse");
    let track = |id: u16| {
        json!({"track_id": id, "name": format!("t{id}"), "kind": "audio", "codec": "h4core",
               "sample_rate": 0, "channels": 0, "note": ""})
    };
    // Track 1 every 20 ms; track 2 at 0 and at 2 s only; listed in pts order.
    let mut blocks = vec![json!({"track": 2, "pts_ms": 0, "type": "I", "text": "start"})];
    for i in 0..100u32 {
        let kind = if i % 25 == 0 { "I" } else { "P" };
        blocks.push(json!({"track": 1, "pts_ms": i * 20, "type": kind, "hex": format!("{i:02x}")}));
    }
    blocks.push(json!({"track": 2, "pts_ms": 2000, "type": "I", "text": "end"}));
    let manifest = dir.path().join("sparse.json");
    let body = json!({"tracks": [track(1), track(2)], "sidecars": {}, "blocks": blocks});
    std::fs::write(&manifest, body.to_string()).unwrap();
    let out = dir.path().join("sparse.h4mk");
    let o = h4mk(
        &["build", "--json", "{}", "-o", out.to_str().unwrap()],
        &manifest,
    );
    assert_eq!(o.code, ExitCode::SUCCESS, "{}", o.stderr);
    let report: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(report["blocks"], 102);
    // Told that track 2's next block is at 2 s, the muxer writes track 1's blocks as they
    // come; otherwise it would hold 99 of them, since track 2 could still send pts 0.
    assert_eq!(report["peak_held_blocks"], 1);
    let v = h4mk(&["verify", "{}"], &out);
    assert_eq!(v.code, ExitCode::SUCCESS, "{}", v.stdout);
}

/// A track with more keyframes than a version 1 seek table lists gets an XSEK table, which
/// the original reader does not read: `build` now says so on standard error (a compatibility
/// review built one with no word said), and so does `salvage`. 65,535 keyframes fit, and
/// nothing is said.
#[test]
fn a_file_past_the_version_1_seek_table_is_written_with_a_warning() {
    let dir = TempDir::new("build_xsek_warning");
    let d = dir.path();
    for (keyframes, warned) in [(65_535u32, false), (65_536, true)] {
        let blocks: Vec<Value> = (0..keyframes)
            .map(|i| json!({"track": 1, "pts_ms": i, "type": "I", "text": ""}))
            .collect();
        let manifest = json!({
            "tracks": [{"track_id": 1, "name": "a", "kind": "k", "codec": "c"}],
            "blocks": blocks,
        });
        std::fs::write(d.join("m.json"), manifest.to_string()).unwrap();
        let o = crate::binary::h4mk(d, &["build", "m.json", "-o", "many.h4mk"]);
        assert!(o.status.success());
        let stderr = String::from_utf8(o.stderr).unwrap();
        let warning = |name: &str| {
            format!(
                "h4mk: warning: {name}: 1 track with more keyframes than a version 1 seek \
                 table lists (over 65,535, or past 4 GiB): XSEK tables list them all, but \
                 readers of version 1 tables alone (the original) find only those the TSEK \
                 lists\n"
            )
        };
        let want = |name| if warned { warning(name) } else { String::new() };
        assert_eq!(stderr, want("many.h4mk"), "{keyframes} keyframes");
        // salvage rebuilds the index, and says the same.
        let o = crate::binary::h4mk(d, &["salvage", "many.h4mk", "-o", "again.h4mk"]);
        assert!(o.status.success());
        assert_eq!(String::from_utf8(o.stderr).unwrap(), want("again.h4mk"));
        // and its JSON report lists it, as every other report that warns does.
        let o = crate::binary::h4mk(d, &["salvage", "--json", "many.h4mk", "-o", "more.h4mk"]);
        assert!(o.status.success());
        let report: Value = serde_json::from_slice(&o.stdout).unwrap();
        let listed = report["warnings"].as_array().map(|w| w.len());
        assert_eq!(listed, warned.then_some(1), "{keyframes} keyframes");
        if warned {
            let text = warning("more.h4mk");
            assert_eq!(
                report["warnings"][0].as_str(),
                text.strip_prefix("h4mk: warning: ").map(str::trim_end)
            );
        }
    }
}
