//! Shared helpers: fixtures, track specs, a reference-style raw builder and CRC fix-ups.

use h4mk_format::{FileHeader, Tag, Writer, WriterOptions, crc::crc32};
use h4mk_gop::{BlockKind, SeekEntry, SeekTableBuf};
use h4mk_mt::{
    BlockRef, DecodeStep, MuxOptions, Muxer, Sidecars, TrackSpec, encode_track_list, route_header,
};

pub(crate) fn spec(id: u16) -> TrackSpec {
    TrackSpec {
        track_id: id,
        name: format!("track {id}"),
        kind: "audio".into(),
        codec: "h4core".into(),
        sample_rate: 48_000,
        channels: 2,
        note: String::new(),
    }
}

/// A block as handed to a muxer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Input {
    pub track: u16,
    pub ts_ms: u32,
    pub kind: BlockKind,
    pub opaque: Vec<u8>,
}

/// Muxes `inputs` in hand-over order with the streaming muxer.
pub(crate) fn mux(tracks: &[TrackSpec], inputs: &[Input], opts: MuxOptions) -> Vec<u8> {
    let mut m = Muxer::new(Vec::new(), tracks.to_vec(), &Sidecars::default(), opts).unwrap();
    for b in inputs {
        m.push(b.track, b.ts_ms, b.kind, &b.opaque).unwrap();
    }
    m.finish().unwrap().0
}

/// [`mux`], telling the muxer after each block how far its track has got: the pts of the
/// track's next block ([`Muxer::advance`]). Blocks may go out sooner; the bytes must not change.
pub(crate) fn mux_advancing(tracks: &[TrackSpec], inputs: &[Input], opts: MuxOptions) -> Vec<u8> {
    let mut next = vec![None; inputs.len()];
    let mut later = std::collections::HashMap::new();
    for (n, b) in next.iter_mut().zip(inputs).rev() {
        *n = later.insert(b.track, b.ts_ms);
    }
    let mut m = Muxer::new(Vec::new(), tracks.to_vec(), &Sidecars::default(), opts).unwrap();
    for (b, next) in inputs.iter().zip(next) {
        m.push(b.track, b.ts_ms, b.kind, &b.opaque).unwrap();
        if let Some(ts_ms) = next {
            m.advance(b.track, ts_ms).unwrap();
        }
    }
    m.finish().unwrap().0
}

/// What the reference muxer does, written out plainly: a stable sort by (pts, track id), then
/// one TSEK per track of its I-blocks. Checks no GOP rule, so it also builds files the
/// streaming muxer refuses (tracks opening on P, ending on B). `tables: false` leaves the index
/// out, as a crashed or foreign writer would.
pub(crate) fn reference_mux(tracks: &[TrackSpec], inputs: &[Input], tables: bool) -> Vec<u8> {
    let all = |_: u16, _: usize| true;
    reference_mux_keeping(tracks, inputs, tables.then_some(&all))
}

/// [`reference_mux`], with `keep(track, i)` saying whether the `i`th I-block of `track` gets
/// an entry in the track's table (`None`: no tables), as an editor that drops entries would.
pub(crate) fn reference_mux_keeping(
    tracks: &[TrackSpec],
    inputs: &[Input],
    keep: Option<&dyn Fn(u16, usize) -> bool>,
) -> Vec<u8> {
    let mut sorted: Vec<&Input> = inputs.iter().collect();
    sorted.sort_by_key(|b| (b.ts_ms, b.track));
    let opts = WriterOptions::default();
    let mut w = Writer::new(Vec::new(), &FileHeader::default(), opts).unwrap();
    w.write_chunk(Tag::TRAK, 0, &encode_track_list(tracks).unwrap())
        .unwrap();
    let mut keys: Vec<Vec<SeekEntry>> = vec![Vec::new(); tracks.len()];
    for b in sorted {
        let flags = h4mk_gop::GopFlags::new(b.ts_ms, b.kind).unwrap().to_bits();
        let at = w
            .write_chunk_parts(Tag::CORE, flags, &[&route_header(b.track), &b.opaque])
            .unwrap();
        let slot = tracks.iter().position(|t| t.track_id == b.track).unwrap();
        if b.kind == BlockKind::Key {
            keys[slot].push(SeekEntry {
                ts_ms: b.ts_ms,
                offset: at + 12,
            });
        }
    }
    if let Some(keep) = keep {
        for (t, entries) in tracks.iter().zip(keys) {
            let payload = SeekTableBuf {
                track_id: t.track_id,
                entries: (entries.into_iter().enumerate())
                    .filter(|&(i, _)| keep(t.track_id, i))
                    .map(|(_, e)| e)
                    .collect(),
            }
            .to_bytes()
            .unwrap();
            w.write_chunk(Tag::TSEK, 0, &payload).unwrap();
        }
    }
    w.finish().unwrap()
}

/// Recomputes the CRC of the chunk at `offset` and the file CRC, after an edit.
pub(crate) fn fix_crcs(bytes: &mut [u8], offset: usize) {
    let len = u32::from_le_bytes(bytes[offset + 8..offset + 12].try_into().unwrap()) as usize;
    let end = offset + 12 + len;
    let crc = crc32(&bytes[offset..end]);
    bytes[end..end + 4].copy_from_slice(&crc.to_le_bytes());
    fix_file_crc(bytes);
}

pub(crate) fn fix_file_crc(bytes: &mut [u8]) {
    let n = bytes.len();
    let crc = crc32(&bytes[..n - 4]);
    bytes[n - 4..].copy_from_slice(&crc.to_le_bytes());
}

/// The payload offsets of a plan's blocks, in decode order.
pub(crate) fn offsets(steps: &[DecodeStep<'_>]) -> Vec<u64> {
    steps.iter().map(|s| s.block.offset).collect()
}

/// (offset, track, pts, letter, opaque) of a block, for comparisons.
pub(crate) fn key(b: &BlockRef<'_>) -> (u64, u16, u32, char, Vec<u8>) {
    (
        b.offset,
        b.track,
        b.ts_ms,
        b.kind.letter(),
        b.opaque.to_vec(),
    )
}

/// Track 1's blocks: `n` of them every 20 ms, a keyframe every 25.
pub(crate) fn every_20_ms(n: u32) -> Vec<Input> {
    (0..n)
        .map(|i| Input {
            track: 1,
            ts_ms: i * 20,
            kind: if i % 25 == 0 {
                BlockKind::Key
            } else {
                BlockKind::Predictive
            },
            opaque: i.to_le_bytes().to_vec(),
        })
        .collect()
}

/// Track 1 every 20 ms, `n` blocks ([`every_20_ms`]); track 2 a keyframe at 0 and one at
/// `last` ms only.
pub(crate) fn with_a_sparse_track(n: u32, last: u32) -> Vec<Input> {
    let mut inputs = every_20_ms(n);
    for ts_ms in [0, last] {
        inputs.push(Input {
            track: 2,
            ts_ms,
            kind: BlockKind::Key,
            opaque: b"sparse".to_vec(),
        });
    }
    inputs
}
