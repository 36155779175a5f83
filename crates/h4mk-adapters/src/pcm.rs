//! PCM buffers and the overlap-add that joins the per-block output of
//! [`DspAdapter`](crate::DspAdapter) into one signal.

use std::ops::Range;

use crate::adapter::Rendered;
use crate::error::{Error, Result};

/// Mono PCM: samples in `-1.0..=1.0` at a sample rate, starting at a position in the stream.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pcm {
    /// Samples per second.
    pub sample_rate: u32,
    /// Stream position of `samples[0]`: 0 for a whole signal, later for a decode that started
    /// at a seek.
    pub start: u64,
    /// The samples.
    pub samples: Vec<f32>,
}

impl Pcm {
    /// Whole-signal PCM from `f32` samples.
    pub fn new(sample_rate: u32, samples: Vec<f32>) -> Self {
        Pcm {
            sample_rate,
            start: 0,
            samples,
        }
    }

    /// Whole-signal PCM from 16-bit samples, scaled by `1 / 32768`.
    pub fn from_i16(sample_rate: u32, samples: &[i16]) -> Self {
        Pcm::new(
            sample_rate,
            samples.iter().map(|&s| f32::from(s) / 32_768.0).collect(),
        )
    }

    /// The samples as 16-bit integers, scaled by 32768, rounded and clipped.
    pub fn to_i16(&self) -> Vec<i16> {
        self.samples
            .iter()
            .map(|&s| (s * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16)
            .collect()
    }

    /// Duration in seconds.
    pub fn seconds(&self) -> f64 {
        if self.sample_rate == 0 {
            0.0
        } else {
            self.samples.len() as f64 / f64::from(self.sample_rate)
        }
    }
}

/// The PCM one block renders to: its frames, windowed and overlap-added, including the tail
/// that overlaps the next block.
#[derive(Clone, Debug, PartialEq)]
pub struct PcmSegment {
    /// Samples per second.
    pub sample_rate: u32,
    /// Stream position of `samples[0]` (negative for the first block, whose first frame starts
    /// before the signal), or `None` when the format carries no timing (DSP0): then the
    /// segment is placed at its block's timestamp.
    pub start: Option<i64>,
    /// The part of `samples` this block owns; the rest overlaps its neighbours.
    pub own: Range<usize>,
    /// The samples.
    pub samples: Vec<f32>,
}

/// Overlap-adds rendered segments into one signal covering every presented segment's own
/// range; [leads](Rendered::lead) add in where they overlap it and are otherwise left out.
///
/// A decode that starts at a keyframe lacks the tail of the block before it, so the first
/// `frame_size - hop` samples it owns are incomplete; every later sample is exact. With the
/// block before as a lead ([`crate::Present::Lead`]) every sample is exact.
/// The result is empty (sample rate 0) for no segments.
/// Segments must share a sample rate ([`Error::Mismatch`]), and the range they cover may not
/// be longer than their samples put together ([`Error::TimingGaps`], naming the blocks at
/// either end), which bounds what hostile timestamps can make this allocate.
pub fn render_pcm(outputs: &[Rendered<PcmSegment>]) -> Result<Pcm> {
    let Some(first) = outputs.first() else {
        return Ok(Pcm::default());
    };
    let sample_rate = first.output.sample_rate;
    let mut placed = Vec::with_capacity(outputs.len());
    let (mut lo, mut hi, mut budget) = (i64::MAX, i64::MIN, 0u64);
    // The segments that set `lo` and `hi`.
    let (mut first, mut last) = (first, first);
    for r in outputs {
        let seg = &r.output;
        if seg.sample_rate != sample_rate {
            return Err(Error::Mismatch {
                what: "sample rate",
                block: seg.sample_rate.into(),
                reference: sample_rate.into(),
            });
        }
        let pos = match seg.start {
            Some(p) => p,
            None => (u64::from(r.ts_ms) * u64::from(sample_rate) / 1000) as i64,
        };
        let own_lo = pos.checked_add(seg.own.start as i64);
        let own_hi = pos.checked_add(seg.own.end as i64);
        let (Some(own_lo), Some(own_hi)) = (own_lo, own_hi) else {
            return Err(Error::Parameter("segment position overflows"));
        };
        if !r.lead {
            if own_lo.max(0) < lo {
                (lo, first) = (own_lo.max(0), r);
            }
            if own_hi > hi {
                (hi, last) = (own_hi, r);
            }
        }
        budget += seg.samples.len() as u64;
        placed.push((pos, seg));
    }
    if lo > hi {
        // Only leads: nothing presented.
        return Ok(Pcm::default());
    }
    let len = u64::try_from(hi.saturating_sub(lo)).unwrap_or(0);
    if len > budget {
        return Err(Error::TimingGaps {
            first_block: first.index,
            first_ms: first.ts_ms,
            last_block: last.index,
            last_ms: last.ts_ms,
            span: len,
            held: budget,
        });
    }
    let mut samples = vec![0.0f32; len as usize];
    for (pos, seg) in placed {
        // Offset of the segment relative to the output; clip both ends.
        let skip = usize::try_from(lo.saturating_sub(pos)).unwrap_or(0);
        let at = usize::try_from(pos.saturating_sub(lo)).unwrap_or(0);
        let src = seg.samples.get(skip..).unwrap_or(&[]);
        let dst = samples.get_mut(at..).unwrap_or(&mut []);
        for (d, s) in dst.iter_mut().zip(src) {
            *d += s;
        }
    }
    Ok(Pcm {
        sample_rate,
        start: lo as u64,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use h4mk_gop::BlockKind;

    fn rendered(
        ts_ms: u32,
        start: Option<i64>,
        own: Range<usize>,
        samples: Vec<f32>,
    ) -> Rendered<PcmSegment> {
        Rendered {
            index: 0,
            ts_ms,
            kind: BlockKind::Key,
            output: PcmSegment {
                sample_rate: 1000,
                start,
                own,
                samples,
            },
            lead: false,
        }
    }

    #[test]
    fn overlapping_segments_add_and_clip_to_the_own_ranges() {
        let a = rendered(0, Some(-2), 2..4, vec![1.0; 6]);
        let b = rendered(2, Some(1), 1..3, vec![1.0; 4]);
        let pcm = render_pcm(&[a, b]).unwrap();
        assert_eq!(pcm.start, 0);
        assert_eq!(pcm.samples, [1.0, 2.0, 2.0, 2.0]);
    }

    #[test]
    fn a_lead_adds_into_the_presented_range_and_owns_nothing() {
        let lead = Rendered {
            lead: true,
            ..rendered(0, Some(-2), 2..4, vec![1.0; 6])
        };
        let b = rendered(2, Some(1), 1..3, vec![1.0; 4]);
        let pcm = render_pcm(&[lead.clone(), b.clone()]).unwrap();
        // b owns 2..4; the lead's tail (positions 1..4) adds into it.
        assert_eq!(pcm.start, 2);
        assert_eq!(pcm.samples, [2.0, 2.0]);
        assert_eq!(render_pcm(&[b]).unwrap().samples, [1.0, 1.0]);
        assert_eq!(render_pcm(&[lead]).unwrap(), Pcm::default());
    }

    #[test]
    fn untimed_segments_go_at_their_timestamp() {
        let a = rendered(0, None, 0..2, vec![1.0, 2.0]);
        let b = rendered(2, None, 0..2, vec![3.0, 4.0]);
        assert_eq!(render_pcm(&[a, b]).unwrap().samples, [1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn far_apart_segments_are_refused_naming_the_blocks_at_either_end() {
        let at = |index, ts_ms, start| Rendered {
            index,
            ..rendered(ts_ms, Some(start), 0..2, vec![1.0; 2])
        };
        let (a, b, c) = (at(4, 80, 0), at(5, 100, 2), at(6, 120, i64::MAX / 2));
        let err = render_pcm(&[a.clone(), b.clone(), c]).unwrap_err();
        assert!(
            matches!(
                err,
                Error::TimingGaps {
                    first_block: 4,
                    first_ms: 80,
                    last_block: 6,
                    last_ms: 120,
                    span,
                    held: 6,
                } if span == (i64::MAX / 2 + 2) as u64
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "blocks 4 at 80 ms to 6 at 120 ms span {} samples but render 6: \
                 their timing leaves gaps",
                i64::MAX / 2 + 2
            )
        );
        // A gap no longer than the samples is filled with silence.
        let d = Rendered {
            index: 7,
            ..rendered(140, Some(6), 0..2, vec![1.0; 4])
        };
        let pcm = render_pcm(&[a, b, d]).unwrap();
        assert_eq!(pcm.samples, [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]);
    }
}
