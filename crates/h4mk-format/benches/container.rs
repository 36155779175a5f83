//! Throughput of the chunk layer next to raw crc32fast over the same bytes.
#![allow(clippy::unwrap_used, missing_docs)] // Benches fail loudly; criterion generates undocumented items.
//!
//! `cargo bench -p h4mk-format --bench container`; docs/PERFORMANCE.md reports the ratios.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use h4mk_format::{
    ChunkReader, ContainerRef, FileHeader, ParseOptions, Tag, Writer, WriterOptions,
};

/// Payload sizes of 40..4000 bytes from a fixed xorshift seed, until `total` bytes.
fn payloads(total: usize) -> Vec<Vec<u8>> {
    let mut x = 0x2545_f491u32;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let mut out = Vec::new();
    let mut size = 0;
    while size < total {
        let len = 40 + (next() % 3961) as usize;
        let byte = next() as u8;
        out.push(
            (0..len)
                .map(|i| byte.wrapping_add(i as u8))
                .collect::<Vec<u8>>(),
        );
        size += len + 16;
    }
    out
}

fn container(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), &FileHeader::default(), WriterOptions::default()).unwrap();
    for (i, p) in payloads.iter().enumerate() {
        w.write_chunk(Tag::CORE, i as u32 & 0x0fff_ffff, p).unwrap();
    }
    w.finish().unwrap()
}

const SIZES: [(&str, usize); 4] = [
    ("4KiB", 4 << 10),
    ("1MiB", 1 << 20),
    ("64MiB", 64 << 20),
    ("256MiB", 256 << 20),
];

fn bench(c: &mut Criterion) {
    for (label, size) in SIZES {
        let chunks = payloads(size);
        let file = container(&chunks);
        let bytes = file.len() as u64;
        let mut group = c.benchmark_group(format!("container/{label}"));
        group.throughput(Throughput::Bytes(bytes));
        if size >= 64 << 20 {
            group.sample_size(10);
        }
        group.bench_function(BenchmarkId::new("crc_raw", label), |b| {
            b.iter(|| crc32fast::hash(&file))
        });
        group.bench_function(BenchmarkId::new("verify", label), |b| {
            b.iter(|| {
                let v = ContainerRef::parse(&file).unwrap().verify();
                assert!(v.is_ok());
                v.intact_chunks
            })
        });
        if size <= 64 << 20 {
            group.bench_function(BenchmarkId::new("parse_slice", label), |b| {
                b.iter(|| {
                    ContainerRef::parse(&file)
                        .unwrap()
                        .chunks()
                        .map(|c| c.unwrap().payload.len())
                        .sum::<usize>()
                })
            });
            group.bench_function(BenchmarkId::new("stream_read", label), |b| {
                let mut buf = Vec::new();
                b.iter(|| {
                    let mut r = ChunkReader::new(&file[..], ParseOptions::default()).unwrap();
                    let mut n = 0;
                    while r.next_chunk(&mut buf).unwrap().is_some() {
                        n += 1;
                    }
                    n
                })
            });
            group.bench_function(BenchmarkId::new("write", label), |b| {
                // One buffer for every iteration: the figure is the writer, not page faults.
                let mut buf = Vec::with_capacity(file.len());
                b.iter(|| {
                    buf.clear();
                    let mut w =
                        Writer::new(&mut buf, &FileHeader::default(), WriterOptions::default())
                            .unwrap();
                    for p in &chunks {
                        w.write_chunk(Tag::CORE, 0, p).unwrap();
                    }
                    w.finish().unwrap();
                    buf.len()
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
