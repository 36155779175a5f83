//! Property tests: the streaming muxer writes what the reference's stable sort writes, for
//! any hand-over order, with or without tracks advanced to their next pts; and decode plans
//! walked over a window from the index equal plans over the whole track, errors included.

use h4mk_gop::BlockKind;
use h4mk_mt::{
    BlockRef, DecodeStep, Demuxer, Error, IndexProblem, IndexStatus, MuxOptions, plan_chain,
    plan_range,
};
use proptest::prelude::*;

use crate::reference_fixtures::read_reference;
use crate::support::{
    Input, mux, mux_advancing, offsets, reference_mux, reference_mux_keeping, spec,
};

/// Per-track block lists (kinds and pts steps) and a hand-over interleaving.
#[derive(Clone, Debug)]
pub(crate) struct Case {
    pub ids: Vec<u16>,
    tracks: Vec<Vec<(BlockKind, u32)>>,
    picks: Vec<usize>,
}

fn kind() -> impl Strategy<Value = BlockKind> {
    prop_oneof![
        2 => Just(BlockKind::Key),
        4 => Just(BlockKind::Predictive),
        3 => Just(BlockKind::Bidirectional)
    ]
}

pub(crate) fn case() -> impl Strategy<Value = Case> {
    let ids = prop::sample::subsequence(vec![1u16, 2, 3, 7, 65535], 1..=3).prop_shuffle();
    ids.prop_flat_map(|ids| {
        let n = ids.len();
        let step = prop_oneof![Just(0u32), Just(0), Just(1), Just(5), Just(17)];
        let track = prop::collection::vec((kind(), step), 0..24);
        (
            Just(ids),
            prop::collection::vec(track, n),
            prop::collection::vec(0usize..8, 0..80),
        )
    })
    .prop_map(|(ids, tracks, picks)| Case { ids, tracks, picks })
}

impl Case {
    /// Makes every track follow the muxer's GOP rules: first block I, last not B.
    pub(crate) fn valid(mut self) -> Case {
        for t in &mut self.tracks {
            if let Some(first) = t.first_mut() {
                first.0 = BlockKind::Key;
            }
            if let Some(last) = t.last_mut()
                && last.0 == BlockKind::Bidirectional
            {
                last.0 = BlockKind::Predictive;
            }
        }
        self
    }

    /// The blocks in hand-over order: per-track order kept, tracks interleaved by `picks`.
    pub(crate) fn inputs(&self) -> Vec<Input> {
        let mut queues: Vec<std::collections::VecDeque<Input>> = self
            .ids
            .iter()
            .zip(&self.tracks)
            .map(|(&track, blocks)| {
                let mut ts = 0;
                blocks
                    .iter()
                    .enumerate()
                    .map(|(i, &(kind, step))| {
                        ts += step;
                        Input {
                            track,
                            ts_ms: ts,
                            kind,
                            opaque: format!("{track}:{i}").into_bytes(),
                        }
                    })
                    .collect()
            })
            .collect();
        let mut out = Vec::new();
        let mut picks = self.picks.iter().copied().cycle();
        while queues.iter().any(|q| !q.is_empty()) {
            let live: Vec<usize> = (0..queues.len())
                .filter(|&i| !queues[i].is_empty())
                .collect();
            let pick = live[picks.next().unwrap_or(0) % live.len()];
            out.extend(queues[pick].pop_front());
        }
        out
    }

    pub(crate) fn specs(&self) -> Vec<h4mk_mt::TrackSpec> {
        self.ids.iter().map(|&i| spec(i)).collect()
    }

    pub(crate) fn times(&self) -> Vec<u32> {
        let mut ts: Vec<u32> = self
            .inputs()
            .iter()
            .flat_map(|b| [b.ts_ms, b.ts_ms + 1, b.ts_ms.saturating_sub(1)])
            .collect();
        ts.extend([0, u32::MAX]);
        ts.sort_unstable();
        ts.dedup();
        ts
    }
}

fn render(r: Result<Vec<DecodeStep<'_>>, Error>) -> Result<Vec<(u64, char)>, String> {
    r.map(|s| {
        s.iter()
            .map(|s| (s.block.offset, s.kind.letter()))
            .collect()
    })
    .map_err(|e| e.to_string())
}

/// Windowed plans equal plans over the whole track, for every track and time of interest.
fn check_windows(bytes: &[u8], case: &Case) -> Result<(), TestCaseError> {
    let d = Demuxer::open(bytes).unwrap();
    let all: Vec<BlockRef<'_>> = d.blocks().map(Result::unwrap).collect();
    let times = case.times();
    for &track in &case.ids {
        let full: Vec<BlockRef<'_>> = all.iter().copied().filter(|b| b.track == track).collect();
        for &t in &times {
            prop_assert_eq!(
                render(d.chain(track, t)),
                render(plan_chain(&full, t)),
                "chain({}, {})",
                track,
                t
            );
        }
        for (i, &t0) in times.iter().enumerate() {
            for &t1 in times.iter().skip(i).step_by(3) {
                prop_assert_eq!(
                    render(d.range(track, t0, t1)),
                    render(plan_range(&full, t0, t1)),
                    "range({}, {}, {})",
                    track,
                    t0,
                    t1
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn the_muxer_writes_what_the_stable_sort_writes(case in case(), locator in any::<bool>()) {
        let case = case.valid();
        let inputs = case.inputs();
        let opts = MuxOptions { index_locator: locator, ..MuxOptions::default() };
        let ours = mux(&case.specs(), &inputs, opts);
        prop_assert!(mux_advancing(&case.specs(), &inputs, opts) == ours, "advancing changed bytes");
        let theirs = reference_mux(&case.specs(), &inputs, true);
        if locator {
            // Everything but the locator (56 bytes) and the file CRC is the same.
            prop_assert_eq!(&ours[..theirs.len() - 4], &theirs[..theirs.len() - 4]);
            prop_assert_eq!(ours.len(), theirs.len() + 56);
        } else {
            prop_assert!(ours == theirs);
        }
        check_windows(&ours, &case)?;
    }

    #[test]
    fn windowed_plans_equal_full_plans_on_reference_style_files(case in case(), tables in any::<bool>()) {
        // No GOP rule enforced: tracks may open on P or B and end on B; with `tables` false the
        // index is rebuilt.
        let bytes = reference_mux(&case.specs(), &case.inputs(), tables);
        check_windows(&bytes, &case)?;
    }

    #[test]
    fn windowed_plans_equal_full_plans_when_tables_leave_keyframes_out(case in case(), mask in any::<u64>()) {
        // Each track's table keeps the I-blocks whose bit of `mask` (turned by the track id)
        // is set: a plan that walks past one it left out rebuilds the index.
        let keep = |track: u16, i: usize| mask.rotate_left(u32::from(track)) >> (i % 64) & 1 == 1;
        let bytes = reference_mux_keeping(&case.specs(), &case.inputs(), Some(&keep));
        check_windows(&bytes, &case)?;
    }
}

#[test]
fn a_table_that_leaves_out_the_first_keyframes_is_noticed_and_rebuilt() {
    // Track 1: I0 P10 I20 P30, its table listing only I20 (or nothing), as an edited file's
    // might. Before the first listed entry, a plan walks from the first block.
    let inputs: Vec<Input> = [
        (0, BlockKind::Key),
        (10, BlockKind::Predictive),
        (20, BlockKind::Key),
        (30, BlockKind::Predictive),
    ]
    .into_iter()
    .map(|(ts_ms, kind)| Input {
        track: 1,
        ts_ms,
        kind,
        opaque: vec![ts_ms as u8],
    })
    .collect();
    for listed in [&[1usize][..], &[]] {
        let keep = |_: u16, i: usize| listed.contains(&i);
        let bytes = reference_mux_keeping(&[spec(1)], &inputs, Some(&keep));
        let d = Demuxer::open(&bytes).unwrap();
        assert_eq!(*d.index_status(), IndexStatus::Trailing, "{listed:?}");
        let blocks: Vec<BlockRef<'_>> = d.blocks().map(Result::unwrap).collect();
        assert_eq!(
            offsets(&d.chain(1, 10).unwrap()),
            [blocks[0].offset, blocks[1].offset],
            "{listed:?}"
        );
        assert_eq!(
            *d.index_status(),
            IndexStatus::Rebuilt {
                reason: IndexProblem::Unlisted {
                    track: 1,
                    ts_ms: 0,
                    offset: blocks[0].offset
                }
            },
            "{listed:?}"
        );
        assert_eq!(d.seek_table(1).unwrap().len(), 2, "{listed:?}");
        assert_eq!(
            d.index_status().to_string(),
            format!(
                "rebuilt by a full scan: the seek table of track 1 does not list its I-block at payload offset {} (0 ms)",
                blocks[0].offset
            )
        );
    }
}

#[test]
fn many_tracks_take_the_ordered_set_path_and_write_the_same_bytes() {
    // Over 16 tracks the muxer keeps its bounds in an ordered set instead of scanning.
    let ids: Vec<u16> = (0..40u16).map(|i| i * 1637 % 997).collect();
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let tracks: Vec<Vec<(BlockKind, u32)>> = ids
        .iter()
        .map(|_| {
            (0..30)
                .map(|_| {
                    (
                        if next() % 4 == 0 {
                            BlockKind::Key
                        } else {
                            BlockKind::Predictive
                        },
                        (next() % 3) as u32 * 10,
                    )
                })
                .collect()
        })
        .collect();
    let picks = (0..200).map(|_| (next() % 40) as usize).collect();
    let case = Case { ids, tracks, picks }.valid();
    let inputs = case.inputs();
    let ours = mux(&case.specs(), &inputs, MuxOptions::default());
    assert!(ours == reference_mux(&case.specs(), &inputs, true));
    assert!(ours == mux_advancing(&case.specs(), &inputs, MuxOptions::default()));
}

/// What, for which track and times, and the plan rendered by [`render`].
type NamedPlan = (
    &'static str,
    u16,
    u32,
    u32,
    Result<Vec<(u64, char)>, String>,
);

/// One flipped byte anywhere in a file either leaves every plan as it was or makes the
/// planning fail: a damaged tag, track id or pts in the window would otherwise hide a block of
/// the track and change the plan without a word (a review found `chain` answering with the
/// keyframe alone, exit 0, for a P-block whose pts byte was hit).
#[test]
fn a_flipped_byte_never_changes_a_plan_silently() {
    for name in ["demo", "bframes", "sidecars", "unicode_and_empty_track"] {
        let file = read_reference(name, "h4mk");
        let plans = |bytes: &[u8]| -> Option<Vec<NamedPlan>> {
            let d = Demuxer::open(bytes).ok()?;
            let mut times: Vec<u32> = d
                .blocks()
                .filter_map(Result::ok)
                .flat_map(|b| [b.ts_ms.saturating_sub(1), b.ts_ms, b.ts_ms + 1])
                .chain([0, u32::MAX])
                .collect();
            times.sort_unstable();
            times.dedup();
            let mut out = Vec::new();
            for track in d.tracks().iter().map(|t| t.track_id) {
                for (i, &t) in times.iter().enumerate() {
                    out.push(("chain", track, t, t, render(d.chain(track, t))));
                    let t1 = times.get(i + 3).copied().unwrap_or(u32::MAX);
                    out.push(("range", track, t, t1, render(d.range(track, t, t1))));
                }
            }
            Some(out)
        };
        let want = plans(&file).unwrap();
        for at in 0..file.len() {
            let mut bytes = file.clone();
            bytes[at] ^= 0xFF;
            let Some(got) = plans(&bytes) else { continue };
            for (op, track, t0, t1, plan) in got {
                let Ok(plan) = plan else { continue };
                // Damage may make a track or a time disappear, never a different answer.
                if let Some((.., expect)) = want
                    .iter()
                    .find(|w| (w.0, w.1, w.2, w.3) == (op, track, t0, t1))
                {
                    assert_eq!(
                        Ok(&plan),
                        expect.as_ref(),
                        "{name} with byte {at} flipped: {op} of track {track}, {t0}..={t1} ms"
                    );
                }
            }
        }
    }
}
