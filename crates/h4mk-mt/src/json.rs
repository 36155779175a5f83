//! JSON bytes as Python's `json.dumps(obj, ensure_ascii=False)` writes them (docs/FORMAT.md §2.1).
//!
//! Python separates items with `", "` and keys from values with `": "`; everything else
//! (string escapes, integers) is what `serde_json`'s compact output already does: `"` and `\`
//! escaped, `\n \r \t \b \f` by name, other control characters as `\u00XX` with lowercase hex,
//! every other character (DEL and non-ASCII included) written raw as UTF-8.

use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

/// A [`Formatter`] with Python's default separators, `", "` and `": "`.
#[derive(Clone, Copy, Debug, Default)]
pub struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        separate(writer, first)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        separate(writer, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }
}

/// Python's item separator, `", "`, before every item but the first.
fn separate<W: ?Sized + io::Write>(writer: &mut W, first: bool) -> io::Result<()> {
    if first {
        Ok(())
    } else {
        writer.write_all(b", ")
    }
}

/// Serialises `value` byte for byte as `json.dumps(value, ensure_ascii=False).encode("utf-8")`.
///
/// Map keys come out in the order `value` yields them (struct field order for derived types).
pub fn to_python_json<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    value.serialize(&mut ser)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(value: serde_json::Value, expect: &str) {
        assert_eq!(
            String::from_utf8(to_python_json(&value).unwrap()).unwrap(),
            expect
        );
    }

    #[test]
    fn separators_and_escapes_match_python() {
        // Expected strings are what CPython 3 prints for the same values.
        check(
            serde_json::json!({"a": [1, 2], "b": {}}),
            r#"{"a": [1, 2], "b": {}}"#,
        );
        check(serde_json::json!([]), "[]");
        check(
            serde_json::json!("q\"b\\n\nr\rt\tb\u{8}f\u{c}x\u{1}y\u{1f}"),
            r#""q\"b\\n\nr\rt\tb\bf\fx\u0001y\u001f""#,
        );
        check(
            serde_json::json!("\u{7f}é♪😀\u{2028}"),
            "\"\u{7f}é♪😀\u{2028}\"",
        );
        check(
            serde_json::json!({"m": 65535, "n": -3}),
            r#"{"m": 65535, "n": -3}"#,
        );
    }
}
