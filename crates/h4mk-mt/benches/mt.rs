//! Benchmarks of the multi-track layer.
//!
//! - `open_chain`: open a file and plan one chain, on a 1,000-block file and on a ~1 GiB,
//!   1,000,000-block one (both generated in memory): opening reads only the head and the
//!   index, so the two should differ by the index size, not the file size.
//! - `list_blocks`: route every block of the large file (target: at least 1M blocks/s).
//! - `mux`: mux 64 MiB of blocks (1 KB and 16 KiB each) into memory, against crc32fast over
//!   the bytes written (target: muxing at least half as fast as the CRC alone). Blocks are
//!   handed over with `push` and with `push_borrowed`; with `push` and each track advanced
//!   to its next pts (so no block waits); and, as an encoder would hand them over, each made
//!   into a `Vec` of its own first and given to `push` or moved in with `push_owned`. Also
//!   into `io::sink` (the muxer's own work) and, for scale, the same chunks written straight
//!   through `h4mk_format::Writer` (the chunk layer alone) and a bare loop that only holds
//!   each chunk once, hashes it and copies it out (at 1 KB, the floor for any muxer that has
//!   to hold every block, as here).
#![allow(clippy::unwrap_used, missing_docs)] // Benches fail loudly; criterion generates undocumented items.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use h4mk_format::{CHUNK_HEADER_LEN, ChunkHeader, FileHeader, Tag, Writer};
use h4mk_gop::BlockKind;
use h4mk_mt::{Demuxer, MuxOptions, Muxer, Sidecars, TrackSpec, route_header};

const TRACKS: u16 = 2;
const KEY_EVERY: u32 = 50;

fn specs() -> Vec<TrackSpec> {
    (1..=TRACKS)
        .map(|id| TrackSpec {
            track_id: id,
            name: format!("t{id}"),
            kind: "audio".into(),
            codec: "h4core".into(),
            sample_rate: 48_000,
            channels: 2,
            note: String::new(),
        })
        .collect()
}

/// How blocks are handed to the muxer.
#[derive(Clone, Copy)]
enum HandOver {
    /// `push`: copied when held.
    Copied,
    /// `push`, and after each block its track advanced to its next pts, as a caller that knows
    /// the tracks' cadence does (`h4mk build` from its manifest): no block waits, so none is
    /// copied.
    CopiedAdvanced,
    /// `push_borrowed`: kept by reference when held.
    Borrowed,
    /// Each block first copied into a `Vec` of its own (as an encoder makes its output), then
    /// handed over with `push` and dropped.
    EncodedCopied,
    /// As `EncodedCopied`, but the `Vec` is moved in with `push_owned`.
    EncodedOwned,
}

/// Muxes `blocks` blocks of `size` opaque bytes into `sink`, tracks round robin, 20 ms apart
/// per track (so every block waits for the other track's next one, unless advanced); returns the
/// file's length.
fn mux_to<W: std::io::Write>(sink: W, blocks: u32, size: usize, pool: &[u8], how: HandOver) -> u64 {
    let mut m = Muxer::new(sink, specs(), &Sidecars::default(), MuxOptions::default()).unwrap();
    for i in 0..blocks {
        let track = (i % u32::from(TRACKS)) as u16 + 1;
        let n = i / u32::from(TRACKS);
        let kind = if n % KEY_EVERY == 0 {
            BlockKind::Key
        } else {
            BlockKind::Predictive
        };
        let start = block_start(i as usize, size, pool);
        let opaque = &pool[start..start + size];
        match how {
            HandOver::Copied => m.push(track, n * 20, kind, opaque),
            HandOver::CopiedAdvanced => m
                .push(track, n * 20, kind, opaque)
                .and_then(|()| m.advance(track, (n + 1) * 20)),
            HandOver::Borrowed => m.push_borrowed(track, n * 20, kind, opaque),
            HandOver::EncodedCopied => m.push(track, n * 20, kind, &black_box(opaque.to_vec())),
            HandOver::EncodedOwned => m.push_owned(track, n * 20, kind, opaque.to_vec()),
        }
        .unwrap();
    }
    m.finish().unwrap().1.file_len
}

/// Where block `i` starts in the pool.
fn block_start(i: usize, size: usize, pool: &[u8]) -> usize {
    (i * 7) % (pool.len() - size)
}

/// [`mux_to`] into `out`, emptied first (its capacity kept).
fn mux_into(out: &mut Vec<u8>, blocks: u32, size: usize, pool: &[u8], how: HandOver) -> u64 {
    out.clear();
    mux_to(out, blocks, size, pool, how)
}

/// [`mux_to`] a sink that discards: the muxer's own cost, without writing the output to memory.
fn mux_to_sink(blocks: u32, size: usize, pool: &[u8]) -> u64 {
    mux_to(std::io::sink(), blocks, size, pool, HandOver::Copied)
}

/// For scale, the least work a muxer that holds every block can do with blocks too small to
/// hash in pieces (1 KB): each chunk (header, routing header, block) copied once into a held
/// buffer, then hashed in one call and copied out when the next block comes, as in the
/// benchmark's lockstep; no checks, ordering, index or file CRC. Writes as many bytes as the
/// muxer's chunks, into `out` (emptied first).
fn hold_once_floor(out: &mut Vec<u8>, blocks: u32, size: usize, pool: &[u8]) -> usize {
    out.clear();
    let mut held: Vec<u8> = Vec::with_capacity(CHUNK_HEADER_LEN + 8 + size);
    for i in 0..blocks as usize {
        if !held.is_empty() {
            out.extend_from_slice(&held);
            out.extend_from_slice(&h4mk_format::crc::crc32(&held).to_le_bytes());
            held.clear();
        }
        let route = route_header((i % 2) as u16 + 1);
        let header = ChunkHeader {
            offset: 0,
            tag: Tag::CORE,
            flags: i as u32,
            len: (route.len() + size) as u32,
        };
        let start = block_start(i, size, pool);
        held.extend_from_slice(&header.to_bytes());
        held.extend_from_slice(&route);
        held.extend_from_slice(&pool[start..start + size]);
    }
    out.extend_from_slice(&held);
    out.len()
}

fn pool() -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..(1 << 20))
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn file(blocks: u32, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(blocks as usize * (size + 24) + (1 << 20));
    mux_into(&mut out, blocks, size, &pool(), HandOver::Copied);
    out
}

fn open_chain(c: &mut Criterion) {
    let small = file(1_000, 1_050);
    let large = file(1_000_000, 1_050);
    let mut g = c.benchmark_group("open_chain");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    for (name, bytes, blocks) in [
        ("1k_blocks", &small, 1_000u32),
        ("1m_blocks_1gib", &large, 1_000_000),
    ] {
        let t = blocks / u32::from(TRACKS) * 20 / 2 + 30;
        g.bench_function(name, |b| {
            b.iter(|| {
                let d = Demuxer::open(black_box(bytes)).unwrap();
                black_box(d.chain(1, t).unwrap().len())
            });
        });
    }
    g.finish();

    let mut g = c.benchmark_group("list_blocks");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(1_000_000));
    g.bench_function("1m_blocks_1gib", |b| {
        let d = Demuxer::open(&large).unwrap();
        b.iter(|| {
            let mut n = 0u64;
            for block in d.blocks() {
                n += block.unwrap().opaque.len() as u64;
            }
            black_box(n)
        });
    });
    g.finish();
}

fn mux(c: &mut Criterion) {
    let pool = pool();
    let mut out = Vec::with_capacity(80 << 20);
    let mut g = c.benchmark_group("mux");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    // 64 MiB of opaque bytes in 1 KB and in 16 KiB blocks: per-chunk costs show in the first.
    for (blocks, size) in [(65_536u32, 1_000usize), (4_096, 16_384)] {
        let len = mux_into(&mut out, blocks, size, &pool, HandOver::Copied);
        g.throughput(Throughput::Bytes(len));
        g.bench_function(format!("muxer_{size}b_blocks"), |b| {
            b.iter(|| black_box(mux_into(&mut out, blocks, size, &pool, HandOver::Copied)));
        });
        g.bench_function(format!("muxer_{size}b_blocks_borrowed"), |b| {
            b.iter(|| black_box(mux_into(&mut out, blocks, size, &pool, HandOver::Borrowed)));
        });
        for (name, how) in [
            ("advanced", HandOver::CopiedAdvanced),
            ("encoded_copied", HandOver::EncodedCopied),
            ("encoded_owned", HandOver::EncodedOwned),
        ] {
            g.bench_function(format!("muxer_{size}b_blocks_{name}"), |b| {
                b.iter(|| black_box(mux_into(&mut out, blocks, size, &pool, how)));
            });
        }
        g.bench_function(format!("muxer_{size}b_blocks_to_io_sink"), |b| {
            b.iter(|| black_box(mux_to_sink(blocks, size, &pool)));
        });
        // The baseline hashes the file where the muxer wrote it: same bytes, same memory.
        mux_into(&mut out, blocks, size, &pool, HandOver::Copied);
        g.bench_function(format!("crc32fast_{size}b_blocks_same_bytes"), |b| {
            b.iter(|| black_box(h4mk_format::crc::crc32(black_box(&out))));
        });
        g.bench_function(format!("hold_once_floor_{size}b_blocks"), |b| {
            b.iter(|| black_box(hold_once_floor(&mut out, blocks, size, &pool)));
        });
        // The chunk layer alone: the same CORE chunks through `h4mk_format::Writer`, in
        // hand-over order, with no ordering, queue or index: what a muxer that never holds a
        // block would cost.
        g.bench_function(format!("writer_{size}b_blocks_into_vec"), |b| {
            b.iter(|| {
                out.clear();
                let mut w =
                    Writer::new(&mut out, &FileHeader::default(), Default::default()).unwrap();
                for i in 0..blocks as usize {
                    let start = block_start(i, size, &pool);
                    let route = route_header((i % 2) as u16 + 1);
                    let parts: [&[u8]; 2] = [&route, &pool[start..start + size]];
                    w.write_chunk_parts(Tag::CORE, i as u32, &parts).unwrap();
                }
                black_box(w.finish().unwrap().len())
            });
        });
    }
    g.finish();
}

criterion_group!(benches, open_chain, mux);
criterion_main!(benches);
