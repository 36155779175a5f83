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
//! - `track_id` must be an integer in 0..=65535 (the reference cannot write a file with any
//!   other: it packs the id into each seek table);
//! - any other key of the seven may hold a value of another type, since the reference writes
//!   whatever it was handed (`sample_rate=44100 / 2` is `22050.0`, `note=None` is `null`):
//!   such a value is read as the nearest value of [`TrackSpec`]'s type and reported, exactly
//!   as written, as [`TrackProblem::OffType`], so the file's blocks stay readable;
//! - a key given twice in one object is an error, and so is a track id given twice;
//! - the number of tracks is capped by [`Limits::max_tracks`] while parsing.

use std::fmt;

use h4mk_format::{ChunkRef, Limits, Tag};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

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

impl TrackSpec {
    /// A track with the reference's defaults for what is not given: 48000 Hz, 1 channel, no
    /// note (as its writer fills a track spec in).
    ///
    /// ```
    /// let track = h4mk_mt::TrackSpec::new(1, "voice", "audio", "my-codec");
    /// assert_eq!((track.sample_rate, track.channels, track.note.as_str()), (48_000, 1, ""));
    /// ```
    pub fn new(track_id: u16, name: &str, kind: &str, codec: &str) -> Self {
        TrackSpec {
            track_id,
            name: name.to_owned(),
            kind: kind.to_owned(),
            codec: codec.to_owned(),
            sample_rate: default_sample_rate(),
            channels: default_channels(),
            note: String::new(),
        }
    }
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
    /// A value of another type than the reference writer is meant to write (an integer for
    /// `sample_rate` and `channels`, a string for the others). The reference reads it as it
    /// is; this crate reads a float holding a whole number as that integer, other values of an
    /// integer key as 0, `null` for a string as `""`, and other values for a string as their
    /// JSON text.
    OffType {
        /// Index of the track in the list.
        index: usize,
        /// The key.
        key: &'static str,
        /// The value's JSON text, exactly as in the file.
        written: String,
    },
}

/// An integer key's off-type value (`sample_rate`, `channels`): a whole number in `u32` range
/// written as a float (`22050.0`, `1e3`) reads as that number, anything else as 0
/// ("meaningless", as [`TrackSpec`] has it).
fn off_type_integer(written: &str) -> u32 {
    serde_json::from_str::<f64>(written)
        .ok()
        .filter(|v| v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(v))
        .map_or(0, |v| v as u32)
}

/// A string key's off-type value: `null` reads as `""`, any other value as its JSON text.
fn off_type_string(written: &str) -> String {
    if written == "null" {
        String::new()
    } else {
        written.to_owned()
    }
}

/// The TRAK keys besides `track_id` whose values are integers.
const INTEGER_KEYS: [&str; 2] = ["sample_rate", "channels"];

/// At most this many characters of an off-type value are shown in a message.
const SHOWN_CHARS: usize = 60;

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
            TrackProblem::OffType {
                index,
                key,
                written,
            } => {
                let (what, read_as) = if INTEGER_KEYS.contains(key) {
                    (
                        "an integer in 0..=4294967295",
                        off_type_integer(written).to_string(),
                    )
                } else if off_type_string(written).is_empty() {
                    ("a string", "\"\"".to_owned())
                } else {
                    ("a string", "its JSON text".to_owned())
                };
                // Control characters escaped: JSON allows a newline between items, and a
                // message is one line.
                let mut shown = String::new();
                for c in written.chars().take(SHOWN_CHARS) {
                    if c.is_control() {
                        shown.extend(c.escape_default());
                    } else {
                        shown.push(c);
                    }
                }
                if written.chars().nth(SHOWN_CHARS).is_some() {
                    shown.push('…');
                }
                write!(
                    f,
                    "entry {index} of the track list has {key:?}: {shown}, not {what}; read as {read_as}"
                )
            }
        }
    }
}

/// The TRAK payload for `tracks`, byte-identical to the reference writer's.
pub fn encode_track_list(tracks: &[TrackSpec]) -> Result<Vec<u8>> {
    encode_track_list_keeping(tracks, &[])
}

/// [`encode_track_list`] with some values written as a file held them: `kept[i]` gives, for
/// track `i`, the JSON text of values read as another type than the reference writer is meant
/// to write ([`TrackProblem::OffType`]: `22050.0` for a sample rate, `null` for a note), by
/// key; those are written as they were. So a file the reference wrote with such values is
/// remuxed to the same bytes.
///
/// The object is laid out here, key by key in [`TRACK_KEYS`] order, each value through
/// [`to_python_json`]: `{"tracks": [{"track_id": 1, "name": "a", ...}, ...]}`.
pub(crate) fn encode_track_list_keeping(
    tracks: &[TrackSpec],
    kept: &[Vec<(&'static str, &str)>],
) -> Result<Vec<u8>> {
    fn json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
        to_python_json(value).map_err(Error::Json)
    }
    let mut out = b"{\"tracks\": [".to_vec();
    for (i, t) in tracks.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.push(b'{');
        for (k, key) in TRACK_KEYS.into_iter().enumerate() {
            if k > 0 {
                out.extend_from_slice(b", ");
            }
            out.extend(json(&key)?);
            out.extend_from_slice(b": ");
            let written = kept
                .get(i)
                .and_then(|kept| kept.iter().find(|(k, _)| *k == key));
            match written {
                Some((_, text)) => out.extend_from_slice(text.as_bytes()),
                None => out.extend(match key {
                    "track_id" => json(&t.track_id)?,
                    "name" => json(&t.name)?,
                    "kind" => json(&t.kind)?,
                    "codec" => json(&t.codec)?,
                    "sample_rate" => json(&t.sample_rate)?,
                    "channels" => json(&t.channels)?,
                    _ => json(&t.note)?,
                }),
            }
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

/// Parses a TRAK chunk (see the module docs for what is accepted and reported).
pub fn parse_track_list(chunk: ChunkRef<'_>, limits: &Limits) -> Result<TrackList> {
    Error::expect_tag(&chunk, Tag::TRAK)?;
    let replaced = python_floats_as_numbers(chunk.payload);
    let parsed_bytes = replaced.as_deref().unwrap_or(chunk.payload);
    let mut ctx = Ctx {
        max_tracks: limits.max_tracks,
        over_limit: None,
        problems: Vec::new(),
        origin: replaced
            .as_ref()
            .map(|copy| (copy.as_ptr() as usize, chunk.payload)),
    };
    let mut de = serde_json::Deserializer::from_slice(parsed_bytes);
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
        detail: format!(
            "{e} (byte {} of the file)",
            payload_offset(&chunk).saturating_add(json_byte(chunk.payload, e.line(), e.column()))
        ),
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

/// Offset of a chunk's payload in the file.
fn payload_offset(chunk: &ChunkRef<'_>) -> u64 {
    chunk
        .offset
        .saturating_add(h4mk_format::CHUNK_HEADER_LEN as u64)
}

/// The index in `text` of the byte at serde_json's `line` and `column` (both from 1; column 0
/// is before the line's first byte), as a `u64`: a JSON error's position, which a reader of a
/// long one-line track list cannot count by hand.
fn json_byte(text: &[u8], line: usize, column: usize) -> u64 {
    let line_start = if line <= 1 {
        0
    } else {
        text.iter()
            .enumerate()
            .filter(|&(_, &b)| b == b'\n')
            .nth(line - 2)
            .map_or(text.len(), |(i, _)| i + 1)
    };
    (line_start + column.saturating_sub(1)) as u64
}

fn default_sample_rate() -> u32 {
    48_000
}

fn default_channels() -> u32 {
    1
}

/// State shared by the seeds of one parse.
struct Ctx<'a> {
    max_tracks: u32,
    over_limit: Option<u64>,
    problems: Vec<TrackProblem>,
    /// When Python's `NaN` and `Infinity` were replaced for the parse
    /// ([`python_floats_as_numbers`]): where the parsed copy starts in memory, and the payload
    /// as written, whose text an off-type value is reported with.
    origin: Option<(usize, &'a [u8])>,
}

/// `payload` with the `NaN`, `Infinity` and `-Infinity` that Python's `json.dumps` writes for
/// such floats (and `json.loads` reads, though JSON has no such values) replaced, where they
/// stand as values outside strings, by numbers of the same length (`0.0`, `0.000000`,
/// `-0.000000`): serde_json then reads the list, and every value keeps its place, so that its
/// text as written is found at the same offsets of `payload`. Before, such a list was refused
/// and with it the whole file, which the reference reads.
fn python_floats_as_numbers(payload: &[u8]) -> Option<Vec<u8>> {
    const TOKENS: [(&[u8], &[u8]); 3] = [
        (b"NaN", b"0.0"),
        (b"Infinity", b"0.000000"),
        (b"-Infinity", b"-0.000000"),
    ];
    let mut out: Option<Vec<u8>> = None;
    let (mut in_string, mut escaped) = (false, false);
    let mut last = b'\0';
    let mut at = 0;
    while let Some(&b) = payload.get(at) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            at += 1;
            continue;
        }
        let rest = payload.get(at..).unwrap_or_default();
        let token = TOKENS.iter().find(|(word, _)| {
            rest.starts_with(word)
                && matches!(last, b':' | b'[' | b',')
                && !rest
                    .get(word.len())
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        });
        if let Some((word, number)) = token {
            let copy = out.get_or_insert_with(|| payload.to_vec());
            if let Some(slot) = copy.get_mut(at..at + word.len()) {
                slot.copy_from_slice(number);
            }
            at += word.len();
            last = b'0';
            continue;
        }
        if b == b'"' {
            in_string = true;
        }
        if !b.is_ascii_whitespace() {
            last = b;
        }
        at += 1;
    }
    out
}

/// The top-level object: `{"tracks": [...]}`.
struct TrakSeed<'c, 'a>(&'c mut Ctx<'a>);

impl<'de> DeserializeSeed<'de> for TrakSeed<'_, '_> {
    type Value = Vec<TrackSpec>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TrakSeed<'_, '_> {
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
struct TracksSeed<'c, 'a>(&'c mut Ctx<'a>);

impl<'de> DeserializeSeed<'de> for TracksSeed<'_, '_> {
    type Value = Vec<TrackSpec>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for TracksSeed<'_, '_> {
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
struct TrackSeed<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    index: usize,
}

impl<'de> DeserializeSeed<'de> for TrackSeed<'_, '_> {
    type Value = TrackSpec;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TrackSeed<'_, '_> {
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

        let mut track_id = None;
        // The other six as written: each is read into its type below.
        let (mut name, mut kind, mut codec) = (None, None, None);
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
        let track_id = track_id.ok_or_else(|| de::Error::missing_field("track_id"))?;
        let required = |raw: Option<_>, key| raw.ok_or_else(|| de::Error::missing_field(key));
        let (name, kind, codec) = (
            required(name, "name")?,
            required(kind, "kind")?,
            required(codec, "codec")?,
        );
        let mut read = Values {
            index: self.index,
            problems: &mut self.ctx.problems,
            origin: self.ctx.origin,
        };
        // In the order of the keys, so problems are too.
        Ok(TrackSpec {
            track_id,
            name: read.string("name", name),
            kind: read.string("kind", kind),
            codec: read.string("codec", codec),
            sample_rate: read.integer("sample_rate", sample_rate, default_sample_rate()),
            channels: read.integer("channels", channels, default_channels()),
            note: match note {
                Some(raw) => read.string("note", raw),
                None => {
                    read.defaulted("note");
                    String::new()
                }
            },
        })
    }
}

/// Reads the values of one track object into their types, reporting what departs.
struct Values<'p> {
    index: usize,
    problems: &'p mut Vec<TrackProblem>,
    origin: Option<(usize, &'p [u8])>,
}

impl Values<'_> {
    fn string(&mut self, key: &'static str, raw: &RawValue) -> String {
        serde_json::from_str(raw.get()).unwrap_or_else(|_| {
            let written = self.written(raw);
            let value = off_type_string(&written);
            self.off_type(key, written);
            value
        })
    }

    fn integer(&mut self, key: &'static str, raw: Option<&RawValue>, default: u32) -> u32 {
        let Some(raw) = raw else {
            self.defaulted(key);
            return default;
        };
        serde_json::from_str(raw.get()).unwrap_or_else(|_| {
            let written = self.written(raw);
            let value = off_type_integer(&written);
            self.off_type(key, written);
            value
        })
    }

    /// A value's text as written: from the payload itself when its `NaN`s were replaced for
    /// the parse (at the same offsets).
    fn written(&self, raw: &RawValue) -> String {
        let text = raw.get();
        let Some((base, payload)) = self.origin else {
            return text.to_owned();
        };
        // The parsed copy is as long as the payload, and the value lies in it (borrowed).
        let at = (text.as_ptr() as usize).checked_sub(base);
        at.and_then(|at| payload.get(at..at.checked_add(text.len())?))
            .map_or_else(
                || text.to_owned(),
                |b| String::from_utf8_lossy(b).into_owned(),
            )
    }

    fn off_type(&mut self, key: &'static str, written: String) {
        self.problems.push(TrackProblem::OffType {
            index: self.index,
            key,
            written,
        });
    }

    fn defaulted(&mut self, key: &'static str) {
        self.problems.push(TrackProblem::DefaultedKey {
            index: self.index,
            key,
        });
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

    /// Python writes `NaN`, `Infinity` and `-Infinity` for such floats, and reads them; a
    /// track list holding one was refused, and the whole file with it. They read as off-type
    /// values, reported with their text as written, where they stand as values; inside a
    /// string, or as part of a longer word, they are left alone (and the latter still fails).
    #[test]
    fn python_nan_and_infinity_read_as_off_type_values() {
        let json = r#"{"tracks": [{"track_id": 1, "name": NaN, "kind": "NaN, Infinity", "codec": "c", "sample_rate": Infinity, "channels": [-Infinity, NaN], "note": "x"}]}"#;
        let list = parse_track_list(chunk(json.as_bytes()), &Limits::default()).unwrap();
        let t = &list.tracks[0];
        assert_eq!((t.name.as_str(), t.kind.as_str()), ("NaN", "NaN, Infinity"));
        assert_eq!((t.sample_rate, t.channels), (0, 0));
        let written: Vec<(&str, &str)> = list
            .problems
            .iter()
            .map(|p| match p {
                TrackProblem::OffType { key, written, .. } => (*key, written.as_str()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            written,
            [
                ("name", "NaN"),
                ("sample_rate", "Infinity"),
                ("channels", "[-Infinity, NaN]")
            ]
        );
        let word = r#"{"tracks": [{"track_id": 1, "name": NaNa, "kind": "k", "codec": "c"}]}"#;
        assert!(parse_track_list(chunk(word.as_bytes()), &Limits::default()).is_err());
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

    /// The reference writes whatever Python values it is handed: `sample_rate=44100 / 2` is
    /// `22050.0`, `note=None` is `null`. Such a file stays readable, each value reported as
    /// written.
    #[test]
    fn values_of_other_types_are_read_and_reported() {
        let json = r#"{"tracks": [{"track_id": 1, "name": 7, "kind": null, "codec": "c",
            "sample_rate": 22050.0, "channels": "2", "note": [1, {"a": "\u00e9"}]},
            {"track_id": 2, "name": "b", "kind": "k", "codec": true,
            "sample_rate": -1, "channels": 1.5, "note": null}]}"#;
        let list = parse_track_list(chunk(json.as_bytes()), &Limits::default()).unwrap();
        let read: Vec<_> = list
            .tracks
            .iter()
            .map(|t| {
                let strings = [&t.name, &t.kind, &t.codec, &t.note].map(String::as_str);
                (t.track_id, strings, t.sample_rate, t.channels)
            })
            .collect();
        assert_eq!(
            read,
            [
                (1, ["7", "", "c", r#"[1, {"a": "\u00e9"}]"#], 22_050, 0),
                (2, ["b", "k", "true", ""], 0, 0),
            ]
        );
        let off = |index, key, written: &str| TrackProblem::OffType {
            index,
            key,
            written: written.into(),
        };
        assert_eq!(
            list.problems,
            [
                off(0, "name", "7"),
                off(0, "kind", "null"),
                off(0, "sample_rate", "22050.0"),
                off(0, "channels", "\"2\""),
                off(0, "note", r#"[1, {"a": "\u00e9"}]"#),
                off(1, "codec", "true"),
                off(1, "sample_rate", "-1"),
                off(1, "channels", "1.5"),
                off(1, "note", "null"),
            ]
        );
        assert_eq!(
            list.problems[2].to_string(),
            "entry 0 of the track list has \"sample_rate\": 22050.0, not an integer in 0..=4294967295; read as 22050"
        );
        assert_eq!(
            list.problems[8].to_string(),
            "entry 1 of the track list has \"note\": null, not a string; read as \"\""
        );
        let long = format!(
            r#"{{"tracks": [{{"track_id": 1, "name": [{}0], "kind": "k", "codec": "c"}}]}}"#,
            "0, ".repeat(100)
        );
        let list = parse_track_list(chunk(long.as_bytes()), &Limits::default()).unwrap();
        let shown = list.problems[0].to_string();
        assert!(
            shown.ends_with("…, not a string; read as its JSON text"),
            "{shown}"
        );
        assert!(shown.len() < 150, "{shown}");
        // A message is one line, whatever whitespace the JSON holds; the value is kept as is.
        let json = "{\"tracks\": [{\"track_id\": 1, \"name\": [1,\n\"h4mk: error: x\"], \"kind\": \"k\", \"codec\": \"c\", \"sample_rate\": 4294967296}]}";
        let list = parse_track_list(chunk(json.as_bytes()), &Limits::default()).unwrap();
        assert_eq!(
            list.problems[0].to_string(),
            "entry 0 of the track list has \"name\": [1,\\n\"h4mk: error: x\"], not a string; read as its JSON text"
        );
        assert!(
            matches!(&list.problems[0], TrackProblem::OffType { written, .. } if written.contains('\n'))
        );
        assert_eq!(
            list.problems[1].to_string(),
            "entry 0 of the track list has \"sample_rate\": 4294967296, not an integer in 0..=4294967295; read as 0"
        );
    }

    #[test]
    fn errors_name_the_chunk() {
        check(
            r#"{"tracks": [{"name": "a", "kind": "k", "codec": "c"}]}"#,
            Err("TRAK chunk at offset 16: missing field `track_id` at line 1 column 52 (byte 79 of the file)".into()),
        );
        check(
            r#"{"tracks": [{"track_id": 70000, "name": "a", "kind": "k", "codec": "c"}]}"#,
            Err("TRAK chunk at offset 16: invalid value: integer `70000`, expected u16 at line 1 column 30 (byte 57 of the file)".into()),
        );
        check(
            r#"{"tracks": [{"track_id": 1, "track_id": 2}]}"#,
            Err("TRAK chunk at offset 16: duplicate field `track_id` at line 1 column 38 (byte 65 of the file)".into()),
        );
        let two = r#"{"track_id": 4, "name": "a", "kind": "k", "codec": "c"}"#;
        check(
            &format!(r#"{{"tracks": [{two}, {two}]}}"#),
            Err("TRAK chunk at offset 16: track id 4 appears more than once".into()),
        );
        check("[]", Err("TRAK chunk at offset 16: invalid type: sequence, expected an object with a \"tracks\" list at line 1 column 0 (byte 28 of the file)".into()));
        check(
            "{} x",
            Err("TRAK chunk at offset 16: trailing characters at line 1 column 4 (byte 31 of the file)".into()),
        );
        check("{\"tracks\": null}", Err("TRAK chunk at offset 16: invalid type: null, expected a list of track objects at line 1 column 15 (byte 42 of the file)".into()));
    }

    /// A JSON error named its line and column only; in a track list written on one long line
    /// (as the reference writes it) the byte it names in the file is what a reader can find.
    #[test]
    fn a_json_error_names_its_byte_in_the_file() {
        // Payload from byte 28; line 3 starts at payload byte 12, and its 4th byte is bad.
        let json = "{\"tracks\":\n\n   xx}";
        let err = parse_track_list(chunk(json.as_bytes()), &Limits::default()).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("at line 3 column 4 (byte 43 of the file)"),
            "{err}"
        );
        assert_eq!(json.as_bytes()[43 - 28], b'x');
        assert_eq!(json_byte(b"ab\ncd\nef", 3, 2), 7);
        assert_eq!(json_byte(b"ab", 1, 0), 0);
        assert_eq!(json_byte(b"ab", 9, 1), 2, "a line past the end is its end");
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
