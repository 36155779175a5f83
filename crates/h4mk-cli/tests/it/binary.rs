//! Running the built `h4mk` binary as a separate process, for the end-to-end tests.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// Runs `h4mk ARGS` in `dir`.
pub(crate) fn h4mk(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

/// The run's stdout, after checking it succeeded.
pub(crate) fn succeeded(o: &Output) -> String {
    assert!(
        o.status.success(),
        "{:?}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// The run's stdout as JSON, after checking it succeeded.
pub(crate) fn json_of(o: &Output) -> Value {
    serde_json::from_str(&succeeded(o)).unwrap()
}
