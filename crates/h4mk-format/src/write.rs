//! Streaming writing over any `Write` (docs/FORMAT.md §1).

use std::io::Write;

use crate::chunk::{CHUNK_CRC_LEN, CHUNK_HEADER_LEN, ChunkHeader};
use crate::crc::{RESIDUE, RunningCrc};
use crate::error::{Error, Result};
use crate::header::{FileHeader, HEADER_LEN};
use crate::tag::Tag;

/// Options for [`Writer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterOptions {
    /// Call `flush` on the inner writer after every chunk, so each complete chunk reaches the
    /// sink (and, with a sink whose `flush` syncs, the disk) before the next one starts.
    pub flush_every_chunk: bool,
}

/// Writes a container chunk by chunk.
///
/// The header goes out in [`Writer::new`], each chunk in [`Writer::write_chunk`], and the file
/// CRC only in [`Writer::finish`]. A writer dropped without `finish` leaves a file with no
/// footer, which every reader rejects, rather than one that only looks valid. After an I/O
/// error the writer refuses further chunks, since the sink's position is unknown.
#[derive(Debug)]
pub struct Writer<W: Write> {
    inner: W,
    position: u64,
    file_crc: RunningCrc,
    opts: WriterOptions,
    poisoned: bool,
}

impl<W: Write> Writer<W> {
    /// Writes the file header.
    pub fn new(inner: W, header: &FileHeader, opts: WriterOptions) -> Result<Self> {
        let mut inner = inner;
        let bytes = header.to_bytes();
        inner.write_all(&bytes)?;
        let mut file_crc = RunningCrc::default();
        file_crc.update(&bytes);
        Ok(Writer {
            inner,
            position: HEADER_LEN as u64,
            file_crc,
            opts,
            poisoned: false,
        })
    }

    /// Writes one chunk and returns the offset of its header.
    pub fn write_chunk(&mut self, tag: Tag, flags: u32, payload: &[u8]) -> Result<u64> {
        self.write_chunk_parts(tag, flags, &[payload])
    }

    /// Writes one chunk whose payload is the concatenation of `parts`, without copying them
    /// together first; returns the offset of its header.
    pub fn write_chunk_parts(&mut self, tag: Tag, flags: u32, parts: &[&[u8]]) -> Result<u64> {
        let offset = self.position;
        if self.poisoned {
            return Err(Error::Parameter {
                offset,
                what: "the writer failed earlier and cannot go on",
            });
        }
        let total = parts
            .iter()
            .try_fold(0u64, |sum, p| sum.checked_add(p.len() as u64));
        let len = total
            .and_then(|t| u32::try_from(t).ok())
            .ok_or(Error::Limit {
                tag,
                offset,
                what: "payload length",
                value: total.unwrap_or(u64::MAX),
                max: u64::from(u32::MAX),
            })?;
        let header = ChunkHeader {
            offset,
            tag,
            flags,
            len,
        }
        .to_bytes();
        // One streaming hash over header and parts: no per-part combine.
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&header);
        for part in parts {
            hasher.update(part);
        }
        let crc = hasher.finalize().to_le_bytes();
        self.poisoned = true;
        self.inner.write_all(&header)?;
        for part in parts {
            self.inner.write_all(part)?;
        }
        self.inner.write_all(&crc)?;
        if self.opts.flush_every_chunk {
            self.inner.flush()?;
        }
        self.poisoned = false;
        // Header, payload and CRC together hash to the residue, whatever the payload.
        let framed = (CHUNK_HEADER_LEN + CHUNK_CRC_LEN) as u64 + u64::from(len);
        self.file_crc.append(RESIDUE, framed);
        self.position = ChunkHeader {
            offset,
            tag,
            flags,
            len,
        }
        .end_offset();
        Ok(offset)
    }

    /// Offset where the next chunk will start.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// Writes the file CRC, flushes, and hands back the inner writer.
    pub fn finish(mut self) -> Result<W> {
        if self.poisoned {
            return Err(Error::Parameter {
                offset: self.position,
                what: "the writer failed earlier; no footer written",
            });
        }
        self.inner.write_all(&self.file_crc.value().to_le_bytes())?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}
