//! Every command over every fixture: no panic anywhere, and over `fixtures/invalid` a non-zero
//! exit with a one-line error that names the file, and no output file left behind.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::reference_fixtures::fixtures_dir;
use crate::{TempDir, h4mk};

/// Every command line that reads a container, `{}` standing for it and `OUT` for a path in a
/// fresh temporary folder.
const COMMANDS: &[&[&str]] = &[
    &["info", "{}"],
    &["info", "--json", "{}"],
    &["list", "{}"],
    &["list", "--json", "--track", "1", "{}"],
    &["chain", "--track", "1", "--t-ms", "70", "{}"],
    &["chain", "--json", "--track", "1", "--t-ms", "70", "{}"],
    &[
        "range",
        "--track",
        "1",
        "--from-ms",
        "0",
        "--to-ms",
        "500",
        "{}",
    ],
    &["extract", "--track", "1", "--dir", "OUT", "{}"],
    &["extract", "--track", "1", "-o", "OUT", "{}"],
    &["extract", "--sidecar", "meta", "-o", "OUT", "{}"],
    &[
        "decode",
        "--adapter",
        "null",
        "--track",
        "1",
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
    &["mt_list", "--in", "{}"],
    &["mt_chain", "--in", "{}", "--track", "1", "--t_ms", "70"],
];

fn all_fixtures(folder: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures_dir().join(folder))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "h4mk"))
        .collect();
    files.sort();
    files
}

/// The one invalid fixture whose damage (its file CRC) a command can avoid: extracting its META
/// sidecar reads only that chunk, whose own CRC is intact, as mkvextract extracts the intact
/// tracks of a damaged file; and `mt_chain`, as the original's did, answers the empty chain of
/// a track its intact track list does not hold. Every other command over every invalid file
/// fails.
fn reads_only_intact_chunks(name: &str, args: &[&str]) -> bool {
    name == "bad_file_crc.h4mk"
        && (args.starts_with(&["extract", "--sidecar", "meta"]) || args[0] == "mt_chain")
}

/// The payload of the file's META chunk, read with the format layer alone.
fn meta_payload(file: &std::path::Path) -> Vec<u8> {
    let bytes = std::fs::read(file).unwrap();
    let container = h4mk_format::ContainerRef::parse(&bytes).unwrap();
    let meta = container
        .chunks()
        .find_map(|c| c.ok().filter(|c| c.tag == h4mk_format::Tag::META));
    meta.unwrap().payload.to_vec()
}

#[test]
fn invalid_files_fail_with_one_line_and_leave_nothing() {
    let files = all_fixtures("invalid");
    assert!(!files.is_empty());
    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        for args in COMMANDS {
            let dir = TempDir::new("invalid");
            let out = dir.path().join("out");
            let args: Vec<String> = args
                .iter()
                .map(|a| a.replace("OUT", out.to_str().unwrap()))
                .collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = h4mk(&args, file);
            let what = format!("h4mk {} over {name}", args.join(" "));
            if reads_only_intact_chunks(name, &args) && o.code == ExitCode::SUCCESS {
                // The damage lies outside what the command reads, and what it reads is
                // CRC-checked chunk by chunk: the output is exactly that intact chunk, or the
                // empty chain.
                if args[0] == "mt_chain" {
                    assert_eq!(o.stdout, "Decode chain for track=1 t=70ms:\n  (empty)\n");
                } else {
                    assert_eq!(std::fs::read(&out).unwrap(), meta_payload(file), "{what}");
                }
                continue;
            }
            assert_ne!(o.code, ExitCode::SUCCESS, "{what}");
            assert_eq!(o.stderr.lines().count(), 1, "{what}: {}", o.stderr);
            assert!(
                o.stderr.contains(name) || args[0].starts_with("mt_"),
                "{what}: the error does not name the file: {}",
                o.stderr
            );
            assert_eq!(dir.files(), Vec::<String>::new(), "{what}");
        }
        let v = h4mk(&["verify", "{}"], file);
        assert_ne!(v.code, ExitCode::SUCCESS, "verify {name}");
    }
}

#[test]
fn no_command_panics_on_any_fixture() {
    for folder in ["reference", "valid", "invalid"] {
        for file in all_fixtures(folder) {
            for args in COMMANDS {
                let dir = TempDir::new("any");
                let out = dir.path().join("out");
                let args: Vec<String> = args
                    .iter()
                    .map(|a| a.replace("OUT", out.to_str().unwrap()))
                    .collect();
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let o = h4mk(&args, &file);
                assert!(
                    o.code == ExitCode::SUCCESS || !o.stderr.is_empty(),
                    "h4mk {} over {}: a failure says nothing",
                    args.join(" "),
                    file.display()
                );
            }
        }
    }
}
