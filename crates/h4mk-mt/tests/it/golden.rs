//! Golden files of the extensions (docs/FORMAT.md §8): the muxer must keep writing them byte
//! for byte. `H4MK_UPDATE_GOLDEN=1 cargo test -p h4mk-mt --test it golden` rewrites them.

use std::path::PathBuf;

use h4mk_gop::BlockKind;
use h4mk_mt::{Demuxer, IndexStatus, MuxOptions, Muxer};
use sha2::{Digest, Sha256};

use crate::reference_fixtures::read_reference;
use crate::support::{Input, mux, spec};

fn golden_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden"))
}

#[track_caller]
fn check_golden(name: &str, bytes: &[u8]) {
    let path = golden_dir().join(name);
    if std::env::var_os("H4MK_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, bytes).unwrap();
    }
    let stored = std::fs::read(&path).unwrap();
    assert!(
        stored == bytes,
        "{name} differs from the muxer's output; if the change is intended, rerun with H4MK_UPDATE_GOLDEN=1 and commit"
    );
}

#[test]
fn the_locator_golden_file() {
    let demo = read_reference("demo", "h4mk");
    let d = Demuxer::open(&demo).unwrap();
    let opts = MuxOptions {
        index_locator: true,
        ..MuxOptions::default()
    };
    let mut m = Muxer::new(Vec::new(), d.tracks().to_vec(), &d.sidecars(), opts).unwrap();
    for b in d.blocks() {
        let b = b.unwrap();
        m.push(b.track, b.ts_ms, b.kind, b.opaque).unwrap();
    }
    let (bytes, summary) = m.finish().unwrap();
    assert_eq!(summary.index.locator, Some(demo.len() as u64 - 4));
    check_golden("locator.h4mk", &bytes);
    // It is the reference file with the 56-byte XLOC chunk before the file CRC.
    assert_eq!(bytes[..demo.len() - 4], demo[..demo.len() - 4]);
    assert_eq!(&bytes[demo.len() - 4..demo.len()], b"XLOC");
    let read = Demuxer::open(&bytes).unwrap();
    assert_eq!(
        read.index_status(),
        &IndexStatus::Located {
            offset: demo.len() as u64 - 4
        }
    );
}

#[test]
fn the_wide_seek_table_layout_is_pinned() {
    let mut ins: Vec<Input> = (0..70_000u32)
        .map(|i| Input {
            track: 5,
            ts_ms: i,
            kind: BlockKind::Key,
            opaque: vec![],
        })
        .collect();
    ins.push(Input {
        track: 6,
        ts_ms: 3,
        kind: BlockKind::Key,
        opaque: b"six".to_vec(),
    });
    let bytes = mux(&[spec(5), spec(6)], &ins, MuxOptions::default());
    let tail = &bytes[bytes.len() - 4 - 56 - 4 - 8 - 12..];
    // The last XSEK entry (pts 69,999), its count and end magic, then the XLOC.
    assert_eq!(&tail[..4], &69_999u32.to_le_bytes());
    assert_eq!(&tail[12..16], &70_000u32.to_le_bytes());
    assert_eq!(&tail[16..20], b"H4XE");
    assert_eq!(bytes.len(), 3_044_757);
    assert_eq!(
        format!("{:x}", Sha256::digest(&bytes)),
        "d4ba743e5d09d7ff4e8beb050f7f339467b332815e8be04396a0e03d25f5a11b"
    );
}

/// Floats in JSON come out as CPython's `repr` writes them, halfway cases included (Rust's own
/// shortest formatting breaks those ties the other way): `golden/python_repr.txt`, from
/// `golden/python_repr.py`.
#[test]
fn floats_are_written_as_cpython_writes_them() {
    let text = std::fs::read_to_string(golden_dir().join("python_repr.txt")).unwrap();
    let mut compared = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (bits, python) = line.split_once(' ').unwrap();
        let value = f64::from_bits(bits.parse().unwrap());
        assert_eq!(h4mk_mt::json::python_float(value), python, "{value:e}");
        compared += 1;
    }
    assert_eq!(compared, 1600);
}
