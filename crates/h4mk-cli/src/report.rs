//! Report types for `--json` output: the CLI's own serde types, so the library types stay free
//! of serialisation and the JSON shape is a deliberate contract.

use serde::Serialize;

/// One problem found in a file.
#[derive(Debug, Serialize)]
pub struct Problem {
    /// Byte offset the problem is about.
    pub offset: Option<u64>,
    /// What is wrong.
    pub message: String,
}

/// The result of `h4mk verify`.
#[derive(Debug, Serialize)]
pub struct VerifyReport {
    /// The file's name.
    pub file: String,
    /// File size in bytes.
    pub size: u64,
    /// True when every check passed.
    pub ok: bool,
    /// Chunks whose framing and CRC are intact.
    pub intact_chunks: u64,
    /// The file CRC stored in the footer.
    pub stored_file_crc: Option<u32>,
    /// The file CRC computed over the bytes, when the walk reached the footer.
    pub computed_file_crc: Option<u32>,
    /// Every problem, in file order.
    pub problems: Vec<Problem>,
}
