//! Report types for `--json` output: the CLI's own serde types, so the library types stay free
//! of serialisation and the JSON shape is a deliberate contract.
//!
//! Every report names its input by file name only, never by absolute path, and holds nothing
//! that changes from run to run (no timings), so reports can be compared and snapshotted.

use std::collections::BTreeMap;

use serde::Serialize;

/// Tags of chunks `info` counts apart, besides those the library reads.
pub const MAX_OTHER_TAGS: usize = 100;

/// One problem found in a file.
#[derive(Debug, Serialize)]
pub struct Problem {
    /// Which check found it: `"read"` (the file could not be read: among several files
    /// verified), `"header"` (the file header and the room for the file CRC: a file that does
    /// not read as H4MK at all), `"crc"` (chunk framing and CRCs) or `"structure"`
    /// (everything the multi-track layer checks above the chunks).
    pub check: &'static str,
    /// Byte offset the problem is about, when it is about one place.
    pub offset: Option<u64>,
    /// What is wrong.
    pub message: String,
}

/// The result of `h4mk verify`.
#[derive(Debug, Serialize)]
pub struct VerifyReport {
    /// The file's name.
    pub file: String,
    /// File size in bytes.
    pub size: u64,
    /// True when every check passed.
    pub ok: bool,
    /// Chunks whose framing and CRC are intact.
    pub intact_chunks: u64,
    /// The file CRC stored in the footer.
    pub stored_file_crc: Option<u32>,
    /// The file CRC computed over the bytes, when the walk reached the footer.
    pub computed_file_crc: Option<u32>,
    /// Tracks in the track list, when it could be read.
    pub tracks: Option<usize>,
    /// How the seek index was found, or why it was rebuilt, when the file could be opened.
    pub index: Option<String>,
    /// Every problem (only the first without `--lenient`): CRC problems first, then structure
    /// problems, each group in file order, each with the offset it is about.
    pub problems: Vec<Problem>,
    /// Structure problems found past the verifier's cap (`Limits::max_problems`): counted,
    /// not listed. Left out of the JSON when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted_problems: u64,
}

impl VerifyReport {
    /// The report of `file` before anything is read: nothing checked, nothing sound.
    pub fn unread(file: String) -> Self {
        VerifyReport {
            file,
            size: 0,
            ok: false,
            intact_chunks: 0,
            stored_file_crc: None,
            computed_file_crc: None,
            tracks: None,
            index: None,
            problems: Vec::new(),
            omitted_problems: 0,
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The result of `h4mk info`.
#[derive(Debug, Serialize)]
pub struct InfoReport {
    /// The file's name.
    pub file: String,
    /// File size in bytes.
    pub size: u64,
    /// The 16-byte file header.
    pub header: HeaderReport,
    /// How the seek index was found.
    pub index: IndexReport,
    /// Every track of the track list, in its order.
    pub tracks: Vec<TrackReport>,
    /// The sidecars present, in file order.
    pub sidecars: Vec<SidecarReport>,
    /// Chunk count per tag, tags sorted: every tag this crate reads, and the first
    /// [`MAX_OTHER_TAGS`] other tags met.
    pub chunks: BTreeMap<String, u64>,
    /// Chunks of other tags past those: a file of a million made-up tags would make a list
    /// as long as the file.
    pub chunks_of_unlisted_tags: u64,
    /// CORE blocks in the file, of every track.
    pub blocks: u64,
    /// What reads fine but departs from what the reference writes (see `h4mk verify`), and
    /// where a file cut short stops.
    pub warnings: Vec<String>,
}

/// The fields of the file header.
#[derive(Debug, Serialize)]
pub struct HeaderReport {
    /// Format version.
    pub version: u8,
    /// Header flags.
    pub flags: u8,
    /// The reserved u16.
    pub reserved: u16,
    /// Header timestamp, Unix milliseconds (0 in files the reference writes).
    pub timestamp_ms: u64,
}

/// How the reader came by the seek index.
#[derive(Debug, Serialize)]
pub struct IndexReport {
    /// `"locator"` (through the XLOC chunk), `"trailing"` (found at the end of the file) or
    /// `"rebuilt"` (by a full scan, because the stored index could not be used).
    pub how: &'static str,
    /// Offset of the XLOC chunk, for `"locator"`.
    pub locator_offset: Option<u64>,
    /// Why the stored index was not used, for `"rebuilt"`.
    pub reason: Option<String>,
}

/// One track: its track-list entry and what its blocks hold.
#[derive(Debug, Serialize)]
pub struct TrackReport {
    /// Track id.
    pub track_id: u16,
    /// Display name.
    pub name: String,
    /// Kind of content.
    pub kind: String,
    /// Codec name.
    pub codec: String,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Channel count.
    pub channels: u32,
    /// Free-text note.
    pub note: String,
    /// Blocks of the track.
    pub blocks: u64,
    /// Its I-blocks.
    pub keyframes: u64,
    /// Its P-blocks.
    pub predictive: u64,
    /// Its B-blocks.
    pub bidirectional: u64,
    /// Pts of its first block.
    pub first_pts_ms: Option<u32>,
    /// Pts of its last block.
    pub last_pts_ms: Option<u32>,
    /// Last pts minus first pts: the time its blocks start over, not its duration (the
    /// container does not say how long the last block lasts).
    pub pts_span_ms: Option<u32>,
    /// Opaque bytes of all its blocks (routing headers not counted).
    pub opaque_bytes: u64,
    /// Entries of its seek table in the index.
    pub seek_entries: usize,
}

/// One sidecar chunk.
#[derive(Debug, Serialize)]
pub struct SidecarReport {
    /// Its tag: META, SAFE, VERI or NOTE.
    pub tag: String,
    /// Payload size in bytes.
    pub size: u64,
    /// The payload as text, when it is UTF-8 and short.
    pub text: Option<String>,
}

/// The result of `h4mk list`.
#[derive(Debug, Serialize)]
pub struct ListReport {
    /// The file's name.
    pub file: String,
    /// The track listed, or `None` for every track.
    pub track: Option<u16>,
    /// The blocks, in file order.
    pub blocks: Vec<BlockReport>,
    /// The warnings written to standard error (blocks of undeclared tracks, a file cut short),
    /// left out when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One block.
#[derive(Debug, Serialize)]
pub struct BlockReport {
    /// Offset of the CORE payload (as seek tables store it).
    pub offset: u64,
    /// Its track.
    pub track: u16,
    /// Presentation timestamp in milliseconds.
    pub pts_ms: u32,
    /// `I`, `P` or `B`.
    #[serde(rename = "type")]
    pub kind: char,
    /// Size of the opaque model bytes.
    pub size: usize,
}

/// The result of `h4mk chain` and `h4mk range`.
#[derive(Debug, Serialize)]
pub struct PlanReport {
    /// The file's name.
    pub file: String,
    /// The track planned.
    pub track: u16,
    /// The time shown, for `chain`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t_ms: Option<u32>,
    /// The first time presented, for `range`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_ms: Option<u32>,
    /// The last time presented, for `range`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_ms: Option<u32>,
    /// The blocks to decode, in decode order.
    pub steps: Vec<StepReport>,
    /// Why there is nothing to decode, when `steps` is empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub empty: Option<String>,
    /// The warnings written to standard error (an index rebuilt by a scan, where the scan
    /// stopped), left out when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One step of a decode plan.
#[derive(Debug, Serialize)]
pub struct StepReport {
    /// How the block is decoded: `I`, `P` or `B`.
    #[serde(rename = "type")]
    pub kind: char,
    /// Offset of the block's CORE payload.
    pub offset: u64,
    /// Its pts.
    pub pts_ms: u32,
    /// Size of its opaque bytes.
    pub size: usize,
}

/// The result of `h4mk extract`.
#[derive(Debug, Serialize)]
pub struct ExtractReport {
    /// The input file's name.
    pub file: String,
    /// The track extracted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track: Option<u16>,
    /// The sidecar extracted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sidecar: Option<String>,
    /// The output file or folder's name.
    pub output: String,
    /// Blocks written (1 for a sidecar).
    pub items: u64,
    /// Bytes of content written (length prefixes not counted).
    pub bytes: u64,
    /// The warnings written to standard error, left out when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The result of `h4mk build` and `h4mk remux`.
#[derive(Debug, Serialize)]
pub struct BuildReport {
    /// The output file's name.
    pub file: String,
    /// Its size in bytes.
    pub size: u64,
    /// Blocks written.
    pub blocks: u64,
    /// Per track, in track-list order.
    pub tracks: Vec<BuiltTrack>,
    /// Offset of the first index chunk.
    pub index_offset: u64,
    /// Offset of the XLOC locator, when `--locator` asked for one.
    pub locator_offset: Option<u64>,
    /// The most blocks the muxer held back at once, waiting for their place in the file.
    pub peak_held_blocks: usize,
    /// `h4mk remux --start-at-zero`: how much earlier every block is than in its input, in
    /// milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shifted_ms: Option<u32>,
    /// The warnings written to standard error, left out when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// What `h4mk build` or `h4mk remux` wrote for one track.
#[derive(Debug, Serialize)]
pub struct BuiltTrack {
    /// The track.
    pub track_id: u16,
    /// Its blocks.
    pub blocks: u64,
    /// Its I-blocks.
    pub keyframes: u64,
}

/// The result of `h4mk decode`.
#[derive(Debug, Serialize)]
pub struct DecodeReport {
    /// The container's name.
    pub file: String,
    /// The adapter that decoded.
    pub adapter: String,
    /// The track decoded (the first, when there are several).
    pub track: u16,
    /// Every track decoded, in channel order.
    pub tracks: Vec<u16>,
    /// The time shown, for `--at-ms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u32>,
    /// The first time presented, for a range (0 for the whole track).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_ms: Option<u32>,
    /// The last time presented, for a range of blocks (the last pts for the whole track); for
    /// an audio range, where the output ends (not included): B, or, open to the end, where
    /// the samples end, rounded up to the millisecond.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_ms: Option<u32>,
    /// Blocks in the decode plan.
    pub steps: usize,
    /// Blocks whose output was written.
    pub presented: usize,
    /// The output file's name.
    pub output: String,
    /// Bytes written.
    pub bytes: u64,
    /// Samples per second, for audio.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u32>,
    /// Channels written (one per track), for audio.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<usize>,
    /// Samples written in each channel, for audio.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples: Option<u64>,
    /// Stream position of the first sample written, for audio (0 from the start of the track).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_sample: Option<u64>,
    /// Samples past full scale, clipped to 16 bits, for audio (of every channel; none in float).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clipped: Option<u64>,
    /// How the samples were written, for audio: `s16` or `f32`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_format: Option<&'static str>,
    /// The warnings written to standard error (an index rebuilt by a scan, a damaged block
    /// before the time asked for, clipping), left out when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The result of `h4mk encode`.
#[derive(Debug, Serialize)]
pub struct EncodeReport {
    /// The input WAV file's name.
    pub input: String,
    /// The container written.
    pub file: String,
    /// The adapter that encoded.
    pub adapter: String,
    /// The track written (the first, with `--split-channels`).
    pub track_id: u16,
    /// Every track written: one, or one per channel.
    pub tracks: Vec<u16>,
    /// Its codec, as the track list names it.
    pub codec: String,
    /// Samples per second.
    pub sample_rate: u32,
    /// Samples encoded in each track (frames of the input).
    pub samples: u64,
    /// The signal's duration in milliseconds, rounded down.
    pub duration_ms: u64,
    /// Blocks written, in all tracks.
    pub blocks: u64,
    /// Their I-blocks.
    pub keyframes: u64,
    /// Their B-blocks.
    pub bidirectional: u64,
    /// Pts of the last block.
    pub last_pts_ms: u32,
    /// Opaque bytes of all blocks.
    pub opaque_bytes: u64,
    /// Size of the container in bytes.
    pub size: u64,
    /// The encoder settings used.
    pub encoder: h4mk_adapters::EncoderConfig,
    /// Offset of the XLOC locator, when `--locator` asked for one.
    pub locator_offset: Option<u64>,
    /// The warnings written to standard error, left out when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}
