//! Recovery of the intact chunks of a damaged file, with the CRC as the only judge.
//!
//! The readers in [`crate::ContainerRef`] and [`crate::ChunkReader`] stop for good after an
//! error that loses the framing (docs/RELIABILITY.md, "fuse after framing errors"): past a bad
//! length field nothing tells where the next chunk starts. This module is the deliberate,
//! separate way to look further. [`scan`] tries to frame a chunk at every byte position, keeps
//! a candidate only when its bytes (header, payload and stored CRC) hash to the CRC-32 residue
//! ([`crate::crc::RESIDUE`]), and otherwise moves on by one byte. It reports every intact chunk
//! it found, with its offset, and every byte range it had to skip.
//!
//! - Tags are not judged: a chunk with a tag this crate does not know is kept, since the format
//!   says unknown tags are skipped, not refused (docs/FORMAT.md §1.2).
//! - A file whose header is intact is scanned from the end of the header; one without it (bad
//!   magic, or a bare run of chunks) from offset 0. A missing or damaged footer costs nothing.
//! - The CRC is always compared, in fuzzing builds too: here it is what frames a chunk.
//!
//! Cost: up to the first candidate that is not intact, each chunk is hashed once, in one call,
//! as the scan reaches it, so an intact file costs one CRC pass and no table. From there on, one
//! CRC pass over the rest of the input builds a table of CRCs at every 64th byte (the table
//! holds a sixteenth of the bytes it covers); after that, checking a candidate costs at most 126
//! byte steps of CRC and one CRC "combine" (a few dozen multiplications for a multi-gigabyte
//! input), whatever its declared length. A candidate whose declared length runs past the end of
//! the input costs nothing. So the worst case is linear: `len` candidates of bounded cost each.
//!
//! Limits: a random run of bytes passes the CRC check with probability 2^-32 per candidate, so
//! on damaged input a false chunk is possible, though rare; and the scan cannot tell a chunk
//! stored inside another chunk's payload (a container inside a NOTE, say) from a top-level one
//! once the outer chunk is damaged.

use std::fmt;

use crate::chunk::{CHUNK_CRC_LEN, CHUNK_HEADER_LEN, ChunkHeader, ChunkRef, FOOTER_LEN};
use crate::crc::{RESIDUE, RunningCrc, combine};
use crate::header::{FileHeader, HEADER_LEN};

/// Scans `data` for intact chunks and collects what it found.
///
/// ```
/// use h4mk_format::{FileHeader, Tag, Writer, WriterOptions, resync};
///
/// let mut w = Writer::new(Vec::new(), &FileHeader::default(), WriterOptions::default())?;
/// w.write_chunk(Tag::NOTE, 0, b"first")?;
/// let second = w.write_chunk(Tag::NOTE, 0, b"second")?;
/// w.write_chunk(Tag::NOTE, 0, b"third")?;
/// let mut bytes = w.finish()?;
/// bytes[second as usize + 14] ^= 0x20; // damage the second payload
///
/// let found = resync::scan(&bytes);
/// let payloads: Vec<&[u8]> = found.chunks.iter().map(|c| c.payload).collect();
/// assert_eq!(payloads, [&b"first"[..], &b"third"[..]]);
/// assert_eq!(found.skipped, [resync::Skipped { offset: second, len: 12 + 6 + 4 }]);
/// assert!(found.header.is_some());
/// # Ok::<(), h4mk_format::Error>(())
/// ```
pub fn scan(data: &[u8]) -> Recovery<'_> {
    let mut scanner = Scanner::new(data);
    let mut chunks = Vec::new();
    let mut skipped = Vec::new();
    for found in &mut scanner {
        match found {
            Found::Chunk(c) => chunks.push(c),
            Found::Skipped(s) => skipped.push(s),
        }
    }
    Recovery {
        header: scanner.header,
        chunks,
        skipped,
        footer: scanner.footer,
        candidates: scanner.candidates,
    }
}

/// What [`scan`] found.
#[derive(Clone, Debug)]
pub struct Recovery<'a> {
    /// The file header, when the input starts with the magic and holds 16 bytes.
    pub header: Option<FileHeader>,
    /// Every intact chunk, in file order.
    pub chunks: Vec<ChunkRef<'a>>,
    /// Every byte range that is neither header, intact chunk nor footer, in file order.
    pub skipped: Vec<Skipped>,
    /// The footer, when the input ends with exactly four bytes right after an intact chunk (or
    /// right after the header).
    pub footer: Option<Footer>,
    /// How many candidates were framed and had their CRC checked.
    pub candidates: u64,
}

impl Recovery<'_> {
    /// True when nothing was skipped and the footer is there and matches: the file is intact.
    pub fn is_intact(&self) -> bool {
        self.header.is_some()
            && self.skipped.is_empty()
            && self.footer.is_some_and(|f| f.is_intact())
    }
}

/// A run of bytes the scan could not account for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Offset of the first skipped byte.
    pub offset: u64,
    /// Number of bytes skipped.
    pub len: u64,
}

/// The 4-byte file CRC found at the end of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footer {
    /// Offset of the footer.
    pub offset: u64,
    /// The CRC stored in it.
    pub stored: u32,
    /// The CRC of every byte before it.
    pub computed: u32,
}

impl Footer {
    /// True when the stored file CRC matches the bytes before it.
    pub fn is_intact(&self) -> bool {
        self.stored == self.computed
    }
}

/// One finding of a [`Scanner`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found<'a> {
    /// An intact chunk.
    Chunk(ChunkRef<'a>),
    /// A run of bytes that holds no intact chunk, reported before the chunk that ends it.
    Skipped(Skipped),
}

/// The scan as an iterator: yields intact chunks and skipped ranges in file order, holding
/// only the CRC table in memory.
///
/// After the last item, [`Scanner::header`] and [`Scanner::footer`] tell what framed the scan.
pub struct Scanner<'a> {
    data: &'a [u8],
    /// CRC of `data[..pos]`, while every candidate so far was intact: the next one is hashed
    /// alone. `None` once one was not, and `checkpoints` is built.
    prefix: Option<RunningCrc>,
    /// CRC of `data[..base + CHECKPOINT * k]` for every k, from the first candidate that was
    /// not intact (at `base`) on.
    checkpoints: Vec<u32>,
    base: usize,
    pos: usize,
    skip_start: Option<usize>,
    pending: Option<ChunkRef<'a>>,
    /// True while `pos` is the end of the header or of an intact chunk.
    framed: bool,
    header: Option<FileHeader>,
    footer: Option<Footer>,
    candidates: u64,
    done: bool,
    /// The prefix CRCs last computed for a candidate's start and end, `(offset, crc)`: the next
    /// candidate's are usually a byte further, so each costs one byte step, not up to 63.
    near: [(usize, u32); 2],
}

/// Distance between two CRC checkpoints.
const CHECKPOINT: usize = 64;
/// The smallest chunk: a header, no payload, a CRC.
const MIN_CHUNK: usize = CHUNK_HEADER_LEN + CHUNK_CRC_LEN;

impl<'a> Scanner<'a> {
    /// Prepares a scan of `data`: reads the header if there is one.
    pub fn new(data: &'a [u8]) -> Self {
        let header = FileHeader::parse(data).ok();
        let pos = if header.is_some() { HEADER_LEN } else { 0 };
        let mut prefix = RunningCrc::default();
        prefix.update(data.get(..pos).unwrap_or_default());
        Scanner {
            data,
            prefix: Some(prefix),
            checkpoints: Vec::new(),
            base: 0,
            pos,
            skip_start: None,
            pending: None,
            framed: header.is_some(),
            header,
            footer: None,
            candidates: 0,
            done: false,
            near: [(0, 0); 2],
        }
    }

    /// The file header, when the input starts with one.
    pub fn header(&self) -> Option<&FileHeader> {
        self.header.as_ref()
    }

    /// The footer, once the scan has reached the end and found one.
    pub fn footer(&self) -> Option<&Footer> {
        self.footer.as_ref()
    }

    /// How many candidates have been framed and had their CRC checked so far.
    pub fn candidates(&self) -> u64 {
        self.candidates
    }

    /// The CRC of `data[..end]` from the table (built once a candidate was not intact), from
    /// the checkpoint below `end` and at most 63 more bytes, or
    /// from the prefix CRC `near[which]` when that is nearer below `end`; it becomes
    /// `near[which]`. On a run of bytes that frames a small candidate at every position (a
    /// file's zeroed stretch: every length 0), a candidate cost about 128 bytes of hashing:
    /// 78 ns a byte of input, 373 s for 4 GiB of zeros in a reviewer's run.
    fn crc_upto(&mut self, end: usize, which: usize) -> u32 {
        // `end` is at or past `base`: the scan only moves forward.
        let k = end.saturating_sub(self.base) / CHECKPOINT;
        let checkpoint = self.base + k * CHECKPOINT;
        let (from, initial) = match self.near.get(which) {
            Some(&(at, crc)) if at <= end && at >= checkpoint => (at, crc),
            _ => (checkpoint, self.checkpoints.get(k).copied().unwrap_or(0)),
        };
        // Byte by byte for a few bytes, where a crc32fast call costs more than the hashing.
        let mut run = RunningCrc::resuming(initial);
        run.update(self.data.get(from..end).unwrap_or_default());
        let crc = run.value();
        if let Some(near) = self.near.get_mut(which) {
            *near = (end, crc);
        }
        crc
    }

    /// The intact chunk starting at `at` (the scan's position), if there is one. The first
    /// candidate that is not intact builds the table of CRCs from `at` on.
    fn chunk_at(&mut self, at: usize) -> Option<ChunkRef<'a>> {
        let found = self.candidate_at(at);
        if found.is_none()
            && let Some(prefix) = self.prefix.take()
        {
            self.build_checkpoints(at, prefix.value());
        }
        found
    }

    /// Builds the table of CRCs from `base` on, `crc` being the CRC of `data[..base]`.
    fn build_checkpoints(&mut self, base: usize, crc: u32) {
        let rest = self.data.get(base..).unwrap_or_default();
        let mut checkpoints = Vec::with_capacity(rest.len() / CHECKPOINT + 1);
        let mut run = RunningCrc::resuming(crc);
        checkpoints.push(crc);
        for block in rest.chunks_exact(CHECKPOINT) {
            run.update(block);
            checkpoints.push(run.value());
        }
        self.checkpoints = checkpoints;
        self.base = base;
    }

    /// [`Scanner::chunk_at`], without building the table.
    fn candidate_at(&mut self, at: usize) -> Option<ChunkRef<'a>> {
        let rest = self.data.get(at..)?;
        let head: [u8; CHUNK_HEADER_LEN] = rest.get(..CHUNK_HEADER_LEN)?.try_into().ok()?;
        let header = ChunkHeader::parse(at as u64, head);
        // `rest.len()` bounds the candidate: a length past the end is rejected unhashed.
        let room = (rest.len() - CHUNK_HEADER_LEN).checked_sub(CHUNK_CRC_LEN)?;
        let len = usize::try_from(header.len).ok().filter(|&l| l <= room)?;
        let size = MIN_CHUNK + len;
        self.candidates += 1;
        // The candidate is intact when its bytes hash to the residue.
        if let Some(prefix) = &mut self.prefix {
            // Every chunk before was intact: the candidate alone, in one call.
            if crate::crc::crc32(rest.get(..size)?) != RESIDUE {
                return None;
            }
            prefix.append(RESIDUE, size as u64);
        } else {
            // That is, crc(data[..at + size]) = combine(crc(data[..at]), RESIDUE, size).
            let expected = combine(self.crc_upto(at, 0), RESIDUE, size as u64);
            if self.crc_upto(at + size, 1) != expected {
                return None;
            }
        }
        let payload = rest.get(CHUNK_HEADER_LEN..CHUNK_HEADER_LEN + len)?;
        let crc = rest.get(CHUNK_HEADER_LEN + len..size)?;
        Some(ChunkRef {
            offset: header.offset,
            tag: header.tag,
            flags: header.flags,
            payload,
            crc: u32::from_le_bytes(crc.try_into().ok()?),
        })
    }

    /// Called once no chunk can fit any more: classifies the bytes left.
    fn finish(&mut self) -> Option<Found<'a>> {
        self.done = true;
        let len = self.data.len();
        let tail = len.saturating_sub(self.pos);
        if self.framed && tail == FOOTER_LEN {
            let stored = self.data.get(self.pos..).and_then(|b| b.try_into().ok())?;
            self.footer = Some(Footer {
                offset: self.pos as u64,
                stored: u32::from_le_bytes(stored),
                // Carried along while every chunk was intact; from the table otherwise.
                computed: match self.prefix {
                    Some(prefix) => prefix.value(),
                    None => self.crc_upto(self.pos, 0),
                },
            });
            return None;
        }
        let start = self.skip_start.take().unwrap_or(self.pos);
        self.pos = len;
        (start < len).then_some(Found::Skipped(Skipped {
            offset: start as u64,
            len: (len - start) as u64,
        }))
    }
}

impl<'a> Iterator for Scanner<'a> {
    type Item = Found<'a>;

    fn next(&mut self) -> Option<Found<'a>> {
        if let Some(chunk) = self.pending.take() {
            return Some(Found::Chunk(chunk));
        }
        if self.done {
            return None;
        }
        while self.data.len().saturating_sub(self.pos) >= MIN_CHUNK {
            let at = self.pos;
            let Some(chunk) = self.chunk_at(at) else {
                self.skip_start.get_or_insert(at);
                self.framed = false;
                self.pos = at + 1;
                continue;
            };
            self.pos = at + MIN_CHUNK + chunk.payload.len();
            self.framed = true;
            return Some(match self.skip_start.take() {
                Some(start) => {
                    self.pending = Some(chunk);
                    Found::Skipped(Skipped {
                        offset: start as u64,
                        len: (at - start) as u64,
                    })
                }
                None => Found::Chunk(chunk),
            });
        }
        self.finish()
    }
}

impl fmt::Debug for Scanner<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scanner")
            .field("len", &self.data.len())
            .field("pos", &self.pos)
            .field("candidates", &self.candidates)
            .finish_non_exhaustive()
    }
}

// The fixtures' folder and names, one copy shared with the integration tests.
#[cfg(test)]
#[path = "../tests/it/reference_fixtures.rs"]
mod reference_fixtures;

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::ContainerRef;
    use crate::crc::crc32;

    use super::reference_fixtures::{REFERENCE, read_reference};

    /// (offset, tag, flags, payload) of every chunk of an intact file.
    fn walk(data: &[u8]) -> Vec<ChunkRef<'_>> {
        let file = ContainerRef::parse(data).unwrap();
        file.chunks().collect::<Result<_, _>>().unwrap()
    }

    fn xorshift_bytes(seed: u32, len: usize) -> Vec<u8> {
        let mut x = seed;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 11) as u8
            })
            .collect()
    }

    #[test]
    fn crc_upto_matches_a_direct_hash_at_every_length() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + i / 3) as u8).collect();
        // A table from a first candidate that was not intact, anywhere.
        for base in [0, 1, 37, 64, 299, 300] {
            let mut s = Scanner::new(&data);
            s.prefix = None;
            s.build_checkpoints(base, crc32(&data[..base]));
            for end in base..=data.len() {
                assert_eq!(
                    s.crc_upto(end, 0),
                    crc32(&data[..end]),
                    "base {base}, end {end}"
                );
            }
        }
        let mut s = Scanner::new(&data);
        s.prefix = None;
        s.build_checkpoints(0, 0);
        // From the last prefix CRC, wherever it was: ahead, behind, or in another 64 bytes.
        for (k, end) in [
            (0, 5),
            (0, 4),
            (0, 70),
            (0, 69),
            (1, 299),
            (1, 3),
            (1, 64),
            (1, 300),
        ] {
            assert_eq!(
                s.crc_upto(end, k),
                crc32(&data[..end]),
                "near {k}, end {end}"
            );
        }
    }

    #[test]
    fn an_intact_file_is_found_whole() {
        for name in REFERENCE {
            let bytes = read_reference(name, "h4mk");
            let found = scan(&bytes);
            assert!(found.is_intact(), "{name}: {:?}", found.skipped);
            assert_eq!(found.chunks, walk(&bytes), "{name}");
            assert!(found.candidates as usize == found.chunks.len(), "{name}");
        }
    }

    #[test]
    fn a_bare_run_of_chunks_is_found_without_header_or_footer() {
        let bytes = read_reference("demo", "h4mk");
        let body = &bytes[HEADER_LEN..bytes.len() - FOOTER_LEN];
        let found = scan(body);
        assert!(found.header.is_none() && found.footer.is_none());
        assert_eq!(found.skipped, []);
        let offsets: Vec<u64> = found.chunks.iter().map(|c| c.offset + 16).collect();
        let expected: Vec<u64> = walk(&bytes).iter().map(|c| c.offset).collect();
        assert_eq!(offsets, expected);
    }

    /// Damages a fixture in five ways at once and checks that every chunk left intact is found,
    /// and that the skipped ranges are exactly the damaged chunks, the header and the tail.
    #[test]
    fn every_intact_chunk_of_a_damaged_fixture_is_found() {
        for name in REFERENCE {
            let bytes = read_reference(name, "h4mk");
            let chunks = walk(&bytes);
            let n = chunks.len();
            if n < 8 {
                continue;
            }
            let range = |k: usize| (chunks[k].offset as usize, chunks[k].end_offset() as usize);
            let mut damaged = bytes.clone();
            // The magic: the scan must start at 0.
            damaged[1] ^= 0x01;
            // A payload byte of chunk n/4.
            let (a, b) = range(n / 4);
            damaged[(a + b) / 2] ^= 0x80;
            // The length of chunk n/2: the plain readers lose the framing here.
            let (a, _) = range(n / 2);
            damaged[a + 8..a + 12].copy_from_slice(&u32::MAX.to_le_bytes());
            // Seven bytes across the boundary of chunks 3n/4 and 3n/4 + 1.
            let (_, b) = range(3 * n / 4);
            damaged[b - 3..b + 4].fill(0x5a);
            // The last chunk cut in half: no footer.
            let (a, b) = range(n - 1);
            let cut = (a + b) / 2;
            damaged.truncate(cut);

            let lost = [n / 4, n / 2, 3 * n / 4, 3 * n / 4 + 1, n - 1];
            let found = scan(&damaged);
            assert!(found.header.is_none() && found.footer.is_none(), "{name}");
            let kept: Vec<_> = (0..n)
                .filter(|k| !lost.contains(k))
                .map(|k| chunks[k])
                .collect();
            assert_eq!(found.chunks, kept, "{name}");
            // Skipped: the header, each damaged chunk (neighbours merged), the tail.
            let mut expected: Vec<Skipped> = vec![Skipped { offset: 0, len: 16 }];
            for k in lost {
                let (a, b) = range(k);
                let b = b.min(cut);
                match expected.last_mut() {
                    Some(last) if last.offset + last.len == a as u64 => last.len += (b - a) as u64,
                    _ => expected.push(Skipped {
                        offset: a as u64,
                        len: (b - a) as u64,
                    }),
                }
            }
            assert_eq!(found.skipped, expected, "{name}");
            // The iterator and the collected report agree.
            let items: Vec<Found<'_>> = Scanner::new(&damaged).collect();
            assert_eq!(
                items.len(),
                found.chunks.len() + found.skipped.len(),
                "{name}"
            );
        }
    }

    /// Every finding and the footer of a scan whose table covers the input from the start,
    /// as every scan built it before the first damage did.
    fn scan_with_table_from_the_start(data: &[u8]) -> (Vec<Found<'_>>, Option<Footer>) {
        let mut s = Scanner::new(data);
        s.prefix = None;
        s.build_checkpoints(s.pos, crc32(&data[..s.pos]));
        let found: Vec<Found<'_>> = (&mut s).collect();
        (found, s.footer)
    }

    /// Chunks are hashed one call each until the first candidate that is not intact, and the
    /// table built from there (a scale review: salvage of an intact 1 GiB file hashed it in
    /// 64-byte calls, twice, and held a 64 MB table): the findings are the same wherever the
    /// first damage lies, or with none.
    #[test]
    fn hashing_before_the_first_damage_finds_what_the_table_does() {
        for name in REFERENCE {
            let bytes = read_reference(name, "h4mk");
            let mut inputs = vec![bytes.clone(), bytes[16..].to_vec()];
            // Forty places, across the header, chunk headers, payloads and the footer.
            for at in (0..bytes.len())
                .step_by(bytes.len() / 40 + 1)
                .chain([bytes.len() - 2])
            {
                let mut flipped = bytes.clone();
                flipped[at] ^= 0x10;
                inputs.push(flipped);
                inputs.push(bytes[..at].to_vec());
                let mut widened = bytes.clone();
                widened.insert(at, 0);
                inputs.push(widened);
            }
            for input in &inputs {
                let mut s = Scanner::new(input);
                let found: Vec<Found<'_>> = (&mut s).collect();
                let (want, footer) = scan_with_table_from_the_start(input);
                assert_eq!(found, want, "{name}, {} bytes", input.len());
                assert_eq!(s.footer, footer, "{name}, {} bytes", input.len());
            }
            // An intact file builds no table.
            let mut s = Scanner::new(&bytes);
            assert!(s.all(|f| matches!(f, Found::Chunk(_))));
            assert!(s.checkpoints.is_empty() && s.footer.is_some_and(|f| f.is_intact()));
        }
    }

    #[test]
    fn garbage_yields_no_chunk() {
        let inputs: [(&str, Vec<u8>); 4] = [
            ("random", xorshift_bytes(0x1234_5678, 1 << 20)),
            ("zeros", vec![0; 1 << 16]),
            ("ones", vec![0xff; 1 << 16]),
            ("magic then random", {
                let mut v = b"H4MK\x01\0\0\0\0\0\0\0\0\0\0\0".to_vec();
                v.extend(xorshift_bytes(99, 1 << 16));
                v
            }),
        ];
        for (what, data) in inputs {
            let found = scan(&data);
            assert_eq!(found.chunks, [], "{what}");
            let start = if found.header.is_some() { 16 } else { 0 };
            assert_eq!(
                found.skipped,
                [Skipped {
                    offset: start,
                    len: data.len() as u64 - start
                }],
                "{what}"
            );
            assert!(found.candidates <= data.len() as u64, "{what}");
        }
    }

    /// Input built so that three positions in four declare a length of at most half a
    /// megabyte, most of which fit: a scan that hashed each candidate's bytes would do about
    /// 10^11 byte steps.
    #[test]
    fn work_per_candidate_is_bounded() {
        let len = 1 << 20;
        let data: Vec<u8> = [0x00, 0x00, 0x08, 0x00]
            .into_iter()
            .cycle()
            .take(len)
            .collect();
        let start = Instant::now();
        let found = scan(&data);
        let elapsed = start.elapsed();
        assert_eq!(found.chunks, []);
        assert!(found.candidates > (len as u64) / 2, "{}", found.candidates);
        assert!(found.candidates <= len as u64);
        // Generous, for a debug build on a loaded machine; the release build takes milliseconds.
        assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
        println!(
            "resync: {} candidates over {len} hostile bytes in {elapsed:?}",
            found.candidates
        );
    }

    #[test]
    fn tiny_inputs_are_all_skipped_or_empty() {
        assert_eq!(scan(b"").skipped, []);
        assert_eq!(scan(b"H4MK").skipped, [Skipped { offset: 0, len: 4 }]);
        let r = scan(b"H4MK\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        assert!(r.header.is_some());
        assert_eq!(r.skipped, [Skipped { offset: 16, len: 3 }]);
        assert!(r.footer.is_none());
        // A header and a footer: an empty, intact container.
        let mut empty = FileHeader::default().to_bytes().to_vec();
        let crc = crc32(&empty);
        empty.extend_from_slice(&crc.to_le_bytes());
        assert!(scan(&empty).is_intact());
    }
}
