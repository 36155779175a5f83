//! PCM buffers and the overlap-add that joins the per-block output of
//! [`DspAdapter`](crate::DspAdapter) into one signal.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;

use crate::adapter::{Present, Rendered};
use crate::error::{Error, Result};
#[cfg(feature = "dsp")]
use crate::registry::Shape;

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
        Self::duration(self.samples.len() as u64, self.sample_rate)
    }

    /// Duration in seconds of `samples` at `sample_rate` (0 at rate 0).
    pub fn duration(samples: u64, sample_rate: u32) -> f64 {
        if sample_rate == 0 {
            0.0
        } else {
            samples as f64 / f64::from(sample_rate)
        }
    }
}

/// A sample as a 16-bit integer: scaled by 32768, rounded and clipped.
pub(crate) fn sample_to_i16(s: f32) -> i16 {
    sample_to_i16_clipping(s).0
}

/// [`sample_to_i16`], and whether it clipped `s`: scaled and rounded, it was past a 16-bit
/// integer.
pub(crate) fn sample_to_i16_clipping(s: f32) -> (i16, bool) {
    let scaled = (s * 32_768.0).round();
    let clipped = !(-32_768.0..=32_767.0).contains(&scaled);
    (scaled.clamp(-32_768.0, 32_767.0) as i16, clipped)
}

/// The PCM one block renders to: its frames, windowed and overlap-added, including the tail
/// that overlaps the next block.
#[derive(Clone, Debug, PartialEq)]
pub struct PcmSegment {
    /// Samples per second.
    pub sample_rate: u32,
    /// Stream position of `samples[0]` (negative for the first block, whose first frame starts
    /// before the signal), or `None` when the format carries no timing (DSP0): then the
    /// segment is placed at its block's timestamp. A mix moves every timed segment by the
    /// whole milliseconds between the first one's timestamp and the time its first owned
    /// sample implies (0 when they agree, docs/ADAPTERS.md §3.6), so the timestamps decide
    /// where a track sits in time.
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
    let mut mix = PcmMix::default();
    for r in outputs {
        mix.add(r)?;
    }
    mix.finish()
}

/// How many times the samples rendered the range a mix spans may be: blocks placed back to
/// back at timestamps rounded to the millisecond leave small gaps, and a decode of a track
/// some blocks were dropped from (by `salvage`, say) has wider ones, while what hostile timing
/// can make a mix allocate stays within a constant factor of what it renders.
const GAP_ALLOWANCE: u64 = 2;

/// [`render_pcm`] one segment at a time: each is added into the signal as it comes and can be
/// dropped, so a decode holds its output and the few segments still to come, not every
/// segment of the plan (feed it from [`crate::decode_plan_each`]).
///
/// Segments may come in any order, and give the same samples, bit for bit, as `render_pcm`
/// given them in the same order. They must share a sample rate ([`Error::Mismatch`], when added), and the range
/// the mix spans (what the segments' samples cover and what the presented ones own, from
/// position 0 on) may not be longer than twice the samples of all the segments added
/// ([`Error::TimingGaps`] from [`finish`](PcmMix::finish), naming the blocks at either end),
/// which bounds what hostile timestamps can make it allocate. Until then the mix holds only
/// the samples segments cover, in runs, so a gap costs nothing before it is known to be
/// justified by the segments on either side of it and after it.
#[derive(Debug, Default)]
pub struct PcmMix {
    layout: Layout,
    /// The sums so far, by position (each keyed by its origin), neither overlapping nor
    /// touching: each covers exactly the positions segments added cover, so what is held is
    /// at most what was added, gaps or not. A map, so that segments placed out of order
    /// (timing a file sets) cost a lookup each, not a shift of every run after them.
    runs: BTreeMap<i64, Run>,
}

/// Sums over contiguous stream positions: `samples[0]` is at `origin` (at least 0). A ring
/// buffer, so that segments that each start a little before a run grow it at the front in
/// amortised constant time per sample, with no room reserved beyond what they cover.
#[derive(Debug)]
struct Run {
    origin: i64,
    samples: VecDeque<f32>,
}

impl Run {
    fn end(&self) -> i64 {
        self.origin.saturating_add(self.samples.len() as i64)
    }

    /// Adds `src` into the samples from position `lo` on (within the run).
    fn add(&mut self, lo: i64, src: &[f32]) {
        let at = usize::try_from(lo - self.origin).unwrap_or(0);
        let (front, back) = self.samples.as_mut_slices();
        let in_front = front.get_mut(at..).unwrap_or(&mut []);
        let (src_front, src_back) = src.split_at(in_front.len().min(src.len()));
        for (d, s) in in_front.iter_mut().zip(src_front) {
            *d += s;
        }
        let at_back = at.saturating_sub(front.len());
        for (d, s) in back
            .get_mut(at_back..)
            .unwrap_or(&mut [])
            .iter_mut()
            .zip(src_back)
        {
            *d += s;
        }
    }
}

impl PcmMix {
    /// A mix whose output is cut to the times [`Present::Cut`] gives, or the default mix, which
    /// keeps what the presented segments own, for any other `present`.
    pub fn for_present(present: Present) -> Self {
        PcmMix::placed(present, None)
    }

    /// [`PcmMix::for_present`] for a track whose offset is `offset_ms` when it is given (from
    /// its first block), rather than the first timed segment's ([`pts_offset_ms`]).
    pub(crate) fn placed(present: Present, offset_ms: Option<i64>) -> Self {
        PcmMix {
            layout: Layout::new(present, offset_ms),
            runs: BTreeMap::new(),
        }
    }

    /// Adds one rendered segment into the mix. A segment refused (a sample rate that differs,
    /// a position that overflows) leaves the mix as it was. A lead's samples count in the span
    /// like any others, so a lead far from the presented segments is refused, not skipped.
    pub fn add(&mut self, r: &Rendered<PcmSegment>) -> Result<()> {
        let seg = &r.output;
        let placed = self.layout.place(r.index, r.ts_ms, r.lead, &seg.extent())?;
        let src = seg.samples.get(placed.skip..).unwrap_or(&[]);
        if src.is_empty() {
            return Ok(());
        }
        let origin = self.cover(placed.lo, placed.lo.saturating_add(src.len() as i64));
        if let Some(run) = self.runs.get_mut(&origin) {
            run.add(placed.lo, src);
        }
        Ok(())
    }

    /// The origin of the run that holds `lo..hi` (the samples of a segment, from position 0
    /// on): a new one, or the runs that overlap or touch it merged into the longest of them,
    /// so that each sample is moved a few times at most.
    fn cover(&mut self, lo: i64, hi: i64) -> i64 {
        // Runs are disjoint and sorted: those that start by `hi`, back to the first that ends
        // before `lo`, overlap or touch `lo..hi`.
        let touching: Vec<i64> = self
            .runs
            .range(..=hi)
            .rev()
            .take_while(|(_, r)| r.end() >= lo)
            .map(|(&origin, _)| origin)
            .collect();
        let mut merged: Vec<Run> = touching
            .iter()
            .filter_map(|origin| self.runs.remove(origin))
            .collect();
        let lo = merged.iter().map(|r| r.origin).fold(lo, i64::min);
        let hi = merged.iter().map(Run::end).fold(hi, i64::max);
        let longest = merged
            .iter()
            .enumerate()
            .max_by_key(|(_, r)| r.samples.len())
            .map(|(i, _)| i);
        let mut base = match longest {
            Some(i) => merged.swap_remove(i),
            None => Run {
                origin: lo,
                samples: VecDeque::new(),
            },
        };
        // The runs merged and the segment cover `lo..hi` between them: no gap is filled.
        let front = usize::try_from(base.origin - lo).unwrap_or(0);
        for _ in 0..front {
            base.samples.push_front(0.0);
        }
        base.origin = lo;
        base.samples
            .resize(usize::try_from(hi - lo).unwrap_or(0), 0.0);
        for r in merged {
            // Runs do not overlap, so these samples of the base are still silence.
            let at = usize::try_from(r.origin - lo).unwrap_or(0);
            for (d, s) in base.samples.iter_mut().skip(at).zip(&r.samples) {
                *d = *s;
            }
        }
        self.runs.insert(lo, base);
        lo
    }

    /// The signal over what the presented segments own: empty (sample rate 0) when none was
    /// added, [`Error::TimingGaps`] when it spans more than twice the samples added.
    pub fn finish(self) -> Result<Pcm> {
        self.layout.check()?;
        let Some((lo, hi)) = self.layout.output() else {
            return Ok(Pcm::default());
        };
        let len = usize::try_from(hi - lo).unwrap_or(0);
        let mut runs = self.runs;
        // The longest run becomes the output, so that the usual single run is not copied.
        let longest = runs
            .values()
            .max_by_key(|r| r.samples.len())
            .map(|r| r.origin);
        let (origin, mut samples) = match longest.and_then(|origin| runs.remove(&origin)) {
            Some(run) => (run.origin, Vec::from(run.samples)),
            None => (lo, Vec::new()),
        };
        if origin < lo {
            let front = usize::try_from(lo - origin).unwrap_or(0);
            samples.drain(..front.min(samples.len()));
        }
        samples.truncate(usize::try_from(hi - origin.max(lo)).unwrap_or(0));
        if origin > lo {
            let front = usize::try_from(origin - lo).unwrap_or(0).min(len);
            samples.splice(0..0, std::iter::repeat_n(0.0, front));
        }
        samples.resize(len, 0.0);
        for run in runs.values() {
            // The part of the run inside `lo..hi`, copied to its place.
            let (from, to) = (run.origin.max(lo), run.end().min(hi));
            let (Ok(skip), Ok(at), Ok(n)) = (
                usize::try_from(from - run.origin),
                usize::try_from(from - lo),
                usize::try_from(to - from),
            ) else {
                continue;
            };
            let dst = samples.get_mut(at..).unwrap_or(&mut []);
            for (d, s) in dst.iter_mut().zip(run.samples.iter().skip(skip).take(n)) {
                *d = *s;
            }
        }
        Ok(Pcm {
            sample_rate: self.layout.sample_rate.unwrap_or(0),
            start: lo as u64,
            samples,
        })
    }
}

/// Where a segment's samples go, without the samples: what [`PcmMix`] checks and places, and
/// what an adapter can tell of a state before rendering it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SegmentExtent {
    pub(crate) sample_rate: u32,
    /// As [`PcmSegment::start`].
    pub(crate) start: Option<i64>,
    /// As [`PcmSegment::own`].
    pub(crate) own: Range<usize>,
    /// How many samples the segment renders.
    pub(crate) len: usize,
}

impl PcmSegment {
    #[cfg(feature = "dsp")]
    /// `samples` placed as `extent` says (whose `len` is their count).
    pub(crate) fn rendered(extent: SegmentExtent, samples: Vec<f32>) -> Self {
        PcmSegment {
            sample_rate: extent.sample_rate,
            start: extent.start,
            own: extent.own,
            samples,
        }
    }

    pub(crate) fn extent(&self) -> SegmentExtent {
        SegmentExtent {
            sample_rate: self.sample_rate,
            start: self.start,
            own: self.own.clone(),
            len: self.samples.len(),
        }
    }
}

/// The geometry of a mix: the segments' sample rate, span and owned range, the sample rate
/// checked as each comes and the span once all have ([`PcmMix`] for the rules). The same
/// segments placed in the same order give the same answers, with or without their samples.
#[derive(Clone, Debug, Default)]
struct Layout {
    /// The first segment's, which every other must share.
    sample_rate: Option<u32>,
    /// The track's offset in milliseconds ([`pts_offset_ms`]): given, or the first timed
    /// segment's.
    offset_ms: Option<i64>,
    /// What the added segments cover (from position 0 on), with the blocks that set either
    /// end; `None` before the first segment with samples at or after position 0.
    span: Option<Span>,
    /// What the presented segments own, from position 0 on; `None` while only leads came.
    own: Option<(i64, i64)>,
    /// Samples added so far, leads included.
    added: u64,
    /// The times the output is cut to, in milliseconds ([`Present::Cut`]).
    cut: Option<(u32, u32)>,
}

/// The stream position of a time, in whole samples (rounded down).
fn position_of(ms: u32, sample_rate: u32) -> i64 {
    (u64::from(ms) * u64::from(sample_rate) / 1000) as i64
}

/// How far a timed segment's timestamp moves it: the whole milliseconds from the time of the
/// first sample it owns (rounded down, as the DSP1 encoder derives a block's timestamp) to
/// its timestamp. 0 for every block whose timestamp its position gives, rounded down, to the
/// nearest or up: an offset of 0 or 1 ms is how an encoder rounded, not a move. `None` when it
/// does not fit.
///
/// The container's timestamps are the authority on where a block sits in time, the codec's
/// positions only within that: a track whose timestamps were all moved (`h4mk remux
/// --start-at-zero`) decodes moved as well. A track has one offset ([`Layout`]), by which
/// every segment moves, so that the track decodes as one piece, whatever the rounding of
/// each block's timestamp (an encoder that adds up a rounded block duration drifts from the
/// positions by a millisecond every few blocks): its first block's when the decoder was told
/// it (`NamedDecoder::set_first_block`), so that every decode of the track agrees, or else
/// the first timed segment's placed.
pub(crate) fn pts_offset_ms(
    start: i64,
    own_start: usize,
    ts_ms: u32,
    sample_rate: u32,
) -> Option<i64> {
    if sample_rate == 0 {
        return Some(0);
    }
    let owned = (i128::from(start) + i128::try_from(own_start).ok()?).max(0);
    let offset_ms = i128::from(ts_ms) - owned * 1000 / i128::from(sample_rate);
    if (0..=1).contains(&offset_ms) {
        return Some(0);
    }
    i64::try_from(offset_ms).ok()
}

/// The samples an offset of `offset_ms` moves a segment by: rounded down, so that the same
/// offset moves every track alike.
fn offset_samples(offset_ms: i64, sample_rate: u32) -> Option<i64> {
    i64::try_from((i128::from(offset_ms) * i128::from(sample_rate)).div_euclid(1000)).ok()
}

/// A range of stream positions and the blocks (index, timestamp) that set its ends.
#[derive(Clone, Copy, Debug)]
struct Span {
    lo: i64,
    hi: i64,
    first: (usize, u32),
    last: (usize, u32),
}

/// Where a placed segment's samples land: those from `skip` on (the ones before position 0
/// are dropped) go from stream position `lo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Placed {
    lo: i64,
    skip: usize,
}

impl Layout {
    /// Checks the segment of block `index` at `ts_ms` and adds it to the geometry; a segment
    /// refused leaves the layout as it was.
    fn place(
        &mut self,
        index: usize,
        ts_ms: u32,
        lead: bool,
        seg: &SegmentExtent,
    ) -> Result<Placed> {
        let sample_rate = self.sample_rate.unwrap_or(seg.sample_rate);
        if seg.sample_rate != sample_rate {
            // Said of the block, which a plan's error then names by its offset: a rate that
            // changed between two keyframes named no block (an adversarial review).
            return Err(Error::InBlock {
                index,
                ts_ms,
                source: Box::new(Error::Mismatch {
                    what: "sample rate",
                    block: seg.sample_rate.into(),
                    reference: sample_rate.into(),
                }),
            });
        }
        const OVERFLOW: Error = Error::Parameter("segment position overflows");
        let (pos, offset_ms) = match seg.start {
            Some(p) => {
                let track = match self.offset_ms {
                    Some(track) => track,
                    None => pts_offset_ms(p, seg.own.start, ts_ms, sample_rate).ok_or(OVERFLOW)?,
                };
                let shift = offset_samples(track, sample_rate).ok_or(OVERFLOW)?;
                (p.checked_add(shift).ok_or(OVERFLOW)?, Some(track))
            }
            None => (position_of(ts_ms, sample_rate), self.offset_ms),
        };
        let at = |offset: usize| {
            i64::try_from(offset)
                .ok()
                .and_then(|o| pos.checked_add(o))
                .ok_or(OVERFLOW)
        };
        let (own_lo, own_hi) = (at(seg.own.start)?.max(0), at(seg.own.end)?);
        let added = self.added.saturating_add(seg.len as u64);
        // What this segment claims from position 0 on: its samples and, when presented, the
        // range it owns (which an adapter may declare past its samples: silence), even empty.
        let (ext_lo, ext_hi) = (pos.max(0), at(seg.len)?);
        let mut claim = (ext_lo < ext_hi).then_some((ext_lo, ext_hi));
        let mut own = self.own;
        if !lead {
            own = Some(own.map_or((own_lo, own_hi), |(a, b)| (a.min(own_lo), b.max(own_hi))));
            let (o_lo, o_hi) = (own_lo, own_hi.max(own_lo));
            claim = Some(claim.map_or((o_lo, o_hi), |(lo, hi)| (lo.min(o_lo), hi.max(o_hi))));
        }
        let mut span = self.span;
        if let Some((lo, hi)) = claim {
            let block = (index, ts_ms);
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
        }
        (self.sample_rate, self.offset_ms) = (Some(sample_rate), offset_ms);
        (self.added, self.own, self.span) = (added, own, span);
        Ok(Placed {
            lo: ext_lo,
            skip: usize::try_from(ext_lo.abs_diff(pos)).unwrap_or(usize::MAX),
        })
    }

    /// Refuses a span longer than [`GAP_ALLOWANCE`] times the samples added: checked once
    /// every segment has come, so that a gap the segments after it justify is silence.
    /// Of a cut ([`Present::Cut`]), only what the output can hold counts: a gap outside it
    /// costs nothing.
    fn check(&self) -> Result<()> {
        let Some(s) = self.span else {
            return Ok(());
        };
        let (lo, hi) = self.within_cut(s.lo, s.hi);
        let len = u64::try_from(hi.saturating_sub(lo).max(0)).unwrap_or(u64::MAX);
        if len > self.added.saturating_mul(GAP_ALLOWANCE) {
            return Err(Error::TimingGaps {
                first_block: s.first.0,
                first_ms: s.first.1,
                last_block: s.last.0,
                last_ms: s.last.1,
                span: len,
                held: self.added,
            });
        }
        Ok(())
    }

    /// A layout whose output is cut as `present` asks ([`Present::Cut`]), or not at all, for a
    /// track whose offset is `offset_ms`, or the first timed segment's when `None`
    /// ([`pts_offset_ms`]).
    fn new(present: Present, offset_ms: Option<i64>) -> Self {
        let cut = match present {
            Present::Cut { from_ms, to_ms, .. } => Some((from_ms, to_ms)),
            _ => None,
        };
        Layout {
            cut,
            offset_ms,
            ..Layout::default()
        }
    }

    /// The stream positions the output covers: what the presented segments own, within the
    /// cut, or `None` when no presented segment came or none owns a position of the cut (the
    /// output is then empty, at sample rate 0).
    fn output(&self) -> Option<(i64, i64)> {
        let (lo, hi) = self.own?;
        let (lo, hi) = self.within_cut(lo, hi);
        (lo <= hi).then_some((lo, hi))
    }

    /// The positions `lo..hi` within the cut, if there is one (empty when `lo > hi` then).
    fn within_cut(&self, lo: i64, hi: i64) -> (i64, i64) {
        match (self.cut, self.sample_rate) {
            (Some((from, to)), Some(rate)) => (
                lo.max(position_of(from, rate)),
                hi.min(position_of(to, rate)),
            ),
            _ => (lo, hi),
        }
    }
}

/// The output of a plan, laid out from its segments' extents before any is rendered: a
/// [`PcmStream`] then hands the samples over in order as soon as no later segment can add to
/// them, instead of holding the whole signal.
#[cfg(feature = "dsp")]
#[derive(Clone, Debug)]
pub(crate) struct PcmPlan {
    layout: Layout,
    /// For each segment, in the order added: where its samples land.
    landing: Vec<Landing>,
}

/// Where a segment's samples land: `count` of them, from its sample `placed.skip` on.
#[cfg(feature = "dsp")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Landing {
    placed: Placed,
    count: usize,
}

#[cfg(feature = "dsp")]
impl PcmPlan {
    /// A plan for the output [`PcmMix::placed`] gives.
    pub(crate) fn placed(present: Present, offset_ms: Option<i64>) -> Self {
        PcmPlan {
            layout: Layout::new(present, offset_ms),
            landing: Vec::new(),
        }
    }

    /// Adds the extent of the next segment, as [`PcmMix::add`] would add the segment.
    pub(crate) fn add(&mut self, r: &Rendered<SegmentExtent>) -> Result<()> {
        let placed = self.layout.place(r.index, r.ts_ms, r.lead, &r.output)?;
        let count = r.output.len.saturating_sub(placed.skip);
        self.landing.push(Landing { placed, count });
        Ok(())
    }

    /// What [`PcmMix::finish`] would give for the same segments, less the samples (or the
    /// error it would give): empty at sample rate 0 when no presented segment came.
    pub(crate) fn shape(&self) -> Result<Shape> {
        self.layout.check()?;
        let ((lo, hi), sample_rate) = match self.layout.output() {
            Some(range) => (range, self.layout.sample_rate.unwrap_or(0)),
            None => ((0, 0), 0),
        };
        Ok(Shape::Pcm {
            sample_rate,
            start: lo as u64,
            samples: hi.abs_diff(lo),
        })
    }

    /// A stream that renders this plan's output into `emit`; for a plan whose
    /// [`shape`](PcmPlan::shape) was given, so that the output is within the allowance.
    pub(crate) fn stream<F: FnMut(&[f32]) -> Result<()>>(&self, emit: F) -> PcmStream<'_, F> {
        // From the end: the lowest position any segment after each one lands a sample at.
        let mut release = vec![i64::MAX; self.landing.len()];
        let mut lowest = i64::MAX;
        for (slot, landing) in release.iter_mut().zip(&self.landing).rev() {
            *slot = lowest;
            if landing.count > 0 {
                lowest = lowest.min(landing.placed.lo);
            }
        }
        let (next, end) = self.layout.output().unwrap_or((0, 0));
        PcmStream {
            plan: self,
            release,
            sum: Vec::new(),
            head: 0,
            next,
            end,
            added: 0,
            #[cfg(test)]
            moved: 0,
            emit,
        }
    }
}

/// Renders a [`PcmPlan`]'s output from its segments, added in the plan's order: each sample
/// is handed to `emit` once no later segment lands on it, with the same value, bit for bit,
/// that [`PcmMix`] gives it. What is held is the sum over the positions not handed over yet.
#[cfg(feature = "dsp")]
pub(crate) struct PcmStream<'p, F> {
    plan: &'p PcmPlan,
    /// For each segment, the position below which nothing after it lands.
    release: Vec<i64>,
    /// The sum from stream position `next` on, from `sum[head]`: what is before `head` is
    /// handed over, and dropped once it is at least half the buffer, so that each sample is
    /// moved at most once on average however the output is released.
    sum: Vec<f32>,
    head: usize,
    /// The next position to hand over.
    next: i64,
    /// The end of the output.
    end: i64,
    /// Segments added so far.
    added: usize,
    /// Samples moved down the buffer when its handed-over front is dropped (for the test that
    /// they are moved about once each).
    #[cfg(test)]
    moved: u64,
    emit: F,
}

#[cfg(feature = "dsp")]
impl<F: FnMut(&[f32]) -> Result<()>> PcmStream<'_, F> {
    /// Adds the next segment and hands over what no later one lands on.
    pub(crate) fn add(&mut self, r: &Rendered<PcmSegment>) -> Result<()> {
        let k = self.added;
        let Some(&Landing { placed, count }) = self.plan.landing.get(k) else {
            return Err(Error::Parameter(
                "internal: more segments rendered than their extents",
            ));
        };
        let src = r.output.samples.get(placed.skip..).unwrap_or(&[]);
        if src.len() != count {
            return Err(Error::Parameter(
                "internal: a segment rendered other samples than its extent said",
            ));
        }
        // The part of the segment inside the output not handed over yet: the plan's release
        // points keep every in-range sample of it at or after `next`.
        let from = placed.lo.max(self.next);
        let to = placed.lo.saturating_add(count as i64).min(self.end);
        if from < to {
            let at = |pos: i64| self.head + (pos - self.next) as usize;
            let (a, b) = (at(from), at(to));
            if b > self.sum.len() {
                self.sum.resize(b, 0.0);
            }
            let src = src.get((from - placed.lo) as usize..).unwrap_or(&[]);
            for (d, s) in self
                .sum
                .get_mut(a..b)
                .unwrap_or(&mut [])
                .iter_mut()
                .zip(src)
            {
                *d += s;
            }
        }
        self.added += 1;
        let release = self.release.get(k).copied().unwrap_or(i64::MAX);
        self.hand_over(release.min(self.end))
    }

    /// Hands over every position before `upto`: the sum, then silence where no segment
    /// landed.
    fn hand_over(&mut self, upto: i64) -> Result<()> {
        let Some(count) = usize::try_from(upto.saturating_sub(self.next))
            .ok()
            .filter(|&c| c > 0)
        else {
            return Ok(());
        };
        let held = self.sum.get(self.head..).unwrap_or(&[]);
        let summed = count.min(held.len());
        (self.emit)(held.get(..summed).unwrap_or(&[]))?;
        self.head += summed;
        if 2 * self.head >= self.sum.len() {
            #[cfg(test)]
            {
                self.moved += (self.sum.len() - self.head) as u64;
            }
            self.sum.drain(..self.head);
            self.head = 0;
        }
        let mut silent = count - summed;
        while silent > 0 {
            let piece = silent.min(SILENCE.len());
            (self.emit)(SILENCE.get(..piece).unwrap_or(&[]))?;
            silent -= piece;
        }
        self.next = upto;
        Ok(())
    }

    /// Hands over the rest of the output; fails if fewer segments came than the plan holds.
    pub(crate) fn finish(mut self) -> Result<()> {
        if self.added != self.plan.landing.len() {
            return Err(Error::Parameter(
                "internal: fewer segments rendered than their extents",
            ));
        }
        self.hand_over(self.end)
    }
}

/// Silence handed over where no segment landed.
#[cfg(feature = "dsp")]
const SILENCE: [f32; 1024] = [0.0; 1024];

// Much of what they check (the plan, the stream) is the DSP codec's.
#[cfg(test)]
#[cfg(feature = "dsp")]
mod tests {
    use super::*;
    use h4mk_gop::BlockKind;
    use proptest::prelude::*;

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

    /// A presented segment of block `index` at the timestamp its owned range gives (at 1000
    /// samples a second, a sample is a millisecond).
    fn presented(
        index: usize,
        start: i64,
        own: Range<usize>,
        samples: usize,
    ) -> Rendered<PcmSegment> {
        let owned = start.saturating_add(own.start as i64).max(0);
        let ts_ms = u32::try_from(owned).unwrap_or(u32::MAX);
        Rendered {
            index,
            ..rendered(ts_ms, Some(start), own, vec![1.0; samples])
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
        let other_rate = Rendered {
            output: PcmSegment {
                sample_rate: 2000,
                ..presented(1, 10, 0..10, 10).output
            },
            ..presented(1, 10, 0..10, 10)
        };
        let refused = m.add(&other_rate).unwrap_err();
        assert!(
            matches!(refused, Error::InBlock { index: 1, ts_ms: 10, ref source } if matches!(**source, Error::Mismatch { .. })),
            "{refused:?}"
        );
        assert_eq!(m.finish().unwrap().samples, [1.0; 10]);
    }

    #[test]
    fn a_gap_is_held_as_nothing_until_the_mix_knows_it_is_justified() {
        let mut m = PcmMix::default();
        m.add(&presented(0, 0, 0..10, 10)).unwrap();
        m.add(&presented(1, 10_000_000, 0..0, 0)).unwrap();
        m.add(&presented(2, 5_000_000, 0..10, 10)).unwrap();
        // Two runs of the samples added, not 10,000,000 samples of silence between them.
        let held: usize = m.runs.values().map(|r| r.samples.len()).sum();
        assert_eq!((m.runs.len(), held), (2, 20));
        assert!(matches!(
            m.finish(),
            Err(Error::TimingGaps {
                first_block: 0,
                last_block: 1,
                span: 10_000_000,
                held: 20,
                ..
            })
        ));
    }

    #[test]
    fn segments_far_apart_in_reverse_order_cost_a_lookup_each() {
        // Hostile timing: each segment before the last, none touching. Kept in a vector, each
        // run would shift every one after it (about 160 GB moved here); in a map it is placed.
        const N: i64 = 100_000;
        let mut m = PcmMix::default();
        for i in 0..N {
            let index = usize::try_from(i).unwrap();
            m.add(&presented(index, (N - i) * 1_000, 0..1, 1)).unwrap();
        }
        assert_eq!(m.runs.len(), 100_000);
        assert!(matches!(
            m.finish(),
            Err(Error::TimingGaps { held: 100_000, .. })
        ));
    }

    #[test]
    fn a_gap_early_in_a_track_is_silence_when_the_segments_after_it_justify_it() {
        // 10 samples, a gap of 30, then ten more segments of 10: 20 samples spanning 50 when
        // the second comes, 120 spanning 140 in all. Segments in any order, runs merging as
        // they meet.
        let at = |index: usize, start: i64| presented(index, start, 0..10, 10);
        let mut segs = vec![at(0, 0)];
        segs.extend((0..10).map(|j| at(j + 1, 40 + 10 * j as i64)));
        let mut want = vec![1.0; 10];
        want.extend([0.0; 30]);
        want.extend([1.0; 100]);
        let mut reversed = segs.clone();
        reversed.reverse();
        for segs in [&segs, &reversed] {
            let (streamed, _) = streamed(segs).unwrap();
            for pcm in [render_pcm(segs).unwrap(), mix(segs).unwrap(), streamed] {
                assert_eq!((pcm.start, &pcm.samples), (0, &want));
            }
        }
        // Without the last segment: 100 samples spanning 130, still within twice.
        assert_eq!(render_pcm(&segs[..10]).unwrap().samples.len(), 130);
        // Two segments alone spanning more than twice their samples are still refused.
        assert!(matches!(
            render_pcm(&[at(0, 0), at(1, 40)]),
            Err(Error::TimingGaps {
                span: 50,
                held: 20,
                ..
            })
        ));
    }

    fn mix(segs: &[Rendered<PcmSegment>]) -> Result<Pcm> {
        mix_for(segs, Present::All)
    }

    fn mix_for(segs: &[Rendered<PcmSegment>], present: Present) -> Result<Pcm> {
        let mut m = PcmMix::for_present(present);
        for s in segs {
            m.add(s)?;
        }
        m.finish()
    }

    /// The plan `segs`' extents lay out for `present`.
    fn plan_of(segs: &[Rendered<PcmSegment>], present: Present) -> Result<PcmPlan> {
        let mut plan = PcmPlan::placed(present, None);
        for s in segs {
            plan.add(&Rendered {
                index: s.index,
                ts_ms: s.ts_ms,
                kind: s.kind,
                output: s.output.extent(),
                lead: s.lead,
            })?;
        }
        Ok(plan)
    }

    /// What a plan laid out from `segs`' extents streams from `segs`, and the most samples
    /// the stream held at once.
    fn streamed(segs: &[Rendered<PcmSegment>]) -> Result<(Pcm, usize)> {
        streamed_for(segs, Present::All)
    }

    /// What [`streamed`] gives for a plan laid out for `present`.
    fn streamed_for(segs: &[Rendered<PcmSegment>], present: Present) -> Result<(Pcm, usize)> {
        let plan = plan_of(segs, present)?;
        let Shape::Pcm {
            sample_rate,
            start,
            samples: count,
        } = plan.shape()?
        else {
            panic!("a plan of samples");
        };
        let mut samples = Vec::new();
        let mut held = 0;
        let mut stream = plan.stream(|s| {
            samples.extend_from_slice(s);
            Ok(())
        });
        let first = stream.next;
        for s in segs {
            stream.add(s)?;
            held = held.max(stream.sum.len() - stream.head);
            // Dropping what is handed over moves no more samples than were handed over.
            assert!(stream.moved <= (stream.next - first) as u64);
        }
        stream.finish()?;
        assert_eq!(samples.len() as u64, count);
        let pcm = Pcm {
            sample_rate,
            start,
            samples,
        };
        Ok((pcm, held))
    }

    #[test]
    fn a_stream_holds_only_what_later_segments_still_reach() {
        // Segments of 100 samples, 50 apart, each owning its middle 50: as a DSP1 decode.
        let segs: Vec<_> = (0..1_000)
            .map(|j| presented(j, 50 * j as i64 - 25, 25..75, 100))
            .collect();
        let (pcm, held) = streamed(&segs).unwrap();
        assert_eq!(pcm, mix(&segs).unwrap());
        assert_eq!(pcm.samples.len(), 50_000);
        assert!(held <= 100, "held {held} samples");
        // A last segment that reaches back to the start keeps everything until it comes.
        let mut late = segs.clone();
        late.push(presented(1_000, 0, 0..0, 10));
        let (pcm, held) = streamed(&late).unwrap();
        assert_eq!(pcm, mix(&late).unwrap());
        assert!(held >= 49_000, "held {held} samples");
    }

    #[test]
    fn a_long_segment_held_while_short_ones_release_is_moved_once_not_each_time() {
        // One segment of 100,000 samples, then 1,000 of 8, each releasing 8 samples of the
        // long one: dropping the handed-over front each time moved the whole held rest.
        let mut segs = vec![presented(0, 0, 0..100_000, 100_000)];
        segs.extend((1..=1000).map(|j| presented(j, 8 * j as i64 - 8, 0..8, 8)));
        let (pcm, held) = streamed(&segs).unwrap();
        assert_eq!(pcm, mix(&segs).unwrap());
        assert!(held <= 100_000);
    }

    #[test]
    fn a_stream_whose_segments_differ_from_their_extents_is_refused() {
        let segs = [presented(0, 0, 0..4, 4), presented(1, 4, 0..4, 4)];
        let plan = plan_of(&segs, Present::All).unwrap();
        let mut stream = plan.stream(|_| Ok(()));
        stream.add(&segs[0]).unwrap();
        assert!(stream.add(&presented(1, 4, 0..4, 5)).is_err(), "longer");
        stream.add(&segs[1]).unwrap();
        assert!(
            stream.add(&presented(2, 8, 0..4, 4)).is_err(),
            "one too many"
        );
        let mut stream = plan.stream(|_| Ok(()));
        stream.add(&segs[0]).unwrap();
        assert!(stream.finish().is_err(), "one segment missing");
    }

    fn any_segment() -> impl Strategy<Value = Rendered<PcmSegment>> {
        (
            (
                0..20usize,
                0..150u32,
                proptest::option::weighted(0.8, -60..150i64),
            ),
            (0..60usize, 0..70usize, 0..20usize),
            (proptest::bool::weighted(0.2), any::<u64>()),
        )
            .prop_map(
                |((index, ts_ms, start), (len, own_at, own_len), (lead, seed))| {
                    let mut x = seed | 1;
                    let samples = (0..len)
                        .map(|_| {
                            x ^= x << 13;
                            x ^= x >> 7;
                            x ^= x << 17;
                            (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
                        })
                        .collect();
                    Rendered {
                        index,
                        ts_ms,
                        kind: BlockKind::Key,
                        output: PcmSegment {
                            sample_rate: 1000,
                            start,
                            own: own_at..own_at + own_len,
                            samples,
                        },
                        lead,
                    }
                },
            )
    }

    /// What a mix of `segs` gives, placed by the same layout but summed into one plain buffer:
    /// the model the runs of [`PcmMix`] must match, bit for bit (each sample sums the same
    /// segments in the same order).
    fn plain(segs: &[Rendered<PcmSegment>]) -> Result<Pcm> {
        let mut layout = Layout::default();
        let mut placed = Vec::new();
        for r in segs {
            let p = layout.place(r.index, r.ts_ms, r.lead, &r.output.extent())?;
            placed.push((p, &r.output.samples));
        }
        layout.check()?;
        let Some((lo, hi)) = layout.output() else {
            return Ok(Pcm::default());
        };
        let mut sum = vec![0.0f32; usize::try_from(hi - lo).unwrap()];
        for (p, samples) in placed {
            for (at, s) in (p.lo..).zip(samples.iter().skip(p.skip)) {
                if (lo..hi).contains(&at) {
                    sum[usize::try_from(at - lo).unwrap()] += s;
                }
            }
        }
        Ok(Pcm {
            sample_rate: layout.sample_rate.unwrap_or(0),
            start: lo as u64,
            samples: sum,
        })
    }

    /// One-sample segments, each just before the front of what the mix holds: with room
    /// reserved at the front that doubled each time, 24 of them made a run of 2^24 samples
    /// (and DSP1 blocks laid out so took 6 GB at 28 blocks) before the gap check at the end.
    #[test]
    fn a_mix_holds_no_more_than_its_segments_cover() {
        let one = |index: usize, start: i64| presented(index, start, 0..1, 1);
        let mut m = PcmMix::default();
        m.add(&one(0, 1 << 31)).unwrap();
        for k in 1..=24 {
            let front = *m.runs.keys().next().unwrap();
            m.add(&one(k, front - 1)).unwrap();
        }
        let held: usize = m.runs.values().map(|r| r.samples.len()).sum();
        assert_eq!(held, 25);
        assert_eq!(m.finish().unwrap().samples, [1.0; 25]);
    }

    proptest! {
        /// Segments in any order, dense or spread, leads among them: the runs sum what one
        /// plain buffer sums.
        #[test]
        fn a_mix_sums_what_a_plain_buffer_sums(
            segs in proptest::collection::vec(any_segment(), 0..16),
            dense in proptest::collection::vec((0..120i64, 1..12usize, any::<bool>()), 0..40),
        ) {
            let packed: Vec<Rendered<PcmSegment>> = dense
                .iter()
                .enumerate()
                .map(|(i, &(start, len, lead))| Rendered {
                    lead: lead && i > 0,
                    ..presented(i, start, 0..len, len)
                })
                .collect();
            for segs in [&segs, &packed] {
                match (mix(segs), plain(segs)) {
                    (Ok(got), Ok(want)) => {
                        let bits = |p: &Pcm| p.samples.iter().map(|s| s.to_bits()).collect::<Vec<_>>();
                        prop_assert_eq!(bits(&got), bits(&want));
                        prop_assert_eq!((got.sample_rate, got.start), (want.sample_rate, want.start));
                    }
                    (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
                    (a, b) => prop_assert!(false, "mix {:?}, plain buffer {:?}", a, b),
                }
            }
        }

        /// In any order, with leads, gaps and segments reaching back before earlier ones, the
        /// stream hands over the samples the mix gives, bit for bit, or fails as it does.
        #[test]
        fn a_stream_gives_what_the_mix_gives(
            segs in proptest::collection::vec(any_segment(), 0..12),
        ) {
            match (mix(&segs), streamed(&segs)) {
                (Ok(want), Ok((got, _))) => {
                    let bits = |p: &Pcm| p.samples.iter().map(|s| s.to_bits()).collect::<Vec<_>>();
                    prop_assert_eq!(bits(&got), bits(&want));
                    if want.sample_rate != 0 {
                        prop_assert_eq!((got.sample_rate, got.start), (want.sample_rate, want.start));
                    }
                }
                (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
                (a, b) => prop_assert!(false, "mix {:?}, stream {:?}", a, b),
            }
        }

        /// A cut keeps what the whole mix gives at the positions of its times, bit for bit,
        /// held whole or streamed, and fails only where the whole does.
        #[test]
        fn a_cut_keeps_what_the_whole_gives_there(
            segs in proptest::collection::vec(any_segment(), 0..12),
            from_ms in 0..160u32,
            len_ms in 0..160u32,
        ) {
            let to_ms = from_ms + len_ms;
            let cut = Present::Cut { lead_ms: 0, from_ms, to_ms };
            let bits = |s: &[f32]| s.iter().map(|s| s.to_bits()).collect::<Vec<_>>();
            match (mix(&segs), mix_for(&segs, cut), streamed_for(&segs, cut)) {
                (Ok(whole), Ok(got), Ok((streamed, _))) => {
                    // Sample rate 1000: a millisecond is a sample.
                    let lo = (whole.start as i64).max(i64::from(from_ms));
                    let hi = (whole.start as i64 + whole.samples.len() as i64).min(i64::from(to_ms));
                    let want = match usize::try_from(lo - whole.start as i64) {
                        Ok(at) if lo < hi && whole.sample_rate != 0 => &whole.samples[at..][..(hi - lo) as usize],
                        _ => &[],
                    };
                    prop_assert_eq!(bits(&got.samples), bits(want));
                    prop_assert_eq!(bits(&streamed.samples), bits(want));
                    if !want.is_empty() {
                        prop_assert_eq!((got.sample_rate, got.start), (1000, lo as u64));
                        prop_assert_eq!((streamed.sample_rate, streamed.start), (1000, lo as u64));
                    }
                }
                // A gap outside the cut costs nothing: a cut may give samples where the whole
                // is refused, held whole and streamed alike.
                (Err(_), Ok(got), Ok((streamed, _))) => {
                    prop_assert_eq!(bits(&got.samples), bits(&streamed.samples));
                }
                (Err(_), Err(b), Err(c)) => prop_assert_eq!(b.to_string(), c.to_string()),
                (a, b, c) => prop_assert!(false, "whole {:?}, cut {:?}, streamed {:?}", a, b, c),
            }
        }
    }
}
