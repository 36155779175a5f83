//! `SeekTable::lookup` at 1,000 and 1,000,000 entries: the cost should grow with log n.
//!
//! A version 1 TSEK table holds at most 65,535 entries (u16 count, docs/FORMAT.md §4), so:
//! - `table/1000` and `table/65535` time the public [`SeekTable::lookup`] on payloads built
//!   here in the layout of docs/FORMAT.md §2.4;
//! - `entries/1000` and `entries/1000000` time the same search over bare entry bytes
//!   (`bench_internals::lookup_entries`, the code `lookup` calls), free of the count limit.
//!
//! Each iteration runs a fixed set of scattered probe times; the throughput is lookups.

#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented pub fn"
)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use h4mk_gop::bench_internals::lookup_entries;
use h4mk_gop::{HEADER_SIZE, SeekEntry, SeekTable, SeekTableBuf};

const PROBES: usize = 1024;
const FRAME_MS: u64 = 40;

fn entries(n: usize) -> Vec<SeekEntry> {
    (0..n as u64)
        .map(|i| SeekEntry {
            ts_ms: u32::try_from(i * FRAME_MS).expect("pts fits"),
            offset: 16 + i * 64,
        })
        .collect()
}

/// Entry bytes without the 16-byte header, built like a payload but for any count.
fn entry_bytes(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 8);
    for e in entries(n) {
        out.extend_from_slice(&e.ts_ms.to_le_bytes());
        out.extend_from_slice(&u32::try_from(e.offset).expect("offset fits").to_le_bytes());
    }
    out
}

/// Probe times spread over the table, in a scattered order so that caches and branch predictors
/// see no pattern (xorshift64).
fn probes(n: usize) -> Vec<u32> {
    let span = n as u64 * FRAME_MS;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..PROBES)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            u32::try_from(x % span).expect("probe fits")
        })
        .collect()
}

fn lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("seek_lookup");
    group.throughput(Throughput::Elements(PROBES as u64));

    for n in [1_000usize, 65_535] {
        let payload = SeekTableBuf {
            track_id: 1,
            entries: entries(n),
        }
        .to_bytes()
        .expect("v1 table");
        let table = SeekTable::parse(&payload).expect("valid table");
        let times = probes(n);
        group.bench_with_input(BenchmarkId::new("table", n), &times, |b, times| {
            b.iter(|| {
                for &t in times {
                    black_box(table.lookup(black_box(t)));
                }
            })
        });
    }

    for n in [1_000usize, 1_000_000] {
        let bytes = entry_bytes(n);
        let times = probes(n);
        // The bare search must agree with the public one where both apply.
        if n == 1_000 {
            let payload = SeekTableBuf {
                track_id: 1,
                entries: entries(n),
            }
            .to_bytes()
            .expect("v1");
            assert_eq!(&payload[HEADER_SIZE..], &bytes[..]);
            let table = SeekTable::parse(&payload).expect("valid table");
            assert!(
                times
                    .iter()
                    .all(|&t| table.lookup(t) == lookup_entries(&bytes, t))
            );
        }
        group.bench_with_input(BenchmarkId::new("entries", n), &times, |b, times| {
            b.iter(|| {
                for &t in times {
                    black_box(lookup_entries(black_box(&bytes), black_box(t)));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, lookup);
criterion_main!(benches);
