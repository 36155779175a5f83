//! Several audio plans written as the channels of one WAV file ([`write_wav_channels`]).

use std::collections::VecDeque;
use std::io::Write;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use h4mk_mt::DecodeStep;

use crate::adapter::Present;
use crate::error::{Error, Result};
use crate::registry::{NamedDecoder, Prepared, Shape};
use crate::wav::{SampleFormat, WavWriter};

/// One channel of [`write_wav_channels`]: a decoder and a plan it
/// [prepared](NamedDecoder::prepare), borrowed for the threads that decode it.
pub struct Channel<'a> {
    /// The decoder that prepared the plan, which writes it.
    pub decoder: Box<dyn NamedDecoder>,
    /// The plan, in decode order.
    pub steps: &'a [DecodeStep<'a>],
    /// What it presents.
    pub present: Present,
    /// What `prepare` returned for it.
    pub prepared: Prepared,
}

/// Writes audio plans as the channels of one WAV file of samples of `format`, channel `k` from
/// plan `k`, and returns the file's shape (its frames as `samples`) and how many samples were
/// clipped (to 16 bits).
///
/// The plans must share their sample rate ([`Error::ChannelMismatch`]). The file covers every
/// plan's samples, from the earliest first one to the latest last one, and a channel is silent
/// where its plan has none. Each channel decodes on a thread of its own and its samples are
/// interleaved as they come, so what is held is a few pieces per channel, not the output: the
/// header goes out first, and an error after it (one [`NamedDecoder::prepare`] did not
/// foresee, or the output's) ends the file short. A channel's error is wrapped in
/// [`Error::InChannel`]; the output's, and a thread the system refuses, are not.
pub fn write_wav_channels(
    channels: Vec<Channel<'_>>,
    format: SampleFormat,
    out: &mut dyn Write,
) -> Result<WavWritten> {
    let shapes: Vec<Shape> = channels.iter().map(|c| c.prepared.shape()).collect();
    let shape = channels_shape(&shapes)?;
    let Shape::Pcm {
        sample_rate: rate,
        start,
        samples: frames,
    } = shape
    else {
        return Err(crate::registry::NOT_AUDIO);
    };
    let end = start + frames;
    let count = u16::try_from(channels.len()).map_err(|_| Error::Limit {
        what: "channels in a WAV file",
        value: channels.len() as u64,
        max: u16::MAX.into(),
    })?;
    let mut wav = WavWriter::with_format(out, rate, count, frames, format)?;
    std::thread::scope(|scope| {
        let mut feeds = Vec::with_capacity(count.into());
        for (k, (channel, shape)) in channels.into_iter().zip(shapes).enumerate() {
            // Silence before and after the channel's samples; all silence when it has none
            // (`channels_shape` checked every shape is audio, and spans the others).
            let (before, after) = match shape {
                Shape::Pcm {
                    start: lo, samples, ..
                } if samples > 0 => (lo - start, end - lo.saturating_add(samples)),
                _ => (frames, 0),
            };
            let (tx, rx) = sync_channel(FEED_DEPTH);
            feeds.push(Feed {
                rx,
                held: VecDeque::new(),
                done: false,
            });
            std::thread::Builder::new().spawn_scoped(scope, move || {
                if let Err(e) = decode_channel(channel, before, after, &tx) {
                    // The writer may have stopped already; then nobody is listening.
                    let _ = tx.send(Err(in_channel(k, e)));
                }
            })?;
        }
        let mut frame_run = Vec::new();
        loop {
            for feed in &mut feeds {
                feed.fill()?;
            }
            let n = feeds.iter().map(|f| f.held.len()).min().unwrap_or(0);
            if n == 0 {
                // Every channel sends the same number of samples, so all end together.
                if feeds.iter().any(|f| !f.held.is_empty()) {
                    return Err(Error::Parameter("internal: channels of unequal lengths"));
                }
                return Ok(());
            }
            frame_run.clear();
            for i in 0..n {
                frame_run.extend(feeds.iter().filter_map(|f| f.held.get(i)));
            }
            for feed in &mut feeds {
                feed.held.drain(..n);
            }
            wav.push(&frame_run)?;
        }
    })?;
    let clipped = wav.clipped();
    wav.finish()?;
    Ok(WavWritten { shape, clipped })
}

/// What [`write_wav_channels`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WavWritten {
    /// The file's shape, as [`channels_shape`] gives it.
    pub shape: Shape,
    /// Samples past 16-bit full scale, clipped to it ([`WavWriter::clipped`](crate::WavWriter::clipped)).
    pub clipped: u64,
}

/// The shape of the file [`write_wav_channels`] writes for plans of these shapes: their sample
/// rate, and frames from the earliest first sample to the latest last one.
///
/// Refused: no shape, a shape of bytes ([`Error::InChannel`]), or sample rates that differ
/// ([`Error::ChannelMismatch`]).
pub fn channels_shape(shapes: &[Shape]) -> Result<Shape> {
    let mut spans = Vec::with_capacity(shapes.len());
    for (k, shape) in shapes.iter().enumerate() {
        let &Shape::Pcm {
            sample_rate,
            start,
            samples,
        } = shape
        else {
            return Err(in_channel(k, crate::registry::NOT_AUDIO));
        };
        spans.push((sample_rate, start, start.saturating_add(samples)));
    }
    let Some(&(rate, ..)) = spans.first() else {
        return Err(Error::Parameter("no channel to write"));
    };
    if let Some((k, &(other, ..))) = spans.iter().enumerate().find(|(_, s)| s.0 != rate) {
        return Err(Error::ChannelMismatch {
            what: "sample rate",
            channel: k + 1,
            value: other.into(),
            first: rate.into(),
        });
    }
    // A plan with no samples adds silence, not span.
    let held = spans.iter().filter(|s| s.2 > s.1);
    let start = held.clone().map(|s| s.1).min().unwrap_or(0);
    let end = held.map(|s| s.2).max().unwrap_or(0).max(start);
    Ok(Shape::Pcm {
        sample_rate: rate,
        start,
        samples: end - start,
    })
}

/// Pieces a channel may send ahead of the writer.
const FEED_DEPTH: usize = 4;

/// Samples of silence sent at a time.
const SILENT_PIECE: usize = 1 << 14;

/// What one channel's thread sends: a piece of samples, or the error that stopped it.
type Piece = Result<Vec<f32>>;

/// One channel as the writer sees it: the samples received and not written yet.
struct Feed {
    rx: Receiver<Piece>,
    held: VecDeque<f32>,
    /// The thread has finished: it sent everything it had.
    done: bool,
}

impl Feed {
    /// Waits for the channel's next piece while nothing is held and more may come.
    fn fill(&mut self) -> Result<()> {
        while self.held.is_empty() && !self.done {
            match self.rx.recv() {
                // Nothing is held: the piece's buffer becomes the queue, uncopied.
                Ok(piece) => self.held = VecDeque::from(piece?),
                Err(_) => self.done = true,
            }
        }
        Ok(())
    }
}

/// Sends `before` samples of silence, the channel's plan, then `after` of silence.
fn decode_channel(
    channel: Channel<'_>,
    before: u64,
    after: u64,
    tx: &SyncSender<Piece>,
) -> Result<()> {
    let Channel {
        mut decoder,
        steps,
        present,
        prepared,
    } = channel;
    let mut send = |piece: &[f32]| {
        tx.send(Ok(piece.to_vec()))
            .map_err(|_| Error::Parameter("the writer stopped"))
    };
    silence(before, &mut send)?;
    decoder.write_samples(steps, present, prepared, &mut send)?;
    silence(after, &mut send)
}

/// Hands `count` samples of silence to `send`, a piece at a time.
fn silence(count: u64, send: &mut dyn FnMut(&[f32]) -> Result<()>) -> Result<()> {
    let piece = vec![0.0; usize::try_from(count).map_or(SILENT_PIECE, |c| c.min(SILENT_PIECE))];
    let mut left = count;
    while left > 0 {
        let n = usize::try_from(left).map_or(piece.len(), |l| l.min(piece.len()));
        send(piece.get(..n).unwrap_or(&[]))?;
        left -= n as u64;
    }
    Ok(())
}

fn in_channel(k: usize, source: Error) -> Error {
    Error::InChannel {
        channel: k + 1,
        source: Box::new(source),
    }
}
