//! Readers: a zero-copy view over a byte slice and a streaming reader over any `Read`.

pub(crate) mod slice;
pub(crate) mod stream;

use crate::limits::Limits;

/// Whether CRC comparison is skipped: only in fuzzing builds, so a fuzzer gets past the CRCs.
pub(crate) const CRC_CHECK_DISABLED: bool = cfg!(fuzzing);

/// How a reader treats damage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// The first error ends the walk.
    #[default]
    Strict,
    /// A chunk whose CRC is wrong is reported and skipped, and the walk goes on; errors that
    /// lose the framing (a length past the end) still end it.
    Lenient,
}

/// Options for reading a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// What a damaged chunk does to the walk.
    pub mode: Mode,
    /// Allocation caps.
    pub limits: Limits,
    /// Whether chunk and file CRCs are computed and compared.
    pub check_crc: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            mode: Mode::Strict,
            limits: Limits::default(),
            check_crc: true,
        }
    }
}

impl ParseOptions {
    /// Lenient reading with default limits.
    pub fn lenient() -> Self {
        ParseOptions {
            mode: Mode::Lenient,
            ..ParseOptions::default()
        }
    }

    /// Whether CRCs are compared in this build with these options.
    pub(crate) fn compares_crc(&self) -> bool {
        self.check_crc && !CRC_CHECK_DISABLED
    }
}
