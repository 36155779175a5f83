//! The DSP0 block format, the original's (docs/ADAPTERS.md §2): a list of bins with a linear
//! magnitude and a phase, and no timing.

use std::f32::consts::TAU;

use crate::dsp::bytes::Reader;
use crate::error::{Error, Result};

/// The block magic (§2).
pub(crate) const MAGIC: [u8; 4] = *b"DSP0";
/// Header length in bytes (§2).
const HEADER_LEN: usize = 8;
/// Bytes per bin entry (§2).
const ENTRY_LEN: usize = 6;

/// One DSP0 bin: its index, magnitude (`0..=65535` for `0..=1`) and phase (`0..=65535` for
/// `0..2π`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dsp0Bin {
    /// Bin index.
    pub index: u16,
    /// Linear magnitude, 65535 meaning 1.
    pub magnitude: u16,
    /// Phase, 65536 meaning 2π.
    pub phase: u16,
}

impl Dsp0Bin {
    /// The magnitude as a linear amplitude in `0..=1`.
    pub fn amplitude(&self) -> f32 {
        f32::from(self.magnitude) / f32::from(u16::MAX)
    }

    /// The phase in radians, in `0..2π`.
    pub fn radians(&self) -> f32 {
        f32::from(self.phase) * TAU / 65_536.0
    }
}

/// Parses a DSP0 block into its bins, sorted by index.
///
/// The bin count must match the payload length exactly, and no bin may be listed twice; the
/// reserved field is ignored.
pub(crate) fn parse(bytes: &[u8]) -> Result<Vec<Dsp0Bin>> {
    let mut r = Reader::new(bytes);
    r.bytes::<4>("magic")?;
    let count = usize::from(r.u16("bin count")?);
    let _reserved = r.u16("reserved")?;
    let needed = count * ENTRY_LEN; // ≤ 393 210: cannot overflow.
    if r.remaining() < needed {
        return Err(Error::Truncated {
            offset: HEADER_LEN,
            field: "bins",
            needed,
            remaining: r.remaining(),
        });
    }
    let mut bins = Vec::with_capacity(count); // Justified: the bytes are all there.
    for _ in 0..count {
        let at = r.pos();
        let index = r.u16("bin index")?;
        let magnitude = r.u16("magnitude")?;
        let phase = r.u16("phase")?;
        bins.push((
            Dsp0Bin {
                index,
                magnitude,
                phase,
            },
            at,
        ));
    }
    r.finish()?;
    // A stable sort keeps equal indices in block order, so the later entry is the duplicate.
    bins.sort_by_key(|(b, _)| b.index);
    let duplicate = bins.windows(2).find_map(|w| match w {
        [(a, _), (b, at)] if a.index == b.index => Some((b.index, *at)),
        _ => None,
    });
    if let Some((bin, offset)) = duplicate {
        return Err(Error::DuplicateBin { offset, bin });
    }
    Ok(bins.into_iter().map(|(b, _)| b).collect())
}

/// Applies a P-block's bins to a state: magnitudes add (saturating at 1), phases are replaced,
/// bins the block does not list are kept.
pub(crate) fn apply_delta(base: &[Dsp0Bin], delta: &[Dsp0Bin]) -> Vec<Dsp0Bin> {
    merge(base, delta, |b, d| Dsp0Bin {
        index: b.index,
        magnitude: b.magnitude.saturating_add(d.magnitude),
        phase: d.phase,
    })
}

/// The base a B-block applies to: the mean of the two anchors' magnitudes (a bin missing from
/// one counts as 0 there) with the previous anchor's phase, or the next's where the previous
/// lacks the bin.
pub(crate) fn midpoint(prev: &[Dsp0Bin], next: &[Dsp0Bin]) -> Vec<Dsp0Bin> {
    let half = |b: &Dsp0Bin| Dsp0Bin {
        magnitude: b.magnitude / 2,
        ..*b
    };
    let mut out = merge(prev, next, |p, n| Dsp0Bin {
        index: p.index,
        magnitude: ((u32::from(p.magnitude) + u32::from(n.magnitude)) / 2) as u16,
        phase: p.phase,
    });
    // Bins present in only one anchor were copied whole by `merge`: halve them.
    for b in &mut out {
        let in_prev = prev.binary_search_by_key(&b.index, |x| x.index).is_ok();
        let in_next = next.binary_search_by_key(&b.index, |x| x.index).is_ok();
        if in_prev != in_next {
            *b = half(b);
        }
    }
    out
}

/// Merges two index-sorted bin lists; `both` combines a bin present in both.
fn merge(
    a: &[Dsp0Bin],
    b: &[Dsp0Bin],
    both: impl Fn(&Dsp0Bin, &Dsp0Bin) -> Dsp0Bin,
) -> Vec<Dsp0Bin> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut x, mut y) = (a.iter().peekable(), b.iter().peekable());
    loop {
        let bin = match (x.peek().copied(), y.peek().copied()) {
            (Some(p), Some(q)) if p.index == q.index => {
                let bin = both(p, q);
                x.next();
                y.next();
                bin
            }
            (Some(p), Some(q)) if p.index > q.index => {
                y.next();
                *q
            }
            (Some(p), _) => {
                x.next();
                *p
            }
            (None, Some(q)) => {
                y.next();
                *q
            }
            (None, None) => break,
        };
        out.push(bin);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bin(index: u16, magnitude: u16, phase: u16) -> Dsp0Bin {
        Dsp0Bin {
            index,
            magnitude,
            phase,
        }
    }

    #[test]
    fn delta_adds_magnitudes_and_replaces_phases() {
        let base = [bin(1, 100, 7), bin(3, 65_000, 7)];
        let delta = [bin(2, 5, 9), bin(3, 1000, 9)];
        assert_eq!(
            apply_delta(&base, &delta),
            [bin(1, 100, 7), bin(2, 5, 9), bin(3, 65_535, 9)]
        );
    }

    #[test]
    fn midpoint_averages_and_halves_lone_bins() {
        let prev = [bin(1, 100, 1), bin(2, 10, 1)];
        let next = [bin(2, 30, 2), bin(4, 8, 2)];
        assert_eq!(
            midpoint(&prev, &next),
            [bin(1, 50, 1), bin(2, 20, 1), bin(4, 4, 2)]
        );
    }
}
