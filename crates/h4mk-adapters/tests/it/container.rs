//! Decoding straight from the reference fixtures: the null adapter's output is the opaque bytes
//! of each `expected` chain of `expect.json`, read from the file at the listed offsets.

use h4mk_adapters::{
    AdapterRegistry, BlockKind, Decoded, NullAdapter, Present, decode_chain, decode_range,
};
use h4mk_mt::Demuxer;

use crate::reference_fixtures::{REFERENCE, read_reference};

use BlockKind::{Bidirectional as B, Key as I, Predictive as P};

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

#[test]
fn a_range_presents_blocks_of_equal_pts_in_storage_order() {
    let track = h4mk_mt::TrackSpec {
        track_id: 1,
        name: "t".into(),
        kind: "data".into(),
        codec: "null".into(),
        sample_rate: 0,
        channels: 0,
        note: String::new(),
    };
    let sidecars = h4mk_mt::Sidecars::default();
    let mut mux =
        h4mk_mt::Muxer::new(Vec::new(), vec![track], &sidecars, Default::default()).unwrap();
    // Stored (presentation) order: B10 before its forward anchor P10, at the same pts.
    let stored = [(I, 0, "I0;"), (B, 10, "B10;"), (P, 10, "P10;")];
    for (kind, ts, bytes) in stored {
        mux.push(1, ts, kind, bytes.as_bytes()).unwrap();
    }
    let (file, _) = mux.finish().unwrap();
    let demux = Demuxer::open(&file).unwrap();
    let out = decode_range(&mut NullAdapter::default(), &demux, 1, 0, 10).unwrap();
    let outputs: Vec<String> = out
        .into_iter()
        .map(|r| String::from_utf8(r.output).unwrap())
        .collect();
    assert_eq!(outputs, ["I0;", "I0;P10;B10;", "I0;P10;"]);
}

/// An adapter of another crate: fails on blocks that do not start with its version, with a
/// message of its own.
struct Versioned {
    version: u8,
}

impl h4mk_adapters::ModelAdapter for Versioned {
    type State = Vec<u8>;
    type Output = Vec<u8>;

    fn decode_key(&mut self, block: &[u8]) -> h4mk_adapters::Result<Vec<u8>> {
        match block.first() {
            Some(&v) if v == self.version => Ok(block.to_vec()),
            v => Err(h4mk_adapters::Error::Adapter(
                format!("weights v{} expected, block has v{v:?}", self.version).into(),
            )),
        }
    }

    fn apply_predictive(&mut self, _: &Vec<u8>, block: &[u8]) -> h4mk_adapters::Result<Vec<u8>> {
        self.decode_key(block)
    }

    fn apply_bidirectional(
        &mut self,
        _: &Vec<u8>,
        _: &Vec<u8>,
        block: &[u8],
    ) -> h4mk_adapters::Result<Vec<u8>> {
        self.decode_key(block)
    }

    fn finalize(&mut self, state: &Vec<u8>) -> h4mk_adapters::Result<Vec<u8>> {
        Ok(state.clone())
    }

    fn reset(&mut self) {}
}

impl h4mk_adapters::NamedDecoder for Versioned {
    fn decode(
        &mut self,
        steps: &[h4mk_mt::DecodeStep<'_>],
        present: Present,
    ) -> h4mk_adapters::Result<Decoded> {
        let mut bytes = Vec::new();
        h4mk_adapters::decode_steps(self, steps, present, |r| {
            bytes.extend_from_slice(&r.output);
            Ok(())
        })?;
        Ok(Decoded::Bytes(bytes))
    }
}

#[test]
fn an_adapter_of_another_crate_registers_with_its_configuration_and_reports_its_own_errors() {
    let file = read_reference("demo", "h4mk");
    let demux = Demuxer::open(&file).unwrap();
    let mut registry = AdapterRegistry::default();
    let version = 3;
    // A name and summary made at run time (from a model's configuration): `register` took only
    // literals, which a caller had to leak (a codec-author review).
    let name = format!("versioned-v{version}");
    registry.register(name.clone(), format!("weights v{version}"), move || {
        Box::new(Versioned { version })
    });
    assert!(
        registry
            .list()
            .any(|(n, summary)| n == "versioned-v3" && summary == "weights v3")
    );
    let steps = demux.chain(1, 0).unwrap();
    let err = registry
        .get(&name)
        .unwrap()
        .decode(&steps, Present::Index(0))
        .unwrap_err();
    assert_eq!(
        err.innermost().to_string(),
        format!(
            "weights v3 expected, block has v{:?}",
            steps[0].block.opaque.first()
        )
    );
    assert!(matches!(
        err,
        h4mk_adapters::Error::InBlock { index: 0, .. }
    ));
}
