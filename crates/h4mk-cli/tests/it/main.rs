//! The `h4mk` command over every fixture, valid and invalid, in-process through
//! [`h4mk_cli::run`]; human and JSON output are insta snapshots reviewed like code.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

mod snapshots;

use std::path::{Path, PathBuf};

/// The workspace's `fixtures/` folder.
pub(crate) fn fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"))
}

/// What one run printed and how it ended.
pub(crate) struct Outcome {
    pub(crate) code: std::process::ExitCode,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `h4mk ARGS` in-process from the fixtures folder's point of view: `{}` in an argument is
/// replaced by `file`'s path, and the path is printed back as its bare name.
pub(crate) fn h4mk(args: &[&str], file: &Path) -> Outcome {
    let path = file.to_str().unwrap();
    let argv: Vec<String> = std::iter::once("h4mk".to_owned())
        .chain(args.iter().map(|a| a.replace("{}", path)))
        .collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = h4mk_cli::run(argv, &mut out, &mut err);
    let dir = file.parent().unwrap().to_str().unwrap();
    let clean = |b: Vec<u8>| {
        String::from_utf8(b)
            .unwrap()
            .replace(&format!("{dir}/"), "")
    };
    Outcome {
        code,
        stdout: clean(out),
        stderr: clean(err),
    }
}
