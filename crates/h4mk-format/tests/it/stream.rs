//! The streaming reader agrees with the slice view however its input is split.

use std::io::{self, Read};

use h4mk_format::{ChunkReader, ContainerRef, Error, Mode, ParseOptions};

use crate::{REFERENCE, reference_bytes};

/// Hands out 1..=max bytes per `read`, from a fixed xorshift seed.
struct ShortReads<'a> {
    data: &'a [u8],
    state: u32,
    max: usize,
}

impl Read for ShortReads<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 17;
        self.state ^= self.state << 5;
        let n = (1 + self.state as usize % self.max)
            .min(buf.len())
            .min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        buf[..n].copy_from_slice(head);
        self.data = rest;
        Ok(n)
    }
}

/// What a walk saw.
type Walk = Vec<Result<(u64, String, u32, Vec<u8>), String>>;

/// Walks a stream: each chunk's (offset, tag, flags, payload) or the error's text.
fn stream_walk(input: impl Read, opts: ParseOptions) -> Walk {
    let mut out = Vec::new();
    let mut reader = match ChunkReader::new(input, opts) {
        Ok(r) => r,
        Err(e) => return vec![Err(e.to_string())],
    };
    let mut buf = Vec::new();
    loop {
        match reader.next_chunk(&mut buf) {
            Ok(Some(h)) => out.push(Ok((h.offset, h.tag.to_string(), h.flags, buf.clone()))),
            Ok(None) => return out,
            Err(e) => {
                let fatal = !matches!(e, Error::ChunkCrc { .. }) || opts.mode == Mode::Strict;
                out.push(Err(e.to_string()));
                if fatal {
                    return out;
                }
            }
        }
    }
}

fn slice_walk(data: &[u8], opts: ParseOptions) -> Walk {
    match ContainerRef::parse_with(data, &opts) {
        Ok(file) => file
            .chunks()
            .map(|c| {
                c.map(|c| (c.offset, c.tag.to_string(), c.flags, c.payload.to_vec()))
                    .map_err(|e| e.to_string())
            })
            .collect(),
        Err(e) => vec![Err(e.to_string())],
    }
}

#[test]
fn one_byte_and_ragged_reads_give_the_slice_result() {
    for name in REFERENCE {
        let bytes = reference_bytes(name);
        let whole = slice_walk(&bytes, ParseOptions::default());
        assert!(whole.iter().all(Result::is_ok), "{name}");
        for max in [1, 3, 17, 4096] {
            let input = ShortReads {
                data: &bytes,
                state: 0x9e37_79b9,
                max,
            };
            assert_eq!(
                stream_walk(input, ParseOptions::default()),
                whole,
                "{name} with reads of at most {max}"
            );
        }
    }
}

#[test]
fn damaged_chunks_are_reported_alike_in_lenient_mode() {
    let mut bytes = reference_bytes("demo");
    // Flip a payload byte of the META chunk (payload at 327) and of the last CORE (at 670).
    bytes[330] ^= 0x40;
    bytes[672] ^= 0x01;
    let opts = ParseOptions::lenient();
    let streamed = stream_walk(
        ShortReads {
            data: &bytes,
            state: 7,
            max: 5,
        },
        opts,
    );
    assert_eq!(streamed, slice_walk(&bytes, opts));
    let errors: Vec<_> = streamed.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(
        errors.len(),
        3,
        "two chunk crcs and the file crc: {errors:?}"
    );
    assert!(errors[0].starts_with("chunk META at offset 315: crc stored"));
    assert!(errors[1].starts_with("chunk CORE at offset 658: crc stored"));
    assert!(errors[2].starts_with("file crc at offset 789"));
}
