//! `cargo xtask layers`: no `h4mk-*` crate depends on one of equal or higher rank.
//!
//! The ranks are format(0) ← gop(1) ← mt(2) ← adapters(3) ← cli(4): a crate may skip a level but
//! never point up. This holds for `[dependencies]`, `[build-dependencies]` and
//! `[dev-dependencies]` alike (target-specific tables included), so even a test cannot reach
//! upwards. The one exception is a crate listing itself in `[dev-dependencies]`, the cargo idiom
//! for turning on one of its own features in its tests and benches: that points nowhere.
//! Every directory under `crates/` must be a crate named after its directory, with a rank in
//! [`RANKS`].

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use toml::{Table, Value};

/// Every internal crate and its rank, lowest first.
pub(crate) const RANKS: [(&str, u8); 5] = [
    ("h4mk-format", 0),
    ("h4mk-gop", 1),
    ("h4mk-mt", 2),
    ("h4mk-adapters", 3),
    ("h4mk-cli", 4),
];

/// The dependency tables the rule covers.
const DEP_TABLES: [&str; 3] = ["dependencies", "build-dependencies", "dev-dependencies"];

pub(crate) fn check(root: &Path) -> Result<()> {
    let workspace = read_toml(&root.join("Cargo.toml"))?;
    let mut crates = Vec::new();
    let crates_dir = root.join("crates");
    let mut dirs: Vec<_> = fs::read_dir(&crates_dir)
        .with_context(|| format!("listing {}", crates_dir.display()))?
        .collect::<Result<_, _>>()?;
    dirs.sort_by_key(|e| e.file_name());
    for entry in dirs {
        let manifest = entry.path().join("Cargo.toml");
        if manifest.is_file() {
            let dir = entry.file_name().to_string_lossy().into_owned();
            crates.push((dir, read_toml(&manifest)?));
        }
    }
    let (edges, problems) = problems(&workspace, &crates);
    if problems.is_empty() {
        println!(
            "layers ok: {} crates, {} internal dependencies, none pointing up",
            crates.len(),
            edges
        );
        return Ok(());
    }
    for p in &problems {
        eprintln!("{p}");
    }
    bail!(
        "{} layering violation(s); the ranks are format(0) ← gop(1) ← mt(2) ← adapters(3) ← cli(4)",
        problems.len()
    )
}

fn read_toml(path: &Path) -> Result<Table> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.parse()
        .with_context(|| format!("parsing {}", path.display()))
}

fn rank(name: &str) -> Option<u8> {
    RANKS.iter().find(|(n, _)| *n == name).map(|&(_, r)| r)
}

/// Checks `(directory name, manifest)` pairs; returns the number of internal dependencies seen
/// and every problem found.
fn problems(workspace: &Table, crates: &[(String, Table)]) -> (usize, Vec<String>) {
    let ws_deps = workspace
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(Value::as_table);
    let mut edges = 0;
    let mut out = Vec::new();
    for (dir, manifest) in crates {
        let Some(name) = manifest
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
        else {
            out.push(format!("crates/{dir}: Cargo.toml has no package.name"));
            continue;
        };
        if name != dir {
            out.push(format!(
                "crates/{dir}: the package is named {name}, not after its directory"
            ));
        }
        let Some(own) = rank(name) else {
            out.push(format!(
                "crates/{dir}: {name} has no rank (add it to RANKS in xtask/src/layers.rs)"
            ));
            continue;
        };
        for (kind, key, spec) in dependencies(manifest) {
            let dep = real_name(key, spec, ws_deps);
            if !dep.starts_with("h4mk-") {
                continue;
            }
            if dep == name && kind.ends_with("dev-dependencies") {
                continue;
            }
            edges += 1;
            match rank(dep) {
                None => out.push(format!("{name} ({kind}): {dep} has no rank")),
                Some(r) if r >= own => out.push(format!(
                    "{name} (rank {own}) lists {dep} (rank {r}) in [{kind}]: a crate may depend only on crates of lower rank"
                )),
                Some(_) => {}
            }
        }
    }
    (edges, out)
}

/// Every `(table, key, spec)` in the manifest's dependency tables, target-specific ones included.
fn dependencies(manifest: &Table) -> Vec<(String, &str, &Value)> {
    let mut out = Vec::new();
    scan("", manifest, &mut out);
    if let Some(targets) = manifest.get("target").and_then(Value::as_table) {
        for (cfg, table) in targets {
            if let Some(table) = table.as_table() {
                scan(&format!("target.{cfg}."), table, &mut out);
            }
        }
    }
    out
}

fn scan<'a>(prefix: &str, table: &'a Table, out: &mut Vec<(String, &'a str, &'a Value)>) {
    for kind in DEP_TABLES {
        if let Some(deps) = table.get(kind).and_then(Value::as_table) {
            for (key, spec) in deps {
                out.push((format!("{prefix}{kind}"), key.as_str(), spec));
            }
        }
    }
}

/// The package a dependency entry names: its `package` key, or that of the workspace entry it
/// inherits, or else its key.
fn real_name<'a>(key: &'a str, spec: &'a Value, ws_deps: Option<&'a Table>) -> &'a str {
    let package = |v: &'a Value| v.get("package").and_then(Value::as_str);
    if let Some(p) = package(spec) {
        return p;
    }
    if spec.get("workspace").and_then(Value::as_bool) == Some(true)
        && let Some(p) = ws_deps.and_then(|w| w.get(key)).and_then(package)
    {
        return p;
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(workspace: &str, crates: &[(&str, &str)], expect: &[&str]) {
        let workspace: Table = workspace.parse().unwrap();
        let crates: Vec<(String, Table)> = crates
            .iter()
            .map(|(dir, text)| ((*dir).to_owned(), text.parse().unwrap()))
            .collect();
        let (_, found) = problems(&workspace, &crates);
        assert_eq!(found.len(), expect.len(), "{found:#?}");
        for (f, e) in found.iter().zip(expect) {
            assert!(f.contains(e), "{f:?} should mention {e:?}");
        }
    }

    const WS: &str = r#"
        [workspace.dependencies]
        h4mk-format = { path = "crates/h4mk-format" }
        renamed-cli = { path = "crates/h4mk-cli", package = "h4mk-cli" }
    "#;

    #[test]
    fn downward_dependencies_pass() {
        check(
            WS,
            &[
                (
                    "h4mk-format",
                    "[package]\nname = \"h4mk-format\"\n[dependencies]\ncrc32fast = \"1\"",
                ),
                (
                    "h4mk-mt",
                    "[package]\nname = \"h4mk-mt\"\n[dependencies]\nh4mk-format.workspace = true\n[dev-dependencies]\nh4mk-gop = { path = \"../h4mk-gop\" }",
                ),
            ],
            &[],
        );
    }

    #[test]
    fn upward_dependencies_fail_in_every_table() {
        check(
            WS,
            &[
                (
                    "h4mk-gop",
                    "[package]\nname = \"h4mk-gop\"\n[dependencies]\nh4mk-mt = \"0.1\"",
                ),
                (
                    "h4mk-mt",
                    "[package]\nname = \"h4mk-mt\"\n[dev-dependencies]\nh4mk-cli = { path = \"../h4mk-cli\" }",
                ),
                (
                    "h4mk-adapters",
                    "[package]\nname = \"h4mk-adapters\"\n[build-dependencies]\nh4mk-cli = \"0.1\"",
                ),
                (
                    "h4mk-format",
                    "[package]\nname = \"h4mk-format\"\n[target.'cfg(unix)'.dependencies]\nh4mk-gop = \"0.1\"",
                ),
            ],
            &[
                "[dependencies]",
                "[dev-dependencies]",
                "[build-dependencies]",
                "[target.cfg(unix).dependencies]",
            ],
        );
    }

    #[test]
    fn a_crate_may_list_itself_only_as_a_dev_dependency() {
        check(
            WS,
            &[
                (
                    "h4mk-gop",
                    "[package]\nname = \"h4mk-gop\"\n[dev-dependencies]\nh4mk-gop = { path = \".\", features = [\"x\"] }",
                ),
                (
                    "h4mk-mt",
                    "[package]\nname = \"h4mk-mt\"\n[build-dependencies]\nh4mk-mt = { path = \".\" }",
                ),
            ],
            &["h4mk-mt (rank 2) lists h4mk-mt (rank 2) in [build-dependencies]"],
        );
    }

    #[test]
    fn renames_are_seen_through() {
        check(
            WS,
            &[
                (
                    "h4mk-gop",
                    "[package]\nname = \"h4mk-gop\"\n[dependencies]\nup = { package = \"h4mk-adapters\", path = \"x\" }",
                ),
                (
                    "h4mk-mt",
                    "[package]\nname = \"h4mk-mt\"\n[dependencies]\nrenamed-cli.workspace = true",
                ),
            ],
            &["h4mk-adapters (rank 3)", "h4mk-cli (rank 4)"],
        );
    }

    #[test]
    fn unknown_crates_and_misnamed_directories_fail() {
        check(
            WS,
            &[
                ("h4mk-extra", "[package]\nname = \"h4mk-extra\""),
                (
                    "gop",
                    "[package]\nname = \"h4mk-gop\"\n[dependencies]\nh4mk-nope = \"1\"",
                ),
            ],
            &[
                "no rank",
                "not after its directory",
                "h4mk-nope has no rank",
            ],
        );
    }

    #[test]
    fn this_workspace_passes() -> Result<()> {
        super::check(&crate::project_root())
    }
}
