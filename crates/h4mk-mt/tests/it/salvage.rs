//! Salvage: intact files come back unchanged, truncated files keep every decodable block whose
//! chunk is complete, damage in the middle loses exactly what the GOP rule says, unknown chunks
//! stay, and random damage never makes salvage keep a block whose references are gone.

use std::collections::BTreeMap;

use h4mk_format::{ContainerRef, FileHeader, Limits, Tag, Writer, WriterOptions};
use h4mk_gop::{BlockKind, GopFlags};
use h4mk_mt::index::{IndexBuilder, write_index};
use h4mk_mt::salvage::{DropReason, IgnoreReason, TrackListSource};
use h4mk_mt::{
    Demuxer, MuxOptions, Muxer, SalvageReport, Sidecars, TrackSpec, encode_track_list,
    route_header, salvage,
};

use crate::reference_fixtures::{REFERENCE, read_reference};
use crate::support::spec;

/// A block of a file, with where its chunk lies.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Blk {
    /// Offset of the chunk header.
    start: u64,
    /// Offset past the chunk.
    end: u64,
    track: u16,
    ts_ms: u32,
    kind: BlockKind,
    opaque: Vec<u8>,
}

impl Blk {
    /// What must survive a salvage unchanged: everything but the offsets.
    fn content(&self) -> (u16, u32, char, Vec<u8>) {
        (
            self.track,
            self.ts_ms,
            self.kind.letter(),
            self.opaque.clone(),
        )
    }
}

/// Every block of an intact file, in file order.
fn blocks_of(bytes: &[u8]) -> Vec<Blk> {
    let d = Demuxer::open(bytes).unwrap();
    d.blocks()
        .map(|b| {
            let b = b.unwrap();
            Blk {
                start: b.chunk_offset(),
                end: b.end_offset(),
                track: b.track,
                ts_ms: b.ts_ms,
                kind: b.kind,
                opaque: b.opaque.to_vec(),
            }
        })
        .collect()
}

/// Salvages `bytes`, checks the output is sound and that the report counts what it holds;
/// returns the output's blocks and the report.
fn salvage_checked(bytes: &[u8], what: &str) -> (Vec<Blk>, SalvageReport, Vec<u8>) {
    let (out, report) = salvage(bytes, Vec::new()).unwrap();
    assert_eq!(report.output_len, out.len() as u64, "{what}");
    let d = Demuxer::open(&out).unwrap_or_else(|e| panic!("{what}: {e}"));
    let v = d.verify();
    assert!(v.is_ok(), "{what}: {:?}", v.problems);
    let blocks = blocks_of(&out);
    assert_eq!(blocks.len() as u64, report.blocks_kept(), "{what}");
    (blocks, report, out)
}

/// The blocks of `complete` (one file's blocks in file order, all intact) that can be decoded
/// when nothing between them was lost: each track from its first I-block on, without the
/// B-blocks after its last anchor.
fn decodable(complete: &[Blk]) -> Vec<Blk> {
    let mut keep: Vec<bool> = Vec::with_capacity(complete.len());
    let mut started = std::collections::BTreeSet::new();
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
            if complete[i].kind == BlockKind::Bidirectional {
                keep[i] = false;
            } else {
                break;
            }
        }
    }
    complete
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(b, _)| b.clone())
        .collect()
}

fn contents(blocks: &[Blk]) -> Vec<(u16, u32, char, Vec<u8>)> {
    blocks.iter().map(Blk::content).collect()
}

/// Deterministic pseudo-random numbers (xorshift32).
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }

    fn below(&mut self, n: u32) -> u32 {
        self.next() % n.max(1)
    }
}

/// One piece of a hand-built file.
enum Piece {
    Chunk(Tag, Vec<u8>),
    Block(u16, u32, BlockKind, Vec<u8>),
}

/// Writes a header, a TRAK for `tracks`, `pieces` in order and the index the muxer would
/// write: lets a test put chunks where the muxer never does.
fn build(tracks: &[TrackSpec], pieces: &[Piece]) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), &FileHeader::default(), WriterOptions::default()).unwrap();
    w.write_chunk(Tag::TRAK, 0, &encode_track_list(tracks).unwrap())
        .unwrap();
    let mut index = IndexBuilder::new(tracks.iter().map(|t| t.track_id), Limits::none());
    for p in pieces {
        match p {
            Piece::Chunk(tag, payload) => {
                w.write_chunk(*tag, 0, payload).unwrap();
            }
            Piece::Block(track, ts_ms, kind, opaque) => {
                let flags = GopFlags::new(*ts_ms, *kind).unwrap().to_bits();
                let at = w
                    .write_chunk_parts(Tag::CORE, flags, &[&route_header(*track), opaque])
                    .unwrap();
                index
                    .add(*track, *ts_ms, *kind, at + 12, w.position())
                    .unwrap();
            }
        }
    }
    let index = index.finish(w.position());
    write_index(&mut w, &index, false).unwrap();
    w.finish().unwrap()
}

/// Three tracks: 1 with GOPs `I B B P B B P B P` (40 ms apart), 2 with `I P P P P` (20 ms
/// apart), 3 with I-blocks only (100 ms apart); opaque bytes of 1 to 400 random bytes.
fn multitrack_blocks(seed: u32, duration_ms: u32) -> Vec<(u16, u32, BlockKind, Vec<u8>)> {
    use BlockKind::{Bidirectional as B, Key as I, Predictive as P};
    let gop1 = [I, B, B, P, B, B, P, B, P];
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    let mut push = |track: u16, ts: u32, kind: BlockKind, rng: &mut Rng| {
        let len = 1 + rng.below(400) as usize;
        let opaque: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        out.push((track, ts, kind, opaque));
    };
    for (i, ts) in (0..duration_ms).step_by(40).enumerate() {
        push(1, ts, gop1[i % gop1.len()], &mut rng);
    }
    for (i, ts) in (0..duration_ms).step_by(20).enumerate() {
        push(2, ts, if i % 5 == 0 { I } else { P }, &mut rng);
    }
    for ts in (0..duration_ms).step_by(100) {
        push(3, ts, I, &mut rng);
    }
    // Track 1 must not end on a B-block.
    while out
        .iter()
        .rev()
        .find(|b| b.0 == 1)
        .is_some_and(|b| b.2 == B)
    {
        let last = out.iter().rposition(|b| b.0 == 1).unwrap();
        out.remove(last);
    }
    out
}

/// The three-track file, muxed with a META and a NOTE sidecar.
fn multitrack(seed: u32, duration_ms: u32, opts: MuxOptions) -> Vec<u8> {
    let tracks = vec![spec(1), spec(2), spec(3)];
    let sidecars = Sidecars {
        meta: Some(br#"{"title": "salvage"}"#),
        note: Some(b"a note"),
        ..Sidecars::default()
    };
    let mut m = Muxer::new(Vec::new(), tracks, &sidecars, opts).unwrap();
    for (track, ts, kind, opaque) in multitrack_blocks(seed, duration_ms) {
        m.push(track, ts, kind, &opaque).unwrap();
    }
    m.finish().unwrap().0
}

#[test]
fn intact_files_come_back_byte_for_byte() {
    let mut files: Vec<(String, Vec<u8>)> = REFERENCE
        .iter()
        .map(|n| (n.to_string(), read_reference(n, "h4mk")))
        .collect();
    files.push((
        "locator".into(),
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/golden/locator.h4mk"
        ))
        .unwrap(),
    ));
    files.push((
        "multitrack".into(),
        multitrack(7, 3000, MuxOptions::default()),
    ));
    for (name, bytes) in files {
        let sound = Demuxer::open(&bytes).unwrap().verify().is_ok();
        let (out, report) = salvage(&bytes, Vec::new()).unwrap();
        assert!(report.intact, "{name}");
        assert!(
            report.skipped.is_empty() && report.damaged.is_empty(),
            "{name}"
        );
        if sound {
            assert!(report.is_complete(), "{name}: {report:?}");
            assert_eq!(out, bytes, "{name}");
        } else {
            // A reference file that breaks a GOP rule: salvage drops what cannot be decoded.
            println!("{name}: not sound, dropped {:?}", report.dropped);
            assert!(!report.dropped.is_empty(), "{name}");
        }
    }
}

/// Cuts `bytes` every `step` bytes (and at every chunk boundary of interest) and checks each
/// salvage against [`decodable`].
fn truncation_sweep(name: &str, bytes: &[u8], step: usize) -> (usize, u64) {
    let all = blocks_of(bytes);
    let mut cuts: Vec<usize> = (0..bytes.len()).step_by(step).collect();
    // The ends of the first chunks, exactly and one byte either side.
    for b in all.iter().take(3) {
        let e = b.end as usize;
        cuts.extend([e - 1, e, e + 1]);
    }
    let mut kept = 0;
    for &cut in &cuts {
        let data = &bytes[..cut];
        let complete: Vec<Blk> = all
            .iter()
            .filter(|b| b.end <= cut as u64)
            .cloned()
            .collect();
        let expect = decodable(&complete);
        let what = format!("{name} cut at {cut}");
        let (got, report, _) = salvage_checked(data, &what);
        assert_eq!(contents(&got), contents(&expect), "{what}");
        for d in &report.dropped {
            assert!(
                matches!(
                    d.reason,
                    DropReason::NoKeyframe
                        | DropReason::NoForwardAnchor
                        | DropReason::Truncated
                        | DropReason::ForwardAnchorLost { .. }
                ),
                "{what}: {d:?}"
            );
        }
        assert!(!report.intact || cut == bytes.len(), "{what}");
        kept += report.blocks_kept();
    }
    (cuts.len(), kept)
}

#[test]
fn truncated_reference_files_keep_every_decodable_complete_block() {
    for name in REFERENCE {
        let bytes = read_reference(name, "h4mk");
        // Every cut of the small files; 20 of the 700 KB one.
        let step = if bytes.len() <= 4096 {
            1
        } else {
            bytes.len() / 20
        };
        let (cuts, kept) = truncation_sweep(name, &bytes, step);
        println!("{name}: {cuts} cuts, {kept} blocks recovered in all");
    }
}

#[test]
fn truncated_multitrack_files_keep_every_decodable_complete_block() {
    let plain = multitrack(11, 2500, MuxOptions::default());
    let located = multitrack(
        12,
        2000,
        MuxOptions {
            index_locator: true,
            ..MuxOptions::default()
        },
    );
    for (name, bytes) in [("multitrack", plain), ("multitrack+locator", located)] {
        let (cuts, kept) = truncation_sweep(name, &bytes, 151);
        println!("{name}: {cuts} cuts, {kept} blocks recovered in all");
    }
}

/// The multitrack file and its blocks, with the index of the `n`-th block of `track` of `kind`.
fn find(blocks: &[Blk], track: u16, kind: BlockKind, n: usize) -> usize {
    blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| b.track == track && b.kind == kind)
        .nth(n)
        .map(|(i, _)| i)
        .unwrap()
}

/// Flips one bit in the middle of block `i`'s opaque bytes.
fn flip_opaque(bytes: &mut [u8], b: &Blk) {
    let mid = (b.start as usize + 20 + b.end as usize - 4) / 2;
    bytes[mid] ^= 0x10;
}

#[test]
fn a_damaged_b_block_is_lost_alone() {
    let bytes = multitrack(21, 3000, MuxOptions::default());
    let all = blocks_of(&bytes);
    let i = find(&all, 1, BlockKind::Bidirectional, 5);
    let mut damaged = bytes.clone();
    flip_opaque(&mut damaged, &all[i]);
    let (got, report, _) = salvage_checked(&damaged, "B flip");
    let mut expect = all.clone();
    expect.remove(i);
    assert_eq!(contents(&got), contents(&expect));
    assert_eq!(report.dropped.len(), 1);
    let d = report.dropped[0];
    assert_eq!(
        (d.offset, d.track, d.ts_ms, d.kind, d.reason),
        (
            all[i].start + 12,
            1,
            all[i].ts_ms,
            BlockKind::Bidirectional,
            DropReason::Damaged
        )
    );
    assert_eq!(report.tracks[0].damaged, 1);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].offset, all[i].start);
}

#[test]
fn a_dropped_b_block_does_not_count_as_the_tracks_last_pts() {
    // An edited file whose track goes I@0 B@50 P@60 I@40 P@70, with the P@60 damaged: the
    // B-block loses its forward anchor, and the I@40 then follows only the I@0 kept. It used
    // to be judged against the dropped B@50 (pts backwards), taking P@70 down with it.
    use BlockKind::{Bidirectional as B, Key as I, Predictive as P};
    let pieces: Vec<Piece> = [(0, I), (50, B), (60, P), (40, I), (70, P)]
        .into_iter()
        .map(|(ts, kind)| Piece::Block(1, ts, kind, vec![ts as u8; 40]))
        .collect();
    let bytes = build(&[spec(1)], &pieces);
    let all = blocks_of(&bytes);
    let mut damaged = bytes.clone();
    flip_opaque(&mut damaged, &all[2]);
    let (got, report, _) = salvage_checked(&damaged, "P flip");
    let kept: Vec<u32> = got.iter().map(|b| b.ts_ms).collect();
    assert_eq!(kept, [0, 40, 70]);
    let dropped: Vec<_> = report.dropped.iter().map(|d| (d.ts_ms, d.reason)).collect();
    assert_eq!(
        dropped,
        [
            (50, DropReason::ForwardAnchorLost { at: all[2].start }),
            (60, DropReason::Damaged)
        ]
    );
}

#[test]
fn a_damaged_p_block_breaks_its_track_until_the_next_i_block() {
    let bytes = multitrack(22, 3000, MuxOptions::default());
    let all = blocks_of(&bytes);
    // Track 1's GOP is I B B P B B P B P: damage the first P of the third GOP.
    let i = find(&all, 1, BlockKind::Predictive, 3 * 2);
    let lost = &all[i];
    let mut damaged = bytes.clone();
    flip_opaque(&mut damaged, lost);
    let (got, report, _) = salvage_checked(&damaged, "P flip");

    // Expected: the two B-blocks before it (their forward anchor), every block of track 1
    // after it up to the next I-block; nothing of the other tracks.
    let next_key = (i + 1..all.len())
        .find(|&j| all[j].track == 1 && all[j].kind == BlockKind::Key)
        .unwrap();
    let mut expect_dropped = Vec::new();
    for (j, b) in all.iter().enumerate() {
        if b.track != 1 {
            continue;
        }
        let reason = if j == i {
            DropReason::Damaged
        } else if j < i && b.ts_ms + 80 >= lost.ts_ms && b.kind == BlockKind::Bidirectional {
            DropReason::ForwardAnchorLost { at: lost.start }
        } else if j > i && j < next_key {
            DropReason::AnchorLost { at: lost.start }
        } else {
            continue;
        };
        expect_dropped.push((b.start + 12, b.kind.letter(), reason));
    }
    let dropped: Vec<_> = report
        .dropped
        .iter()
        .map(|d| (d.offset, d.kind.letter(), d.reason))
        .collect();
    assert_eq!(dropped, expect_dropped);
    assert_eq!(
        dropped
            .iter()
            .filter(|d| matches!(d.2, DropReason::ForwardAnchorLost { .. }))
            .count(),
        2
    );
    let expect: Vec<Blk> = all
        .iter()
        .filter(|b| !expect_dropped.iter().any(|d| d.0 == b.start + 12))
        .cloned()
        .collect();
    assert_eq!(contents(&got), contents(&expect));
    let t1 = report.tracks[0];
    assert_eq!(
        (t1.damaged, t1.dropped),
        (1, expect_dropped.len() as u64 - 1)
    );
    assert_eq!((report.tracks[1].dropped, report.tracks[2].dropped), (0, 0));
}

#[test]
fn a_damaged_i_block_is_named_by_the_seek_table_even_if_its_header_says_b() {
    let bytes = multitrack(23, 3000, MuxOptions::default());
    let all = blocks_of(&bytes);
    let i = find(&all, 2, BlockKind::Key, 3);
    let lost = &all[i];
    let next_key = (i + 1..all.len())
        .find(|&j| all[j].track == 2 && all[j].kind == BlockKind::Key)
        .unwrap();
    // Once in its opaque bytes, once in the type bits of its flags (I -> B).
    for (what, at, mask) in [
        (
            "opaque",
            (lost.start as usize + lost.end as usize) / 2,
            0x01,
        ),
        ("type", lost.start as usize + 7, 0x20),
    ] {
        let mut damaged = bytes.clone();
        damaged[at] ^= mask;
        let (got, report, _) = salvage_checked(&damaged, what);
        let first = report.dropped[0];
        assert_eq!(
            (first.offset, first.kind, first.reason),
            (lost.start + 12, BlockKind::Key, DropReason::Damaged),
            "{what}"
        );
        let expect: Vec<Blk> = all
            .iter()
            .enumerate()
            .filter(|&(j, b)| !(b.track == 2 && j >= i && j < next_key))
            .map(|(_, b)| b.clone())
            .collect();
        assert_eq!(contents(&got), contents(&expect), "{what}");
        let after = all[i + 1..next_key].iter().filter(|b| b.track == 2).count();
        assert_eq!(report.tracks[1].dropped, after as u64, "{what}");
    }
}

#[test]
fn a_destroyed_track_list_is_rebuilt_from_the_seek_tables_or_the_blocks() {
    let bytes = multitrack(24, 2000, MuxOptions::default());
    let all = blocks_of(&bytes);
    let file = ContainerRef::parse(&bytes).unwrap();
    let trak = file.chunks().next().unwrap().unwrap();
    assert_eq!(trak.tag, Tag::TRAK);
    let mut damaged = bytes.clone();
    let p = trak.payload_offset() as usize;
    damaged[p..p + 10].copy_from_slice(b"##########");

    let (got, report, out) = salvage_checked(&damaged, "no TRAK");
    assert_eq!(report.track_list, TrackListSource::Reconstructed);
    assert_eq!(contents(&got), contents(&all));
    let d = Demuxer::open(&out).unwrap();
    let ids: Vec<u16> = d.tracks().iter().map(|t| t.track_id).collect();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(d.tracks()[0].name, "track 1");
    assert_eq!(d.tracks()[0].codec, "unknown");
    // The sidecars after it are still found.
    assert_eq!(report.sidecars, [Tag::META, Tag::NOTE]);
    assert_eq!(report.damaged.len(), 1);
    assert_eq!(report.damaged[0].tag, Tag::TRAK);

    // Without the seek tables too (cut before them): the blocks' ids, ascending.
    let cut = all.last().unwrap().end as usize;
    let (got, report, out) = salvage_checked(&damaged[..cut + 5], "no TRAK, no TSEK");
    assert_eq!(report.track_list, TrackListSource::Reconstructed);
    assert_eq!(contents(&got), contents(&decodable(&all)));
    let ids: Vec<u16> = Demuxer::open(&out)
        .unwrap()
        .tracks()
        .iter()
        .map(|t| t.track_id)
        .collect();
    assert_eq!(ids, [1, 2, 3]);
}

#[test]
fn garbage_between_chunks_is_skipped_and_judged_by_its_size() {
    let bytes = multitrack(25, 2000, MuxOptions::default());
    let all = blocks_of(&bytes);
    // Between two blocks in the middle of the file.
    let at = all[all.len() / 2].start as usize;
    for len in [7usize, 23, 24, 300] {
        let mut damaged = bytes[..at].to_vec();
        damaged.extend((0..len).map(|i| (i * 37 + 11) as u8));
        damaged.extend_from_slice(&bytes[at..]);
        let what = format!("{len} bytes of garbage");
        let (got, report, _) = salvage_checked(&damaged, &what);
        assert_eq!(report.unidentified.len(), 1, "{what}");
        assert_eq!(
            (report.unidentified[0].offset, report.unidentified[0].len),
            (at as u64, len as u64),
            "{what}"
        );
        if len < 24 {
            // Too short to have held a block: nothing else is lost.
            assert_eq!(contents(&got), contents(&all), "{what}");
            assert!(report.dropped.is_empty(), "{what}");
        } else {
            // It may have held any track's anchor: each track waits for its next I-block.
            for d in &report.dropped {
                assert!(
                    matches!(
                        d.reason,
                        DropReason::AnchorLost { at: a } | DropReason::ForwardAnchorLost { at: a }
                            if a == at as u64
                    ),
                    "{what}: {d:?}"
                );
            }
            let kept_after: Vec<_> = got.iter().filter(|b| b.start >= at as u64).collect();
            for t in [1, 2, 3] {
                let first = kept_after.iter().find(|b| b.track == t).unwrap();
                assert_eq!(first.kind, BlockKind::Key, "{what}: track {t}");
            }
            assert_eq!(
                got.len() + report.dropped.len(),
                all.len(),
                "{what}: every block kept or reported"
            );
        }
    }
}

#[test]
fn unknown_chunks_stay_in_place_and_odd_chunks_are_reported() {
    use BlockKind::{Bidirectional as B, Key as I, Predictive as P};
    let tracks = [spec(1), spec(2)];
    let b = |t, ts, k, s: &str| Piece::Block(t, ts, k, s.as_bytes().to_vec());
    let c = |tag: &[u8; 4], s: &str| Piece::Chunk(Tag(*tag), s.as_bytes().to_vec());
    let pieces = [
        c(b"META", "{}"),
        c(b"XHDR", "head extension"),
        c(b"META", "{\"again\": 1}"),
        b(1, 0, I, "k1"),
        b(2, 0, I, "k2"),
        c(b"XMID", "between blocks"),
        b(1, 10, B, "b1"),
        b(9, 15, I, "stray track"),
        c(b"NOTE", "among the blocks"),
        b(1, 20, P, "p1"),
        c(b"TRAK", "{\"tracks\": []}"),
        b(2, 20, P, "p2"),
        c(b"XEND", "after the blocks"),
    ];
    let mut bytes = build(&tracks, &pieces);
    // A CORE chunk that does not route, just before the XEND chunk.
    let xend = bytes.windows(4).position(|w| w == b"XEND").unwrap();
    let mut bad =
        Writer::new(Vec::new(), &FileHeader::default(), WriterOptions::default()).unwrap();
    bad.write_chunk(Tag::CORE, 0, b"H4TXshort").unwrap();
    let bad = bad.finish().unwrap();
    bytes.splice(xend..xend, bad[16..bad.len() - 4].iter().copied());

    let (got, report, out) = salvage_checked(&bytes, "odd chunks");
    let tags: Vec<String> = ContainerRef::parse(&out)
        .unwrap()
        .chunks()
        .map(|c| c.unwrap().tag.to_string())
        .collect();
    assert_eq!(
        tags,
        [
            "TRAK", "META", "XHDR", "CORE", "CORE", "XMID", "CORE", "CORE", "CORE", "XEND", "TSEK",
            "TSEK"
        ]
    );
    assert_eq!(
        got.iter().map(|b| b.opaque.clone()).collect::<Vec<_>>(),
        [&b"k1"[..], b"k2", b"b1", b"p1", b"p2"]
    );
    let kept: Vec<String> = report
        .kept_chunks
        .iter()
        .map(|c| c.tag.to_string())
        .collect();
    assert_eq!(kept, ["XHDR", "XMID", "XEND"]);
    let ignored: Vec<(String, &str)> = report
        .ignored
        .iter()
        .map(|i| (i.tag.to_string(), i.reason.code()))
        .collect();
    assert_eq!(
        ignored,
        [
            ("META".into(), "repeated_sidecar"),
            ("NOTE".into(), "stray_sidecar"),
            ("TRAK".into(), "extra_track_list"),
            ("CORE".into(), "unroutable"),
        ]
    );
    assert!(matches!(
        report.ignored[3].reason,
        IgnoreReason::Unroutable { .. }
    ));
    assert_eq!(report.dropped.len(), 1);
    assert_eq!(
        (report.dropped[0].track, report.dropped[0].reason),
        (9, DropReason::UnknownTrack)
    );
    assert_eq!(report.index_chunks, 2);

    // Damage to a chunk of a tag seen intact elsewhere is framed and costs no block.
    let xmid = bytes.windows(4).position(|w| w == b"XMID").unwrap();
    let mut twice = bytes.clone();
    let copy = twice[xmid..xmid + 12 + 14 + 4].to_vec();
    twice.splice(xmid..xmid, copy);
    twice[xmid + 15] ^= 1; // the first copy's payload
    let (got2, report2, _) = salvage_checked(&twice, "damaged XMID");
    assert_eq!(contents(&got2), contents(&got));
    assert_eq!(report2.damaged.len(), 1);
    assert_eq!(report2.damaged[0].tag, Tag(*b"XMID"));
    assert!(report2.unidentified.is_empty());
}

/// Random damage (byte runs overwritten) never makes salvage keep a block whose references
/// are gone: every kept block is an intact original block, its anchors since its I-block are
/// intact, and a kept B-block's forward anchor is intact.
#[test]
fn random_damage_never_keeps_an_undecodable_block() {
    let bytes = multitrack(31, 3000, MuxOptions::default());
    let all = blocks_of(&bytes);
    let mut rng = Rng(0x5eed_1234);
    let (mut kept_total, mut lost_total) = (0usize, 0usize);
    for round in 0..60 {
        let mut damaged = bytes.clone();
        let mut hit = vec![false; all.len()];
        for _ in 0..1 + rng.below(4) {
            let at = 16 + rng.below(bytes.len() as u32 - 20) as usize;
            let max = if rng.below(2) == 0 { 4 } else { 200 };
            let len = 1 + rng.below(max) as usize;
            let end = (at + len).min(bytes.len() - 4);
            for byte in &mut damaged[at..end] {
                *byte = rng.next() as u8;
            }
            for (k, b) in all.iter().enumerate() {
                if (at as u64) < b.end
                    && (end as u64) > b.start
                    && damaged[b.start as usize..b.end as usize]
                        != bytes[b.start as usize..b.end as usize]
                {
                    hit[k] = true;
                }
            }
        }
        let what = format!("round {round}");
        let (got, _report, _) = salvage_checked(&damaged, &what);
        // Map the kept blocks back onto the originals, in order.
        let mut next = 0;
        for g in &got {
            let k = (next..all.len())
                .find(|&k| all[k].content() == g.content())
                .unwrap_or_else(|| panic!("{what}: kept block not in the original: {g:?}"));
            assert!(!hit[k], "{what}: kept a damaged block");
            // Its anchors since its I-block are intact.
            let t = all[k].track;
            let key = (0..=k)
                .rev()
                .find(|&j| all[j].track == t && all[j].kind == BlockKind::Key)
                .unwrap_or_else(|| panic!("{what}: kept a block with no I-block before it"));
            for j in key..k {
                if all[j].track == t && all[j].kind.is_anchor() {
                    assert!(!hit[j], "{what}: kept block {k} needs lost anchor {j}");
                }
            }
            if all[k].kind == BlockKind::Bidirectional {
                let fwd = (k + 1..all.len())
                    .find(|&j| all[j].track == t && all[j].kind.is_anchor())
                    .unwrap_or_else(|| panic!("{what}: kept a trailing B-block"));
                assert!(
                    !hit[fwd],
                    "{what}: kept B-block {k} whose forward anchor is lost"
                );
            }
            next = k + 1;
        }
        kept_total += got.len();
        lost_total += all.len() - got.len();
    }
    println!("random damage: 60 rounds, {kept_total} blocks kept, {lost_total} not");
}

#[test]
fn a_report_lists_what_each_track_kept() {
    let bytes = multitrack(41, 1000, MuxOptions::default());
    let all = blocks_of(&bytes);
    let (_, report, _) = salvage_checked(&bytes, "intact");
    let mut per_track: BTreeMap<u16, (u64, u64)> = BTreeMap::new();
    for b in &all {
        let e = per_track.entry(b.track).or_default();
        e.0 += 1;
        e.1 += u64::from(b.kind == BlockKind::Key);
    }
    let got: BTreeMap<u16, (u64, u64)> = report
        .tracks
        .iter()
        .map(|t| (t.track_id, (t.kept, t.keyframes)))
        .collect();
    assert_eq!(got, per_track);
    assert_eq!(report.track_list, TrackListSource::Found { offset: 16 });
}

/// Damage that may hit every track costs O(1) per damaged range, not O(tracks): 20,000 tracks
/// and 20,000 garbage runs would be 4 x 10^8 track updates otherwise.
#[test]
fn many_tracks_and_many_damaged_ranges_cost_linear_time() {
    let tracks: Vec<TrackSpec> = (0..20_000u16).map(spec).collect();
    let mut pieces = vec![Piece::Block(0, 0, BlockKind::Key, b"k".to_vec())];
    for i in 0..20_000u32 {
        pieces.push(Piece::Chunk(Tag(*b"XPAD"), i.to_le_bytes().to_vec()));
    }
    pieces.push(Piece::Block(0, 1, BlockKind::Predictive, b"p".to_vec()));
    let clean = build(&tracks, &pieces);
    // 30 bytes of garbage after every XPAD chunk (20 bytes each).
    let mut bytes = Vec::with_capacity(clean.len() * 3);
    let file = ContainerRef::parse(&clean).unwrap();
    let mut at = 0;
    for c in file.chunks() {
        let c = c.unwrap();
        bytes.extend_from_slice(&clean[at..c.end_offset() as usize]);
        at = c.end_offset() as usize;
        if c.tag == Tag(*b"XPAD") {
            bytes.extend_from_slice(&[0xA5; 30]);
        }
    }
    bytes.extend_from_slice(&clean[at..]);
    let started = std::time::Instant::now();
    let (out, report) = salvage(&bytes, Vec::new()).unwrap();
    let elapsed = started.elapsed();
    // 20,000 skipped ranges, unidentified parts and kept chunks: 10,000 of each listed
    // (`Limits::max_problems`), the rest counted.
    assert_eq!(report.unidentified.len(), 10_000);
    assert_eq!(report.kept_chunks.len(), 10_000);
    assert_eq!(report.omitted.unidentified, 10_000);
    assert_eq!(report.omitted.kept_chunks, 10_000);
    assert_eq!(report.omitted.total(), 30_000);
    // The P-block after the garbage may have lost its reference: dropped.
    assert_eq!(
        report
            .dropped
            .iter()
            .map(|d| (d.ts_ms, d.reason.code()))
            .collect::<Vec<_>>(),
        [(1, "anchor_lost")]
    );
    assert!(Demuxer::open(&out).unwrap().verify().is_ok());
    println!("20,000 tracks, 20,000 damaged ranges: salvaged in {elapsed:?}");
    assert!(elapsed < std::time::Duration::from_secs(30), "{elapsed:?}");
}

/// A track with more keyframes than a TSEK holds: the rebuilt index has its XSEK and XLOC,
/// intact it comes back byte for byte, cut in half it still verifies.
#[test]
fn a_file_that_needs_an_extended_table_gets_one() {
    let mut m = Muxer::new(
        Vec::new(),
        vec![spec(5), spec(6)],
        &Sidecars::default(),
        MuxOptions::default(),
    )
    .unwrap();
    for i in 0..70_000u32 {
        m.push(5, i, BlockKind::Key, &[]).unwrap();
    }
    m.push(6, 3, BlockKind::Key, b"six").unwrap();
    let bytes = m.finish().unwrap().0;
    let (out, report) = salvage(&bytes, Vec::new()).unwrap();
    assert!(report.is_complete());
    assert_eq!(out, bytes);

    // About 67,000 of the 70,000 blocks (24 bytes each).
    let cut = &bytes[..24 * 67_000 + 7];
    let (out, report) = salvage(cut, Vec::new()).unwrap();
    let d = Demuxer::open(&out).unwrap();
    assert!(d.verify().is_ok());
    assert!(matches!(
        d.index_status(),
        h4mk_mt::IndexStatus::Located { .. }
    ));
    assert_eq!(d.seek_table(5).unwrap().len() as u64, report.tracks[0].kept);
    assert!(report.tracks[0].kept > 65_535);
}

/// With no entry listed, `recovered` and `is_complete` still answer from what the lists left
/// out: a chunk kept (of an unknown tag, in a damaged file with no track list) is something
/// recovered, and a chunk left out (a second track list) makes an intact file incomplete.
#[test]
fn a_report_listing_nothing_still_says_what_was_kept_and_left_out() {
    let listing_none = h4mk_mt::SalvageOptions {
        max_listed: 0,
        ..Default::default()
    };
    let mut w = Writer::new(Vec::new(), &FileHeader::default(), WriterOptions::default()).unwrap();
    w.write_chunk(Tag(*b"ZZZZ"), 0, b"kept").unwrap();
    let mut damaged = w.finish().unwrap();
    damaged.extend_from_slice(&[0xA5; 40]);
    let (_, report) = h4mk_mt::salvage_with(&damaged, Vec::new(), listing_none).unwrap();
    assert!(!report.intact && report.kept_chunks.is_empty());
    assert_eq!(report.omitted.kept_chunks, 1);
    assert!(report.recovered(), "{report:?}");

    let trak = encode_track_list(&[spec(1)]).unwrap();
    let mut w = Writer::new(Vec::new(), &FileHeader::default(), WriterOptions::default()).unwrap();
    w.write_chunk(Tag::TRAK, 0, &trak).unwrap();
    w.write_chunk(Tag::TRAK, 0, &trak).unwrap();
    let twice = w.finish().unwrap();
    let (_, report) = h4mk_mt::salvage_with(&twice, Vec::new(), listing_none).unwrap();
    assert!(report.intact && report.ignored.is_empty());
    assert_eq!(report.omitted.ignored, 1);
    assert!(!report.is_complete(), "{report:?}");
}

/// The report's lists hold at most `max_listed` entries each, and count the rest: a file of a
/// million damaged blocks made a report of a million entries (481 MB held, a 134 MB text
/// report, an adversarial review). The totals and the file written do not depend on the cap.
#[test]
fn a_report_lists_at_most_the_limit_and_counts_the_rest() {
    let mut w = Writer::new(Vec::new(), &FileHeader::default(), WriterOptions::default()).unwrap();
    w.write_chunk(Tag::TRAK, 0, &encode_track_list(&[spec(1)]).unwrap())
        .unwrap();
    for ts_ms in 0..50 {
        let flags = GopFlags::new(ts_ms, BlockKind::Key).unwrap().to_bits();
        w.write_chunk_parts(Tag::CORE, flags, &[&route_header(1), b"key"])
            .unwrap();
    }
    let mut bytes = w.finish().unwrap();
    // Every block's last CRC byte flipped, the file CRC left as it was.
    let offsets: Vec<u64> = blocks_of(&bytes).iter().map(|b| b.end).collect();
    for end in offsets {
        bytes[end as usize - 1] ^= 1;
    }
    let salvaged = |max_listed| {
        let opts = h4mk_mt::SalvageOptions {
            max_listed,
            ..Default::default()
        };
        h4mk_mt::salvage_with(&bytes, Vec::new(), opts).unwrap()
    };
    let (all_bytes, all) = salvaged(u64::MAX);
    assert_eq!(all.blocks_lost, 50);
    assert_eq!(all.dropped.len(), 50);
    assert_eq!(all.damaged.len(), 50);
    assert_eq!(all.omitted, h4mk_mt::Omitted::default());
    let (capped_bytes, capped) = salvaged(10);
    assert_eq!((capped.dropped.len(), capped.omitted.dropped), (10, 40));
    assert_eq!((capped.damaged.len(), capped.omitted.damaged), (10, 40));
    assert_eq!(
        capped.skipped.len() as u64 + capped.omitted.skipped,
        all.skipped.len() as u64
    );
    // Listing none, the report still says what was lost, and the file is the same.
    let (none_bytes, none) = salvaged(0);
    assert!(none.dropped.is_empty() && none.damaged.is_empty());
    let listed = |r: &SalvageReport| {
        let lists = [r.kept_chunks.len(), r.skipped.len(), r.damaged.len()];
        let more = [r.unidentified.len(), r.dropped.len(), r.ignored.len()];
        lists.iter().chain(&more).sum::<usize>() as u64
    };
    assert_eq!(none.omitted.total(), listed(&all));
    assert!(none.recovered() && !none.is_complete());
    assert!(none_bytes == all_bytes);
    for r in [&all, &capped, &none] {
        let skipped: u64 = all.skipped.iter().map(|s| s.len).sum();
        assert_eq!(r.skipped_bytes, skipped);
        assert_eq!((r.blocks_lost, r.blocks_dropped), (50, 0));
        assert_eq!(r.tracks, all.tracks);
    }
    assert!(capped_bytes == all_bytes);
}
