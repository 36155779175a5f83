//! Finding the index: from the locator, from the end, and a full rebuild when it is missing or
//! does not match the blocks (with the reason reported).

use h4mk_format::crc::crc32;
use h4mk_format::{HEADER_LEN, Mode, ParseOptions};
use h4mk_gop::{BlockKind, SeekEntry};
use h4mk_mt::{Demuxer, Error, IndexProblem, IndexStatus, MuxOptions, Problem};

use crate::support::{
    Input, fix_crcs, fix_file_crc, key, mux, offsets, reference_mux, spec, with_a_sparse_track,
};

fn inputs() -> Vec<Input> {
    let kinds = [
        BlockKind::Key,
        BlockKind::Predictive,
        BlockKind::Bidirectional,
        BlockKind::Predictive,
    ];
    (0..40u32)
        .flat_map(|i| {
            [1u16, 2].map(|t| Input {
                track: t,
                ts_ms: i * 20 + u32::from(t),
                kind: kinds[(i % 4) as usize],
                opaque: format!("t{t} block {i}").into_bytes(),
            })
        })
        .collect()
}

fn tracks() -> Vec<h4mk_mt::TrackSpec> {
    vec![spec(1), spec(2)]
}

/// Every chain and range of both tracks, rendered, as a fingerprint of what a file answers.
fn answers(d: &Demuxer<'_>) -> Vec<String> {
    [1, 2]
        .into_iter()
        .flat_map(|t| track_answers(d, t))
        .collect()
}

/// Every chain and range of `track`, rendered.
fn track_answers(d: &Demuxer<'_>, track: u16) -> Vec<String> {
    let mut out = Vec::new();
    {
        for t in (0..900).step_by(7) {
            let render = |r: Result<Vec<h4mk_mt::DecodeStep<'_>>, Error>| match r {
                Ok(steps) => steps
                    .iter()
                    .map(|s| format!("{}{} ", s.kind.letter(), s.block.offset))
                    .collect(),
                Err(e) => e.to_string(),
            };
            out.push(render(d.chain(track, t)));
            out.push(render(d.range(track, t, t + 50)));
        }
    }
    out
}

#[test]
fn a_file_without_tables_is_rebuilt_and_answers_the_same() {
    let good = reference_mux(&tracks(), &inputs(), true);
    let bare = reference_mux(&tracks(), &inputs(), false);
    let full = Demuxer::open(&good).unwrap();
    assert_eq!(full.index_status(), &IndexStatus::Trailing);
    let rebuilt = Demuxer::open(&bare).unwrap();
    assert_eq!(
        rebuilt.index_status(),
        &IndexStatus::Rebuilt {
            reason: IndexProblem::NotFound {
                track: 2,
                end: bare.len() as u64 - 4
            }
        }
    );
    assert_eq!(
        rebuilt.index_status().to_string(),
        format!(
            "rebuilt by a full scan: no TSEK seek table of track 2 ends at offset {}",
            bare.len() - 4
        )
    );
    assert_eq!(full.index().tracks(), rebuilt.index().tracks());
    assert_eq!(answers(&full), answers(&rebuilt));
    // Verify names the reason, and where the missing table should end.
    let report = rebuilt.verify();
    assert!(report.container.is_ok());
    let [problem] = &report.problems[..] else {
        panic!("{:?}", report.problems);
    };
    assert!(matches!(
        problem,
        Problem::IndexRebuilt {
            reason: IndexProblem::NotFound { track: 2, .. }
        }
    ));
    assert_eq!(problem.offset(), Some(bare.len() as u64 - 4));
    assert_eq!(
        problem.to_string(),
        format!(
            "the stored index could not be used: no TSEK seek table of track 2 ends at offset {}",
            bare.len() - 4
        )
    );
}

/// A chunk of an unknown tag after the seek tables: the reference reads past it, and so do
/// we, but nothing finds the tables from the end, so opening rebuilds the index. `verify` used
/// to fail such a file ("the stored index could not be used"); it now checks the tables its
/// walk saw, and still catches a wrong entry in them.
#[test]
fn tables_followed_by_an_unknown_chunk_are_checked_where_they_are() {
    let good = reference_mux(&tracks(), &inputs(), true);
    let footer = good.len() - 4;
    let mut extra = b"ABCD\0\0\0\0\x05\0\0\0hello".to_vec();
    extra.extend_from_slice(&crc32(&extra).to_le_bytes());
    let mut bytes = [&good[..footer], &extra, &[0; 4]].concat();
    fix_file_crc(&mut bytes);
    let d = Demuxer::open(&bytes).unwrap();
    assert!(matches!(d.index_status(), IndexStatus::Rebuilt { .. }));
    assert_eq!(answers(&d), answers(&Demuxer::open(&good).unwrap()));
    let report = d.verify();
    assert!(report.is_ok(), "{:?}", report.problems);

    // Track 1's table is the first chunk after the blocks; its first entry's pts, 1 ms, made
    // 2 ms (CRCs fixed): a mismatch only the walk's tables can show.
    let tsek = d.index().end_offset as usize;
    let first_entry = tsek + 12 + 16;
    bytes[first_entry] ^= 3;
    fix_crcs(&mut bytes, tsek);
    let report = Demuxer::open(&bytes).unwrap().verify();
    let [problem] = &report.problems[..] else {
        panic!("{:?}", report.problems);
    };
    assert!(
        matches!(
            problem,
            Problem::IndexMismatch {
                track: 1,
                entry: 0,
                ..
            }
        ),
        "{problem}"
    );

    // Right tables laid out otherwise than the reference writes them (one per track, in
    // track-list order, after every block) are still an index a reader could not use.
    let chunk_len =
        |at: usize| 16 + u32::from_le_bytes(good[at + 8..at + 12].try_into().unwrap()) as usize;
    let first = tsek;
    let second = first + chunk_len(first);
    let (t1, t2) = (&good[first..second], &good[second..footer]);
    let mut cases: Vec<(&str, Vec<u8>)> = [
        ("reversed", [t2, t1].concat()),
        ("repeated", [t1, t2, t1].concat()),
    ]
    .map(|(what, tables)| (what, [&good[..first], &tables, &[0; 4]].concat()))
    .to_vec();

    // The same chunk before a locator: readers cannot use the locator (the tables do not end
    // where it starts), and the reference writes none, so verify says so.
    let located = mux(
        &tracks(),
        &inputs(),
        MuxOptions {
            index_locator: true,
            ..MuxOptions::default()
        },
    );
    let xloc = located.len() - 4 - 56;
    cases.push((
        "before a locator",
        [&located[..xloc], &extra, &located[xloc..]].concat(),
    ));
    for (what, mut bytes) in cases {
        fix_file_crc(&mut bytes);
        let d = Demuxer::open(&bytes).unwrap();
        if what == "before a locator" {
            assert!(matches!(d.index_status(), IndexStatus::Rebuilt { .. }));
        }
        let report = d.verify();
        assert!(
            report
                .problems
                .iter()
                .any(|p| matches!(p, Problem::IndexRebuilt { .. })),
            "{what}: {:?}",
            report.problems
        );
    }
}

#[test]
fn an_entry_that_does_not_point_at_its_keyframe_forces_a_rebuild() {
    let mut bytes = mux(&tracks(), &inputs(), MuxOptions::default());
    let d = Demuxer::open(&bytes).unwrap();
    let reference = answers(&d);
    let first_p = d
        .blocks()
        .map(Result::unwrap)
        .find(|b| b.kind == BlockKind::Predictive)
        .unwrap()
        .offset;
    let table = d.index().end_offset as usize; // TSEK of track 1
    drop(d);
    // Point track 1's second entry at a P-block, as a careless editor might.
    let entry = table + 12 + 16 + 8;
    let ts = u32::from_le_bytes(bytes[entry..entry + 4].try_into().unwrap());
    let key = u64::from(u32::from_le_bytes(
        bytes[entry + 4..entry + 8].try_into().unwrap(),
    ));
    bytes[entry + 4..entry + 8].copy_from_slice(&u32::try_from(first_p).unwrap().to_le_bytes());
    fix_crcs(&mut bytes, table);
    // Depending on where the P-block is, the table is now also out of offset order, which open
    // sees; if not, open trusts the entry (it reads no block), and the first plan that uses it
    // finds the P-block, or the first that walks past the keyframe the table no longer lists
    // finds that; it rebuilds the index by one scan and says so. Either way the answers are
    // those of the intact file.
    let d = Demuxer::open(&bytes).unwrap();
    assert_eq!(answers(&d), reference);
    match d.index_status() {
        IndexStatus::Rebuilt {
            reason:
                IndexProblem::EntryMismatch {
                    track: 1,
                    ts_ms,
                    offset,
                },
        } => {
            assert_eq!((*ts_ms, *offset), (ts, first_p));
        }
        IndexStatus::Rebuilt {
            reason:
                IndexProblem::Unlisted {
                    track: 1,
                    ts_ms,
                    offset,
                },
        } => {
            assert_eq!((*ts_ms, *offset), (ts, key));
        }
        IndexStatus::Rebuilt {
            reason: IndexProblem::BadTable { .. },
        } => {}
        other => panic!("unexpected status {other:?}"),
    }
}

#[test]
fn a_locator_that_lies_falls_back_to_the_trailing_tables() {
    let mut bytes = mux(
        &tracks(),
        &inputs(),
        MuxOptions {
            index_locator: true,
            ..MuxOptions::default()
        },
    );
    let loc = bytes.len() - 4 - 56;
    // Point the locator one byte past the first table.
    let at = loc + 12 + 8;
    let off = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) + 1;
    bytes[at..at + 8].copy_from_slice(&off.to_le_bytes());
    fix_crcs(&mut bytes, loc);
    let d = Demuxer::open(&bytes).unwrap();
    assert_eq!(d.index_status(), &IndexStatus::Trailing);
    assert_eq!(d.seek_table(1).unwrap().len(), 10);
}

#[test]
fn a_locator_with_no_tables_behind_it_is_the_reason_for_the_rebuild() {
    let mut bytes = mux(
        &tracks(),
        &inputs(),
        MuxOptions {
            index_locator: true,
            ..MuxOptions::default()
        },
    );
    let loc = bytes.len() - 4 - 56;
    // Claim three tables for two tracks: the tables are still found from the end.
    bytes[loc + 12 + 32] = 3;
    fix_crcs(&mut bytes, loc);
    assert_eq!(
        Demuxer::open(&bytes).unwrap().index_status(),
        &IndexStatus::Trailing
    );
    // Break the first table too: now the index is rebuilt, for the locator's reason.
    let first_table = usize::try_from(Demuxer::open(&bytes).unwrap().index().end_offset).unwrap();
    bytes[first_table + 12 + 3] = b'X';
    fix_crcs(&mut bytes, first_table);
    let d = Demuxer::open(&bytes).unwrap();
    assert_eq!(
        d.index_status(),
        &IndexStatus::Rebuilt {
            reason: IndexProblem::BadLocator {
                offset: loc as u64,
                what: "its table count is not the track count"
            }
        }
    );
    assert_eq!(d.seek_table(2).unwrap().len(), 10);
}

#[test]
fn lenient_rebuild_reads_past_a_damaged_block() {
    let mut bytes = reference_mux(&tracks(), &inputs(), false);
    let d = Demuxer::open(&bytes).unwrap();
    let victim = d.blocks().nth(10).unwrap().unwrap();
    let (victim_offset, victim_chunk) = (victim.offset, victim.chunk_offset());
    let all: Vec<_> = d.blocks().map(|b| key(&b.unwrap())).collect();
    drop(d);
    let at = usize::try_from(victim_offset).unwrap() + 8;
    bytes[at] ^= 0xff;
    // Strict: the rebuild meets the damage and fails with its offset.
    let err = Demuxer::open(&bytes).unwrap_err();
    assert_eq!(err.offset(), Some(victim_chunk));
    assert!(err.is_damage());
    // Lenient: the block is skipped and reported.
    let d = Demuxer::open_with(
        &bytes,
        &ParseOptions {
            mode: Mode::Lenient,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(matches!(d.index_status(), IndexStatus::Rebuilt { .. }));
    assert!(matches!(
        d.problems(),
        [Problem::Damage(Error::Format(
            h4mk_format::Error::ChunkCrc { .. }
        ))]
    ));
    let listed: Vec<_> = d.blocks().filter_map(|b| b.ok().map(|b| key(&b))).collect();
    assert_eq!(listed.len(), all.len() - 1);
}

/// A damaged block of one track made every plan of the other track that walks past it fail,
/// in lenient mode too (a codec-author review): a bit flipped in the audio, and the captions
/// near it could not be read. A lenient plan now reads past damage in another track's
/// blocks; a strict one still refuses it, and a plan that needs the damaged block fails in
/// either mode.
#[test]
fn a_lenient_plan_reads_past_damage_in_another_track() {
    let mut bytes = reference_mux(&tracks(), &inputs(), true);
    let intact = Demuxer::open(&bytes).unwrap();
    let victim = intact.blocks().nth(10).unwrap().unwrap();
    let (track, other) = (victim.track, 3 - victim.track);
    let (victim_offset, victim_ts) = (victim.offset, victim.ts_ms);
    let want = track_answers(&intact, other);
    drop(intact);
    bytes[usize::try_from(victim_offset).unwrap() + 8] ^= 0xff;
    fix_file_crc(&mut bytes);

    let strict = Demuxer::open(&bytes).unwrap();
    let refused = track_answers(&strict, other);
    assert!(refused.iter().any(|a| a.contains("crc")), "{refused:?}");

    let lenient = Demuxer::open_with(&bytes, &ParseOptions::lenient()).unwrap();
    assert_eq!(track_answers(&lenient, other), want);
    // The damaged block's own track: a plan that returns it fails.
    let err = lenient.chain(track, victim_ts).unwrap_err();
    assert_eq!(err.offset(), Some(victim_offset - 12), "{err}");
    assert!(err.is_damage(), "{err}");
}

/// Track 1 every 20 ms to 1,980 ms, a keyframe every 500 ms; track 2 keyframes at 0 and
/// 1,000 ms only ([`with_a_sparse_track`]).
fn sparse_file() -> Vec<u8> {
    let inputs = with_a_sparse_track(100, 1_000);
    mux(&[spec(1), spec(2)], &inputs, MuxOptions::default())
}

/// [`sparse_file`] with `bit` flipped in byte `byte` of the chunk of `track`'s block at
/// `ts_ms`, and its file CRC made right again; with the offset of that chunk.
fn sparse_file_flipped(track: u16, ts_ms: u32, byte: usize, bit: u8) -> (Vec<u8>, usize) {
    let mut bytes = sparse_file();
    let at = {
        let d = Demuxer::open(&bytes).unwrap();
        let b = d
            .blocks()
            .map(Result::unwrap)
            .find(|b| b.track == track && b.ts_ms == ts_ms)
            .unwrap();
        usize::try_from(b.chunk_offset()).unwrap()
    };
    bytes[at + byte] ^= bit;
    fix_file_crc(&mut bytes);
    (bytes, at)
}

/// Checks that a lenient `chain(track, t_ms)` of `bytes` fails at the damaged chunk at `at`.
#[track_caller]
fn lenient_chain_fails_at(bytes: &[u8], track: u16, t_ms: u32, at: usize) {
    let d = Demuxer::open_with(bytes, &ParseOptions::lenient()).unwrap();
    let err = d.chain(track, t_ms).unwrap_err();
    assert!(err.is_damage(), "{err}");
    assert_eq!(err.offset(), Some(at as u64), "{err}");
}

/// The pts of every step, or the error.
fn shown(plan: Result<Vec<h4mk_mt::DecodeStep<'_>>, Error>) -> Result<Vec<u32>, String> {
    plan.map(|steps| steps.iter().map(|s| s.block.ts_ms).collect())
        .map_err(|e| e.to_string())
}

/// Three faults a diff review found in the early end of a plan's window (at the first block
/// of any track past it, when the track's next keyframe shows it goes on):
/// - checking that next keyframe rebuilt the index when its entry did not match, and failed a
///   strict plan that never needed it when the keyframe was damaged;
/// - with CRCs unchecked, a damaged pts of another track's block ended the window;
/// - a lenient walk read past a damaged block of the planned track whose track id the damage
///   had changed to one of no listed track, and answered from fewer blocks without a word.
#[test]
fn a_window_ends_early_only_on_what_can_be_trusted() {
    let clean = sparse_file();
    let intact = Demuxer::open(&clean).unwrap();
    let want = shown(intact.chain(1, 50));
    assert_eq!(want, Ok(vec![0, 20, 40]));

    // Track 1's keyframe at 500 ms, far past the plan, with its pts damaged.
    let (mut bytes, at) = sparse_file_flipped(1, 500, 4, 0x01);
    let d = Demuxer::open(&bytes).unwrap();
    assert_eq!(shown(d.chain(1, 50)), want);
    assert_eq!(d.index_status(), &IndexStatus::Trailing, "nothing rebuilt");
    // The same edit with its CRC made right: a stale entry, which rebuilds nothing either.
    fix_crcs(&mut bytes, at);
    let d = Demuxer::open(&bytes).unwrap();
    assert_eq!(shown(d.chain(1, 50)), want);
    assert_eq!(d.index_status(), &IndexStatus::Trailing);

    // CRCs unchecked, and track 2's block at 0 ms reading 65,536 ms.
    let (bytes, _) = sparse_file_flipped(2, 0, 6, 0x01);
    let unchecked = ParseOptions {
        check_crc: false,
        ..ParseOptions::default()
    };
    let d = Demuxer::open_with(&bytes, &unchecked).unwrap();
    assert_eq!(shown(d.chain(1, 100)), Ok(vec![0, 20, 40, 60, 80, 100]));
    assert_eq!(shown(d.range(1, 40, 100)), shown(intact.range(1, 40, 100)));

    // Lenient: track 1's block at 100 ms routed to track 3, or its tag made unknown.
    for (byte, bit) in [(12 + 4, 0x02), (0, 0x20)] {
        let (bytes, at) = sparse_file_flipped(1, 100, byte, bit);
        lenient_chain_fails_at(&bytes, 1, 100, at);
    }
}

/// The pts of a file's first block, a keyframe, damaged: its entry no longer matched the
/// block, the lenient rebuild left the block out and started the blocks after it, and a plan
/// from the first block began past it: an empty chain, without a word (a review). The rebuilt
/// index starts where the blocks do, and the plan meets the damage.
#[test]
fn a_lenient_plan_meets_a_damaged_first_keyframe() {
    let (bytes, at) = sparse_file_flipped(1, 0, 4, 0x01);
    lenient_chain_fails_at(&bytes, 1, 10, at);
}

/// A bit flipped in a seek table made a strict open refuse the whole file: the trailing
/// tables were not found, and the scan that rebuilds them stopped at the damaged one. The scan
/// now reads past a damaged index chunk, which is what it rebuilds, and reports it: the file
/// answers as the intact one does. A damaged block on the scan's way still fails it.
#[test]
fn a_damaged_seek_table_is_rebuilt_by_a_strict_scan() {
    let good = reference_mux(&tracks(), &inputs(), true);
    let intact = Demuxer::open(&good).unwrap();
    let tables: Vec<u64> = intact
        .container()
        .chunks()
        .filter_map(|c| c.ok())
        .filter(|c| c.tag == h4mk_format::Tag::TSEK)
        .map(|c| c.offset)
        .collect();
    assert_eq!(tables.len(), 2);
    for &table in &tables {
        let mut bytes = good.clone();
        bytes[usize::try_from(table).unwrap() + 16] ^= 0x01;
        let d = Demuxer::open(&bytes).unwrap();
        assert!(matches!(d.index_status(), IndexStatus::Rebuilt { .. }));
        assert_eq!(d.index().tracks(), intact.index().tracks());
        assert_eq!(answers(&d), answers(&intact));
        assert!(
            matches!(
                d.problems(),
                [Problem::Damage(Error::Format(h4mk_format::Error::ChunkCrc { tag, offset, .. }))]
                    if *tag == h4mk_format::Tag::TSEK && *offset == table
            ),
            "{:?}",
            d.problems()
        );
        // And a damaged block before it: the strict scan fails there, as before.
        let block = intact.blocks().nth(5).unwrap().unwrap();
        bytes[usize::try_from(block.offset).unwrap() + 9] ^= 0x01;
        let err = Demuxer::open(&bytes).unwrap_err();
        assert_eq!(err.offset(), Some(block.chunk_offset()));
    }
}

/// A file cut short, as a writer that crashed leaves it, made a strict open fail at the chunk
/// the cut runs through, though the index the scan rebuilds is that of the blocks before it.
/// The scan now ends there, reporting the cut, and the file answers as one holding only the
/// blocks before the cut does.
#[test]
fn a_file_cut_short_answers_from_the_blocks_before_the_cut() {
    let good = reference_mux(&tracks(), &inputs(), true);
    let intact = Demuxer::open(&good).unwrap();
    assert!(intact.cut_short().is_none());
    let blocks: Vec<_> = intact.blocks().map(Result::unwrap).collect();
    for victim in [&blocks[3], &blocks[30], &blocks[79]] {
        let (chunk, payload, end) = (victim.chunk_offset(), victim.offset, victim.end_offset());
        for cut in [chunk + 5, payload + 10, end, end + 4, end + 9] {
            let bytes = &good[..usize::try_from(cut).unwrap()];
            let d = Demuxer::open(bytes).unwrap();
            assert!(matches!(d.index_status(), IndexStatus::Rebuilt { .. }));
            // The last four bytes are read as the file CRC: a chunk is whole before them.
            let kept = blocks.iter().filter(|b| b.end_offset() + 4 <= cut).count();
            let whole = reference_mux(&tracks(), &inputs()[..kept], false);
            assert_eq!(
                answers(&d),
                answers(&Demuxer::open(&whole).unwrap()),
                "cut {cut}"
            );
            // The cut is told by name (a review had to find it among the problems).
            assert_eq!(
                d.cut_short().map(h4mk_format::Error::offset),
                d.problems().first().map(|p| p.offset()),
                "cut {cut}"
            );
            match d.problems() {
                [] => assert_eq!(cut, end + 4, "a chunk framed up to the footer"),
                [
                    Problem::Damage(Error::Format(
                        h4mk_format::Error::Truncated { offset, .. }
                        | h4mk_format::Error::TruncatedChunkHeader { offset, .. },
                    )),
                ] => assert!(
                    *offset < cut && *offset >= HEADER_LEN as u64,
                    "cut {cut}: {offset}"
                ),
                other => panic!("cut {cut}: {other:?}"),
            }
            if cut == payload + 10 {
                assert_eq!(
                    d.cut_short().and_then(h4mk_format::Error::offset),
                    Some(chunk)
                );
                // Listed whatever the cap on problems.
                let mut opts = h4mk_format::ParseOptions::default();
                opts.limits.max_problems = 0;
                let capped = Demuxer::open_with(bytes, &opts).unwrap();
                assert!(capped.cut_short().is_some(), "cut {cut}");
                assert!(matches!(
                    d.problems(),
                    [Problem::Damage(Error::Format(h4mk_format::Error::Truncated { offset, .. }))]
                        if *offset == chunk
                ));
            }
        }
    }
}

/// A file cut to its header and four bytes has no chunk, and read as a file with no tracks:
/// `chain` said the track was not in the track list, and a cut by `remux` wrote an empty
/// file, without a word (a review's cut at 20 bytes). With no chunk at all, the file CRC is
/// checked (it covers the header alone); an empty file as the writer makes it still opens.
#[test]
fn a_file_cut_to_its_header_is_not_an_empty_file() {
    let good = reference_mux(&tracks(), &inputs(), true);
    let err = Demuxer::open(&good[..20]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Format(h4mk_format::Error::FileCrc { offset: 16, .. })
        ),
        "{err}"
    );
    let empty = h4mk_format::Writer::new(
        Vec::new(),
        &h4mk_format::FileHeader::default(),
        h4mk_format::WriterOptions::default(),
    )
    .unwrap()
    .finish()
    .unwrap();
    assert_eq!(empty.len(), 20);
    assert!(Demuxer::open(&empty).unwrap().tracks().is_empty());
}

/// What tells a cut from a damaged length field is an intact chunk ending at the file CRC;
/// candidates for it are found by their length field alone, and only a few are hashed. A tail
/// planted with chunks that would end there but do not hash (hostile, or a long block's
/// bytes) is taken for an intact tail once that many failed: the open fails, as for damage,
/// rather than hash the tail at every byte (50 s for a 1 GiB tail, before). One candidate
/// that hashes is found among fewer.
#[test]
fn a_tail_of_false_chunks_is_judged_by_a_few_of_them() {
    let good = reference_mux(&tracks(), &inputs(), true);
    let intact = Demuxer::open(&good).unwrap();
    let victim = intact.blocks().nth(40).unwrap().unwrap();
    let head = usize::try_from(victim.offset).unwrap() + 4;
    for (planted, cut) in [(7, true), (8, false)] {
        let mut bytes = good[..head].to_vec();
        // The victim's length runs past the end, as a cut's or a damaged one's does.
        let len_at = usize::try_from(victim.chunk_offset()).unwrap() + 8;
        bytes[len_at..len_at + 4].copy_from_slice(&0x7fff_ff00u32.to_le_bytes());
        let tail = 12 * planted + 100;
        bytes.resize(head + tail, 0xA5);
        let footer = bytes.len();
        // A would-be chunk every 12 bytes from the end: its length field says it ends at
        // the footer, its CRC does not hold.
        for k in 1..=planted {
            let start = footer - 16 - 12 * k;
            let len = (footer - start - 16) as u32;
            bytes[start + 8..start + 12].copy_from_slice(&len.to_le_bytes());
        }
        bytes.extend_from_slice(&[0; 4]);
        let opened = Demuxer::open(&bytes);
        assert_eq!(opened.is_ok(), cut, "{planted} planted: {:?}", opened.err());
        if let Err(e) = opened {
            assert_eq!(e.offset(), Some(victim.chunk_offset()), "{e}");
        }
    }
}

#[test]
fn errors_name_offsets_and_tracks() {
    let bytes = mux(&tracks(), &inputs(), MuxOptions::default());
    let d = Demuxer::open(&bytes).unwrap();
    assert_eq!(
        d.chain(9, 0).unwrap_err().to_string(),
        "track 9 is not in the track list"
    );
    assert_eq!(
        d.range(1, 5, 4).unwrap_err().to_string(),
        "invalid range: start 5 ms is after end 4 ms"
    );
    let err = d.block_at(17).unwrap_err();
    assert!(err.offset().is_some(), "{err}");
}

#[test]
fn reference_style_files_that_break_gop_rules_are_read_and_flagged() {
    // The reference muxer checks no GOP rule: a track may open on a P and end on a B.
    let ins = vec![
        Input {
            track: 1,
            ts_ms: 0,
            kind: BlockKind::Predictive,
            opaque: b"p".to_vec(),
        },
        Input {
            track: 1,
            ts_ms: 10,
            kind: BlockKind::Key,
            opaque: b"i".to_vec(),
        },
        Input {
            track: 1,
            ts_ms: 20,
            kind: BlockKind::Bidirectional,
            opaque: b"b".to_vec(),
        },
    ];
    let bytes = reference_mux(&[spec(1)], &ins, true);
    let d = Demuxer::open(&bytes).unwrap();
    assert_eq!(d.index_status(), &IndexStatus::Trailing);
    assert_eq!(d.chain(1, 5).unwrap(), []);
    let b = d.blocks().nth(2).unwrap().unwrap();
    assert_eq!(
        d.chain(1, 25).unwrap_err().to_string(),
        format!(
            "track 1: B-block at offset {} (pts 20 ms) has no forward anchor after it",
            b.offset
        )
    );
    let p = d.blocks().next().unwrap().unwrap();
    assert_eq!(
        d.range(1, 0, 10).unwrap_err().to_string(),
        format!(
            "track 1: P-block at offset {} (pts 0 ms) has no keyframe before it",
            p.offset
        )
    );
    // Each problem names the CORE chunk it is about.
    let b_chunk = b.chunk_offset();
    let p_chunk = p.chunk_offset();
    let problems: Vec<(Option<u64>, String)> = d
        .verify()
        .problems
        .iter()
        .map(|p| (p.offset(), p.to_string()))
        .collect();
    assert_eq!(
        problems,
        [
            (
                Some(p_chunk),
                format!(
                    "CORE chunk at offset {p_chunk}: track 1: the first block (pts 0 ms) is a P-block, a track must start with an I-block"
                )
            ),
            (
                Some(b_chunk),
                format!(
                    "CORE chunk at offset {b_chunk}: track 1 ends on this B-block (pts 20 ms), which has no forward anchor"
                )
            ),
        ]
    );
}

#[test]
fn open_and_chain_read_no_block_outside_the_window() {
    // Damage a block in the middle: opening (head + index) and a chain before it never read
    // it, so they succeed; listing every block meets it.
    let mut bytes = mux(&tracks(), &inputs(), MuxOptions::default());
    let d = Demuxer::open(&bytes).unwrap();
    let victim = d.blocks().nth(60).unwrap().unwrap();
    let (victim_offset, victim_ts) = (victim.offset, victim.ts_ms);
    drop(d);
    bytes[usize::try_from(victim_offset).unwrap() + 8] ^= 1;
    let d = Demuxer::open(&bytes).unwrap();
    assert_eq!(d.index_status(), &IndexStatus::Trailing);
    assert!(!d.chain(1, 100).unwrap().is_empty());
    let err = d.blocks().find_map(Result::err).unwrap();
    assert_eq!(err.offset(), Some(victim_offset - 12));
    // A chain whose window holds the damaged block reports it.
    let hit = (0..900)
        .step_by(5)
        .filter_map(|t| d.chain(1, t).err().or_else(|| d.chain(2, t).err()))
        .next()
        .unwrap();
    assert_eq!(hit.offset(), Some(victim_offset - 12), "{hit}");
    assert!(victim_ts > 100);
}

#[test]
fn opening_reads_no_block_so_it_costs_the_index_not_the_file() {
    // Edit track 1's last keyframe into a P-block (its GOP flags, CRCs recomputed), as an
    // editor that does not update the index might. Opening reads the head and the tables, not
    // the blocks they point at (on a mapped 1 GiB file, checking every entry at open faulted in
    // a page per keyframe), so the stored index is still used; a chain far from that block never
    // meets it; the chain that starts there finds the entry does not point at a keyframe,
    // rebuilds the index by one scan, and says why.
    let mut bytes = mux(&tracks(), &inputs(), MuxOptions::default());
    let d = Demuxer::open(&bytes).unwrap();
    let last_key = *d.seek_table(1).unwrap().last().unwrap();
    drop(d);
    let chunk = usize::try_from(last_key.offset).unwrap() - 12;
    bytes[chunk + 7] |= 0x10; // block type bits 28..29: I (0) becomes P (1)
    fix_crcs(&mut bytes, chunk);
    let d = Demuxer::open(&bytes).unwrap();
    assert_eq!(d.index_status(), &IndexStatus::Trailing);
    assert!(!d.chain(1, 100).unwrap().is_empty());
    assert_eq!(d.index_status(), &IndexStatus::Trailing);
    let steps = d.chain(1, last_key.ts_ms).unwrap();
    assert_ne!(steps.first().unwrap().block.offset, last_key.offset);
    assert_eq!(steps.last().unwrap().kind, BlockKind::Predictive);
    assert_eq!(
        d.index_status(),
        &IndexStatus::Rebuilt {
            reason: IndexProblem::EntryMismatch {
                track: 1,
                ts_ms: last_key.ts_ms,
                offset: last_key.offset
            }
        }
    );
}

/// Sets the 4 bytes at `at` so that the CRC of `bytes[range]` (which holds them) is `target`:
/// the CRC is affine in those 32 bits, so solve over GF(2) from the CRC of each bit alone.
fn force_crc(bytes: &mut [u8], range: std::ops::Range<usize>, at: usize, target: u32) {
    let crc_with = |bytes: &mut [u8], x: u32| {
        bytes[at..at + 4].copy_from_slice(&x.to_le_bytes());
        crc32(&bytes[range.clone()])
    };
    let base = crc_with(bytes, 0);
    // Rows (what the bits change in the CRC, which bits): reduced to one pivot bit each.
    let mut rows: Vec<(u32, u32)> = (0..32)
        .map(|i| (crc_with(bytes, 1 << i) ^ base, 1 << i))
        .collect();
    for bit in 0..32 {
        let pivot = (bit..32).find(|&r| rows[r].0 >> bit & 1 == 1).unwrap();
        rows.swap(bit, pivot);
        let (effect, bits) = rows[bit];
        for (r, row) in rows.iter_mut().enumerate() {
            if r != bit && row.0 >> bit & 1 == 1 {
                *row = (row.0 ^ effect, row.1 ^ bits);
            }
        }
    }
    let want = target ^ base;
    let x = (0..32)
        .filter(|&bit| want >> bit & 1 == 1)
        .fold(0, |x, bit| x ^ rows[bit].1);
    assert_eq!(crc_with(bytes, x), target);
}

#[test]
fn a_forged_table_inside_the_last_block_is_found_out_by_the_first_plan() {
    // A file with no index whose last block ends with the bytes of an empty TSEK of track 1,
    // and whose own CRC is made to equal that TSEK's: searching from the end (§7.1) finds a
    // well-formed table with a right CRC. Only walking the blocks tells it is not one.
    let mut fake = b"TSEK".to_vec();
    fake.extend_from_slice(&0u32.to_le_bytes());
    fake.extend_from_slice(&16u32.to_le_bytes());
    fake.extend_from_slice(b"H4TS\x01\x00\x00\x00H4SK\x00\x00\x00\x00");
    let last = [&[0u8; 4][..], &fake].concat();
    let inputs = [
        (0, BlockKind::Key, b"a".to_vec()),
        (10, BlockKind::Predictive, b"b".to_vec()),
        (20, BlockKind::Key, last),
    ]
    .map(|(ts_ms, kind, opaque)| Input {
        track: 1,
        ts_ms,
        kind,
        opaque,
    });
    let mut bytes = reference_mux(&[spec(1)], &inputs, false);
    let crc_at = bytes.len() - 8; // the last chunk's CRC, before the file CRC
    let fake_at = crc_at - fake.len();
    let chunk_at = fake_at - 4 - 8 - 12;
    let target = crc32(&bytes[fake_at..crc_at]);
    force_crc(&mut bytes, chunk_at..crc_at, fake_at - 4, target);
    bytes[crc_at..crc_at + 4].copy_from_slice(&target.to_le_bytes());
    fix_file_crc(&mut bytes);

    let d = Demuxer::open(&bytes).unwrap();
    assert_eq!(*d.index_status(), IndexStatus::Trailing);
    assert_eq!(d.seek_table(1).unwrap(), []);
    let blocks: Vec<u64> = d.blocks().map(|b| b.unwrap().offset).collect();
    assert_eq!(blocks.len(), 3);
    // `verify` walks every chunk, and finds the table lacks the track's first I-block.
    assert!(matches!(
        d.verify().problems[..],
        [Problem::IndexMismatch { track: 1, entry: 0, stored: None, found: Some(SeekEntry { ts_ms: 0, offset }), .. }] if offset == blocks[0]
    ));
    // The plan walks from the first block, meets the I-block the table leaves out, and
    // rebuilds the index by one scan.
    assert_eq!(offsets(&d.chain(1, 10).unwrap()), blocks[..2]);
    assert_eq!(
        *d.index_status(),
        IndexStatus::Rebuilt {
            reason: IndexProblem::Unlisted {
                track: 1,
                ts_ms: 0,
                offset: blocks[0]
            }
        }
    );
    assert_eq!(d.seek_table(1).unwrap().len(), 2);
    assert_eq!(d.chain(1, 25).unwrap().len(), 1);
}

/// Two tracks of 65,536 keyframes: each gets an XSEK table, and the limits on seek entries
/// apply to both tables together, found from the locator or from the end, naming the limit
/// that was exceeded.
#[test]
fn the_limits_on_seek_entries_count_every_extended_table() {
    let ins: Vec<Input> = (0..65_536u32)
        .flat_map(|i| {
            [1u16, 2].map(|track| Input {
                track,
                ts_ms: i,
                kind: BlockKind::Key,
                opaque: vec![],
            })
        })
        .collect();
    let located = mux(&tracks(), &ins, MuxOptions::default());
    // The same file without its locator (56 bytes before the file CRC).
    let mut trailing = located[..located.len() - 4 - 56].to_vec();
    trailing.extend_from_slice(&[0; 4]);
    fix_file_crc(&mut trailing);
    let with = |max_seek_entries, max_total_alloc| ParseOptions {
        limits: h4mk_format::Limits {
            max_seek_entries,
            max_total_alloc,
            ..h4mk_format::Limits::default()
        },
        ..ParseOptions::default()
    };
    for (bytes, status) in [(&located, "located"), (&trailing, "trailing")] {
        let d = Demuxer::open_with(bytes, &with(131_072, 131_072 * 16)).unwrap();
        assert_eq!(d.seek_table(2).unwrap().len(), 65_536, "{status}");
        // Each table alone is under either limit; the two together are over.
        let cases = [
            (with(100_000, u64::MAX), "seek entries", 131_072, 100_000),
            (
                with(u64::MAX, 1_600_000),
                "bytes of seek entries",
                131_072 * 16,
                1_600_000,
            ),
        ];
        for (opts, what, value, max) in cases {
            let err = Demuxer::open_with(bytes, &opts).unwrap_err();
            let Error::Format(h4mk_format::Error::Limit {
                tag,
                what: w,
                value: v,
                max: m,
                ..
            }) = err
            else {
                panic!("{status}: {err}");
            };
            assert_eq!(
                (tag.to_string(), w, v, m),
                ("XSEK".into(), what, value, max)
            );
        }
    }
    // An index rebuilt from the blocks: the CORE chunk that takes it past the limit is named.
    let bare = reference_mux(&tracks(), &ins[..2_000], false);
    let err = Demuxer::open_with(&bare, &with(u64::MAX, 1_000 * 16)).unwrap_err();
    assert!(
        err.to_string().contains("bytes of seek entries") && err.to_string().contains("CORE"),
        "{err}"
    );
}
