//! The demo file of the original `mt_build`: two tracks, five blocks of track 1 (one of them a
//! B-block) and two sidecars, as in `fixtures/reference/demo.recipe.json`.
//!
//! Written with the default [`MuxOptions`], the bytes are those of `fixtures/reference/demo.h4mk`.

use std::io::Write;

use h4mk_gop::BlockKind;
use h4mk_mt::{MuxOptions, MuxSummary, Muxer, Sidecars, TrackSpec};

/// The blocks, in the order the original handed them to its muxer: track, pts, type, bytes.
const BLOCKS: [(u16, u32, BlockKind, &[u8]); 5] = [
    (1, 0, BlockKind::Key, b"I0_main_audio_keyframe_12345"),
    (
        1,
        33,
        BlockKind::Predictive,
        b"P1_main_audio_predictive_67890",
    ),
    (
        1,
        66,
        BlockKind::Bidirectional,
        b"B2_main_audio_bidirectional_abc",
    ),
    (
        1,
        99,
        BlockKind::Predictive,
        b"P3_main_audio_predictive_def",
    ),
    (1, 333, BlockKind::Key, b"I10_main_audio_keyframe_ghi"),
];

/// The META sidecar, as the original's `json.dumps` wrote it.
const META: &[u8] = br#"{"title": "H4MK Multi-Track Demo", "duration_ms": 333}"#;

/// The SAFE sidecar.
const SAFE: &[u8] = br#"{"no_identity": true, "safe_for_demo": true}"#;

fn tracks() -> Vec<TrackSpec> {
    let track = |track_id: u16, name: &str, kind: &str, codec: &str, rate, channels, note: &str| {
        TrackSpec {
            track_id,
            name: name.to_owned(),
            kind: kind.to_owned(),
            codec: codec.to_owned(),
            sample_rate: rate,
            channels,
            note: note.to_owned(),
        }
    };
    vec![
        track(
            1,
            "main",
            "audio",
            "h4core",
            48_000,
            1,
            "Primary audio track",
        ),
        track(2, "safety", "audit", "json", 0, 0, "Safety / audit track"),
    ]
}

/// Writes the demo file to `sink`.
pub(crate) fn write(sink: &mut dyn Write, opts: MuxOptions) -> h4mk_mt::Result<MuxSummary> {
    let sidecars = Sidecars {
        meta: Some(META),
        safety: Some(SAFE),
        verify: None,
        note: None,
    };
    let mut mux = Muxer::new(sink, tracks(), &sidecars, opts)?;
    for (track, pts, kind, bytes) in BLOCKS {
        mux.push(track, pts, kind, bytes)?;
    }
    let (_, summary) = mux.finish()?;
    Ok(summary)
}
