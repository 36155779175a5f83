//! WAV in and out, over `Read` and `Write` (no file-system access), using `hound`.

use std::io::{Cursor, Read, Write};

use crate::error::{Error, Result};
use crate::pcm::Pcm;

/// The most samples reserved up front from a count a WAV header declares; beyond it, storage
/// grows as samples actually arrive.
const MAX_INITIAL_CAPACITY: usize = 1 << 16;

/// Reads a WAV file (integer PCM of 8 to 32 bits or 32-bit float, any number of channels)
/// into mono `f32` by averaging the channels.
pub fn read_wav<R: Read>(reader: R) -> Result<Pcm> {
    let mut wav = hound::WavReader::new(reader)?;
    let spec = wav.spec();
    let channels = usize::from(spec.channels);
    if channels == 0 {
        return Err(Error::Wav(hound::Error::FormatError("zero channels")));
    }
    let declared = wav.len() as usize / channels;
    let mut samples = Vec::with_capacity(declared.min(MAX_INITIAL_CAPACITY));
    let mut frame = 0.0f32;
    let mut push = |i: usize, s: f32| {
        frame += s;
        if (i + 1).is_multiple_of(channels) {
            samples.push(frame / channels as f32);
            frame = 0.0;
        }
    };
    match spec.sample_format {
        hound::SampleFormat::Float => {
            for (i, s) in wav.samples::<f32>().enumerate() {
                push(i, s?);
            }
        }
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            for (i, s) in wav.samples::<i32>().enumerate() {
                push(i, s? as f32 * scale);
            }
        }
    }
    Ok(Pcm::new(spec.sample_rate, samples))
}

/// Writes mono PCM as a 16-bit PCM WAV file, clipping to full scale.
///
/// `hound` patches the header's lengths at the end, which needs `Seek`, so the file is built in
/// memory and then written to `writer` in one go.
pub fn write_wav<W: Write>(mut writer: W, pcm: &Pcm) -> Result<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: pcm.sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut buf = Cursor::new(Vec::with_capacity(44 + 2 * pcm.samples.len()));
    let mut wav = hound::WavWriter::new(&mut buf, spec)?;
    {
        let mut w =
            wav.get_i16_writer(u32::try_from(pcm.samples.len()).map_err(|_| Error::Limit {
                what: "wav samples",
                value: pcm.samples.len() as u64,
                max: u32::MAX.into(),
            })?);
        for s in pcm.to_i16() {
            w.write_sample(s);
        }
        w.flush()?;
    }
    wav.finalize()?;
    writer.write_all(buf.get_ref())?;
    writer.flush()?;
    Ok(())
}

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

    #[test]
    fn garbage_is_an_error() {
        assert!(matches!(
            read_wav(&b"RIFF\0\0\0\0WAVEjunk"[..]),
            Err(Error::Wav(_))
        ));
    }
}
