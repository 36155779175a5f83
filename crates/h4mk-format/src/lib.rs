//! The chunk layer of H4MK: file header, chunks, CRCs, readers and a writer.
//!
//! This is the bottom layer of the workspace: it knows nothing of GOPs, tracks or models, and
//! depends on no other `h4mk-*` crate. The byte layout is in `docs/FORMAT.md` §1.
//!
//! - [`ContainerRef`]: a zero-copy view over `&[u8]`; [`ContainerRef::chunks`] yields
//!   [`ChunkRef`]s with their offsets and borrowed payloads, [`ContainerRef::verify`] checks
//!   every CRC in one pass and reports the damaged chunks (up to [`Limits::max_problems`],
//!   counting the rest).
//! - [`ChunkReader`]: a streaming reader over any `Read`, one chunk in memory at a time.
//! - [`Writer`]: a streaming writer over any `Write` that returns each chunk's offset and
//!   writes the file CRC only in [`Writer::finish`].
//! - [`Error`]: every variant about the input names the byte offset (and tag); [`Limits`]
//!   caps what a hostile file can make a reader allocate.
//!
//! ```
//! use h4mk_format::{ContainerRef, FileHeader, Tag, Writer, WriterOptions};
//!
//! let mut w = Writer::new(Vec::new(), &FileHeader::default(), WriterOptions::default())?;
//! let at = w.write_chunk(Tag::NOTE, 0, b"hello")?;
//! let bytes = w.finish()?;
//! assert_eq!(at, 16);
//!
//! let file = ContainerRef::parse(&bytes)?;
//! let chunks = file.chunks().collect::<Result<Vec<_>, _>>()?;
//! assert_eq!((chunks[0].tag, chunks[0].payload), (Tag::NOTE, &b"hello"[..]));
//! assert!(file.verify().is_ok());
//!
//! // The reference fixtures read the same way.
//! let demo = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/reference/demo.h4mk"))?;
//! assert_eq!(ContainerRef::parse(&demo)?.chunks().count(), 10);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod chunk;
pub mod crc;
mod error;
mod header;
mod limits;
mod read;
pub mod resync;
mod tag;
mod write;

pub use chunk::{CHUNK_CRC_LEN, CHUNK_HEADER_LEN, ChunkHeader, ChunkRef, FOOTER_LEN};
pub use error::{Error, Result};
pub use header::{FileHeader, HEADER_LEN, MAGIC, VERSION};
pub use limits::{Limits, MAX_INITIAL_CAPACITY};
pub use read::slice::{Chunks, ContainerRef, Verification};
pub use read::stream::ChunkReader;
pub use read::{Mode, ParseOptions};
pub use tag::Tag;
pub use write::{ChunkQueue, Writer, WriterOptions};
