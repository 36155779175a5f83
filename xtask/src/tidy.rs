//! `cargo xtask tidy`: source rules that no compiler lint checks (rust-analyzer's `tidy.rs`).
//!
//! - Every `.rs` file under `crates/` and `xtask/` (tests and benches included, `target/` left
//!   out) starts with a `//!` doc saying what it is.
//! - No file uses `should_panic`: tests assert the `Err` variant instead.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::files_under;

/// The attribute tidy forbids, spelled in two halves so this file does not trip over itself.
const SHOULD_PANIC: &str = concat!("#[should", "_panic");

pub(crate) fn check(root: &Path) -> Result<()> {
    let mut problems = Vec::new();
    let mut files = 0;
    for top in ["crates", "xtask"] {
        for rel in files_under(&root.join(top), &["target"])? {
            if !rel.ends_with(".rs") {
                continue;
            }
            let path = root.join(top).join(&rel);
            let text =
                fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            problems.extend(problems_in(&format!("{top}/{rel}"), &text));
            files += 1;
        }
    }
    if problems.is_empty() {
        println!("tidy ok: {files} .rs files");
        return Ok(());
    }
    for p in &problems {
        eprintln!("{p}");
    }
    bail!("{} tidy problem(s)", problems.len())
}

fn problems_in(path: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    if !text.starts_with("//!") {
        out.push(format!(
            "{path}: does not start with a `//!` doc saying what the file is"
        ));
    }
    for (i, line) in text.lines().enumerate() {
        if line.contains(SHOULD_PANIC) {
            out.push(format!(
                "{path}:{}: `should_panic`: assert the `Err` variant instead",
                i + 1
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(text: &str, expect: &[&str]) {
        let found = problems_in("x.rs", text);
        assert_eq!(found.len(), expect.len(), "{found:#?}");
        for (f, e) in found.iter().zip(expect) {
            assert!(f.contains(e), "{f:?} should mention {e:?}");
        }
    }

    #[test]
    fn module_doc_must_come_first() {
        check("//! Fine.\nfn f() {}\n", &[]);
        check("// A plain comment.\n//! Too late.\n", &["`//!` doc"]);
        check("\n//! A blank line first.\n", &["`//!` doc"]);
        check("", &["`//!` doc"]);
    }

    #[test]
    fn should_panic_is_refused() {
        let text = format!("//! Tests.\n#[test]\n{SHOULD_PANIC}(expected = \"x\")]\nfn t() {{}}\n");
        check(&text, &["x.rs:3: `should_panic`"]);
    }
}
