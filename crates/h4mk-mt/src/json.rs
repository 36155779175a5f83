//! JSON bytes as Python's `json.dumps(obj, ensure_ascii=False)` writes them (docs/FORMAT.md §2.1),
//! the reference's track list; and as `json.dumps(obj)` writes them, with every character
//! outside printable ASCII escaped as `\uXXXX` (a surrogate pair past U+FFFF), the reference's
//! JSON sidecars ([`to_python_json_ascii`]).
//!
//! Python separates items with `", "` and keys from values with `": "`, and writes a float as
//! its `repr` (`1e-05`, `1e+16`, `0.0001`, `2.0`); the rest (string escapes, integers) is what
//! `serde_json`'s compact output already does: `"` and `\` escaped, `\n \r \t \b \f` by name,
//! other control characters as `\u00XX` with lowercase hex, every other character (DEL and
//! non-ASCII included) written raw as UTF-8.
//!
//! With `serde_json`'s `arbitrary_precision` feature, a number parsed from JSON keeps its text:
//! an integer is written as given (Python's `int` has no size limit), and any other number as
//! the `repr` of the float Python would parse from it.

use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

/// A [`Formatter`] with Python's default separators, `", "` and `": "`.
#[derive(Clone, Copy, Debug, Default)]
pub struct PythonFormatter {
    /// Escape every character outside printable ASCII, as `json.dumps` does by default
    /// (`ensure_ascii=True`); else only `"`, `\` and control characters, as with
    /// `ensure_ascii=False`.
    pub ensure_ascii: bool,
}

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

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if !self.ensure_ascii {
            return writer.write_all(fragment.as_bytes());
        }
        // Python's ESCAPE_ASCII: everything but ' ' to '~', DEL included, as \uXXXX with
        // lowercase hex, past U+FFFF as a surrogate pair.
        for c in fragment.chars() {
            if (' '..='~').contains(&c) {
                writer.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(python_float(value).as_bytes())
    }

    fn write_number_str<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        value: &str,
    ) -> io::Result<()> {
        if value.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            // An integer, as Python's int writes it: only "-0" changes.
            writer.write_all(if value == "-0" {
                b"0"
            } else {
                value.as_bytes()
            })
        } else {
            let float = value.parse::<f64>().map_err(io::Error::other)?;
            self.write_f64(writer, float)
        }
    }
}

/// `repr(value)` in Python: the shortest digits that read back as `value`, in positional
/// notation when the decimal point falls within 16 digits of them and 4 zeros after it
/// (`0.0001`, `1e-05`; `1000000000000000.0`, `1e+16`), with `.0` on a whole number; and
/// `Infinity`, `-Infinity` and `NaN` as `json.dumps` writes them.
pub fn python_float(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    let sign = if value.is_sign_negative() { "-" } else { "" };
    if value.is_infinite() {
        return format!("{sign}Infinity");
    }
    let (digits, decpt) = shortest_digits(value.abs());
    let n = digits.len() as i32;
    let body = if decpt <= -4 || decpt > 16 {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let e = decpt - 1;
        let e_sign = if e < 0 { '-' } else { '+' };
        format!("{first}{dot}{rest}e{e_sign}{:02}", e.unsigned_abs())
    } else if decpt <= 0 {
        format!("0.{}{digits}", "0".repeat(decpt.unsigned_abs() as usize))
    } else if decpt < n {
        let (int, frac) = digits.split_at(decpt as usize);
        format!("{int}.{frac}")
    } else {
        format!("{digits}{}.0", "0".repeat((decpt - n) as usize))
    };
    format!("{sign}{body}")
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
    python_json(value, false)
}

/// Serialises `value` byte for byte as `json.dumps(value).encode("utf-8")`, Python's default:
/// what the reference's own code writes its JSON sidecars with.
///
/// ```
/// let meta = serde_json::json!({"title": "café ♪"});
/// let bytes = h4mk_mt::json::to_python_json_ascii(&meta)?;
/// assert_eq!(bytes, br#"{"title": "caf\u00e9 \u266a"}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn to_python_json_ascii<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    python_json(value, true)
}

fn python_json<T: Serialize + ?Sized>(
    value: &T,
    ensure_ascii: bool,
) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::new();
    let formatter = PythonFormatter { ensure_ascii };
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut ser)?;
    Ok(out)
}

/// The shortest significant digits that read back as `value` (positive and finite), and
/// Python's `decpt`: `value` is 0.DIGITS times 10 to it. Among two shortest candidates equally
/// near `value`, the even one, as Python's `repr` picks.
fn shortest_digits(value: f64) -> (String, i32) {
    // Rust's `{:e}` writes shortest round-tripping digits too, `d[.ddd]e[-]n`, but breaks a
    // tie upwards.
    let split = |sci: &str| {
        let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
        let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        (digits, exp.parse::<i32>().unwrap_or(0) + 1)
    };
    let (digits, decpt) = split(&format!("{value:e}"));
    // A tie: `value` lies exactly halfway between two candidates of this length, which shows
    // in its exact expansion (767 significant digits at most) as a 5 and then only zeros.
    let (exact, exact_decpt) = split(&format!("{value:.800e}"));
    let n = digits.len();
    let (Some(lower), Some(rest)) = (exact.get(..n), exact.get(n..)) else {
        return (digits, decpt);
    };
    if exact_decpt != decpt || rest.trim_end_matches('0') != "5" {
        return (digits, decpt);
    }
    // The candidates are `lower` and the one a unit above it; keep the even one if it reads
    // back (one ending in 9 has no same-length successor, and is then the only candidate).
    let mut even = lower.as_bytes().to_vec();
    match even.last_mut() {
        Some(d) if (*d - b'0') % 2 == 1 && *d != b'9' => *d += 1,
        Some(_) => {}
        None => return (digits, decpt),
    }
    let even = String::from_utf8(even).unwrap_or_default();
    if format!("0.{even}e{decpt}").parse::<f64>() == Ok(value) {
        (even, decpt)
    } else {
        (digits, decpt)
    }
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

    /// `json.dumps(value)`, as CPython 3 prints it: everything outside ' ' to '~' escaped,
    /// DEL too, a character past U+FFFF as a surrogate pair, the rest as with
    /// `ensure_ascii=False`. The reference's own sidecars are written so; a manifest's were
    /// written raw (a compatibility review).
    #[test]
    fn ensure_ascii_escapes_as_python() {
        let value = serde_json::json!({"n": [1.5, null], "tïtle": "café ♪ \u{1f3b5} \u{7f}~\n\""});
        assert_eq!(
            String::from_utf8(to_python_json_ascii(&value).unwrap()).unwrap(),
            r#"{"n": [1.5, null], "t\u00eftle": "caf\u00e9 \u266a \ud83c\udfb5 \u007f~\n\""}"#
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

    #[test]
    // The literals are the exact values, halfway cases included, so their precision is the point.
    #[allow(clippy::excessive_precision)]
    fn floats_are_written_as_python_repr_writes_them() {
        // Each right-hand side is what CPython 3 prints for `repr(float(left))`.
        for (value, python) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (2.0, "2.0"),
            (0.5, "0.5"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
            (1.0 / 3.0, "0.3333333333333333"),
            (123.456, "123.456"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (1e-5, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (-1.25e-10, "-1.25e-10"),
            (1e15, "1000000000000000.0"),
            (1234567890123456.0, "1234567890123456.0"),
            (1e16, "1e+16"),
            (1.2345678901234567e19, "1.2345678901234567e+19"),
            (1e22, "1e+22"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::NAN, "NaN"),
            // Exactly halfway between two shortest forms: Python keeps the even digit.
            (562_949_953_421_312.25, "562949953421312.2"),
            (96_134_048_182_981.125, "96134048182981.12"),
            (1_801_514_316_094_494.2, "1801514316094494.2"),
            (2_223_007_634_874.781_2, "2223007634874.7812"),
            (2_223_007_634_874.781_3, "2223007634874.7812"),
        ] {
            assert_eq!(python_float(value), python, "{value:e}");
        }
        check(serde_json::json!([1e-5, 2.0, 3]), "[1e-05, 2.0, 3]");
    }
}
