//! `Demuxer::verify`: one walk that hashes every chunk and checks the structure, naming every
//! problem by the chunk it is about; and files without a track list.

use h4mk_format::{ContainerRef, FileHeader, ParseOptions, Tag, Writer, WriterOptions};
use h4mk_gop::{BlockKind, GopFlags, SeekEntry, SeekTableBuf};
use h4mk_mt::{
    Demuxer, Error, IndexStatus, MuxOptions, Problem, Report, encode_track_list, route_header,
};

use crate::reference_fixtures::fixtures_dir;
use crate::support::{Input, mux, spec};

use BlockKind::{Bidirectional as B, Key as I, Predictive as P};

/// One chunk of a hand-built file.
enum Chunk<'a> {
    /// A TRAK listing these track ids.
    Tracks(&'a [u16]),
    /// A CORE block: track, pts, type.
    Block(u16, u32, BlockKind),
    /// A CORE chunk with raw flags and payload.
    RawCore(u32, &'a [u8]),
    /// A TSEK of a track, its entries as (pts, index of the item that is the block).
    Seek(u16, &'a [(u32, usize)]),
    /// Any other chunk.
    Other(Tag, &'a [u8]),
}

/// The file, and the chunk offset of each item.
fn build(chunks: &[Chunk<'_>]) -> (Vec<u8>, Vec<u64>) {
    let mut w = Writer::new(Vec::new(), &FileHeader::default(), WriterOptions::default()).unwrap();
    let mut at = Vec::new();
    for c in chunks {
        let offset = match *c {
            Chunk::Tracks(ids) => {
                let tracks: Vec<_> = ids.iter().map(|&id| spec(id)).collect();
                w.write_chunk(Tag::TRAK, 0, &encode_track_list(&tracks).unwrap())
            }
            Chunk::Block(track, pts, kind) => {
                let flags = GopFlags::new(pts, kind).unwrap().to_bits();
                w.write_chunk_parts(Tag::CORE, flags, &[&route_header(track), b"x"])
            }
            Chunk::RawCore(flags, payload) => w.write_chunk(Tag::CORE, flags, payload),
            Chunk::Seek(track, entries) => {
                let table = SeekTableBuf {
                    track_id: track,
                    entries: entries
                        .iter()
                        .map(|&(ts_ms, i)| SeekEntry {
                            ts_ms,
                            offset: at[i] + 12,
                        })
                        .collect(),
                };
                w.write_chunk(Tag::TSEK, 0, &table.to_bytes().unwrap())
            }
            Chunk::Other(tag, payload) => w.write_chunk(tag, 0, payload),
        };
        at.push(offset.unwrap());
    }
    (w.finish().unwrap(), at)
}

/// Every problem of `report` as (offset, message), after checking what every problem must
/// be: about one place, on one line, naming that offset and a chunk tag.
#[track_caller]
fn problems(report: &Report) -> Vec<(u64, String)> {
    report
        .problems
        .iter()
        .map(|p| {
            let offset = p.offset().unwrap_or_else(|| panic!("no offset: {p}"));
            let message = p.to_string();
            assert!(!message.contains('\n'), "{message}");
            assert!(message.contains(&format!("offset {offset}")), "{message}");
            assert!(
                ["TRAK", "CORE", "TSEK", "XSEK", "XLOC", "META", "NOTE"]
                    .iter()
                    .any(|tag| message.contains(tag)),
                "{message}"
            );
            (offset, message)
        })
        .collect()
}

#[test]
fn core_chunks_that_do_not_route_are_reported() {
    let (bytes, at) = build(&[
        Chunk::Tracks(&[1]),
        Chunk::Block(1, 0, I),
        Chunk::RawCore(0, b"H4TX\x01\x00\x00\x00"),
        Chunk::RawCore(0, b"H4TB\x01"),
        Chunk::Block(1, 10, P),
        Chunk::Seek(1, &[(0, 1)]),
    ]);
    let d = Demuxer::open(&bytes).unwrap();
    assert_eq!(d.index_status(), &IndexStatus::Trailing);
    let report = d.verify();
    assert!(report.container.is_ok());
    assert!(!report.is_ok());
    assert!(report.problems.iter().all(|p| matches!(
        p,
        Problem::BadBlock(Error::RoutingMagic { .. } | Error::RoutingTruncated { .. })
    )));
    assert_eq!(
        problems(&report),
        [
            (
                at[2],
                format!(
                    "CORE chunk at offset {}: routing magic is `H4TX`, not `H4TB`",
                    at[2]
                )
            ),
            (
                at[3],
                format!(
                    "CORE chunk at offset {}: payload of 5 bytes is shorter than the 8-byte routing header",
                    at[3]
                )
            ),
        ]
    );
}

#[test]
fn blocks_with_reserved_flags_are_reported() {
    let (bytes, at) = build(&[
        Chunk::Tracks(&[1]),
        Chunk::Block(1, 0, I),
        Chunk::RawCore(0x3000_000a, &route_header(1)),
        Chunk::RawCore(0x4000_0014, &route_header(1)),
        Chunk::Seek(1, &[(0, 1)]),
    ]);
    let report = Demuxer::open(&bytes).unwrap().verify();
    assert_eq!(
        problems(&report),
        [
            (
                at[2],
                format!(
                    "CORE chunk at offset {}: bad gop flags: gop flags 0x3000000a: block type 3 (bits 28..29) is reserved",
                    at[2]
                )
            ),
            (
                at[3],
                format!(
                    "CORE chunk at offset {}: bad gop flags: gop flags 0x40000014: reserved bits 30..31 are not 0",
                    at[3]
                )
            ),
        ]
    );
}

#[test]
fn gop_order_and_track_problems_name_their_chunk() {
    let (bytes, at) = build(&[
        Chunk::Tracks(&[1, 2]),
        Chunk::Block(2, 0, I),
        Chunk::Block(1, 0, P),
        Chunk::Block(1, 20, I),
        Chunk::Block(1, 10, B),
        Chunk::Block(9, 30, I),
        Chunk::Seek(1, &[(20, 3)]),
        Chunk::Seek(2, &[(0, 1)]),
    ]);
    let d = Demuxer::open(&bytes).unwrap();
    assert_eq!(d.index_status(), &IndexStatus::Trailing);
    let report = d.verify();
    assert!(report.container.is_ok());
    let (p1, b1, u9) = (at[2], at[4], at[5]);
    assert_eq!(
        problems(&report),
        [
            (
                p1,
                format!(
                    "CORE chunk at offset {p1}: block of track 1 at 0 ms after one of track 2 at 0 ms, out of (pts, track id) order"
                )
            ),
            (
                p1,
                format!(
                    "CORE chunk at offset {p1}: track 1: the first block (pts 0 ms) is a P-block, a track must start with an I-block"
                )
            ),
            (
                b1,
                format!(
                    "CORE chunk at offset {b1}: block of track 1 at 10 ms after one of track 1 at 20 ms, out of (pts, track id) order"
                )
            ),
            (
                b1,
                format!(
                    "CORE chunk at offset {b1}: track 1: pts 10 ms goes back from the previous block's 20 ms"
                )
            ),
            (
                b1,
                format!(
                    "CORE chunk at offset {b1}: track 1 ends on this B-block (pts 10 ms), which has no forward anchor"
                )
            ),
            (
                u9,
                format!("CORE chunk at offset {u9}: block for undeclared track 9 (pts 30 ms)")
            ),
        ]
    );
    assert!(matches!(
        report.problems[1],
        Problem::FirstBlockNotKey {
            track: 1,
            ts_ms: 0,
            kind: P,
            ..
        }
    ));
}

#[test]
fn a_seek_table_that_misses_a_keyframe_names_its_chunk() {
    let (bytes, at) = build(&[
        Chunk::Tracks(&[1]),
        Chunk::Block(1, 0, I),
        Chunk::Block(1, 10, I),
        Chunk::Seek(1, &[(0, 1)]),
    ]);
    let report = Demuxer::open(&bytes).unwrap().verify();
    let (tsek, key) = (at[3], at[2] + 12);
    assert_eq!(
        problems(&report),
        [(
            tsek,
            format!(
                "TSEK chunk at offset {tsek}: the stored seek table of track 1 does not match its blocks: the table ends before entry 1, the keyframe at 10 ms at payload offset {key}"
            )
        )]
    );
}

#[test]
fn problems_past_the_cap_are_counted_not_kept() {
    // No track list: every block is a problem.
    let blocks: Vec<Chunk<'_>> = (0..10).map(|i| Chunk::Block(1, i * 10, I)).collect();
    let (bytes, at) = build(&blocks);
    let opts = |max_problems| ParseOptions {
        limits: h4mk_format::Limits {
            max_problems,
            ..h4mk_format::Limits::default()
        },
        ..ParseOptions::default()
    };
    let capped = Demuxer::open_with(&bytes, &opts(3)).unwrap().verify();
    let kept: Vec<u64> = problems(&capped).into_iter().map(|(o, _)| o).collect();
    // The first ones in file order are kept.
    assert_eq!(kept, at[..3]);
    assert_eq!(capped.omitted_problems, 7);
    assert!(!capped.is_ok());
    let all = Demuxer::open_with(&bytes, &opts(10)).unwrap().verify();
    assert_eq!((all.problems.len(), all.omitted_problems), (10, 0));

    // `open` keeps its own problems under the same cap, and verify counts what it left out.
    let mut head: Vec<Chunk<'_>> = (0..5).map(|_| Chunk::Other(Tag::NOTE, b"n")).collect();
    head.push(Chunk::Tracks(&[1]));
    head.push(Chunk::Block(1, 0, I));
    head.push(Chunk::Seek(1, &[(0, 6)]));
    let (bytes, at) = build(&head);
    let d = Demuxer::open_with(&bytes, &opts(2)).unwrap();
    let repeated: Vec<Option<u64>> = d.problems().iter().map(Problem::offset).collect();
    assert_eq!(repeated, [Some(at[1]), Some(at[2])]);
    assert_eq!(d.omitted_problems(), 2);
    let report = d.verify();
    assert_eq!((report.problems.len(), report.omitted_problems), (2, 2));
}

#[test]
fn crc_errors_past_the_cap_are_counted_not_kept() {
    let blocks: Vec<Chunk<'_>> = std::iter::once(Chunk::Tracks(&[1]))
        .chain((0..10).map(|i| Chunk::Block(1, i * 10, I)))
        .collect();
    let (mut bytes, at) = build(&blocks);
    // Damage each block's last opaque byte (its CRC follows): ten CRC errors.
    for w in at[1..]
        .windows(2)
        .map(|w| w[1])
        .chain([bytes.len() as u64 - 4])
    {
        bytes[usize::try_from(w).unwrap() - 5] ^= 1;
    }
    let opts = ParseOptions {
        check_crc: false,
        limits: h4mk_format::Limits {
            max_problems: 3,
            ..h4mk_format::Limits::default()
        },
        ..ParseOptions::lenient()
    };
    let report = Demuxer::open_with(&bytes, &opts).unwrap().verify();
    let crc: Vec<Option<u64>> = report.container.errors.iter().map(|e| e.offset()).collect();
    assert_eq!(crc, [Some(at[1]), Some(at[2]), Some(at[3])]);
    // Seven more blocks and the file CRC.
    assert_eq!(report.container.omitted_errors, 8);
    assert!(!report.is_ok());
}

#[test]
fn damage_met_rebuilding_the_index_is_counted_past_the_cap() {
    // No seek table: a lenient open rebuilds the index and reads past six unroutable blocks.
    let mut chunks = vec![Chunk::Tracks(&[1]), Chunk::Block(1, 0, I)];
    chunks.extend((0..6).map(|_| Chunk::RawCore(0, b"not a routed block")));
    let (bytes, at) = build(&chunks);
    let opts = ParseOptions {
        limits: h4mk_format::Limits {
            max_problems: 2,
            ..h4mk_format::Limits::default()
        },
        ..ParseOptions::lenient()
    };
    let d = Demuxer::open_with(&bytes, &opts).unwrap();
    assert!(matches!(d.index_status(), IndexStatus::Rebuilt { .. }));
    let kept: Vec<Option<u64>> = d.problems().iter().map(Problem::offset).collect();
    assert_eq!(kept, [Some(at[2]), Some(at[3])]);
    assert_eq!(d.omitted_problems(), 4);
}

#[test]
fn a_seek_table_of_an_unlisted_track_is_reported() {
    let (bytes, at) = build(&[
        Chunk::Tracks(&[1]),
        Chunk::Block(1, 0, I),
        Chunk::Seek(7, &[(0, 1)]),
        Chunk::Seek(1, &[(0, 1)]),
    ]);
    let d = Demuxer::open(&bytes).unwrap();
    // Readers ignore it: the listed track's table is found from the end and used.
    assert_eq!(d.index_status(), &IndexStatus::Trailing);
    assert_eq!(d.chain(1, 0).unwrap().len(), 1);
    let tsek = at[2];
    assert_eq!(
        problems(&d.verify()),
        [(
            tsek,
            format!(
                "TSEK chunk at offset {tsek}: a seek table for track 7, which is not in the track list (ignored)"
            )
        )]
    );
}

#[test]
fn a_file_without_a_track_list_has_no_tracks() {
    // The format-level fixtures have no TRAK and no block: sound, empty multi-track files.
    let valid = fixtures_dir().join("valid");
    let mut seen = 0;
    for entry in std::fs::read_dir(&valid).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "h4mk") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let d = Demuxer::open(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(d.tracks().is_empty());
        assert_eq!(d.track_list_offset(), None);
        let report = d.verify();
        assert!(report.is_ok(), "{}: {report:?}", path.display());
        seen += 1;
    }
    assert!(seen >= 3);

    // With blocks, each is a block of an undeclared track; the file still opens.
    let (bytes, at) = build(&[
        Chunk::Other(Tag::META, b"{}"),
        Chunk::Block(1, 0, I),
        Chunk::Block(1, 10, P),
    ]);
    let d = Demuxer::open(&bytes).unwrap();
    assert!(d.tracks().is_empty());
    assert_eq!(d.sidecars().meta, Some(&b"{}"[..]));
    assert_eq!(d.blocks().count(), 2);
    assert!(matches!(
        d.chain(1, 0),
        Err(Error::UnknownTrack { track: 1 })
    ));
    let report = d.verify();
    assert!(report.container.is_ok());
    assert_eq!(
        problems(&report),
        [
            (
                at[1],
                format!(
                    "CORE chunk at offset {}: block for undeclared track 1 (pts 0 ms)",
                    at[1]
                )
            ),
            (
                at[2],
                format!(
                    "CORE chunk at offset {}: block for undeclared track 1 (pts 10 ms)",
                    at[2]
                )
            ),
        ]
    );
}

#[test]
fn a_track_list_or_sidecar_after_the_blocks_is_reported_and_ignored() {
    // Readers take the track list from before the first block only (docs/FORMAT.md §2.1).
    let (bytes, at) = build(&[
        Chunk::Block(1, 0, I),
        Chunk::Tracks(&[1]),
        Chunk::Other(Tag::NOTE, b"late"),
    ]);
    let d = Demuxer::open(&bytes).unwrap();
    assert!(d.tracks().is_empty());
    assert_eq!(d.sidecars().note, None);
    let report = d.verify();
    assert_eq!(
        problems(&report),
        [
            (
                at[0],
                format!(
                    "CORE chunk at offset {}: block for undeclared track 1 (pts 0 ms)",
                    at[0]
                )
            ),
            (
                at[1],
                format!(
                    "TRAK chunk at offset {}: after the first block or seek table, where it is not read; ignored",
                    at[1]
                )
            ),
            (
                at[2],
                format!(
                    "NOTE chunk at offset {}: after the first block or seek table, where it is not read; ignored",
                    at[2]
                )
            ),
        ]
    );

    // A second TRAK after the blocks of a file that has one is reported the same way.
    let (bytes, at) = build(&[
        Chunk::Tracks(&[1]),
        Chunk::Block(1, 0, I),
        Chunk::Tracks(&[1, 2]),
        Chunk::Seek(1, &[(0, 1)]),
    ]);
    let d = Demuxer::open(&bytes).unwrap();
    assert_eq!(d.track_list_offset(), Some(at[0]));
    assert_eq!(d.tracks().len(), 1);
    let report = d.verify();
    assert!(matches!(
        report.problems[..],
        [Problem::LateChunk { tag: Tag::TRAK, offset }] if offset == at[2]
    ));
}

fn inputs() -> Vec<Input> {
    (0..30u32)
        .flat_map(|i| {
            [1u16, 2].map(|track| Input {
                track,
                ts_ms: i * 10,
                kind: if i % 5 == 0 { I } else { P },
                opaque: vec![track as u8; (i as usize * 37) % 300],
            })
        })
        .collect()
}

#[test]
fn verify_walks_once_with_progress_up_to_the_footer() {
    let bytes = mux(&[spec(1), spec(2)], &inputs(), MuxOptions::default());
    let footer = bytes.len() as u64 - 4;
    // Opened with CRCs off, `open` hashes nothing; `verify` hashes every chunk once.
    let unchecked = ParseOptions {
        check_crc: false,
        ..ParseOptions::default()
    };
    let d = Demuxer::open_with(&bytes, &unchecked).unwrap();
    let mut seen = Vec::new();
    let report = d.verify_with_progress(&mut |offset| seen.push(offset));
    assert!(report.is_ok(), "{report:?}");
    let chunks = 1 + inputs().len() + 2;
    assert_eq!(report.container.intact_chunks, chunks as u64);
    // One call per chunk and one at the footer, never going back, ending at the footer.
    assert_eq!(seen.len(), chunks + 1);
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert!(seen[0] > 16);
    assert_eq!(seen.last(), Some(&footer));
    // The CRC pass gives what the format layer's own pass gives.
    let plain = ContainerRef::parse(&bytes).unwrap().verify();
    assert_eq!(report.container.computed_file_crc, plain.computed_file_crc);
    assert_eq!(
        report.container.computed_file_crc,
        Some(plain.stored_file_crc)
    );

    // A damaged block: both CRCs fail, the walk still reaches the footer, and the chunk is
    // still checked as read.
    let mut damaged = bytes.clone();
    let victim = d.blocks().nth(7).unwrap().unwrap();
    let chunk = victim.chunk_offset();
    damaged[usize::try_from(chunk).unwrap() + 7] |= 0x30; // the block type: reserved
    let d = Demuxer::open_with(&damaged, &unchecked).unwrap();
    let mut last = 0;
    let report = d.verify_with_progress(&mut |offset| {
        assert!(offset >= last);
        last = offset;
    });
    assert_eq!(last, footer);
    let plain = ContainerRef::parse(&damaged).unwrap().verify();
    let errors = |v: &h4mk_format::Verification| {
        v.errors.iter().map(ToString::to_string).collect::<Vec<_>>()
    };
    assert_eq!(errors(&report.container), errors(&plain));
    assert_eq!(report.container.errors.len(), 2);
    assert_eq!(report.container.errors[0].offset(), Some(chunk));
    assert_eq!(report.container.intact_chunks, chunks as u64 - 1);
    assert!(matches!(
        report.problems[..],
        [Problem::BadBlock(Error::BlockFlags { offset, .. })] if offset == chunk
    ));
    // `verify` is the same walk without progress.
    assert_eq!(format!("{:?}", d.verify()), format!("{report:?}"));
}

#[test]
fn a_locator_that_does_not_describe_the_file_is_reported() {
    let inputs: Vec<Input> = [(0, I), (10, P), (20, I)]
        .into_iter()
        .map(|(ts_ms, kind)| Input {
            track: 1,
            ts_ms,
            kind,
            opaque: vec![7; 9],
        })
        .collect();
    let opts = MuxOptions {
        index_locator: true,
        ..MuxOptions::default()
    };
    let good = mux(&[spec(1)], &inputs, opts);
    assert!(Demuxer::open(&good).unwrap().verify().is_ok());
    // The XLOC chunk is the last one: 12 bytes of header, 40 of payload, 4 of CRC.
    let xloc = good.len() - 4 - 56;
    // Payload fields: index offset at 8, first block at 16, blocks at 24, tables at 32.
    for (field, value, what) in [
        (24, 99u64, "its block count is 99, the file's is 3"),
        (16, 0, "its first block offset is 0, the file's is "),
        (32, 2, "its TSEK count is 2, the file's is 1"),
    ] {
        let mut bytes = good.clone();
        let at = xloc + 12 + field;
        if field == 32 {
            bytes[at..at + 4].copy_from_slice(&(value as u32).to_le_bytes());
        } else {
            bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
        }
        crate::support::fix_crcs(&mut bytes, xloc);
        // Readers check the locator and fall back to the search from the end: the file reads.
        let d = Demuxer::open(&bytes).unwrap();
        assert_eq!(d.blocks().count(), 3);
        let report = d.verify();
        let found: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        assert!(
            matches!(report.problems[..], [Problem::BadLocator { offset, .. }] if offset == xloc as u64),
            "{found:?}"
        );
        assert!(
            found[0].starts_with(&format!("XLOC chunk at offset {xloc}: {what}")),
            "{found:?}"
        );
    }
}
