//! The reference fixtures (docs/FORMAT.md §8): GOP flags of every CORE chunk, every seek table
//! byte for byte, and every `expected` decode chain.

use std::collections::BTreeMap;

use h4mk_gop::{
    BlockInfo, BlockKind, GopFlags, MAX_TIMESTAMP_MS, SeekEntry, SeekTable, SeekTableBuf,
};
use serde_json::Value;

use crate::oracle;
use crate::reference_fixtures::{REFERENCE, read_reference};

struct Fixture {
    name: &'static str,
    file: Vec<u8>,
    expect: Value,
}

impl Fixture {
    fn load(name: &'static str) -> Fixture {
        Fixture {
            name,
            file: read_reference(name, "h4mk"),
            expect: serde_json::from_slice(&read_reference(name, "expect.json")).unwrap(),
        }
    }

    fn list(&self, key: &str) -> &Vec<Value> {
        self.expect[key].as_array().unwrap()
    }

    /// Track ids in TRAK order.
    fn track_ids(&self) -> Vec<u64> {
        self.list("tracks")
            .iter()
            .map(|t| t["track_id"].as_u64().unwrap())
            .collect()
    }

    /// Per track, its blocks in file order, with their payload offsets.
    fn blocks(&self) -> BTreeMap<u64, (Vec<BlockInfo>, Vec<u64>)> {
        let mut out: BTreeMap<u64, (Vec<BlockInfo>, Vec<u64>)> = self
            .track_ids()
            .into_iter()
            .map(|id| (id, Default::default()))
            .collect();
        for b in self.list("blocks") {
            let letter = b["type"].as_str().unwrap().chars().next().unwrap();
            let info = BlockInfo {
                ts_ms: u32::try_from(b["pts_ms"].as_u64().unwrap()).unwrap(),
                kind: BlockKind::try_from(letter).unwrap(),
            };
            let entry = out.get_mut(&b["track_id"].as_u64().unwrap()).unwrap();
            entry.0.push(info);
            entry.1.push(b["payload_offset"].as_u64().unwrap());
        }
        out
    }

    fn payload(&self, chunk: &Value) -> &[u8] {
        let start = usize::try_from(chunk["payload_offset"].as_u64().unwrap()).unwrap();
        let len = usize::try_from(chunk["payload_len"].as_u64().unwrap()).unwrap();
        &self.file[start..start + len]
    }

    fn chunks(&self, tag: &str) -> Vec<&Value> {
        self.list("chunks")
            .iter()
            .filter(|c| c["tag"] == tag)
            .collect()
    }
}

#[test]
fn core_flags_match_the_blocks() {
    for name in REFERENCE {
        let fx = Fixture::load(name);
        let cores = fx.chunks("CORE");
        let blocks = fx.list("blocks");
        assert_eq!(cores.len(), blocks.len(), "{name}");
        for (chunk, block) in cores.iter().zip(blocks) {
            assert_eq!(chunk["payload_offset"], block["payload_offset"], "{name}");
            let bits = u32::try_from(chunk["flags"].as_u64().unwrap()).unwrap();
            let flags = GopFlags::try_from(bits).unwrap();
            assert_eq!(
                u64::from(flags.timestamp_ms()),
                block["pts_ms"].as_u64().unwrap()
            );
            assert_eq!(
                flags.kind().letter().to_string(),
                block["type"].as_str().unwrap()
            );
            let again = GopFlags::new(flags.timestamp_ms(), flags.kind()).unwrap();
            assert_eq!(again.to_bits(), bits, "{name}: {flags:?}");
            assert!(flags.timestamp_ms() <= MAX_TIMESTAMP_MS);
        }
    }
}

#[test]
fn seek_tables_match_the_keyframes_byte_for_byte() {
    for name in REFERENCE {
        let fx = Fixture::load(name);
        let blocks = fx.blocks();
        let tseks = fx.chunks("TSEK");
        let ids = fx.track_ids();
        assert_eq!(tseks.len(), ids.len(), "{name}: one TSEK per track");
        for (chunk, id) in tseks.into_iter().zip(ids) {
            let (infos, offsets) = &blocks[&id];
            let keyframes: Vec<SeekEntry> = infos
                .iter()
                .zip(offsets)
                .filter(|(b, _)| b.kind == BlockKind::Key)
                .map(|(b, &offset)| SeekEntry {
                    ts_ms: b.ts_ms,
                    offset,
                })
                .collect();

            // The expect file's own listing.
            let listed: Vec<SeekEntry> = fx.expect["seek_tables"][id.to_string()]
                .as_array()
                .unwrap()
                .iter()
                .map(|pair| SeekEntry {
                    ts_ms: u32::try_from(pair[0].as_u64().unwrap()).unwrap(),
                    offset: pair[1].as_u64().unwrap(),
                })
                .collect();
            assert_eq!(listed, keyframes, "{name} track {id}");

            // The bytes in the file.
            let payload = fx.payload(chunk);
            let table = SeekTable::parse(payload).unwrap();
            assert_eq!(u64::from(table.track_id()), id, "{name}");
            assert_eq!(
                table.iter().collect::<Vec<_>>(),
                keyframes,
                "{name} track {id}"
            );
            let track_id = u16::try_from(id).unwrap();
            let built = SeekTableBuf {
                track_id,
                entries: keyframes,
            };
            assert_eq!(built.to_bytes().unwrap(), payload, "{name} track {id}");
        }
    }
}

#[test]
fn chains_match_expected() {
    let mut checked = 0;
    for name in REFERENCE {
        let fx = Fixture::load(name);
        let blocks = fx.blocks();
        for case in fx.list("chains") {
            let id = case["track_id"].as_u64().unwrap();
            let t = u32::try_from(case["t_ms"].as_u64().unwrap()).unwrap();
            let (infos, offsets) = &blocks[&id];
            let steps = h4mk_gop::chain(infos, t).unwrap();
            let got: Vec<(u64, String)> = steps
                .iter()
                .map(|s| (offsets[s.index], s.kind.letter().to_string()))
                .collect();
            let want: Vec<(u64, String)> = case["expected"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["payload_offset"].as_u64().unwrap(),
                        s["step"].as_str().unwrap().into(),
                    )
                })
                .collect();
            assert_eq!(got, want, "{} track {id} t={t}", fx.name);
            checked += 1;
        }
    }
    assert_eq!(checked, 35, "every chain of every fixture");
}

#[test]
fn chains_start_where_the_seek_table_points() {
    for name in REFERENCE {
        let fx = Fixture::load(name);
        let blocks = fx.blocks();
        let tables: Vec<SeekTable<'_>> = fx
            .chunks("TSEK")
            .into_iter()
            .map(|c| SeekTable::parse(fx.payload(c)).unwrap())
            .collect();
        for table in tables {
            let (infos, offsets) = &blocks[&u64::from(table.track_id())];
            let mut times: Vec<u32> = infos.iter().flat_map(|b| [b.ts_ms, b.ts_ms + 1]).collect();
            times.extend([0, u32::MAX]);
            for t in times {
                let steps = h4mk_gop::chain(infos, t).unwrap();
                let start = steps.first().map(|s| offsets[s.index]);
                assert_eq!(start, table.lookup(t).map(|e| e.offset), "{name} t={t}");
            }
        }
    }
}

#[test]
fn whole_tracks_play_through_a_two_state_driver() {
    for name in REFERENCE {
        let fx = Fixture::load(name);
        for (id, (infos, _)) in fx.blocks() {
            let plan = h4mk_gop::range(&infos, 0, u32::MAX).unwrap();
            let all: Vec<usize> = (0..infos.len()).collect();
            assert_eq!(plan.len(), infos.len(), "{name} track {id}");
            oracle::drive(&infos, &plan, &all);
            assert_eq!(
                Ok(plan),
                oracle::range(&infos, 0, u32::MAX),
                "{name} track {id}"
            );
        }
    }
}
