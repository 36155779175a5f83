//! The crate's one error type.
//!
//! Variants about the bytes of a block name the byte offset inside that block; the driver wraps
//! them in [`Error::InBlock`] with the block's index and timestamp.
//! [`Error::Parameter`] is the caller's fault (a bad configuration or argument), not the input's.
//! An adapter of another crate reports its own failures as [`Error::Adapter`].

use h4mk_gop::BlockKind;

/// Everything that can go wrong while encoding, decoding or rendering.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A P- or B-block came before the anchor state(s) it needs, e.g. a plan that does not start
    /// at a keyframe.
    #[error("{}-block {index} at {ts_ms} ms has no anchor state to reference", kind.letter())]
    MissingReference {
        /// The block's index in the source.
        index: usize,
        /// The block's presentation timestamp.
        ts_ms: u32,
        /// How the plan asked to decode it.
        kind: BlockKind,
    },
    /// An error inside one block, with the block it came from.
    #[error("block {index} at {ts_ms} ms")]
    InBlock {
        /// The block's index in the source.
        index: usize,
        /// The block's presentation timestamp.
        ts_ms: u32,
        /// What went wrong inside it.
        #[source]
        source: Box<Error>,
    },
    /// An error inside one block of a demuxer's plan, naming the block as the file stores it
    /// ([`Error::in_plan`]): its type, the offset of its CORE payload and its pts.
    #[error("{}-block at offset {offset} (pts {ts_ms} ms)", kind.letter())]
    AtBlock {
        /// The block's type.
        kind: BlockKind,
        /// Offset of its CORE payload in the file, as seek tables give it.
        offset: u64,
        /// Its presentation timestamp.
        ts_ms: u32,
        /// What went wrong inside it (never an [`Error::InBlock`]).
        #[source]
        source: Box<Error>,
    },
    /// [`plan_decode`](crate::plan_decode) found nothing to decode in the span asked for.
    #[error("nothing to decode{}: {why}", spaced(span))]
    NothingToDecode {
        /// The span, as words ("at 5 ms", "from 0 ms to the end"), or empty for a whole
        /// track.
        span: String,
        /// Why there is nothing.
        why: &'static str,
    },
    /// An error writing one channel of [`write_wav_channels`](crate::write_wav_channels).
    #[error("channel {channel}")]
    InChannel {
        /// The channel, from 1.
        channel: usize,
        /// What went wrong in it.
        #[source]
        source: Box<Error>,
    },
    /// The plans written as the channels of one file disagree.
    #[error("channel {channel} has {what} {value}, channel 1 has {first}")]
    ChannelMismatch {
        /// What differs.
        what: &'static str,
        /// The channel that differs from the first, from 1.
        channel: usize,
        /// Its value.
        value: u64,
        /// The first channel's.
        first: u64,
    },
    /// The container could not be read or planned.
    #[error(transparent)]
    Container(#[from] h4mk_mt::Error),
    /// No adapter is registered under this name.
    #[error("no adapter named `{name}` (known: {known})")]
    UnknownAdapter {
        /// The name asked for.
        name: String,
        /// The registered names, comma-separated.
        known: String,
    },
    /// The block source has no block with this index.
    #[error("the block source has no block {index}")]
    UnknownBlock {
        /// The index asked for.
        index: usize,
    },
    /// The block does not start with a magic the DSP adapter knows.
    #[error("unknown block format: byte 0 holds `{}`, not `DSP0` or `DSP1`", found.escape_ascii())]
    BadMagic {
        /// The first (up to) four bytes.
        found: Vec<u8>,
    },
    /// The block ends before a field it declares.
    #[error("block truncated at byte {offset}: {field} needs {needed} bytes, {remaining} left")]
    Truncated {
        /// Where the field starts.
        offset: usize,
        /// The field being read.
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the block.
        remaining: usize,
    },
    /// Bytes are left over after everything the block declares.
    #[error("{remaining} unexpected trailing bytes at byte {offset}")]
    TrailingBytes {
        /// Where the unexpected bytes start.
        offset: usize,
        /// How many there are.
        remaining: usize,
    },
    /// A header field holds a value the format does not allow.
    #[error("field {field} at byte {offset} has invalid value {value}")]
    InvalidField {
        /// Where the field starts.
        offset: usize,
        /// Its name, as in docs/ADAPTERS.md.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// The block's own kind byte disagrees with how the plan asked to decode it.
    #[error(
        "block kind byte {found:#04x} at byte {offset} does not match the plan's {}-block",
        expected.letter()
    )]
    KindMismatch {
        /// Where the kind byte is.
        offset: usize,
        /// How the plan asked to decode the block.
        expected: BlockKind,
        /// The byte found.
        found: u8,
    },
    /// A bin index past the end of the spectrum.
    #[error("bin {bin} at byte {offset} is out of range (max {max})")]
    BinOutOfRange {
        /// Where the bin entry starts.
        offset: usize,
        /// The bin index.
        bin: u64,
        /// The largest valid bin index.
        max: u64,
    },
    /// A bin listed twice in one DSP0 block.
    #[error("bin {bin} at byte {offset} is listed twice")]
    DuplicateBin {
        /// Where the second entry starts.
        offset: usize,
        /// The bin index.
        bin: u16,
    },
    /// A value that decodes outside its range.
    #[error("malformed {field} at byte {offset}")]
    Malformed {
        /// Where the value starts.
        offset: usize,
        /// The value being read.
        field: &'static str,
    },
    /// A delta block whose parameters differ from its reference's.
    #[error("block {what} is {block}, but the blocks before it have {reference}")]
    Mismatch {
        /// The parameter that differs.
        what: &'static str,
        /// The block's value (for the format: 0 is DSP0, 1 is DSP1).
        block: u64,
        /// The reference's value.
        reference: u64,
    },
    /// A value exceeds a [`Limits`](crate::Limits) cap or the range of its type.
    #[error("limit {what}: {value} > {max}")]
    Limit {
        /// What is limited.
        what: &'static str,
        /// The value found.
        value: u64,
        /// The cap.
        max: u64,
    },
    /// Rendered segments whose stream positions, taken from their blocks, span more than
    /// twice the samples the segments hold between them: [`render_pcm`](crate::render_pcm)
    /// refuses to fill such gaps with silence, since hostile timing could make them any size
    /// (checked once every segment has come, [`crate::PcmMix::finish`]).
    #[error(
        "blocks {first_block} at {first_ms} ms to {last_block} at {last_ms} ms span {span} samples, \
         more than twice the {held} they render: their timing leaves gaps"
    )]
    TimingGaps {
        /// Index of the block whose segment starts the span.
        first_block: usize,
        /// Its presentation timestamp.
        first_ms: u32,
        /// Index of the block whose segment ends the span.
        last_block: usize,
        /// Its presentation timestamp.
        last_ms: u32,
        /// Samples from the start of the span to its end.
        span: u64,
        /// Samples the segments hold, all together.
        held: u64,
    },
    /// A sample to encode is NaN or infinite.
    #[error("sample {index} is not a finite number")]
    NonFiniteSample {
        /// Its index in the signal.
        index: usize,
    },
    /// The caller passed an invalid configuration or argument.
    #[error("invalid parameter: {0}")]
    Parameter(&'static str),
    /// An encoder configuration whose first block would span less than 1 ms at the signal's
    /// sample rate: its timestamp could not tell it from the next block's.
    #[error(
        "a block of {frames_per_block} frames spans {first_block_samples} samples at first, \
         less than 1 ms at {sample_rate} Hz; at most {max_rate} Hz with these settings"
    )]
    BlockUnderOneMs {
        /// Frames per block of the configuration.
        frames_per_block: usize,
        /// Samples the first block owns.
        first_block_samples: usize,
        /// The signal's sample rate.
        sample_rate: u32,
        /// The highest sample rate these settings can encode.
        max_rate: u64,
    },
    /// Reading or writing a WAV file failed.
    #[error("wav error")]
    Wav(#[from] hound::Error),
    /// A WAV file's header is malformed: `offset` is where in the file, the start of the chunk
    /// at fault (`fmt `, or the chunk header that could not be read).
    #[error("WAV header at byte {offset}")]
    WavHeader {
        /// Offset in the file.
        offset: u64,
        /// What is wrong there.
        #[source]
        source: hound::Error,
    },
    /// A WAV file in a format not read here (A-law, ADPCM, RF64): the message names it.
    #[error("{0}")]
    WavUnsupported(&'static str),
    /// A WAV file that ends inside its data chunk.
    #[error(
        "the WAV data chunk at offset {offset} declares {declared} bytes, but the file ends after {present} of them"
    )]
    WavTruncated {
        /// Offset of the data chunk's header in the file.
        offset: u64,
        /// The bytes its length field declares.
        declared: u64,
        /// The bytes that follow its header.
        present: u64,
    },
    /// Writing output failed.
    #[error("i/o error")]
    Io(#[from] std::io::Error),
    /// An adapter's own error, for adapters outside this crate (a model's runtime, its
    /// weights): shown as its message, inside [`Error::InBlock`] like any block error.
    #[error("{0}")]
    Adapter(Box<dyn std::error::Error + Send + Sync>),
}

/// `words` after a space, or nothing.
fn spaced(words: &str) -> String {
    if words.is_empty() {
        String::new()
    } else {
        format!(" {words}")
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An adapter's own error ([`Error::Adapter`]), from a message or from an error of the
    /// adapter's crate.
    pub fn adapter(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Adapter(e.into())
    }

    /// The error inside [`Error::InBlock`] wrappers, or `self`.
    pub fn innermost(&self) -> &Error {
        match self {
            Error::InBlock { source, .. } => source.innermost(),
            other => other,
        }
    }

    /// The error of decoding `steps` (a demuxer's plan), naming a failing block as the file
    /// stores it ([`Error::AtBlock`]) rather than by its place in the plan.
    pub fn in_plan(self, steps: &[h4mk_mt::DecodeStep<'_>]) -> Error {
        let Error::InBlock { index, .. } = &self else {
            return self;
        };
        let Some(step) = steps.get(*index) else {
            return self;
        };
        Error::AtBlock {
            kind: step.block.kind,
            offset: step.block.offset,
            ts_ms: step.block.ts_ms,
            source: Box::new(self.into_innermost()),
        }
    }

    fn into_innermost(self) -> Error {
        match self {
            Error::InBlock { source, .. } => source.into_innermost(),
            other => other,
        }
    }
}
