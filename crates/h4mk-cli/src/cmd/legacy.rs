//! The original Python CLI's commands, `mt_build`, `mt_list` and `mt_chain`, under their own
//! names and flags, printing the lines the original printed, so scripts written against it
//! keep working.
//!
//! Their flags parse as the original's `argparse` did: long options may be shortened
//! (`--tr` for `--track`), and `--track` and `--t_ms` take any integer Python's `int` reads
//! (`1_000`, `-5`, past 32 bits), a track or time no block has giving an empty chain.
//!
//! One difference is on purpose: `mt_chain` plans by the decode rules of docs/FORMAT.md §5, so
//! where B-blocks are involved it lists the forward anchor a B-block needs and leaves out
//! B-blocks the target does not need (the original listed every block from the keyframe to
//! the time, in file order). Errors go to standard error with exit status 1, starting as the
//! original's did (`Error reading tracks:`, `Error reading blocks:`, `Error computing chain:`);
//! what follows is ours, naming the offset.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use h4mk_mt::json::python_float;
use h4mk_mt::{BlockRef, Demuxer, MuxOptions, Problem, TrackProblem};
use serde_json::Value;

use crate::cmd::error_chain;
use crate::input::Input;
use crate::output::write_to;

/// Write the demo container (the original's `mt_build`).
///
/// Two tracks ("main" audio, "safety" audit), five blocks of track 1 (I P B P I at 0, 33, 66,
/// 99 and 333 ms) and META and SAFE sidecars: the bytes of fixtures/reference/demo.h4mk.
#[derive(Debug, clap::Args)]
#[command(
    infer_long_args = true,
    after_help = "\
Prints `Wrote N bytes to PATH`. `h4mk build --demo -o PATH` writes the same file.

Examples:
  h4mk mt_build
  h4mk mt_build --out /tmp/demo.h4mk"
)]
pub(crate) struct BuildArgs {
    /// Where to write the container (empty: the default, as in the original).
    #[arg(long, value_name = "PATH", default_value = DEMO_NAME)]
    out: std::ffi::OsString,
}

/// List tracks and blocks (the original's `mt_list`).
#[derive(Debug, clap::Args)]
#[command(
    infer_long_args = true,
    after_help = "\
Prints a TRACKS section (id, name, kind, codec, channels, sample rate, note) and a CORE BLOCKS
section with one line per block in file order: `[idx=OFFSET] track=ID t=PTSms TYPE (SIZEB)`,
where OFFSET is the offset of the block's CORE payload. `h4mk info` and `h4mk list` say more.

Examples:
  h4mk mt_list --in demo_multitrack.h4mk"
)]
pub(crate) struct ListArgs {
    /// The container.
    #[arg(long = "in", value_name = "PATH")]
    input: PathBuf,
}

/// Print the decode chain for one time (the original's `mt_chain`).
#[derive(Debug, clap::Args)]
#[command(
    infer_long_args = true,
    after_help = "\
Prints `Decode chain for track=N t=Tms:` and then one `  -> chunk_index=OFFSET` line per
step in decode order (OFFSET is that of the block's CORE payload), or `  (empty)`. The chain
follows docs/FORMAT.md §5: a B-block comes after its forward anchor. As the original did, it
reads the whole file first and fails on any damaged chunk or a wrong file CRC; `h4mk chain`
reads only what the chain needs, and says more.

Examples:
  h4mk mt_chain --in demo_multitrack.h4mk --track 1 --t_ms 70"
)]
pub(crate) struct ChainArgs {
    /// The container.
    #[arg(long = "in", value_name = "PATH")]
    input: PathBuf,
    /// The track.
    #[arg(long, value_name = "N", value_parser = python_int, allow_negative_numbers = true)]
    track: PyInt,
    /// The time to show, in milliseconds.
    #[arg(long = "t_ms", value_name = "T", value_parser = python_int, allow_negative_numbers = true)]
    t_ms: PyInt,
}

/// The original's default output name.
const DEMO_NAME: &str = "demo_multitrack.h4mk";

/// An integer as Python's `int` reads it, and how it printed it.
#[derive(Clone, Debug)]
struct PyInt {
    /// The value, saturated to the range of an `i128`.
    value: i128,
    /// Its digits as Python prints it (sign, no underscores, no leading zeros).
    text: String,
}

/// Parses `s` as Python's `int(s)` does in base 10: surrounding whitespace, an optional sign,
/// digits with single underscores between them.
fn python_int(s: &str) -> Result<PyInt, String> {
    let invalid = || format!("invalid int value: '{s}'");
    let t = s.trim();
    let (negative, body) = match (t.strip_prefix('-'), t.strip_prefix('+')) {
        (Some(body), _) => (true, body),
        (None, Some(body)) => (false, body),
        (None, None) => (false, t),
    };
    if body.is_empty()
        || body.starts_with('_')
        || body.ends_with('_')
        || body.contains("__")
        || !body.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return Err(invalid());
    }
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_start_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let magnitude = digits.parse::<i128>().unwrap_or(i128::MAX);
    let negative = negative && digits != "0";
    Ok(PyInt {
        value: if negative { -magnitude } else { magnitude },
        text: format!("{}{digits}", if negative { "-" } else { "" }),
    })
}

pub(crate) fn run_build(
    args: &BuildArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    let path = if args.out.is_empty() {
        Path::new(DEMO_NAME)
    } else {
        Path::new(&args.out)
    };
    let written = write_to(&literal(path), out, |w| {
        Ok(crate::demo::write(w, MuxOptions::default())?)
    });
    match written {
        Ok(summary) => {
            writeln!(
                out,
                "Wrote {} bytes to {}",
                summary.file_len,
                path.display()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            writeln!(err, "Error: {e:#}")?;
            Ok(ExitCode::from(1))
        }
    }
}

pub(crate) fn run_list(
    args: &ListArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    let Some(input) = open(&args.input, "Error reading tracks", err)? else {
        return Ok(ExitCode::from(1));
    };
    let demux = match Demuxer::open(&input) {
        Ok(demux) => demux,
        Err(e) => {
            writeln!(err, "Error reading tracks: {}", error_chain(&e))?;
            return Ok(ExitCode::from(1));
        }
    };
    writeln!(out, "\n=== TRACKS ===")?;
    for (i, t) in demux.tracks().iter().enumerate() {
        // A value of another type prints as the original printed what it read.
        let show = |key, typed: String| off_type(&demux, i, key).map_or(typed, python_str);
        let name = show("name", t.name.clone());
        writeln!(out, "  [{}] {name}", t.track_id)?;
        let (kind, codec) = (show("kind", t.kind.clone()), show("codec", t.codec.clone()));
        writeln!(out, "      kind={kind}, codec={codec}")?;
        let channels = show("channels", t.channels.to_string());
        let sample_rate = show("sample_rate", t.sample_rate.to_string());
        writeln!(out, "      {channels}ch @ {sample_rate}Hz")?;
        let note = match off_type(&demux, i, "note") {
            Some(written) => python_truthy(written).then(|| python_str(written)),
            None => (!t.note.is_empty()).then(|| t.note.clone()),
        };
        if let Some(note) = note {
            writeln!(out, "      note: {note}")?;
        }
    }
    writeln!(out, "\n=== CORE BLOCKS ===")?;
    // The original read every block before printing one.
    let blocks = match demux
        .blocks()
        .collect::<h4mk_mt::Result<Vec<BlockRef<'_>>>>()
    {
        Ok(blocks) => blocks,
        Err(e) => {
            writeln!(err, "Error reading blocks: {}", error_chain(&e))?;
            return Ok(ExitCode::from(1));
        }
    };
    for b in &blocks {
        writeln!(
            out,
            "  [idx={}] track={} t={}ms {} ({}B)",
            b.offset,
            b.track,
            b.ts_ms,
            b.kind.letter(),
            b.opaque.len()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The value of `key` in track `index` as written, when it is not of the version 1 type.
fn off_type<'d>(demux: &'d Demuxer<'_>, index: usize, key: &str) -> Option<&'d str> {
    demux.problems().iter().find_map(|p| match p {
        Problem::TrackList {
            problem:
                TrackProblem::OffType {
                    index: i,
                    key: k,
                    written,
                },
            ..
        } if *i == index && *k == key => Some(written.as_str()),
        _ => None,
    })
}

/// What Python's `str` prints for the value `json.loads` reads from `written`: `None`,
/// `True`, `False`, a string's text, an integer as written (`-0` as `0`), a float as `repr`
/// writes it (`1e5` as `100000.0`, `1e400` as `inf`; the reference wrote its own floats with
/// `repr`, so those print as written). Lists and objects print as their JSON text, where
/// Python would use its own `repr` (single quotes).
fn python_str(written: &str) -> String {
    let number = written.trim();
    // Python's own words for the floats JSON has none for.
    match number {
        "NaN" => return "nan".into(),
        "Infinity" => return "inf".into(),
        "-Infinity" => return "-inf".into(),
        _ => {}
    }
    if number.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        if !number.contains(['.', 'e', 'E']) {
            return if number == "-0" { "0" } else { number }.into();
        }
        if let Ok(float) = number.parse::<f64>() {
            return match python_float(float).as_str() {
                "Infinity" => "inf".into(),
                "-Infinity" => "-inf".into(),
                repr => repr.into(),
            };
        }
    }
    match serde_json::from_str(written) {
        Ok(Value::Null) => "None".into(),
        Ok(Value::Bool(b)) => if b { "True" } else { "False" }.into(),
        Ok(Value::String(s)) => s,
        _ => written.into(),
    }
}

/// Whether Python's `if value:` holds for the value `json.loads` reads from `written`.
fn python_truthy(written: &str) -> bool {
    match serde_json::from_str(written) {
        Ok(Value::Null) => false,
        Ok(Value::Bool(b)) => b,
        Ok(Value::Number(n)) => n.as_f64() != Some(0.0),
        Ok(Value::String(s)) => !s.is_empty(),
        Ok(Value::Array(a)) => !a.is_empty(),
        Ok(Value::Object(o)) => !o.is_empty(),
        Err(_) => true,
    }
}

pub(crate) fn run_chain(
    args: &ChainArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitCode> {
    let Some(input) = open(&args.input, "Error computing chain", err)? else {
        return Ok(ExitCode::from(1));
    };
    // A track the file does not list, or a time before every block, has no chain, as in the
    // original, which filtered the blocks by both.
    let (track, t_ms) = (&args.track, &args.t_ms);
    let t = u32::try_from(t_ms.value.max(0)).unwrap_or(u32::MAX);
    // The original read every chunk, its CRC checked, and the file CRC before planning: a
    // damaged file anywhere fails here as it failed there (`h4mk chain` reads only the index
    // and the blocks it plans from).
    let planned = Demuxer::open(&input).and_then(|d| {
        d.blocks().try_for_each(|b| b.map(|_| ()))?;
        match u16::try_from(track.value) {
            Ok(id) if t_ms.value >= 0 && d.track(id).is_some() => d.chain(id, t),
            _ => Ok(Vec::new()),
        }
    });
    let steps = match planned {
        Ok(steps) => steps,
        Err(e) => {
            writeln!(err, "Error computing chain: {}", error_chain(&e))?;
            return Ok(ExitCode::from(1));
        }
    };
    writeln!(
        out,
        "Decode chain for track={} t={}ms:",
        track.text, t_ms.text
    )?;
    if steps.is_empty() {
        writeln!(out, "  (empty)")?;
    }
    for s in &steps {
        writeln!(out, "  -> chunk_index={}", s.block.offset)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `path` as the original took it: `-` is a file of that name, not a standard stream.
fn literal(path: &Path) -> std::borrow::Cow<'_, Path> {
    if path.as_os_str() == "-" {
        Path::new(".").join(path).into()
    } else {
        path.into()
    }
}

/// Opens `path`, printing the original's messages when there is no such file or it cannot be
/// read (`what` says what the command was doing).
fn open(path: &Path, what: &str, err: &mut dyn Write) -> Result<Option<Input>> {
    if !path.exists() {
        writeln!(err, "Error: file not found: {}", path.display())?;
        return Ok(None);
    }
    match Input::open_h4mk(&literal(path)) {
        Ok(input) => Ok(Some(input)),
        Err(e) => {
            writeln!(err, "{what}: {e:#}")?;
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_read_as_python_int_reads_them() {
        for (given, value, text) in [
            ("70", 70, "70"),
            (" +7 ", 7, "7"),
            ("-5", -5, "-5"),
            ("-0", 0, "0"),
            ("007", 7, "7"),
            ("1_000", 1000, "1000"),
            ("5000000000", 5_000_000_000, "5000000000"),
        ] {
            let n = python_int(given).unwrap();
            assert_eq!((n.value, n.text.as_str()), (value, text), "{given:?}");
        }
        let huge = python_int("123456789012345678901234567890123456789012").unwrap();
        assert_eq!(huge.value, i128::MAX);
        assert_eq!(huge.text, "123456789012345678901234567890123456789012");
        for bad in ["", "-", "x", "1__0", "_1", "1_", "0x10", "1.5", "1 2"] {
            assert_eq!(
                python_int(bad).unwrap_err(),
                format!("invalid int value: '{bad}'")
            );
        }
    }

    /// `mt_list` printed a number as written, where the original prints what Python reads:
    /// the same for numbers Python wrote, not for others (`1e400` printed, `inf` expected).
    #[test]
    fn values_print_as_python_str_prints_what_json_loads_reads() {
        for (written, printed) in [
            ("22050.0", "22050.0"),
            ("1e+16", "1e+16"),
            ("1e5", "100000.0"),
            ("1E-5", "1e-05"),
            ("2.50", "2.5"),
            ("-0.0", "-0.0"),
            ("1e400", "inf"),
            ("-1e400", "-inf"),
            ("NaN", "nan"),
            ("Infinity", "inf"),
            ("-Infinity", "-inf"),
            ("12", "12"),
            ("-0", "0"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("null", "None"),
            ("true", "True"),
            ("\"x\"", "x"),
            ("[1, 2]", "[1, 2]"),
        ] {
            assert_eq!(python_str(written), printed, "{written}");
        }
    }

    #[track_caller]
    fn chain(args: &[&str]) -> String {
        let demo = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/reference/demo.h4mk"
        );
        let mut argv = vec!["h4mk", "mt_chain", "--in", demo];
        argv.extend_from_slice(args);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = crate::run(argv, &mut out, &mut err);
        assert_eq!(code, ExitCode::SUCCESS, "{}", String::from_utf8_lossy(&err));
        String::from_utf8(out).unwrap()
    }

    /// The original checked every CRC of the file, the file CRC included, before it planned:
    /// a file whose only damage is its file CRC was planned without a word (a review).
    #[test]
    fn chain_fails_on_damage_anywhere_as_the_original_did() {
        let dir = std::env::temp_dir().join(format!("h4mk-mt-chain-crc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/reference/demo.h4mk"
        ))
        .unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let file = dir.join("bad_file_crc.h4mk");
        std::fs::write(&file, &bytes).unwrap();
        let argv = ["h4mk", "mt_chain", "--in", file.to_str().unwrap()];
        let argv = [&argv[..], &["--track", "1", "--t_ms", "70"]].concat();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = crate::run(argv, &mut out, &mut err);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(code, ExitCode::from(1));
        assert!(out.is_empty());
        let err = String::from_utf8(err).unwrap();
        assert!(
            err.starts_with("Error computing chain: file crc at offset "),
            "{err}"
        );
    }

    #[test]
    fn chain_takes_what_the_original_took() {
        let empty =
            |t: &str, ms: &str| format!("Decode chain for track={t} t={ms}ms:\n  (empty)\n");
        assert_eq!(
            chain(&["--track", "70000", "--t_ms", "70"]),
            empty("70000", "70")
        );
        assert_eq!(chain(&["--track", "-1", "--t_ms", "70"]), empty("-1", "70"));
        assert_eq!(chain(&["--track", "9", "--t_ms", "70"]), empty("9", "70"));
        assert_eq!(chain(&["--track", "1", "--t_ms", "-5"]), empty("1", "-5"));
        // Shortened option names, underscores, and a time past 32 bits.
        assert_eq!(
            chain(&["--tr", "1", "--t_m", "1_000"]),
            chain(&["--track", "1", "--t_ms", "1000"])
        );
        assert!(
            chain(&["--track", "1", "--t_ms", "5000000000"]).ends_with("  -> chunk_index=670\n")
        );
    }
}
