//! The DSP1 block format (docs/ADAPTERS.md §3): an STFT's strongest bins, quantised and coded as
//! deltas to a prediction.
//!
//! Everything here works on the quantised integers, so the encoder and the decoder compute the
//! same predictions bit for bit, whatever decode path (I, P or B) a frame arrives by.

use std::f32::consts::TAU;

use crate::dsp::bytes::{Reader, put_varint, put_zigzag};
use crate::error::{Error, Result};
use crate::limits::{Limits, MIN_FRAME_SIZE};
use h4mk_gop::BlockKind;

/// The block magic (§3.1).
pub(crate) const MAGIC: [u8; 4] = *b"DSP1";
/// Phase steps per turn (§3.3).
pub(crate) const PHASE_STEPS: u32 = 4096;
/// Magnitude steps per decibel (§3.3).
pub(crate) const MAG_STEPS_PER_DB: f32 = 8.0;
/// The level of magnitude step 0, in dB relative to a full-scale bin (§3.3).
pub(crate) const MAG_FLOOR_DB: f32 = -160.0;

/// One quantised bin: index, log-magnitude step and phase step (§3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Bin {
    pub(crate) bin: u16,
    pub(crate) mag: u16,
    pub(crate) phase: u16,
}

/// The largest magnitude step (§3.3): 200 dB above full scale, a linear magnitude of 1e10.
/// A frame then renders to at most `2 N · 1e10` (below 1e15) per sample, so no block can make
/// the synthesis overflow `f32`; above about 7,440 a step would be infinite.
pub(crate) const MAX_MAG_STEP: u16 = ((200.0 - MAG_FLOOR_DB) * MAG_STEPS_PER_DB) as u16;

/// Magnitude step of a linear magnitude (`|X| / n`); 0 for anything at or below the floor,
/// [`MAX_MAG_STEP`] for anything at or above the ceiling.
pub(crate) fn quantise_mag(m: f32) -> u16 {
    if !(m > 0.0 && m.is_finite()) {
        return 0;
    }
    let q = ((20.0 * m.log10() - MAG_FLOOR_DB) * MAG_STEPS_PER_DB).round();
    if q < 1.0 {
        0
    } else {
        q.min(f32::from(MAX_MAG_STEP)) as u16
    }
}

/// Linear magnitude of a magnitude step.
pub(crate) fn dequantise_mag(q: u16) -> f32 {
    if q == 0 {
        return 0.0;
    }
    10f32.powf((f32::from(q) / MAG_STEPS_PER_DB + MAG_FLOOR_DB) / 20.0)
}

/// Phase step of a phase in radians.
pub(crate) fn quantise_phase(radians: f32) -> u16 {
    let q = (radians / TAU * PHASE_STEPS as f32).round() as i64;
    q.rem_euclid(i64::from(PHASE_STEPS)) as u16
}

/// Phase in radians of a phase step.
pub(crate) fn dequantise_phase(q: u16) -> f32 {
    f32::from(q) * TAU / PHASE_STEPS as f32
}

/// The header of a DSP1 block (§3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) kind: BlockKind,
    pub(crate) frame_size: usize,
    pub(crate) hop: usize,
    pub(crate) frame_count: usize,
    pub(crate) sample_rate: u32,
    pub(crate) first_frame: u32,
    pub(crate) length: u32,
}

impl Header {
    /// Samples of zero padding before the signal: frame 0 starts `pad` samples early, so every
    /// sample is covered by `frame_size / hop` frames.
    pub(crate) fn pad(&self) -> usize {
        self.frame_size - self.hop
    }

    /// Stream position of the first sample of the block's first frame (may be negative).
    pub(crate) fn start(&self) -> i64 {
        i64::from(self.first_frame) * self.hop as i64 - self.pad() as i64
    }

    /// Stream position of the first sample this block owns.
    pub(crate) fn own_start(&self) -> i64 {
        self.start().max(0)
    }

    /// The most samples this block can own.
    fn max_length(&self) -> i64 {
        (self.start() + (self.frame_count * self.hop) as i64).max(0) - self.own_start()
    }

    /// Number of PCM samples the block's frames cover.
    pub(crate) fn segment_len(&self) -> usize {
        (self.frame_count - 1) * self.hop + self.frame_size
    }

    /// Index of the block's last frame.
    fn last_frame(&self) -> i64 {
        i64::from(self.first_frame) + self.frame_count as i64 - 1
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<()> {
        let u16_field = |v: usize, what| {
            u16::try_from(v).map_err(|_| Error::Limit {
                what,
                value: v as u64,
                max: 65_535,
            })
        };
        out.extend_from_slice(&MAGIC);
        out.push(kind_byte(self.kind));
        out.push(0);
        out.extend_from_slice(&u16_field(self.frame_size, "frame_size")?.to_le_bytes());
        out.extend_from_slice(&u16_field(self.hop, "hop")?.to_le_bytes());
        out.extend_from_slice(&u16_field(self.frame_count, "frame_count")?.to_le_bytes());
        out.extend_from_slice(&self.sample_rate.to_le_bytes());
        out.extend_from_slice(&self.first_frame.to_le_bytes());
        out.extend_from_slice(&self.length.to_le_bytes());
        Ok(())
    }

    /// Reads and validates a header; the magic has been checked by the caller.
    fn read(r: &mut Reader<'_>, expected: BlockKind, limits: &Limits) -> Result<Header> {
        r.bytes::<4>("magic")?;
        let kind = match r.u8("kind")? {
            b'I' if expected == BlockKind::Key => BlockKind::Key,
            b'P' if expected == BlockKind::Predictive => BlockKind::Predictive,
            b'B' if expected == BlockKind::Bidirectional => BlockKind::Bidirectional,
            found => {
                return Err(Error::KindMismatch {
                    offset: 4,
                    expected,
                    found,
                });
            }
        };
        let invalid = |offset, field, value: u64| Error::InvalidField {
            offset,
            field,
            value,
        };
        let reserved = r.u8("reserved")?;
        if reserved != 0 {
            return Err(invalid(5, "reserved", reserved.into()));
        }
        let frame_size = usize::from(r.u16("frame_size")?);
        if frame_size < MIN_FRAME_SIZE || !frame_size.is_multiple_of(2) {
            return Err(invalid(6, "frame_size", frame_size as u64));
        }
        if frame_size > limits.max_frame_size {
            return Err(Error::Limit {
                what: "frame_size",
                value: frame_size as u64,
                max: limits.max_frame_size as u64,
            });
        }
        let hop = usize::from(r.u16("hop")?);
        if hop == 0 || !frame_size.is_multiple_of(hop) || frame_size / hop < 2 {
            return Err(invalid(8, "hop", hop as u64));
        }
        let frame_count = usize::from(r.u16("frame_count")?);
        if frame_count == 0 {
            return Err(invalid(10, "frame_count", 0));
        }
        if frame_count > limits.max_frames_per_block {
            return Err(Error::Limit {
                what: "frame_count",
                value: frame_count as u64,
                max: limits.max_frames_per_block as u64,
            });
        }
        let sample_rate = r.u32("sample_rate")?;
        if sample_rate == 0 {
            return Err(invalid(12, "sample_rate", 0));
        }
        let first_frame = r.u32("first_frame")?;
        let length = r.u32("length")?;
        let header = Header {
            kind,
            frame_size,
            hop,
            frame_count,
            sample_rate,
            first_frame,
            length,
        };
        // frame_count ≤ 65 535 and frame_size ≤ 65 534, so this cannot overflow a usize ≥ 32 bits.
        let segment = header.segment_len();
        if segment > limits.max_block_samples {
            return Err(Error::Limit {
                what: "block samples",
                value: segment as u64,
                max: limits.max_block_samples as u64,
            });
        }
        if i64::from(length) > header.max_length() {
            return Err(invalid(20, "length", length.into()));
        }
        // Nor may the frames span much more than the block owns: frames past its samples
        // would render, and be held, for nothing.
        if frame_count * hop > length as usize + frame_size {
            return Err(invalid(10, "frame_count", frame_count as u64));
        }
        Ok(header)
    }
}

fn kind_byte(kind: BlockKind) -> u8 {
    match kind {
        BlockKind::Key => b'I',
        BlockKind::Predictive => b'P',
        BlockKind::Bidirectional => b'B',
    }
}

/// Frames of quantised bins, stored flat.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Frames {
    bins: Vec<Bin>,
    ends: Vec<usize>,
}

impl Frames {
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn frame(&self, j: usize) -> &[Bin] {
        let start = match j.checked_sub(1) {
            Some(p) => self.ends.get(p).copied().unwrap_or(0),
            None => 0,
        };
        let end = self.ends.get(j).copied().unwrap_or(start);
        self.bins.get(start..end).unwrap_or(&[])
    }

    pub(crate) fn first(&self) -> &[Bin] {
        self.frame(0)
    }

    pub(crate) fn last(&self) -> &[Bin] {
        self.len().checked_sub(1).map_or(&[], |j| self.frame(j))
    }

    pub(crate) fn push_frame(&mut self, bins: impl IntoIterator<Item = Bin>) {
        self.bins.extend(bins);
        self.ends.push(self.bins.len());
    }

    /// Forgets the first `k` frames.
    pub(crate) fn drop_first(&mut self, k: usize) {
        let Some(cut) = k.checked_sub(1).and_then(|p| self.ends.get(p)).copied() else {
            return;
        };
        self.bins.drain(..cut);
        self.ends.drain(..k);
        for end in &mut self.ends {
            *end -= cut;
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &[Bin]> {
        (0..self.len()).map(|j| self.frame(j))
    }
}

/// What frame 0 of a block is predicted from (§3.4); later frames are predicted from the frame
/// before them, one hop earlier.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Reference<'a> {
    /// No prediction: every bin predicts magnitude 0, phase 0.
    None,
    /// One frame, `distance` frames earlier.
    One { frame: &'a [Bin], distance: i64 },
    /// The previous anchor's last frame and the next anchor's first frame.
    Two {
        prev: &'a [Bin],
        d_prev: i64,
        next: &'a [Bin],
        d_next: i64,
    },
}

/// The phase a bin's phase step moves by over `distance` frames: the bin's centre frequency
/// times the elapsed time, in phase steps, modulo a turn.
fn advance(phase: u16, bin: u16, distance: i64, n: usize, hop: usize) -> u16 {
    let steps = u64::from(PHASE_STEPS);
    // bin ≤ 32 767, hop ≤ 65 535, steps = 4096: the product stays under 2^43.
    let per_frame = (u64::from(bin) * steps * hop as u64 / n as u64) % steps;
    let d = distance.rem_euclid(i64::from(PHASE_STEPS)) as u64;
    ((u64::from(phase) + per_frame * d) % steps) as u16
}

/// Fills `out` with the predicted bins, sorted by index.
pub(crate) fn predict(reference: Reference<'_>, n: usize, hop: usize, out: &mut Vec<Bin>) {
    out.clear();
    match reference {
        Reference::None => {}
        Reference::One { frame, distance } => out.extend(frame.iter().map(|b| Bin {
            phase: advance(b.phase, b.bin, distance, n, hop),
            ..*b
        })),
        Reference::Two {
            prev,
            d_prev,
            next,
            d_next,
        } => {
            let (mut a, mut b) = (prev.iter().peekable(), next.iter().peekable());
            loop {
                let bin = match (a.peek().copied(), b.peek().copied()) {
                    (Some(p), Some(q)) if p.bin == q.bin => {
                        let mag = ((u32::from(p.mag) + u32::from(q.mag)) / 2) as u16;
                        let phase = advance(p.phase, p.bin, d_prev, n, hop);
                        a.next();
                        b.next();
                        Bin {
                            bin: p.bin,
                            mag,
                            phase,
                        }
                    }
                    (Some(p), Some(q)) if p.bin > q.bin => {
                        b.next();
                        Bin {
                            phase: advance(q.phase, q.bin, -d_next, n, hop),
                            ..*q
                        }
                    }
                    (Some(p), _) => {
                        a.next();
                        Bin {
                            phase: advance(p.phase, p.bin, d_prev, n, hop),
                            ..*p
                        }
                    }
                    (None, Some(q)) => {
                        b.next();
                        Bin {
                            phase: advance(q.phase, q.bin, -d_next, n, hop),
                            ..*q
                        }
                    }
                    (None, None) => break,
                };
                out.push(bin);
            }
        }
    }
}

/// Codes one frame against its prediction (§3.2).
pub(crate) fn write_frame(frame: &[Bin], pred: &[Bin], out: &mut Vec<u8>) {
    put_varint(out, frame.len() as u32);
    let mut next_bin = 0u32;
    let mut p = pred.iter().peekable();
    for b in frame {
        put_varint(out, u32::from(b.bin) - next_bin);
        next_bin = u32::from(b.bin) + 1;
        while p.next_if(|q| q.bin < b.bin).is_some() {}
        let (pm, pp) = p
            .peek()
            .filter(|q| q.bin == b.bin)
            .map_or((0, 0), |q| (q.mag, q.phase));
        put_zigzag(out, i32::from(b.mag) - i32::from(pm));
        let half = PHASE_STEPS as i32 / 2;
        let dphase =
            (i32::from(b.phase) - i32::from(pp) + half).rem_euclid(PHASE_STEPS as i32) - half;
        put_zigzag(out, dphase);
    }
}

/// Decodes one frame against its prediction into `frames`.
fn read_frame(r: &mut Reader<'_>, pred: &[Bin], max_bin: u32, frames: &mut Frames) -> Result<()> {
    let count_at = r.pos();
    let count = r.varint("bin count")?;
    if count > max_bin + 1 {
        return Err(Error::InvalidField {
            offset: count_at,
            field: "bin count",
            value: count.into(),
        });
    }
    let mut next_bin = 0u64;
    let mut p = pred.iter().peekable();
    for _ in 0..count {
        let at = r.pos();
        let bin = next_bin + u64::from(r.varint("bin gap")?);
        if bin > u64::from(max_bin) {
            return Err(Error::BinOutOfRange {
                offset: at,
                bin,
                max: max_bin.into(),
            });
        }
        next_bin = bin + 1;
        let bin = bin as u16;
        let mag_at = r.pos();
        let dmag = r.zigzag("magnitude delta")?;
        let dphase = r.zigzag("phase delta")?;
        while p.next_if(|q| q.bin < bin).is_some() {}
        let (pm, pp) = p
            .peek()
            .filter(|q| q.bin == bin)
            .map_or((0, 0), |q| (q.mag, q.phase));
        let mag = u16::try_from(i64::from(pm) + i64::from(dmag))
            .ok()
            .filter(|&m| m <= MAX_MAG_STEP)
            .ok_or(Error::Malformed {
                offset: mag_at,
                field: "magnitude delta",
            })?;
        let phase = (i64::from(pp) + i64::from(dphase)).rem_euclid(i64::from(PHASE_STEPS)) as u16;
        frames.bins.push(Bin { bin, mag, phase });
    }
    frames.ends.push(frames.bins.len());
    Ok(())
}

/// A decoded DSP1 block: its header and its frames of quantised bins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Block {
    pub(crate) header: Header,
    pub(crate) frames: Frames,
}

/// The anchors a block is decoded against.
pub(crate) enum Anchors<'a> {
    None,
    One(&'a Block),
    Two(&'a Block, &'a Block),
}

fn check_compatible(header: &Header, anchor: &Block) -> Result<()> {
    let a = &anchor.header;
    for (what, block, reference) in [
        ("frame_size", header.frame_size as u64, a.frame_size as u64),
        ("hop", header.hop as u64, a.hop as u64),
        (
            "sample_rate",
            header.sample_rate.into(),
            a.sample_rate.into(),
        ),
    ] {
        if block != reference {
            return Err(Error::Mismatch {
                what,
                block,
                reference,
            });
        }
    }
    Ok(())
}

/// Decodes a DSP1 block of the `expected` kind against its anchors.
pub(crate) fn decode(
    bytes: &[u8],
    expected: BlockKind,
    anchors: Anchors<'_>,
    limits: &Limits,
) -> Result<Block> {
    let mut r = Reader::new(bytes);
    let header = Header::read(&mut r, expected, limits)?;
    let (n, hop) = (header.frame_size, header.hop);
    let first = i64::from(header.first_frame);
    let reference = match anchors {
        Anchors::None => Reference::None,
        Anchors::One(a) => {
            check_compatible(&header, a)?;
            Reference::One {
                frame: a.frames.last(),
                distance: first - a.header.last_frame(),
            }
        }
        Anchors::Two(p, q) => {
            check_compatible(&header, p)?;
            check_compatible(&header, q)?;
            Reference::Two {
                prev: p.frames.last(),
                d_prev: first - p.header.last_frame(),
                next: q.frames.first(),
                d_next: i64::from(q.header.first_frame) - first,
            }
        }
    };
    let max_bin = (n / 2) as u32;
    let mut frames = Frames::default();
    let mut pred = Vec::new();
    predict(reference, n, hop, &mut pred);
    for j in 0..header.frame_count {
        if j > 0 {
            predict(
                Reference::One {
                    frame: frames.last(),
                    distance: 1,
                },
                n,
                hop,
                &mut pred,
            );
        }
        read_frame(&mut r, &pred, max_bin, &mut frames)?;
    }
    r.finish()?;
    Ok(Block { header, frames })
}

/// The frames of a block as `(bin, magnitude, phase)` for [`Synthesis`](super::stft::Synthesis).
pub(crate) fn dequantised(frame: &[Bin]) -> impl Iterator<Item = (usize, f32, f32)> + '_ {
    frame.iter().map(|b| {
        (
            usize::from(b.bin),
            dequantise_mag(b.mag),
            dequantise_phase(b.phase),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key block of one frame with every bin of an `n`-point frame at magnitude step `mag`,
    /// bin k at phase πk: all of them peak together mid-frame, where the window is 1.
    fn loud_block(n: usize, mag: u16) -> Vec<u8> {
        let header = Header {
            kind: BlockKind::Key,
            frame_size: n,
            hop: n / 2,
            frame_count: 1,
            sample_rate: 48_000,
            first_frame: 1,
            length: (n / 2) as u32,
        };
        let mut out = Vec::new();
        header.write(&mut out).unwrap();
        let frame: Vec<Bin> = (0..=n / 2)
            .map(|k| Bin {
                bin: k as u16,
                mag,
                phase: (k as u32 * PHASE_STEPS / 2 % PHASE_STEPS) as u16,
            })
            .collect();
        write_frame(&frame, &[], &mut out);
        out
    }

    #[test]
    fn the_loudest_block_renders_within_its_bound() {
        use crate::{DspAdapter, ModelAdapter};
        let mut a = DspAdapter::default();
        // Every bin of the largest frame at the largest step, in phase.
        let n = crate::limits::MAX_FRAME_SIZE;
        let s = a.decode_key(&loud_block(n, MAX_MAG_STEP)).unwrap();
        let pcm = a.finalize(&s).unwrap();
        let bound = 2.0 * n as f32 * dequantise_mag(MAX_MAG_STEP);
        let peak = pcm.samples.iter().fold(0.0f32, |p, x| p.max(x.abs()));
        assert!(pcm.samples.iter().all(|x| x.is_finite()));
        assert!(
            peak > bound / 4.0 && peak <= bound,
            "peak {peak:e}, bound {bound:e}"
        );
    }

    #[test]
    fn a_step_past_the_largest_is_refused() {
        use crate::{DspAdapter, ModelAdapter};
        // Before the cap, step 65,535 decoded and rendered to NaN.
        for mag in [MAX_MAG_STEP + 1, u16::MAX] {
            let err = DspAdapter::default().decode_key(&loud_block(64, mag));
            assert!(
                matches!(
                    err,
                    Err(Error::Malformed {
                        offset: 26,
                        field: "magnitude delta"
                    })
                ),
                "{err:?}"
            );
        }
        assert_eq!(quantise_mag(f32::MAX), MAX_MAG_STEP);
        assert_eq!(quantise_mag(1e10), MAX_MAG_STEP);
        let below = MAX_MAG_STEP - 1;
        assert_eq!(quantise_mag(dequantise_mag(below)), below);
    }

    #[test]
    fn quantisers_round_trip_within_half_a_step() {
        for m in [1e-6f32, 0.001, 0.3, 1.0, 7.5] {
            let back = dequantise_mag(quantise_mag(m));
            let err_db = (20.0 * (back / m).log10()).abs();
            assert!(err_db <= 0.5 / MAG_STEPS_PER_DB + 1e-3, "{m}: {err_db} dB");
        }
        assert_eq!(quantise_mag(0.0), 0);
        assert_eq!(quantise_mag(f32::NAN), 0);
        assert_eq!(quantise_mag(1e-9), 0);
        assert_eq!(quantise_phase(std::f32::consts::PI), 2048);
        assert_eq!(quantise_phase(-std::f32::consts::PI), 2048);
        assert_eq!(quantise_phase(-0.0001), 0);
    }

    #[test]
    fn advance_is_the_bin_frequency_times_the_hop() {
        // With hop = n / 4, bin 1 turns a quarter per frame.
        assert_eq!(advance(0, 1, 1, 64, 16), 1024);
        assert_eq!(advance(0, 1, -1, 64, 16), 3072);
        assert_eq!(advance(100, 3, 4, 64, 16), 100);
    }

    #[test]
    fn frames_round_trip_through_any_prediction() {
        let frame = [
            Bin {
                bin: 0,
                mag: 5,
                phase: 0,
            },
            Bin {
                bin: 9,
                mag: 900,
                phase: 4095,
            },
        ];
        let preds: [&[Bin]; 3] = [
            &[],
            &[Bin {
                bin: 9,
                mag: 1000,
                phase: 1,
            }],
            &[
                Bin {
                    bin: 1,
                    mag: 1,
                    phase: 1,
                },
                Bin {
                    bin: 9,
                    mag: 0,
                    phase: 2048,
                },
            ],
        ];
        for pred in preds {
            let mut bytes = Vec::new();
            write_frame(&frame, pred, &mut bytes);
            let mut frames = Frames::default();
            let mut r = Reader::new(&bytes);
            read_frame(&mut r, pred, 32, &mut frames).unwrap();
            r.finish().unwrap();
            assert_eq!(frames.frame(0), &frame);
        }
    }
}
