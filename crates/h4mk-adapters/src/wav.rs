//! WAV in and out, over `Read` and `Write` (no file-system access), using `hound`.

use std::cell::Cell;
use std::io::{self, Cursor, Read, Write};
use std::rc::Rc;

use crate::error::{Error, Result};
use crate::pcm::{Pcm, sample_to_i16_clipping};

/// The most samples reserved up front from a count a WAV header declares; beyond it, storage
/// grows as samples actually arrive.
const MAX_INITIAL_CAPACITY: usize = 1 << 16;

/// The most bytes of a `fmt ` chunk read (`WAVE_FORMAT_EXTENSIBLE` takes 40).
const MAX_FMT_LEN: u32 = 1 << 10;

/// Data chunk lengths from this one up are read as an upper bound, not as a promise: writers
/// that cannot seek back to their header leave such a placeholder there (sox `0x7FFFF000`,
/// arecord `0x80000000`, ffmpeg `0xFFFFFFFF`), and the samples end where the stream does.
pub const STREAMED_LENGTHS_FROM: u32 = 0x7FFF_F000;

/// Reads a WAV file (integer PCM of 8 to 32 bits, or 32- or 64-bit float, any number of
/// channels) into mono `f32` by averaging the channels.
///
/// `WAVE_FORMAT_EXTENSIBLE` samples narrower than their containers (24 bits in 32) are read
/// at the container's width, exactly; 64-bit float samples (what `scipy.io.wavfile` writes
/// of `float64` arrays) are rounded to `f32`, as every sample ends up. A data chunk is read
/// in whole frames: a partial frame at its end is left out, as ffmpeg does.
///
/// A data chunk whose length is `0xFFFFFFFF`, as ffmpeg leaves it writing to a pipe, runs to
/// the end of the stream, up to `u32::MAX` bytes (the most a WAV header can state; a longer
/// stream is refused, not cut short). A length of 2 GiB less 4 KiB or more
/// ([`STREAMED_LENGTHS_FROM`]: sox leaves `0x7FFFF000` writing to a pipe, arecord
/// `0x80000000`) is taken as at most that many bytes: the samples may end before it, where
/// the stream does. A shorter length that the file does not hold is a file cut short, an
/// error.
///
/// This holds every sample; [`WavStream`] reads them a piece at a time.
pub fn read_wav<R: Read>(reader: R) -> Result<Pcm> {
    let mut wav = WavStream::new(reader)?;
    let declared = wav.declared_samples().unwrap_or(0);
    let mut samples = Vec::with_capacity((declared as usize).min(MAX_INITIAL_CAPACITY));
    while wav.read(&mut samples, MAX_INITIAL_CAPACITY)? > 0 {}
    Ok(Pcm::new(wav.sample_rate(), samples))
}

/// A WAV file read as it arrives, a piece of mono samples at a time, in memory that does not
/// grow with the file: what [`read_wav`] reads, and the same samples, however it is cut.
///
/// ```
/// use h4mk_adapters::{Pcm, WavStream, read_wav, write_wav};
///
/// let mut file = Vec::new();
/// write_wav(&mut file, &Pcm::new(8_000, vec![0.25; 1_000]))?;
/// let mut wav = WavStream::new(&file[..])?;
/// assert_eq!((wav.sample_rate(), wav.declared_samples()), (8_000, Some(1_000)));
/// let mut samples = Vec::new();
/// while wav.read(&mut samples, 300)? > 0 {}
/// assert_eq!(samples, read_wav(&file[..])?.samples);
/// # Ok::<(), h4mk_adapters::Error>(())
/// ```
pub struct WavStream<R: Read> {
    /// `None` once the samples have ended.
    wav: Option<hound::WavReader<Source<R>>>,
    data: DataChunk,
    sample_rate: u32,
    channels: usize,
    declared: Option<u64>,
    /// The factor from an integer sample to `-1.0..1.0`; `None` for float samples.
    int_scale: Option<f32>,
    /// Where a data chunk after the one read starts, found once the samples have ended.
    later_data: Option<u64>,
}

impl<R: Read> std::fmt::Debug for WavStream<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavStream")
            .field("sample_rate", &self.sample_rate)
            .field("channels", &self.channels)
            .field("data_offset", &self.data.offset)
            .field("ended", &self.wav.is_none())
            .finish_non_exhaustive()
    }
}

impl<R: Read> WavStream<R> {
    /// Reads the header, up to the first sample.
    pub fn new(reader: R) -> Result<Self> {
        Self::with_stream_cap(reader, u64::from(u32::MAX))
    }

    /// [`WavStream::new`], with a data chunk of unknown length capped at `cap` bytes.
    fn with_stream_cap(reader: R, cap: u64) -> Result<Self> {
        let (stream, data) = fmt_and_data(reader, cap)?;
        // `hound` reads only the `fmt ` chunk here: the header put before the samples is ours.
        let fmt_at = |source| Error::WavHeader {
            offset: data.fmt_offset,
            source,
        };
        let wav = hound::WavReader::new(stream).map_err(fmt_at)?;
        let spec = wav.spec();
        let channels = usize::from(spec.channels);
        if channels == 0 {
            return Err(fmt_at(hound::Error::FormatError("zero channels")));
        }
        let int_scale = match spec.sample_format {
            hound::SampleFormat::Float => None,
            hound::SampleFormat::Int => {
                Some(1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32)
            }
        };
        let declared = data
            .streamed
            .is_none()
            .then(|| u64::from(wav.len()) / channels as u64);
        Ok(WavStream {
            declared,
            wav: Some(wav),
            data,
            sample_rate: spec.sample_rate,
            channels,
            int_scale,
            later_data: None,
        })
    }

    /// Where a second data chunk starts, once the samples have ended: its samples are not
    /// read (only the first data chunk's are, as other readers do), and a caller may say so.
    /// The chunks after a data chunk of declared length are read for it, to the end of the
    /// stream; `None` too when the data chunk's length was left unknown.
    pub fn later_data_chunk(&self) -> Option<u64> {
        self.later_data
    }

    /// The sample rate, in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The mono samples (frames) the data chunk declares; `None` when its length was left
    /// unknown and the samples run to the end of the stream.
    pub fn declared_samples(&self) -> Option<u64> {
        self.declared
    }

    /// Where the data chunk's last whole frame ends as its header states (the offset just past
    /// it), `None` when its length was left unknown: a file shorter than this is cut short. A
    /// partial frame it declares past that is left out whether or not the file holds it, as
    /// a stream that ends there is read (a file said "cut short" where a pipe was read).
    pub fn declared_end(&self) -> Option<u64> {
        self.data
            .streamed
            .is_none()
            .then(|| self.data.offset + 8 + self.data.whole)
    }

    /// The number of channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Appends up to `max` mono samples to `out` (each frame's channels averaged); returns
    /// how many, 0 once they have ended (or when `max` is 0).
    pub fn read(&mut self, out: &mut Vec<f32>, max: usize) -> Result<usize> {
        self.read_into(Frames::Mixed(out), max)
    }

    /// Appends up to `max` frames to `out`, channel `c` of each to `out[c]` (`out` holds one
    /// `Vec` per channel, [`WavStream::channels`]); returns how many frames, 0 once they have
    /// ended (or when `max` is 0).
    pub fn read_channels(&mut self, out: &mut [Vec<f32>], max: usize) -> Result<usize> {
        if out.len() != self.channels {
            return Err(Error::Parameter("one Vec per channel of the WAV file"));
        }
        self.read_into(Frames::Split(out), max)
    }

    fn read_into(&mut self, mut out: Frames<'_>, max: usize) -> Result<usize> {
        let Some(wav) = self.wav.as_mut() else {
            return Ok(0);
        };
        let before = out.frames();
        let stop = match self.int_scale {
            None => read_frames(wav, self.channels, max, &mut out, |s: f32| s),
            Some(scale) => {
                read_frames(wav, self.channels, max, &mut out, |s: i32| s as f32 * scale)
            }
        };
        let read = out.frames() - before;
        match stop {
            Stop::Full => return Ok(read),
            Stop::End => {}
            // The end of a stream of unknown length, maybe inside a frame, left out.
            Stop::Failed(hound::Error::IoError(_))
                if self.data.streamed.is_some() && self.data.delivered.ended.get() => {}
            Stop::Failed(e) => return Err(self.data.error(e)),
        }
        match (self.wav.take(), self.data.streamed) {
            (Some(wav), Some(cap)) if self.data.past_cap > 0 => {
                // The samples stopped at the cap: one more whole frame tells a stream too long.
                let mut rest = wav.into_inner();
                let mut more = Vec::new();
                (&mut rest).take(self.data.frame).read_to_end(&mut more)?;
                if more.len() as u64 == self.data.frame {
                    return Err(Error::Limit {
                        what: "bytes of streamed WAV data in whole frames, counted to a frame past the cap",
                        value: cap + self.data.past_cap,
                        max: cap,
                    });
                }
            }
            // A second data chunk was ignored without a word (an adversarial review): the
            // chunks after this one are read for it. A read that fails there leaves it unsaid.
            (Some(wav), None) => {
                let (_, samples) = wav.into_inner().into_inner();
                let rest = samples.inner.inner;
                self.later_data = find_later_data(rest, &self.data).ok().flatten();
            }
            _ => {}
        }
        Ok(read)
    }
}

/// The least common multiple of two numbers of at most 16 bits each.
fn lcm(a: u64, b: u64) -> u64 {
    let (mut x, mut y) = (a, b);
    while y != 0 {
        (x, y) = (y, x % y);
    }
    a / x.max(1) * b
}

/// Why [`read_frames`] stopped.
enum Stop {
    /// It read as many frames as asked.
    Full,
    /// The data chunk ended (a frame it cut short is left out).
    End,
    /// A sample could not be read.
    Failed(hound::Error),
}

/// Where [`read_frames`] puts whole frames.
enum Frames<'a> {
    /// Each frame's average.
    Mixed(&'a mut Vec<f32>),
    /// Channel `c` of each frame into the `c`-th `Vec`.
    Split(&'a mut [Vec<f32>]),
}

impl Frames<'_> {
    /// Frames held so far.
    fn frames(&self) -> usize {
        match self {
            Frames::Mixed(out) => out.len(),
            Frames::Split(out) => out.first().map_or(0, Vec::len),
        }
    }

    fn push(&mut self, frame: &[f32]) {
        match self {
            Frames::Mixed(out) => {
                // Summed in channel order from +0.0, as the average always was.
                let sum = frame.iter().fold(0.0f32, |a, &b| a + b);
                out.push(sum / frame.len() as f32);
            }
            Frames::Split(out) => {
                for (channel, &s) in out.iter_mut().zip(frame) {
                    channel.push(s);
                }
            }
        }
    }
}

/// Reads up to `max` frames of `channels` samples of type `T` from `wav`, as `f32`, into
/// `out`; a frame cut short is left out.
fn read_frames<T: hound::Sample, S: Read>(
    wav: &mut hound::WavReader<S>,
    channels: usize,
    max: usize,
    out: &mut Frames<'_>,
    to_f32: impl Fn(T) -> f32,
) -> Stop {
    let mut samples = wav.samples::<T>();
    let mut frame = Vec::with_capacity(channels);
    for _ in 0..max {
        frame.clear();
        for _ in 0..channels {
            match samples.next() {
                Some(Ok(s)) => frame.push(to_f32(s)),
                Some(Err(e)) => return Stop::Failed(e),
                None => return Stop::End,
            }
        }
        out.push(&frame);
    }
    Stop::Full
}

/// Reads the chunks after a data chunk of declared length (`rest`: what its samples left of
/// the stream), and returns where the first data chunk among them starts. Chunks are stepped
/// over by their lengths, each with its pad byte; a stream that ends first has none.
fn find_later_data<R: Read>(mut rest: io::Take<R>, data: &DataChunk) -> io::Result<Option<u64>> {
    io::copy(&mut rest, &mut io::sink())?;
    let mut reader = rest.into_inner();
    // A partial frame the samples left out, and the pad byte of an odd length.
    let pad = data.len % 2;
    let left = data.len - data.whole + pad;
    if io::copy(&mut (&mut reader).take(left), &mut io::sink())? < left {
        return Ok(None);
    }
    let mut at = data.offset + 8 + data.len + pad;
    loop {
        let mut header = [0u8; 8];
        match reader.read_exact(&mut header) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            read => read?,
        }
        let [i0, i1, i2, i3, l0, l1, l2, l3] = header;
        if &[i0, i1, i2, i3] == b"data" {
            return Ok(Some(at));
        }
        let len = u64::from(u32::from_le_bytes([l0, l1, l2, l3]));
        let skip = len + len % 2;
        if io::copy(&mut (&mut reader).take(skip), &mut io::sink())? < skip {
            return Ok(None);
        }
        at += 8 + skip;
    }
}

/// The stream handed to `hound`: a canonical header (RIFF, `fmt `, `data`), then the data
/// chunk's bytes, counted as they are in the file, and narrowed when they are 64-bit floats.
type Source<R> = io::Chain<Cursor<Vec<u8>>, Narrowed<Counted<io::Take<R>>>>;

/// The `fmt ` and `data` chunks of a RIFF WAVE stream, as a stream that holds only those two.
///
/// RIFF pads a chunk of odd length with a byte its length does not count, and `hound` 3.5
/// does not step over it, so a file with an odd-sized `LIST` or `id3 ` chunk before its
/// samples would fail to read. Here every other chunk is skipped with its pad byte; a writer
/// that left the pad out is tolerated, as most readers do: a non-zero byte where the pad
/// should be is taken as the start of the next chunk.
///
/// A data chunk of unknown length (`0xFFFFFFFF`) is declared to `hound` as the most whole
/// frames that fit `cap` bytes, and read up to one frame past them, so that a longer stream
/// can be told; one with a placeholder length ([`STREAMED_LENGTHS_FROM`]) as its whole
/// frames, which the stream may end before. Any data chunk is declared to `hound` in whole
/// frames (it refuses a partial one), and 64-bit floats as the 32-bit floats they are read as
/// (it reads no wider float).
fn fmt_and_data<R: Read>(mut reader: R, cap: u64) -> Result<(Source<R>, DataChunk)> {
    let malformed = |offset, what| Error::WavHeader {
        offset,
        source: hound::Error::FormatError(what),
    };
    let mut head = [0u8; 12];
    reader
        .read_exact(&mut head)
        .map_err(|_| malformed(0, "not a RIFF WAVE file"))?;
    if matches!(head.get(..4), Some(b"RF64" | b"BW64")) && head.get(8..) == Some(b"WAVE") {
        return Err(Error::WavUnsupported(
            "RF64 and BW64 files (WAV past 4 GiB) are not read; only RIFF WAVE is",
        ));
    }
    if head.get(..4) != Some(b"RIFF") || head.get(8..) != Some(b"WAVE") {
        return Err(malformed(0, "not a RIFF WAVE file"));
    }
    // The `fmt ` chunk's body, and the offset of its header.
    let mut fmt: Option<(Vec<u8>, u64)> = None;
    // The first byte of the next chunk, read where a pad byte should have been.
    let mut carried: Option<u8> = None;
    // Offset of the next byte to read.
    let mut at: u64 = 12;
    loop {
        let mut header = [0u8; 8];
        let header_at = at - u64::from(carried.is_some());
        at = header_at + 8;
        let rest = match carried.take() {
            Some(byte) => {
                header[0] = byte;
                &mut header[1..]
            }
            None => &mut header[..],
        };
        reader
            .read_exact(rest)
            .map_err(|_| malformed(header_at, "no data chunk"))?;
        let [i0, i1, i2, i3, l0, l1, l2, l3] = header;
        let len = u32::from_le_bytes([l0, l1, l2, l3]);
        match &[i0, i1, i2, i3] {
            b"data" => {
                let (mut fmt, fmt_offset) =
                    fmt.ok_or_else(|| malformed(header_at, "no fmt chunk before the data chunk"))?;
                if let Some(what) = unread_format(&fmt) {
                    return Err(Error::WavUnsupported(what));
                }
                whole_containers(&mut fmt);
                let frame = fmt_u16(&fmt, 12).map_or(1, u64::from);
                // A writer that could not seek back to the header (`ffmpeg ... -f wav -`)
                // leaves the length at its largest: the samples run to the end, in whole
                // frames.
                // The cap is rounded to whole frames, and to whole frames as `hound` sizes
                // them (the channels times the frame over the channels, which a malformed
                // header can make differ), or `hound` refuses it.
                let channels = fmt_u16(&fmt, 2).map_or(0, u64::from);
                let sample = frame.checked_div(channels).unwrap_or(1).max(1);
                let unit = lcm(frame.max(1), sample * channels.max(1));
                let whole = |bytes: u64| bytes - bytes % unit;
                // After the frame is read: `unit` counts the file's bytes.
                let narrow = narrow_f64(&mut fmt).map_err(|what| malformed(fmt_offset, what))?;
                // ffmpeg reads a length of 0 as unknown too, but then the chunks after an empty
                // data chunk (a LIST, say) would be read as samples: 0 is empty, as sox reads it.
                let unknown = len == u32::MAX;
                let streamed = if unknown {
                    Some(whole(cap.min(u64::from(u32::MAX))))
                } else {
                    (len >= STREAMED_LENGTHS_FROM).then(|| whole(u64::from(len)))
                };
                // In the file's bytes, then as `hound` reads them (narrowed 64-bit floats take
                // half), in whole frames of both: `unit` is a whole number of 8-byte samples
                // when they are narrowed (`narrow_f64`).
                let in_file = streamed.unwrap_or_else(|| whole(u64::from(len)));
                let declared = (in_file / narrow.factor()) as u32; // in_file <= u32::MAX
                let fmt_len = fmt.len() as u32; // at most MAX_FMT_LEN
                let fmt_pad = usize::from(fmt_len % 2 == 1);
                let riff_len = (4 + 8 + fmt_len + fmt_pad as u32 + 8).saturating_add(declared);
                let mut canonical = Vec::with_capacity(28 + fmt.len() + fmt_pad);
                canonical.extend_from_slice(b"RIFF");
                canonical.extend_from_slice(&riff_len.to_le_bytes());
                canonical.extend_from_slice(b"WAVEfmt ");
                canonical.extend_from_slice(&fmt_len.to_le_bytes());
                canonical.extend_from_slice(&fmt);
                canonical.resize(canonical.len() + fmt_pad, 0);
                canonical.extend_from_slice(b"data");
                canonical.extend_from_slice(&declared.to_le_bytes());
                // One frame past the cap tells a stream of unknown length too long.
                let past_cap = if unknown { frame } else { 0 };
                let data = DataChunk {
                    fmt_offset,
                    offset: header_at,
                    len: streamed.unwrap_or(u64::from(len)),
                    whole: in_file,
                    frame: frame / narrow.factor(),
                    streamed,
                    past_cap,
                    delivered: Rc::default(),
                };
                let counted = Counted {
                    inner: reader.take(in_file + past_cap),
                    count: Rc::clone(&data.delivered),
                };
                let samples = Narrowed::new(counted, narrow);
                return Ok((Cursor::new(canonical).chain(samples), data));
            }
            b"fmt " => {
                // The last one won, silently (an adversarial review): which describes the
                // samples is a guess, so it is not made.
                if fmt.is_some() {
                    return Err(malformed(
                        header_at,
                        "a second fmt chunk before the data chunk",
                    ));
                }
                if len > MAX_FMT_LEN {
                    return Err(malformed(header_at, "fmt chunk longer than 1 KiB"));
                }
                let mut body = vec![0u8; len as usize];
                reader
                    .read_exact(&mut body)
                    .map_err(|_| malformed(header_at, "fmt chunk cut short"))?;
                fmt = Some((body, header_at));
                at += u64::from(len);
            }
            _ => {
                let skipped = io::copy(&mut (&mut reader).take(u64::from(len)), &mut io::sink())?;
                if skipped < u64::from(len) {
                    return Err(malformed(header_at, "no data chunk"));
                }
                at += skipped;
            }
        }
        if len % 2 == 1 {
            let mut pad = [0u8; 1];
            if reader.read(&mut pad)? == 1 {
                at += 1;
                if pad[0] != 0 {
                    carried = Some(pad[0]);
                }
            }
        }
    }
}

/// Where the data chunk is, what it declares, and how many of its bytes the stream has
/// delivered so far: a read that fails short of the declared length is a file cut short.
struct DataChunk {
    /// Offset of the `fmt ` chunk's header in the file.
    fmt_offset: u64,
    /// Offset of the data chunk's header in the file.
    offset: u64,
    /// The bytes declared, or for a stream of unknown length, its cap in whole frames.
    len: u64,
    /// The bytes of its whole frames (of `len`, or of the cap), which are read.
    whole: u64,
    /// Bytes per frame, as `hound` reads them (the `fmt ` chunk's, halved for narrowed
    /// 64-bit floats).
    frame: u64,
    /// The cap, in the file's bytes of whole frames, of a data chunk whose samples may end
    /// before it: one of unknown length or with a placeholder length.
    streamed: Option<u64>,
    /// The bytes read past the cap to tell a stream too long: a frame for a data chunk of
    /// unknown length, none for a placeholder length (its samples end there).
    past_cap: u64,
    delivered: Rc<Delivered>,
}

impl DataChunk {
    /// The error for a sample read that failed: the file cut short when its source ended
    /// before the data chunk's declared length, else hound's own.
    fn error(&self, e: hound::Error) -> Error {
        let present = self.delivered.bytes.get();
        if self.streamed.is_none() && self.delivered.ended.get() && present < self.whole {
            return Error::WavTruncated {
                offset: self.offset,
                declared: self.len,
                present,
            };
        }
        Error::Wav(e)
    }
}

/// A reader that counts the bytes it delivers.
struct Counted<R> {
    inner: R,
    count: Rc<Delivered>,
}

/// What a [`Counted`] reader has delivered.
#[derive(Default)]
struct Delivered {
    bytes: Cell<u64>,
    /// Whether its source has ended: `hound` reports a read past the end only as "Failed to
    /// read enough bytes".
    ended: Cell<bool>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.bytes.set(self.count.bytes.get() + n as u64);
        if n == 0 && !buf.is_empty() {
            self.count.ended.set(true);
        }
        Ok(n)
    }
}

/// Whether a data chunk's samples are read as they are or narrowed from 64-bit floats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Narrow {
    AsTheyAre,
    F64ToF32,
}

impl Narrow {
    /// Bytes in the file for each byte `hound` reads.
    fn factor(self) -> u64 {
        match self {
            Narrow::AsTheyAre => 1,
            Narrow::F64ToF32 => 2,
        }
    }
}

/// Makes a `fmt ` body of 64-bit float samples (`WAVE_FORMAT_IEEE_FLOAT`, or
/// `WAVE_FORMAT_EXTENSIBLE` with that subformat) declare the 32-bit floats [`Narrowed`]
/// turns them into, which `hound` 3.5 reads (it refuses wider floats); says whether it did.
fn narrow_f64(fmt: &mut [u8]) -> std::result::Result<Narrow, &'static str> {
    const IEEE_FLOAT: [u8; 2] = 3u16.to_le_bytes();
    const EXTENSIBLE: [u8; 2] = 0xFFFE_u16.to_le_bytes();
    let float = match fmt.get(..2) {
        Some(tag) if tag == IEEE_FLOAT => true,
        // The subformat GUID starts with the format tag.
        Some(tag) if tag == EXTENSIBLE => fmt.get(24..26) == Some(&IEEE_FLOAT[..]),
        _ => false,
    };
    if !float || fmt_u16(fmt, 14) != Some(64) {
        return Ok(Narrow::AsTheyAre);
    }
    let channels = fmt_u16(fmt, 2).unwrap_or(0);
    if fmt_u16(fmt, 12) != channels.checked_mul(8) || channels == 0 {
        return Err("64-bit float samples whose frame is not 8 bytes a channel");
    }
    let rate = fmt
        .get(4..8)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let frame = channels * 4; // channels * 8 fitted a u16
    let put = |fmt: &mut [u8], at: usize, bytes: &[u8]| {
        if let Some(field) = fmt.get_mut(at..at + bytes.len()) {
            field.copy_from_slice(bytes);
        }
    };
    put(fmt, 8, &rate.saturating_mul(u32::from(frame)).to_le_bytes());
    put(fmt, 12, &frame.to_le_bytes());
    put(fmt, 14, &32u16.to_le_bytes());
    if fmt.get(..2) == Some(&EXTENSIBLE[..]) {
        put(fmt, 18, &32u16.to_le_bytes());
    }
    Ok(Narrow::F64ToF32)
}

/// A data chunk's bytes as `hound` reads them: as they are, or 64-bit floats rounded to
/// 32-bit ones. A partial sample at the end is left out, as `hound` leaves out a partial
/// frame.
struct Narrowed<R> {
    inner: R,
    narrow: Narrow,
    /// Bytes of a 64-bit sample read so far, before it is whole.
    partial: Vec<u8>,
    /// Narrowed bytes not yet handed out, from `ready_at` on.
    ready: Vec<u8>,
    ready_at: usize,
}

impl<R: Read> Narrowed<R> {
    fn new(inner: R, narrow: Narrow) -> Self {
        Narrowed {
            inner,
            narrow,
            partial: Vec::with_capacity(8),
            ready: Vec::new(),
            ready_at: 0,
        }
    }
}

impl<R: Read> Read for Narrowed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.narrow == Narrow::AsTheyAre {
            return self.inner.read(buf);
        }
        let mut raw = [0u8; 4096];
        while self.ready_at == self.ready.len() && !buf.is_empty() {
            let n = self.inner.read(&mut raw)?;
            if n == 0 {
                return Ok(0);
            }
            self.ready.clear();
            self.ready_at = 0;
            let mut fresh = raw.get(..n).unwrap_or_default();
            if !self.partial.is_empty() {
                let take = (8 - self.partial.len()).min(fresh.len());
                let (head, rest) = fresh.split_at(take);
                self.partial.extend_from_slice(head);
                fresh = rest;
                if let Ok(sample) = <[u8; 8]>::try_from(self.partial.as_slice()) {
                    self.ready.extend_from_slice(&narrowed(sample));
                    self.partial.clear();
                }
            }
            let mut whole = fresh.chunks_exact(8);
            for sample in &mut whole {
                if let Ok(sample) = <[u8; 8]>::try_from(sample) {
                    self.ready.extend_from_slice(&narrowed(sample));
                }
            }
            self.partial.extend_from_slice(whole.remainder());
        }
        let ready = self.ready.get(self.ready_at..).unwrap_or_default();
        let n = ready.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), ready.get(..n)) {
            to.copy_from_slice(from);
        }
        self.ready_at += n;
        Ok(n)
    }
}

/// Why a `fmt ` body's samples are not read, for the formats writers use that are not PCM or
/// float (`hound` says only "the wave format of the file is not supported"); `None` for the
/// rest, which `hound` judges.
fn unread_format(fmt: &[u8]) -> Option<&'static str> {
    // WAVE_FORMAT_EXTENSIBLE names its format in the first two bytes of its subformat.
    let format = match fmt_u16(fmt, 0)? {
        0xFFFE => fmt_u16(fmt, 24)?,
        tag => tag,
    };
    match format {
        0x0002 => Some("MS ADPCM samples are not read; only integer PCM and float are"),
        0x0006 => Some("A-law samples are not read; only integer PCM and float are"),
        0x0007 => Some("µ-law samples are not read; only integer PCM and float are"),
        0x0011 => Some("IMA ADPCM samples are not read; only integer PCM and float are"),
        0x0055 => Some("MP3 samples are not read; only integer PCM and float are"),
        _ => None,
    }
}

/// The little-endian u16 at `at` of a `fmt ` body, if it holds one there.
fn fmt_u16(fmt: &[u8], at: usize) -> Option<u16> {
    fmt.get(at..at.checked_add(2)?)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
}

/// A little-endian 64-bit float sample as the little-endian 32-bit float nearest to it.
fn narrowed(sample: [u8; 8]) -> [u8; 4] {
    (f64::from_le_bytes(sample) as f32).to_le_bytes()
}

/// Makes a `WAVE_FORMAT_EXTENSIBLE` `fmt ` body declare its samples as wide as their
/// containers (24 valid bits in 32, say).
///
/// Such samples sit in the high bits of their containers, the low ones zero, but `hound` 3.5
/// reads the low bits, which turned a 24-in-32 file into full-scale noise. Read whole, each
/// sample is exact at the container's scale.
fn whole_containers(fmt: &mut [u8]) {
    const EXTENSIBLE: [u8; 2] = 0xFFFE_u16.to_le_bytes();
    if fmt.get(..2) != Some(&EXTENSIBLE[..]) {
        return;
    }
    let container = fmt.get(14..16).map(|b| [b[0], b[1]]);
    if let (Some(container), Some(valid)) = (container, fmt.get_mut(18..20)) {
        valid.copy_from_slice(&container);
    }
}

/// The `fmt ` chunk of a PCM file of one or two channels (`WAVEFORMAT` and its bit depth),
/// and of more (`WAVEFORMATEXTENSIBLE`, which names the speakers and which readers expect past
/// two channels, as `hound` writes it).
const PCM_FMT_LEN: u32 = 16;
const EXTENSIBLE_FMT_LEN: u32 = 40;
/// A `fact` chunk: its header and the samples each channel holds.
const FACT_CHUNK_LEN: u32 = 12;

/// How [`WavWriter`] writes each sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SampleFormat {
    /// 16-bit integer PCM, clipped to full scale: what every player reads.
    #[default]
    I16,
    /// 32-bit IEEE float, as decoded: nothing is clipped or rounded.
    F32,
}

impl SampleFormat {
    /// Bytes a sample.
    const fn bytes(self) -> u32 {
        match self {
            SampleFormat::I16 => 2,
            SampleFormat::F32 => 4,
        }
    }
}

/// The most samples of `format` a WAV file whose `fmt ` chunk holds `fmt_len` bytes can hold:
/// its RIFF length (4 bytes of `WAVE`, the `fmt ` chunk, the data chunk's 8 bytes of header,
/// then the samples) is a u32, and `hound` lets it wrap silently past that.
const fn max_wav_samples(fmt_len: u32, format: SampleFormat) -> u32 {
    (u32::MAX - 4 - 8 - fmt_len - 8) / format.bytes()
}

/// `samples` as a u32, if a WAV file of `format` with a `fmt ` chunk of `fmt_len` bytes can
/// hold them.
fn wav_samples(samples: u64, fmt_len: u32, format: SampleFormat) -> Result<u32> {
    let max = max_wav_samples(fmt_len, format);
    u32::try_from(samples)
        .ok()
        .filter(|&n| n <= max)
        .ok_or(Error::Limit {
            what: "samples in a WAV file",
            value: samples,
            max: max.into(),
        })
}

/// The speakers of the first `channels` positions of `WAVEFORMATEXTENSIBLE`'s channel mask, as
/// `hound` assigns them (at most the 18 it defines).
fn channel_mask(channels: u16) -> u32 {
    (1u32 << channels.min(18)) - 1
}

/// The most channels a WAV file's header can describe with samples of `format`: its bytes a
/// frame are a u16.
const fn max_wav_channels(format: SampleFormat) -> u16 {
    (u16::MAX as u32 / format.bytes()) as u16
}

/// `KSDATAFORMAT_SUBTYPE_PCM` (integer samples) or `KSDATAFORMAT_SUBTYPE_IEEE_FLOAT`, in
/// `WAVEFORMATEXTENSIBLE`: the format tag, then a GUID tail they share.
const fn subtype(format: SampleFormat) -> [u8; 16] {
    let tag = match format {
        SampleFormat::I16 => 1,
        SampleFormat::F32 => 3,
    };
    [
        tag, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b,
        0x71,
    ]
}

/// Writes mono PCM as a 16-bit PCM WAV file, clipping to full scale.
///
/// The header is written first, with the lengths the sample count gives, then the samples a
/// piece at a time: the file is never held whole, and `writer` need not seek.
/// The bytes are those `hound`'s writer gives (which needs to seek back to patch the lengths).
pub fn write_wav<W: Write>(writer: W, pcm: &Pcm) -> Result<()> {
    let mut wav = WavWriter::new(writer, pcm.sample_rate, 1, pcm.samples.len() as u64)?;
    wav.push(&pcm.samples)?;
    wav.finish()
}

/// Writes a WAV file whose length is known before its samples come: the header at once, then
/// the samples as they are pushed (interleaved, one per channel in each frame), converted as
/// [`write_wav`] converts them to 16 bits, or as 32-bit floats ([`WavWriter::with_format`]). Neither the file nor its samples are held; a
/// writer dropped before [`WavWriter::finish`] leaves a file shorter than its header says.
///
/// ```
/// use h4mk_adapters::{WavStream, WavWriter};
///
/// // Two frames of stereo: left, right, left, right.
/// let mut file = Vec::new();
/// let mut wav = WavWriter::new(&mut file, 8_000, 2, 2)?;
/// wav.push(&[0.5, -0.5])?;
/// wav.push(&[0.25, -0.25])?;
/// wav.finish()?;
///
/// let mut channels = vec![Vec::new(); 2];
/// WavStream::new(&file[..])?.read_channels(&mut channels, 10)?;
/// assert_eq!(channels, [[0.5, 0.25], [-0.5, -0.25]]);
/// # Ok::<(), h4mk_adapters::Error>(())
/// ```
pub struct WavWriter<W> {
    writer: W,
    /// Samples still to come.
    left: u64,
    buf: Vec<u8>,
    /// Samples past 16-bit full scale, clipped to it.
    clipped: u64,
    format: SampleFormat,
}

impl<W: Write> WavWriter<W> {
    /// Writes the header of a 16-bit file of `frames` frames of `channels` samples at
    /// `sample_rate`.
    pub fn new(writer: W, sample_rate: u32, channels: u16, frames: u64) -> Result<Self> {
        Self::with_format(writer, sample_rate, channels, frames, SampleFormat::I16)
    }

    /// [`WavWriter::new`], with samples of `format`: 32-bit float keeps what a 16-bit file
    /// would clip (`WAVE_FORMAT_IEEE_FLOAT`, or `WAVEFORMATEXTENSIBLE` past two channels).
    pub fn with_format(
        mut writer: W,
        sample_rate: u32,
        channels: u16,
        frames: u64,
        format: SampleFormat,
    ) -> Result<Self> {
        if sample_rate == 0 {
            return Err(Error::Parameter(
                "a WAV file's sample rate must be positive",
            ));
        }
        if channels == 0 {
            return Err(Error::Parameter("a WAV file has at least one channel"));
        }
        // A frame's bytes are a u16 in the header.
        let max_channels = max_wav_channels(format);
        if channels > max_channels {
            return Err(Error::Limit {
                what: "channels in a WAV file",
                value: channels.into(),
                max: max_channels.into(),
            });
        }
        // The header's byte rate is a u32 too; a block can claim any rate.
        let frame_bytes = format.bytes() * u32::from(channels);
        let max_rate = u32::MAX / frame_bytes;
        if sample_rate > max_rate {
            return Err(Error::Limit {
                what: "WAV sample rate",
                value: sample_rate.into(),
                max: max_rate.into(),
            });
        }
        let extensible = channels > 2;
        // A format other than PCM states its extra bytes (none: cbSize 0), and the samples a
        // channel holds in a `fact` chunk; sox warns of a float file without them.
        let float = format == SampleFormat::F32;
        let fmt_len = match (extensible, float) {
            (true, _) => EXTENSIBLE_FMT_LEN,
            (false, false) => PCM_FMT_LEN,
            (false, true) => PCM_FMT_LEN + 2,
        };
        let fact_len = if float { FACT_CHUNK_LEN } else { 0 };
        let samples = frames.saturating_mul(channels.into());
        let data_len = format.bytes() * wav_samples(samples, fmt_len + fact_len, format)?;
        let mut header = Vec::with_capacity(80);
        header.extend_from_slice(b"RIFF");
        header.extend_from_slice(&(4 + 8 + fmt_len + fact_len + 8 + data_len).to_le_bytes());
        header.extend_from_slice(b"WAVEfmt ");
        header.extend_from_slice(&fmt_len.to_le_bytes());
        let subtype = subtype(format);
        let tag = if extensible {
            0xFFFE
        } else {
            u16::from(subtype[0]) // PCM or IEEE float
        };
        let bits = 8 * format.bytes() as u16; // 16 or 32
        header.extend_from_slice(&tag.to_le_bytes());
        header.extend_from_slice(&channels.to_le_bytes());
        header.extend_from_slice(&sample_rate.to_le_bytes());
        header.extend_from_slice(&(frame_bytes * sample_rate).to_le_bytes());
        header.extend_from_slice(&(frame_bytes as u16).to_le_bytes()); // fits: max_wav_channels
        header.extend_from_slice(&bits.to_le_bytes());
        if extensible {
            header.extend_from_slice(&22u16.to_le_bytes()); // bytes that follow
            header.extend_from_slice(&bits.to_le_bytes()); // valid bits
            header.extend_from_slice(&channel_mask(channels).to_le_bytes());
            header.extend_from_slice(&subtype);
        } else if float {
            header.extend_from_slice(&0u16.to_le_bytes()); // cbSize: no extra bytes
        }
        if float {
            header.extend_from_slice(b"fact");
            header.extend_from_slice(&4u32.to_le_bytes());
            // Frames: `samples` fits a u32 (wav_samples), and frames are no more.
            header.extend_from_slice(&(frames as u32).to_le_bytes());
        }
        header.extend_from_slice(b"data");
        header.extend_from_slice(&data_len.to_le_bytes());
        writer.write_all(&header)?;
        Ok(WavWriter {
            writer,
            left: samples,
            buf: Vec::new(),
            clipped: 0,
            format,
        })
    }

    /// Converts and writes the next samples; more than the header announced is an error.
    pub fn push(&mut self, samples: &[f32]) -> Result<()> {
        let n = samples.len() as u64;
        if n > self.left {
            return Err(Error::Parameter(
                "more samples than the WAV header announced",
            ));
        }
        self.left -= n;
        for piece in samples.chunks(WRITE_PIECE) {
            self.buf.clear();
            match self.format {
                SampleFormat::I16 => {
                    self.buf.reserve(2 * piece.len());
                    for &s in piece {
                        let (sample, clipped) = sample_to_i16_clipping(s);
                        self.buf.extend_from_slice(&sample.to_le_bytes());
                        self.clipped += u64::from(clipped);
                    }
                }
                SampleFormat::F32 => {
                    self.buf.reserve(4 * piece.len());
                    for &s in piece {
                        self.buf.extend_from_slice(&s.to_le_bytes());
                    }
                }
            }
            self.writer.write_all(&self.buf)?;
        }
        Ok(())
    }

    /// How many samples written so far were past 16-bit full scale (a decoded signal can
    /// overshoot what was encoded), and were clipped to it; none in a float file.
    pub fn clipped(&self) -> u64 {
        self.clipped
    }

    /// Flushes the file; fewer samples than the header announced is an error.
    pub fn finish(mut self) -> Result<()> {
        if self.left != 0 {
            return Err(Error::Parameter(
                "fewer samples than the WAV header announced",
            ));
        }
        self.writer.flush()?;
        Ok(())
    }
}

/// Samples converted and written at a time by [`WavWriter`].
const WRITE_PIECE: usize = 1 << 15;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_round_trips_to_16_bits() {
        let pcm = Pcm::new(8000, vec![0.0, 0.5, -0.5, 1.5, -1.0]);
        let mut file = Vec::new();
        write_wav(&mut file, &pcm).unwrap();
        let back = read_wav(&file[..]).unwrap();
        assert_eq!(back.sample_rate, 8000);
        assert_eq!(back.samples, [0.0, 0.5, -0.5, 32_767.0 / 32_768.0, -1.0]);
    }

    /// The bytes `hound`'s writer gives for `pcm`, which `write_wav` used before it wrote the
    /// header itself.
    fn written_by_hound(pcm: &Pcm) -> Vec<u8> {
        written_by_hound_in(pcm, 1)
    }

    /// The same, with `pcm`'s samples as interleaved frames of `channels`.
    fn written_by_hound_in(pcm: &Pcm, channels: u16) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels,
            sample_rate: pcm.sample_rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut buf = Cursor::new(Vec::new());
        let mut wav = hound::WavWriter::new(&mut buf, spec).unwrap();
        for s in pcm.to_i16() {
            wav.write_sample(s).unwrap();
        }
        wav.finalize().unwrap();
        buf.into_inner()
    }

    #[test]
    fn channels_are_written_as_hound_writes_them() {
        // Two as WAVEFORMAT, more as WAVEFORMATEXTENSIBLE, past the 18 speakers it names too.
        for channels in [2u16, 3, 6, 20] {
            let n = usize::from(channels) * 1000;
            let frames: Vec<f32> = (0..n).map(|i| (i % 97) as f32 / 50.0 - 1.0).collect();
            let pcm = Pcm::new(44_100, frames);
            let mut file = Vec::new();
            let mut wav = WavWriter::new(&mut file, 44_100, channels, 1000).unwrap();
            wav.push(&pcm.samples).unwrap();
            wav.finish().unwrap();
            assert!(
                file == written_by_hound_in(&pcm, channels),
                "{channels} channels"
            );
        }
        // The longest a file with the longer header holds, and one frame more.
        let most = u64::from(max_wav_samples(EXTENSIBLE_FMT_LEN, SampleFormat::I16)) / 4;
        assert!(WavWriter::new(Vec::new(), 8000, 4, most).is_ok());
        assert!(WavWriter::new(Vec::new(), 8000, 4, most + 1).is_err());
        // The byte rate counts both channels.
        let max = u32::MAX / 4;
        assert!(WavWriter::new(Vec::new(), max, 2, 0).is_ok());
        assert!(WavWriter::new(Vec::new(), max + 1, 2, 0).is_err());
        assert!(WavWriter::new(Vec::new(), 8000, 0, 0).is_err());
        // A frame's bytes must fit the header's u16: 32,767 channels, not one more.
        assert!(WavWriter::new(Vec::new(), 8000, 32_767, 0).is_ok());
        let err = WavWriter::new(Vec::new(), 8000, 32_768, 0).err().unwrap();
        assert!(
            matches!(
                err,
                Error::Limit {
                    value: 32_768,
                    max: 32_767,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn channels_read_apart_are_the_frames_a_mixed_read_averages() {
        // Three channels of 16-bit samples.
        let spec = hound::WavSpec {
            channels: 3,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut buf = Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut buf, spec).unwrap();
        let frames = 1000;
        for i in 0..frames {
            for c in 0..3i16 {
                w.write_sample((i as i16).wrapping_mul(37).wrapping_add(c * 1000))
                    .unwrap();
            }
        }
        w.finalize().unwrap();
        let file = buf.into_inner();
        let mut apart = WavStream::new(&file[..]).unwrap();
        assert_eq!(apart.channels(), 3);
        let mut out = vec![Vec::new(); 3];
        let mut total = 0;
        loop {
            let n = apart.read_channels(&mut out, 333).unwrap();
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, frames);
        assert!(out.iter().all(|c| c.len() == frames));
        assert_eq!(out[2][1], (37 + 2000) as f32 / 32_768.0);
        let mixed = read_wav(&file[..]).unwrap().samples;
        for (i, m) in mixed.iter().enumerate() {
            let sum = out.iter().fold(0.0f32, |a, c| a + c[i]);
            assert_eq!(m.to_bits(), (sum / 3.0).to_bits());
        }
        let mut wrong = vec![Vec::new(); 2];
        assert!(
            WavStream::new(&file[..])
                .unwrap()
                .read_channels(&mut wrong, 1)
                .is_err()
        );
    }

    #[test]
    fn write_wav_writes_what_hound_writes() {
        for (rate, len) in [(8000, 0), (44_100, 1), (48_000, 5), (1, WRITE_PIECE + 3)] {
            let samples = (0..len).map(|i| ((i * 7919) % 4001) as f32 / 1000.0 - 2.0);
            let pcm = Pcm::new(rate, samples.collect());
            let mut file = Vec::new();
            write_wav(&mut file, &pcm).unwrap();
            assert!(file == written_by_hound(&pcm), "{rate} Hz, {len} samples");
        }
    }

    #[test]
    fn a_rate_whose_byte_rate_does_not_fit_is_refused() {
        let mut file = Vec::new();
        let err = write_wav(&mut file, &Pcm::new(u32::MAX, vec![0.0])).unwrap_err();
        assert!(
            matches!(err, Error::Limit { what: "WAV sample rate", value, .. } if value == u64::from(u32::MAX)),
            "{err:?}"
        );
        assert!(file.is_empty());
        // Rate 0, where hound divided by zero.
        let err = write_wav(&mut file, &Pcm::new(0, vec![0.0])).unwrap_err();
        assert!(matches!(err, Error::Parameter(_)), "{err:?}");
        assert!(file.is_empty());
        write_wav(&mut file, &Pcm::new(u32::MAX / 2, vec![0.0])).unwrap();
    }

    #[test]
    fn stereo_float_is_averaged_to_mono() {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 44_100,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut buf = Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut buf, spec).unwrap();
        for s in [1.0f32, 0.0, 0.25, 0.75] {
            w.write_sample(s).unwrap();
        }
        w.finalize().unwrap();
        let pcm = read_wav(&buf.get_ref()[..]).unwrap();
        assert_eq!(pcm.samples, [0.5, 0.5]);
    }

    /// `file` (as `write_wav` writes it: RIFF header, 16-byte fmt chunk, data) with `chunk`
    /// inserted before its data chunk, and the RIFF length fixed.
    fn with_chunk_before_data(file: &[u8], chunk: &[u8]) -> Vec<u8> {
        let data_at = 12 + 8 + 16;
        assert_eq!(&file[data_at..data_at + 4], b"data");
        let mut out = [&file[..data_at], chunk, &file[data_at..]].concat();
        let riff_len = (out.len() - 8) as u32;
        out[4..8].copy_from_slice(&riff_len.to_le_bytes());
        out
    }

    #[test]
    fn odd_sized_chunks_are_skipped_with_their_pad_byte() {
        let pcm = Pcm::new(8000, vec![0.0, 0.25, -0.5, 0.75]);
        let mut file = Vec::new();
        write_wav(&mut file, &pcm).unwrap();
        let plain = read_wav(&file[..]).unwrap();
        // A LIST chunk of 5 bytes, padded to 6 as RIFF requires; the same without the pad
        // byte, as some writers leave it out; and an even-sized one.
        for chunk in [
            &b"LIST\x05\0\0\0INFOa\0"[..],
            b"LIST\x05\0\0\0INFOa",
            b"id3 \x04\0\0\0abcd",
        ] {
            let odd = with_chunk_before_data(&file, chunk);
            assert_eq!(read_wav(&odd[..]).unwrap(), plain, "{chunk:?}");
        }
        // A file that ends before its data chunk, or never had one.
        let cut = with_chunk_before_data(&file, b"LIST\xff\0\0\0INFO");
        let err = read_wav(&cut[..36 + 12]).unwrap_err();
        assert!(
            matches!(
                err,
                Error::WavHeader {
                    offset: 36,
                    source: hound::Error::FormatError("no data chunk")
                }
            ),
            "{err:?}"
        );
    }

    /// Only the first data chunk's samples are read, as other readers read them; a second one
    /// was ignored without a word (an adversarial review), and is now found once the samples
    /// end, past the chunks between, so that the caller can say so.
    #[test]
    fn a_second_data_chunk_is_found_after_the_samples() {
        let pcm = Pcm::new(8000, vec![0.0, 0.25, -0.5, 0.75]);
        let mut file = Vec::new();
        write_wav(&mut file, &pcm).unwrap();
        let read_all = |bytes: &[u8]| {
            let mut wav = WavStream::new(bytes).unwrap();
            let mut samples = Vec::new();
            while wav.read(&mut samples, 3).unwrap() > 0 {}
            (samples, wav.later_data_chunk())
        };
        let (alone, none) = read_all(&file);
        assert_eq!(none, None);
        // After the samples: a LIST chunk of odd length with its pad byte, then a data chunk.
        let list = b"LIST\x05\0\0\0INFOa\0";
        for (after, second) in [
            (&b"data\x02\0\0\0\x01\x02"[..], Some(file.len() as u64)),
            (
                &[&list[..], b"data\x02\0\0\0\x01\x02"].concat(),
                Some(file.len() as u64 + 14),
            ),
            (&list[..], None),
        ] {
            let more = [&file[..], after].concat();
            let (samples, found) = read_all(&more);
            assert_eq!(samples, alone);
            assert_eq!(found, second, "{after:?}");
        }
    }

    #[test]
    fn a_second_fmt_chunk_is_refused() {
        let pcm = Pcm::new(8000, vec![0.0, 0.25, -0.5, 0.75]);
        let mut file = Vec::new();
        write_wav(&mut file, &pcm).unwrap();
        // The file's own fmt chunk (bytes 12 to 36) again, with another rate.
        let mut second = file[12..36].to_vec();
        second[12..16].copy_from_slice(&16_000u32.to_le_bytes());
        let twice = with_chunk_before_data(&file, &second);
        let err = read_wav(&twice[..]).unwrap_err();
        assert!(
            matches!(
                err,
                Error::WavHeader {
                    offset: 36,
                    source: hound::Error::FormatError("a second fmt chunk before the data chunk")
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_file_cut_short_in_its_data_names_the_chunk_and_what_is_there() {
        let pcm = Pcm::new(8000, vec![0.25; 10]);
        let mut file = Vec::new();
        write_wav(&mut file, &pcm).unwrap();
        // 12 bytes of RIFF header and 24 of fmt chunk: the data chunk is at 36, its 20 bytes
        // at 44. Cut after 7 of them (three samples and half of one).
        let err = read_wav(&file[..44 + 7]).unwrap_err();
        assert!(
            matches!(
                err,
                Error::WavTruncated {
                    offset: 36,
                    declared: 20,
                    present: 7
                }
            ),
            "{err:?}"
        );
        // The offset counts the chunks skipped before it, pad bytes included, and without the
        // pad byte a writer left out.
        for (chunk, offset) in [
            (&b"LIST\x05\0\0\0INFOa\0"[..], 50),
            (b"LIST\x05\0\0\0INFOa", 49),
        ] {
            let cut = with_chunk_before_data(&file, chunk);
            let err = read_wav(&cut[..cut.len() - 1]).unwrap_err();
            assert!(
                matches!(err, Error::WavTruncated { offset: o, present: 19, .. } if o == offset),
                "{err:?}"
            );
            assert_eq!(
                err.to_string(),
                format!(
                    "the WAV data chunk at offset {offset} declares 20 bytes, but the file ends \
                     after 19 of them"
                )
            );
        }
    }

    /// Past 2^31 samples the 16-bit data's length no longer fits the RIFF header, and
    /// `hound` wrote a wrapped length (about 12.4 hours at 48 kHz, too large to build here).
    #[test]
    fn a_wav_too_long_for_its_header_is_refused() {
        let most = u64::from(max_wav_samples(PCM_FMT_LEN, SampleFormat::I16));
        assert_eq!(
            wav_samples(most, PCM_FMT_LEN, SampleFormat::I16).unwrap(),
            max_wav_samples(PCM_FMT_LEN, SampleFormat::I16)
        );
        // The header's RIFF length for that many: 36 + 2 per sample, still a u32.
        assert!(
            36 + 2 * u64::from(max_wav_samples(PCM_FMT_LEN, SampleFormat::I16))
                <= u64::from(u32::MAX)
        );
        for too_many in [most + 1, 1 << 31, u32::MAX.into(), u64::MAX] {
            assert!(matches!(
                wav_samples(too_many, PCM_FMT_LEN, SampleFormat::I16),
                Err(Error::Limit { value, .. }) if value == too_many
            ));
            // Refused before a byte is written.
            let mut out = Vec::new();
            assert!(WavWriter::new(&mut out, 48_000, 1, too_many).is_err());
            assert!(out.is_empty());
        }
        let mut out = Vec::new();
        let mut header = Vec::new();
        write_wav(&mut header, &Pcm::new(48_000, vec![0.0; 0])).unwrap();
        WavWriter::new(&mut out, 48_000, 1, most).unwrap();
        assert_eq!(out[8..40], header[8..40]);
        assert_eq!(
            out[4..8],
            (36 + 2 * max_wav_samples(PCM_FMT_LEN, SampleFormat::I16)).to_le_bytes()
        );
        assert_eq!(
            out[40..],
            (2 * max_wav_samples(PCM_FMT_LEN, SampleFormat::I16)).to_le_bytes()
        );
    }

    #[test]
    fn a_wav_writer_holds_its_header_to_the_samples_it_announced() {
        let mut out = Vec::new();
        let mut wav = WavWriter::new(&mut out, 8000, 1, 3).unwrap();
        wav.push(&[0.5, 0.25]).unwrap();
        assert!(wav.push(&[0.0; 2]).is_err(), "one sample past the header");
        wav.push(&[-0.5]).unwrap();
        wav.finish().unwrap();
        let back = read_wav(&out[..]).unwrap();
        assert_eq!(back.samples, [0.5, 0.25, -0.5]);
        let short = WavWriter::new(Vec::new(), 8000, 1, 3).unwrap();
        assert!(short.finish().is_err(), "fewer samples than the header");
    }

    /// `samples` as 16-bit stereo frames of a WAV file whose data length is left unknown
    /// (`0xFFFFFFFF`), followed by `tail` bytes.
    fn streamed_stereo(frames: &[[i16; 2]], tail: &[u8]) -> Vec<u8> {
        let mut file = Vec::new();
        file.extend_from_slice(b"RIFF\xff\xff\xff\xffWAVEfmt \x10\0\0\0");
        file.extend_from_slice(&1u16.to_le_bytes()); // PCM
        file.extend_from_slice(&2u16.to_le_bytes());
        file.extend_from_slice(&8000u32.to_le_bytes());
        file.extend_from_slice(&32_000u32.to_le_bytes());
        file.extend_from_slice(&4u16.to_le_bytes());
        file.extend_from_slice(&16u16.to_le_bytes());
        file.extend_from_slice(b"data\xff\xff\xff\xff");
        for f in frames {
            file.extend_from_slice(&f[0].to_le_bytes());
            file.extend_from_slice(&f[1].to_le_bytes());
        }
        file.extend_from_slice(tail);
        file
    }

    /// A WAV file of `data` with this `fmt ` body, its data chunk declaring `data_len` bytes.
    fn wav_file(fmt: &[u8], data: &[u8], data_len: u32) -> Vec<u8> {
        let mut file = Vec::new();
        file.extend_from_slice(b"RIFF\0\0\0\0WAVEfmt ");
        file.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
        file.extend_from_slice(fmt);
        file.extend_from_slice(b"data");
        file.extend_from_slice(&data_len.to_le_bytes());
        file.extend_from_slice(data);
        file
    }

    /// A `fmt ` body: format tag, channels, 8 kHz, bits per sample (the frame their
    /// containers' width); for `WAVE_FORMAT_EXTENSIBLE` (0xFFFE), `subformat`'s tag.
    fn fmt_body(tag: u16, channels: u16, bits: u16, subformat: u16) -> Vec<u8> {
        let frame = channels * bits / 8;
        let mut fmt = Vec::new();
        fmt.extend_from_slice(&tag.to_le_bytes());
        fmt.extend_from_slice(&channels.to_le_bytes());
        fmt.extend_from_slice(&8000u32.to_le_bytes());
        fmt.extend_from_slice(&(8000 * u32::from(frame)).to_le_bytes());
        fmt.extend_from_slice(&frame.to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        if tag == 0xFFFE {
            fmt.extend_from_slice(&22u16.to_le_bytes());
            fmt.extend_from_slice(&bits.to_le_bytes());
            fmt.extend_from_slice(&0u32.to_le_bytes());
            fmt.extend_from_slice(&subformat.to_le_bytes());
            fmt.extend_from_slice(b"\0\0\0\0\x10\0\x80\0\0\xAA\0\x38\x9B\x71");
        }
        fmt
    }

    /// A reader that hands out at most 3 bytes a call, as a pipe may.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(3);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// `scipy.io.wavfile.write` writes `float64` arrays as 64-bit float WAV, which `hound`
    /// refuses ("bits per sample is not 32"); they are read as the nearest `f32`, plain or
    /// `WAVE_FORMAT_EXTENSIBLE`, however the stream is cut, a partial last sample left out.
    #[test]
    fn sixty_four_bit_floats_are_read_as_the_nearest_f32() {
        let left = [0.1f64, -0.75, 1.0 / 3.0, 4.8, -1e-9];
        let right = [0.5f64, 0.2, -0.3, 0.0, 1e-300];
        let data: Vec<u8> = left
            .iter()
            .zip(&right)
            .flat_map(|(l, r)| [l.to_le_bytes(), r.to_le_bytes()])
            .flatten()
            .collect();
        for fmt in [fmt_body(3, 2, 64, 0), fmt_body(0xFFFE, 2, 64, 3)] {
            for tail in [&[][..], &[1, 2, 3][..]] {
                let file = wav_file(&fmt, &[&data[..], tail].concat(), data.len() as u32);
                let mut wav = WavStream::new(Trickle(&file)).unwrap();
                assert_eq!(wav.declared_samples(), Some(5));
                let mut channels = vec![Vec::new(), Vec::new()];
                while wav.read_channels(&mut channels, 2).unwrap() > 0 {}
                let want = |s: &[f64]| s.iter().map(|&x| x as f32).collect::<Vec<_>>();
                assert_eq!(channels, [want(&left), want(&right)]);
                // Unknown length: the samples run to the end, the partial one left out.
                let streamed = wav_file(&fmt, &[&data[..], &[9; 15]].concat(), u32::MAX);
                let mut wav = WavStream::new(Trickle(&streamed)).unwrap();
                let mut mixed = Vec::new();
                while wav.read(&mut mixed, 3).unwrap() > 0 {}
                assert_eq!(mixed.len(), 5, "15 bytes of a 16-byte frame are left out");
            }
        }
        // A frame that is not 8 bytes a channel is refused rather than misread.
        let mut odd = fmt_body(3, 2, 64, 0);
        odd[12] = 12;
        let err = WavStream::new(&wav_file(&odd, &data, data.len() as u32)[..]).unwrap_err();
        assert!(
            matches!(err, Error::WavHeader { offset: 12, .. }),
            "the fmt chunk: {err:?}"
        );
    }

    /// A data chunk whose length is not a whole number of frames (a recorder stopped inside
    /// one) was refused by `hound` ("invalid data chunk length"); its whole frames are read.
    #[test]
    fn a_partial_frame_at_the_end_of_the_data_is_left_out() {
        let fmt = fmt_body(1, 2, 16, 0);
        let data: Vec<u8> = [1000i16, -1000, 2000, -2000]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .chain([7, 7])
            .collect();
        let pcm = read_wav(&wav_file(&fmt, &data, 10)[..]).unwrap();
        assert_eq!(pcm.samples, [0.0, 0.0]);
        let file = wav_file(&fmt, &data, 10);
        let mut wav = WavStream::new(&file[..]).unwrap();
        assert_eq!(wav.declared_samples(), Some(2));
        let mut channels = vec![Vec::new(), Vec::new()];
        while wav.read_channels(&mut channels, 5).unwrap() > 0 {}
        assert_eq!(channels[0], [1000.0 / 32768.0, 2000.0 / 32768.0]);
    }

    /// sox writing WAV to a pipe leaves `0x7FFFF000` as the data length, arecord
    /// `0x80000000`: such a file was refused as cut short ("declares 2147479552 bytes, but
    /// the file ends after 288000"). From [`STREAMED_LENGTHS_FROM`] on, the length is an upper
    /// bound; below it, a file that ends early is still cut short, and a length of 0 is an
    /// empty data chunk (ffmpeg reads on, but then takes the chunks after it for samples).
    #[test]
    fn a_placeholder_data_length_is_read_to_the_end_of_the_stream() {
        let frames = [[16_384i16, 0], [0, 16_384], [-16_384, 0]];
        let data = &streamed_stereo(&frames, &[5])[44..];
        for len in [0x7FFF_F000, 0x8000_0000, u32::MAX - 1] {
            let file = wav_file(&fmt_body(1, 2, 16, 0), data, len);
            let mut wav = WavStream::new(&file[..]).unwrap();
            assert_eq!((wav.declared_samples(), wav.declared_end()), (None, None));
            let mut samples = Vec::new();
            while wav.read(&mut samples, 2).unwrap() > 0 {}
            assert_eq!(samples, [0.25, 0.25, -0.25], "{len:#x}");
        }
        // The bound holds: data past it is not samples.
        let file = wav_file(&fmt_body(1, 2, 16, 0), data, 0x7FFF_F000);
        let mut wav = WavStream::with_stream_cap(&file[..], 4).unwrap();
        let mut samples = Vec::new();
        while wav.read(&mut samples, 2).unwrap() > 0 {}
        assert_eq!(samples.len(), 3, "the cap is for unknown lengths only");
        let short = wav_file(&fmt_body(1, 2, 16, 0), data, STREAMED_LENGTHS_FROM - 2);
        let err = read_wav(&short[..]).unwrap_err();
        assert!(
            matches!(err, Error::WavTruncated { present: 13, .. }),
            "{err:?}"
        );
    }

    /// Formats writers use that are not PCM or float were refused as "the wave format of the
    /// file is not supported", RF64 as "not a RIFF WAVE file": each is now named.
    #[test]
    fn formats_not_read_are_named() {
        let data = [0u8; 64];
        for (tag, sub, what) in [
            (6, 0, "A-law"),
            (7, 0, "µ-law"),
            (2, 0, "MS ADPCM"),
            (0x11, 0, "IMA ADPCM"),
            (0xFFFE, 6, "A-law"),
        ] {
            let err = read_wav(&wav_file(&fmt_body(tag, 1, 8, sub), &data, 64)[..]).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("{what} samples are not read; only integer PCM and float are")
            );
        }
        let mut rf64 = wav_file(&fmt_body(1, 1, 16, 0), &data, 64);
        rf64[..4].copy_from_slice(b"RF64");
        let err = read_wav(&rf64[..]).unwrap_err();
        assert!(
            matches!(err, Error::WavUnsupported(m) if m.starts_with("RF64")),
            "{err}"
        );
    }

    /// An error of `hound`'s while reading samples was reported as the file cut short when
    /// fewer bytes than declared had been read, which is always so before the last sample:
    /// a 64-bit integer file, complete, was "cut short after 0 of them".
    #[test]
    fn a_sample_hound_cannot_read_is_not_called_a_file_cut_short() {
        let data = [0u8; 64];
        let err = read_wav(&wav_file(&fmt_body(1, 1, 64, 0), &data, 64)[..]).unwrap_err();
        assert!(matches!(err, Error::Wav(_)), "{err:?}");
    }

    /// A stream longer than a 32-bit length can state was cut at 4 GiB without a word (about
    /// 13 minutes lost of an hour of 8-channel 32-bit audio); it is now refused. The cap is
    /// lowered here so the test need not hold 4 GiB.
    #[test]
    fn a_streamed_data_chunk_past_its_cap_is_refused_not_cut() {
        let read = |file: &[u8], cap| -> Result<Vec<f32>> {
            let mut wav = WavStream::with_stream_cap(file, cap)?;
            assert_eq!(wav.declared_samples(), None);
            let mut samples = Vec::new();
            while wav.read(&mut samples, 2)? > 0 {}
            Ok(samples)
        };
        let frames = [[16_384i16, 0]; 3];
        // 12 bytes of whole frames fit a cap of 13 or 12, a 13th byte being a partial frame.
        for (tail, cap) in [(&[1u8][..], 13), (&[1], 12), (&[], 12)] {
            let file = streamed_stereo(&frames, tail);
            assert_eq!(read(&file, cap).unwrap(), [0.25; 3], "cap {cap}");
        }
        // Past the cap by a whole frame: refused, naming the cap in whole frames.
        for (count, tail, cap, value, max) in [(3, &[1u8][..], 11, 12, 8), (4, &[][..], 12, 16, 12)]
        {
            let err =
                read(&streamed_stereo(&frames[..3].repeat(2)[..count], tail), cap).unwrap_err();
            assert!(
                matches!(err, Error::Limit { value: v, max: m, .. } if v == value && m == max),
                "{err}"
            );
        }
    }

    /// A header whose frame is not a whole number of `hound`'s samples (a block align of 5
    /// for two 16-bit channels): the stream's cap is rounded to both, or `hound` refused it.
    #[test]
    fn a_streamed_chunk_with_an_odd_block_align_reads_its_whole_frames() {
        let mut file = streamed_stereo(&[[100, -100]; 4], &[]);
        file[28..32].copy_from_slice(&40_000u32.to_le_bytes()); // byte rate
        file[32..34].copy_from_slice(&5u16.to_le_bytes()); // block align
        let mut wav = WavStream::new(&file[..]).unwrap();
        let mut samples = Vec::new();
        while wav.read(&mut samples, 3).unwrap() > 0 {}
        assert_eq!(samples.len(), 4);
        assert_eq!(lcm(5, 4), 20);
        assert_eq!(lcm(4, 4), 4);
    }

    /// However the samples are asked for, they are those read whole, sized or streamed.
    #[test]
    fn a_stream_read_in_pieces_gives_the_samples_read_whole() {
        let samples: Vec<f32> = (0..1_001)
            .map(|i| ((i * 37) % 200) as f32 / 100.0 - 1.0)
            .collect();
        let mut sized = Vec::new();
        write_wav(&mut sized, &Pcm::new(8000, samples.clone())).unwrap();
        let frames: Vec<[i16; 2]> = (0..1_001).map(|i| [i as i16 * 30, -(i as i16)]).collect();
        let streamed = streamed_stereo(&frames, &[9]);
        for file in [&sized, &streamed] {
            let whole = read_wav(&file[..]).unwrap().samples;
            assert_eq!(whole.len(), 1_001);
            for piece in [1, 7, 1_000, 1_001, 5_000] {
                let mut wav = WavStream::new(&file[..]).unwrap();
                let mut got = Vec::new();
                while wav.read(&mut got, piece).unwrap() > 0 {}
                assert_eq!(got, whole, "pieces of {piece}");
                assert_eq!(wav.read(&mut got, piece).unwrap(), 0);
            }
        }
    }

    #[test]
    fn garbage_is_an_error() {
        // Where the chunk header that could not be read starts.
        let err = read_wav(&b"RIFF\0\0\0\0WAVEjunk"[..]).unwrap_err();
        assert!(
            matches!(err, Error::WavHeader { offset: 12, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("byte 12"), "{err}");
        let err = read_wav(&b"RIFX\0\0\0\0WAVE"[..]).unwrap_err();
        assert!(matches!(err, Error::WavHeader { offset: 0, .. }), "{err:?}");
        // A fmt chunk that `hound` refuses, or that has no channel: the fmt chunk's header.
        for fmt in [fmt_body(1, 0, 16, 0), fmt_body(1, 1, 0, 0)] {
            let err = read_wav(&wav_file(&fmt, &[], 0)[..]).unwrap_err();
            assert!(
                matches!(err, Error::WavHeader { offset: 12, .. }),
                "{err:?}"
            );
        }
    }
}
