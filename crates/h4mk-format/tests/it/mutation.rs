//! A deterministic mutation sweep over the fixtures: every truncation, every single-bit flip,
//! and every length and count field set to hostile values, each case run through the fuzz
//! harnesses' checks (slice view strict and lenient, `verify`, random access, the streaming
//! reader, one-byte reads against the slice, resync).
//!
//! Every case must return (the checks panic on a broken invariant), within [`CASE_TIME_LIMIT`],
//! with a peak heap use of at most [`K`] × input length + [`SLACK`] bytes, measured per case on
//! the test's own thread by the counting global allocator of `allocation-counter`.
//!
//! Files up to [`FULL_SWEEP_MAX`] bytes get every truncation and every bit flip. Larger ones
//! (`three_tracks_2000.h4mk`, 700 KB: 5.6 million flips) get a deterministic stride sample of
//! [`SAMPLE`] cases per family plus the bytes around the header and the footer, since the whole
//! sweep takes hours in a debug build. The field mutations cover every chunk of the small files,
//! and the first two chunks and every TSEK of the large one.
//!
//! Run with `cargo test -p h4mk-format --test it mutation -- --nocapture` to see the figures.

use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use h4mk_format::crc::crc32;
use h4mk_format::{CHUNK_HEADER_LEN, ContainerRef, FOOTER_LEN, HEADER_LEN, Tag};

use crate::{checks, fixtures_dir};

/// Peak heap bytes per case may be at most `K × input length + SLACK`.
const K: u64 = 4;
/// The constant part of the allocation bound.
const SLACK: u64 = 16 << 10;
/// Wall-clock bound for one case, generous for a debug build on a busy machine.
const CASE_TIME_LIMIT: Duration = Duration::from_secs(30);
/// Files up to this size get every truncation and every bit flip.
const FULL_SWEEP_MAX: usize = 16 << 10;
/// Cases per family on a larger file.
const SAMPLE: usize = 32;

/// The fixtures swept: `fixtures/reference/*.h4mk` and `fixtures/valid/*.h4mk`, sorted.
fn fixtures() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for folder in ["reference", "valid"] {
        let dir: PathBuf = fixtures_dir().join(folder);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in rd.map(|e| e.unwrap().path()) {
            if path.extension().is_some_and(|x| x == "h4mk") {
                let name = format!("{folder}/{}", path.file_name().unwrap().to_string_lossy());
                out.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    assert!(out.len() >= 6, "the reference fixtures are missing");
    out
}

/// The figures of one sweep, and the checks every case goes through.
#[derive(Default)]
struct Sweep {
    cases: u64,
    bytes: u64,
    /// Worst peak / input length over inputs of at least 1 KiB, and its case.
    worst_ratio: (f64, String),
    /// Largest peak in bytes, and its case.
    worst_peak: (u64, String),
    worst_time: (Duration, String),
}

impl Sweep {
    /// Runs one case: the checks, timed and with their allocations counted.
    #[track_caller]
    fn case(&mut self, label: &dyn Fn() -> String, data: &[u8]) {
        let mut outcome = Ok(());
        let start = Instant::now();
        let info = allocation_counter::measure(|| {
            outcome = panic::catch_unwind(AssertUnwindSafe(|| check(data)));
        });
        let elapsed = start.elapsed();
        if let Err(payload) = outcome {
            eprintln!("mutation case failed: {}", label());
            panic::resume_unwind(payload);
        }
        let len = data.len() as u64;
        let peak = info.bytes_max;
        assert!(
            peak <= K * len + SLACK,
            "{}: peak allocation {peak} bytes for {len} bytes of input",
            label()
        );
        assert!(elapsed <= CASE_TIME_LIMIT, "{}: took {elapsed:?}", label());
        self.cases += 1;
        self.bytes += len;
        if len >= 1024 && peak as f64 / len as f64 > self.worst_ratio.0 {
            self.worst_ratio = (peak as f64 / len as f64, label());
        }
        if peak > self.worst_peak.0 {
            self.worst_peak = (peak, label());
        }
        if elapsed > self.worst_time.0 {
            self.worst_time = (elapsed, label());
        }
    }

    fn report(&self, family: &str) {
        println!(
            "mutation {family}: {} cases ({} bytes of input); worst peak/len {:.3} ({}); \
             largest peak {} bytes ({}); slowest {:?} ({})",
            self.cases,
            self.bytes,
            self.worst_ratio.0,
            self.worst_ratio.1,
            self.worst_peak.0,
            self.worst_peak.1,
            self.worst_time.0,
            self.worst_time.1,
        );
        assert!(self.cases > 0);
    }
}

/// The checks of one case: every byte-level fuzz check. One-byte reads cost a call per byte,
/// so the large fixture's cases compare the stream with the slice only through `stream_reader`.
fn check(data: &[u8]) {
    checks::parse_slice(data);
    checks::stream_reader(data);
    checks::resync(data);
    if data.len() <= FULL_SWEEP_MAX {
        checks::stream_vs_slice(data);
    }
}

/// `n` positions spread evenly over `0..len`, plus `edges` positions at each end.
fn sample(len: usize, n: usize, edges: usize) -> Vec<usize> {
    let mut out: Vec<usize> = (0..n).map(|i| i * len / n).collect();
    out.extend(0..edges.min(len));
    out.extend(len.saturating_sub(edges)..len);
    out.sort_unstable();
    out.dedup();
    out
}

#[test]
fn every_truncation() {
    let mut sweep = Sweep::default();
    for (name, bytes) in fixtures() {
        let lens = if bytes.len() <= FULL_SWEEP_MAX {
            (0..=bytes.len()).collect()
        } else {
            sample(bytes.len() + 1, SAMPLE, 8)
        };
        for len in lens {
            sweep.case(&|| format!("{name} cut to {len}"), &bytes[..len]);
        }
    }
    sweep.report("truncations");
}

#[test]
fn every_bit_flip() {
    let mut sweep = Sweep::default();
    for (name, bytes) in fixtures() {
        let bits: Vec<usize> = if bytes.len() <= FULL_SWEEP_MAX {
            (0..bytes.len() * 8).collect()
        } else {
            // A stride over the file (the bit within the byte varies too), plus the header's
            // and the footer's bytes at one bit each.
            sample(bytes.len(), SAMPLE, 8)
                .into_iter()
                .enumerate()
                .map(|(i, byte)| byte * 8 + i % 8)
                .collect()
        };
        let mut copy = bytes.clone();
        for bit in bits {
            copy[bit / 8] ^= 1 << (bit % 8);
            sweep.case(&|| format!("{name} with bit {bit} flipped"), &copy);
            copy[bit / 8] ^= 1 << (bit % 8);
        }
    }
    sweep.report("bit flips");
}

#[test]
fn every_length_and_count_field() {
    let mut sweep = Sweep::default();
    let mut sealed_cases = 0;
    for (name, bytes) in fixtures() {
        for case in field_cases(&bytes) {
            sweep.case(&|| format!("{name}: {}", case.what), &case.data);
            if case.sealed_payload_only {
                // With every CRC made right again, a payload field is no business of the
                // format layer: the file must read as intact. (The layers above get these
                // cases once they are in the fuzz set.)
                let file = ContainerRef::parse(&case.data).unwrap();
                let v = file.verify();
                assert!(v.is_ok(), "{name}: {}: {:?}", case.what, v.errors);
                sealed_cases += 1;
            }
        }
    }
    println!("mutation fields: {sealed_cases} resealed payload cases read as intact");
    sweep.report("length and count fields");
}

/// One mutated file.
struct FieldCase {
    what: String,
    data: Vec<u8>,
    /// Only a payload or header field changed and every CRC was recomputed.
    sealed_payload_only: bool,
}

/// Offset, tag and payload length of each chunk of an intact file.
fn layout(bytes: &[u8]) -> Vec<(usize, Tag, usize)> {
    ContainerRef::parse(bytes)
        .unwrap()
        .chunks()
        .map(|c| {
            let c = c.unwrap();
            (c.offset as usize, c.tag, c.payload.len())
        })
        .collect()
}

/// Writes the chunk CRC of the chunk at `at` as its (possibly new) length frames it, if it fits.
fn seal_chunk(data: &mut [u8], at: usize) -> bool {
    let len = u32::from_le_bytes(data[at + 8..at + 12].try_into().unwrap()) as usize;
    let crc_at = at + CHUNK_HEADER_LEN + len;
    if crc_at + 4 > data.len() {
        return false;
    }
    let crc = crc32(&data[at..crc_at]);
    data[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
    true
}

/// Writes the file CRC over everything before the last four bytes.
fn seal_file(data: &mut [u8]) {
    let at = data.len() - FOOTER_LEN;
    let crc = crc32(&data[..at]);
    data[at..].copy_from_slice(&crc.to_le_bytes());
}

/// Which chunks get field mutations: all of a small file; of a large one the first two (the
/// TRAK and a CORE) and the TSEKs, whose entry counts are the large file's point.
fn selected(file_len: usize) -> impl Fn(usize, Tag) -> bool {
    move |i, tag| file_len <= FULL_SWEEP_MAX || i < 2 || tag == Tag::TSEK
}

fn field_cases(bytes: &[u8]) -> Vec<FieldCase> {
    let mut out = Vec::new();
    let footer = bytes.len() - FOOTER_LEN;
    let chunks = layout(bytes);
    let pick = selected(bytes.len());

    // The footer.
    for v in [0, u64::from(u32::MAX)] {
        let mut data = bytes.to_vec();
        data[footer..].copy_from_slice(&(v as u32).to_le_bytes());
        out.push(FieldCase {
            what: format!("footer = {v:#x}"),
            data,
            sealed_payload_only: false,
        });
    }

    // Raw and resealed copies with a little-endian field of `width` bytes at `at` set to `v`.
    let mut push = |what: String, at: usize, width: usize, v: u64, chunk: Option<usize>| {
        let mut data = bytes.to_vec();
        data[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
        out.push(FieldCase {
            what: format!("{what} = {v:#x}"),
            data: data.clone(),
            sealed_payload_only: false,
        });
        // Resealed: the chunk CRC (as the new bytes frame the chunk) and the file CRC.
        let mut sealed = data;
        let framed = chunk.is_none_or(|c| seal_chunk(&mut sealed, c));
        if sealed.len() >= HEADER_LEN + FOOTER_LEN {
            seal_file(&mut sealed);
        }
        let length_field = chunk.is_some_and(|c| at == c + 8);
        out.push(FieldCase {
            what: format!("{what} = {v:#x}, resealed"),
            data: sealed,
            sealed_payload_only: framed && !length_field,
        });
    };

    // The file header: version, flags, reserved, timestamp.
    for (at, width, values) in [
        (4, 1, &[0, 2, 0xff][..]),
        (5, 1, &[1, 0xff]),
        (6, 2, &[1, 0xffff]),
        (8, 8, &[1, u64::MAX]),
    ] {
        for &v in values {
            push(format!("header byte {at}"), at, width, v, None);
        }
    }

    for (i, &(at, tag, len)) in chunks.iter().enumerate() {
        if !pick(i, tag) {
            continue;
        }
        let here = |field: &str| {
            let mut s = String::new();
            write!(s, "chunk {i} ({tag} at {at}) {field}").unwrap();
            s
        };
        // The payload length: 0, 1, one off either way, exactly up to the footer, into the
        // footer, to the end of the file, past it, the payload cap and past it, the top bit,
        // and values near u32::MAX where offset arithmetic would wrap in 32 bits.
        let fit = (footer - at - CHUNK_HEADER_LEN - 4) as u64;
        let mut lengths = vec![
            0,
            1,
            len as u64 + 1,
            fit,
            fit + 1,
            fit + 4,
            fit + 5,
            256 << 20,
            (256 << 20) + 1,
            1 << 31,
            u64::from(u32::MAX) - 15,
            u64::from(u32::MAX),
        ];
        if len > 0 {
            lengths.push(len as u64 - 1);
        }
        for v in lengths {
            if v <= u64::from(u32::MAX) {
                push(here("length"), at + 8, 4, v, Some(at));
            }
        }
        let payload = at + CHUNK_HEADER_LEN;
        if tag == Tag::CORE && len >= 8 {
            // GOP flags (pts, type, reserved bits), the H4TB magic, track id and reserved.
            for v in [
                0,
                1,
                0x0fff_ffff,
                0x1000_0000,
                0x2000_0000,
                0x3000_0000,
                0xc000_0000,
            ] {
                push(here("flags"), at + 4, 4, v, Some(at));
            }
            push(here("H4TB magic"), payload, 4, 0, Some(at));
            for v in [0, 1, 0xffff] {
                push(here("track id"), payload + 4, 2, v, Some(at));
            }
            push(here("reserved"), payload + 6, 2, 0xffff, Some(at));
        }
        if tag == Tag::TSEK && len >= 16 {
            // H4TS, track id, reserved, H4SK, the entry count and its reserved half.
            let entries = (len - 16) / 8;
            push(here("H4TS magic"), payload, 4, 0, Some(at));
            for v in [0, 1, 0xffff] {
                push(here("track id"), payload + 4, 2, v, Some(at));
            }
            push(here("reserved"), payload + 6, 2, 0xffff, Some(at));
            push(here("H4SK magic"), payload + 8, 4, 0, Some(at));
            let mut counts = vec![0, 1, entries as u64 + 1, entries as u64 + 2, 0xffff];
            if entries > 0 {
                counts.push(entries as u64 - 1);
            }
            for v in counts {
                push(here("entry count"), payload + 12, 2, v, Some(at));
            }
            push(here("count reserved"), payload + 14, 2, 0xffff, Some(at));
            // The first and last entries' keyframe offsets: 0, past the end, u32::MAX.
            for e in [0, entries.saturating_sub(1)] {
                if e < entries {
                    let field = payload + 16 + 8 * e + 4;
                    for v in [0, bytes.len() as u64, u64::from(u32::MAX)] {
                        push(here(&format!("entry {e} offset")), field, 4, v, Some(at));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn sample_positions_are_spread_and_include_the_edges() {
    assert_eq!(sample(10, 5, 2), [0, 1, 2, 4, 6, 8, 9]);
    assert_eq!(sample(3, 8, 24), [0, 1, 2]);
}
