//! The checks behind the fuzz targets of the GOP and multi-track layers: pure functions over
//! `&[u8]` that panic when an invariant of `h4mk-gop` or `h4mk-mt` breaks.
//!
//! | target | what must hold |
//! |---|---|
//! | `seek_table` | `SeekTable::parse` never panics; what parses re-encodes through `SeekTableBuf` to the same bytes, and `lookup` agrees with a linear scan; `SeekTableBuf` writes exactly the tables it should and nothing on a refusal |
//! | `track_list` | `parse_track_list` never panics; what parses re-encodes with `encode_track_list` and parses back equal, with no problem; `json::to_python_json` re-reads as the same JSON value, and `json::to_python_json_ascii` too, all ASCII |
//! | `mux_roundtrip` | a script of pushes and track ends through `Muxer` is refused exactly where the GOP rules say, and the file re-opens with `Demuxer` with exactly the blocks accepted, in (pts, track id) order; `verify` is clean, windowed plans equal whole-track plans, and `salvage` gives the same bytes back |
//! | `demux` | `Demuxer::open` in four option sets, `blocks`, `block_at`, `seek_table`, `chain` and `range` at times read from the file, `verify`, `remux` whole and cut: never a panic, plans that obey the GOP rules, a remuxed file that verifies clean, and on a file that verifies clean, windowed plans equal to whole-track plans and a whole remux that keeps every block |
//! | `salvage` | `salvage` never fails on a `Vec` sink; its output opens and verifies clean (but for what it keeps of the input on purpose: a track list with extra or defaulted keys, blocks of different tracks out of order), holds a subsequence of the input's intact blocks, and salvages to itself |
//!
//! `demux` and `salvage` run on the input as it is and on the input *resealed*: its chunks
//! framed without CRCs and written again through `Writer`, so every CRC is right whatever a
//! mutation changed inside them (a fuzzing build compares no CRC in the readers, but `resync`,
//! which `salvage` is built on, and `verify` always do). `salvage` also runs on the resealed
//! input with one piece of damage that the input's last four bytes choose (a byte flipped, the
//! file cut, garbage inserted): those bytes are the input's file CRC, which resealing replaces,
//! so they are free, and hostile contents and damage meet in one input.
//!
//! This file is the one copy of these checks. The fuzz crate exposes it as
//! `h4mk_fuzz::checks_mt`; the stable test binary of h4mk-mt includes it with `#[path]`
//! (tests/it/main.rs), where `fuzz_regressions.rs` replays every committed fuzz input through
//! it. So it depends on `h4mk_format`, `h4mk_gop`, `h4mk_mt`, `serde_json` and `std` only.

use std::collections::BTreeMap;
use std::ptr;

use h4mk_format::resync::{Found, Scanner};
use h4mk_format::{ChunkRef, ContainerRef, Limits, Mode, ParseOptions, Tag, Writer, WriterOptions};
use h4mk_gop::{
    BlockKind, HEADER_SIZE, MAX_SEEK_ENTRIES, MAX_TIMESTAMP_MS, SeekEntry, SeekTable, SeekTableBuf,
};
use h4mk_mt::{
    BlockRef, DecodeStep, Demuxer, Error, IndexProblem, IndexStatus, MuxOptions, Muxer, Pick,
    Problem, RemuxOptions, Report, Sidecars, TrackProblem, TrackSpec, encode_track_list,
    parse_track_list, plan_chain, plan_range, remux, route, salvage, salvage_with,
};

/// The checks of a fuzz target by its name, for the replay of `fuzz/corpus/<name>/regressions`.
pub fn by_name(target: &str) -> Option<fn(&[u8])> {
    Some(match target {
        "seek_table" => seek_table,
        "track_list" => track_list,
        "mux_roundtrip" => mux_roundtrip,
        "demux" => demux,
        "salvage" => salvage_check,
        _ => return None,
    })
}

/// Every check of this file that reads a whole container: what `cargo test -p h4mk-mt` runs on
/// every committed fuzz input, whatever its target.
pub fn all_bytes(data: &[u8]) {
    demux(data);
    salvage_check(data);
}

// ---------------------------------------------------------------------------------------------
// seek_table

/// Target `seek_table`: a TSEK payload parsed, re-encoded and looked up; the same bytes read as
/// a table to write.
pub fn seek_table(data: &[u8]) {
    match SeekTable::parse(data) {
        Ok(table) => check_parsed_table(&table, data),
        Err(e) => {
            use h4mk_gop::Error as E;
            let at = match e {
                E::SeekMagic { at, .. }
                | E::SeekReserved { at, .. }
                | E::SeekUnsorted { at, .. }
                | E::SeekOffsetOrder { at, .. } => Some(at),
                E::SeekTruncated { len, .. } | E::SeekLength { len, .. } => {
                    assert_eq!(len, data.len(), "{e}");
                    None
                }
                ref other => panic!("not a seek-table error: {other}"),
            };
            if let Some(at) = at {
                assert!(at < data.len(), "error past the payload: {e}");
            }
            assert!(!e.to_string().is_empty());
        }
    }
    check_table_writer(data);
}

fn check_parsed_table(table: &SeekTable<'_>, data: &[u8]) {
    let count = usize::from(u16::from_le_bytes([data[12], data[13]]));
    assert_eq!(table.len(), count);
    assert_eq!(table.is_empty(), count == 0);
    assert_eq!(table.track_id(), u16::from_le_bytes([data[4], data[5]]));
    let entries: Vec<SeekEntry> = table.iter().collect();
    assert_eq!(entries.len(), count);
    assert_eq!(table.iter().len(), count);
    let mut backwards: Vec<SeekEntry> = table.iter().rev().collect();
    backwards.reverse();
    assert_eq!(backwards, entries);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(table.get(i), Some(*e));
        let at = HEADER_SIZE + 8 * i;
        assert_eq!(e.ts_ms.to_le_bytes(), data[at..at + 4]);
        assert_eq!(
            e.offset,
            u64::from(u32::from_le_bytes(
                data[at + 4..at + 8].try_into().expect("4 bytes")
            ))
        );
    }
    assert_eq!(table.get(count), None);
    assert_eq!(table.get(usize::MAX), None);
    for w in entries.windows(2) {
        assert!(
            w[0].ts_ms <= w[1].ts_ms && w[0].offset < w[1].offset,
            "{w:?}"
        );
    }

    // Re-encoded, the same bytes; appended after other bytes, the same bytes after them.
    let buf = table.to_buf();
    assert_eq!(SeekTableBuf::from(*table), buf);
    assert_eq!(buf.entries, entries);
    let bytes = buf.to_bytes().expect("a table that parsed writes again");
    assert!(bytes == data, "re-encoded table differs");
    let mut out = b"prefix".to_vec();
    buf.write_to(&mut out)
        .expect("a table that parsed writes again");
    assert!(out[6..] == *data && out.starts_with(b"prefix"));

    // lookup: the last entry with pts <= t, found by a linear scan.
    let mut times = vec![0, 1, u32::MAX, MAX_TIMESTAMP_MS];
    for e in entries.iter().take(64).chain(entries.iter().rev().take(64)) {
        times.extend([
            e.ts_ms.saturating_sub(1),
            e.ts_ms,
            e.ts_ms.saturating_add(1),
        ]);
    }
    for t in times {
        let linear = entries.iter().rev().find(|e| e.ts_ms <= t).copied();
        assert_eq!(table.lookup(t), linear, "lookup({t})");
    }
}

/// The bytes read as a table to write: track id from the first two bytes, then 12-byte entries
/// (u32 pts, u64 offset). `write_to` succeeds exactly when the entries keep the rules, and then
/// writes a table that parses back to them; on a refusal it appends nothing.
fn check_table_writer(data: &[u8]) {
    let Some((&[t0, t1], rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let entries: Vec<SeekEntry> = rest
        .chunks_exact(12)
        .map(|w| SeekEntry {
            ts_ms: u32::from_le_bytes(w[..4].try_into().expect("4 bytes")),
            offset: u64::from_le_bytes(w[4..].try_into().expect("8 bytes")),
        })
        .collect();
    let buf = SeekTableBuf {
        track_id: u16::from_le_bytes([t0, t1]),
        entries,
    };
    let valid = buf.entries.len() <= MAX_SEEK_ENTRIES
        && buf.entries.iter().all(|e| e.offset <= u64::from(u32::MAX))
        && buf
            .entries
            .windows(2)
            .all(|w| w[0].ts_ms <= w[1].ts_ms && w[0].offset < w[1].offset);
    let mut out = b"prefix".to_vec();
    match buf.write_to(&mut out) {
        Ok(()) => {
            assert!(valid, "wrote a table that breaks the rules: {buf:?}");
            let table = SeekTable::parse(&out[6..]).expect("a written table parses");
            assert_eq!(table.to_buf(), buf);
        }
        Err(e) => {
            assert!(!valid, "refused a valid table: {e}");
            assert!(out == b"prefix", "a refused table appended bytes");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// track_list

/// Target `track_list`: the bytes as a TRAK payload, parsed with default limits and with a
/// two-track cap; what parses re-encodes to a canonical payload that parses back equal. Also
/// the bytes as any JSON value through `json::to_python_json`.
pub fn track_list(data: &[u8]) {
    let tiny = Limits {
        max_tracks: 2,
        ..Limits::default()
    };
    for limits in [Limits::default(), tiny] {
        let chunk = trak_chunk(data);
        match parse_track_list(chunk, &limits) {
            Err(e) => {
                assert!(e.is_damage(), "not damage: {e}");
                assert_eq!(e.offset(), Some(chunk.offset), "{e}");
                assert!(!e.to_string().is_empty());
            }
            Ok(list) => {
                assert!(list.tracks.len() as u64 <= u64::from(limits.max_tracks));
                let mut ids: Vec<u16> = list.tracks.iter().map(|t| t.track_id).collect();
                ids.sort_unstable();
                ids.dedup();
                assert_eq!(ids.len(), list.tracks.len(), "a track id twice");
                for p in &list.problems {
                    if let TrackProblem::OffType { written, .. } = p {
                        // JSON as Python writes it: with NaN and Infinity (a check of its
                        // form, so a word inside a string may be replaced too).
                        let json = written
                            .replace("-Infinity", "0")
                            .replace("Infinity", "0")
                            .replace("NaN", "0");
                        let parsed = serde_json::from_str::<&serde_json::value::RawValue>(&json);
                        assert!(parsed.is_ok(), "an off-type value is not JSON: {written}");
                    }
                }
                let bytes = encode_track_list(&list.tracks).expect("a parsed list encodes");
                let again = parse_track_list(trak_chunk(&bytes), &limits)
                    .unwrap_or_else(|e| panic!("an encoded list does not parse: {e}"));
                assert_eq!(again.tracks, list.tracks);
                assert!(again.problems.is_empty(), "{:?}", again.problems);
                let twice = encode_track_list(&again.tracks).expect("a parsed list encodes");
                assert!(twice == bytes, "encoding is not a fixpoint");
            }
        }
    }
    let not_trak = ChunkRef {
        tag: Tag::NOTE,
        ..trak_chunk(data)
    };
    assert!(matches!(
        parse_track_list(not_trak, &Limits::default()),
        Err(Error::UnexpectedChunk { .. })
    ));

    // Python's separators: the output reads back as the same value (floats aside, which
    // serde_json reads back only to within a rounding step).
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let py = h4mk_mt::json::to_python_json(&value).expect("a JSON value serialises");
        let back: serde_json::Value =
            serde_json::from_slice(&py).expect("to_python_json writes JSON");
        if !has_float(&value) {
            assert_eq!(back, value);
            let again = h4mk_mt::json::to_python_json(&back).expect("a JSON value serialises");
            assert!(again == py);
        }
        // `ensure_ascii`: ASCII only, and the same value again.
        let ascii = h4mk_mt::json::to_python_json_ascii(&value).expect("a JSON value serialises");
        assert!(ascii.is_ascii());
        let back: serde_json::Value =
            serde_json::from_slice(&ascii).expect("to_python_json_ascii writes JSON");
        if !has_float(&value) {
            assert_eq!(back, value);
        }
    }
}

fn trak_chunk(payload: &[u8]) -> ChunkRef<'_> {
    ChunkRef {
        offset: 16,
        tag: Tag::TRAK,
        flags: 0,
        payload,
        crc: 0,
    }
}

fn has_float(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Number(n) => n.is_f64(),
        serde_json::Value::Array(a) => a.iter().any(has_float),
        serde_json::Value::Object(o) => o.values().any(has_float),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// mux_roundtrip

/// One step of a mux script.
#[derive(Clone, Copy, Debug)]
pub enum MuxOp<'a> {
    /// `Muxer::push`.
    Push {
        /// The track.
        track: u16,
        /// The pts.
        ts_ms: u32,
        /// The block type.
        kind: BlockKind,
        /// The opaque bytes.
        opaque: &'a [u8],
    },
    /// `Muxer::end_track`.
    End {
        /// The track.
        track: u16,
    },
    /// `Muxer::advance`.
    Advance {
        /// The track.
        track: u16,
        /// The pts promised.
        ts_ms: u32,
    },
}

/// What `mux_roundtrip` does, decoded from its input by a fixed byte layout (so a committed
/// regression decodes the same in every build):
///
/// ```text
/// byte 0      options: bit 0 sync, bit 1 index locator, bits 2..5 META, SAFE, VERI, NOTE
/// byte 1      track count n = byte % 5
/// 2n bytes    track ids, u16 LE (a repeated id makes `Muxer::new` refuse the list)
/// then ops    op byte: bits 0..1 type (0 I, 1 P, 2 B, 3 end the track, or advance it to the
///                      pts when bits 5..7 are 7),
///                      bits 2..4 track (index < n: that track; else the undeclared 0xFFF0 + index),
///                      bits 5..7 pts: 0 same as the track's last, 1 +u8, 2 +u16, 3 -u8,
///                                     4 absolute u32, 5 MAX_TIMESTAMP_MS - 127 + u8,
///                                     6 and 7 +8*u8;
///             then the pts bytes, then for a push a length byte and that many opaque bytes
///             (fewer if the input ends).
/// ```
#[derive(Clone, Debug)]
pub struct MuxScript<'a> {
    /// Muxer options.
    pub opts: MuxOptions,
    /// Sidecars to write.
    pub sidecars: Sidecars<'static>,
    /// The track list.
    pub tracks: Vec<TrackSpec>,
    /// The steps.
    pub ops: Vec<MuxOp<'a>>,
}

impl<'a> MuxScript<'a> {
    /// Decodes a script (see the type's docs).
    pub fn decode(data: &'a [u8]) -> Self {
        let (&opt, mut rest) = data.split_first().unwrap_or((&0, &[]));
        let opts = MuxOptions {
            sync: opt & 1 != 0,
            index_locator: opt & 2 != 0,
            ..MuxOptions::default()
        };
        let side = |bit: u8, payload: &'static [u8]| (opt >> bit & 1 != 0).then_some(payload);
        let sidecars = Sidecars {
            meta: side(2, br#"{"title": "fuzz", "duration_ms": 0}"#),
            safety: side(3, b""),
            verify: side(4, br#"{"sha256": "00"}"#),
            note: side(5, "a note \u{e9}\n".as_bytes()),
        };
        let n = rest.split_first().map_or(0, |(&b, tail)| {
            rest = tail;
            usize::from(b % 5)
        });
        let mut tracks = Vec::new();
        for i in 0..n {
            let Some((&id, tail)) = rest.split_first_chunk::<2>() else {
                break;
            };
            rest = tail;
            let track_id = u16::from_le_bytes(id);
            tracks.push(TrackSpec {
                track_id,
                name: format!("track {track_id} \"{i}\"\u{2028}"),
                kind: ["audio", "control", "video"][i % 3].to_owned(),
                codec: "h4core".to_owned(),
                sample_rate: [48_000, 0, 16_000][i % 3],
                channels: [1, 0, 2][i % 3],
                note: if i % 2 == 0 {
                    String::new()
                } else {
                    "\u{1}\\".to_owned()
                },
            });
        }
        let mut last = [0u32; 8];
        let mut ops = Vec::new();
        while let Some((&op, tail)) = rest.split_first() {
            rest = tail;
            let sel = usize::from(op >> 2 & 7);
            let track = tracks.get(sel).map_or(0xFFF0 + sel as u16, |t| t.track_id);
            let mut byte = || {
                rest.split_first().map_or(0, |(&b, tail)| {
                    rest = tail;
                    b
                })
            };
            let prev = last[sel];
            let ts_ms = match op >> 5 {
                0 => prev,
                1 => prev.saturating_add(u32::from(byte())),
                2 => prev.saturating_add(u32::from(u16::from_le_bytes([byte(), byte()]))),
                3 => prev.saturating_sub(u32::from(byte())),
                4 => u32::from_le_bytes([byte(), byte(), byte(), byte()]),
                5 => MAX_TIMESTAMP_MS - 127 + u32::from(byte()),
                _ => prev.saturating_add(8 * u32::from(byte())),
            };
            last[sel] = ts_ms;
            let kind = match op & 3 {
                0 => BlockKind::Key,
                1 => BlockKind::Predictive,
                2 => BlockKind::Bidirectional,
                _ if op >> 5 == 7 => {
                    ops.push(MuxOp::Advance { track, ts_ms });
                    continue;
                }
                _ => {
                    ops.push(MuxOp::End { track });
                    continue;
                }
            };
            let len = usize::from(byte()).min(rest.len());
            let (opaque, tail) = rest.split_at(len);
            rest = tail;
            ops.push(MuxOp::Push {
                track,
                ts_ms,
                kind,
                opaque,
            });
        }
        MuxScript {
            opts,
            sidecars,
            tracks,
            ops,
        }
    }
}

/// What the muxer must do with each step: the GOP rules, tracked per track.
#[derive(Clone, Copy, Debug, Default)]
struct TrackRules {
    last: Option<(u32, BlockKind)>,
    /// The highest pts the track was advanced to.
    promised: u32,
    ended: bool,
}

/// A block the muxer accepted, in push order.
#[derive(Clone, Copy, Debug)]
struct Pushed<'a> {
    track: u16,
    ts_ms: u32,
    kind: BlockKind,
    opaque: &'a [u8],
}

/// Target `mux_roundtrip`: a [`MuxScript`] through `Muxer`, each step refused exactly when the
/// GOP rules say; then the file through `Demuxer` (the accepted blocks, in (pts, track id)
/// order, `verify` clean, windowed plans equal to whole-track plans) and `salvage` (the same
/// bytes).
pub fn mux_roundtrip(data: &[u8]) {
    let script = MuxScript::decode(data);
    let mut ids: Vec<u16> = script.tracks.iter().map(|t| t.track_id).collect();
    ids.sort_unstable();
    let duplicate = ids.windows(2).any(|w| w[0] == w[1]);
    let mut mux = match Muxer::new(
        Vec::new(),
        script.tracks.clone(),
        &script.sidecars,
        script.opts,
    ) {
        Ok(mux) => mux,
        Err(e) => {
            assert!(
                duplicate && matches!(e, Error::DuplicateTrack { .. }),
                "{e}"
            );
            return;
        }
    };
    assert!(!duplicate, "the muxer took a track list with a repeated id");
    let mut rules: BTreeMap<u16, TrackRules> = script
        .tracks
        .iter()
        .map(|t| (t.track_id, TrackRules::default()))
        .collect();
    let mut accepted: Vec<Pushed<'_>> = Vec::new();
    for (i, op) in script.ops.iter().enumerate() {
        match *op {
            MuxOp::Push {
                track,
                ts_ms,
                kind,
                opaque,
            } => {
                let want = match rules.get(&track) {
                    None => Some("UnknownTrack"),
                    Some(r) if r.ended => Some("TrackEnded"),
                    Some(_) if ts_ms > MAX_TIMESTAMP_MS => Some("PtsTooLarge"),
                    Some(r) if r.last.is_none() && kind != BlockKind::Key => {
                        Some("FirstBlockNotKey")
                    }
                    Some(TrackRules {
                        last: Some((prev, _)),
                        ..
                    }) if ts_ms < *prev => Some("PtsBackwards"),
                    Some(r) if ts_ms < r.promised => Some("PtsBeforeAdvance"),
                    Some(_) => None,
                };
                // The three hand-overs in turn: copied when held, borrowed, moved in.
                let got = match i % 3 {
                    0 => mux.push(track, ts_ms, kind, opaque),
                    1 => mux.push_borrowed(track, ts_ms, kind, opaque),
                    _ => mux.push_owned(track, ts_ms, kind, opaque.to_vec()),
                };
                check_refusal(&got, want, op);
                if got.is_ok()
                    && let Some(r) = rules.get_mut(&track)
                {
                    r.last = Some((ts_ms, kind));
                    accepted.push(Pushed {
                        track,
                        ts_ms,
                        kind,
                        opaque,
                    });
                }
            }
            MuxOp::End { track } => {
                let want = match rules.get(&track) {
                    None => Some("UnknownTrack"),
                    Some(r) if r.ended => Some("TrackEnded"),
                    Some(TrackRules {
                        last: Some((_, BlockKind::Bidirectional)),
                        ..
                    }) => Some("EndsOnB"),
                    Some(_) => None,
                };
                let got = mux.end_track(track);
                check_refusal(&got, want, op);
                if got.is_ok()
                    && let Some(r) = rules.get_mut(&track)
                {
                    r.ended = true;
                }
            }
            MuxOp::Advance { track, ts_ms } => {
                let want = match rules.get(&track) {
                    None => Some("UnknownTrack"),
                    Some(r) if r.ended => Some("TrackEnded"),
                    // Past the largest pts: a promise of no more blocks.
                    Some(_) => None,
                };
                let (position, held) = (mux.position(), mux.held_blocks());
                let got = mux.advance(track, ts_ms);
                check_refusal(&got, want, op);
                if got.is_ok()
                    && let Some(r) = rules.get_mut(&track)
                {
                    r.promised = r.promised.max(ts_ms);
                }
                // A promise only lets held blocks go.
                assert!(mux.position() >= position && mux.held_blocks() <= held);
            }
        }
        // Everything handed out is written or held; what is written is never taken back.
        assert_eq!(mux.get_ref().len() as u64, mux.position());
        assert!(mux.held_blocks() <= accepted.len());
    }
    let ends_on_b = rules
        .values()
        .any(|r| !r.ended && matches!(r.last, Some((_, BlockKind::Bidirectional))));
    let (bytes, summary) = match mux.finish() {
        Ok(done) => done,
        Err(e) => {
            assert!(
                ends_on_b && matches!(e, Error::EndsOnB { .. }),
                "finish: {e}"
            );
            return;
        }
    };
    assert!(!ends_on_b, "finish let a track end on a B-block");
    assert_eq!(summary.file_len, bytes.len() as u64);
    assert_eq!(summary.blocks, accepted.len() as u64);
    for t in &summary.tracks {
        let mine = accepted.iter().filter(|b| b.track == t.track_id);
        assert_eq!(t.blocks, mine.clone().count() as u64);
        assert_eq!(
            t.keyframes,
            mine.filter(|b| b.kind == BlockKind::Key).count() as u64
        );
    }

    // Read back: the tracks, the sidecars, the accepted blocks sorted by (pts, track id),
    // stably (blocks of one track at one pts keep their push order).
    let file = Demuxer::open(&bytes).unwrap_or_else(|e| panic!("a muxed file does not open: {e}"));
    assert_eq!(file.tracks(), script.tracks.as_slice());
    assert_eq!(file.sidecars(), script.sidecars);
    let want_status = if script.opts.index_locator {
        matches!(file.index_status(), IndexStatus::Located { .. })
    } else {
        matches!(file.index_status(), IndexStatus::Trailing)
    };
    assert!(want_status, "index: {}", file.index_status());
    let mut expect = accepted.clone();
    expect.sort_by_key(|b| (b.ts_ms, b.track));
    let blocks: Vec<BlockRef<'_>> = file
        .blocks()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("a muxed file has a bad block: {e}"));
    assert_eq!(blocks.len(), expect.len(), "block count");
    for (b, e) in blocks.iter().zip(&expect) {
        assert!(
            (b.track, b.ts_ms, b.kind) == (e.track, e.ts_ms, e.kind) && b.opaque == e.opaque,
            "read {b:?}, pushed {e:?}"
        );
    }
    let report = file.verify();
    assert!(
        report.is_ok(),
        "a muxed file does not verify: {:?} {}",
        report.container.errors,
        problems(&report.problems)
    );
    for t in file.tracks() {
        let keys: Vec<SeekEntry> = blocks
            .iter()
            .filter(|b| b.track == t.track_id && b.kind == BlockKind::Key)
            .map(|b| SeekEntry {
                ts_ms: b.ts_ms,
                offset: b.offset,
            })
            .collect();
        assert_eq!(file.seek_table(t.track_id).ok(), Some(keys.as_slice()));
    }
    check_windowed_plans(&file, &blocks, true);

    // A muxed file is what salvage writes for itself.
    let (again, salvaged) = salvage(&bytes, Vec::new()).expect("salvage into a Vec");
    assert!(salvaged.is_complete(), "{salvaged:?}");
    assert!(again == bytes, "salvage changed a muxed file");
}

/// The name of a muxer refusal, to compare with what the rules predict.
fn refusal(e: &Error) -> &'static str {
    match e {
        Error::UnknownTrack { .. } => "UnknownTrack",
        Error::TrackEnded { .. } => "TrackEnded",
        Error::PtsTooLarge { .. } => "PtsTooLarge",
        Error::FirstBlockNotKey { .. } => "FirstBlockNotKey",
        Error::PtsBackwards { .. } => "PtsBackwards",
        Error::PtsBeforeAdvance { .. } => "PtsBeforeAdvance",
        Error::EndsOnB { .. } => "EndsOnB",
        _ => "other",
    }
}

#[track_caller]
fn check_refusal(got: &Result<(), Error>, want: Option<&str>, op: &MuxOp<'_>) {
    match (got, want) {
        (Ok(()), None) => {}
        (Err(e), Some(w)) => {
            assert_eq!(refusal(e), w, "{op:?}: {e}");
            assert!(!e.is_damage(), "a caller's mistake reads as damage: {e}");
        }
        (Ok(()), Some(w)) => panic!("{op:?} accepted, the rules say {w}"),
        (Err(e), None) => panic!("{op:?} refused: {e}"),
    }
}

fn problems(list: &[Problem]) -> String {
    list.iter().map(|p| format!("\n  {p}")).collect()
}

// ---------------------------------------------------------------------------------------------
// demux

/// Option sets `demux` opens with: strict and lenient, CRCs compared and not.
fn demux_options() -> [ParseOptions; 4] {
    [
        ParseOptions::default(),
        ParseOptions {
            check_crc: false,
            ..ParseOptions::default()
        },
        ParseOptions::lenient(),
        ParseOptions {
            mode: Mode::Lenient,
            check_crc: false,
            ..ParseOptions::default()
        },
    ]
}

/// Target `demux`: the input, and the input resealed, through every `Demuxer` entry point.
pub fn demux(data: &[u8]) {
    demux_bytes(data);
    if let Some(sealed) = reseal(data) {
        demux_bytes(&sealed);
    }
}

fn demux_bytes(data: &[u8]) {
    for (i, opts) in demux_options().iter().enumerate() {
        match Demuxer::open_with(data, opts) {
            Ok(file) => exercise(&file, data, i == 0),
            Err(e) => {
                assert!(e.is_damage(), "open failed on no damage: {e}");
                check_offset(e.offset(), data, &e);
            }
        }
    }
}

#[track_caller]
fn check_offset(offset: Option<u64>, data: &[u8], what: &dyn std::fmt::Display) {
    if let Some(o) = offset {
        assert!(o <= data.len() as u64, "offset {o} past the end: {what}");
    }
    assert!(!what.to_string().is_empty());
}

/// Every entry point of an opened file; `compare` adds the comparison of windowed and
/// whole-track plans when the file verifies clean.
fn exercise(file: &Demuxer<'_>, data: &[u8], compare: bool) {
    for p in file.problems() {
        check_offset(p.offset(), data, p);
    }
    let mut blocks = Vec::new();
    for (step, b) in file.blocks().enumerate() {
        assert!(step <= data.len() / 16 + 2, "blocks() does not end");
        match b {
            Ok(b) => {
                check_block_in(&b, data);
                match file.block_at(b.offset) {
                    Ok(again) => assert_eq!(again, b),
                    Err(e) => panic!("block_at({}) failed after blocks() read it: {e}", b.offset),
                }
                blocks.push(b);
            }
            Err(e) => check_offset(e.offset(), data, &e),
        }
    }
    for t in file.index().tracks() {
        for e in &t.entries {
            assert!(
                e.offset <= data.len() as u64,
                "seek entry past the end: {e:?}"
            );
        }
    }
    let mut ids: Vec<u16> = file.tracks().iter().take(8).map(|t| t.track_id).collect();
    ids.push(ids.iter().max().map_or(0, |m| m.wrapping_add(1)));
    for &track in &ids {
        let mut times = vec![0, u32::MAX, MAX_TIMESTAMP_MS];
        if let Ok(table) = file.seek_table(track) {
            times.extend(table.iter().take(3).map(|e| e.ts_ms));
        }
        let mine: Vec<&BlockRef<'_>> = blocks.iter().filter(|b| b.track == track).collect();
        times.extend(mine.iter().take(4).map(|b| b.ts_ms));
        times.extend(mine.iter().rev().take(2).map(|b| b.ts_ms.saturating_sub(1)));
        for (q, &t) in times.iter().enumerate() {
            match file.chain(track, t) {
                Ok(steps) => {
                    check_plan(&steps, track, data);
                    if let Some(last) = steps.last() {
                        assert!(last.block.ts_ms <= t, "chain({t}) ends after {t}");
                    }
                }
                Err(e) => check_offset(e.offset(), data, &e),
            }
            let t1 = times.get(q + 1).copied().unwrap_or(u32::MAX);
            match file.range(track, t, t1) {
                Ok(steps) => check_plan(&steps, track, data),
                Err(e) => {
                    assert!(
                        t <= t1 || matches!(e, Error::Gop(h4mk_gop::Error::InvalidRange { .. })),
                        "range({t}, {t1}): {e}"
                    );
                    check_offset(e.offset(), data, &e);
                }
            }
        }
    }
    let report = file.verify();
    for e in &report.container.errors {
        check_offset(e.offset(), data, e);
    }
    for p in &report.problems {
        // The one offset that is a value read from the file rather than a place in it: where
        // a wrong seek entry points (`IndexProblem::EntryMismatch`), which may be anywhere.
        let entry_target = matches!(
            p,
            Problem::IndexRebuilt {
                reason: IndexProblem::EntryMismatch { .. }
            }
        );
        if !entry_target {
            check_offset(p.offset(), data, p);
        }
    }
    if compare && report.is_ok() {
        check_windowed_plans(file, &blocks, false);
    }
    if compare {
        check_remux(file, data, &blocks, &report);
    }
}

/// `remux` of every track whole, and cut to a span from the file's own times: never a panic,
/// an error names a place in the input, and what is written verifies clean. Whole, on a file
/// that verifies clean, it succeeds and keeps every track's blocks.
fn check_remux(file: &Demuxer<'_>, data: &[u8], blocks: &[BlockRef<'_>], input: &Report) {
    let clean = input.is_ok();
    let inputs = std::slice::from_ref(file);
    let picks: Vec<Pick> = file
        .tracks()
        .iter()
        .map(|t| Pick {
            input: 0,
            track: t.track_id,
            as_track: t.track_id,
        })
        .collect();
    let mut times: Vec<u32> = blocks.iter().take(6).map(|b| b.ts_ms).collect();
    times.sort_unstable();
    let span = match times.as_slice() {
        // From between the first two times when they differ, so the cut starts mid-GOP.
        [a, .., b] => Some((a.saturating_add(1).min(*b), *b)),
        _ => Some((0, MAX_TIMESTAMP_MS)),
    };
    // Whole, a cut moved to start at zero, and the same cut open to the end (planned at its
    // start only).
    let cut = RemuxOptions {
        span,
        start_at_zero: true,
        ..RemuxOptions::default()
    };
    let to_the_end = RemuxOptions {
        span: span.map(|(t0, _)| (t0, u32::MAX)),
        ..RemuxOptions::default()
    };
    for opts in [RemuxOptions::default(), cut, to_the_end] {
        let sidecars = file.sidecars();
        match remux(Vec::new(), inputs, &picks, &sidecars, opts) {
            Ok((out, summary)) => {
                assert_eq!(summary.written.file_len, out.len() as u64);
                let again = Demuxer::open(&out).expect("a remuxed file opens");
                let checked = again.verify();
                assert!(checked.container.is_ok(), "a remuxed file's CRCs hold");
                // Clean but for what a remux copies as its input holds it, and only as the
                // input has it: an off-type track value (same key and text), and a track the
                // reference wrote against the GOP rules (the same break of the same track: a
                // cut open to the end copies a trailing B-block too).
                let copied = |p: &Problem| match (p, copied_break(p)) {
                    (_, Some(what)) => input.problems.iter().any(|q| copied_break(q) == Some(what)),
                    (
                        Problem::TrackList {
                            problem: TrackProblem::OffType { key, written, .. },
                            ..
                        },
                        None,
                    ) => input.problems.iter().any(|q| {
                        matches!(q, Problem::TrackList {
                            problem: TrackProblem::OffType { key: k, written: w, .. },
                            ..
                        } if k == key && w == written)
                    }),
                    _ => false,
                };
                for p in &checked.problems {
                    let listed = input.omitted_problems == 0;
                    assert!(copied(p) || !listed, "a remuxed file verifies clean: {p}");
                }
                let pts = again
                    .blocks()
                    .map(|b| b.expect("a remuxed file reads").ts_ms);
                if opts.start_at_zero {
                    assert!(
                        pts.min().is_none_or(|first| first == 0),
                        "a cut starts at 0"
                    );
                } else {
                    assert_eq!(summary.shifted_ms, 0);
                }
                if opts.span.is_none() {
                    let written: Vec<(u16, u32, BlockKind, &[u8])> = again
                        .blocks()
                        .map(|b| b.expect("a remuxed file reads"))
                        .map(|b| (b.track, b.ts_ms, b.kind, b.opaque))
                        .collect();
                    for t in file.tracks() {
                        let mine = |list: &[(u16, u32, BlockKind, &[u8])]| {
                            list.iter()
                                .filter(|b| b.0 == t.track_id)
                                .map(|b| (b.1, b.2, b.3.to_vec()))
                                .collect::<Vec<_>>()
                        };
                        let read: Vec<_> = blocks
                            .iter()
                            .map(|b| (b.track, b.ts_ms, b.kind, b.opaque))
                            .collect();
                        assert_eq!(mine(&written), mine(&read), "track {}", t.track_id);
                    }
                }
            }
            Err(e) => {
                assert!(
                    !(clean && opts.span.is_none()),
                    "remux of a clean file failed: {e}"
                );
                check_offset(e.offset(), data, &e);
            }
        }
    }
}

/// A break of the GOP rules a whole remux copies, as (which, track id).
fn copied_break(p: &Problem) -> Option<(char, u16)> {
    match p {
        Problem::FirstBlockNotKey { track, .. } => Some(('F', *track)),
        Problem::EndsOnB { track, .. } => Some(('B', *track)),
        _ => None,
    }
}

/// A block is a view of the input at its own offset: the opaque bytes are borrowed in place.
fn check_block_in(b: &BlockRef<'_>, data: &[u8]) {
    let start = usize::try_from(b.offset).expect("offset inside the input") + 8;
    let inside = data
        .get(start..start + b.opaque.len())
        .expect("a block lies inside its input");
    assert!(
        ptr::eq(inside, b.opaque),
        "opaque bytes not borrowed in place"
    );
    assert!(b.end_offset() <= data.len() as u64);
}

/// A plan obeys the GOP rules: all of one track, labelled with the blocks' types, opening on an
/// I-block, a P step after an anchor, a B step after two, no block twice.
fn check_plan(steps: &[DecodeStep<'_>], track: u16, data: &[u8]) {
    let mut anchors = 0;
    let mut seen = Vec::with_capacity(steps.len());
    for (i, s) in steps.iter().enumerate() {
        check_block_in(&s.block, data);
        assert_eq!(
            s.block.track, track,
            "a plan for track {track} crosses tracks"
        );
        assert_eq!(s.kind, s.block.kind);
        assert!(
            i > 0 || s.kind == BlockKind::Key,
            "a plan opens on a {}",
            s.kind
        );
        match s.kind {
            BlockKind::Key => {}
            BlockKind::Predictive => assert!(anchors >= 1, "a P step with no anchor before it"),
            BlockKind::Bidirectional => assert!(anchors >= 2, "a B step before both anchors"),
        }
        if s.kind.is_anchor() {
            anchors += 1;
        }
        seen.push(s.block.offset);
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), steps.len(), "a block planned twice");
}

/// On a sound file, `chain` and `range`, which walk only from the keyframe the index gives,
/// plan exactly what `plan_chain` and `plan_range` plan over the whole track.
fn check_windowed_plans(file: &Demuxer<'_>, blocks: &[BlockRef<'_>], all_times: bool) {
    for t in file.tracks().iter().take(8) {
        let track: Vec<BlockRef<'_>> = blocks
            .iter()
            .filter(|b| b.track == t.track_id)
            .copied()
            .collect();
        let mut times = vec![0, u32::MAX];
        let per_track = if all_times { 16 } else { 4 };
        for b in track.iter().take(per_track) {
            times.extend([b.ts_ms.saturating_sub(1), b.ts_ms]);
        }
        for (q, &t0) in times.iter().enumerate() {
            let whole = plan_chain(&track, t0).map_err(|e| e.to_string());
            let windowed = file.chain(t.track_id, t0).map_err(|e| e.to_string());
            assert_eq!(windowed, whole, "chain({}, {t0})", t.track_id);
            let t1 = times.get(q + 2).copied().unwrap_or(u32::MAX).max(t0);
            let whole = plan_range(&track, t0, t1).map_err(|e| e.to_string());
            let windowed = file.range(t.track_id, t0, t1).map_err(|e| e.to_string());
            assert_eq!(windowed, whole, "range({}, {t0}, {t1})", t.track_id);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// salvage

/// Target `salvage`: the input, and the input resealed, through `salvage`.
pub fn salvage_check(data: &[u8]) {
    salvage_bytes(data);
    let Some(sealed) = sealed(data) else {
        return;
    };
    if sealed != data {
        salvage_bytes(&sealed);
    }
    if let Some(damaged) = damage(&sealed, data) {
        salvage_bytes(&damaged);
    }
}

fn salvage_bytes(data: &[u8]) {
    let (out, report) =
        salvage(data, Vec::new()).unwrap_or_else(|e| panic!("salvage into a Vec failed: {e}"));
    assert_eq!(report.input_len, data.len() as u64);
    assert_eq!(report.output_len, out.len() as u64);
    // The totals count every block not kept and every byte skipped, listed or not.
    let (lost, dropped) = report.dropped.iter().fold((0, 0), |(l, d), b| {
        if b.reason.is_damage() {
            (l + 1, d)
        } else {
            (l, d + 1)
        }
    });
    let skipped: u64 = report.skipped.iter().map(|s| s.len).sum();
    if report.omitted.dropped == 0 {
        assert_eq!((lost, dropped), (report.blocks_lost, report.blocks_dropped));
    } else {
        assert!(lost <= report.blocks_lost && dropped <= report.blocks_dropped);
    }
    if report.omitted.skipped == 0 {
        assert_eq!(skipped, report.skipped_bytes);
    } else {
        assert!(skipped <= report.skipped_bytes);
    }
    let file = Demuxer::open(&out).unwrap_or_else(|e| panic!("a salvaged file does not open: {e}"));
    let verified = file.verify();
    assert!(
        verified.container.is_ok(),
        "a salvaged file is damaged: {:?}",
        verified.container.errors
    );
    // Salvage keeps the track list byte for byte and the blocks in their order (it drops a
    // block whose pts go back in its track), so a track list with extra or defaulted keys and
    // blocks of different tracks out of (pts, track id) order stay; nothing else may.
    let kept_on_purpose =
        |p: &Problem| matches!(p, Problem::TrackList { .. } | Problem::BlockOrder { .. });
    let other: Vec<&Problem> = verified
        .problems
        .iter()
        .filter(|p| !kept_on_purpose(p))
        .collect();
    assert!(
        other.is_empty(),
        "a salvaged file does not verify:{}",
        other.iter().map(|p| format!("\n  {p}")).collect::<String>()
    );
    let blocks: Vec<BlockRef<'_>> = file
        .blocks()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("a salvaged file has a bad block: {e}"));
    assert_eq!(blocks.len() as u64, report.blocks_kept());

    // Every block kept is an intact block of the input, in the input's order.
    let mut intact = Scanner::new(data).filter_map(|f| match f {
        Found::Chunk(c) if c.tag == Tag::CORE => route(c).ok(),
        _ => None,
    });
    for b in &blocks {
        let same = |i: &BlockRef<'_>| {
            (i.track, i.ts_ms, i.kind) == (b.track, b.ts_ms, b.kind) && i.opaque == b.opaque
        };
        assert!(
            intact.any(|i| same(&i)),
            "a salvaged block that is not an intact block of the input, in order: {b:?}"
        );
    }

    // A sound output salvages to itself.
    if verified.is_ok() {
        let (again, second) = salvage(&out, Vec::new()).expect("salvage into a Vec");
        assert!(second.intact, "{second:?}");
        assert!(again == out, "salvaging a salvaged file changed it");
    }

    // A sound input loses no block.
    if let Ok(input) = Demuxer::open(data)
        && input.verify().is_ok()
        && crcs_right(data)
    {
        assert!(report.dropped.is_empty(), "{:?}", report.dropped);
        let original: Vec<BlockRef<'_>> = input.blocks().filter_map(Result::ok).collect();
        assert_eq!(
            original.len(),
            blocks.len(),
            "salvage dropped blocks of a sound file"
        );
        for (a, b) in original.iter().zip(&blocks) {
            assert!((a.track, a.ts_ms, a.kind, a.opaque) == (b.track, b.ts_ms, b.kind, b.opaque));
        }
    }

    // Asked for a locator, it writes one that readers use.
    let opts = h4mk_mt::SalvageOptions {
        index_locator: true,
        ..Default::default()
    };
    let (located, _) = salvage_with(data, Vec::new(), opts).expect("salvage into a Vec");
    let file = Demuxer::open(&located)
        .unwrap_or_else(|e| panic!("a salvaged file with a locator does not open: {e}"));
    assert!(
        matches!(file.index_status(), IndexStatus::Located { .. }),
        "{}",
        file.index_status()
    );
    assert_eq!(file.blocks().count(), blocks.len());
}

/// Whether every chunk CRC and the file CRC of `data` are right, judged by `resync`, which
/// compares CRCs in every build. (A fuzzing build turns CRC comparison off in the readers,
/// `verify` included, so there a clean `verify` does not say the CRCs are right.)
fn crcs_right(data: &[u8]) -> bool {
    h4mk_format::resync::scan(data).is_intact()
}

// ---------------------------------------------------------------------------------------------
// resealing

/// The input's chunks, framed without comparing CRCs (lenient, up to the first framing error),
/// written again through `Writer` after the input's header: a container whose every CRC is
/// right, whatever a mutation changed inside its chunks. `None` when the input has no header
/// and footer to frame, or when resealing changes nothing.
pub fn reseal(data: &[u8]) -> Option<Vec<u8>> {
    sealed(data).filter(|out| out != data)
}

/// [`reseal`], also when it changes nothing.
fn sealed(data: &[u8]) -> Option<Vec<u8>> {
    let opts = ParseOptions {
        mode: Mode::Lenient,
        check_crc: false,
        ..ParseOptions::default()
    };
    let file = ContainerRef::parse_with(data, &opts).ok()?;
    let mut w = Writer::new(
        Vec::with_capacity(data.len()),
        file.header(),
        WriterOptions::default(),
    )
    .ok()?;
    for chunk in file.chunks() {
        let Ok(c) = chunk else { break };
        w.write_chunk(c.tag, c.flags, c.payload).ok()?;
    }
    w.finish().ok()
}

/// One piece of damage to a resealed input, as the input's own last four bytes say (resealing
/// writes a fresh file CRC, so they are free): `[lo, hi, x, mode]`, at `u16(lo, hi) % len`,
/// mode 0 none, 1 a byte XORed with `x | 1`, 2 the file cut there, 3 `x` bytes of `0xA5`
/// inserted there. So intact chunks with hostile contents and damage meet in one input.
fn damage(sealed: &[u8], input: &[u8]) -> Option<Vec<u8>> {
    let [lo, hi, x, mode] = *input.last_chunk::<4>()?;
    let at = usize::from(u16::from_le_bytes([lo, hi])) % sealed.len().max(1);
    let mut out = sealed.to_vec();
    match mode & 3 {
        1 => *out.get_mut(at)? ^= x | 1,
        2 => out.truncate(at),
        3 => {
            out.splice(at..at, std::iter::repeat_n(0xA5, usize::from(x)));
        }
        _ => return None,
    }
    Some(out)
}
