//! Big files and big blocks: a file over 4 GiB, written to a temporary file and read back with
//! positioned reads, and a block over 256 MiB read back in memory.
//!
//! The first is ignored by default: it writes and reads about 4.3 GiB. Run it with
//! `cargo test --release -p h4mk-mt --test it -- --ignored over_4_gib`
//! (an xtask command is meant to wrap this).

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom};

use h4mk_format::{ChunkReader, ChunkRef, ParseOptions, Tag};
use h4mk_gop::{BlockKind, SeekTable};
use h4mk_mt::index::{ExtSeekTable, Locator, XLOC, XLOC_CHUNK_LEN, XSEK};
use h4mk_mt::{MuxOptions, Muxer, Sidecars, route};

use crate::support::spec;

const BLOCK: usize = 1 << 20;
const BLOCKS: u32 = 4400; // 4400 MiB of track 1, past 4 GiB

fn opaque(i: u32) -> Vec<u8> {
    let mut v = vec![(i % 251) as u8; BLOCK];
    v[..4].copy_from_slice(&i.to_le_bytes());
    v
}

fn read_chunk(r: &mut ChunkReader<File>, at: u64, buf: &mut Vec<u8>) -> (Tag, u32, u64) {
    r.seek_to(at).unwrap();
    let h = r.next_chunk(buf).unwrap().unwrap();
    (h.tag, h.flags, h.offset)
}

fn chunk_ref(tag: Tag, flags: u32, offset: u64, payload: &[u8]) -> ChunkRef<'_> {
    ChunkRef {
        offset,
        tag,
        flags,
        payload,
        crc: 0,
    }
}

#[test]
#[ignore = "writes and reads 4.3 GiB; run with `cargo xtask big-file`"]
fn over_4_gib_round_trips_and_seeks_past_the_4_gib_mark() {
    let path = std::env::temp_dir().join(format!("h4mk-mt-over-4-gib-{}.h4mk", std::process::id()));
    let guard = RemoveOnDrop(path.clone());
    let file = BufWriter::with_capacity(8 << 20, File::create(&path).unwrap());
    let mut m = Muxer::new(
        file,
        vec![spec(1), spec(2)],
        &Sidecars::default(),
        MuxOptions::default(),
    )
    .unwrap();
    for i in 0..BLOCKS {
        let kind = if i % 4 == 0 {
            BlockKind::Key
        } else {
            BlockKind::Predictive
        };
        m.push(1, i * 10, kind, &opaque(i)).unwrap();
        m.push(2, i * 10, BlockKind::Key, &i.to_le_bytes()).unwrap();
    }
    let (file, summary) = m.finish().unwrap();
    drop(file.into_inner().unwrap());
    assert!(summary.file_len > 1 << 32);
    assert_eq!(
        summary.index.ext_tables, 2,
        "both tracks have keyframes past 4 GiB"
    );

    let result = std::panic::catch_unwind(|| {
        let mut f = File::open(&path).unwrap();
        assert_eq!(f.metadata().unwrap().len(), summary.file_len);
        // The locator, just before the file CRC.
        let mut tail = vec![0u8; XLOC_CHUNK_LEN];
        f.seek(SeekFrom::End(-(XLOC_CHUNK_LEN as i64) - 4)).unwrap();
        f.read_exact(&mut tail).unwrap();
        let loc_offset = summary.file_len - 4 - XLOC_CHUNK_LEN as u64;
        let loc = Locator::parse(chunk_ref(XLOC, 0, loc_offset, &tail[12..12 + 40])).unwrap();
        assert_eq!(loc.blocks, u64::from(BLOCKS) * 2);
        assert_eq!((loc.tables, loc.ext_tables), (2, 2));

        // The index chunks, with positioned reads.
        let mut r = ChunkReader::new(File::open(&path).unwrap(), ParseOptions::default()).unwrap();
        let mut buf = Vec::new();
        let (tag, _, _) = read_chunk(&mut r, loc.index_offset, &mut buf);
        assert_eq!(tag, Tag::TSEK);
        let v1_len = SeekTable::parse(&buf).unwrap().len();
        let mut at = r.offset();
        r.next_chunk(&mut buf).unwrap(); // TSEK of track 2
        at = at.max(r.offset());
        let (tag, flags, offset) = read_chunk(&mut r, at, &mut buf);
        assert_eq!(tag, XSEK);
        let table = ExtSeekTable::parse(chunk_ref(tag, flags, offset, &buf)).unwrap();
        assert_eq!(table.len(), (BLOCKS / 4) as usize);
        assert!(
            v1_len < table.len(),
            "the TSEK keeps only keyframes below 4 GiB"
        );
        assert!(
            table
                .iter()
                .take(v1_len)
                .all(|e| e.offset <= u64::from(u32::MAX))
        );

        // Seek to the first keyframe past 4 GiB and read its block.
        let entry = table.iter().find(|e| e.offset > 1 << 32).unwrap();
        let (tag, flags, offset) = read_chunk(&mut r, entry.offset - 12, &mut buf);
        let block = route(chunk_ref(tag, flags, offset, &buf)).unwrap();
        assert_eq!(
            (block.track, block.ts_ms, block.kind),
            (1, entry.ts_ms, BlockKind::Key)
        );
        assert_eq!(block.opaque, opaque(entry.ts_ms / 10).as_slice());

        // One streaming pass checks every chunk CRC and the file CRC.
        let mut r = ChunkReader::new(File::open(&path).unwrap(), ParseOptions::default()).unwrap();
        let mut chunks = 0u64;
        while r.next_chunk(&mut buf).unwrap().is_some() {
            chunks += 1;
        }
        assert_eq!(chunks, 1 + u64::from(BLOCKS) * 2 + 2 + 2 + 1);
    });
    drop(guard);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// Removes the temporary file however the test ends.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A block over 256 MiB, which the format allows (any u32 length) and the muxer writes: the
/// readers' default limits read it back, through the slice view and the stream alike. They
/// used to cap a chunk at 256 MiB by default, refusing files the muxer had just written.
#[test]
fn a_block_over_256_mib_reads_back_with_the_default_limits() {
    let block = vec![0x5au8; (256 << 20) + 1];
    let mut m = Muxer::new(
        Vec::new(),
        vec![spec(1)],
        &Sidecars::default(),
        MuxOptions::default(),
    )
    .unwrap();
    m.push_borrowed(1, 0, BlockKind::Key, &block).unwrap();
    let bytes = m.finish().unwrap().0;
    let d = h4mk_mt::Demuxer::open(&bytes).unwrap();
    assert!(d.verify().is_ok());
    let chain = d.chain(1, 0).unwrap();
    assert!(chain.len() == 1 && chain[0].block.opaque == &block[..]);
    let mut stream = ChunkReader::new(&bytes[..], ParseOptions::default()).unwrap();
    let mut payload = Vec::new();
    let mut lens = Vec::new();
    while let Some(header) = stream.next_chunk(&mut payload).unwrap() {
        lens.push((header.tag, header.len));
    }
    assert!(lens.contains(&(Tag::CORE, (256 << 20) + 1 + 8)), "{lens:?}");
}
