//! Where outputs go: through symbolic links to the file they lead to, in place into devices and
//! FIFOs (which a rename would destroy), never over the input being read, and, when standard
//! output fails, one line that says so. And inputs that are not files: a pipe is read, a
//! directory refused.
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::{FileTypeExt, symlink};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::TempDir;
use crate::binary::{h4mk, json_of, succeeded};
use crate::reference_fixtures::fixtures_dir;

fn demo() -> Vec<u8> {
    fs::read(fixtures_dir().join("reference/demo.h4mk")).unwrap()
}

/// Makes a FIFO named `name` in `dir` and returns its path.
fn fifo(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let made = Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(made.success());
    path
}

/// Checks `o` failed with `code` and one line of stderr starting with `want`.
#[track_caller]
fn failed(o: &Output, code: i32, want: &str) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with(want), "{stderr}");
}

#[test]
fn a_link_to_a_file_keeps_the_link_and_replaces_the_file() {
    let dir = TempDir::new("outputs_link");
    let d = dir.path();
    fs::write(d.join("real.h4mk"), b"old").unwrap();
    symlink("real.h4mk", d.join("link.h4mk")).unwrap();
    succeeded(&h4mk(d, &["build", "--demo", "-o", "link.h4mk"]));
    assert!(
        fs::symlink_metadata(d.join("link.h4mk"))
            .unwrap()
            .is_symlink()
    );
    assert!(fs::read(d.join("real.h4mk")).unwrap() == demo());
    assert_eq!(dir.files(), ["link.h4mk", "real.h4mk"]);

    // A link to nothing is not followed, and nothing is created.
    symlink("nowhere.h4mk", d.join("dangling.h4mk")).unwrap();
    let o = h4mk(d, &["build", "--demo", "-o", "dangling.h4mk"]);
    failed(
        &o,
        1,
        "h4mk: error: writing dangling.h4mk: a symbolic link to nothing, not followed",
    );
    assert_eq!(dir.files(), ["dangling.h4mk", "link.h4mk", "real.h4mk"]);
}

#[test]
fn a_fifo_is_written_in_place_and_a_directory_refused() {
    let dir = TempDir::new("outputs_fifo");
    let d = dir.path();
    let path = fifo(d, "pipe");
    let reader = std::thread::spawn(move || fs::read(path).unwrap());
    succeeded(&h4mk(d, &["build", "--demo", "-o", "pipe"]));
    // Checked before joining: had the FIFO been replaced, the reader would wait forever.
    assert!(fs::metadata(d.join("pipe")).unwrap().file_type().is_fifo());
    assert!(reader.join().unwrap() == demo());

    fs::create_dir(d.join("adir")).unwrap();
    for target in ["adir", "adir/"] {
        let o = h4mk(d, &["build", "--demo", "-o", target]);
        failed(
            &o,
            1,
            &format!("h4mk: error: writing {target}: is a directory"),
        );
    }
    assert_eq!(dir.files(), ["adir", "pipe"]);
    assert!(fs::read_dir(d.join("adir")).unwrap().next().is_none());
}

#[test]
fn the_input_is_never_the_output() {
    let dir = TempDir::new("outputs_same");
    let d = dir.path();
    fs::write(d.join("demo.h4mk"), demo()).unwrap();
    fs::hard_link(d.join("demo.h4mk"), d.join("hard.h4mk")).unwrap();
    symlink("demo.h4mk", d.join("soft.h4mk")).unwrap();
    for output in ["demo.h4mk", "hard.h4mk", "soft.h4mk", "./demo.h4mk"] {
        for args in [
            &[
                "decode",
                "--adapter",
                "null",
                "--track",
                "1",
                "demo.h4mk",
                "-o",
            ][..],
            &["extract", "--track", "1", "demo.h4mk", "-o"],
            &["salvage", "demo.h4mk", "-o"],
            &["encode", "--adapter", "dsp", "demo.h4mk", "-o"],
        ] {
            let o = h4mk(d, &[args, &[output]].concat());
            failed(
                &o,
                2,
                &format!("h4mk: error: -o {output}: that is the input file, demo.h4mk"),
            );
        }
    }
    assert!(fs::read(d.join("demo.h4mk")).unwrap() == demo());
    fs::write(d.join("m.json"), b"{}").unwrap();
    let o = h4mk(d, &["build", "m.json", "-o", "m.json"]);
    failed(
        &o,
        2,
        "h4mk: error: -o m.json: that is the input file, m.json",
    );
    assert_eq!(fs::read(d.join("m.json")).unwrap(), b"{}");
    assert_eq!(
        dir.files(),
        ["demo.h4mk", "hard.h4mk", "m.json", "soft.h4mk"]
    );
}

/// Runs h4mk in `dir` with standard input read from the file `stdin`.
fn h4mk_reading(dir: &Path, stdin: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .current_dir(dir)
        .args(args)
        .stdin(fs::File::open(dir.join(stdin)).unwrap())
        .output()
        .unwrap()
}

/// The input `-` reading a file, or a block file a manifest names, is an input too: each
/// used to be replaced by the output (`decode - -o f.h4mk < f.h4mk` exited 0 with `f.h4mk`
/// turned into 144 bytes of blocks).
#[test]
fn inputs_read_through_standard_input_or_a_manifest_are_never_the_output() {
    let dir = TempDir::new("outputs_same_stdin");
    let d = dir.path();
    fs::write(d.join("demo.h4mk"), demo()).unwrap();
    for args in [
        &["decode", "--adapter", "null", "--track", "1", "-", "-o"][..],
        &["extract", "--sidecar", "meta", "-", "-o"],
        &["extract", "--track", "1", "-", "-o"],
        &["salvage", "-", "-o"],
    ] {
        let o = h4mk_reading(d, "demo.h4mk", &[args, &["demo.h4mk"]].concat());
        failed(
            &o,
            2,
            "h4mk: error: -o demo.h4mk: that is the file standard input reads",
        );
    }
    assert!(fs::read(d.join("demo.h4mk")).unwrap() == demo());
    // Standard output appended to the input is the input too.
    for output in ["-", "/dev/stdout"] {
        let o = Command::new(env!("CARGO_BIN_EXE_h4mk"))
            .current_dir(d)
            .args(["salvage", "demo.h4mk", "-o", output])
            .stdout(
                fs::OpenOptions::new()
                    .append(true)
                    .open(d.join("demo.h4mk"))
                    .unwrap(),
            )
            .output()
            .unwrap();
        failed(
            &o,
            2,
            &format!("h4mk: error: -o {output}: standard output goes to the input file, demo.h4mk"),
        );
    }
    assert!(fs::read(d.join("demo.h4mk")).unwrap() == demo());

    fs::write(d.join("block.bin"), b"opaque").unwrap();
    let manifest = r#"{"tracks": [{"track_id": 1, "name": "a", "kind": "k", "codec": "c"}],
        "blocks": [{"track": 1, "pts_ms": 0, "type": "I", "file": "block.bin"}]}"#;
    fs::write(d.join("m.json"), manifest).unwrap();
    let o = h4mk(d, &["build", "m.json", "-o", "block.bin"]);
    failed(
        &o,
        2,
        "h4mk: error: -o block.bin: that is the input file, block.bin",
    );
    assert_eq!(fs::read(d.join("block.bin")).unwrap(), b"opaque");
    let o = h4mk_reading(d, "m.json", &["build", "-", "-o", "m.json"]);
    failed(
        &o,
        2,
        "h4mk: error: -o m.json: that is the file standard input reads",
    );
    assert_eq!(fs::read_to_string(d.join("m.json")).unwrap(), manifest);
    // Not the output: built as usual.
    succeeded(&h4mk_reading(
        d,
        "m.json",
        &["build", "-", "-o", "new.h4mk"],
    ));
    assert_eq!(
        dir.files(),
        ["block.bin", "demo.h4mk", "m.json", "new.h4mk"]
    );
}

/// `-o /dev/stdout` is standard output, as `-o -` is: with output appended to a log, the log
/// used to be replaced by the container (renamed onto the file the path led to), and with
/// output to a pipe the report followed the container into it.
#[test]
fn dev_stdout_is_standard_output() {
    let dir = TempDir::new("outputs_dev_stdout");
    let d = dir.path();
    fs::write(d.join("log"), b"earlier\n").unwrap();
    let log = fs::OpenOptions::new()
        .append(true)
        .open(d.join("log"))
        .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .current_dir(d)
        .args(["build", "--demo", "-o", "/dev/stdout"])
        .stdout(log)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(fs::read(d.join("log")).unwrap() == [&b"earlier\n"[..], &demo()].concat());
    let o = h4mk(d, &["build", "--demo", "-o", "/dev/stdout"]);
    assert!(o.status.success() && o.stdout == demo());
    assert_eq!(dir.files(), ["log"]);
}

/// A stream that is not an H4MK file is refused at its first four bytes: `info - < /dev/zero`
/// used to read until memory ran out.
#[test]
fn a_stream_without_the_magic_is_refused_without_reading_it_all() {
    let dir = TempDir::new("outputs_zero_stream");
    let o = Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .current_dir(dir.path())
        .args(["info", "-"])
        .stdin(fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    failed(
        &o,
        1,
        "h4mk: error: -: not an H4MK file: offset 0 holds `\\x00\\x00\\x00\\x00`",
    );
    // verify still reports such a stream as it reports such a file, in JSON too.
    let o = Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .current_dir(dir.path())
        .args(["verify", "--json", "-"])
        .stdin(fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["size"], 16);
}

/// A newline in a file name used to break the one-line error in two, the second line
/// free for the name to forge (`h4mk: error: fake.h4mk: ...`); control characters in names
/// are now escaped, in errors and in text reports.
#[test]
fn a_file_name_cannot_break_a_message_into_lines() {
    let dir = TempDir::new("outputs_newline_name");
    let d = dir.path();
    let name = "a\nh4mk: error: fake.h4mk";
    fs::write(d.join(name), b"junk and more than sixteen bytes").unwrap();
    let o = h4mk(d, &["info", name]);
    failed(
        &o,
        1,
        "h4mk: error: a\\nh4mk: error: fake.h4mk: not an H4MK file",
    );
    fs::write(d.join(name), demo()).unwrap();
    let info = succeeded(&h4mk(d, &["info", name]));
    assert!(
        info.starts_with("a\\nh4mk: error: fake.h4mk: H4MK version 1"),
        "{info}"
    );
    // JSON has no lines to break: its reports keep the name as it is.
    let report = json_of(&h4mk(d, &["info", "--json", name]));
    assert_eq!(report["file"], name);
}

/// The original's commands take paths as it did: `-` is a file of that name.
#[test]
fn the_original_commands_take_a_dash_as_a_file_name() {
    let dir = TempDir::new("outputs_legacy_dash");
    let d = dir.path();
    let o = h4mk(d, &["mt_build", "--out", "-"]);
    assert_eq!(
        succeeded(&o),
        format!("Wrote {} bytes to -\n", demo().len())
    );
    assert!(fs::read(d.join("-")).unwrap() == demo());
    let listed = succeeded(&h4mk(d, &["mt_list", "--in", "-"]));
    assert!(listed.contains("=== CORE BLOCKS ==="), "{listed}");
}

/// Interrupted while writing, h4mk removes its temporary file (it used to stay, a hidden
/// partial file with a new name each run). The build waits on a block file that is a FIFO
/// no one writes, after its output's temporary file exists, until the signal comes.
#[test]
fn an_interrupted_write_leaves_nothing() {
    let dir = TempDir::new("outputs_interrupted");
    let d = dir.path();
    fifo(d, "never");
    let manifest = r#"{"tracks": [{"track_id": 1, "name": "a", "kind": "k", "codec": "c"}],
        "blocks": [{"track": 1, "pts_ms": 0, "type": "I", "hex": "00"},
                   {"track": 1, "pts_ms": 10, "type": "P", "file": "never"}]}"#;
    fs::write(d.join("m.json"), manifest).unwrap();
    // Each signal ends it with the status a shell gives a command that signal ended: SIGTERM
    // and SIGHUP gave 130, as SIGINT does. A SIGBUS sent by a program is one more (the one a
    // read raises has a message and status 1: below).
    for (signal, status) in [("INT", 130), ("TERM", 143), ("HUP", 129), ("BUS", 135)] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_h4mk"))
            .current_dir(d)
            .args(["build", "m.json", "-o", "out.h4mk"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while !dir.files().iter().any(|f| f.ends_with(".tmp")) {
            assert!(
                started.elapsed().as_secs() < 20,
                "no temporary file: {:?}",
                dir.files()
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let ended = child.wait().unwrap();
        assert_eq!(ended.code(), Some(status), "SIG{signal}: {ended:?}");
        assert_eq!(dir.files(), ["m.json", "never"], "SIG{signal}");
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert_eq!(stderr, "", "SIG{signal}");
    }
}

/// Builds `name` in `dir`: one track of 20,000 small blocks, a keyframe every fourth, long
/// enough to extract that a signal or a cut can come part way through.
fn build_many_blocks(dir: &Path, name: &str) {
    let blocks: Vec<String> = (0..20_000)
        .map(|i| {
            let kind = if i % 4 == 0 { "I" } else { "P" };
            format!(
                r#"{{"track": 1, "pts_ms": {}, "type": "{kind}", "text": "block {i}"}}"#,
                i * 10
            )
        })
        .collect();
    let manifest = format!(
        r#"{{"tracks": [{{"track_id": 1, "name": "a", "kind": "k", "codec": "c"}}], "blocks": [{}]}}"#,
        blocks.join(", ")
    );
    fs::write(dir.join("m.json"), manifest).unwrap();
    succeeded(&h4mk(dir, &["build", "m.json", "-o", name]));
}

/// Interrupted at any point of an extraction of thousands of blocks, h4mk leaves the folder
/// as it found it (here: absent), unless it finished first. The signal handler used to race
/// the writing thread: 24 of 40 such runs left a block or temporary file (a review's figure).
#[test]
fn an_interrupted_extraction_leaves_nothing_whenever_it_comes() {
    let dir = TempDir::new("outputs_interrupted_extract");
    let d = dir.path();
    build_many_blocks(d, "many.h4mk");
    for run in 0..12u64 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_h4mk"))
            .current_dir(d)
            .args(["extract", "--track", "1", "--dir", "out/a", "many.h4mk"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20 + run * 37));
        let sent = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        let status = child.wait().unwrap();
        if sent.success() && status.code() == Some(130) {
            assert!(
                !d.join("out").exists(),
                "run {run}: left {:?}",
                fs::read_dir(d.join("out/a")).map(|r| r.count())
            );
        }
        let _ = fs::remove_dir_all(d.join("out"));
    }
}

/// An input cut short by another program while h4mk reads it raised SIGBUS, which killed the
/// process with no message and left its temporary output (553 MB in a reviewer's run): now
/// it ends as a failed run, with a message, exit status 1 and nothing left behind. The input
/// is cut to its header part way through an extraction of thousands of blocks, at several
/// points from its first block file on; a run that finished first proves nothing, but one in
/// three must be caught.
#[test]
fn an_input_cut_short_while_read_fails_and_leaves_nothing() {
    let dir = TempDir::new("outputs_input_cut_short");
    let d = dir.path();
    build_many_blocks(d, "full.h4mk");
    let full = fs::read(d.join("full.h4mk")).unwrap();
    let mut caught = 0;
    let runs = 6u64;
    for run in 0..runs {
        let _ = fs::remove_dir_all(d.join("out"));
        fs::write(d.join("many.h4mk"), &full).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_h4mk"))
            .current_dir(d)
            .args(["extract", "--track", "1", "--dir", "out/a", "many.h4mk"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Once the first block file is there the input is mapped: cut it then, or later.
        let started = std::time::Instant::now();
        while fs::read_dir(d.join("out/a")).map_or(true, |mut r| r.next().is_none()) {
            assert!(started.elapsed().as_secs() < 20, "run {run}: no block file");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        std::thread::sleep(std::time::Duration::from_millis(run * 40));
        fs::OpenOptions::new()
            .write(true)
            .open(d.join("many.h4mk"))
            .unwrap()
            .set_len(16)
            .unwrap();
        let o = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        if o.status.success() {
            continue;
        }
        caught += 1;
        assert_eq!(o.status.code(), Some(1), "run {run}: {stderr}");
        assert!(
            stderr
                == "h4mk: error: many.h4mk: cut short by another program while h4mk read it \
                    (SIGBUS); any output file it was writing is removed\n",
            "run {run}: {stderr}"
        );
        assert!(
            !d.join("out").exists(),
            "run {run}: left {:?}",
            fs::read_dir(d.join("out/a")).map(|r| r.count())
        );
    }
    assert!(
        caught * 3 >= runs,
        "{caught} of {runs} runs were cut short in time"
    );
}

/// Of several mapped inputs, the SIGBUS message names the one that was cut short, found by
/// the address that faulted; it used to name them all ("one of these was cut short"). `remux`
/// maps `a.h4mk` and `b.h4mk`, then waits on the pipe of its third input; `b.h4mk` is cut to
/// half its pages then, so that reading its index, at its end, faults, with no race.
#[test]
fn a_cut_input_is_named_among_several() {
    let dir = TempDir::new("outputs_cut_among_several");
    let d = dir.path();
    fs::write(d.join("a.h4mk"), demo()).unwrap();
    build_many_blocks(d, "b.h4mk");
    let mut child = Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .current_dir(d)
        .args(["remux", "a.h4mk", "b.h4mk", "-", "-o", "out.h4mk"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let maps = format!("/proc/{}/maps", child.id());
    let started = std::time::Instant::now();
    while !fs::read_to_string(&maps).is_ok_and(|m| m.contains("/b.h4mk")) {
        assert!(started.elapsed().as_secs() < 20, "b.h4mk never mapped");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let b = fs::OpenOptions::new()
        .write(true)
        .open(d.join("b.h4mk"))
        .unwrap();
    let half = b.metadata().unwrap().len() / 2;
    assert!(half > 1 << 16, "b.h4mk is {} bytes", half * 2);
    b.set_len(half / 4096 * 4096).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, &demo()).unwrap();
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        "h4mk: error: b.h4mk: cut short by another program while h4mk read it (SIGBUS); any \
         output file it was writing is removed\n"
    );
    let mut left: Vec<String> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["a.h4mk", "b.h4mk", "m.json"]);
}

/// A write that fails part way through an extraction removes the folders it made, not only
/// the last one (`--dir a/b/c` used to leave `a/b`). The shell makes every write past 0 bytes
/// fail (`ulimit -f 0`, with the signal that would kill the process ignored).
#[test]
fn a_failed_extract_removes_every_folder_it_made() {
    let dir = TempDir::new("outputs_extract_folders");
    let d = dir.path();
    fs::write(d.join("demo.h4mk"), demo()).unwrap();
    let o = Command::new("sh")
        .current_dir(d)
        .args([
            "-c",
            "trap '' XFSZ; ulimit -f 0; exec \"$0\" extract --track 1 --dir a/b/c demo.h4mk",
            env!("CARGO_BIN_EXE_h4mk"),
        ])
        .output()
        .unwrap();
    failed(&o, 1, "h4mk: error: writing a/b/c/");
    assert_eq!(dir.files(), ["demo.h4mk"]);
    // A folder that was there, reached through `..`, is not one this run made: it stays.
    fs::create_dir(d.join("keep")).unwrap();
    let o = Command::new("sh")
        .current_dir(d)
        .args([
            "-c",
            "trap '' XFSZ; ulimit -f 0; exec \"$0\" extract --track 1 --dir new/../keep demo.h4mk",
            env!("CARGO_BIN_EXE_h4mk"),
        ])
        .output()
        .unwrap();
    failed(&o, 1, "h4mk: error: writing new/../keep/");
    assert_eq!(dir.files(), ["demo.h4mk", "keep"]);
    fs::remove_dir(d.join("keep")).unwrap();
    // A block file's name taken by a folder is refused before anything is written.
    fs::create_dir_all(d.join("out/0000000000_I_457.bin")).unwrap();
    fs::write(d.join("out/keep.bin"), b"mine").unwrap();
    let o = h4mk(d, &["extract", "--track", "1", "--dir", "out", "demo.h4mk"]);
    failed(
        &o,
        1,
        "h4mk: error: --dir out: block file out/0000000000_I_457.bin is a folder",
    );
    let mut left: Vec<_> = fs::read_dir(d.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["0000000000_I_457.bin", "keep.bin"]);
}

#[test]
fn a_range_that_ends_before_it_starts_is_bad_usage() {
    let dir = TempDir::new("outputs_range");
    let d = dir.path();
    let file = fixtures_dir().join("reference/demo.h4mk");
    let file = file.to_str().unwrap();
    let span = ["--track", "1", "--from-ms", "30", "--to-ms", "10", file];
    for args in [
        [&["range"][..], &span].concat(),
        [
            &["decode", "--adapter", "null"][..],
            &span,
            &["-o", "out.bin"],
        ]
        .concat(),
    ] {
        let o = h4mk(d, &args);
        failed(&o, 2, "h4mk: error: --from-ms 30 is after --to-ms 10");
    }
    assert_eq!(dir.files(), Vec::<String>::new());
}

/// Runs `h4mk ARGS` with standard output on `/dev/full`, where every write fails.
fn to_full_device(dir: &Path, args: &[&str]) -> Output {
    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::from(full))
        .output()
        .unwrap()
}

#[test]
fn a_full_standard_output_is_one_line_naming_it() {
    let dir = TempDir::new("outputs_full");
    let d = dir.path();
    let big = fixtures_dir().join("reference/three_tracks_2000.h4mk");
    let big = big.to_str().unwrap();
    let bad = fixtures_dir().join("invalid/bad_magic.h4mk");
    let bad = bad.to_str().unwrap();
    // Small outputs fail when the last buffer is flushed, large ones midway; both ways, and
    // whether the command writes a file to `-` or prints, the message is the same one line,
    // also when the command failed for its own reason and said so only on standard output.
    for args in [
        &["build", "--demo", "-o", "-"][..],
        &["extract", "--track", "1", big, "-o", "-"],
        &["list", big],
        &["info", big],
        &["verify", bad],
    ] {
        let o = to_full_device(d, args);
        failed(
            &o,
            1,
            "h4mk: error: writing standard output: No space left on device",
        );
    }
    assert_eq!(dir.files(), Vec::<String>::new());
}

/// A device that fails every write, given as `-o`, is named as what failed, in the same words
/// by every writing command, small outputs and large: `build` of a large manifest blamed a
/// block of the manifest for the full disk (an adversarial review), and the commands said it
/// three ways (a review of that fix).
#[test]
fn a_full_output_device_is_named_as_what_failed() {
    let dir = TempDir::new("outputs_full_device");
    let d = dir.path();
    let blocks: Vec<serde_json::Value> = (0..2_000)
        .map(
            |i| serde_json::json!({"track": 1, "pts_ms": i, "type": "I", "text": "x".repeat(1000)}),
        )
        .collect();
    let manifest = serde_json::json!({
        "tracks": [{"track_id": 1, "name": "a", "kind": "k", "codec": "c"}],
        "blocks": blocks,
    });
    fs::write(d.join("many.json"), manifest.to_string()).unwrap();
    let big = fixtures_dir().join("reference/three_tracks_2000.h4mk");
    let big = big.to_str().unwrap();
    let wav = d.join("tone.wav");
    let tone = h4mk_adapters::Pcm::new(8_000, vec![0.25; 8_000]);
    h4mk_adapters::write_wav(&mut fs::File::create(&wav).unwrap(), &tone).unwrap();
    for args in [
        &["build", "many.json", "-o", "/dev/full"][..],
        &["build", "--demo", "-o", "/dev/full"],
        &["remux", big, "-o", "/dev/full"],
        &["salvage", big, "-o", "/dev/full"],
        &["extract", "--track", "1", big, "-o", "/dev/full"],
        &["encode", "--adapter", "dsp", "tone.wav", "-o", "/dev/full"],
        &[
            "decode",
            "--adapter",
            "null",
            "--track",
            "1",
            big,
            "-o",
            "/dev/full",
        ],
    ] {
        let o = h4mk(d, args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(
            stderr, "h4mk: error: writing /dev/full: No space left on device (os error 28)\n",
            "{args:?}"
        );
    }
}

/// `extract -o -` of a file with a damaged block fails before writing anything: it used to
/// stream every block before the damaged one (47,835 bytes in a review), where `--dir`, a file
/// output and `decode` leave nothing.
#[test]
fn extract_to_standard_output_checks_every_block_first() {
    let dir = TempDir::new("outputs_extract_stdout_damaged");
    let d = dir.path();
    let mut bytes = fs::read(fixtures_dir().join("reference/three_tracks_2000.h4mk")).unwrap();
    fs::write(d.join("good.h4mk"), &bytes).unwrap();
    let list = json_of(&h4mk(d, &["list", "--json", "--track", "1", "good.h4mk"]));
    let last = list["blocks"].as_array().unwrap().last().unwrap()["offset"]
        .as_u64()
        .unwrap();
    bytes[usize::try_from(last).unwrap() + 12] ^= 0x01;
    fs::write(d.join("bad.h4mk"), &bytes).unwrap();
    let args = |file| ["extract", "--track", "1", file, "-o", "-"];
    let o = h4mk(d, &args("bad.h4mk"));
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty(), "{} bytes written", o.stdout.len());
    assert!(String::from_utf8_lossy(&o.stderr).contains("crc"));
    let o = h4mk(d, &args("good.h4mk"));
    succeeded(&h4mk(
        d,
        &["extract", "--track", "1", "good.h4mk", "-o", "t1.lp"],
    ));
    assert!(o.status.success() && o.stdout == fs::read(d.join("t1.lp")).unwrap());
}

#[test]
fn a_pipe_is_read_as_input_and_a_directory_refused() {
    let dir = TempDir::new("outputs_input");
    let d = dir.path();
    let path = fifo(d, "in");
    let writer = std::thread::spawn(move || fs::write(path, demo()).unwrap());
    let info = succeeded(&h4mk(d, &["verify", "in"]));
    writer.join().unwrap();
    assert!(info.contains("in: ok"), "{info}");

    fs::create_dir(d.join("adir")).unwrap();
    let o = h4mk(d, &["info", "adir"]);
    failed(&o, 1, "h4mk: error: adir: is a directory, not a file");
    // A device could stream forever.
    let o = h4mk(d, &["info", "/dev/zero"]);
    failed(
        &o,
        1,
        "h4mk: error: /dev/zero: is a device, not a file or a pipe",
    );
}

#[test]
fn extract_to_a_folder_leaves_nothing_when_a_block_is_damaged() {
    let dir = TempDir::new("outputs_extract_dir");
    let d = dir.path();
    let mut bytes = demo();
    fs::write(d.join("damaged.h4mk"), &bytes).unwrap();
    let list = json_of(&h4mk(d, &["list", "--json", "damaged.h4mk"]));
    // The third block of track 1: two are written before it.
    let third = &list["blocks"][2];
    assert_eq!(third["track"], 1);
    bytes[third["offset"].as_u64().unwrap() as usize + 9] ^= 1;
    fs::write(d.join("damaged.h4mk"), bytes).unwrap();
    let o = h4mk(
        d,
        &["extract", "--track", "1", "damaged.h4mk", "--dir", "blocks"],
    );
    failed(&o, 1, "h4mk: error: damaged.h4mk: ");
    assert_eq!(dir.files(), ["damaged.h4mk"]);

    let o = h4mk(
        d,
        &[
            "extract",
            "--track",
            "1",
            "damaged.h4mk",
            "--dir",
            "damaged.h4mk",
        ],
    );
    failed(&o, 1, "h4mk: error: --dir damaged.h4mk: not a directory");
}

#[test]
fn a_failed_extract_leaves_an_earlier_extraction_as_it_was() {
    let dir = TempDir::new("outputs_extract_dir_kept");
    let d = dir.path();
    let mut bytes = demo();
    fs::write(d.join("demo.h4mk"), &bytes).unwrap();
    let extract = ["extract", "--track", "1", "--dir", "blocks"];
    let o = h4mk(d, &[&extract[..], &["demo.h4mk"]].concat());
    assert_eq!(o.status.code(), Some(0));
    let blocks = d.join("blocks");
    let names: Vec<_> = fs::read_dir(&blocks)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(names.len(), 5);
    for path in &names {
        fs::write(path, b"mine").unwrap();
    }
    // Damage the fourth block of track 1: three would be written before it.
    let list = json_of(&h4mk(d, &["list", "--json", "demo.h4mk"]));
    let fourth = &list["blocks"][3];
    assert_eq!(fourth["track"], 1);
    bytes[fourth["offset"].as_u64().unwrap() as usize + 9] ^= 1;
    fs::write(d.join("damaged.h4mk"), bytes).unwrap();
    let o = h4mk(d, &[&extract[..], &["damaged.h4mk"]].concat());
    failed(&o, 1, "h4mk: error: damaged.h4mk: ");
    for path in &names {
        assert_eq!(fs::read(path).unwrap(), b"mine", "{}", path.display());
    }
}

#[test]
fn extract_never_writes_a_block_over_its_input() {
    let dir = TempDir::new("outputs_extract_dir_input");
    let d = dir.path();
    // The name of the first block file of track 1.
    fs::write(d.join("0000000000_I_457.bin"), demo()).unwrap();
    let o = h4mk(
        d,
        &[
            "extract",
            "--track",
            "1",
            "--dir",
            ".",
            "0000000000_I_457.bin",
        ],
    );
    failed(
        &o,
        2,
        "h4mk: error: --dir .: block file ./0000000000_I_457.bin would replace the input",
    );
    assert_eq!(fs::read(d.join("0000000000_I_457.bin")).unwrap(), demo());
    assert_eq!(dir.files(), ["0000000000_I_457.bin"]);
}

#[test]
fn replacing_a_file_keeps_its_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("outputs_mode");
    let d = dir.path();
    fs::write(d.join("private.h4mk"), b"old").unwrap();
    fs::set_permissions(d.join("private.h4mk"), fs::Permissions::from_mode(0o600)).unwrap();
    succeeded(&h4mk(d, &["build", "--demo", "-o", "private.h4mk"]));
    assert!(fs::read(d.join("private.h4mk")).unwrap() == demo());
    let mode = fs::metadata(d.join("private.h4mk"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "a private file became {mode:o}");
}

/// Standard input redirected from a file (`< f`) is mapped as the file is, not read into
/// memory, so it reads exactly as the file does; and from where it stands when that is not the
/// file's start, as a stream would be read, rather than from the start the mapping covers.
#[test]
fn standard_input_from_a_file_reads_as_the_file_from_where_it_stands() {
    let dir = TempDir::new("outputs_stdin_file");
    let d = dir.path();
    for name in crate::reference_fixtures::REFERENCE {
        let file = fixtures_dir().join(format!("reference/{name}.h4mk"));
        fs::copy(&file, d.join("in.h4mk")).unwrap();
        for command in ["list", "verify", "info"] {
            let mut named = json_of(&h4mk(d, &[command, "--json", "in.h4mk"]));
            let mut read = json_of(&h4mk_reading(d, "in.h4mk", &[command, "--json", "-"]));
            for report in [&mut named, &mut read] {
                report.as_object_mut().unwrap().remove("file");
            }
            assert_eq!(read, named, "{command} of {name}");
        }
    }
    // Four bytes in, the magic is behind standard input's position.
    let mut past_magic = fs::File::open(d.join("in.h4mk")).unwrap();
    std::io::Seek::seek(&mut past_magic, std::io::SeekFrom::Start(4)).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .current_dir(d)
        .args(["verify", "-"])
        .stdin(past_magic)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains("offset 0 holds `\\x01\\x00\\x00\\x00`, not the magic"),
        "{said}"
    );
}

/// `-n` (`--no-clobber`) keeps every existing output, as `cp -n` and ffmpeg's `-n` do: the
/// command fails in one line and the file is as it was; a missing output is written as
/// without it. A reviewer's `decode ... -o tone.wav` replaced the WAV file the container was
/// encoded from, and nothing could prevent it.
#[test]
fn no_clobber_keeps_existing_outputs() {
    let dir = TempDir::new("outputs_no_clobber");
    let d = dir.path();
    fs::write(d.join("demo.h4mk"), demo()).unwrap();
    for args in [
        &["build", "--demo", "-o", "out"][..],
        &["remux", "demo.h4mk", "-o", "out"],
        &["salvage", "demo.h4mk", "-o", "out"],
        &["extract", "--track", "1", "demo.h4mk", "-o", "out"],
        &[
            "decode",
            "--adapter",
            "null",
            "--track",
            "1",
            "demo.h4mk",
            "-o",
            "out",
        ],
    ] {
        fs::write(d.join("out"), b"mine").unwrap();
        let kept = h4mk(d, &[&["-n"][..], args].concat());
        failed(
            &kept,
            1,
            "h4mk: error: writing out: the file exists, and -n (--no-clobber) keeps it",
        );
        assert_eq!(fs::read(d.join("out")).unwrap(), b"mine", "{args:?}");
        assert_eq!(dir.files(), ["demo.h4mk", "out"], "{args:?}");
        fs::remove_file(d.join("out")).unwrap();
        succeeded(&h4mk(d, &[args, &["--no-clobber"]].concat()));
        let written = fs::read(d.join("out")).unwrap();
        fs::remove_file(d.join("out")).unwrap();
        succeeded(&h4mk(d, args));
        assert!(written == fs::read(d.join("out")).unwrap(), "{args:?}");
        fs::remove_file(d.join("out")).unwrap();
    }
    // One block file there already: nothing written, the folder as it was.
    succeeded(&h4mk(
        d,
        &["extract", "--track", "1", "--dir", "blocks", "demo.h4mk"],
    ));
    let names: Vec<_> = fs::read_dir(d.join("blocks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let (keep, others) = names.split_first().unwrap();
    fs::write(keep, b"mine").unwrap();
    others.iter().for_each(|p| fs::remove_file(p).unwrap());
    let o = h4mk(
        d,
        &[
            "extract",
            "-n",
            "--track",
            "1",
            "--dir",
            "blocks",
            "demo.h4mk",
        ],
    );
    failed(&o, 1, "h4mk: error: writing blocks/");
    assert_eq!(fs::read(keep).unwrap(), b"mine");
    assert_eq!(fs::read_dir(d.join("blocks")).unwrap().count(), 1);
}
