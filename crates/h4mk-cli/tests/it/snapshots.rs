//! Snapshots of every reporting command, human and JSON, over every fixture.
//!
//! Each snapshot holds one or more runs of the command over one file: the command line (with
//! the file's bare name), the exit status, stdout and stderr. For `list` and `mt_list` (and
//! only them), outputs longer than [`MAX_LINES`] lines keep their first [`KEEP_LINES`] lines
//! and a count: this keeps the listings of `three_tracks_2000.h4mk` (6,000 blocks) and of
//! `bframes.h4mk` in JSON reviewable; every other output is kept whole. `OUT` in a command
//! line stands for a file in a temporary folder (shown as `OUT`), for commands that write one.

use std::process::ExitCode;

use insta::{assert_snapshot, glob, with_settings};

use crate::reference_fixtures::fixtures_dir;
use crate::{TempDir, h4mk};

/// The fixture folders every reporting command runs over.
const FOLDERS: [&str; 3] = ["reference", "valid", "invalid"];

/// Outputs longer than this are cut.
const MAX_LINES: usize = 40;
/// Lines kept of an output that is cut.
const KEEP_LINES: usize = 20;

/// Runs each of `runs` over every fixture in every folder and snapshots them together, as
/// `NAME@FOLDER@FILE.snap`.
fn snapshot_each(name: &str, runs: &[&[&str]]) {
    snapshot_runs(name, runs, false);
}

/// [`snapshot_each`] for listings, which are cut when long.
fn snapshot_listing(name: &str, runs: &[&[&str]]) {
    snapshot_runs(name, runs, true);
}

fn snapshot_runs(name: &str, runs: &[&[&str]], cut_long: bool) {
    let show = |text: &str| {
        let text = if cut_long { cut(text) } else { text.to_owned() };
        if text.is_empty() || text.ends_with('\n') {
            text
        } else {
            text + "\n(no newline at the end)\n"
        }
    };
    let out_dir = TempDir::new(&format!("snapshot-{name}"));
    let out = out_dir.path().join("decoded");
    for folder in FOLDERS {
        glob!(fixtures_dir().join(folder), "**/*.h4mk", |path| {
            let mut text = String::new();
            for args in runs {
                let real: Vec<String> = args
                    .iter()
                    .map(|a| a.replace("OUT", out.to_str().unwrap()))
                    .collect();
                let real: Vec<&str> = real.iter().map(String::as_str).collect();
                let o = h4mk(&real, path);
                let shown: Vec<String> = args
                    .iter()
                    .map(|a| a.replace("{}", &path.file_name().unwrap().to_string_lossy()))
                    .collect();
                text += &format!(
                    "$ h4mk {}\nstatus: {}\n--- stdout\n{}--- stderr\n{}",
                    shown.join(" "),
                    status(o.code),
                    show(&o.stdout),
                    show(&o.stderr)
                );
            }
            with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
                assert_snapshot!(format!("{name}@{folder}"), text);
            });
        });
    }
}

/// The exit status as a number.
fn status(code: ExitCode) -> u8 {
    (0..=u8::MAX).find(|&c| ExitCode::from(c) == code).unwrap()
}

/// The first lines of a long output and how many there were.
fn cut(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= MAX_LINES {
        return text.to_owned();
    }
    let mut kept = lines[..KEEP_LINES].join("\n");
    kept += &format!(
        "\n[... {} more lines, {} in all]\n",
        lines.len() - KEEP_LINES,
        lines.len()
    );
    kept
}

#[test]
fn info() {
    snapshot_each("info", &[&["info", "{}"]]);
    snapshot_each("info_json", &[&["info", "--json", "{}"]]);
}

#[test]
fn list() {
    snapshot_listing("list", &[&["list", "{}"], &["list", "--track", "2", "{}"]]);
    snapshot_listing("list_json", &[&["list", "--json", "--track", "1", "{}"]]);
}

/// Times that hit the cases of the chain rule in the reference files: the first block, a P
/// target, a B target (demo at 70, bframes at 80), a time past the end, and an unknown track.
#[test]
fn chain() {
    let runs: &[&[&str]] = &[
        &["chain", "--track", "1", "--t-ms", "0", "{}"],
        &["chain", "--track", "1", "--t-ms", "70", "{}"],
        &["chain", "--track", "1", "--t-ms", "80", "{}"],
        &["chain", "--track", "1", "--t-ms", "12345", "{}"],
        &["chain", "--track", "7", "--t-ms", "25", "{}"],
        &["chain", "--track", "65535", "--t-ms", "0", "{}"],
    ];
    snapshot_each("chain", runs);
    snapshot_each(
        "chain_json",
        &[
            &["chain", "--json", "--track", "1", "--t-ms", "0", "{}"],
            &["chain", "--json", "--track", "1", "--t-ms", "70", "{}"],
            &["chain", "--json", "--track", "1", "--t-ms", "80", "{}"],
        ],
    );
}

#[test]
fn range() {
    snapshot_each(
        "range",
        &[
            &[
                "range",
                "--track",
                "1",
                "--from-ms",
                "0",
                "--to-ms",
                "200",
                "{}",
            ],
            &[
                "range",
                "--track",
                "1",
                "--from-ms",
                "50",
                "--to-ms",
                "60",
                "{}",
            ],
            &[
                "range",
                "--track",
                "1",
                "--from-ms",
                "300",
                "--to-ms",
                "100",
                "{}",
            ],
        ],
    );
    snapshot_each(
        "range_json",
        &[&[
            "range",
            "--json",
            "--track",
            "1",
            "--from-ms",
            "60",
            "--to-ms",
            "130",
            "{}",
        ]],
    );
}

#[test]
fn verify() {
    snapshot_each(
        "verify",
        &[&["verify", "{}"], &["verify", "--lenient", "{}"]],
    );
    snapshot_each("verify_json", &[&["verify", "--lenient", "--json", "{}"]]);
}

#[test]
fn extract_sidecar() {
    snapshot_each(
        "extract_sidecar",
        &[
            &["extract", "--sidecar", "meta", "-o", "-", "{}"],
            &["extract", "--sidecar", "note", "-o", "-", "{}"],
        ],
    );
}

/// The null adapter over chains and ranges of every file, with the JSON report (the decoded
/// bytes themselves are checked against `extract` in `audio.rs`); the dsp adapter refuses the
/// reference files' blocks, which are not DSP blocks, with the block's offset.
#[test]
fn decode() {
    snapshot_each(
        "decode",
        &[
            &[
                "decode",
                "--adapter",
                "null",
                "--track",
                "1",
                "--at-ms",
                "70",
                "{}",
                "-o",
                "OUT",
            ],
            &[
                "decode",
                "--adapter",
                "dsp",
                "--track",
                "1",
                "--at-ms",
                "70",
                "{}",
                "-o",
                "OUT",
            ],
            &[
                "decode",
                "--adapter",
                "null",
                "--track",
                "7",
                "{}",
                "-o",
                "OUT",
            ],
        ],
    );
    snapshot_each(
        "decode_json",
        &[
            &[
                "decode",
                "--json",
                "--adapter",
                "null",
                "--track",
                "1",
                "--at-ms",
                "70",
                "{}",
                "-o",
                "OUT",
            ],
            &[
                "decode",
                "--json",
                "--adapter",
                "null",
                "--track",
                "1",
                "--at-ms",
                "80",
                "{}",
                "-o",
                "OUT",
            ],
            &[
                "decode",
                "--json",
                "--adapter",
                "null",
                "--track",
                "1",
                "--from-ms",
                "60",
                "--to-ms",
                "130",
                "{}",
                "-o",
                "OUT",
            ],
            &[
                "decode",
                "--json",
                "--adapter",
                "null",
                "--track",
                "1",
                "{}",
                "-o",
                "OUT",
            ],
        ],
    );
}

#[test]
fn mt_list() {
    snapshot_listing("mt_list", &[&["mt_list", "--in", "{}"]]);
}

#[test]
fn mt_chain() {
    snapshot_each(
        "mt_chain",
        &[
            &["mt_chain", "--in", "{}", "--track", "1", "--t_ms", "70"],
            &["mt_chain", "--in", "{}", "--track", "1", "--t_ms", "80"],
            &["mt_chain", "--in", "{}", "--track", "7", "--t_ms", "25"],
        ],
    );
}
