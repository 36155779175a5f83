//! `remux`: a file remuxed whole is the same file; a cut keeps the contiguous run of each
//! track that its range plan needs from the block before the span, and plans the span as the
//! input does; merging files gives
//! the file muxing all their blocks at once gives; errors name the input.

use h4mk_format::ParseOptions;
use h4mk_gop::BlockKind;
use h4mk_mt::{
    BlockRef, DecodeStep, Demuxer, Error, MuxOptions, Pick, RemuxOptions, Sidecars, TrackSpec,
    remux,
};
use proptest::prelude::*;

use crate::plan::{Case, case};
use crate::reference_fixtures::{REFERENCE, read_reference};
use crate::support::{
    Input, every_20_ms, fix_crcs, fix_file_crc, mux, reference_mux, spec, with_a_sparse_track,
};

fn pick(input: usize, track: u16, as_track: u16) -> Pick {
    Pick {
        input,
        track,
        as_track,
    }
}

/// Every track of `d`, under its own id, in its order.
fn every_track(d: &Demuxer<'_>, input: usize) -> Vec<Pick> {
    d.tracks()
        .iter()
        .map(|t| pick(input, t.track_id, t.track_id))
        .collect()
}

/// Every track of each input, in input order.
fn every_track_of_each(inputs: &[Demuxer<'_>]) -> Vec<Pick> {
    inputs
        .iter()
        .enumerate()
        .flat_map(|(input, d)| every_track(d, input))
        .collect()
}

fn remux_to_vec(
    inputs: &[Demuxer<'_>],
    picks: &[Pick],
    span: Option<(u32, u32)>,
) -> Result<Vec<u8>, Error> {
    let sidecars = inputs.first().map(Demuxer::sidecars).unwrap_or_default();
    remux(
        Vec::new(),
        inputs,
        picks,
        &sidecars,
        RemuxOptions {
            span,
            ..RemuxOptions::default()
        },
    )
    .map(|(bytes, _)| bytes)
}

/// A block as a decoder sees it: pts, type and bytes, wherever it lies in its file.
fn seen(b: &BlockRef<'_>) -> (u32, char, Vec<u8>) {
    (b.ts_ms, b.kind.letter(), b.opaque.to_vec())
}

fn track_blocks<'a>(d: &Demuxer<'a>, track: u16) -> Vec<BlockRef<'a>> {
    d.blocks()
        .map(Result::unwrap)
        .filter(|b| b.track == track)
        .collect()
}

fn plan_seen(plan: &[DecodeStep<'_>]) -> Vec<(u32, char, Vec<u8>)> {
    plan.iter().map(|s| seen(&s.block)).collect()
}

#[test]
fn every_track_of_a_reference_fixture_remuxed_is_the_same_file() {
    for name in REFERENCE {
        let bytes = read_reference(name, "h4mk");
        let d = [Demuxer::open(&bytes).unwrap()];
        let again = remux_to_vec(&d, &every_track(&d[0], 0), None).unwrap();
        assert!(again == bytes, "{name}: remuxed whole, the bytes changed");
    }
}

#[test]
fn tracks_renumbered_and_reordered_keep_their_blocks() {
    let bytes = read_reference("three_tracks_2000", "h4mk");
    let d = [Demuxer::open(&bytes).unwrap()];
    let picks = [pick(0, 2, 1), pick(0, 1, 9)];
    let out = remux_to_vec(&d, &picks, None).unwrap();
    let o = Demuxer::open(&out).unwrap();
    assert!(o.verify().is_ok());
    let ids: Vec<u16> = o.tracks().iter().map(|t| t.track_id).collect();
    assert_eq!(ids, [1, 9]);
    for pick in picks {
        let spec = d[0].track(pick.track).unwrap();
        assert_eq!(
            o.track(pick.as_track).unwrap(),
            &TrackSpec {
                track_id: pick.as_track,
                ..spec.clone()
            }
        );
        let old: Vec<_> = track_blocks(&d[0], pick.track).iter().map(seen).collect();
        let new: Vec<_> = track_blocks(&o, pick.as_track).iter().map(seen).collect();
        assert!(!old.is_empty());
        assert_eq!(new, old, "track {} as {}", pick.track, pick.as_track);
    }
}

#[test]
fn one_track_picked_twice_is_written_twice() {
    let bytes = read_reference("bframes", "h4mk");
    let d = [Demuxer::open(&bytes).unwrap()];
    let track = d[0].tracks()[0].track_id;
    let picks = [3, 4].map(|as_track| pick(0, track, as_track));
    let out = remux_to_vec(&d, &picks, None).unwrap();
    let o = Demuxer::open(&out).unwrap();
    let old: Vec<_> = track_blocks(&d[0], track).iter().map(seen).collect();
    for as_track in [3, 4] {
        let new: Vec<_> = track_blocks(&o, as_track).iter().map(seen).collect();
        assert_eq!(new, old);
    }
}

#[test]
fn errors_name_the_input() {
    let bytes = read_reference("three_tracks_2000", "h4mk");
    let d = [Demuxer::open(&bytes).unwrap()];
    let e = remux_to_vec(&d, &[pick(1, 1, 1)], None).unwrap_err();
    assert!(
        matches!(
            e,
            Error::UnknownInput {
                input: 1,
                inputs: 1
            }
        ),
        "{e}"
    );
    let e = remux_to_vec(&d, &[pick(0, 5, 1)], None).unwrap_err();
    match e {
        Error::InInput { input: 0, source } => {
            assert!(
                matches!(*source, Error::UnknownTrack { track: 5 }),
                "{source}"
            )
        }
        e => panic!("{e}"),
    }
    let e = remux_to_vec(&d, &[pick(0, 1, 4), pick(0, 2, 4)], None).unwrap_err();
    assert!(matches!(e, Error::DuplicateTrack { track: 4 }), "{e}");

    // A block whose bytes were damaged after the index was written: named by input and offset.
    let mut damaged = bytes.clone();
    let last = track_blocks(&d[0], 2).last().copied().unwrap();
    let at = usize::try_from(last.offset).unwrap() + 8;
    damaged[at] ^= 0x40;
    let d2 = [
        d.into_iter().next().unwrap(),
        Demuxer::open(&damaged).unwrap(),
    ];
    let e = remux_to_vec(&d2, &[pick(0, 1, 1), pick(1, 2, 2)], None).unwrap_err();
    assert!(e.is_damage(), "{e}");
    assert_eq!(e.offset(), Some(last.offset - 12), "{e}");
    assert!(matches!(e, Error::InInput { input: 1, .. }), "{e}");
}

/// A sink that takes `room` bytes, then fails as a full disk does.
struct FullAfter {
    room: usize,
}

impl std::io::Write for FullAfter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.room == 0 {
            return Err(std::io::Error::other("No space left on device"));
        }
        let n = buf.len().min(self.room);
        self.room -= n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A write that failed while a block was handed over was reported as that input's error: a
/// reviewer's full disk was named as the input file.
#[test]
fn a_failed_write_is_the_output_s_error_not_an_input_s() {
    let bytes = read_reference("three_tracks_2000", "h4mk");
    let d = [Demuxer::open(&bytes).unwrap()];
    // One track, whose blocks are written as they are handed over, and all three, whose
    // blocks wait for the others'.
    let picks = [vec![pick(0, 1, 1)], every_track(&d[0], 0)];
    for (room, picks) in [100, 1_000, 10_000]
        .into_iter()
        .flat_map(|room| picks.iter().map(move |p| (room, p)))
    {
        let e = remux(
            FullAfter { room },
            &d,
            picks,
            &d[0].sidecars(),
            RemuxOptions::default(),
        )
        .map(|_| ())
        .unwrap_err();
        assert!(
            matches!(&e, Error::Format(h4mk_format::Error::Io(_))),
            "room {room}: {e:?}"
        );
    }
}

/// Each case's tracks split over two files, the first track in one and the rest in the other.
fn split(case: &Case) -> (Vec<u8>, Vec<u8>, Vec<Input>) {
    let inputs = case.inputs();
    let specs = case.specs();
    let (a, b): (Vec<Input>, Vec<Input>) =
        inputs.iter().cloned().partition(|i| i.track == case.ids[0]);
    (
        mux(&specs[..1], &a, MuxOptions::default()),
        mux(&specs[1..], &b, MuxOptions::default()),
        inputs,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn a_cut_keeps_what_its_plans_need_and_plans_the_span_alike(
        case in case(),
        t in any::<prop::sample::Index>(),
        u in any::<prop::sample::Index>(),
        to_the_end in any::<bool>(),
    ) {
        let case = case.valid();
        let bytes = mux(&case.specs(), &case.inputs(), MuxOptions::default());
        let d = [Demuxer::open(&bytes).unwrap()];
        let picks = every_track(&d[0], 0);
        prop_assert_eq!(remux_to_vec(&d, &picks, None).unwrap(), bytes.clone());

        let times = case.times();
        // A span open to the end is planned only at its start (`--from-ms` alone).
        let (t0, t1) = {
            let (a, b) = (*t.get(&times), *u.get(&times));
            (a.min(b), if to_the_end { u32::MAX } else { a.max(b) })
        };
        let out = remux_to_vec(&d, &picks, Some((t0, t1))).unwrap();
        let o = Demuxer::open(&out).unwrap();
        prop_assert!(o.verify().is_ok());
        for &track in &case.ids {
            let plan = d[0].range(track, t0, t1).unwrap();
            // The block just before the first presented one (the one shown at t0 when none is
            // and the track goes on after the span), when it plans, then the block before
            // that one, whose tail an audio decode of the span renders, and what they need.
            let goes_on = track_blocks(&d[0], track).iter().any(|b| b.ts_ms > t1);
            let shown_at = |t: u32| Some(d[0].chain(track, t).ok()?.last()?.block.ts_ms);
            let shown_before = |t: u32| shown_at(t.checked_sub(1)?);
            let lead = plan
                .iter()
                .map(|s| s.block.ts_ms)
                .filter(|t| (t0..=t1).contains(t))
                .min()
                .map_or(goes_on.then(|| shown_at(t0)).flatten(), shown_before)
                .map(|reaching| shown_before(reaching).unwrap_or(reaching));
            let kept_plan = match lead {
                Some(lead) => d[0].range(track, lead, t1).unwrap(),
                None => plan.clone(),
            };
            let kept: Vec<_> = match (
                kept_plan.iter().map(|s| s.block.offset).min(),
                kept_plan.iter().map(|s| s.block.offset).max(),
            ) {
                (Some(first), Some(last)) => track_blocks(&d[0], track)
                    .iter()
                    .filter(|b| (first..=last).contains(&b.offset))
                    .map(seen)
                    .collect(),
                _ => Vec::new(),
            };
            let written: Vec<_> = track_blocks(&o, track).iter().map(seen).collect();
            prop_assert_eq!(&written, &kept, "track {}", track);
            prop_assert_eq!(
                plan_seen(&o.range(track, t0, t1).unwrap()),
                plan_seen(&plan),
                "track {}", track
            );
        }
    }

    #[test]
    fn starting_at_zero_moves_every_block_earlier_by_the_lowest_pts_kept(
        case in case(),
        t in any::<prop::sample::Index>(),
        u in any::<prop::sample::Index>(),
        cut in any::<bool>(),
    ) {
        let case = case.valid();
        prop_assume!(case.ids.len() > 1);
        // Two inputs, so the lowest pts is looked for across them.
        let (a, b, _) = split(&case);
        let d = [Demuxer::open(&a).unwrap(), Demuxer::open(&b).unwrap()];
        let picks = every_track_of_each(&d);
        let times = case.times();
        let span = cut.then(|| {
            let (a, b) = (*t.get(&times), *u.get(&times));
            (a.min(b), a.max(b))
        });
        let run = |start_at_zero| {
            let opts = RemuxOptions { span, start_at_zero, ..RemuxOptions::default() };
            remux(Vec::new(), &d, &picks, &Sidecars::default(), opts).unwrap()
        };
        let (kept, summary) = run(false);
        prop_assert_eq!(summary.shifted_ms, 0);
        let (moved, summary) = run(true);
        let (k, m) = (Demuxer::open(&kept).unwrap(), Demuxer::open(&moved).unwrap());
        prop_assert!(m.verify().is_ok());
        let lowest = k.blocks().map(|b| b.unwrap().ts_ms).min();
        prop_assert_eq!(summary.shifted_ms, lowest.unwrap_or(0));
        let shift = summary.shifted_ms;
        // The same blocks in the same order, each `shift` earlier, tracks and index alike.
        let earlier = |b: &BlockRef<'_>| (b.track, b.ts_ms - shift, b.kind, b.opaque.to_vec());
        let as_kept: Vec<_> = k.blocks().map(|b| earlier(&b.unwrap())).collect();
        let as_moved: Vec<_> = m
            .blocks()
            .map(|b| b.unwrap())
            .map(|b| (b.track, b.ts_ms, b.kind, b.opaque.to_vec()))
            .collect();
        prop_assert_eq!(as_moved, as_kept);
        prop_assert_eq!(m.tracks(), k.tracks());
        // A span plans alike, moved by as much.
        if let Some((t0, t1)) = span {
            for &track in &case.ids {
                let (t0m, t1m) = (t0.saturating_sub(shift), t1 - shift.min(t1));
                let moved_plan: Vec<_> = m.range(track, t0m, t1m).unwrap().iter()
                    .map(|s| (s.block.ts_ms + shift, s.block.opaque.to_vec())).collect();
                let kept_plan: Vec<_> = k.range(track, t0m + shift, t1m + shift).unwrap().iter()
                    .map(|s| (s.block.ts_ms, s.block.opaque.to_vec())).collect();
                prop_assert_eq!(moved_plan, kept_plan, "track {}", track);
            }
        }
    }

    #[test]
    fn merging_files_writes_what_muxing_their_blocks_at_once_writes(case in case()) {
        let case = case.valid();
        prop_assume!(case.ids.len() > 1);
        let (a, b, inputs) = split(&case);
        let d = [Demuxer::open(&a).unwrap(), Demuxer::open(&b).unwrap()];
        let picks = every_track_of_each(&d);
        let (merged, _) = remux(
            Vec::new(),
            &d,
            &picks,
            &Sidecars::default(),
            RemuxOptions::default(),
        )
        .unwrap();
        prop_assert_eq!(merged, mux(&case.specs(), &inputs, MuxOptions::default()));
    }
}

#[test]
fn merged_files_are_handed_over_by_pts_so_few_blocks_wait() {
    let bytes = read_reference("three_tracks_2000", "h4mk");
    let d = [Demuxer::open(&bytes).unwrap()];
    let a = remux_to_vec(&d, &[pick(0, 1, 1)], None).unwrap();
    let b = remux_to_vec(&d, &[pick(0, 2, 2), pick(0, 3, 3)], None).unwrap();
    let parts = [Demuxer::open(&a).unwrap(), Demuxer::open(&b).unwrap()];
    let picks = [pick(0, 1, 1), pick(1, 2, 2), pick(1, 3, 3)];
    let (merged, summary) = remux(
        Vec::new(),
        &parts,
        &picks,
        &d[0].sidecars(),
        RemuxOptions::default(),
    )
    .unwrap();
    assert!(merged == bytes, "merged, the parts are not the file again");
    // By pts across the inputs, a block waits only for the other tracks to reach its pts: at
    // most one block per track is held (2 here). Input by input, it would be 4,000.
    assert!(
        summary.written.peak_held_blocks <= picks.len(),
        "{}",
        summary.written.peak_held_blocks
    );
}

#[test]
fn blocks_from_a_block_lists_it_and_those_after_and_fails_elsewhere() {
    let bytes = read_reference("bframes", "h4mk");
    let d = Demuxer::open(&bytes).unwrap();
    let all: Vec<BlockRef<'_>> = d.blocks().map(Result::unwrap).collect();
    for (i, b) in all.iter().enumerate() {
        let from: Vec<BlockRef<'_>> = d
            .blocks_from(b.offset)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(from, all[i..]);
    }
    let first = all[0].offset;
    for offset in [0, 11, first - 1, first + 1] {
        let walked = d.blocks_from(offset).map(|b| b.collect::<Vec<_>>());
        assert!(
            walked.is_err() || walked.as_ref().is_ok_and(|w| w[0].is_err()),
            "from {offset}: {walked:?}"
        );
    }
}

/// Flips a bit in the opaque bytes of the `nth` block of `track`: its CRC fails.
fn damage_block(bytes: &mut [u8], track: u16, nth: usize) {
    let at = track_blocks(&Demuxer::open(bytes).unwrap(), track)[nth].offset;
    bytes[usize::try_from(at).unwrap() + 8] ^= 0x40;
}

/// Track 1: `n` blocks every 20 ms, a keyframe every 25; track 2: one I-block at 0 ms.
fn long_and_short(n: u32) -> Vec<u8> {
    let mut inputs = vec![Input {
        track: 2,
        ts_ms: 0,
        kind: BlockKind::Key,
        opaque: b"short".to_vec(),
    }];
    inputs.extend(every_20_ms(n));
    mux(&[spec(1), spec(2)], &inputs, MuxOptions::default())
}

#[test]
fn no_block_waits_for_a_track_that_has_sent_its_last() {
    let bytes = long_and_short(2_000);
    let d = [Demuxer::open(&bytes).unwrap()];
    let every = every_track(&d[0], 0);
    let held = |inputs: &[Demuxer<'_>], picks: &[Pick], span| {
        let (out, summary) = remux(
            Vec::new(),
            inputs,
            picks,
            &Sidecars::default(),
            RemuxOptions {
                span,
                ..RemuxOptions::default()
            },
        )
        .unwrap();
        assert!(Demuxer::open(&out).unwrap().verify().is_ok());
        summary.written.peak_held_blocks
    };
    // Whole: track 2 sends its one block first; until it ended with it, every block of track
    // 1 waited for it (1,999 held). A cut where track 2 has no block: it ends before any.
    assert!(held(&d, &every, None) <= 2);
    assert!(held(&d, &every, Some((10_000, 30_000))) <= 2);
    // Merged with a file that ends early: its track ends with its last block.
    let short = long_and_short(10);
    let two = [
        Demuxer::open(&bytes).unwrap(),
        Demuxer::open(&short).unwrap(),
    ];
    let picks = [pick(0, 1, 1), pick(1, 1, 2)];
    assert!(held(&two, &picks, None) <= 2);
    // An empty track (demo's track 2) ends at once.
    let demo = read_reference("demo", "h4mk");
    let d = [Demuxer::open(&demo).unwrap()];
    assert!(held(&d, &every_track(&d[0], 0), None) <= 1);
}

#[test]
fn a_file_crc_that_does_not_hold_is_found_whatever_is_picked() {
    // Whole, every input is read to its end: its file CRC is checked even when no track of
    // it is picked, or it has none.
    let mut bytes = read_reference("demo", "h4mk");
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    let other = read_reference("bframes", "h4mk");
    let d = [
        Demuxer::open(&other).unwrap(),
        Demuxer::open(&bytes).unwrap(),
    ];
    for picks in [every_track(&d[1], 1), every_track(&d[0], 0)] {
        let e = remux_to_vec(&d, &picks, None).unwrap_err();
        match e {
            Error::InInput { input: 1, source } => assert!(
                matches!(*source, Error::Format(h4mk_format::Error::FileCrc { .. })),
                "{source}"
            ),
            e => panic!("{e}"),
        }
    }
}

/// The reference writes tracks that break the GOP rules (one that opens on a P-block, one
/// that ends on a B-block), and remux refused them: 66 of 180 random files a review had the
/// original write. Remux now copies blocks as its inputs hold them: such a file remuxed whole
/// is itself again, and merged with another keeps its blocks, renumbered.
#[test]
fn tracks_the_reference_wrote_against_the_gop_rules_are_copied_as_they_are() {
    use BlockKind::{Bidirectional as B, Key as I, Predictive as P};
    let inputs =
        [(1, 0, P), (2, 0, I), (1, 10, I), (2, 10, B), (1, 20, B)].map(|(track, ts_ms, kind)| {
            Input {
                track,
                ts_ms,
                kind,
                opaque: vec![kind.letter() as u8, track as u8],
            }
        });
    let bytes = reference_mux(&[spec(1), spec(2)], &inputs, true);
    let broken = Demuxer::open(&bytes).unwrap();
    assert!(
        !broken.verify().problems.is_empty(),
        "the file breaks the rules"
    );
    let again = remux_to_vec(
        std::slice::from_ref(&broken),
        &every_track(&broken, 0),
        None,
    );
    assert!(again.unwrap() == bytes, "not itself again");

    let good = read_reference("bframes", "h4mk");
    let d = [Demuxer::open(&good).unwrap(), broken];
    let mut picks = every_track(&d[0], 0);
    picks.extend([pick(1, 1, 7), pick(1, 2, 8)]);
    let merged = remux_to_vec(&d, &picks, None).unwrap();
    let m = Demuxer::open(&merged).unwrap();
    for (track, as_track) in [(1, 7), (2, 8)] {
        let want: Vec<_> = track_blocks(&d[1], track).iter().map(seen).collect();
        let got: Vec<_> = track_blocks(&m, as_track).iter().map(seen).collect();
        assert_eq!(got, want, "track {track} as {as_track}");
    }
}

/// The reference writes whatever values its track specs hold: `sample_rate=44100 / 2` is
/// written `22050.0`, `note=None` is `null`. This crate reads them as `22050` and `""`, and
/// remux wrote those: a file remuxed whole was not itself again, without a word (a
/// compatibility review). Remux now writes such values as the input holds them, under the
/// track's new id too; and Python's `NaN` and `-Infinity`, which made the file unreadable.
#[test]
fn values_the_reference_wrote_as_another_type_are_remuxed_as_written() {
    let plain = reference_mux(
        &[spec(1), spec(2)],
        &[1, 2].map(|track| Input {
            track,
            ts_ms: 0,
            kind: BlockKind::Key,
            opaque: vec![track as u8],
        }),
        false,
    );
    let trak = br#"{"tracks": [{"track_id": 1, "name": 1e+16, "kind": "audio", "codec": "c", "sample_rate": 22050.0, "channels": null, "note": null}, {"track_id": 2, "name": "b", "kind": "audio", "codec": "c", "sample_rate": -Infinity, "channels": [1, "x", NaN], "note": NaN}]}"#;
    // The same file with that track list.
    let file = h4mk_format::ContainerRef::parse(&plain).unwrap();
    let mut w = h4mk_format::Writer::new(
        Vec::new(),
        file.header(),
        h4mk_format::WriterOptions::default(),
    )
    .unwrap();
    for chunk in file.chunks().map(Result::unwrap) {
        let payload = if chunk.tag == h4mk_format::Tag::TRAK {
            &trak[..]
        } else {
            chunk.payload
        };
        w.write_chunk(chunk.tag, chunk.flags, payload).unwrap();
    }
    let bytes = w.finish().unwrap();
    let d = Demuxer::open(&bytes).unwrap();
    assert_eq!(d.track(1).unwrap().sample_rate, 22050);
    let trak_of = |bytes: &[u8]| -> Vec<u8> {
        let d = Demuxer::open(bytes).unwrap();
        let chunk = d.container().chunks().next().unwrap().unwrap();
        assert_eq!(chunk.tag, h4mk_format::Tag::TRAK);
        chunk.payload.to_vec()
    };
    let whole = remux_to_vec(std::slice::from_ref(&d), &every_track(&d, 0), None).unwrap();
    assert_eq!(
        String::from_utf8(trak_of(&whole)).unwrap(),
        String::from_utf8(trak.to_vec()).unwrap()
    );
    // Past the cap on problems kept for reports too (the review's 1,799 tracks).
    let capped = h4mk_format::ParseOptions {
        limits: h4mk_format::Limits {
            max_problems: 1,
            ..h4mk_format::Limits::default()
        },
        ..h4mk_format::ParseOptions::default()
    };
    let few = Demuxer::open_with(&bytes, &capped).unwrap();
    assert!(few.omitted_problems() > 0);
    let whole = remux_to_vec(std::slice::from_ref(&few), &every_track(&few, 0), None).unwrap();
    assert!(trak_of(&whole) == trak);
    // Picked alone, renumbered: its own values kept, the new id written.
    let one = remux_to_vec(std::slice::from_ref(&d), &[pick(0, 2, 9)], None).unwrap();
    assert_eq!(
        String::from_utf8(trak_of(&one)).unwrap(),
        r#"{"tracks": [{"track_id": 9, "name": "b", "kind": "audio", "codec": "c", "sample_rate": -Infinity, "channels": [1, "x", NaN], "note": NaN}]}"#
    );
}

#[test]
fn sparse_tracks_and_tracks_that_start_late_hold_nothing_back() {
    // Track 1 every 20 ms for 40 s; track 2 at 0 and at 40 s only.
    let inputs = with_a_sparse_track(2_000, 40_000);
    let specs = [spec(1), spec(2)];
    let sparse = mux(&specs, &inputs, MuxOptions::default());
    let late_inputs: Vec<Input> = inputs
        .iter()
        .filter(|b| b.track == 1 && b.ts_ms >= 30_000)
        .cloned()
        .collect();
    let late = mux(&specs[..1], &late_inputs, MuxOptions::default());
    let d = [
        Demuxer::open(&sparse).unwrap(),
        Demuxer::open(&late).unwrap(),
    ];
    let held = |picks: &[Pick]| {
        let (out, summary) = remux(
            Vec::new(),
            &d,
            picks,
            &Sidecars::default(),
            RemuxOptions::default(),
        )
        .unwrap();
        assert!(Demuxer::open(&out).unwrap().verify().is_ok());
        summary.written.peak_held_blocks
    };
    // Without a promise that covers every track, track 2 could still send pts 20, and the
    // track from the second file could still send pts 0: 1,999 and 1,500 blocks waited.
    assert!(held(&every_track(&d[0], 0)) <= 2);
    assert!(held(&[pick(0, 1, 1), pick(1, 1, 2)]) <= 2);
}

#[test]
fn an_input_out_of_pts_order_is_refused_naming_the_block() {
    // Written as a writer other than the reference might: track 2's block at 10 ms before
    // track 1's at 5 ms. Each track's own pts go forward, so it opens and plans.
    let mut w = h4mk_format::Writer::new(
        Vec::new(),
        &h4mk_format::FileHeader::default(),
        h4mk_format::WriterOptions::default(),
    )
    .unwrap();
    let specs = [spec(1), spec(2)];
    w.write_chunk(
        h4mk_format::Tag::TRAK,
        0,
        &h4mk_mt::encode_track_list(&specs).unwrap(),
    )
    .unwrap();
    let mut late_at = 0;
    for (track, ts_ms, kind) in [
        (1, 0, BlockKind::Key),
        (2, 10, BlockKind::Key),
        (1, 5, BlockKind::Predictive),
    ] {
        let flags = h4mk_gop::GopFlags::new(ts_ms, kind).unwrap().to_bits();
        late_at = w
            .write_chunk_parts(
                h4mk_format::Tag::CORE,
                flags,
                &[&h4mk_mt::route_header(track), b"x"],
            )
            .unwrap();
    }
    let bytes = w.finish().unwrap();
    let d = [Demuxer::open(&bytes).unwrap()];
    let e = remux_to_vec(&d, &every_track(&d[0], 0), None).unwrap_err();
    assert_eq!(e.offset(), Some(late_at), "{e}");
    match e {
        Error::InInput { input: 0, source } => assert!(
            matches!(
                *source,
                Error::OutOfOrder {
                    ts_ms: 5,
                    prev_ts_ms: 10,
                    ..
                }
            ),
            "{source}"
        ),
        e => panic!("{e}"),
    }
}

#[test]
fn a_span_that_ends_before_it_starts_is_the_caller_s_error() {
    let bytes = read_reference("demo", "h4mk");
    let d = [Demuxer::open(&bytes).unwrap()];
    let e = remux_to_vec(&d, &every_track(&d[0], 0), Some((9, 8))).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Gop(h4mk_gop::Error::InvalidRange { t0_ms: 9, t1_ms: 8 })
        ),
        "{e}"
    );
}

#[test]
fn a_cut_does_not_walk_the_file_for_an_empty_track() {
    // Track 1 every 20 ms for 40 s, track 2 listed but empty; a block near the end damaged.
    let specs = [spec(1), spec(2)];
    let mut bytes = mux(&specs, &every_20_ms(2_000), MuxOptions::default());
    damage_block(&mut bytes, 1, 1_990);
    let d = [Demuxer::open(&bytes).unwrap()];
    // Looking for track 2's blocks after the span used to walk on to the damage, and fail.
    let out = remux_to_vec(&d, &every_track(&d[0], 0), Some((1_000, 2_000))).unwrap();
    let o = Demuxer::open(&out).unwrap();
    assert_eq!(o.tracks().len(), 2);
    assert!(track_blocks(&o, 2).is_empty());
    assert!(!track_blocks(&o, 1).is_empty());
}

/// A sparse track (captions at 0 ms and at the end) made a one-second cut, and a chain or
/// range of it, walk the file to its next block (a scale review: a 1 s cut of a 1 GiB file
/// read all of it). Blocks are in pts order across tracks, so the walk ends at the first
/// block past the span, of any track, when the track's seek table shows it goes on.
#[test]
fn a_sparse_track_does_not_walk_a_cut_to_its_next_block() {
    // Track 1 every 20 ms for 40 s; track 2 a keyframe at 0 and one at 39,990 ms; a block
    // of track 1 near the end damaged, which a walk to the end meets.
    let inputs = with_a_sparse_track(2_000, 39_990);
    let specs = [spec(1), spec(2)];
    let mut bytes = mux(&specs, &inputs, MuxOptions::default());
    damage_block(&mut bytes, 1, 1_990);
    let d = [Demuxer::open(&bytes).unwrap()];
    let out = remux_to_vec(&d, &every_track(&d[0], 0), Some((1_000, 2_000))).unwrap();
    let o = Demuxer::open(&out).unwrap();
    // The caption shown over the span, which goes on after it, is kept.
    let kept: Vec<u32> = track_blocks(&o, 2).iter().map(|b| b.ts_ms).collect();
    assert_eq!(kept, [0]);
    assert!(!track_blocks(&o, 1).is_empty());
    let chain = d[0].chain(2, 1_500).unwrap();
    assert_eq!(chain.iter().map(|s| s.block.ts_ms).collect::<Vec<_>>(), [0]);
    // No block of track 2 has a pts in the span, and finding so does not walk to the end.
    assert!(d[0].range(2, 1_000, 2_000).unwrap().is_empty());
    // Past the damage, the walk meets it.
    assert!(d[0].chain(2, 39_850).unwrap_err().is_damage());
}

/// A lenient cut read past a damaged block of a picked track with no window (its only
/// keyframe damaged, so the lenient rebuild left its table empty), and wrote the file
/// without that track's block and without a word (a diff review). A cut plans several
/// tracks, and its leads reach before its windows: it reads past no damage, in either mode.
#[test]
fn a_lenient_cut_reads_past_no_damage() {
    let block = |track: u16, ts_ms: u32, kind: BlockKind| Input {
        track,
        ts_ms,
        kind,
        opaque: vec![track as u8; 4],
    };
    let inputs = [
        block(1, 13, BlockKind::Key),
        block(2, 20, BlockKind::Key),
        block(2, 384, BlockKind::Predictive),
    ];
    // No index, as a writer that crashed leaves a file.
    let clean = reference_mux(&[spec(1), spec(2)], &inputs, false);
    let keyframe = Demuxer::open(&clean)
        .unwrap()
        .blocks()
        .map(Result::unwrap)
        .find(|b| b.track == 2)
        .unwrap()
        .offset;
    let mut bytes = clean.clone();
    bytes[usize::try_from(keyframe).unwrap() + 9] ^= 1;
    fix_file_crc(&mut bytes);
    // Strict, the open fails already: rebuilding the index meets the damage.
    let cut = |bytes: &[u8], opts: &ParseOptions| {
        let d = [Demuxer::open_with(bytes, opts)?];
        remux_to_vec(&d, &every_track(&d[0], 0), Some((40, 200)))
    };
    let strict = ParseOptions::default();
    let whole = cut(&clean, &strict).unwrap();
    let kept: Vec<(u16, u32)> = Demuxer::open(&whole)
        .unwrap()
        .blocks()
        .map(|b| b.map(|b| (b.track, b.ts_ms)).unwrap())
        .collect();
    assert_eq!(kept, [(2, 20)]);
    for opts in [strict, ParseOptions::lenient()] {
        let err = cut(&bytes, &opts).unwrap_err();
        assert!(err.is_damage(), "{:?}: {err}", opts.mode);
    }
}

#[test]
fn a_cut_open_to_the_end_reads_to_the_end_of_the_file() {
    // Track 1 every 20 ms to 1,980 ms, track 2 on to 3,980 ms; track 2's last block damaged.
    let mut inputs = every_20_ms(100);
    inputs.extend(
        every_20_ms(200)
            .into_iter()
            .map(|b| Input { track: 2, ..b }),
    );
    let specs = [spec(1), spec(2)];
    let mut bytes = mux(&specs, &inputs, MuxOptions::default());
    damage_block(&mut bytes, 2, 199);
    let d = [Demuxer::open(&bytes).unwrap()];
    // Track 1 alone, planned only at its start and ending at 1,980 ms: the file is still read
    // to its end, every chunk CRC checked, as planning the whole span read it, since a damaged
    // chunk after the track's last block could be one of its own.
    for span in [(0, u32::MAX), (500, 2_000)] {
        let e = remux_to_vec(&d, &[pick(0, 1, 1)], Some(span)).unwrap_err();
        match e {
            Error::InInput { input: 0, source } => assert!(
                matches!(*source, Error::Format(h4mk_format::Error::ChunkCrc { .. })),
                "{source}"
            ),
            e => panic!("{e}"),
        }
    }
    // A span that ends before the track does is read to the track's first block after it:
    // here at 1,020 ms, far from the damage. (It keeps 0 to 1,000 ms: the block before
    // 500 ms needs the keyframe at 0.)
    let out = remux_to_vec(&d, &[pick(0, 1, 1)], Some((500, 1_000))).unwrap();
    assert_eq!(track_blocks(&Demuxer::open(&out).unwrap(), 1).len(), 51);
}

/// One track of `blocks` as the reference writes them, with its seek table.
fn one_track(blocks: &[(BlockKind, u32)]) -> Vec<u8> {
    let inputs: Vec<Input> = blocks
        .iter()
        .map(|&(kind, ts_ms)| Input {
            track: 1,
            ts_ms,
            kind,
            opaque: ts_ms.to_le_bytes().to_vec(),
        })
        .collect();
    reference_mux(&[spec(1)], &inputs, true)
}

/// Sets the pts in the flags of the block at payload offset `at` (its CRC left as it was).
fn set_pts(bytes: &mut [u8], at: u64, ts_ms: u32, kind: BlockKind) {
    let flags = h4mk_gop::GopFlags::new(ts_ms, kind).unwrap().to_bits();
    let at = usize::try_from(at).unwrap() - 8;
    bytes[at..at + 4].copy_from_slice(&flags.to_le_bytes());
}

#[test]
fn a_damaged_block_before_a_cut_s_run_does_not_empty_it() {
    use BlockKind::{Bidirectional as B, Key as I, Predictive as P};
    let mut bytes = one_track(&[(I, 0), (B, 5), (P, 10), (I, 20), (P, 30)]);
    // P10 now says 1000 ms, its CRC wrong: damage before the run from I20 that the cut keeps.
    let p10 = {
        let d = Demuxer::open(&bytes).unwrap();
        track_blocks(&d, 1)[2].offset
    };
    set_pts(&mut bytes, p10, 1_000, P);
    let d = [Demuxer::open(&bytes).unwrap()];
    // The plan from the lead (I20, before 25 ms) walks from I0, takes the damaged block as
    // B5's forward anchor and presents nothing; it used to replace the plan that presents
    // I20 and P30, and the cut wrote the track empty.
    for span in [(25, u32::MAX), (25, 30)] {
        let out = remux_to_vec(&d, &[pick(0, 1, 1)], Some(span)).unwrap();
        let kept: Vec<u32> = track_blocks(&Demuxer::open(&out).unwrap(), 1)
            .iter()
            .map(|b| b.ts_ms)
            .collect();
        assert_eq!(kept, [20, 30], "{span:?}");
    }
}

#[test]
fn a_track_out_of_pts_order_is_refused_by_a_cut_open_to_the_end_too() {
    use BlockKind::{Key as I, Predictive as P};
    // Every CRC holds, but the last block is before the one ahead of it: I0 P100 P50, whose
    // last block is from 20 ms on, and I0 I56 P100 P50, whose last block is before 55 ms and
    // before a keyframe.
    for (blocks, pts, t0_ms) in [
        (&[(I, 0), (P, 50), (P, 100)][..], [100, 50], 20),
        (&[(I, 0), (I, 56), (P, 57), (P, 100)], [100, 50], 55),
    ] {
        let mut bytes = one_track(blocks);
        let moved = {
            let d = Demuxer::open(&bytes).unwrap();
            let b = track_blocks(&d, 1);
            [&b[b.len() - 2], &b[b.len() - 1]].map(|b| b.offset)
        };
        for (at, ts_ms) in moved.into_iter().zip(pts) {
            set_pts(&mut bytes, at, ts_ms, P);
            fix_crcs(&mut bytes, usize::try_from(at).unwrap() - 12);
        }
        let d = [Demuxer::open(&bytes).unwrap()];
        assert!(d[0].range(1, t0_ms, u32::MAX).is_err());
        // Planned at its start alone, the cut kept nothing and exited 0. It now meets the
        // disorder, planning the whole span or reading the run it keeps.
        match remux_to_vec(&d, &[pick(0, 1, 1)], Some((t0_ms, u32::MAX))).unwrap_err() {
            Error::InInput { input: 0, source } => assert!(
                matches!(
                    *source,
                    Error::BlocksUnsorted {
                        ts_ms: 50,
                        prev_ts_ms: 100,
                        ..
                    } | Error::OutOfOrder {
                        ts_ms: 50,
                        prev_ts_ms: 100,
                        ..
                    }
                ),
                "{source}"
            ),
            e => panic!("{e}"),
        }
    }
}

/// A span where no block starts keeps the block shown at its start, as `chain` plans it, when
/// the track goes on after the span: a cut inside one block used to keep nothing and exit 0.
/// A track that ends before the span keeps nothing, so it cannot set a cut's zero point.
#[test]
fn a_span_inside_one_block_keeps_that_block() {
    use BlockKind::{Bidirectional as B, Key as I, Predictive as P};
    let bytes = one_track(&[(I, 0), (P, 100), (I, 200), (B, 250), (P, 300), (P, 400)]);
    let d = [Demuxer::open(&bytes).unwrap()];
    for (span, expected) in [
        // Inside P100: it and the keyframe it needs.
        ((120, 150), &[0, 100][..]),
        // Inside B250, decoded after its forward anchor P300.
        ((260, 290), &[200, 250, 300]),
        // Inside P300, the track going on with P400.
        ((320, 380), &[200, 250, 300]),
        // After the last block, to a time or to the end: nothing.
        ((450, 500), &[]),
        ((450, u32::MAX), &[]),
        // A block starting in the span: the block before it is kept as before.
        ((150, 250), &[0, 100, 200, 250, 300]),
    ] {
        let shown = d[0].chain(1, span.0).unwrap();
        let out = remux_to_vec(&d, &[pick(0, 1, 1)], Some(span)).unwrap();
        let o = Demuxer::open(&out).unwrap();
        let kept: Vec<u32> = track_blocks(&o, 1).iter().map(|b| b.ts_ms).collect();
        assert_eq!(kept, expected, "{span:?}");
        // A cut that keeps the track shows at its start what the whole track shows there.
        if !expected.is_empty() {
            let at_start = o.chain(1, span.0).unwrap();
            assert_eq!(plan_seen(&at_start), plan_seen(&shown), "{span:?}");
        }
    }
    // A span before a track's first block keeps nothing of it.
    let late = one_track(&[(I, 500), (P, 600)]);
    let d = [Demuxer::open(&late).unwrap()];
    let out = remux_to_vec(&d, &[pick(0, 1, 1)], Some((100, 200))).unwrap();
    assert!(track_blocks(&Demuxer::open(&out).unwrap(), 1).is_empty());
}

/// A track that ended before a cut keeps nothing, so moving the cut to start at zero moves it
/// by the other track's first kept pts, not by the ended track's last block.
#[test]
fn a_track_that_ended_before_a_cut_does_not_set_its_zero_point() {
    use BlockKind::{Key as I, Predictive as P};
    let block = |track, ts_ms: u32, kind| Input {
        track,
        ts_ms,
        kind,
        opaque: ts_ms.to_le_bytes().to_vec(),
    };
    // Track 1 from 0 to 900 ms; track 2 from 0 to 9,900 ms, a keyframe every second.
    let mut inputs: Vec<Input> = (0..10u32)
        .map(|i| block(1, i * 100, if i == 0 { I } else { P }))
        .collect();
    inputs.extend((0..100u32).map(|i| block(2, i * 100, if i % 10 == 0 { I } else { P })));
    inputs.sort_by_key(|b| (b.ts_ms, b.track));
    let bytes = mux(&[spec(1), spec(2)], &inputs, MuxOptions::default());
    let d = [Demuxer::open(&bytes).unwrap()];
    let opts = RemuxOptions {
        span: Some((5_000, 6_000)),
        start_at_zero: true,
        ..RemuxOptions::default()
    };
    let picks = every_track(&d[0], 0);
    let (out, summary) = remux(Vec::new(), &d, &picks, &Sidecars::default(), opts).unwrap();
    // Track 2 is kept from the keyframe at 4,000 ms its lead (P4900) needs.
    assert_eq!(summary.shifted_ms, 4_000);
    let o = Demuxer::open(&out).unwrap();
    assert!(track_blocks(&o, 1).is_empty());
    assert_eq!(track_blocks(&o, 2).first().map(|b| b.ts_ms), Some(0));
}

/// Chunks of tags this crate does not read have no place in a remux: they are left out, and
/// the summary of a whole remux says how many and where the first was (they went without a
/// word, a docs review found). A cut keeps the blocks of its span and nothing else, and lists
/// none: it reads only part of the file, and counting what it read (a first version did)
/// named some of the chunks it left out and not others.
#[test]
fn chunks_of_unknown_tags_left_out_are_counted() {
    let mut w = h4mk_format::Writer::new(
        Vec::new(),
        &h4mk_format::FileHeader::default(),
        h4mk_format::WriterOptions::default(),
    )
    .unwrap();
    let trak = h4mk_mt::encode_track_list(&[spec(1)]).unwrap();
    w.write_chunk(h4mk_format::Tag::TRAK, 0, &trak).unwrap();
    let unknown = h4mk_format::Tag(*b"ABCD");
    let first = w.write_chunk(unknown, 0, b"in the head").unwrap();
    for ts_ms in [0, 10, 20, 30] {
        let flags = h4mk_gop::GopFlags::new(ts_ms, BlockKind::Key)
            .unwrap()
            .to_bits();
        w.write_chunk_parts(
            h4mk_format::Tag::CORE,
            flags,
            &[&h4mk_mt::route_header(1), b"k"],
        )
        .unwrap();
        if ts_ms == 20 {
            w.write_chunk(unknown, 0, b"among the blocks").unwrap();
        }
    }
    let bytes = w.finish().unwrap();
    let d = [Demuxer::open(&bytes).unwrap()];
    let summary = |span| {
        let opts = RemuxOptions {
            span,
            ..RemuxOptions::default()
        };
        let sidecars = d[0].sidecars();
        remux(Vec::new(), &d, &every_track(&d[0], 0), &sidecars, opts)
            .unwrap()
            .1
            .unknown_chunks
    };
    let both = h4mk_mt::UnknownChunks {
        count: 2,
        first: Some((unknown, first)),
    };
    assert_eq!(summary(None), [(0, both)]);
    for span in [(0, 5), (25, u32::MAX), (0, u32::MAX)] {
        assert_eq!(summary(Some(span)), [], "{span:?}");
    }
}
