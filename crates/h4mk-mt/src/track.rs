//! The TRAK chunk: the JSON track list (docs/FORMAT.md §2.1).
//!
//! Writing gives exactly the reference's bytes: `{"tracks": [...]}` with the seven keys of
//! [`TrackSpec`] in order, through [`crate::json::PythonFormatter`].
//!
//! Reading ([`parse_track_list`]) follows the reference reader where it is lenient and reports
//! where it is not:
//! - a missing `"tracks"` key is an empty list, other top-level keys are ignored (the reference
//!   reads `obj.get("tracks", [])`);
//! - a missing `sample_rate`, `channels` or `note` takes the reference's default (48000, 1, "")
//!   and is reported as [`TrackProblem::DefaultedKey`]; a missing `track_id`, `name`, `kind` or
//!   `codec` is an error, as it is for the reference;
//! - an extra key in a track object is read past and reported as [`TrackProblem::ExtraKey`]:
//!   the reference reader would fail on it, so a verifier must flag it, but the known keys are
//!   still good;
//! - values must have the types of [`TrackSpec`] (the reference does not check them; we do),
//!   a key given twice in one object is an error, and so is a track id given twice;
//! - the number of tracks is capped by [`Limits::max_tracks`] while parsing.

use std::fmt;

use h4mk_format::{ChunkRef, Limits, Tag};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::json::to_python_json;

/// The version 1 TRAK keys of a track object, in the order the reference writes them
/// (docs/FORMAT.md §2.1): the fields of [`TrackSpec`].
pub const TRACK_KEYS: [&str; 7] = [
    "track_id",
    "name",
    "kind",
    "codec",
    "sample_rate",
    "channels",
    "note",
];

/// One track of the track list, with exactly the version 1 TRAK keys in their order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackSpec {
    /// Track id, used by every block of the track (the CORE routing header).
    pub track_id: u16,
    /// Display name.
    pub name: String,
    /// Kind of content ("audio", "control", ...), free text.
    pub kind: String,
    /// Codec name ("h4core", ...), opaque to the container.
    pub codec: String,
    /// Sample rate in Hz (0 when meaningless); the reference defaults it to 48000.
    #[serde(default = "default_sample_rate")]
    pub sample_rate: u32,
    /// Channel count (0 when meaningless); the reference defaults it to 1.
    #[serde(default = "default_channels")]
    pub channels: u32,
    /// Free-text note.
    #[serde(default)]
    pub note: String,
}

/// A track list read from a TRAK chunk, with what the reference reader would object to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrackList {
    /// The tracks, in file order.
    pub tracks: Vec<TrackSpec>,
    /// Departures from the reference's seven keys that were read past.
    pub problems: Vec<TrackProblem>,
}

/// Something in a track list that this crate reads but the reference writer never writes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrackProblem {
    /// A track object has a key outside the seven; the reference reader fails on such a file.
    ExtraKey {
        /// Index of the track in the list.
        index: usize,
        /// The extra key.
        key: String,
    },
    /// A track object lacks a key that has a default in the reference; it reads the same.
    DefaultedKey {
        /// Index of the track in the list.
        index: usize,
        /// The missing key.
        key: &'static str,
    },
}

impl fmt::Display for TrackProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrackProblem::ExtraKey { index, key } => write!(
                f,
                "entry {index} of the track list has the extra key {key:?}, which the reference reader rejects"
            ),
            TrackProblem::DefaultedKey { index, key } => {
                write!(
                    f,
                    "entry {index} of the track list has no {key:?}; the reference default applies"
                )
            }
        }
    }
}

/// The TRAK payload for `tracks`, byte-identical to the reference writer's.
pub fn encode_track_list(tracks: &[TrackSpec]) -> Result<Vec<u8>> {
    #[derive(Serialize)]
    struct Trak<'t> {
        tracks: &'t [TrackSpec],
    }
    to_python_json(&Trak { tracks }).map_err(Error::Json)
}

/// Parses a TRAK chunk (see the module docs for what is accepted and reported).
pub fn parse_track_list(chunk: ChunkRef<'_>, limits: &Limits) -> Result<TrackList> {
    Error::expect_tag(&chunk, Tag::TRAK)?;
    let mut ctx = Ctx {
        max_tracks: limits.max_tracks,
        over_limit: None,
        problems: Vec::new(),
    };
    let mut de = serde_json::Deserializer::from_slice(chunk.payload);
    let parsed = TrakSeed(&mut ctx)
        .deserialize(&mut de)
        .and_then(|tracks| de.end().map(|()| tracks));
    if let Some(value) = ctx.over_limit {
        return Err(h4mk_format::Error::Limit {
            tag: chunk.tag,
            offset: chunk.offset,
            what: "track count",
            value,
            max: u64::from(limits.max_tracks),
        }
        .into());
    }
    let tracks = parsed.map_err(|e| Error::TrackList {
        offset: chunk.offset,
        detail: e.to_string(),
    })?;
    let mut ids: Vec<u16> = tracks.iter().map(|t| t.track_id).collect();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| matches!(w, [a, b] if a == b)) {
        return Err(Error::DuplicateTrackId {
            offset: chunk.offset,
            track: w.first().copied().unwrap_or_default(),
        });
    }
    Ok(TrackList {
        tracks,
        problems: ctx.problems,
    })
}

fn default_sample_rate() -> u32 {
    48_000
}

fn default_channels() -> u32 {
    1
}

/// State shared by the seeds of one parse.
struct Ctx {
    max_tracks: u32,
    over_limit: Option<u64>,
    problems: Vec<TrackProblem>,
}

/// The top-level object: `{"tracks": [...]}`.
struct TrakSeed<'c>(&'c mut Ctx);

impl<'de> DeserializeSeed<'de> for TrakSeed<'_> {
    type Value = Vec<TrackSpec>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TrakSeed<'_> {
    type Value = Vec<TrackSpec>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with a \"tracks\" list")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut tracks = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "tracks" {
                if tracks.is_some() {
                    return Err(de::Error::duplicate_field("tracks"));
                }
                tracks = Some(map.next_value_seed(TracksSeed(&mut *self.0))?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(tracks.unwrap_or_default())
    }
}

/// The list of track objects, capped while it is read.
struct TracksSeed<'c>(&'c mut Ctx);

impl<'de> DeserializeSeed<'de> for TracksSeed<'_> {
    type Value = Vec<TrackSpec>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for TracksSeed<'_> {
    type Value = Vec<TrackSpec>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of track objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut tracks = Vec::new();
        loop {
            let index = tracks.len();
            let Some(track) = seq.next_element_seed(TrackSeed {
                ctx: &mut *self.0,
                index,
            })?
            else {
                break;
            };
            if u64::try_from(index).unwrap_or(u64::MAX) >= u64::from(self.0.max_tracks) {
                self.0.over_limit = Some(u64::try_from(index).unwrap_or(u64::MAX) + 1);
                return Err(de::Error::custom("too many tracks"));
            }
            tracks.push(track);
        }
        Ok(tracks)
    }
}

/// One track object.
struct TrackSeed<'c> {
    ctx: &'c mut Ctx,
    index: usize,
}

impl<'de> DeserializeSeed<'de> for TrackSeed<'_> {
    type Value = TrackSpec;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TrackSeed<'_> {
    type Value = TrackSpec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a track object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        fn set<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
            map: &mut A,
            slot: &mut Option<T>,
            key: &'static str,
        ) -> Result<(), A::Error> {
            if slot.is_some() {
                return Err(de::Error::duplicate_field(key));
            }
            *slot = Some(map.next_value()?);
            Ok(())
        }

        let (mut track_id, mut name, mut kind, mut codec) = (None, None, None, None);
        let (mut sample_rate, mut channels, mut note) = (None, None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "track_id" => set(&mut map, &mut track_id, "track_id")?,
                "name" => set(&mut map, &mut name, "name")?,
                "kind" => set(&mut map, &mut kind, "kind")?,
                "codec" => set(&mut map, &mut codec, "codec")?,
                "sample_rate" => set(&mut map, &mut sample_rate, "sample_rate")?,
                "channels" => set(&mut map, &mut channels, "channels")?,
                "note" => set(&mut map, &mut note, "note")?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    self.ctx.problems.push(TrackProblem::ExtraKey {
                        index: self.index,
                        key,
                    });
                }
            }
        }
        let index = self.index;
        let mut defaulted = |key: &'static str| {
            self.ctx
                .problems
                .push(TrackProblem::DefaultedKey { index, key });
        };
        let sample_rate = sample_rate.unwrap_or_else(|| {
            defaulted("sample_rate");
            default_sample_rate()
        });
        let channels = channels.unwrap_or_else(|| {
            defaulted("channels");
            default_channels()
        });
        let note = note.unwrap_or_else(|| {
            defaulted("note");
            String::new()
        });
        Ok(TrackSpec {
            track_id: track_id.ok_or_else(|| de::Error::missing_field("track_id"))?,
            name: name.ok_or_else(|| de::Error::missing_field("name"))?,
            kind: kind.ok_or_else(|| de::Error::missing_field("kind"))?,
            codec: codec.ok_or_else(|| de::Error::missing_field("codec"))?,
            sample_rate,
            channels,
            note,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: u16) -> TrackSpec {
        TrackSpec {
            track_id: id,
            name: "main".into(),
            kind: "audio".into(),
            codec: "h4core".into(),
            sample_rate: 48_000,
            channels: 1,
            note: String::new(),
        }
    }

    fn chunk(payload: &[u8]) -> ChunkRef<'_> {
        ChunkRef {
            offset: 16,
            tag: Tag::TRAK,
            flags: 0,
            payload,
            crc: 0,
        }
    }

    #[track_caller]
    fn check(json: &str, expect: Result<(Vec<u16>, Vec<TrackProblem>), String>) {
        let got = parse_track_list(chunk(json.as_bytes()), &Limits::default())
            .map(|l| (l.tracks.iter().map(|t| t.track_id).collect(), l.problems))
            .map_err(|e| e.to_string());
        assert_eq!(got, expect, "{json}");
    }

    #[test]
    fn writes_the_reference_bytes() {
        let mut t = spec(7);
        t.note = "a \"q\"\t\u{1} ♪".into();
        assert_eq!(
            String::from_utf8(encode_track_list(&[t, spec(65535)]).unwrap()).unwrap(),
            "{\"tracks\": [{\"track_id\": 7, \"name\": \"main\", \"kind\": \"audio\", \"codec\": \"h4core\", \
             \"sample_rate\": 48000, \"channels\": 1, \"note\": \"a \\\"q\\\"\\t\\u0001 ♪\"}, \
             {\"track_id\": 65535, \"name\": \"main\", \"kind\": \"audio\", \"codec\": \"h4core\", \
             \"sample_rate\": 48000, \"channels\": 1, \"note\": \"\"}]}"
        );
        assert_eq!(encode_track_list(&[]).unwrap(), b"{\"tracks\": []}");
    }

    #[test]
    fn reads_what_it_writes() {
        let tracks = vec![spec(1), spec(2)];
        let bytes = encode_track_list(&tracks).unwrap();
        let list = parse_track_list(chunk(&bytes), &Limits::default()).unwrap();
        assert_eq!(
            list,
            TrackList {
                tracks,
                problems: vec![]
            }
        );
    }

    #[test]
    fn a_track_serialises_with_exactly_the_track_keys_in_order() {
        let value = serde_json::to_value(spec(1)).unwrap();
        let mut keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        // The same set (in whatever order serde_json's map keeps, which its features decide)...
        let mut sorted = TRACK_KEYS;
        sorted.sort_unstable();
        keys.sort_unstable();
        assert_eq!(keys, sorted);
        // ...and the encoder writes them in this order.
        let json = String::from_utf8(encode_track_list(&[spec(1)]).unwrap()).unwrap();
        let at: Vec<usize> = TRACK_KEYS
            .iter()
            .map(|k| json.find(&format!("\"{k}\"")).unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{json}");
    }

    #[test]
    fn leniency_and_problems() {
        let full = r#""track_id": 1, "name": "a", "kind": "k", "codec": "c", "sample_rate": 0, "channels": 0, "note": """#;
        check(
            &format!(r#"{{"tracks": [{{{full}}}]}}"#),
            Ok((vec![1], vec![])),
        );
        check("{}", Ok((vec![], vec![])));
        check(
            r#"{"other": [1, {"x": 2}], "tracks": []}"#,
            Ok((vec![], vec![])),
        );
        check(
            &format!(r#"{{"tracks": [{{{full}, "extra": {{"nested": [1]}}}}]}}"#),
            Ok((
                vec![1],
                vec![TrackProblem::ExtraKey {
                    index: 0,
                    key: "extra".into(),
                }],
            )),
        );
        check(
            r#"{"tracks": [{"track_id": 3, "name": "a", "kind": "k", "codec": "c"}]}"#,
            Ok((
                vec![3],
                ["sample_rate", "channels", "note"]
                    .map(|key| TrackProblem::DefaultedKey { index: 0, key })
                    .to_vec(),
            )),
        );
    }

    #[test]
    fn errors_name_the_chunk() {
        check(
            r#"{"tracks": [{"name": "a", "kind": "k", "codec": "c"}]}"#,
            Err("TRAK chunk at offset 16: missing field `track_id` at line 1 column 52".into()),
        );
        check(
            r#"{"tracks": [{"track_id": 70000, "name": "a", "kind": "k", "codec": "c"}]}"#,
            Err("TRAK chunk at offset 16: invalid value: integer `70000`, expected u16 at line 1 column 30".into()),
        );
        check(
            r#"{"tracks": [{"track_id": 1, "track_id": 2}]}"#,
            Err("TRAK chunk at offset 16: duplicate field `track_id` at line 1 column 38".into()),
        );
        let two = r#"{"track_id": 4, "name": "a", "kind": "k", "codec": "c"}"#;
        check(
            &format!(r#"{{"tracks": [{two}, {two}]}}"#),
            Err("TRAK chunk at offset 16: track id 4 appears more than once".into()),
        );
        check("[]", Err("TRAK chunk at offset 16: invalid type: sequence, expected an object with a \"tracks\" list at line 1 column 0".into()));
        check(
            "{} x",
            Err("TRAK chunk at offset 16: trailing characters at line 1 column 4".into()),
        );
        check("{\"tracks\": null}", Err("TRAK chunk at offset 16: invalid type: null, expected a list of track objects at line 1 column 15".into()));
    }

    #[test]
    fn track_count_is_capped_while_parsing() {
        let one = r#"{"track_id": 0, "name": "", "kind": "", "codec": ""}"#;
        let json = format!(r#"{{"tracks": [{one}, {one}, {one}]}}"#);
        let limits = Limits {
            max_tracks: 2,
            ..Limits::default()
        };
        let err = parse_track_list(chunk(json.as_bytes()), &limits).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Format(h4mk_format::Error::Limit {
                    value: 3,
                    max: 2,
                    offset: 16,
                    ..
                })
            ),
            "{err:?}"
        );
    }
}
