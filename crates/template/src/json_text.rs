//! JSON text for template documents, byte for byte what `serde_json`'s serializers write, at a
//! fraction of their cost.
//!
//! Rendering is a sixth of a synthesis. `serde_json` checks every byte of every string against its
//! escape table one at a time, and reaches each value through the `Serializer` trait. Template strings
//! (names, ARNs, types, policies) almost never need an escape, so this writer scans a string for the
//! bytes JSON escapes eight at a time, and copies it whole when there are none.
//! Anything else (a string that needs escapes, a number) goes to `serde_json` itself, so the rare cases
//! keep its exact spelling. The tests compare both writers on every kind of value.
//!
//! It writes into a `String`, each piece a `&str`, so the text needs no UTF-8 check afterwards (a
//! byte buffer turned into a `String` was read through once more: 0.3 million instructions a synth).

use serde_json::Value;

/// Appends `value` as indented JSON, one space a level and `": "` after keys, as
/// `serde_json::ser::PrettyFormatter::with_indent(b" ")` writes it (the templates' form).
pub(crate) fn write_pretty(out: &mut String, value: &Value) {
    write_value(out, value, true, 0);
}

/// Appends `value` as compact JSON, as `serde_json::to_writer` writes it.
pub(crate) fn write_compact(out: &mut String, value: &Value) {
    write_value(out, value, false, 0);
}

fn write_value(out: &mut String, value: &Value, pretty: bool, level: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => out.push_str(&serde_json::to_string(number).expect("numbers serialize")),
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            write_container(out, '[', ']', items.iter(), pretty, level, |out, item, level| {
                write_value(out, item, pretty, level);
            });
        }
        Value::Object(entries) => {
            write_container(out, '{', '}', entries.iter(), pretty, level, |out, (key, entry), level| {
                write_string(out, key);
                out.push_str(if pretty { ": " } else { ":" });
                write_value(out, entry, pretty, level);
            });
        }
    }
}

/// Writes `open`, the members each on a line of its own when indenting, and `close`; an empty container
/// stays on one line (`[]`, `{}`), as `serde_json` writes it.
fn write_container<T>(
    out: &mut String,
    open: char,
    close: char,
    members: impl ExactSizeIterator<Item = T>,
    pretty: bool,
    level: usize,
    mut write_member: impl FnMut(&mut String, T, usize),
) {
    out.push(open);
    let empty = members.len() == 0;
    for (position, member) in members.enumerate() {
        if position > 0 {
            out.push(',');
        }
        if pretty {
            new_line(out, level + 1);
        }
        write_member(out, member, level + 1);
    }
    if pretty && !empty {
        new_line(out, level);
    }
    out.push(close);
}

/// A line break and `level` spaces: up to 32 levels in one copy, deeper ones a space at a time.
fn new_line(out: &mut String, level: usize) {
    const SPACES: &str = "\n                                ";
    match SPACES.get(..=level) {
        Some(line) => out.push_str(line),
        None => {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', level));
        }
    }
}

/// A JSON string. Without a byte to escape (a control character, `"` or `\`) it is copied whole; with
/// one, `serde_json` writes it.
pub(crate) fn write_string(out: &mut String, text: &str) {
    if needs_escape(text.as_bytes()) {
        out.push_str(&serde_json::to_string(text).expect("strings serialize"));
    } else {
        out.reserve(text.len() + 2);
        out.push('"');
        out.push_str(text);
        out.push('"');
    }
}

/// Whether `bytes` hold a byte JSON escapes: below 0x20, `"` or `\`. Eight bytes at a time, as one
/// integer: a byte below a bound, or equal to one, sets its top bit in the tests below
/// ("Bit Twiddling Hacks", `haszero` and `hasless`).
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const TOPS: u64 = u64::from_ne_bytes([0x80; 8]);
    let below = |word: u64, bound: u8| word.wrapping_sub(ONES * u64::from(bound)) & !word & TOPS;
    let equal = |word: u64, byte: u8| below(word ^ (ONES * u64::from(byte)), 1);
    let escapes = |word: [u8; 8]| {
        let word = u64::from_ne_bytes(word);
        below(word, 0x20) | equal(word, b'"') | equal(word, b'\\') != 0
    };
    let mut chunks = bytes.chunks_exact(8);
    if chunks.any(|chunk| escapes(chunk.try_into().expect("chunks of eight"))) {
        return true;
    }
    // The last bytes, fewer than eight, as one word too, the rest of it filled with a byte never escaped.
    let mut last = [b'a'; 8];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    escapes(last)
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde_json::json;

    use super::*;

    fn serde_pretty(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
        value.serialize(&mut serde_json::Serializer::with_formatter(&mut out, formatter)).unwrap();
        out
    }

    fn ours(value: &Value, pretty: bool) -> String {
        let mut out = String::new();
        if pretty {
            write_pretty(&mut out, value);
        } else {
            write_compact(&mut out, value);
        }
        out
    }

    /// Every kind of value, nested, with the strings that need escapes and those that do not.
    fn corpus() -> Vec<Value> {
        let strings = [
            "",
            "plain",
            "quote \" inside",
            "back\\slash",
            "new\nline and\ttab",
            "\u{0}\u{1f}\u{7f}",
            "ünïcödé ✓ 𝄞",
            "</script>",
            "{{resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:1:secret:x}}",
        ];
        let mut values: Vec<Value> = strings.iter().map(|text| json!(text)).collect();
        values.extend([
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(-17),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(0.5),
            json!(1e300),
            json!(-2.5e-8),
            json!([]),
            json!({}),
            json!([[]]),
            json!({"a": {}}),
            json!({"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {
                "Tags": [{"Key": "k\"ey", "Value": 1}], "Empty": [], "Nested": {"Deeper": [null, true, {"x": []}]}
            }}}, strings[3]: strings[4], "": [1, 2.25, "three"]}),
        ]);
        // Deeper than the indentation written in one copy (32 levels).
        values.push((0..40).fold(json!("bottom"), |inner, level| json!({ format!("level{level}"): [inner] })));
        values
    }

    #[test]
    fn every_byte_json_escapes_is_found_at_every_place() {
        for byte in 0..=u8::MAX {
            let escaped = byte < 0x20 || byte == b'"' || byte == b'\\';
            for place in 0..19 {
                let mut bytes = [b'a'; 19];
                bytes[place] = byte;
                assert_eq!(needs_escape(&bytes[..]), escaped, "byte {byte:#04x} at {place}");
                assert_eq!(needs_escape(&bytes[..=place]), escaped, "byte {byte:#04x} last of {}", place + 1);
            }
        }
        assert!(!needs_escape("ünïcödé ✓ 𝄞 and more than eight bytes".as_bytes()));
    }

    #[test]
    fn pretty_text_is_serde_jsons_byte_for_byte() {
        for value in corpus() {
            assert_eq!(ours(&value, true), String::from_utf8(serde_pretty(&value)).unwrap(), "{value}");
        }
    }

    #[test]
    fn compact_text_is_serde_jsons_byte_for_byte() {
        for value in corpus() {
            assert_eq!(ours(&value, false), serde_json::to_string(&value).unwrap());
        }
    }
}
