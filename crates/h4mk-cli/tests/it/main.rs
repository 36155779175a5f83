//! The `h4mk` command over every fixture, valid and invalid, in-process through
//! [`h4mk_cli::run`] (human and JSON output are insta snapshots reviewed like code), byte-exact
//! rebuilds of the reference files, and end-to-end runs of the built binary.
#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

mod audio;
mod binary;
mod build;
mod e2e;
mod invalid;
mod outputs;
mod remux;
mod salvage;
mod snapshots;
mod structure;
mod timing;

// DSP0 block bytes, as the adapters' tests and the fuzz seeds build them.
#[allow(dead_code, unreachable_pub)]
#[path = "../../../../fuzz/src/checks_dsp.rs"]
mod checks_dsp;
// The fixtures' folder and names, one copy shared by every layer's tests.
#[allow(dead_code)]
#[path = "../../../h4mk-format/tests/it/reference_fixtures.rs"]
mod reference_fixtures;

use std::path::{Path, PathBuf};

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

/// A fresh folder under the system's temporary folder, removed with everything in it on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    /// A folder named after the test (`name`) and the process, emptied if it exists.
    pub(crate) fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("h4mk-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// The folder.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// The names of the files in the folder, sorted.
    pub(crate) fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
