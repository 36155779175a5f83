//! Where the committed fixtures are, and which reference fixtures there are: one copy for the
//! tests of every crate, which include this file by path (`CARGO_MANIFEST_DIR` is then the
//! including crate's, `crates/NAME`).

use std::path::PathBuf;

/// Names of the reference fixtures: `fixtures/reference/NAME.h4mk`, each with its
/// `NAME.recipe.json` and `NAME.expect.json`. `every_reference_fixture_is_listed` keeps this
/// list and the folder in step.
pub(crate) const REFERENCE: [&str; 6] = [
    "bframes",
    "demo",
    "sidecars",
    "single_track_linear",
    "three_tracks_2000",
    "unicode_and_empty_track",
];

/// The workspace's `fixtures/` folder.
pub(crate) fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures"))
}

/// `fixtures/reference/NAME.EXT`, read whole; panics if it cannot be read.
pub(crate) fn read_reference(name: &str, ext: &str) -> Vec<u8> {
    let path = fixtures_dir()
        .join("reference")
        .join(format!("{name}.{ext}"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
