//! Property tests: the planner against the oracle, seek tables and flags against their layouts.

use h4mk_gop::{
    BlockInfo, BlockKind, Error, GopFlags, MAX_TIMESTAMP_MS, SeekEntry, SeekTable, SeekTableBuf,
};
use proptest::prelude::*;

use crate::oracle;

const I: BlockKind = BlockKind::Key;
const P: BlockKind = BlockKind::Predictive;
const B: BlockKind = BlockKind::Bidirectional;

/// Any mix of kinds, keyframes rarer than the rest.
fn any_kinds() -> impl Strategy<Value = Vec<BlockKind>> {
    prop::collection::vec(prop_oneof![1 => Just(I), 3 => Just(P), 3 => Just(B)], 0..50)
}

/// GOP-shaped sequences: maybe some P/B before the first I, then GOPs of
/// `I (B* P)* B*` with random lengths and B runs, maybe trailing B's with no anchor after them.
fn gop_kinds() -> impl Strategy<Value = Vec<BlockKind>> {
    let junk = prop::collection::vec(prop_oneof![Just(P), Just(B)], 0..3);
    let group = (0usize..4, any::<bool>());
    let gop = (prop::collection::vec(group, 0..6), 0usize..3);
    (
        prop_oneof![3 => Just(Vec::new()), 1 => junk],
        prop::collection::vec(gop, 0..5),
        prop_oneof![3 => Just(0usize), 1 => 1usize..3],
    )
        .prop_map(|(lead, gops, trailing_b)| {
            let mut kinds = lead;
            for (groups, tail_b) in gops {
                kinds.push(I);
                for (b_run, then_p) in groups {
                    kinds.extend(std::iter::repeat_n(B, b_run));
                    if then_p {
                        kinds.push(P);
                    }
                }
                kinds.extend(std::iter::repeat_n(B, tail_b));
            }
            kinds.extend(std::iter::repeat_n(B, trailing_b));
            kinds
        })
}

/// Blocks with non-decreasing pts, often equal.
fn blocks() -> impl Strategy<Value = Vec<BlockInfo>> {
    (prop_oneof![any_kinds(), gop_kinds()], 0u32..30)
        .prop_flat_map(|(kinds, start)| {
            let n = kinds.len();
            (
                Just(kinds),
                Just(start),
                prop::collection::vec(prop_oneof![Just(0u32), 1u32..40], n),
            )
        })
        .prop_map(|(kinds, start, deltas)| {
            let mut ts = start;
            kinds
                .into_iter()
                .zip(deltas)
                .map(|(kind, d)| {
                    ts += d;
                    BlockInfo { ts_ms: ts, kind }
                })
                .collect()
        })
}

/// Times worth asking about: every pts and its neighbours, and both extremes.
fn probe_times(blocks: &[BlockInfo]) -> Vec<u32> {
    let mut times = vec![0, u32::MAX];
    for b in blocks {
        times.extend([b.ts_ms.saturating_sub(1), b.ts_ms, b.ts_ms + 1]);
    }
    times.sort_unstable();
    times.dedup();
    times
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn chain_agrees_with_oracle(blocks in blocks()) {
        for t in probe_times(&blocks) {
            let got = h4mk_gop::chain(&blocks, t);
            prop_assert_eq!(&got, &oracle::chain(&blocks, t), "t={}", t);
            if let Ok(steps) = got
                && let Some(last) = steps.last()
            {
                let target = blocks.iter().rposition(|b| b.ts_ms <= t).unwrap();
                prop_assert_eq!(last.index, target);
                oracle::drive(&blocks, &steps, &[target]);
            }
        }
    }

    #[test]
    fn range_agrees_with_oracle(blocks in blocks(), a in 0u32..600, b in 0u32..600) {
        let (t0, t1) = (a.min(b), a.max(b));
        let got = h4mk_gop::range(&blocks, t0, t1);
        prop_assert_eq!(&got, &oracle::range(&blocks, t0, t1));
        if let Ok(steps) = got {
            let shown: Vec<usize> =
                (0..blocks.len()).filter(|&i| (t0..=t1).contains(&blocks[i].ts_ms)).collect();
            oracle::drive(&blocks, &steps, &shown);
        }
        if a != b {
            prop_assert_eq!(
                h4mk_gop::range(&blocks, t1, t0),
                Err(Error::InvalidRange { t0_ms: t1, t1_ms: t0 })
            );
        }
    }

    #[test]
    fn whole_track_ranges_agree_with_oracle(blocks in blocks()) {
        let got = h4mk_gop::range(&blocks, 0, u32::MAX);
        prop_assert_eq!(&got, &oracle::range(&blocks, 0, u32::MAX));
        if let Ok(steps) = got {
            prop_assert_eq!(steps.len(), blocks.len());
            let all: Vec<usize> = (0..blocks.len()).collect();
            oracle::drive(&blocks, &steps, &all);
        }
    }

    #[test]
    fn unsorted_blocks_are_rejected(
        mut blocks in blocks(),
        swap in any::<prop::sample::Index>(),
        t in 0u32..600,
    ) {
        if blocks.len() >= 2 {
            let i = swap.index(blocks.len() - 1);
            blocks.swap(i, i + 1);
        }
        prop_assert_eq!(h4mk_gop::chain(&blocks, t), oracle::chain(&blocks, t));
        prop_assert_eq!(h4mk_gop::range(&blocks, 0, t), oracle::range(&blocks, 0, t));
    }

    #[test]
    fn flags_from_any_word(bits in any::<u32>()) {
        match GopFlags::try_from(bits) {
            Ok(flags) => {
                prop_assert_eq!(flags.to_bits(), bits);
                prop_assert_eq!(GopFlags::new(flags.timestamp_ms(), flags.kind()), Ok(flags));
            }
            Err(Error::ReservedFlagBits { bits: b }) => {
                prop_assert_eq!(b, bits);
                prop_assert!(bits >> 30 != 0);
            }
            Err(Error::ReservedBlockType { bits: b }) => {
                prop_assert_eq!(b, bits);
                prop_assert_eq!(bits >> 28, 3);
            }
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

    #[test]
    fn flags_round_trip(ts in 0..=MAX_TIMESTAMP_MS, kind in prop_oneof![Just(I), Just(P), Just(B)]) {
        let flags = GopFlags::new(ts, kind).unwrap();
        prop_assert_eq!((flags.timestamp_ms(), flags.kind()), (ts, kind));
        prop_assert_eq!(GopFlags::try_from(flags.to_bits()), Ok(flags));
    }

    #[test]
    fn seek_tables_round_trip_and_look_up_like_a_scan(
        track_id in any::<u16>(),
        steps in prop::collection::vec((0u32..5, 1u64..1000), 0..200),
        probes in prop::collection::vec(any::<u32>(), 0..20),
    ) {
        let (mut ts, mut offset) = (0u32, 0u64);
        let entries: Vec<SeekEntry> = steps
            .into_iter()
            .map(|(dt, doff)| {
                ts += dt;
                offset += doff;
                SeekEntry { ts_ms: ts, offset }
            })
            .collect();
        let buf = SeekTableBuf { track_id, entries };
        let bytes = buf.to_bytes().unwrap();
        prop_assert_eq!(bytes.len(), 16 + 8 * buf.entries.len());
        let table = SeekTable::parse(&bytes).unwrap();
        prop_assert_eq!(table.track_id(), track_id);
        prop_assert_eq!(table.to_buf(), buf.clone());
        let times = buf.entries.iter().flat_map(|e| [e.ts_ms, e.ts_ms + 1]).chain(probes);
        for t in times {
            let scan = buf.entries.iter().rev().find(|e| e.ts_ms <= t).copied();
            prop_assert_eq!(table.lookup(t), scan, "t={}", t);
        }
    }

    /// Blocks in presentation order, put in decode order (each B-block moved after its
    /// forward anchor; none may lack one), come back in presentation order through `PresentationOrder` as they
    /// come, as they do sorted all at once by `presentation_ranks`.
    #[test]
    fn streamed_presentation_order_undoes_decode_order(blocks in blocks()) {
        let mut decode = Vec::new();
        let mut waiting = Vec::new();
        for (i, b) in blocks.iter().enumerate() {
            if b.kind == B {
                waiting.push(i);
            } else {
                decode.push(i);
                decode.append(&mut waiting);
            }
        }
        // B-blocks with no anchor after them have no decode order (a track cannot end on one).
        prop_assume!(waiting.is_empty());
        let mut order = h4mk_gop::PresentationOrder::default();
        let mut streamed = Vec::new();
        for &i in &decode {
            streamed.extend(order.push(blocks[i].ts_ms, blocks[i].kind, i));
            // Held: the last anchor and the B-blocks after it, so one block after an anchor.
            if blocks[i].kind != B {
                prop_assert_eq!(order.held(), 1);
            }
        }
        streamed.extend(order.finish());
        let presented: Vec<usize> = (0..blocks.len()).collect();
        prop_assert_eq!(&streamed, &presented);
        let ranks = h4mk_gop::presentation_ranks(decode.iter().map(|&i| blocks[i].kind));
        let mut sorted: Vec<(usize, u64)> = decode.iter().copied().zip(ranks).collect();
        sorted.sort_by_key(|&(i, rank)| (blocks[i].ts_ms, rank));
        prop_assert_eq!(sorted.into_iter().map(|(i, _)| i).collect::<Vec<_>>(), presented);
    }

    #[test]
    fn seek_parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = SeekTable::parse(&bytes);
    }

    #[test]
    fn damaged_seek_tables_never_panic(
        n in 0usize..10,
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let entries = (0..n as u32).map(|i| SeekEntry { ts_ms: i * 10, offset: u64::from(i) * 100 }).collect();
        let mut bytes = SeekTableBuf { track_id: 1, entries }.to_bytes().unwrap();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let keep = cut.index(bytes.len() + 1);
        if let Ok(table) = SeekTable::parse(&bytes[..keep]) {
            // Whatever parses is internally consistent.
            let all: Vec<SeekEntry> = table.iter().collect();
            prop_assert_eq!(all.len(), table.len());
            prop_assert!(all.windows(2).all(|w| w[0].ts_ms <= w[1].ts_ms && w[0].offset < w[1].offset));
            prop_assert_eq!(table.to_buf().to_bytes().unwrap(), &bytes[..keep]);
        }
    }
}
