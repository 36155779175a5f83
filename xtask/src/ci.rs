//! `cargo xtask ci` and `cargo xtask snapshots`: the commands CI and developers run.
//!
//! `ci` is the single source of truth for what CI checks; `.ci/run` only calls it. Each step is
//! echoed before it runs and timed; the first failure stops the run.

use std::env;
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{fixtures, layers, tidy};

/// One step of `cargo xtask ci`.
enum Step {
    /// A cargo command, with extra environment variables.
    Cargo {
        args: &'static [&'static str],
        env: &'static [(&'static str, &'static str)],
    },
    /// An xtask task run in this process.
    Task {
        name: &'static str,
        run: fn(&Path) -> Result<()>,
    },
}

impl Step {
    fn label(&self) -> String {
        match self {
            Step::Cargo { args, env } => command_line(args, env),
            Step::Task { name, .. } => format!("cargo xtask {name}"),
        }
    }

    fn run(&self, root: &Path) -> Result<()> {
        match self {
            Step::Cargo { args, env } => cargo(root, args, env),
            Step::Task { run, .. } => run(root),
        }
    }
}

/// Every step of CI, in order; a fuzz check follows when `fuzz/Cargo.toml` exists.
const STEPS: &[Step] = &[
    Step::Cargo {
        args: &["fmt", "--all", "--check"],
        env: &[],
    },
    Step::Cargo {
        args: &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        env: &[],
    },
    // h4mk-adapters without its DSP codec (the `dsp` feature, on by default): the adapter trait
    // and driver build and stay lint-clean for a codec of one's own, and their unit tests and
    // doc examples pass (the integration tests need the codec).
    Step::Cargo {
        args: &[
            "clippy",
            "-p",
            "h4mk-adapters",
            "--no-default-features",
            "--",
            "-D",
            "warnings",
        ],
        env: &[],
    },
    Step::Cargo {
        args: &["test", "-p", "h4mk-adapters", "--no-default-features"],
        env: &[],
    },
    Step::Task {
        name: "fixtures --check",
        run: fixtures::check,
    },
    Step::Task {
        name: "layers",
        run: layers::check,
    },
    Step::Task {
        name: "tidy",
        run: tidy::check,
    },
    Step::Cargo {
        args: &["test", "--workspace"],
        env: &[],
    },
    Step::Cargo {
        args: &["doc", "--workspace", "--no-deps"],
        env: &[("RUSTDOCFLAGS", "-D warnings")],
    },
    // Each criterion benchmark once, in the test profile: the bench code runs and its checks
    // hold, for a fraction of the time and disk an optimised `cargo bench --no-run` build takes.
    Step::Cargo {
        args: &["test", "--workspace", "--bench", "*"],
        env: &[],
    },
];

/// The fuzz crate is its own workspace: clippy over it (which checks it too) keeps the harnesses
/// building and lint-clean without cargo-fuzz; running them is `cargo xtask fuzz-smoke`.
const FUZZ: Step = Step::Cargo {
    args: &[
        "clippy",
        "--manifest-path",
        "fuzz/Cargo.toml",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ],
    env: &[],
};

pub(crate) fn run(root: &Path) -> Result<()> {
    let mut steps: Vec<&Step> = STEPS.iter().collect();
    if root.join("fuzz/Cargo.toml").is_file() {
        steps.push(&FUZZ);
    }
    let mut times: Vec<(String, Duration)> = Vec::new();
    let start = Instant::now();
    for step in steps {
        let label = step.label();
        println!("\n==> {label}");
        let began = Instant::now();
        let result = step.run(root);
        let took = began.elapsed();
        println!(
            "<== {label}: {} in {:.1}s",
            if result.is_ok() { "ok" } else { "FAILED" },
            took.as_secs_f64()
        );
        times.push((label.clone(), took));
        if let Err(e) = result {
            summary(&times, start.elapsed());
            return Err(e.context(format!("ci failed at `{label}`")));
        }
    }
    summary(&times, start.elapsed());
    println!("ci: all {} steps passed", times.len());
    Ok(())
}

fn summary(times: &[(String, Duration)], total: Duration) {
    println!("\nstep times:");
    for (label, took) in times {
        println!("{:>8.1}s  {label}", took.as_secs_f64());
    }
    println!("{:>8.1}s  total", total.as_secs_f64());
}

/// Reruns the snapshot tests, accepting every new snapshot; review them with `git diff`.
pub(crate) fn snapshots(root: &Path) -> Result<()> {
    cargo(
        root,
        &["test", "-p", "h4mk-cli", "-p", "h4mk-format"],
        &[("INSTA_UPDATE", "always")],
    )
}

/// Runs `$CARGO args...` in `root` with `env` added, echoing it first.
pub(crate) fn cargo(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    let line = command_line(args, env);
    println!("$ {line}");
    let program = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root)
        .status()
        .with_context(|| format!("starting `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(())
}

/// The command as a shell would read it, quoting what the shell would split or expand:
/// `VAR='value' cargo args...`.
fn command_line(args: &[&str], env: &[(&str, &str)]) -> String {
    let quote = |s: &str| {
        if s.contains([' ', '*']) {
            format!("'{s}'")
        } else {
            s.to_owned()
        }
    };
    env.iter()
        .map(|(k, v)| format!("{k}={}", quote(v)))
        .chain(std::iter::once("cargo".to_owned()))
        .chain(args.iter().map(|a| quote(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_echoed_as_shell_commands() {
        let labels: Vec<String> = STEPS.iter().map(Step::label).collect();
        assert_eq!(
            labels,
            [
                "cargo fmt --all --check",
                "cargo clippy --workspace --all-targets -- -D warnings",
                "cargo clippy -p h4mk-adapters --no-default-features -- -D warnings",
                "cargo test -p h4mk-adapters --no-default-features",
                "cargo xtask fixtures --check",
                "cargo xtask layers",
                "cargo xtask tidy",
                "cargo test --workspace",
                "RUSTDOCFLAGS='-D warnings' cargo doc --workspace --no-deps",
                "cargo test --workspace --bench '*'",
            ]
        );
        assert_eq!(
            FUZZ.label(),
            "cargo clippy --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings"
        );
    }
}
