//! Every reference fixture parses into exactly the chunks its `expect.json` lists.

use h4mk_format::{ChunkReader, ContainerRef, ParseOptions};

use crate::{REFERENCE, reference_bytes, reference_expect};

/// (tag, flags, chunk offset, payload offset, payload length, crc) as `expect.json` lists them.
type Row = (String, u64, u64, u64, u64, u64);

fn expected_rows(expect: &serde_json::Value) -> Vec<Row> {
    expect["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["tag"].as_str().unwrap().to_owned(),
                c["flags"].as_u64().unwrap(),
                c["chunk_offset"].as_u64().unwrap(),
                c["payload_offset"].as_u64().unwrap(),
                c["payload_len"].as_u64().unwrap(),
                c["crc32"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn slice_view_finds_every_listed_chunk() {
    for name in REFERENCE {
        let bytes = reference_bytes(name);
        let expect = reference_expect(name);
        assert_eq!(bytes.len() as u64, expect["size"].as_u64().unwrap());
        let file = ContainerRef::parse(&bytes).unwrap();
        assert_eq!(
            file.header().version as u64,
            expect["header"]["version"].as_u64().unwrap()
        );
        assert_eq!(
            file.header().timestamp_ms,
            expect["header"]["timestamp"].as_u64().unwrap()
        );
        let rows: Vec<Row> = file
            .chunks()
            .map(|c| {
                let c = c.unwrap();
                (
                    c.tag.to_string(),
                    u64::from(c.flags),
                    c.offset,
                    c.payload_offset(),
                    c.payload.len() as u64,
                    u64::from(c.crc),
                )
            })
            .collect();
        assert_eq!(rows, expected_rows(&expect), "{name}");
        let verification = file.verify();
        assert!(verification.is_ok(), "{name}: {:?}", verification.errors);
        let file_crc = expect["container_crc32"].as_u64().unwrap();
        assert_eq!(u64::from(verification.stored_file_crc), file_crc, "{name}");
        assert_eq!(
            verification.computed_file_crc.map(u64::from),
            Some(file_crc),
            "{name}"
        );
        assert_eq!(verification.intact_chunks, rows.len() as u64);
    }
}

#[test]
fn every_listed_chunk_is_readable_at_its_offset() {
    for name in REFERENCE {
        let bytes = reference_bytes(name);
        let file = ContainerRef::parse(&bytes).unwrap();
        for (tag, flags, offset, _, len, crc) in expected_rows(&reference_expect(name)) {
            let chunk = file.chunk_at(offset).unwrap();
            assert_eq!(
                (
                    chunk.tag.to_string(),
                    u64::from(chunk.flags),
                    chunk.payload.len() as u64,
                    u64::from(chunk.crc)
                ),
                (tag, flags, len, crc)
            );
        }
    }
}

#[test]
fn stream_reader_matches_the_listing() {
    for name in REFERENCE {
        let bytes = reference_bytes(name);
        let expect = reference_expect(name);
        let mut reader = ChunkReader::new(&bytes[..], ParseOptions::default()).unwrap();
        let mut buf = Vec::new();
        let mut rows = Vec::new();
        while let Some(h) = reader.next_chunk(&mut buf).unwrap() {
            assert_eq!(buf.len(), h.len as usize);
            let crc_at = h.payload_offset() as usize + buf.len();
            let crc = u32::from_le_bytes(bytes[crc_at..crc_at + 4].try_into().unwrap());
            rows.push((
                h.tag.to_string(),
                u64::from(h.flags),
                h.offset,
                h.payload_offset(),
                u64::from(h.len),
                u64::from(crc),
            ));
        }
        assert_eq!(rows, expected_rows(&expect), "{name}");
        reader.finish().unwrap();
    }
}
