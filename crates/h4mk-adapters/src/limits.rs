//! Caps on what untrusted block bytes can make an adapter allocate.

/// Allocation caps, checked before anything sized by a block header is allocated.
///
/// Per-bin storage is never sized from a declared count: it grows as bytes actually arrive, so
/// it stays proportional to the block's length.
/// These caps bound what does not: the FFT plan and window (frame size) and the PCM a block
/// renders to (frames × hop).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest STFT frame size (samples) a DSP1 header may declare, and the largest DSP0
    /// synthesis frame.
    pub max_frame_size: usize,
    /// Largest number of STFT frames a DSP1 block may declare.
    pub max_frames_per_block: usize,
    /// Largest number of PCM samples one block may render to.
    pub max_block_samples: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_size: MAX_FRAME_SIZE,
            max_frames_per_block: 4096,
            max_block_samples: 1 << 22,
        }
    }
}

/// The default [`Limits::max_frame_size`], and the largest frame size the encoder accepts.
pub const MAX_FRAME_SIZE: usize = 32_768;

/// The smallest frame size DSP1 accepts.
pub const MIN_FRAME_SIZE: usize = 16;
