//! Decoding straight from the reference fixtures: the null adapter's output is the opaque bytes
//! of each `expected` chain of `expect.json`, read from the file at the listed offsets.

use h4mk_adapters::{AdapterRegistry, Decoded, NullAdapter, Present, decode_chain};
use h4mk_mt::Demuxer;

use crate::reference_fixtures::{REFERENCE, read_reference};

/// The opaque bytes of the block whose CORE payload starts at `offset`, sliced from the file by
/// the lengths `expect.json` lists (independently of the demuxer).
fn opaque_at(file: &[u8], expect: &serde_json::Value, offset: u64) -> Vec<u8> {
    let block = expect["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["payload_offset"] == offset)
        .unwrap();
    let start = offset as usize + 8;
    file[start..start + block["opaque_len"].as_u64().unwrap() as usize].to_vec()
}

#[test]
fn null_output_is_the_expected_chains_bytes() {
    let registry = AdapterRegistry::default();
    let mut chains = 0;
    for name in REFERENCE {
        let file = read_reference(name, "h4mk");
        let expect: serde_json::Value =
            serde_json::from_slice(&read_reference(name, "expect.json")).unwrap();
        let demux = Demuxer::open(&file).unwrap();
        for chain in expect["chains"].as_array().unwrap() {
            let track = chain["track_id"].as_u64().unwrap() as u16;
            let t = chain["t_ms"].as_u64().unwrap() as u32;
            let want: Vec<u8> = chain["expected"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|s| opaque_at(&file, &expect, s["payload_offset"].as_u64().unwrap()))
                .collect();

            // Through the typed driver: the target's output is its whole chain.
            let typed = decode_chain(&mut NullAdapter::default(), &demux, track, t).unwrap();
            assert_eq!(
                typed.map(|r| r.output).unwrap_or_default(),
                want,
                "{name} track {track} at {t} ms"
            );

            // Through the registry, as the CLI calls it.
            let steps = demux.chain(track, t).unwrap();
            let target = steps.len().saturating_sub(1);
            let decoded = registry
                .get("null")
                .unwrap()
                .decode(&steps, Present::Index(target))
                .unwrap();
            assert_eq!(
                decoded,
                Decoded::Bytes(want),
                "{name} track {track} at {t} ms"
            );
            chains += 1;
        }
    }
    assert!(chains > 30, "only {chains} chains checked");
}

#[test]
fn unknown_adapters_are_named_with_the_known_ones() {
    let err = AdapterRegistry::default().get("mp3").err().unwrap();
    assert_eq!(err.to_string(), "no adapter named `mp3` (known: dsp, null)");
}

#[test]
fn only_overlapping_outputs_ask_for_a_lead_block() {
    let registry = AdapterRegistry::default();
    assert!(registry.get("dsp").unwrap().overlaps());
    assert!(!registry.get("null").unwrap().overlaps());
}
