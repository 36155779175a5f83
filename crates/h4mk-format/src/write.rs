//! Streaming writing over any `Write` (docs/FORMAT.md §1).

use std::borrow::Cow;
use std::collections::VecDeque;
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
///
/// The sink receives many small writes (chunk headers, CRCs, payloads in pieces of about
/// 512 bytes): give it a `Vec` or a buffered writer such as `BufWriter<File>`.
#[derive(Debug)]
pub struct Writer<W: Write> {
    inner: W,
    position: u64,
    file_crc: RunningCrc,
    opts: WriterOptions,
    poisoned: bool,
    /// A hasher with nothing hashed, copied for each chunk: `Hasher::new` detects the CPU's
    /// features on every call.
    empty_hasher: crc32fast::Hasher,
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
            empty_hasher: crc32fast::Hasher::new(),
        })
    }

    /// Writes one chunk and returns the offset of its header.
    pub fn write_chunk(&mut self, tag: Tag, flags: u32, payload: &[u8]) -> Result<u64> {
        self.write_chunk_parts(tag, flags, &[payload])
    }

    /// Writes one chunk whose payload is the concatenation of `parts`, without copying them
    /// together first; returns the offset of its header.
    pub fn write_chunk_parts(&mut self, tag: Tag, flags: u32, parts: &[&[u8]]) -> Result<u64> {
        let header = self.header_for(tag, flags, parts, &[])?;
        let framed = header.end_offset().saturating_sub(header.offset);
        // The header and the short parts right after it (a routing header, say) go out as
        // one piece: one hash call and one write instead of one each.
        let mut head = [0u8; HEAD_MAX];
        let mut head_len = CHUNK_HEADER_LEN;
        if let Some(h) = head.get_mut(..CHUNK_HEADER_LEN) {
            h.copy_from_slice(&header.to_bytes());
        }
        let mut rest = parts;
        while let Some((part, after)) = rest.split_first()
            && let Some(room) = head.get_mut(head_len..head_len.saturating_add(part.len()))
        {
            room.copy_from_slice(part);
            head_len += part.len();
            rest = after;
        }
        let head = head.get(..head_len).unwrap_or_default();
        self.write_framed(std::iter::once(head).chain(rest.iter().copied()), framed)
    }

    /// Writes a chunk of `framed` bytes laid out in `pieces` (its header first, then its
    /// payload), hashing them in one streaming pass with no per-part combine, then its CRC;
    /// returns the offset of its header. The writer is poisoned until the chunk is whole.
    fn write_framed<'p>(
        &mut self,
        pieces: impl IntoIterator<Item = &'p [u8]>,
        framed: u64,
    ) -> Result<u64> {
        let offset = self.position;
        self.poisoned = true;
        let mut hasher = self.empty_hasher.clone();
        for piece in pieces {
            self.hash_and_write(&mut hasher, piece)?;
        }
        self.inner.write_all(&hasher.finalize().to_le_bytes())?;
        self.end_chunk(offset, framed)
    }

    /// Hashes `bytes` and writes them, [`PIECE`] bytes at a time: each piece is hashed just
    /// before it is written, so the CRC of one piece runs while the stores of the one before
    /// drain to memory, instead of the whole hash and then the whole copy.
    fn hash_and_write(&mut self, hasher: &mut crc32fast::Hasher, bytes: &[u8]) -> Result<()> {
        let mut rest = bytes;
        while rest.len() >= 2 * PIECE {
            let (piece, tail) = rest.split_at(PIECE);
            hasher.update(piece);
            self.inner.write_all(piece)?;
            rest = tail;
        }
        if !rest.is_empty() {
            hasher.update(rest);
            self.inner.write_all(rest)?;
        }
        Ok(())
    }

    /// Frames a chunk at the back of `queue` without writing it: the chunk is checked and laid
    /// out now, and [`Writer::write_queued`] later hashes and writes it in one pass.
    ///
    /// The payload is `copied` (each part copied into the queue) followed by `tail`, which the
    /// queue keeps as given and never copies: borrowed bytes that outlive the queue (a
    /// memory-mapped input) cost it no memory, and an owned buffer (an encoder's output) is
    /// moved in and dropped once written. `meta` travels with the chunk.
    pub fn frame<'a, M>(
        &self,
        queue: &mut ChunkQueue<'a, M>,
        meta: M,
        tag: Tag,
        flags: u32,
        copied: &[&[u8]],
        tail: Cow<'a, [u8]>,
    ) -> Result<()> {
        let header = self.header_for(tag, flags, copied, &tail)?;
        // Header and copied parts: the checked payload length, less the tail.
        let head_len = CHUNK_HEADER_LEN + (header.len as usize - tail.len());
        queue.bytes.reserve(head_len);
        queue.bytes.extend_from_slice(&header.to_bytes());
        for part in copied {
            queue.bytes.extend_from_slice(part);
        }
        queue.chunks.push_back(Queued {
            meta,
            head_len,
            tail,
        });
        Ok(())
    }

    /// Writes the first chunk of `queue`; returns what was framed with it and the offset of
    /// its header, or `None` when the queue is empty.
    pub fn write_queued<M>(&mut self, queue: &mut ChunkQueue<'_, M>) -> Result<Option<(M, u64)>> {
        self.usable()?;
        let Some(Queued {
            meta,
            head_len,
            tail,
        }) = queue.chunks.pop_front()
        else {
            return Ok(None);
        };
        let end = queue.start.saturating_add(head_len);
        let head = queue.bytes.get(queue.start..end).unwrap_or_default();
        let framed = (head_len + tail.len() + CHUNK_CRC_LEN) as u64;
        let offset = self.write_framed([head, &tail[..]], framed)?;
        queue.start = end;
        queue.compact();
        Ok(Some((meta, offset)))
    }

    /// The header of a chunk whose payload is `parts` then `last`, checking that its length
    /// fits.
    fn header_for(
        &self,
        tag: Tag,
        flags: u32,
        parts: &[&[u8]],
        last: &[u8],
    ) -> Result<ChunkHeader> {
        self.usable()?;
        let offset = self.position;
        let total = parts
            .iter()
            .chain(std::iter::once(&last))
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
        Ok(ChunkHeader {
            offset,
            tag,
            flags,
            len,
        })
    }

    /// Refuses to go on after an I/O error: where the sink stands is unknown.
    fn usable(&self) -> Result<()> {
        if self.poisoned {
            return Err(Error::Parameter {
                offset: self.position,
                what: "the writer failed earlier and cannot go on",
            });
        }
        Ok(())
    }

    /// Completes a chunk of `framed` bytes whose writing started at `offset` (with the writer
    /// poisoned until it is whole), and returns that offset.
    fn end_chunk(&mut self, offset: u64, framed: u64) -> Result<u64> {
        if self.opts.flush_every_chunk {
            self.inner.flush()?;
        }
        self.poisoned = false;
        // Header, payload and CRC together hash to the residue, whatever the payload.
        self.file_crc.append(RESIDUE, framed);
        self.position = offset.saturating_add(framed);
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

/// Chunks framed ahead of writing, in order, each with a caller's value `M`.
///
/// [`Writer::frame`] lays a chunk out (header and copied payload); [`Writer::write_queued`]
/// later hashes and writes the first one, reading each byte once. A muxer keeps the blocks
/// whose place in the file is not settled yet in one of these. Part of a payload may be
/// borrowed for `'a` or moved in rather than copied. Only the writer puts chunks in, so every
/// queued chunk is well formed.
#[derive(Debug)]
pub struct ChunkQueue<'a, M> {
    /// The copied part of each chunk (header, copied payload parts), back to back; bytes
    /// before `start` are written.
    bytes: Vec<u8>,
    start: usize,
    chunks: VecDeque<Queued<'a, M>>,
}

#[derive(Debug)]
struct Queued<'a, M> {
    meta: M,
    /// Bytes of the chunk in the queue's buffer: its header and copied payload.
    head_len: usize,
    /// The payload's last part, as handed to [`Writer::frame`].
    tail: Cow<'a, [u8]>,
}

/// Bytes hashed and written at a time (the last piece of a part takes up to twice this, so no
/// short call is made). Small enough that the stores of one piece are still draining to
/// memory while the next is hashed, large enough for crc32fast's folding path. Muxing 64 MiB
/// of 16 KiB blocks into a `Vec`, this took about 0.8 of the time of hashing each block and
/// then writing it; whole 1 MiB files written in cache cost about 15% more (PERFORMANCE.md §4).
const PIECE: usize = 512;

/// The most bytes of header and leading short parts [`Writer::write_chunk_parts`] gathers into
/// one piece.
const HEAD_MAX: usize = 64;

/// Above this capacity, an emptied queue gives its buffer back.
const QUEUE_KEEP: usize = 1 << 20;

impl<M> Default for ChunkQueue<'_, M> {
    fn default() -> Self {
        ChunkQueue {
            bytes: Vec::new(),
            start: 0,
            chunks: VecDeque::new(),
        }
    }
}

impl<M> ChunkQueue<'_, M> {
    /// Chunks queued.
    pub fn len(&self) -> usize {
        self.chunks.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// The value of the first queued chunk.
    pub fn front(&self) -> Option<&M> {
        self.chunks.front().map(|q| &q.meta)
    }

    /// Bytes the queue holds copies of (tails not counted).
    pub fn queued_bytes(&self) -> usize {
        self.bytes.len().saturating_sub(self.start)
    }

    /// Drops written bytes: all of them when the queue is empty, else once they are the
    /// larger part of the buffer, so each byte moves at most once on average.
    fn compact(&mut self) {
        if self.chunks.is_empty() {
            self.bytes.clear();
            self.start = 0;
            if self.bytes.capacity() > QUEUE_KEEP {
                self.bytes.shrink_to(QUEUE_KEEP);
            }
        } else if self.start > self.bytes.len() / 2 {
            self.bytes.drain(..self.start);
            self.start = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::slice::ContainerRef;

    fn writer() -> Writer<Vec<u8>> {
        Writer::new(Vec::new(), &FileHeader::default(), WriterOptions::default()).unwrap()
    }

    /// Payload `i`: lengths that cross the 64-byte steps of the CRC's fast path and the
    /// pieces the writer hashes and writes at a time.
    fn payload(i: usize) -> Vec<u8> {
        (0..i * 37 % (5 * PIECE))
            .map(|j| (i * 31 + j) as u8)
            .collect()
    }

    #[test]
    fn queued_chunks_are_written_as_written_directly() {
        let mut direct = writer();
        let mut queued = writer();
        let payloads: Vec<Vec<u8>> = (0..200).map(payload).collect();
        let mut queue = ChunkQueue::default();
        // Chunks join and leave the queue at different rates, so it compacts on the way;
        // payloads are copied, borrowed or moved in, in turn.
        for (i, p) in payloads.iter().enumerate() {
            let parts: [&[u8]; 2] = [b"rh", p];
            let flags = i as u32;
            let at = direct.write_chunk_parts(Tag::CORE, flags, &parts).unwrap();
            let meta = (i, at);
            let (copied, tail): (&[&[u8]], Cow<'_, [u8]>) = match i % 3 {
                0 => (&parts, Cow::Borrowed(&[])),
                1 => (&[b"rh"], Cow::Borrowed(p)),
                _ => (&[b"rh"], Cow::Owned(p.clone())),
            };
            queued
                .frame(&mut queue, meta, Tag::CORE, flags, copied, tail)
                .unwrap();
            if i % 4 != 0 {
                let (meta, offset) = queued.write_queued(&mut queue).unwrap().unwrap();
                assert_eq!(meta.1, offset, "chunk {} lands where it would have", meta.0);
            }
            assert_eq!(queue.queued_bytes() > 0, !queue.is_empty());
        }
        while let Some((meta, offset)) = queued.write_queued(&mut queue).unwrap() {
            assert_eq!(meta.1, offset);
        }
        assert!(queue.is_empty() && queue.front().is_none());
        assert_eq!(queue.queued_bytes(), 0);
        let (direct, queued) = (direct.finish().unwrap(), queued.finish().unwrap());
        assert_eq!(direct, queued);
        let check = ContainerRef::parse(&queued).unwrap().verify();
        assert!(check.is_ok(), "{:?}", check.errors);
        assert_eq!(check.intact_chunks, 200);
    }

    /// A sink that fails once it holds `room` bytes.
    struct Full {
        room: usize,
        bytes: Vec<u8>,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.bytes.len() + buf.len() > self.room {
                return Err(std::io::Error::other("disk full"));
            }
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_stops_the_writer() {
        let sink = Full {
            room: 100,
            bytes: Vec::new(),
        };
        let mut w = Writer::new(sink, &FileHeader::default(), WriterOptions::default()).unwrap();
        let mut queue = ChunkQueue::default();
        w.frame(
            &mut queue,
            (),
            Tag::CORE,
            0,
            &[],
            Cow::Owned(vec![7u8; 200]),
        )
        .unwrap();
        w.frame(&mut queue, (), Tag::NOTE, 0, &[b"next"], Cow::Borrowed(&[]))
            .unwrap();
        assert!(matches!(w.write_queued(&mut queue), Err(Error::Io(_))));
        // The chunk queued behind the failed one is refused too, not written after a gap.
        let err = w.write_queued(&mut queue).unwrap_err();
        assert!(matches!(err, Error::Parameter { .. }), "{err}");
        let err = w
            .frame(&mut queue, (), Tag::CORE, 0, &[b"x"], Cow::Borrowed(&[]))
            .unwrap_err();
        assert!(matches!(err, Error::Parameter { .. }), "{err}");
        assert!(w.write_chunk(Tag::CORE, 0, b"x").is_err());
        assert!(w.finish().is_err());
    }
}
