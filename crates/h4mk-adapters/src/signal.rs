//! Built-in sample audio and a quality measure: what the demo, the tests and the benches use
//! to show a codec round trip without shipping a sound file.

/// A mix of tones at 220, 1000 and 3520 Hz and a linear chirp from 100 Hz to 8 kHz over the
/// whole length, peaking below 0.8: `seconds` of it at `sample_rate`, mono.
pub fn sample_mix(sample_rate: u32, seconds: f64) -> Vec<f32> {
    let rate = f64::from(sample_rate);
    let len = (seconds * rate) as usize;
    let tau = std::f64::consts::TAU;
    let (f0, f1) = (100.0, 8000.0);
    (0..len)
        .map(|i| {
            let t = i as f64 / rate;
            let tones = 0.25 * (tau * 220.0 * t).sin()
                + 0.15 * (tau * 1000.0 * t + 0.3).sin()
                + 0.1 * (tau * 3520.0 * t + 1.1).sin();
            let chirp = 0.2 * (tau * (f0 * t + (f1 - f0) * t * t / (2.0 * seconds))).sin();
            (tones + chirp) as f32
        })
        .collect()
}

/// Signal-to-noise ratio in dB of `decoded` against `reference`, over the samples both have.
pub fn snr_db(reference: &[f32], decoded: &[f32]) -> f64 {
    let (signal, noise) = reference
        .iter()
        .zip(decoded)
        .fold((0.0, 0.0), |(s, n), (&x, &y)| {
            let (x, y) = (f64::from(x), f64::from(y));
            (s + x * x, n + (x - y) * (x - y))
        });
    10.0 * (signal / noise).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snr_halves_with_doubled_noise_power() {
        let x = sample_mix(8000, 0.5);
        let noisy: Vec<f32> = x
            .iter()
            .enumerate()
            .map(|(i, &v)| v + if i % 2 == 0 { 0.01 } else { -0.01 })
            .collect();
        let noisier: Vec<f32> = x
            .iter()
            .zip(&noisy)
            .map(|(&v, &n)| v + (n - v) * 2f32.sqrt())
            .collect();
        let drop = snr_db(&x, &noisy) - snr_db(&x, &noisier);
        assert!((drop - 3.0103).abs() < 0.01, "{drop}");
        assert!(x.iter().all(|v| v.abs() < 0.8));
    }
}
