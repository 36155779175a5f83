//! Fixtures: every file under `fixtures/` comes from a generator here, never from a hand edit.
//!
//! `cargo xtask fixtures` writes them, together with `fixtures/MANIFEST.txt` (one
//! `<path> <len> <sha256 hex>` line per file, sorted, so binary changes show up as a readable
//! diff). `cargo xtask fixtures --check`, and the `fixtures_are_fresh` test, regenerate them in
//! memory and compare bytes, and also fail on stray files that no generator produced.
//!
//! Everything is deterministic: no clocks, fixed seeds, sorted maps.

mod invalid;
mod raw;
mod reference;
mod valid;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use sha2::{Digest, Sha256};

use crate::files_under;

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fixture {
    /// Path relative to `fixtures/`, with `/` separators.
    pub(crate) path: String,
    /// The file's exact bytes.
    pub(crate) bytes: Vec<u8>,
}

impl Fixture {
    pub(crate) fn new(path: impl Into<String>, bytes: Vec<u8>) -> Self {
        Fixture {
            path: path.into(),
            bytes,
        }
    }
}

/// A generator of fixtures; it is handed the project root.
type Generator = fn(&Path) -> Result<Vec<Fixture>>;

/// Every generator. A layer adds its own fixtures with one line here.
const GENERATORS: &[Generator] = &[valid::all, invalid::all, reference::all];

/// The manifest's path, relative to `fixtures/`.
const MANIFEST: &str = "MANIFEST.txt";

/// Every file under `fixtures/`, the manifest included, keyed by path.
pub(crate) fn all(root: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    for generate in GENERATORS {
        for Fixture { path, bytes } in generate(root)? {
            ensure!(
                !path.is_empty()
                    && !path.starts_with('/')
                    && path
                        .split('/')
                        .all(|part| !part.is_empty() && part != ".." && part != "."),
                "fixture path {path:?} is not a plain relative path"
            );
            ensure!(path != MANIFEST, "a generator produced {MANIFEST} itself");
            if files.insert(path.clone(), bytes).is_some() {
                bail!("two generators produce fixtures/{path}");
            }
        }
    }
    let manifest = manifest(&files);
    files.insert(MANIFEST.to_owned(), manifest.into_bytes());
    Ok(files)
}

/// `<path> <len> <sha256 hex>` per file, sorted by path.
///
/// Not a CRC: every H4MK file whose footer is intact has the same whole-file CRC-32, 0x2144df1c
/// (the residue of a message followed by its own CRC), so a CRC column could not tell versions
/// apart.
fn manifest(files: &BTreeMap<String, Vec<u8>>) -> String {
    let mut out = String::new();
    for (path, bytes) in files {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{path} {} {:x}", bytes.len(), Sha256::digest(bytes));
    }
    out
}

/// Writes every fixture whose bytes changed and removes stray files.
pub(crate) fn write(root: &Path) -> Result<()> {
    let dir = root.join("fixtures");
    let files = all(root)?;
    let mut written = 0;
    for (path, bytes) in &files {
        let target = dir.join(path);
        if fs::read(&target).ok().as_deref() == Some(bytes.as_slice()) {
            continue;
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::write(&target, bytes).with_context(|| format!("writing {}", target.display()))?;
        println!("wrote fixtures/{path}");
        written += 1;
    }
    let mut removed = 0;
    for path in files_under(&dir, &[])? {
        if !files.contains_key(&path) {
            let target = dir.join(&path);
            fs::remove_file(&target).with_context(|| format!("removing {}", target.display()))?;
            println!("removed stray fixtures/{path}");
            removed += 1;
        }
    }
    println!(
        "fixtures: {} files, {written} written, {removed} removed",
        files.len()
    );
    Ok(())
}

/// Regenerates every fixture in memory and compares it with `fixtures/` on disk.
pub(crate) fn check(root: &Path) -> Result<()> {
    let dir = root.join("fixtures");
    let files = all(root)?;
    let mut problems = Vec::new();
    for (path, bytes) in &files {
        match fs::read(dir.join(path)) {
            Ok(found) if found == *bytes => {}
            Ok(_) => problems.push(format!("differs: fixtures/{path}")),
            Err(_) => problems.push(format!("missing: fixtures/{path}")),
        }
    }
    for path in files_under(&dir, &[])? {
        if !files.contains_key(&path) {
            problems.push(format!(
                "stray:   fixtures/{path} (no generator produces it)"
            ));
        }
    }
    if problems.is_empty() {
        println!("fixtures are fresh: {} files", files.len());
        return Ok(());
    }
    for p in &problems {
        eprintln!("{p}");
    }
    bail!(
        "{} fixture file(s) out of date: run `cargo xtask fixtures` and commit",
        problems.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_are_fresh() -> Result<()> {
        check(&crate::project_root())
    }

    #[test]
    fn generation_is_deterministic() -> Result<()> {
        let root = crate::project_root();
        assert_eq!(all(&root)?, all(&root)?);
        Ok(())
    }

    #[test]
    fn manifest_lists_every_other_file_once() -> Result<()> {
        let files = all(&crate::project_root())?;
        let text = String::from_utf8(files[MANIFEST].clone())?;
        let listed: Vec<&str> = text
            .lines()
            .map(|l| l.split(' ').next().unwrap_or_default())
            .collect();
        let expected: Vec<&str> = files
            .keys()
            .map(String::as_str)
            .filter(|p| *p != MANIFEST)
            .collect();
        assert_eq!(listed, expected);
        Ok(())
    }
}
