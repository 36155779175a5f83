//! The JSON manifest `h4mk build` reads: tracks, sidecars and blocks.
//!
//! ```json
//! {
//!   "tracks": [
//!     {"track_id": 1, "name": "main", "kind": "audio", "codec": "h4core",
//!      "sample_rate": 48000, "channels": 1, "note": "Primary audio track"}
//!   ],
//!   "sidecars": {"meta": {"title": "Demo"}, "note": "free text"},
//!   "blocks": [
//!     {"track": 1, "pts_ms": 0, "type": "I", "file": "blocks/0.bin"},
//!     {"track": 1, "pts_ms": 33, "type": "P", "hex": "00ff10"},
//!     {"track": 1, "pts_ms": 66, "type": "B", "base64": "AAEC"},
//!     {"track": 1, "pts_ms": 99, "type": "P", "text": "plain UTF-8 bytes"}
//!   ]
//! }
//! ```
//!
//! - `tracks`: the track list, in order; each entry has the seven TRAK keys, of which
//!   `sample_rate`, `channels` and `note` may be left out (48000, 1 and "", the reference's
//!   defaults). Any other key is an error.
//! - `sidecars` (optional): `meta`, `safe`, `veri` and `note`, each optional. A JSON string is
//!   stored as its UTF-8 bytes, verbatim; `null` stores nothing, as a missing key does (the
//!   reference's `None`); any other JSON value is stored as Python's
//!   `json.dumps(json.loads(TEXT))` writes it (`", "` and `": "` separators, keys in the
//!   manifest's order, a repeated key in its first place with its last value, floats as their
//!   `repr`, integers of any size as given, every character outside printable ASCII escaped as
//!   `\uXXXX`), which is how the reference wrote its JSON sidecars.
//! - `blocks`: in any order across tracks (the file is sorted by pts, then track id, keeping the
//!   manifest's order among equals), but in pts order within a track, which starts with an
//!   I-block. Each block has `track`, `pts_ms`, `type` (`"I"`, `"P"` or `"B"`) and exactly one
//!   source of its opaque bytes: `file` (a path relative to the manifest's folder, or to the
//!   current folder when the manifest is read from standard input), `hex`, `base64` (standard
//!   alphabet, padded) or `text` (UTF-8).

use std::ops::Deref;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use h4mk_gop::BlockKind;
use h4mk_mt::{TRACK_KEYS, TrackSpec};
use serde::Deserialize;
use serde::de::{self, Deserializer};

use crate::input::Input;

/// A manifest as read, checked for shape (see the module docs).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    tracks: Vec<TrackKeys>,
    #[serde(default)]
    sidecars: ManifestSidecars,
    #[serde(default)]
    blocks: Vec<Block>,
}

/// A track of a manifest as its keys were written, each once: with a key given twice, the
/// last would win without a word.
#[derive(Debug)]
struct TrackKeys(serde_json::Map<String, serde_json::Value>);

/// The sidecars of a manifest, as the bytes to store.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ManifestSidecars {
    /// META.
    pub(crate) meta: Option<SidecarBytes>,
    /// SAFE.
    pub(crate) safe: Option<SidecarBytes>,
    /// VERI.
    pub(crate) veri: Option<SidecarBytes>,
    /// NOTE.
    pub(crate) note: Option<SidecarBytes>,
}

/// A sidecar's bytes: a string verbatim, any other JSON value as Python writes it.
#[derive(Debug)]
pub(crate) struct SidecarBytes(pub(crate) Vec<u8>);

/// One block of a manifest.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Block {
    /// The block's track.
    pub(crate) track: u16,
    /// Its pts in milliseconds.
    pub(crate) pts_ms: u32,
    /// Its type.
    #[serde(rename = "type", deserialize_with = "block_kind")]
    pub(crate) kind: BlockKind,
    file: Option<PathBuf>,
    hex: Option<String>,
    base64: Option<String>,
    text: Option<String>,
}

/// A block's opaque bytes: mapped from a file or decoded from the manifest.
#[derive(Debug)]
pub(crate) enum BlockBytes<'m> {
    /// A file named by `file`.
    File(Input),
    /// Decoded from `hex` or `base64`.
    Decoded(Vec<u8>),
    /// `text`, borrowed from the manifest.
    Text(&'m [u8]),
}

impl Deref for BlockBytes<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            BlockBytes::File(input) => input,
            BlockBytes::Decoded(v) => v,
            BlockBytes::Text(t) => t,
        }
    }
}

impl Manifest {
    /// Parses a manifest and checks what can be checked before writing: the track keys and
    /// that each block names exactly one source. Errors name the line and column, or the entry.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self> {
        // serde would also take the fields as an array, and then speak of "elements".
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if let Some(&b) = first
            && b != b'{'
        {
            bail!(
                "a manifest is a JSON object ({{\"tracks\": [...], \"blocks\": [...]}}); this one starts with {:?}",
                char::from(b)
            );
        }
        let manifest: Manifest = serde_json::from_slice(bytes)?;
        for (i, b) in manifest.blocks.iter().enumerate() {
            let sources = [
                b.file.is_some(),
                b.hex.is_some(),
                b.base64.is_some(),
                b.text.is_some(),
            ];
            let n = sources.iter().filter(|&&s| s).count();
            if n != 1 {
                bail!(
                    "blocks[{i}] (track {}, pts {} ms): give exactly one of \"file\", \"hex\", \"base64\" or \"text\", not {n}",
                    b.track,
                    b.pts_ms
                );
            }
        }
        manifest.tracks()?;
        Ok(manifest)
    }

    /// The track list.
    pub(crate) fn tracks(&self) -> Result<Vec<TrackSpec>> {
        self.tracks
            .iter()
            .enumerate()
            .map(|(i, TrackKeys(t))| {
                if let Some(key) = t.keys().find(|k| !TRACK_KEYS.contains(&k.as_str())) {
                    bail!(
                        "tracks[{i}]: unknown key {key:?} (a track has {})",
                        TRACK_KEYS.join(", ")
                    );
                }
                // serde's own words for these ("invalid number") name neither key nor range.
                for (key, max) in [
                    ("track_id", u64::from(u16::MAX)),
                    ("sample_rate", u64::from(u32::MAX)),
                    ("channels", u64::from(u32::MAX)),
                ] {
                    if let Some(v) = t.get(key)
                        && v.as_u64().is_none_or(|n| n > max)
                    {
                        bail!("tracks[{i}].{key}: {v} is not an integer in 0..={max}");
                    }
                }
                serde_json::from_value(serde_json::Value::Object(t.clone()))
                    .with_context(|| format!("tracks[{i}]"))
            })
            .collect()
    }

    /// The sidecars.
    pub(crate) fn sidecars(&self) -> &ManifestSidecars {
        &self.sidecars
    }

    /// The blocks, in manifest order.
    pub(crate) fn blocks(&self) -> &[Block] {
        &self.blocks
    }
}

impl Block {
    /// The file the block's bytes come from, if they come from one; `dir` is where relative
    /// `file` paths start.
    pub(crate) fn file(&self, dir: &Path) -> Option<PathBuf> {
        self.file.as_ref().map(|f| dir.join(f))
    }

    /// The block's opaque bytes; `dir` is where relative `file` paths start.
    pub(crate) fn bytes(&self, dir: &Path) -> Result<BlockBytes<'_>> {
        if let Some(file) = self.file(dir) {
            let input = Input::open_at_most(&file, h4mk_mt::MAX_OPAQUE_LEN)?;
            return Ok(BlockBytes::File(input));
        }
        if let Some(hex) = &self.hex {
            return decode_hex(hex).map(BlockBytes::Decoded);
        }
        if let Some(b64) = &self.base64 {
            return base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map(BlockBytes::Decoded)
                .map_err(|e| anyhow!("bad base64: {e}"));
        }
        Ok(BlockBytes::Text(
            self.text.as_deref().unwrap_or_default().as_bytes(),
        ))
    }
}

fn decode_hex(hex: &str) -> Result<Vec<u8>> {
    let digits = hex.as_bytes();
    if !digits.len().is_multiple_of(2) {
        bail!("bad hex: {} digits, not an even number", digits.len());
    }
    let value = |at: usize| -> Result<u8> {
        let d = digits.get(at).copied().unwrap_or_default();
        char::from(d)
            .to_digit(16)
            .and_then(|v| u8::try_from(v).ok())
            .ok_or_else(|| {
                anyhow!(
                    "bad hex: {:?} at position {at} is not a hex digit",
                    char::from(d)
                )
            })
    };
    (0..digits.len() / 2)
        .map(|i| Ok(value(2 * i)? << 4 | value(2 * i + 1)?))
        .collect()
}

fn block_kind<'de, D: Deserializer<'de>>(d: D) -> Result<BlockKind, D::Error> {
    let s = String::deserialize(d)?;
    let mut chars = s.chars();
    match (chars.next().and_then(BlockKind::from_letter), chars.next()) {
        (Some(kind), None) => Ok(kind),
        _ => Err(de::Error::invalid_value(
            de::Unexpected::Str(&s),
            &"\"I\", \"P\" or \"B\"",
        )),
    }
}

impl<'de> Deserialize<'de> for TrackKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> de::Visitor<'de> for Keys {
            type Value = TrackKeys;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a track, a JSON object")
            }

            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<TrackKeys, A::Error> {
                let mut keys = serde_json::Map::new();
                while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
                    if keys.contains_key(&key) {
                        return Err(de::Error::custom(format_args!(
                            "the track key {key:?} is given twice"
                        )));
                    }
                    keys.insert(key, value);
                }
                Ok(TrackKeys(keys))
            }
        }
        d.deserialize_map(Keys)
    }
}

impl<'de> Deserialize<'de> for SidecarBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(SidecarBytes(s.into_bytes())),
            value => h4mk_mt::json::to_python_json_ascii(&value)
                .map(SidecarBytes)
                .map_err(de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn sidecar(json: &str, expect: &str) {
        let got: SidecarBytes = serde_json::from_str(json).unwrap();
        assert_eq!(String::from_utf8(got.0).unwrap(), expect);
    }

    #[test]
    fn sidecars_keep_key_order_and_python_separators() {
        sidecar(
            r#"{"title":"H4MK Multi-Track Demo","duration_ms":333}"#,
            r#"{"title": "H4MK Multi-Track Demo", "duration_ms": 333}"#,
        );
        sidecar(r#"  "verbatim {\"a\":1}" "#, r#"verbatim {"a":1}"#);
        // Non-ASCII escaped, as the reference's `json.dumps(meta)` writes it; a string is
        // stored as it is.
        sidecar(
            r#"[1, 2.5, null, true, "é"]"#,
            r#"[1, 2.5, null, true, "\u00e9"]"#,
        );
        sidecar(
            r#"{"title": "café ♪ 🎵"}"#,
            r#"{"title": "caf\u00e9 \u266a \ud83c\udfb5"}"#,
        );
        sidecar(r#""café""#, "café");
    }

    #[test]
    fn track_numbers_out_of_range_name_the_key_and_the_range() {
        for (track, expect) in [
            (
                r#""track_id": 65536"#,
                "tracks[0].track_id: 65536 is not an integer in 0..=65535",
            ),
            (
                r#""track_id": 1, "channels": -3"#,
                "tracks[0].channels: -3 is not an integer in 0..=4294967295",
            ),
            (
                r#""track_id": 1.0"#,
                "tracks[0].track_id: 1.0 is not an integer in 0..=65535",
            ),
            (
                r#""track_id": 1, "sample_rate": 4294967296"#,
                "tracks[0].sample_rate: 4294967296 is not an integer in 0..=4294967295",
            ),
        ] {
            let json =
                format!(r#"{{"tracks": [{{{track}, "name": "a", "kind": "k", "codec": "c"}}]}}"#);
            let err = Manifest::parse(json.as_bytes()).unwrap_err();
            assert_eq!(err.to_string(), expect);
        }
    }

    #[test]
    fn a_track_key_given_twice_is_refused() {
        let twice = br#"{"tracks": [{"track_id": 1, "track_id": 2}]}"#;
        assert_eq!(
            Manifest::parse(twice).unwrap_err().to_string(),
            "the track key \"track_id\" is given twice at line 1 column 42"
        );
        let track =
            |id| format!(r#"{{"track_id": {id}, "name": "t", "kind": "audio", "codec": "c"}}"#);
        let once = format!(r#"{{"tracks": [{}, {}]}}"#, track(1), track(2));
        let ids: Vec<u16> = Manifest::parse(once.as_bytes())
            .unwrap()
            .tracks()
            .unwrap()
            .iter()
            .map(|t| t.track_id)
            .collect();
        assert_eq!(ids, [1, 2]);
        // Blocks and the manifest itself refuse one too, in serde's words.
        let block = br#"{"tracks": [], "blocks": [{"track": 1, "track": 2}]}"#;
        let err = Manifest::parse(block).unwrap_err().to_string();
        assert!(err.starts_with("duplicate field `track`"), "{err}");
    }

    #[test]
    fn a_manifest_is_an_object() {
        assert_eq!(
            Manifest::parse(b" [] ").unwrap_err().to_string(),
            r#"a manifest is a JSON object ({"tracks": [...], "blocks": [...]}); this one starts with '['"#
        );
        assert!(Manifest::parse(br#" {"tracks": []}"#).is_ok());
    }

    #[test]
    fn a_null_sidecar_is_no_sidecar() {
        let m =
            Manifest::parse(br#"{"tracks": [], "sidecars": {"meta": null, "note": "n"}}"#).unwrap();
        assert!(m.sidecars.meta.is_none());
        assert_eq!(m.sidecars.note.map(|n| n.0), Some(b"n".to_vec()));
    }

    #[test]
    fn sidecar_numbers_and_repeated_keys_come_out_as_python_writes_them() {
        // The expected text is what CPython 3 prints for
        // `json.dumps(json.loads(INPUT))`: integers of any size as given,
        // floats as their repr, a repeated key in its first place with its last value.
        sidecar(
            r#"{"a": 1e-5, "b": 1000000000000000000000000000000, "c": -12345678901234567890,
                "d": -0, "e": 1E5, "f": 2.50, "a": 7, "g": 1e400, "h": -0.0, "i": 0e10}"#,
            r#"{"a": 7, "b": 1000000000000000000000000000000, "c": -12345678901234567890, "d": 0, "e": 100000.0, "f": 2.5, "g": Infinity, "h": -0.0, "i": 0.0}"#,
        );
    }

    #[track_caller]
    fn hex(input: &str, expect: Result<&[u8], &str>) {
        let got = decode_hex(input).map_err(|e| e.to_string());
        assert_eq!(got.as_deref().map_err(String::as_str), expect);
    }

    #[test]
    fn hex_digits() {
        hex("", Ok(b""));
        hex("00fFa0", Ok(&[0, 255, 160]));
        hex("abc", Err("bad hex: 3 digits, not an even number"));
        hex("0g", Err("bad hex: 'g' at position 1 is not a hex digit"));
    }

    #[test]
    fn block_sources_and_types() {
        let m = Manifest::parse(
            br#"{"tracks": [], "blocks": [{"track": 1, "pts_ms": 0, "type": "I"}]}"#,
        );
        assert_eq!(
            m.unwrap_err().to_string(),
            "blocks[0] (track 1, pts 0 ms): give exactly one of \"file\", \"hex\", \"base64\" or \"text\", not 0"
        );
        let m = Manifest::parse(
            br#"{"tracks": [], "blocks": [{"track": 1, "pts_ms": 0, "type": "X", "hex": ""}]}"#,
        );
        assert_eq!(
            m.unwrap_err().to_string(),
            "invalid value: string \"X\", expected \"I\", \"P\" or \"B\" at line 1 column 63"
        );
        let m = Manifest::parse(
            br#"{"tracks": [{"track_id": 1, "name": "a", "kind": "k", "codec": "c", "rate": 3}]}"#,
        );
        assert_eq!(
            m.unwrap_err().to_string(),
            "tracks[0]: unknown key \"rate\" (a track has track_id, name, kind, codec, sample_rate, channels, note)"
        );
    }
}
