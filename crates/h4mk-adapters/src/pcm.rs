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
        self.samples.iter().map(|&s| sample_to_i16(s)).collect()
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

/// A sample as a 16-bit integer: scaled by 32768, rounded and clipped.
pub(crate) fn sample_to_i16(s: f32) -> i16 {
    (s * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16
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
/// This is [`PcmMix`] over a slice; the errors are its own.
pub fn render_pcm(outputs: &[Rendered<PcmSegment>]) -> Result<Pcm> {
    // All the samples are at hand, so the segments may come in any order.
    let mut mix = PcmMix {
        held: outputs.iter().map(|r| r.output.samples.len() as u64).sum(),
        ..PcmMix::default()
    };
    for r in outputs {
        mix.add(r)?;
    }
    Ok(mix.finish())
}

/// How many times the samples held the range a mix spans may be: blocks placed back to back
/// at timestamps rounded to the millisecond leave small gaps that later blocks make up for, so
/// a mix that checks as segments come needs room beyond what it has seen, while what hostile
/// timing can make it allocate stays within a constant factor of what it renders.
const GAP_ALLOWANCE: u64 = 2;

/// [`render_pcm`] one segment at a time: each is added into the signal as it comes and can be
/// dropped, so a decode holds its output and the few segments still to come, not every
/// segment of the plan (feed it from [`crate::decode_plan_each`]).
///
/// Segments added in the same order give the same samples, bit for bit, as `render_pcm`.
/// They must share a sample rate ([`Error::Mismatch`]), and the range the mix spans (what the
/// segments' samples cover and what the presented ones own, from position 0 on) may not be
/// longer than twice the samples of the segments added so far ([`Error::TimingGaps`], naming
/// the blocks at either end), which bounds what hostile timestamps can make it allocate.
/// `render_pcm` counts every segment's samples from the start. So segments must come in
/// presentation order, as `decode_plan_each` hands them over: a wide gap that a B-block
/// decoded later would fill is refused.
#[derive(Debug, Default)]
pub struct PcmMix {
    /// The first segment's, which every other must share.
    sample_rate: Option<u32>,
    /// The sum so far; `samples[0]` is at stream position `origin`. It covers at least
    /// `span`, and may reach before it by slack left for segments that start earlier.
    samples: Vec<f32>,
    origin: i64,
    /// What the added segments cover (from position 0 on), with the blocks that set either
    /// end; `None` before the first segment with samples at or after position 0.
    span: Option<Span>,
    /// What the presented segments own, from position 0 on; `None` while only leads came.
    own: Option<(i64, i64)>,
    /// Samples added so far, leads included.
    added: u64,
    /// Samples the caller vouches will be added in all ([`render_pcm`] knows them up front).
    held: u64,
}

/// A range of stream positions and the blocks (index, timestamp) that set its ends.
#[derive(Clone, Copy, Debug)]
struct Span {
    lo: i64,
    hi: i64,
    first: (usize, u32),
    last: (usize, u32),
}

impl PcmMix {
    /// Adds one rendered segment into the mix. A segment refused (a sample rate that differs,
    /// timing that leaves too wide a gap) leaves the mix as it was. A lead's samples count in
    /// the span like any others, so a lead far from the presented segments is refused, not
    /// skipped.
    pub fn add(&mut self, r: &Rendered<PcmSegment>) -> Result<()> {
        let seg = &r.output;
        let sample_rate = self.sample_rate.unwrap_or(seg.sample_rate);
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
        let at = |offset: usize| {
            i64::try_from(offset)
                .ok()
                .and_then(|o| pos.checked_add(o))
                .ok_or(Error::Parameter("segment position overflows"))
        };
        let (own_lo, own_hi) = (at(seg.own.start)?.max(0), at(seg.own.end)?);
        let added = self.added + seg.samples.len() as u64;
        let held = self.held.max(added);
        // What this segment claims from position 0 on: its samples and, when presented, the
        // range it owns (which an adapter may declare past its samples: silence), even empty.
        let (ext_lo, ext_hi) = (pos.max(0), at(seg.samples.len())?);
        let mut claim = (ext_lo < ext_hi).then_some((ext_lo, ext_hi));
        let mut own = self.own;
        if !r.lead {
            own = Some(own.map_or((own_lo, own_hi), |(a, b)| (a.min(own_lo), b.max(own_hi))));
            let (o_lo, o_hi) = (own_lo, own_hi.max(own_lo));
            claim = Some(claim.map_or((o_lo, o_hi), |(lo, hi)| (lo.min(o_lo), hi.max(o_hi))));
        }
        let mut span = self.span;
        if let Some((lo, hi)) = claim {
            let block = (r.index, r.ts_ms);
            let s = span.get_or_insert(Span {
                lo,
                hi,
                first: block,
                last: block,
            });
            if lo < s.lo {
                (s.lo, s.first) = (lo, block);
            }
            if hi > s.hi {
                (s.hi, s.last) = (hi, block);
            }
            let len = u64::try_from(s.hi.saturating_sub(s.lo)).unwrap_or(u64::MAX);
            if len > held.saturating_mul(GAP_ALLOWANCE) {
                // Refused: the mix is left as it was.
                return Err(Error::TimingGaps {
                    first_block: s.first.0,
                    first_ms: s.first.1,
                    last_block: s.last.0,
                    last_ms: s.last.1,
                    span: len,
                    held,
                });
            }
        }
        self.sample_rate = Some(sample_rate);
        (self.added, self.own, self.span) = (added, own, span);
        let Some(span) = span else {
            return Ok(());
        };
        self.cover(span.lo, span.hi);
        // Where the segment's samples from position 0 on land, and how many come before it.
        let at = usize::try_from(ext_lo - self.origin).unwrap_or(0);
        let skip = usize::try_from(ext_lo.abs_diff(pos)).unwrap_or(usize::MAX);
        let src = seg.samples.get(skip..).unwrap_or(&[]);
        let dst = self.samples.get_mut(at..).unwrap_or(&mut []);
        for (d, s) in dst.iter_mut().zip(src) {
            *d += s;
        }
        Ok(())
    }

    /// Grows the buffer to cover `lo..hi`, which the caller checked against the samples held;
    /// growth at the front doubles, so segments that each start a little earlier cost
    /// amortised constant time.
    fn cover(&mut self, lo: i64, hi: i64) {
        if self.samples.is_empty() {
            self.origin = lo;
        }
        if lo < self.origin {
            let need = usize::try_from(self.origin - lo).unwrap_or(0);
            let grow = need
                .max(self.samples.len())
                .min(usize::try_from(self.origin).unwrap_or(0));
            let mut grown = vec![0.0f32; grow];
            grown.extend_from_slice(&self.samples);
            self.samples = grown;
            self.origin -= grow as i64;
        }
        let end = usize::try_from(hi - self.origin).unwrap_or(0);
        if end > self.samples.len() {
            self.samples.resize(end, 0.0);
        }
    }

    /// The signal over what the presented segments own: empty (sample rate 0) when none was
    /// added.
    pub fn finish(self) -> Pcm {
        let Some((lo, hi)) = self.own.filter(|(lo, hi)| lo <= hi) else {
            return Pcm::default();
        };
        let mut samples = self.samples;
        let front = usize::try_from(lo - self.origin).unwrap_or(0);
        let len = usize::try_from(hi - lo).unwrap_or(0);
        samples.drain(..front.min(samples.len()));
        samples.resize(len, 0.0);
        Pcm {
            sample_rate: self.sample_rate.unwrap_or(0),
            start: lo as u64,
            samples,
        }
    }
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
                "blocks 4 at 80 ms to 6 at 120 ms span {} samples, more than twice the 6 \
                 they render: their timing leaves gaps",
                i64::MAX / 2 + 2
            )
        );
        // A span up to twice the samples held is filled with silence: 8 samples held, so
        // 0..16.
        let a = Rendered {
            index: 4,
            ..rendered(80, Some(0), 0..2, vec![1.0; 4])
        };
        let d = at(7, 140, 14);
        let pcm = render_pcm(&[a.clone(), b.clone(), d]).unwrap();
        let mut want = vec![1.0, 1.0, 2.0, 2.0];
        want.extend([0.0; 10]);
        want.extend([1.0, 1.0]);
        assert_eq!(pcm.samples, want);
        // One sample further is a gap too many.
        let e = at(7, 140, 15);
        assert!(matches!(
            render_pcm(&[a, b, e]),
            Err(Error::TimingGaps {
                span: 17,
                held: 8,
                ..
            })
        ));
    }

    fn presented(
        index: usize,
        start: i64,
        own: Range<usize>,
        samples: usize,
    ) -> Rendered<PcmSegment> {
        Rendered {
            index,
            ..rendered(0, Some(start), own, vec![1.0; samples])
        }
    }

    #[test]
    fn an_owned_range_before_the_samples_is_silence_before_them() {
        // The first segment owns nothing, at position 0: the output starts there.
        let segs = [presented(0, -5, 5..5, 5), presented(1, 5, 0..10, 10)];
        let mut want = vec![0.0; 5];
        want.extend([1.0; 10]);
        for pcm in [render_pcm(&segs).unwrap(), mix(&segs).unwrap()] {
            assert_eq!((pcm.start, &pcm.samples), (0, &want));
        }
    }

    #[test]
    fn owned_ranges_count_against_the_samples_held_even_empty_ones() {
        // Ten samples, and an empty range owned far away: refused, not allocated.
        let far = [
            presented(0, 0, 0..10, 10),
            presented(1, 10_000_000, 0..0, 0),
        ];
        assert!(matches!(render_pcm(&far), Err(Error::TimingGaps { .. })));
        // Nothing held at all, owned ranges at the ends of the stream: refused, no panic.
        let ends = [
            presented(0, 0, 0..0, 0),
            presented(1, 0, (1 << 62)..(1 << 62), 0),
        ];
        assert!(matches!(render_pcm(&ends), Err(Error::TimingGaps { .. })));
        // An owned range past the samples is silence, within the allowance.
        let past = [presented(0, 0, 1..19, 18)];
        let pcm = render_pcm(&past).unwrap();
        assert_eq!((pcm.start, pcm.samples.len()), (1, 18));
        assert_eq!(pcm.samples[17], 0.0);
    }

    #[test]
    fn a_segment_at_the_lowest_position_adds_nothing() {
        // Its samples all lie before the stream; the offset to the first one at 0 overflowed.
        let segs = [presented(1, 0, 0..4, 4), presented(0, i64::MIN, 0..0, 3)];
        let pcm = render_pcm(&segs).unwrap();
        assert_eq!((pcm.start, pcm.samples), (0, vec![1.0; 4]));
    }

    #[test]
    fn a_refused_segment_leaves_the_mix_as_it_was() {
        let mut m = PcmMix::default();
        m.add(&presented(0, 0, 0..10, 10)).unwrap();
        let far = presented(1, 10_000_000, 0..0, 0);
        assert!(matches!(m.add(&far), Err(Error::TimingGaps { .. })));
        // Not 10,000,000 samples of silence for the range the refused segment owned.
        assert_eq!(m.finish().samples, [1.0; 10]);
    }

    fn mix(segs: &[Rendered<PcmSegment>]) -> Result<Pcm> {
        let mut m = PcmMix::default();
        for s in segs {
            m.add(s)?;
        }
        Ok(m.finish())
    }
}
