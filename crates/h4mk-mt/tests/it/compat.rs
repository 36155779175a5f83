//! Files this crate writes hold nothing the reference cannot read.
//!
//! `reference_read` below follows the reference reader's rules from the wire spec
//! (shared/spec/h4mk-v1-wire.md §1, §2): magic only in the header; chunks walked to the last 4
//! bytes, none may run into them; every chunk CRC and the file CRC checked; unknown tags
//! skipped; the first TRAK's track objects built from exactly the seven keys (an extra key
//! fails, `sample_rate`, `channels` and `note` may be missing); CORE payloads unwrapped by their
//! `H4TB` header; TSEK payloads starting `H4TS` read as track id + `H4SK` + u16 count + entries.

use std::collections::BTreeMap;

use h4mk_format::crc::crc32;
use h4mk_gop::BlockKind;
use h4mk_mt::index::{XLOC, XSEK};
use h4mk_mt::{Demuxer, IndexStatus, MuxOptions, TrackSpec};
use serde_json::Value;

use crate::reference_fixtures::{REFERENCE, read_reference};
use crate::support::{Input, fix_file_crc, key, mux, spec};

/// What the reference reader sees in a file.
#[derive(Debug, Default)]
struct RefView {
    tags: Vec<[u8; 4]>,
    tracks: Vec<Value>,
    /// (payload offset, track, pts, type bits, opaque)
    blocks: Vec<(u64, u16, u32, u32, Vec<u8>)>,
    seek: BTreeMap<u16, Vec<(u32, u32)>>,
}

fn u16_at(b: &[u8], at: usize) -> Result<u16, String> {
    Ok(u16::from_le_bytes(
        b.get(at..at + 2).ok_or("short")?.try_into().unwrap(),
    ))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, String> {
    Ok(u32::from_le_bytes(
        b.get(at..at + 4).ok_or("short")?.try_into().unwrap(),
    ))
}

fn reference_read(file: &[u8]) -> Result<RefView, String> {
    if file.len() < 16 || &file[..4] != b"H4MK" {
        return Err("bad magic".into());
    }
    let mut view = RefView::default();
    let mut payloads = Vec::new();
    let mut pos = 16;
    while pos < file.len() - 4 {
        if pos + 12 > file.len() {
            break;
        }
        let tag: [u8; 4] = file[pos..pos + 4].try_into().unwrap();
        let flags = u32_at(file, pos + 4)?;
        let len = u32_at(file, pos + 8)? as usize;
        let end = pos + 12 + len;
        if end > file.len() - 4 {
            return Err(format!("chunk at {pos} extends past container"));
        }
        let stored = u32_at(file, end)?;
        if crc32(&file[pos..end]) != stored {
            return Err(format!("crc mismatch at chunk {pos}"));
        }
        view.tags.push(tag);
        payloads.push((tag, flags, pos + 12, &file[pos + 12..end]));
        pos = end + 4;
    }
    if crc32(&file[..file.len() - 4]) != u32_at(file, file.len() - 4)? {
        return Err("container crc mismatch".into());
    }
    // The reference reader's own list, written out again on purpose: taking
    // `h4mk_mt::TRACK_KEYS` would make this check agree with whatever the crate writes.
    const KEYS: [&str; 7] = [
        "track_id",
        "name",
        "kind",
        "codec",
        "sample_rate",
        "channels",
        "note",
    ];
    if let Some((_, _, _, p)) = payloads.iter().find(|(t, ..)| t == b"TRAK") {
        let obj: Value = serde_json::from_slice(p).map_err(|e| e.to_string())?;
        for t in obj
            .get("tracks")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            let map = t.as_object().ok_or("track is not an object")?;
            if let Some(k) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
                return Err(format!(
                    "TrackSpec() got an unexpected keyword argument {k:?}"
                ));
            }
            if let Some(k) = KEYS[..4].iter().find(|k| !map.contains_key(**k)) {
                return Err(format!("TrackSpec() missing argument {k:?}"));
            }
            view.tracks.push(t);
        }
    }
    for &(tag, flags, at, p) in &payloads {
        match &tag {
            b"CORE" => {
                if p.get(..4) != Some(b"H4TB") {
                    return Err("not a track-bound CORE payload".into());
                }
                let track = u16_at(p, 4)?;
                view.blocks.push((
                    at as u64,
                    track,
                    flags & 0x0FFF_FFFF,
                    (flags >> 28) & 3,
                    p[8..].to_vec(),
                ));
            }
            b"TSEK" if p.get(..4) == Some(b"H4TS") => {
                let track = u16_at(p, 4)?;
                let st = &p[8..];
                if st.get(..4) != Some(b"H4SK") {
                    return Err("invalid seek table magic".into());
                }
                let count = usize::from(u16_at(st, 4)?);
                let entries = (0..count)
                    .map(|i| Ok((u32_at(st, 8 + 8 * i)?, u32_at(st, 12 + 8 * i)?)))
                    .collect::<Result<Vec<_>, String>>()?;
                view.seek.insert(track, entries);
            }
            _ => {}
        }
    }
    Ok(view)
}

/// The reference reads `bytes` and finds what our demuxer finds: the same tracks, the same
/// blocks, and seek tables that are our tables or, past the v1 limits, their leading part.
#[track_caller]
fn check_readable_by_reference(bytes: &[u8]) -> RefView {
    let view = reference_read(bytes).unwrap();
    let d = Demuxer::open(bytes).unwrap();
    let tracks: Vec<TrackSpec> = view
        .tracks
        .iter()
        .map(|t| serde_json::from_value(t.clone()).unwrap())
        .collect();
    assert_eq!(tracks, d.tracks());
    let ours: Vec<_> = d.blocks().map(|b| key(&b.unwrap())).collect();
    let theirs: Vec<_> = view
        .blocks
        .iter()
        .map(|(o, t, ts, k, op)| (*o, *t, *ts, ['I', 'P', 'B', '?'][*k as usize], op.clone()))
        .collect();
    assert_eq!(ours, theirs);
    for t in d.tracks() {
        let full: Vec<(u32, u64)> = d
            .seek_table(t.track_id)
            .unwrap()
            .iter()
            .map(|e| (e.ts_ms, e.offset))
            .collect();
        let v1: Vec<(u32, u64)> = view.seek[&t.track_id]
            .iter()
            .map(|&(ts, off)| (ts, u64::from(off)))
            .collect();
        assert!(
            full.starts_with(&v1),
            "track {}: the TSEK is not a prefix of the index",
            t.track_id
        );
    }
    view
}

#[test]
fn the_rules_reader_reads_the_fixtures() {
    for name in REFERENCE {
        let view = check_readable_by_reference(&read_reference(name, "h4mk"));
        assert!(view.tags.iter().all(|t| {
            [
                b"TRAK", b"META", b"SAFE", b"VERI", b"NOTE", b"CORE", b"TSEK",
            ]
            .contains(&t)
        }));
    }
}

#[test]
fn the_rules_reader_rejects_an_extra_track_key() {
    // The check the TRAK writer must never trip: one more key and the reference fails.
    let mut tracks = serde_json::to_value(vec![spec(1)]).unwrap();
    tracks[0]["bitrate"] = 5.into();
    let payload = serde_json::to_vec(&serde_json::json!({ "tracks": tracks })).unwrap();
    let mut w =
        h4mk_format::Writer::new(Vec::new(), &Default::default(), Default::default()).unwrap();
    w.write_chunk(h4mk_format::Tag::TRAK, 0, &payload).unwrap();
    let bytes = w.finish().unwrap();
    assert!(
        reference_read(&bytes)
            .unwrap_err()
            .contains("unexpected keyword argument \"bitrate\"")
    );
    // We read it, and say the reference would not.
    let d = Demuxer::open(&bytes).unwrap();
    assert_eq!(d.problems().len(), 1);
    assert!(
        d.problems()[0]
            .to_string()
            .contains("extra key \"bitrate\"")
    );
    assert!(!d.verify().is_ok());
}

fn inputs(tracks: &[u16], per_track: u32, key_every: u32) -> Vec<Input> {
    let mut out = Vec::new();
    for i in 0..per_track {
        for &t in tracks {
            let kind = match i % key_every {
                0 => BlockKind::Key,
                r if r % 2 == 1 && i + 1 < per_track => BlockKind::Bidirectional,
                _ => BlockKind::Predictive,
            };
            out.push(Input {
                track: t,
                ts_ms: i * 10,
                kind,
                opaque: vec![t as u8; (i % 7) as usize],
            });
        }
    }
    out
}

#[test]
fn the_locator_extension_is_read_by_the_reference() {
    let tracks = [spec(1), spec(2), spec(3)];
    let ins = inputs(&[1, 2], 50, 8);
    let plain = mux(&tracks, &ins, MuxOptions::default());
    let located = mux(
        &tracks,
        &ins,
        MuxOptions {
            index_locator: true,
            ..MuxOptions::default()
        },
    );
    let view = check_readable_by_reference(&located);
    assert_eq!(view.tags.last(), Some(&XLOC.0));
    // The locator is the only difference: same chunks before it.
    assert_eq!(located.len(), plain.len() + 56);
    assert_eq!(located[..plain.len() - 4], plain[..plain.len() - 4]);
    let d = Demuxer::open(&located).unwrap();
    assert!(
        matches!(d.index_status(), IndexStatus::Located { offset } if *offset == plain.len() as u64 - 4)
    );
    assert!(d.verify().is_ok(), "{:?}", d.verify().problems);
}

#[test]
fn the_wide_seek_table_extension_is_read_by_the_reference() {
    // 70,000 keyframes in track 5 overflow the u16 count of a v1 table; track 6 fits.
    let tracks = [spec(5), spec(6)];
    let mut ins: Vec<Input> = (0..70_000u32)
        .map(|i| Input {
            track: 5,
            ts_ms: i,
            kind: BlockKind::Key,
            opaque: vec![],
        })
        .collect();
    ins.push(Input {
        track: 6,
        ts_ms: 3,
        kind: BlockKind::Key,
        opaque: b"six".to_vec(),
    });
    let bytes = mux(&tracks, &ins, MuxOptions::default());
    let view = check_readable_by_reference(&bytes);
    assert_eq!(view.seek[&5].len(), 65_535);
    assert_eq!(view.seek[&6].len(), 1);
    let tail: Vec<_> = view.tags.iter().rev().take(4).rev().collect();
    assert_eq!(tail, [b"TSEK", b"TSEK", &XSEK.0, &XLOC.0]);

    let d = Demuxer::open(&bytes).unwrap();
    assert!(matches!(d.index_status(), IndexStatus::Located { .. }));
    assert_eq!(d.seek_table(5).unwrap().len(), 70_000);
    let chain = d.chain(5, 69_999).unwrap();
    assert_eq!(
        chain.iter().map(|s| s.block.ts_ms).collect::<Vec<_>>(),
        [69_999]
    );

    // Without the locator the XSEK is still found from the end (its count is at its end).
    let mut stripped = bytes[..bytes.len() - 4 - 56].to_vec();
    stripped.extend_from_slice(&[0; 4]);
    fix_file_crc(&mut stripped);
    check_readable_by_reference(&stripped);
    let d = Demuxer::open(&stripped).unwrap();
    assert_eq!(d.index_status(), &IndexStatus::Trailing);
    assert_eq!(d.seek_table(5).unwrap().len(), 70_000);
    assert_eq!(d.chain(5, 69_000).unwrap()[0].block.ts_ms, 69_000);
}
