//! Truncations, bit flips and hostile lengths: always a typed error with an offset, never a
//! panic and never a silent success.

use std::io::Read;

use h4mk_format::{
    ChunkReader, ContainerRef, Error, FileHeader, ParseOptions, Tag, Writer, WriterOptions,
};

use crate::{REFERENCE, reference_bytes};

/// Reads the whole input both ways; returns the first error of each.
fn first_errors(data: &[u8]) -> (Option<Error>, Option<Error>) {
    let slice = match ContainerRef::parse(data) {
        Ok(file) => file.chunks().find_map(Result::err),
        Err(e) => Some(e),
    };
    let stream = match ChunkReader::new(data, ParseOptions::default()) {
        Ok(mut r) => {
            let mut buf = Vec::new();
            loop {
                match r.next_chunk(&mut buf) {
                    Ok(Some(_)) => {}
                    Ok(None) => break None,
                    Err(e) => break Some(e),
                }
            }
        }
        Err(e) => Some(e),
    };
    (slice, stream)
}

#[track_caller]
fn check_rejected(data: &[u8], what: &str) {
    let (slice, stream) = first_errors(data);
    for (how, err) in [("slice", slice), ("stream", stream)] {
        let err = err.unwrap_or_else(|| panic!("{what}: the {how} reader accepted it"));
        assert!(err.is_damage(), "{what}: {how}: {err}");
        let offset = err
            .offset()
            .unwrap_or_else(|| panic!("{what}: {how}: no offset in {err}"));
        assert!(
            offset <= data.len() as u64,
            "{what}: {how}: offset {offset} past the end"
        );
    }
}

fn small_references() -> impl Iterator<Item = (&'static str, Vec<u8>)> {
    REFERENCE
        .into_iter()
        .filter(|n| *n != "three_tracks_2000")
        .map(|n| (n, reference_bytes(n)))
}

#[test]
fn every_truncation_is_an_error() {
    for (name, bytes) in small_references() {
        for len in 0..bytes.len() {
            check_rejected(&bytes[..len], &format!("{name} cut to {len}"));
        }
    }
}

/// A file cut short inside a chunk, as a crashed writer leaves it, is told from damage by
/// [`ContainerRef::is_cut_short`], which readers use to answer from the chunks before the cut:
/// every cut that a walk reports as a chunk running past the end is one. A length field made
/// to run past the end further up is damage: the file still ends on an intact chunk.
#[test]
fn a_cut_is_told_from_a_length_run_past_the_end() {
    let runs_past = |e: &Error| {
        matches!(
            e,
            Error::Truncated { .. } | Error::TruncatedChunkHeader { .. }
        )
    };
    for (name, bytes) in small_references() {
        let mut cuts = 0;
        for len in h4mk_format::HEADER_LEN + 4..bytes.len() {
            let Ok(file) = ContainerRef::parse(&bytes[..len]) else {
                continue;
            };
            if let Some(e) = file.chunks().find_map(Result::err).filter(runs_past) {
                assert!(file.is_cut_short(&e), "{name} cut to {len}: {e}");
                cuts += 1;
            }
        }
        assert!(cuts > 0, "{name}");
        // The first chunk's length field, made to reach past the end.
        let mut damaged = bytes.clone();
        let len_field = h4mk_format::HEADER_LEN + 8;
        damaged[len_field..len_field + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let file = ContainerRef::parse(&damaged).unwrap();
        let e = file.chunks().find_map(Result::err).unwrap();
        assert!(runs_past(&e), "{name}: {e}");
        assert!(!file.is_cut_short(&e), "{name}: {e}");
    }
}

#[test]
fn every_bit_flip_is_an_error() {
    for (name, bytes) in small_references() {
        let mut copy = bytes.clone();
        for bit in 0..bytes.len() * 8 {
            copy[bit / 8] ^= 1 << (bit % 8);
            check_rejected(&copy, &format!("{name} with bit {bit} flipped"));
            copy[bit / 8] ^= 1 << (bit % 8);
        }
    }
}

/// A reader that counts the bytes it hands out and fails the test if asked for more than its
/// input: the stream reader must size its buffer by what arrives, not by what a header claims.
struct Counting<'a> {
    data: &'a [u8],
    largest_request: usize,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.largest_request = self.largest_request.max(buf.len());
        self.data.read(buf)
    }
}

#[test]
fn a_four_gib_length_is_refused_without_allocating_it() {
    let mut bytes = reference_bytes("sidecars");
    // The TRAK chunk at 16 claims u32::MAX bytes of payload.
    bytes[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
    let file = ContainerRef::parse(&bytes).unwrap();
    let err = file.chunks().next().unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Truncated {
                tag: Tag::TRAK,
                offset: 16,
                len: u32::MAX,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "chunk TRAK at offset 16: payload length 4294967295 plus its 4-byte crc exceeds the {} bytes left before the file crc",
            bytes.len() - 16 - 12 - 4
        )
    );

    // The streaming reader, with no cap (the default), reads what arrives and then reports
    // the truncation; its buffer holds at most the input.
    let opts = ParseOptions::default();
    let mut input = Counting {
        data: &bytes,
        largest_request: 0,
    };
    let mut reader = ChunkReader::new(&mut input, opts).unwrap();
    let mut buf = Vec::new();
    let err = reader.next_chunk(&mut buf).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Truncated {
                tag: Tag::TRAK,
                offset: 16,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        buf.capacity() <= 2 * bytes.len().max(64),
        "buffer grew to {}",
        buf.capacity()
    );

    // With a cap, the stream reader refuses before reading anything.
    let capped = ParseOptions {
        limits: h4mk_format::Limits {
            max_chunk_len: 256 << 20,
            ..h4mk_format::Limits::default()
        },
        ..ParseOptions::default()
    };
    let mut reader = ChunkReader::new(&bytes[..], capped).unwrap();
    let err = reader.next_chunk(&mut Vec::new()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Limit {
                tag: Tag::TRAK,
                offset: 16,
                value: 0xffff_ffff,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn the_empty_file_and_a_bare_header_are_errors() {
    check_rejected(b"", "empty");
    check_rejected(b"H4MK\x01\0\0\0\0\0\0\0\0\0\0\0", "header only");
    // A header and a footer with no chunks is a valid, empty container.
    let mut empty = b"H4MK\x01\0\0\0\0\0\0\0\0\0\0\0".to_vec();
    let crc = h4mk_format::crc::crc32(&empty);
    empty.extend_from_slice(&crc.to_le_bytes());
    assert!(matches!(first_errors(&empty), (None, None)));
}

#[test]
fn finish_fails_after_an_error_that_ended_the_walk() {
    let mut w = Writer::new(Vec::new(), &FileHeader::default(), WriterOptions::default()).unwrap();
    w.write_chunk(Tag::NOTE, 0, b"hello").unwrap();
    let mut bytes = w.finish().unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff; // a wrong file CRC
    let mut reader = ChunkReader::new(&bytes[..], ParseOptions::default()).unwrap();
    let mut buf = Vec::new();
    assert!(reader.next_chunk(&mut buf).unwrap().is_some());
    assert!(matches!(
        reader.next_chunk(&mut buf),
        Err(Error::FileCrc { .. })
    ));
    // A caller that goes on past the error sees the end, and finish says it is not sound.
    assert!(matches!(reader.next_chunk(&mut buf), Ok(None)));
    assert!(matches!(reader.finish(), Err(Error::Parameter { .. })));
}

/// `n` empty NOTE chunks, each with a wrong CRC (the file CRC right).
fn bad_crc_chunks(n: usize) -> Vec<u8> {
    let mut bytes = FileHeader::default().to_bytes().to_vec();
    for _ in 0..n {
        bytes.extend_from_slice(b"NOTE\0\0\0\0\0\0\0\0\0\0\0\0");
    }
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

#[test]
fn verify_keeps_at_most_max_problems_and_counts_the_rest() {
    let bytes = bad_crc_chunks(1_000);
    let mut opts = ParseOptions::default();
    opts.limits.max_problems = 10;
    let v = ContainerRef::parse_with(&bytes, &opts).unwrap().verify();
    assert_eq!(v.errors.len(), 10);
    assert_eq!(v.omitted_errors, 990);
    assert!(matches!(v.errors[0], Error::ChunkCrc { offset: 16, .. }));
    assert!(!v.is_ok());
    // None kept is still not sound.
    opts.limits.max_problems = 0;
    let v = ContainerRef::parse_with(&bytes, &opts).unwrap().verify();
    assert!(v.errors.is_empty() && v.omitted_errors == 1_000 && !v.is_ok());
}
