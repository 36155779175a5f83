//! The STFT pieces shared by the encoder and the DSP1 decoder: the window, the forward analysis
//! and the windowed overlap-add synthesis.

use std::f32::consts::PI;
use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::error::{Error, Result};

/// The periodic square-root Hann window, `sin(π i / n)`.
///
/// Used for both analysis and synthesis, so their product is a periodic Hann window, which sums
/// to a constant at any hop that divides `n / 2`.
pub(crate) fn sqrt_hann(n: usize) -> Vec<f32> {
    (0..n).map(|i| (PI * i as f32 / n as f32).sin()).collect()
}

fn fft_error(_: realfft::FftError) -> Error {
    Error::Parameter("internal: fft buffer length mismatch")
}

/// Forward analysis: windows a frame and returns its spectrum divided by the frame size.
pub(crate) struct Analysis {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    frame: Vec<f32>,
    scratch: Vec<Complex<f32>>,
    /// The last spectrum computed, `n / 2 + 1` bins, scaled by `1 / n`.
    pub(crate) spectrum: Vec<Complex<f32>>,
}

impl Analysis {
    pub(crate) fn new(planner: &mut RealFftPlanner<f32>, n: usize) -> Self {
        let fft = planner.plan_fft_forward(n);
        let window = sqrt_hann(n).into_iter().map(|w| w / n as f32).collect();
        Analysis {
            frame: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            window,
        }
    }

    /// Analyses the frame of `signal` starting at `start` (which may be negative); samples
    /// outside the signal are zero.
    pub(crate) fn frame(&mut self, signal: &[f32], start: i64) -> Result<()> {
        for (i, (x, w)) in self.frame.iter_mut().zip(&self.window).enumerate() {
            let t = start + i as i64;
            let s = usize::try_from(t)
                .ok()
                .and_then(|t| signal.get(t))
                .copied()
                .unwrap_or(0.0);
            *x = s * w;
        }
        self.fft
            .process_with_scratch(&mut self.frame, &mut self.spectrum, &mut self.scratch)
            .map_err(fft_error)
    }
}

/// Inverse FFT of one sparse spectrum per frame, windowed and overlap-added.
pub(crate) struct Synthesis {
    n: usize,
    hop: usize,
    ifft: Arc<dyn ComplexToReal<f32>>,
    /// Synthesis window times the overlap-add gain.
    window: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    frame: Vec<f32>,
    scratch: Vec<Complex<f32>>,
}

impl Synthesis {
    /// A synthesis for frames of `n` samples every `hop` samples; `hop` must divide `n`.
    pub(crate) fn new(planner: &mut RealFftPlanner<f32>, n: usize, hop: usize) -> Self {
        let ifft = planner.plan_fft_inverse(n);
        let w = sqrt_hann(n);
        // With the same window for analysis, overlapping frames add up to sum(w²) / hop.
        let energy: f32 = w.iter().map(|w| w * w).sum();
        let gain = hop as f32 / energy;
        Synthesis {
            n,
            hop,
            window: w.into_iter().map(|w| w * gain).collect(),
            spectrum: ifft.make_input_vec(),
            frame: ifft.make_output_vec(),
            scratch: ifft.make_scratch_vec(),
            ifft,
        }
    }

    /// Whether this synthesis is for `n` and `hop`.
    pub(crate) fn is_for(&self, n: usize, hop: usize) -> bool {
        self.n == n && self.hop == hop
    }

    /// Synthesises one frame from `(bin, magnitude, phase)` triples (magnitude as the analysis
    /// produced it, phase in radians) and adds it, windowed, to the start of `out`.
    pub(crate) fn add_frame(
        &mut self,
        bins: impl Iterator<Item = (usize, f32, f32)>,
        out: &mut [f32],
    ) -> Result<()> {
        self.spectrum.fill(Complex::default());
        let nyquist = self.n / 2;
        for (k, mag, phase) in bins {
            let (sin, cos) = phase.sin_cos();
            let value = if k == 0 || k == nyquist {
                Complex::new(mag * cos, 0.0)
            } else {
                Complex::new(mag * cos, mag * sin)
            };
            if let Some(slot) = self.spectrum.get_mut(k) {
                *slot = value;
            }
        }
        self.ifft
            .process_with_scratch(&mut self.spectrum, &mut self.frame, &mut self.scratch)
            .map_err(fft_error)?;
        for ((o, x), w) in out.iter_mut().zip(&self.frame).zip(&self.window) {
            *o += x * w;
        }
        Ok(())
    }
}

/// A plain inverse FFT with no window: `x[t] = Σ a_k cos(2π k t / n + φ_k)` for
/// `(k, a_k, φ_k)` in `bins`, for `t` in `0..n`.
pub(crate) fn oscillator_bank(
    planner: &mut RealFftPlanner<f32>,
    n: usize,
    bins: impl Iterator<Item = (usize, f32, f32)>,
) -> Result<Vec<f32>> {
    let ifft = planner.plan_fft_inverse(n);
    let mut spectrum = ifft.make_input_vec();
    let nyquist = n / 2;
    for (k, amp, phase) in bins {
        let (sin, cos) = phase.sin_cos();
        // The inverse transform adds each bin and its mirror, except DC and Nyquist.
        let value = if k == 0 || k == nyquist {
            Complex::new(amp * cos, 0.0)
        } else {
            Complex::new(amp * cos / 2.0, amp * sin / 2.0)
        };
        if let Some(slot) = spectrum.get_mut(k) {
            *slot = value;
        }
    }
    let mut out = ifft.make_output_vec();
    ifft.process(&mut spectrum, &mut out).map_err(fft_error)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analysis_then_synthesis_reconstructs_the_interior() {
        let (n, hop) = (64, 16);
        let signal: Vec<f32> = (0..512)
            .map(|t| ((t * 7 % 13) as f32 - 6.0) / 6.0)
            .collect();
        let mut planner = RealFftPlanner::new();
        let mut a = Analysis::new(&mut planner, n);
        let mut s = Synthesis::new(&mut planner, n, hop);
        let mut out = vec![0.0; signal.len() + n];
        for f in 0..(signal.len() / hop) {
            let start = f * hop;
            a.frame(&signal, start as i64).unwrap();
            let bins = a
                .spectrum
                .iter()
                .enumerate()
                .map(|(k, c)| (k, c.norm(), c.arg()));
            let bins: Vec<_> = bins.collect();
            s.add_frame(bins.into_iter(), &mut out[start..]).unwrap();
        }
        for t in n..signal.len() - n {
            assert!(
                (out[t] - signal[t]).abs() < 1e-4,
                "sample {t}: {} vs {}",
                out[t],
                signal[t]
            );
        }
    }

    #[test]
    fn oscillator_bank_is_a_sum_of_cosines() {
        let n = 32;
        let out = oscillator_bank(
            &mut RealFftPlanner::new(),
            n,
            [(0, 0.5, 0.0), (3, 0.25, 1.0)].into_iter(),
        )
        .unwrap();
        for (t, x) in out.iter().enumerate() {
            let want = 0.5 + 0.25 * (2.0 * PI * 3.0 * t as f32 / n as f32 + 1.0).cos();
            assert!((x - want).abs() < 1e-5);
        }
    }
}
