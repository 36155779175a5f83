//! Every generated fixture reads as its folder says: `fixtures/valid/` with no error through
//! both readers, `fixtures/invalid/` refused by both with a typed error naming an offset.
//!
//! The files come from `cargo xtask fixtures`; this test never writes them.

use std::path::PathBuf;

use h4mk_format::{ChunkHeader, ChunkReader, ChunkRef, ContainerRef, Error, ParseOptions};

use crate::{REFERENCE, fixtures_dir};

/// The `.h4mk` files in `fixtures/<folder>/`, sorted.
fn files(folder: &str) -> Vec<(String, Vec<u8>)> {
    let dir: PathBuf = fixtures_dir().join(folder);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "h4mk"))
        .map(|p| {
            let name = format!("{folder}/{}", p.file_name().unwrap().to_string_lossy());
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no fixtures in {}", dir.display());
    out
}

/// The slice view's chunks, or the first error of parse, walk or verify.
fn read_slice(data: &[u8]) -> Result<Vec<ChunkRef<'_>>, Error> {
    let file = ContainerRef::parse(data)?;
    let chunks = file.chunks().collect::<Result<Vec<_>, _>>()?;
    let verification = file.verify();
    if let Some(e) = verification.errors.into_iter().next() {
        return Err(e);
    }
    assert_eq!(verification.intact_chunks, chunks.len() as u64);
    assert_eq!(
        verification.computed_file_crc,
        Some(verification.stored_file_crc)
    );
    Ok(chunks)
}

/// The streaming reader's chunk headers and payloads, or its first error; `finish` checks the
/// footer.
fn read_stream(data: &[u8]) -> Result<Vec<(ChunkHeader, Vec<u8>)>, Error> {
    let mut reader = ChunkReader::new(data, ParseOptions::default())?;
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while let Some(header) = reader.next_chunk(&mut buf)? {
        out.push((header, buf.clone()));
    }
    let rest = reader.finish()?;
    assert!(rest.is_empty(), "the stream reader stopped before the end");
    Ok(out)
}

#[test]
fn valid_fixtures_read_without_error_both_ways() {
    for (name, data) in files("valid") {
        let slice = read_slice(&data).unwrap_or_else(|e| panic!("{name}: slice: {e}"));
        let stream = read_stream(&data).unwrap_or_else(|e| panic!("{name}: stream: {e}"));
        let slice: Vec<_> = slice
            .iter()
            .map(|c| (c.header(), c.payload.to_vec()))
            .collect();
        assert_eq!(slice, stream, "{name}: the readers disagree");
    }
}

/// The error each reader gives for the format layer's own invalid fixtures: (file, slice
/// variant, stream variant). The stream reader cannot see the end of its input in advance, so
/// a few files fail there in a different, equally precise, way.
const EXPECTED: [(&str, &str, &str); 9] = [
    ("invalid/bad_chunk_crc.h4mk", "ChunkCrc", "ChunkCrc"),
    ("invalid/bad_file_crc.h4mk", "FileCrc", "FileCrc"),
    ("invalid/bad_magic.h4mk", "BadMagic", "BadMagic"),
    ("invalid/chunk_len_max.h4mk", "Truncated", "Truncated"),
    ("invalid/chunk_len_past_end.h4mk", "Truncated", "Truncated"),
    ("invalid/empty.h4mk", "TruncatedHeader", "TruncatedHeader"),
    ("invalid/no_footer.h4mk", "Truncated", "MissingFooter"),
    (
        "invalid/stray_bytes_before_footer.h4mk",
        "TruncatedChunkHeader",
        "TruncatedChunkHeader",
    ),
    (
        "invalid/truncated_header.h4mk",
        "TruncatedHeader",
        "TruncatedHeader",
    ),
];

/// The variant's name, from its `Debug` form.
fn variant(err: &Error) -> String {
    let debug = format!("{err:?}");
    debug
        .split([' ', '(', '{'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn invalid_fixtures_fail_both_ways_with_an_offset() {
    let files = files("invalid");
    for (name, _, _) in EXPECTED {
        assert!(
            files.iter().any(|(n, _)| n == name),
            "{name} is gone: update EXPECTED"
        );
    }
    for (name, data) in files {
        let slice = read_slice(&data).err();
        let stream = read_stream(&data).err();
        let expected = EXPECTED.iter().find(|(n, _, _)| *n == name);
        for (i, (how, err)) in [("slice", slice), ("stream", stream)]
            .into_iter()
            .enumerate()
        {
            let err = err.unwrap_or_else(|| panic!("{name}: the {how} reader accepted it"));
            if let Some(&(_, for_slice, for_stream)) = expected {
                let want = if i == 0 { for_slice } else { for_stream };
                assert_eq!(variant(&err), want, "{name}: {how}: {err}");
            }
            assert!(err.is_damage(), "{name}: {how}: not damage: {err}");
            let offset = err
                .offset()
                .unwrap_or_else(|| panic!("{name}: {how}: no offset in {err}"));
            assert!(
                offset <= data.len() as u64,
                "{name}: {how}: offset {offset} is past the end ({} bytes): {err}",
                data.len()
            );
        }
    }
}

/// The tests of every crate walk `REFERENCE`: a fixture added to the folder but not to the list
/// would be checked by none of them.
#[test]
fn every_reference_fixture_is_listed() {
    let found: Vec<String> = files("reference")
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let listed: Vec<String> = REFERENCE
        .iter()
        .map(|name| format!("reference/{name}.h4mk"))
        .collect();
    assert_eq!(found, listed);
}
