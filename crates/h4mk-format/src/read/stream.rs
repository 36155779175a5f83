//! Streaming reading over any `Read`, pipes included, one chunk in memory at a time.

use std::io::{self, Read, Seek, SeekFrom};

use crate::chunk::{CHUNK_CRC_LEN, CHUNK_HEADER_LEN, ChunkHeader, FOOTER_LEN};
use crate::crc::{RunningCrc, crc32};
use crate::error::{Error, Result};
use crate::header::{FileHeader, HEADER_LEN};
use crate::read::{Mode, ParseOptions};

/// Reads a container chunk by chunk from a byte stream.
///
/// The reader never knows the file's length, so it learns where the footer is by reaching the
/// end of the stream: the last four bytes are the file CRC. Each payload lands in a buffer the
/// caller owns; the buffer grows as bytes actually arrive (never from the declared length) and
/// a length over [`crate::Limits::max_chunk_len`] is refused before any read.
///
/// The whole-file CRC is computed as the chunks go by, from each chunk's CRC (one CRC pass per
/// byte). A [`ChunkReader::seek_to`] invalidates it: after a seek, the footer is not compared.
#[derive(Debug)]
pub struct ChunkReader<R> {
    inner: R,
    header: FileHeader,
    opts: ParseOptions,
    offset: u64,
    file_crc: Option<RunningCrc>,
    state: State,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Chunks,
    Footer,
    Failed,
}

impl<R: Read> ChunkReader<R> {
    /// Reads and checks the 16-byte header.
    pub fn new(inner: R, opts: ParseOptions) -> Result<Self> {
        let mut inner = inner;
        let mut bytes = [0u8; HEADER_LEN];
        let got = read_full(&mut inner, &mut bytes)?;
        let header = FileHeader::parse(bytes.get(..got).unwrap_or_default())?;
        let mut file_crc = RunningCrc::default();
        file_crc.update(&bytes);
        Ok(ChunkReader {
            inner,
            header,
            opts,
            offset: HEADER_LEN as u64,
            file_crc: opts.compares_crc().then_some(file_crc),
            state: State::Chunks,
        })
    }

    /// The file header.
    pub fn header(&self) -> &FileHeader {
        &self.header
    }

    /// Offset of the next chunk.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the next chunk's payload into `buf` (replacing its contents) and returns its
    /// header, or `None` once the footer is reached and matches.
    ///
    /// After a [`Error::ChunkCrc`] in lenient mode the reader stays in step and the next call
    /// reads the following chunk; any other error is final: later calls return `None`, and
    /// [`ChunkReader::finish`] fails.
    pub fn next_chunk(&mut self, buf: &mut Vec<u8>) -> Result<Option<ChunkHeader>> {
        if self.state != State::Chunks {
            return Ok(None);
        }
        let result = self.read_chunk(buf);
        match &result {
            Ok(Some(_)) => {}
            Ok(None) => self.state = State::Footer,
            Err(Error::ChunkCrc { .. }) if self.opts.mode == Mode::Lenient => {}
            Err(_) => self.state = State::Failed,
        }
        result
    }

    /// Reads to the footer (skipping remaining chunks), checks it, and hands back the stream.
    /// Fails after an error that ended the walk, since the footer was then never checked.
    pub fn finish(mut self) -> Result<R> {
        let mut scratch = Vec::new();
        while self.next_chunk(&mut scratch)?.is_some() {}
        if self.state == State::Failed {
            return Err(Error::Parameter {
                offset: self.offset,
                what: "an earlier error ended the walk before the footer was checked",
            });
        }
        Ok(self.inner)
    }

    fn read_chunk(&mut self, buf: &mut Vec<u8>) -> Result<Option<ChunkHeader>> {
        let offset = self.offset;
        let mut head = [0u8; CHUNK_HEADER_LEN];
        let got = read_full(&mut self.inner, &mut head)?;
        if got == FOOTER_LEN {
            return self.check_footer(head);
        }
        if got < FOOTER_LEN {
            return Err(Error::MissingFooter {
                offset,
                len: offset + got as u64,
            });
        }
        if got < CHUNK_HEADER_LEN {
            return Err(Error::TruncatedChunkHeader {
                offset,
                remaining: (got - FOOTER_LEN) as u64,
            });
        }
        let header = ChunkHeader::parse(offset, head);
        self.opts.limits.check_chunk(&header)?;
        buf.clear();
        let wanted = u64::from(header.len) + CHUNK_CRC_LEN as u64;
        let got = (&mut self.inner).take(wanted).read_to_end(buf)?;
        if (got as u64) < wanted {
            return Err(Error::Truncated {
                tag: header.tag,
                offset,
                len: header.len,
                remaining: (got as u64).saturating_sub(FOOTER_LEN as u64),
            });
        }
        let mut crc_bytes = [0u8; CHUNK_CRC_LEN];
        for (dst, src) in crc_bytes.iter_mut().zip(buf.drain(header.len as usize..)) {
            *dst = src;
        }
        let stored = u32::from_le_bytes(crc_bytes);
        self.offset = header.end_offset();
        if self.file_crc.is_some() || self.opts.compares_crc() {
            let mut chunk_crc = RunningCrc::default();
            chunk_crc.update(&head);
            chunk_crc.append(crc32(buf), buf.len() as u64);
            let computed = chunk_crc.value();
            if let Some(run) = &mut self.file_crc {
                run.append(computed, (CHUNK_HEADER_LEN + buf.len()) as u64);
                run.update(&crc_bytes);
            }
            if self.opts.compares_crc() && computed != stored {
                return Err(Error::ChunkCrc {
                    tag: header.tag,
                    offset,
                    stored,
                    computed,
                });
            }
        }
        Ok(Some(header))
    }

    fn check_footer(&mut self, head: [u8; CHUNK_HEADER_LEN]) -> Result<Option<ChunkHeader>> {
        let [a, b, c, d, ..] = head;
        let stored = u32::from_le_bytes([a, b, c, d]);
        if let Some(run) = self.file_crc
            && self.opts.compares_crc()
            && run.value() != stored
        {
            return Err(Error::FileCrc {
                offset: self.offset,
                stored,
                computed: run.value(),
            });
        }
        Ok(None)
    }
}

impl<R: Read + Seek> ChunkReader<R> {
    /// Moves to the chunk at `offset`, which the caller knows to be a chunk boundary (from a
    /// seek table, say). The file CRC is no longer checked after a seek.
    pub fn seek_to(&mut self, offset: u64) -> Result<()> {
        if offset < HEADER_LEN as u64 {
            return Err(Error::Parameter {
                offset,
                what: "inside the file header, not a chunk boundary",
            });
        }
        self.inner.seek(SeekFrom::Start(offset))?;
        self.offset = offset;
        self.file_crc = None;
        self.state = State::Chunks;
        Ok(())
    }
}

/// Reads until `buf` is full or the stream ends; returns how many bytes arrived.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..) {
        if rest.is_empty() {
            break;
        }
        match r.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
