//! Zero-copy reading of a container held in memory (docs/FORMAT.md §1).

use crate::chunk::{CHUNK_CRC_LEN, CHUNK_HEADER_LEN, ChunkHeader, ChunkRef, FOOTER_LEN};
use crate::crc::{RESIDUE, RunningCrc, crc32};
use crate::error::{Error, Result};
use crate::header::{FileHeader, HEADER_LEN};
use crate::limits::Limits;
use crate::read::{Mode, ParseOptions};

/// A container borrowed from a byte slice.
///
/// Parsing checks only the header and that there is room for the footer, so opening costs
/// nothing whatever the size; [`ContainerRef::chunks`] walks and checks the chunks,
/// [`ContainerRef::chunk_at`] reads one chunk at a known offset and [`ContainerRef::verify`]
/// checks every CRC in one pass.
#[derive(Clone, Copy, Debug)]
pub struct ContainerRef<'a> {
    data: &'a [u8],
    header: FileHeader,
    opts: ParseOptions,
}

/// The outcome of [`ContainerRef::verify`].
#[derive(Debug)]
#[must_use = "a verification says whether the file is sound; dropping it checks nothing"]
pub struct Verification {
    /// Chunks whose framing and CRC are intact.
    pub intact_chunks: u64,
    /// The problems found, in file order, up to [`Limits::max_problems`] of them.
    pub errors: Vec<Error>,
    /// Problems found past that cap: counted, not kept, so a file of a million damaged
    /// chunks costs a counter, not a million errors.
    pub omitted_errors: u64,
    /// The CRC in the footer.
    pub stored_file_crc: u32,
    /// The CRC of every byte before the footer, when the walk reached it.
    pub computed_file_crc: Option<u32>,
}

impl Verification {
    /// Nothing checked yet, of a file whose footer holds `stored_file_crc`.
    pub fn new(stored_file_crc: u32) -> Self {
        Verification {
            intact_chunks: 0,
            errors: Vec::new(),
            omitted_errors: 0,
            stored_file_crc,
            computed_file_crc: None,
        }
    }

    /// True when every chunk and the file CRC are intact.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty() && self.omitted_errors == 0
    }

    /// Keeps `error` when fewer than `limits.max_problems` are kept, and counts it otherwise.
    pub fn record(&mut self, error: Error, limits: &Limits) {
        if (self.errors.len() as u64) < limits.max_problems {
            self.errors.push(error);
        } else {
            self.omitted_errors += 1;
        }
    }
}

impl<'a> ContainerRef<'a> {
    /// Parses with default options.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        Self::parse_with(data, &ParseOptions::default())
    }

    /// Parses the header and checks there is room for the footer.
    pub fn parse_with(data: &'a [u8], opts: &ParseOptions) -> Result<Self> {
        let header = FileHeader::parse(data)?;
        if data.len() < HEADER_LEN + FOOTER_LEN {
            return Err(Error::MissingFooter {
                offset: HEADER_LEN as u64,
                len: data.len() as u64,
            });
        }
        Ok(ContainerRef {
            data,
            header,
            opts: *opts,
        })
    }

    /// The file header.
    pub fn header(&self) -> &FileHeader {
        &self.header
    }

    /// The whole file.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The options this container was parsed with.
    pub fn options(&self) -> &ParseOptions {
        &self.opts
    }

    /// Offset of the 4-byte file CRC.
    pub fn footer_offset(&self) -> u64 {
        (self.data.len() - FOOTER_LEN) as u64
    }

    /// The file CRC stored in the footer.
    pub fn stored_file_crc(&self) -> u32 {
        let start = self.data.len() - FOOTER_LEN;
        read_u32(self.data, start).unwrap_or(0)
    }

    /// Walks every chunk from the first, checking chunk CRCs and, at the end, the file CRC.
    pub fn chunks(&self) -> Chunks<'a> {
        let mut file_crc = RunningCrc::default();
        let compares = self.opts.compares_crc();
        if compares {
            file_crc.update(self.data.get(..HEADER_LEN).unwrap_or_default());
        }
        Chunks {
            data: self.data,
            pos: HEADER_LEN as u64,
            end: self.footer_offset(),
            opts: self.opts,
            file_crc: compares.then_some(file_crc),
            done: false,
        }
    }

    /// Walks chunks from `offset`, which the caller knows to be a chunk boundary. The file CRC
    /// is not checked on such a walk.
    pub fn chunks_from(&self, offset: u64) -> Result<Chunks<'a>> {
        let end = self.footer_offset();
        if offset < HEADER_LEN as u64 || offset > end {
            return Err(Error::Parameter {
                offset,
                what: "not inside the chunk area of the file",
            });
        }
        Ok(Chunks {
            data: self.data,
            pos: offset,
            end,
            opts: self.opts,
            file_crc: None,
            done: false,
        })
    }

    /// Reads the one chunk that starts at `offset`, checking its CRC.
    pub fn chunk_at(&self, offset: u64) -> Result<ChunkRef<'a>> {
        let mut walk = self.chunks_from(offset)?;
        walk.opts.mode = Mode::Strict;
        walk.next_chunk()?.ok_or(Error::Parameter {
            offset,
            what: "the file crc starts here, not a chunk",
        })
    }

    /// Checks every chunk CRC and the file CRC in one pass over the bytes, reporting every
    /// problem rather than stopping at the first (up to [`Limits::max_problems`] of them;
    /// [`Verification::omitted_errors`] counts the rest).
    pub fn verify(&self) -> Verification {
        self.verify_with_progress(&mut |_| {})
    }

    /// [`ContainerRef::verify`], calling `progress` with the offset reached after each chunk.
    pub fn verify_with_progress(&self, progress: &mut dyn FnMut(u64)) -> Verification {
        let mut walk = ContainerRef {
            opts: ParseOptions {
                mode: Mode::Lenient,
                check_crc: true,
                ..self.opts
            },
            ..*self
        }
        .chunks();
        let mut v = Verification::new(self.stored_file_crc());
        loop {
            let step = walk.next_chunk();
            progress(walk.offset());
            match step {
                Ok(Some(_)) => v.intact_chunks += 1,
                Ok(None) => break,
                Err(e) => v.record(e, &self.opts.limits),
            }
        }
        v.computed_file_crc = walk.reached_footer().then(|| walk.file_crc()).flatten();
        v
    }

    /// True when `e`, an error of a walk over this file, is a chunk that runs past the end of
    /// the file and no intact chunk after it ends where the file CRC starts: the file was cut
    /// short inside it, as a writer that crashed leaves its last chunk, and every chunk before
    /// it is as written. A damaged length field further up the file reads the same, but the
    /// file still ends on an intact chunk (its last seek table, its last block): that is
    /// damage, and this is false, so that damage never passes for a file cut short and an
    /// answer from fewer blocks.
    pub fn is_cut_short(&self, e: &Error) -> bool {
        let (Error::Truncated { offset, .. } | Error::TruncatedChunkHeader { offset, .. }) = *e
        else {
            return false;
        };
        !self.has_intact_tail(offset)
    }

    /// True when an intact chunk that starts after `after` ends where the file CRC starts.
    ///
    /// A chunk at `s` ends there when its length field holds `footer - s - 16`: candidates are
    /// found by that comparison alone, one per byte after `after` and nothing hashed, nearest
    /// the end first; each is then judged by its CRC (its bytes hash to the CRC-32 residue).
    /// Past [`TAIL_CANDIDATES`] hashed in vain the tail is taken as intact: the answer that
    /// keeps an error an error, and the bound on what hostile bytes can make this cost. A
    /// search through every byte for any intact chunk, as salvage makes, took 50 s for a 1 GiB
    /// tail.
    fn has_intact_tail(&self, after: u64) -> bool {
        let data = self.data;
        let Ok(footer) = usize::try_from(self.footer_offset()) else {
            return true;
        };
        let Some(first) = usize::try_from(after).ok().and_then(|a| a.checked_add(1)) else {
            return true;
        };
        let smallest = CHUNK_HEADER_LEN + CHUNK_CRC_LEN;
        let Some(last) = footer.checked_sub(smallest) else {
            return false;
        };
        let mut hashed = 0;
        for start in (first..=last).rev() {
            let len_at = start + CHUNK_HEADER_LEN - 4;
            let Some(&[l0, l1, l2, l3]) = data.get(len_at..len_at + 4) else {
                continue;
            };
            let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
            if start.checked_add(smallest).and_then(|e| e.checked_add(len)) != Some(footer) {
                continue;
            }
            if data
                .get(start..footer)
                .is_some_and(|chunk| crc32(chunk) == RESIDUE)
            {
                return true;
            }
            hashed += 1;
            if hashed == TAIL_CANDIDATES {
                return true;
            }
        }
        false
    }
}

/// Chunks that would end at the file CRC which [`ContainerRef::is_cut_short`] hashes at most.
const TAIL_CANDIDATES: usize = 8;

/// An iterator over chunks that stops for good after an error that loses the framing (and, in
/// strict mode, after any error).
#[derive(Clone, Debug)]
pub struct Chunks<'a> {
    data: &'a [u8],
    pos: u64,
    end: u64,
    opts: ParseOptions,
    file_crc: Option<RunningCrc>,
    done: bool,
}

impl<'a> Chunks<'a> {
    /// The next chunk, `None` at the footer.
    pub fn next_chunk(&mut self) -> Result<Option<ChunkRef<'a>>> {
        if self.done {
            return Ok(None);
        }
        if self.pos == self.end {
            self.done = true;
            if let Some(run) = self.file_crc {
                let stored = read_u32(self.data, self.data.len() - FOOTER_LEN).unwrap_or(0);
                if self.opts.compares_crc() && run.value() != stored {
                    return Err(Error::FileCrc {
                        offset: self.end,
                        stored,
                        computed: run.value(),
                    });
                }
            }
            return Ok(None);
        }
        let (header, framed) = match frame(self.data, self.pos, self.end, &self.opts.limits) {
            Ok(found) => found,
            Err(e) => {
                self.done = true;
                self.file_crc = None;
                return Err(e);
            }
        };
        self.pos = header.end_offset();
        if self.file_crc.is_some() || self.opts.compares_crc() {
            // One pass over header, payload and stored CRC: the residue says it is intact.
            let whole = crc32(framed);
            if let Some(run) = &mut self.file_crc {
                run.append(whole, framed.len() as u64);
            }
            if self.opts.compares_crc() && whole != RESIDUE {
                if self.opts.mode == Mode::Strict {
                    self.done = true;
                }
                let chunk = chunk_ref(&header, framed);
                let covered = framed
                    .get(..framed.len() - CHUNK_CRC_LEN)
                    .unwrap_or_default();
                let computed = crc32(covered);
                return Err(Error::ChunkCrc {
                    tag: chunk.tag,
                    offset: chunk.offset,
                    stored: chunk.crc,
                    computed,
                });
            }
        }
        let chunk = chunk_ref(&header, framed);
        Ok(Some(chunk))
    }

    /// Where the next chunk would start.
    pub fn offset(&self) -> u64 {
        self.pos
    }

    /// True once the walk has reached the footer.
    pub fn reached_footer(&self) -> bool {
        self.pos == self.end && self.done
    }

    /// The CRC of every byte walked so far, when this walk started at the header.
    pub fn file_crc(&self) -> Option<u32> {
        self.file_crc.map(RunningCrc::value)
    }
}

impl<'a> Iterator for Chunks<'a> {
    type Item = Result<ChunkRef<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_chunk().transpose()
    }
}

fn read_u32(data: &[u8], at: usize) -> Option<u32> {
    let bytes = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// Frames the chunk at `offset`: checks it fits before `end` (the footer) and returns it with
/// all its bytes (header, payload and stored CRC).
fn frame<'a>(
    data: &'a [u8],
    offset: u64,
    end: u64,
    limits: &Limits,
) -> Result<(ChunkHeader, &'a [u8])> {
    let remaining = end.saturating_sub(offset);
    if remaining < CHUNK_HEADER_LEN as u64 {
        return Err(Error::TruncatedChunkHeader { offset, remaining });
    }
    // `offset < end <= data.len()`, so these conversions and additions cannot overflow.
    let start =
        usize::try_from(offset).map_err(|_| Error::TruncatedChunkHeader { offset, remaining })?;
    let header_bytes: [u8; CHUNK_HEADER_LEN] = data
        .get(start..start + CHUNK_HEADER_LEN)
        .and_then(|b| b.try_into().ok())
        .ok_or(Error::TruncatedChunkHeader { offset, remaining })?;
    let header = ChunkHeader::parse(offset, header_bytes);
    if remaining - (CHUNK_HEADER_LEN as u64) < CHUNK_CRC_LEN as u64
        || remaining - ((CHUNK_HEADER_LEN + CHUNK_CRC_LEN) as u64) < u64::from(header.len)
    {
        return Err(truncated(&header, remaining));
    }
    limits.check_chunk(&header)?;
    let payload_end = start + CHUNK_HEADER_LEN + header.len as usize;
    let framed = data
        .get(start..payload_end + CHUNK_CRC_LEN)
        .ok_or_else(|| truncated(&header, remaining))?;
    Ok((header, framed))
}

/// The chunk in `framed` (header, payload, stored CRC).
///
/// Call it after hashing `framed`: the stored CRC lies a payload away from the header, and
/// reading it first costs a cache miss per chunk on a large file.
fn chunk_ref<'a>(header: &ChunkHeader, framed: &'a [u8]) -> ChunkRef<'a> {
    let crc_at = framed.len().saturating_sub(CHUNK_CRC_LEN);
    ChunkRef {
        offset: header.offset,
        tag: header.tag,
        flags: header.flags,
        payload: framed.get(CHUNK_HEADER_LEN..crc_at).unwrap_or_default(),
        crc: read_u32(framed, crc_at).unwrap_or(0),
    }
}

fn truncated(header: &ChunkHeader, remaining: u64) -> Error {
    Error::Truncated {
        tag: header.tag,
        offset: header.offset,
        len: header.len,
        remaining: remaining.saturating_sub(CHUNK_HEADER_LEN as u64),
    }
}
