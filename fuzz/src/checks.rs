//! The checks behind the format-level fuzz targets: pure functions over `&[u8]` that panic when
//! an invariant of `h4mk-format` breaks, and return normally on any input that keeps them.
//!
//! This file is the one copy of these checks. The fuzz crate exposes it as `h4mk_fuzz::checks`;
//! the stable test binary of h4mk-format includes it with `#[path]` (tests/it/main.rs), where
//! `fuzz_regressions.rs` replays every committed crasher through it and `mutation.rs` runs every
//! mutated fixture through it. So it depends on `h4mk_format` and `std` only, and allocates
//! little of its own: walks are compared in lockstep, not collected, so the allocation the
//! mutation suite measures is the library's.
//!
//! A fuzzing build compiles h4mk-format with `cfg(fuzzing)`, which turns CRC comparison off in
//! the readers. Every walk here runs both with `check_crc: true` and `check_crc: false` (which is
//! what every walk is in a fuzzing build), so the stable replay covers both behaviours.

use std::io::{self, Cursor, Read};
use std::ptr;

use h4mk_format::crc::{RESIDUE, crc32};
use h4mk_format::resync::{self, Found};
use h4mk_format::{
    CHUNK_CRC_LEN, CHUNK_HEADER_LEN, ChunkHeader, ChunkReader, ChunkRef, ContainerRef, Error,
    FOOTER_LEN, FileHeader, HEADER_LEN, Limits, Mode, ParseOptions, Tag, Writer, WriterOptions,
};

/// The option sets every walk runs with: strict and lenient, CRCs compared and not, default
/// limits and a tiny payload cap (so the limit path is reached by small inputs).
pub fn option_sets() -> [ParseOptions; 4] {
    let tiny = Limits {
        max_chunk_len: 64,
        ..Limits::default()
    };
    [
        ParseOptions::default(),
        ParseOptions::lenient(),
        ParseOptions {
            check_crc: false,
            ..ParseOptions::default()
        },
        ParseOptions {
            mode: Mode::Lenient,
            check_crc: false,
            limits: tiny,
        },
    ]
}

/// Every byte-level check: what `cargo test` runs on each regression and each mutated fixture.
pub fn all_bytes(data: &[u8]) {
    parse_slice(data);
    stream_reader(data);
    stream_vs_slice(data);
    resync(data);
}

/// The checks of one fuzz target by its name, for the replay of `fuzz/corpus/<name>/regressions`.
pub fn by_name(target: &str) -> Option<fn(&[u8])> {
    Some(match target {
        "parse_slice" => parse_slice,
        "stream_reader" => stream_reader,
        "stream_vs_slice" => stream_vs_slice,
        "roundtrip" => roundtrip,
        "resync" => resync,
        _ => return None,
    })
}

/// Target `parse_slice`: parse, walk every chunk strict and lenient, verify, and read single
/// chunks at the offsets found and at offsets taken from the input.
pub fn parse_slice(data: &[u8]) {
    // Walk summaries of the first two option sets (strict and lenient, CRCs compared), which
    // `verify` must agree with.
    let mut summaries = Vec::new();
    for (i, opts) in option_sets().into_iter().enumerate() {
        let file = match ContainerRef::parse_with(data, &opts) {
            Ok(file) => file,
            Err(e) => {
                check_error(&e, data);
                assert!(
                    matches!(
                        e,
                        Error::TruncatedHeader { .. }
                            | Error::BadMagic { .. }
                            | Error::MissingFooter { .. }
                    ),
                    "parse may only fail on the header or footer: {e}"
                );
                continue;
            }
        };
        assert_eq!(file.footer_offset(), (data.len() - FOOTER_LEN) as u64);
        // The Iterator impl is `next_chunk` transposed: compared on one walk is enough.
        summaries.push(walk_slice(&file, data, i == 0));
    }
    if let Ok(file) = ContainerRef::parse(data) {
        if let [strict, lenient, ..] = summaries[..] {
            check_verify(&file, data, strict, lenient);
        }
        check_random_access(&file, data);
    }
}

/// Target `stream_reader`: the same walk through [`ChunkReader`] over the whole slice, its
/// `finish`, and `seek_to` at the offsets found and at offsets taken from the input.
pub fn stream_reader(data: &[u8]) {
    for opts in option_sets() {
        let Some(mut reader) = open_stream(data, opts) else {
            continue;
        };
        let clean = walk_stream(&mut reader, &opts, data);
        // `finish` walks what is left and checks the footer: Ok exactly when a strict walk is.
        if opts.mode == Mode::Strict
            && let Some(reader) = open_stream(data, opts)
        {
            let finished = reader.finish();
            if let Err(e) = &finished {
                check_error(e, data);
            }
            assert_eq!(finished.is_ok(), clean, "finish disagrees with the walk");
        }
    }
    check_stream_seek(data);
}

/// Target `stream_vs_slice`: one-byte reads through [`ChunkReader`] give the chunks and the
/// Ok/Err outcome of the slice view, step by step, in every mode.
pub fn stream_vs_slice(data: &[u8]) {
    for opts in option_sets() {
        let slice = ContainerRef::parse_with(data, &opts);
        let stream = ChunkReader::new(OneByte(data), opts);
        let (file, mut reader) = match (slice, stream) {
            (Ok(file), Ok(reader)) => (file, reader),
            (Err(e), Ok(mut reader)) => {
                // The stream cannot know the file is too short for a footer until it reads on;
                // then it must fail at once, where the slice did.
                assert!(
                    matches!(e, Error::MissingFooter { .. }),
                    "slice failed on {e}, stream opened"
                );
                let next = reader.next_chunk(&mut Vec::new());
                let se = next.expect_err("the slice found no room for a footer");
                assert_eq!(class(&se), class(&e), "slice: {e}; stream: {se}");
                assert_eq!(se.offset(), e.offset(), "slice: {e}; stream: {se}");
                continue;
            }
            (Err(e), Err(se)) => {
                assert_eq!(class(&se), class(&e), "slice: {e}; stream: {se}");
                assert_eq!(se.offset(), e.offset(), "slice: {e}; stream: {se}");
                continue;
            }
            (Ok(_), Err(se)) => panic!("slice parsed, stream failed: {se}"),
        };
        assert_eq!(file.header(), reader.header());
        let mut walk = file.chunks();
        let mut buf = Vec::new();
        let mut ended = false;
        for _ in 0..max_steps(data) {
            match (walk.next_chunk(), reader.next_chunk(&mut buf)) {
                (Ok(None), Ok(None)) => {
                    ended = true;
                    break;
                }
                (Ok(Some(c)), Ok(Some(h))) => {
                    assert_eq!((c.offset, c.tag, c.flags), (h.offset, h.tag, h.flags));
                    assert!(
                        c.payload == buf.as_slice(),
                        "payloads differ at {}",
                        c.offset
                    );
                }
                // The one place a stream must differ: a last chunk that runs into the final
                // four bytes. The slice knows those bytes are the footer and reports the chunk
                // truncated; the stream cannot know where the input ends before it gets there,
                // so it reads the chunk, then finds fewer than four bytes left for the footer.
                (Err(Error::Truncated { offset, len, .. }), r)
                    if tail_overlap(&r, offset, len, &mut reader, &mut buf, data) => {}
                (Err(e), Err(se)) => {
                    assert_eq!(class(&se), class(&e), "slice: {e}; stream: {se}");
                    assert_eq!(se.offset(), e.offset(), "slice: {e}; stream: {se}");
                }
                (s, r) => panic!(
                    "slice and one-byte stream disagree ({opts:?}): slice {:?}, stream {:?}",
                    s.map(|c| c.map(|c| c.offset)),
                    r.map(|h| h.map(|h| h.offset)),
                ),
            }
        }
        assert!(ended, "the lockstep walk does not end");
        // Both are done; both stay done.
        assert!(matches!(walk.next_chunk(), Ok(None)));
        assert!(matches!(reader.next_chunk(&mut buf), Ok(None)));
    }
}

/// Target `resync`: the scanner never panics, returns only chunks whose bytes hash to the CRC
/// residue, accounts for every byte exactly once, and finds every chunk a plain walk finds
/// before the first damage.
pub fn resync(data: &[u8]) {
    let found = resync::scan(data);
    assert!(
        found.candidates <= data.len() as u64,
        "{} candidates for {} bytes",
        found.candidates,
        data.len()
    );
    // Header, then chunks and skipped ranges, then the footer tile the input.
    let mut pos = match found.header {
        Some(h) => {
            assert_eq!(FileHeader::parse(data).ok(), Some(h));
            HEADER_LEN as u64
        }
        None => {
            assert!(FileHeader::parse(data).is_err());
            0
        }
    };
    let mut scanner = resync::Scanner::new(data);
    let (mut chunks, mut skipped) = (found.chunks.iter(), found.skipped.iter());
    let mut last_was_skip = false;
    for item in &mut scanner {
        match item {
            Found::Chunk(c) => {
                assert_eq!(chunks.next(), Some(&c), "scan and Scanner disagree");
                assert_eq!(c.offset, pos, "chunk not where the last piece ended");
                check_borrowed(&c, data);
                assert_eq!(
                    crc32(framed(&c, data)),
                    RESIDUE,
                    "resync kept a damaged chunk"
                );
                pos = c.end_offset();
                last_was_skip = false;
            }
            Found::Skipped(s) => {
                assert_eq!(skipped.next(), Some(&s), "scan and Scanner disagree");
                assert_eq!(
                    s.offset, pos,
                    "skipped range not where the last piece ended"
                );
                assert!(s.len > 0, "empty skipped range");
                assert!(!last_was_skip, "two skipped ranges in a row");
                pos += s.len;
                last_was_skip = true;
            }
        }
    }
    assert!(chunks.next().is_none() && skipped.next().is_none());
    assert_eq!(scanner.footer(), found.footer.as_ref());
    if let Some(f) = found.footer {
        assert!(!last_was_skip, "a footer after a skipped range");
        assert!(
            found.header.is_some() || !found.chunks.is_empty(),
            "a footer with nothing before it"
        );
        assert_eq!(f.offset, pos);
        pos += FOOTER_LEN as u64;
        assert_eq!(
            f.computed,
            crc32(data.get(..f.offset as usize).unwrap_or_default())
        );
    }
    assert_eq!(pos, data.len() as u64, "the pieces do not cover the input");

    // A walk from the header finds chunks the scan must find too, up to the first one whose
    // framing or CRC is bad.
    let opts = ParseOptions {
        check_crc: false,
        ..ParseOptions::default()
    };
    if let Ok(file) = ContainerRef::parse_with(data, &opts) {
        let mut found_chunks = found.chunks.iter();
        for c in file.chunks() {
            let Ok(c) = c else { break };
            if crc32(framed(&c, data)) != RESIDUE {
                break;
            }
            assert_eq!(
                found_chunks.next(),
                Some(&c),
                "resync missed an intact chunk"
            );
        }
        if file.verify().is_ok() && !CRC_CHECK_DISABLED {
            assert!(found.is_intact(), "an intact file is not intact to resync");
        }
    }
}

/// Whether the readers skip CRC comparison in this build (`cfg(fuzzing)`).
const CRC_CHECK_DISABLED: bool = cfg!(fuzzing);

/// Target `roundtrip`: chunks decoded from the input ([`ChunkSpec::decode`]) go through
/// [`Writer`] and must come back equal through every reader.
pub fn roundtrip(data: &[u8]) {
    let (header, specs, opts) = ChunkSpec::decode(data);
    let mut w = Writer::new(Vec::new(), &header, opts).expect("writing to a Vec");
    let mut offsets = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let at = w.position();
        // Every other chunk goes through the zero-copy parts path, split in the middle.
        let written = if i % 2 == 1 {
            let (a, b) = s.payload.split_at(s.payload.len() / 2);
            w.write_chunk_parts(s.tag, s.flags, &[a, b])
        } else {
            w.write_chunk(s.tag, s.flags, s.payload)
        };
        assert_eq!(written.expect("writing to a Vec"), at);
        offsets.push(at);
    }
    let bytes = w.finish().expect("writing to a Vec");

    let file = ContainerRef::parse(&bytes).expect("a written file parses");
    assert_eq!(file.header(), &header);
    let mut n = 0;
    for (c, (s, at)) in file.chunks().zip(specs.iter().zip(&offsets)) {
        let c = c.expect("a written chunk reads back");
        assert_eq!(
            (c.offset, c.tag, c.flags, c.payload),
            (*at, s.tag, s.flags, s.payload)
        );
        n += 1;
    }
    assert_eq!(n, specs.len());
    assert_eq!(file.chunks().count(), specs.len());
    let v = file.verify();
    assert!(v.is_ok(), "{:?}", v.errors);
    assert_eq!(v.intact_chunks, specs.len() as u64);

    let mut reader = ChunkReader::new(OneByte(&bytes), ParseOptions::default()).expect("header");
    let mut buf = Vec::new();
    for s in &specs {
        let h = reader
            .next_chunk(&mut buf)
            .expect("stream")
            .expect("a chunk");
        assert_eq!(
            (h.tag, h.flags, buf.as_slice()),
            (s.tag, s.flags, s.payload)
        );
    }
    assert!(matches!(reader.next_chunk(&mut buf), Ok(None)));

    let found = resync::scan(&bytes);
    assert!(found.is_intact(), "{:?}", found.skipped);
    assert_eq!(found.chunks.len(), specs.len());
}

/// One chunk for the round trip, decoded from fuzz input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkSpec<'a> {
    /// Any four bytes.
    pub tag: Tag,
    /// Any flags.
    pub flags: u32,
    /// Any payload.
    pub payload: &'a [u8],
}

impl<'a> ChunkSpec<'a> {
    /// Decodes a header, writer options and chunks from raw input, by a fixed layout that
    /// depends on no crate version (so committed regressions replay the same forever):
    ///
    /// - 12 bytes, when there are that many: version, flags, reserved (u16 LE), timestamp
    ///   (u64 LE, of which the top bit picks `flush_every_chunk`);
    /// - then, while at least 10 bytes remain: tag (4), flags (u32 LE), payload length
    ///   (u16 LE), and that many payload bytes (fewer if the input ends first).
    pub fn decode(data: &'a [u8]) -> (FileHeader, Vec<ChunkSpec<'a>>, WriterOptions) {
        let mut header = FileHeader::default();
        let mut opts = WriterOptions::default();
        let mut rest = data;
        if let Some((h, tail)) = rest.split_first_chunk::<12>() {
            let [version, flags, r0, r1, t @ ..] = *h;
            let timestamp = u64::from_le_bytes(t);
            header = FileHeader {
                version,
                flags,
                reserved: u16::from_le_bytes([r0, r1]),
                timestamp_ms: timestamp & !(1 << 63),
            };
            opts.flush_every_chunk = timestamp >> 63 == 1;
            rest = tail;
        }
        let mut specs = Vec::new();
        while let Some((h, tail)) = rest.split_first_chunk::<10>() {
            let [t0, t1, t2, t3, f0, f1, f2, f3, l0, l1] = *h;
            let len = usize::from(u16::from_le_bytes([l0, l1])).min(tail.len());
            let (payload, tail) = tail.split_at(len);
            specs.push(ChunkSpec {
                tag: Tag([t0, t1, t2, t3]),
                flags: u32::from_le_bytes([f0, f1, f2, f3]),
                payload,
            });
            rest = tail;
        }
        (header, specs, opts)
    }
}

/// A reader that hands out one byte per `read`.
pub struct OneByte<'a>(pub &'a [u8]);

impl Read for OneByte<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((&b, rest)), Some(dst)) => {
                *dst = b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

/// Checks the stream's side of a chunk that the slice calls truncated because it runs into the
/// last four bytes: the stream read it (a chunk, or a CRC error if it is damaged too) and then
/// stops with [`Error::MissingFooter`] at its end (or, after a strict CRC error, at once).
/// Returns false when the case is not this one.
fn tail_overlap<R: Read>(
    stream: &Result<Option<ChunkHeader>, Error>,
    offset: u64,
    len: u32,
    reader: &mut ChunkReader<R>,
    buf: &mut Vec<u8>,
    data: &[u8],
) -> bool {
    let end = offset + (CHUNK_HEADER_LEN + CHUNK_CRC_LEN) as u64 + u64::from(len);
    let input = data.len() as u64;
    let read_it = match stream {
        Ok(Some(h)) => h.offset == offset && h.end_offset() == end,
        Err(Error::ChunkCrc { offset: o, .. }) => *o == offset,
        _ => false,
    };
    let footer_at = input - FOOTER_LEN as u64;
    if !(read_it && footer_at < end && end <= input) {
        return false;
    }
    match reader.next_chunk(buf) {
        Err(Error::MissingFooter { offset: at, .. }) => assert_eq!(at, end),
        Ok(None) => assert!(
            stream.is_err(),
            "the stream ended on a chunk without a footer"
        ),
        other => panic!("after a chunk over the footer, the stream gave {other:?}"),
    }
    true
}

/// How an error is classed when the slice view and the stream reader are compared.
///
/// The stream learns where the input ends only by reaching it, so when the framing is lost
/// near the end it may name the loss differently from the slice, which knows the last four
/// bytes are the footer: twelve bytes the slice calls a truncated chunk header (they include
/// the footer) the stream reads as a chunk header whose payload is missing, and a length past
/// the end may meet the payload cap before the stream finds the end. Both lose the framing at
/// the same offset, which the comparison checks.
fn class(e: &Error) -> &'static str {
    match e {
        Error::TruncatedHeader { .. } => "truncated header",
        Error::BadMagic { .. } => "bad magic",
        Error::MissingFooter { .. } => "missing footer",
        Error::TruncatedChunkHeader { .. } | Error::Truncated { .. } | Error::Limit { .. } => {
            "framing lost"
        }
        Error::ChunkCrc { .. } => "chunk crc",
        Error::FileCrc { .. } => "file crc",
        Error::Io(_) => "i/o",
        Error::Parameter { .. } => "parameter",
        _ => "other",
    }
}

/// Walks never take more steps than this: one per 16-byte chunk, plus the end and one error.
fn max_steps(data: &[u8]) -> usize {
    data.len() / (CHUNK_HEADER_LEN + CHUNK_CRC_LEN) + 3
}

/// Every error about the input is damage, names an offset inside it, and prints.
#[track_caller]
fn check_error(e: &Error, data: &[u8]) {
    assert!(e.is_damage(), "not damage: {e}");
    let offset = e.offset().unwrap_or_else(|| panic!("no offset: {e}"));
    assert!(
        offset <= data.len() as u64,
        "offset {offset} past the end: {e}"
    );
    assert!(!e.to_string().is_empty());
}

/// A chunk's bytes in `data`: header, payload and stored CRC.
fn framed<'a>(c: &ChunkRef<'_>, data: &'a [u8]) -> &'a [u8] {
    let start = usize::try_from(c.offset).expect("offset inside the input");
    let end = usize::try_from(c.end_offset()).expect("end inside the input");
    data.get(start..end).expect("a chunk lies inside its input")
}

/// A borrowed chunk is a view of the input at its own offset: header bytes, payload, CRC.
#[track_caller]
fn check_borrowed(c: &ChunkRef<'_>, data: &[u8]) {
    let bytes = framed(c, data);
    let (head, rest) = bytes.split_at(CHUNK_HEADER_LEN);
    let head: [u8; CHUNK_HEADER_LEN] = head.try_into().expect("12 bytes");
    assert_eq!(ChunkHeader::parse(c.offset, head), c.header());
    let (payload, crc) = rest.split_at(rest.len() - CHUNK_CRC_LEN);
    assert!(
        ptr::eq(payload, c.payload),
        "payload is not borrowed in place"
    );
    assert_eq!(crc, c.crc.to_le_bytes());
}

/// What one walk over a slice saw.
#[derive(Clone, Copy, Debug, Default)]
struct WalkSummary {
    chunks: u64,
    errors: usize,
}

/// One walk over a parsed slice: chunks contiguous, borrowed in place, CRC-checked when the
/// options say so; fused after a framing error (and after any error in strict mode); bounded.
/// With `compare_iter`, the `Iterator` impl walks alongside and must agree step by step.
fn walk_slice(file: &ContainerRef<'_>, data: &[u8], compare_iter: bool) -> WalkSummary {
    let opts = *file.options();
    let mut walk = file.chunks();
    let mut iter = file.chunks();
    let mut pos = HEADER_LEN as u64;
    let mut summary = WalkSummary::default();
    for step in 0.. {
        assert!(step <= max_steps(data), "the walk does not end");
        assert_eq!(walk.offset(), pos);
        let next = walk.next_chunk();
        if compare_iter {
            match (&next, iter.next()) {
                (Ok(Some(a)), Some(Ok(b))) => assert_eq!(*a, b),
                (Err(a), Some(Err(b))) => assert_eq!(a.to_string(), b.to_string()),
                (Ok(None), None) => {}
                _ => panic!("Chunks::next and next_chunk disagree"),
            }
        }
        match next {
            Ok(Some(c)) => {
                assert_eq!(c.offset, pos);
                assert!(c.end_offset() <= file.footer_offset());
                check_borrowed(&c, data);
                if opts.check_crc && !CRC_CHECK_DISABLED {
                    assert_eq!(crc32(framed(&c, data)), RESIDUE, "a damaged chunk passed");
                }
                // Random access to a chunk found by the walk gives the same chunk (checked for
                // the first chunks only: each costs a second hash of the chunk).
                if step < 64 {
                    match file.chunk_at(c.offset) {
                        Ok(again) => assert_eq!(again, c),
                        Err(e) => {
                            panic!("chunk_at({}) failed after the walk read it: {e}", c.offset)
                        }
                    }
                }
                pos = c.end_offset();
                summary.chunks += 1;
            }
            Ok(None) => break,
            Err(e) => {
                check_error(&e, data);
                summary.errors += 1;
                let goes_on = opts.mode == Mode::Lenient && matches!(e, Error::ChunkCrc { .. });
                if let Error::ChunkCrc { offset, .. } = e {
                    assert_eq!(offset, pos);
                }
                if goes_on {
                    assert!(walk.offset() > pos, "a lenient walk did not advance");
                    pos = walk.offset();
                } else {
                    assert!(
                        matches!(walk.next_chunk(), Ok(None)),
                        "the walk goes on after {e}"
                    );
                    break;
                }
            }
        }
    }
    // Fused: once done, always done.
    assert!(matches!(walk.next_chunk(), Ok(None)));
    assert!(!compare_iter || iter.next().is_none());
    if summary.errors == 0 && opts.check_crc && !CRC_CHECK_DISABLED {
        assert!(
            walk.reached_footer(),
            "a clean walk ended before the footer"
        );
    }
    summary
}

/// `verify` agrees with a lenient walk that compares CRCs, and is clean exactly when a strict
/// walk is.
fn check_verify(file: &ContainerRef<'_>, data: &[u8], strict: WalkSummary, lenient: WalkSummary) {
    let v = file.verify();
    for e in &v.errors {
        check_error(e, data);
    }
    assert_eq!(
        v.intact_chunks, lenient.chunks,
        "verify and a lenient walk count chunks differently"
    );
    assert_eq!(v.errors.len(), lenient.errors);
    assert_eq!(
        v.is_ok(),
        strict.errors == 0,
        "verify and a strict walk disagree"
    );
    assert_eq!(
        v.stored_file_crc.to_le_bytes(),
        data[data.len() - FOOTER_LEN..]
    );
    if let (true, Some(computed)) = (v.is_ok(), v.computed_file_crc) {
        assert_eq!(computed, v.stored_file_crc);
    }
}

/// Offsets a hostile caller might pass: the edges, and u32 values read from the input.
fn probe_offsets(data: &[u8]) -> impl Iterator<Item = u64> + '_ {
    let len = data.len() as u64;
    let edges = [
        0,
        1,
        15,
        16,
        17,
        len.saturating_sub(4),
        len,
        len + 1,
        u64::MAX,
    ];
    let from_input = data
        .chunks_exact(4)
        .take(16)
        .map(move |w| u64::from(u32::from_le_bytes([w[0], w[1], w[2], w[3]])) % (len + 2));
    edges.into_iter().chain(from_input)
}

/// `chunk_at` and `chunks_from` at any offset: an error or a chunk at that very offset.
fn check_random_access(file: &ContainerRef<'_>, data: &[u8]) {
    for offset in probe_offsets(data) {
        match file.chunk_at(offset) {
            Ok(c) => {
                assert_eq!(c.offset, offset);
                check_borrowed(&c, data);
            }
            Err(e) => {
                assert!(e.offset().is_some(), "no offset: {e}");
            }
        }
        if let Ok(mut walk) = file.chunks_from(offset) {
            // A few steps are enough to see the walk start well from anywhere.
            for _ in 0..4 {
                match walk.next_chunk() {
                    Ok(Some(c)) => check_borrowed(&c, data),
                    Ok(None) | Err(_) => break,
                }
            }
            assert!(walk.offset() <= file.footer_offset());
        }
    }
}

/// Opens a stream reader over the whole slice; a failure must be about the header.
fn open_stream(data: &[u8], opts: ParseOptions) -> Option<ChunkReader<&[u8]>> {
    match ChunkReader::new(data, opts) {
        Ok(r) => Some(r),
        Err(e) => {
            check_error(&e, data);
            assert!(
                matches!(e, Error::TruncatedHeader { .. } | Error::BadMagic { .. }),
                "the stream may only fail to open on the header: {e}"
            );
            None
        }
    }
}

/// One streaming walk; returns whether it ended at the footer with no error.
fn walk_stream<R: Read>(reader: &mut ChunkReader<R>, opts: &ParseOptions, data: &[u8]) -> bool {
    let mut buf = Vec::new();
    let mut pos = HEADER_LEN as u64;
    let mut clean = true;
    for step in 0.. {
        assert!(step <= max_steps(data), "the stream walk does not end");
        assert_eq!(reader.offset(), pos);
        match reader.next_chunk(&mut buf) {
            Ok(Some(h)) => {
                assert_eq!(h.offset, pos);
                assert_eq!(buf.len(), h.len as usize);
                assert!(h.end_offset() <= data.len() as u64);
                pos = h.end_offset();
            }
            Ok(None) => break,
            Err(e) => {
                check_error(&e, data);
                clean = false;
                if opts.mode == Mode::Lenient && matches!(e, Error::ChunkCrc { .. }) {
                    pos = reader.offset();
                } else {
                    assert!(
                        matches!(reader.next_chunk(&mut buf), Ok(None)),
                        "goes on after {e}"
                    );
                    break;
                }
            }
        }
        // The payload buffer grows with what arrives, never with what a header claims.
        assert!(
            buf.capacity() <= 2 * data.len() + 64,
            "buffer of {} for {} bytes of input",
            buf.capacity(),
            data.len()
        );
    }
    assert!(matches!(reader.next_chunk(&mut buf), Ok(None)));
    clean
}

/// `seek_to` at the chunks a slice walk found gives those chunks; at any other offset, a
/// chunk, an error or the end, never a panic.
fn check_stream_seek(data: &[u8]) {
    let opts = ParseOptions {
        check_crc: false,
        ..ParseOptions::default()
    };
    let Ok(mut reader) = ChunkReader::new(Cursor::new(data), opts) else {
        return;
    };
    let mut buf = Vec::new();
    if let Ok(file) = ContainerRef::parse_with(data, &opts) {
        for c in file.chunks().take(64) {
            let Ok(c) = c else { break };
            reader.seek_to(c.offset).expect("seek inside a Cursor");
            let h = reader
                .next_chunk(&mut buf)
                .expect("the chunk the slice read");
            assert_eq!(h, Some(c.header()));
            assert!(buf == c.payload);
        }
    }
    for offset in probe_offsets(data) {
        match reader.seek_to(offset) {
            Ok(()) => match reader.next_chunk(&mut buf) {
                Ok(Some(h)) => assert_eq!(h.offset, offset),
                Ok(None) => {}
                Err(e) => assert!(e.offset().is_some_and(|o| o >= offset), "{e}"),
            },
            Err(e) => assert!(matches!(e, Error::Parameter { .. }), "{e}"),
        }
    }
}
