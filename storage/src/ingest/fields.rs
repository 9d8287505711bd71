//! A source record as its top-level fields, borrowed from the source text where it can be.
//!
//! The JSON-lines adapter parses each line straight into [`Field`]s with a serde visitor
//! ([`parse_object`]): strings without escapes stay slices of the line, numbers stay numbers,
//! and only nested objects and arrays become `serde_json::Value`s (a dotted `--map` path may
//! reach into them, and leftovers go to `attributes` as JSON). No tree is built for a flat
//! record, and nothing is allocated for it once the field list has grown to the record's size.
//! Field names are resolved to the [`KeyId`]s of a [`FieldMap`] while parsing, so mapping a
//! record compares small integers instead of strings.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

use super::mapping::{FieldMap, KeyId, prefix_word};

/// A field value; `Json` holds only objects and arrays.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    Num(Number),
    Str(Cow<'a, str>),
    Json(Cow<'a, Value>),
}

impl<'a> From<&'a Value> for Val<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => Val::Num(n.clone()),
            Value::String(s) => Val::Str(Cow::Borrowed(s)),
            Value::Array(_) | Value::Object(_) => Val::Json(Cow::Borrowed(v)),
        }
    }
}

impl Val<'_> {
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Num(n) => Value::Number(n.clone()),
            Val::Str(s) => Value::String(s.to_string()),
            Val::Json(v) => v.clone().into_owned(),
        }
    }
}

/// A field value as seen by the mapping: a field's own value, or one found inside a nested
/// object by a dotted path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ValRef<'a> {
    Null,
    Bool(bool),
    Num(&'a Number),
    Str(&'a str),
    /// An object or an array.
    Json(&'a Value),
}

impl<'a> From<&'a Val<'_>> for ValRef<'a> {
    fn from(v: &'a Val<'_>) -> Self {
        match v {
            Val::Null => ValRef::Null,
            Val::Bool(b) => ValRef::Bool(*b),
            Val::Num(n) => ValRef::Num(n),
            Val::Str(s) => ValRef::Str(s),
            Val::Json(v) => ValRef::Json(v),
        }
    }
}

impl<'a> From<&'a Value> for ValRef<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::Null => ValRef::Null,
            Value::Bool(b) => ValRef::Bool(*b),
            Value::Number(n) => ValRef::Num(n),
            Value::String(s) => ValRef::Str(s),
            Value::Array(_) | Value::Object(_) => ValRef::Json(v),
        }
    }
}

/// Renders like `serde_json::Value`'s `Display` (compact JSON), so messages and values that
/// show a source value read the same as when the record was a `Value` tree.
impl fmt::Display for ValRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValRef::Null => f.write_str("null"),
            ValRef::Bool(b) => write!(f, "{b}"),
            ValRef::Num(n) => write!(f, "{n}"),
            ValRef::Str(s) => write!(f, "{}", Value::String(s.to_string())),
            ValRef::Json(v) => write!(f, "{v}"),
        }
    }
}

impl fmt::Display for Val<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        ValRef::from(self).fmt(f)
    }
}

/// One top-level field of a record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field<'a> {
    /// The name's id in the [`FieldMap`], when the mapping knows the name.
    pub id: Option<KeyId>,
    pub key: Cow<'a, str>,
    pub val: Val<'a>,
}

/// What a line held at its top level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Object,
    /// Anything else, named for the reject reason ("an array", "a string", …).
    Not(&'static str),
}

/// The field names of the previous record a worker parsed, with their key ids, in order. Log
/// lines repeat their names in the same order, so the fast path checks the name it expects
/// with one comparison instead of scanning and looking it up.
#[derive(Debug, Default)]
pub(crate) struct LastKeys(Vec<(String, u64, Option<KeyId>)>);

/// Parses one JSON text into `fields` (which is cleared first). Syntax errors are
/// `serde_json`'s own, with the same words a parse into a `Value` gives.
pub(crate) fn parse_object<'a>(
    map: &FieldMap,
    text: &'a str,
    fields: &mut Vec<Field<'a>>,
    last: &mut LastKeys,
) -> serde_json::Result<Shape> {
    fields.clear();
    if parse_flat(map, text, fields, last).is_some() {
        return Ok(Shape::Object);
    }
    fields.clear();
    parse_serde(map, text, fields)
}

/// The general parse, through serde.
fn parse_serde<'a>(
    map: &FieldMap,
    text: &'a str,
    fields: &mut Vec<Field<'a>>,
) -> serde_json::Result<Shape> {
    let mut de = serde_json::Deserializer::from_str(text);
    let shape = de.deserialize_any(Record { map, fields })?;
    de.end()?;
    Ok(shape)
}

/// Adds a field; a repeated name keeps its last value, as a JSON object map does. `seen` has a
/// bit per key id below 64 already added, so the usual record needs no search for repeats.
#[inline]
fn push<'a>(
    fields: &mut Vec<Field<'a>>,
    seen: &mut u64,
    id: Option<KeyId>,
    key: Cow<'a, str>,
    val: Val<'a>,
) {
    if let Some(bit) = id.and_then(|id| 1u64.checked_shl(u32::from(id)))
        && *seen & bit == 0
    {
        *seen |= bit;
        fields.push(Field { id, key, val });
        return;
    }
    match fields
        .iter_mut()
        .find(|f| f.id == id && (id.is_some() || f.key == key))
    {
        Some(f) => f.val = val,
        None => fields.push(Field { id, key, val }),
    }
}

/// The usual log line without serde's generic machinery: one flat object, no escapes or control
/// characters anywhere, values that are strings, numbers, booleans or null. `None` at anything
/// else (nesting, escapes, a number `serde_json` refuses, any syntax error), and
/// [`parse_serde`] parses the line again; what this accepts, serde reads the same.
fn parse_flat<'a>(
    map: &FieldMap,
    text: &'a str,
    fields: &mut Vec<Field<'a>>,
    last: &mut LastKeys,
) -> Option<()> {
    let b = text.as_bytes();
    if has_escape_or_control(b) {
        return None;
    }
    let mut i = skip_ws(b, 0);
    if *b.get(i)? != b'{' {
        return None;
    }
    i = skip_ws(b, i + 1);
    if *b.get(i)? == b'}' {
        return (skip_ws(b, i + 1) == b.len()).then_some(());
    }
    let mut seen = 0;
    for member in 0.. {
        if *b.get(i)? != b'"' {
            return None;
        }
        let start = i + 1;
        let expected = last.0.get(member).filter(|(name, word, _)| {
            let len = name.len();
            b.get(start + len) == Some(&b'"') && prefix_word(&b[start..start + len]) == *word && {
                let rest = name.as_bytes().get(8..).unwrap_or_default();
                rest.iter()
                    .zip(&b[start + 8.min(len)..])
                    .all(|(x, y)| x == y)
            }
        });
        let (end, id) = match expected {
            Some((name, _, id)) => (start + name.len(), *id),
            None => {
                let end = find_quote(b, start)?;
                let name = &text[start..end];
                let id = map.key_id(name);
                last.0.truncate(member);
                last.0
                    .push((name.to_string(), prefix_word(name.as_bytes()), id));
                (end, id)
            }
        };
        let key = &text[start..end];
        i = skip_ws(b, end + 1);
        if *b.get(i)? != b':' {
            return None;
        }
        i = skip_ws(b, i + 1);
        let rest = &b[i..];
        let (val, next) = match *rest.first()? {
            b'"' => {
                let end = find_quote(b, i + 1)?;
                (Val::Str(Cow::Borrowed(&text[i + 1..end])), end + 1)
            }
            b't' if rest.starts_with(b"true") => (Val::Bool(true), i + 4),
            b'f' if rest.starts_with(b"false") => (Val::Bool(false), i + 5),
            b'n' if rest.starts_with(b"null") => (Val::Null, i + 4),
            b'-' | b'0'..=b'9' => {
                let len = rest
                    .iter()
                    .position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .unwrap_or(rest.len());
                // serde's own number grammar and conversion, as inside an object.
                let n: Number = serde_json::from_str(&text[i..i + len]).ok()?;
                (Val::Num(n), i + len)
            }
            _ => return None,
        };
        push(fields, &mut seen, id, Cow::Borrowed(key), val);
        i = skip_ws(b, next);
        match *b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            b'}' => return (skip_ws(b, i + 1) == b.len()).then_some(()),
            _ => return None,
        }
    }
    None
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

const ONES: u64 = u64::from_le_bytes([1; 8]);
const HIGH: u64 = u64::from_le_bytes([0x80; 8]);

/// Nonzero when a byte of `w` is zero; the lowest set bit (0x80 of a byte) marks the first one
/// (a borrow can only set bits above a real zero byte).
fn zero_byte(w: u64) -> u64 {
    w.wrapping_sub(ONES) & !w & HIGH
}

/// Whether the text has a backslash or a control character, eight bytes at a time.
fn has_escape_or_control(b: &[u8]) -> bool {
    let words = b.chunks_exact(8);
    let tail = words.remainder();
    let found = words.fold(0, |found, word| {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        found | zero_byte(w ^ (ONES * u64::from(b'\\'))) | (w.wrapping_sub(ONES * 0x20) & !w & HIGH)
    });
    found != 0 || tail.iter().any(|&c| c == b'\\' || c < 0x20)
}

/// The index of the next quote from `start`, eight bytes at a time.
fn find_quote(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    while let Some(word) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let quote = zero_byte(w ^ (ONES * u64::from(b'"')));
        if quote != 0 {
            return Some(i + quote.trailing_zeros() as usize / 8);
        }
        i += 8;
    }
    b.get(i..)?.iter().position(|&c| c == b'"').map(|j| i + j)
}

struct Record<'m, 'v, 'a> {
    map: &'m FieldMap,
    fields: &'v mut Vec<Field<'a>>,
}

impl<'de> Visitor<'de> for Record<'_, '_, 'de> {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Shape, A::Error> {
        let mut seen = 0;
        while let Some(key) = access.next_key_seed(KeySeed)? {
            let val = access.next_value_seed(ValSeed)?;
            push(self.fields, &mut seen, self.map.key_id(&key), key, val);
        }
        Ok(Shape::Object)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Shape, A::Error> {
        while access.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Shape::Not("an array"))
    }

    fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::Not("a string"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::Not("a number"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::Not("a number"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::Not("a number"))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::Not("a scalar"))
    }

    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::Not("a scalar"))
    }
}

/// A field name, borrowed unless it had escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(StrVisitor)
    }
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_string()))
    }

    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

/// A field value; numbers are kept as `serde_json` would keep them in a `Value`.
struct ValSeed;

impl<'de> DeserializeSeed<'de> for ValSeed {
    type Value = Val<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ValVisitor)
    }
}

struct ValVisitor;

impl<'de> Visitor<'de> for ValVisitor {
    type Value = Val<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Val::Bool(b))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Val::Num(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Val::Num(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Number::from_f64(v).map_or(Val::Null, Val::Num))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Val::Str(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Val::Str(Cow::Owned(s.to_string())))
    }

    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Val::Str(Cow::Owned(s)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Val::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Val::Null)
    }

    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Self::Value, A::Error> {
        let v = Value::deserialize(MapAccessDeserializer::new(access))?;
        Ok(Val::Json(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, access: A) -> Result<Self::Value, A::Error> {
        let v = Value::deserialize(SeqAccessDeserializer::new(access))?;
        Ok(Val::Json(Cow::Owned(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SignalKind;

    fn parse(text: &str) -> serde_json::Result<(Shape, Vec<Field<'_>>)> {
        let map = FieldMap::new(SignalKind::Logs, &[]).unwrap();
        let mut fields = Vec::new();
        let shape = parse_object(&map, text, &mut fields, &mut LastKeys::default())?;
        Ok((shape, fields))
    }

    #[test]
    fn flat_records_borrow_their_text_and_escapes_are_decoded() {
        let (shape, fields) =
            parse(r#"{"msg":"a\"b","level":"x","n":-3,"f":1.5,"o":{"k":[1]}}"#).unwrap();
        assert_eq!(shape, Shape::Object);
        assert!(matches!(fields[0].val, Val::Str(Cow::Owned(ref s)) if s == "a\"b"));
        assert!(matches!(fields[1].val, Val::Str(Cow::Borrowed("x"))));
        assert!(fields[0].id.is_some() && fields[2].id.is_none());
        assert_eq!(fields[2].val.to_string(), "-3");
        assert_eq!(fields[3].val.to_string(), "1.5");
        assert_eq!(fields[4].val.to_string(), r#"{"k":[1]}"#);
    }

    #[test]
    fn a_repeated_name_keeps_its_last_value() {
        let (_, fields) = parse(r#"{"a":1,"msg":"x","a":2,"msg":"y"}"#).unwrap();
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].val.to_string(), "2");
        assert_eq!(fields[1].val.to_string(), r#""y""#);
    }

    #[test]
    fn other_shapes_and_syntax_errors_read_as_serde_json_says_them() {
        assert_eq!(parse("[1, {}]").unwrap().0, Shape::Not("an array"));
        assert_eq!(parse(r#""s""#).unwrap().0, Shape::Not("a string"));
        assert_eq!(parse("-1.5").unwrap().0, Shape::Not("a number"));
        assert_eq!(parse("null").unwrap().0, Shape::Not("a scalar"));
        for bad in [
            r#"{"a":1"#,
            r#"{"a":1} x"#,
            "[1,",
            r#"{"a":tru}"#,
            "{\"a\":\"\\u12\"}",
        ] {
            let want = serde_json::from_str::<Value>(bad).unwrap_err().to_string();
            assert_eq!(parse(bad).unwrap_err().to_string(), want, "{bad}");
        }
    }

    /// What the fast path accepts it must read exactly as serde does, and everything else must
    /// reach serde: random lines built from JSON fragments, valid and not, compared.
    #[test]
    fn the_flat_fast_path_reads_what_serde_reads() {
        let map = FieldMap::new(SignalKind::Logs, &[("body".into(), "m".into())]).unwrap();
        let keys = [
            r#""ts""#,
            r#""m""#,
            r#""msg""#,
            r#""body""#,
            r#""x""#,
            r#""\u0062ody""#,
            r#""""#,
            r#""a b""#,
            r#""é""#,
            r#""level""#,
        ];
        let values = [
            r#""v""#,
            r#""a\"b""#,
            r#""""#,
            "1",
            "-1",
            "0",
            "-0",
            "01",
            "1.5",
            "1e3",
            "1E+3",
            "1e400",
            "-",
            "1.",
            ".5",
            "18446744073709551616",
            "-9223372036854775809",
            "true",
            "false",
            "null",
            "tru",
            "nul",
            "truex",
            r#"{"k":1}"#,
            "[1,2]",
            "[]",
            r#""tab	in""#,
            "\"ctl\u{1}\"",
            r#""\\""#,
            r#""émoji 🎉""#,
            "1702000000.123",
            r#""12345678901234567""#,
        ];
        let glue = [
            ",", ", ", " ,", ":", " : ", "", " ", "\t", "}", "{", "]", "\"", "\r",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut fast = 0;
        // Shared across lines, as a worker's is: names are expected where the last line had them.
        let mut last = LastKeys::default();
        for _ in 0..20_000 {
            let mut line = String::new();
            if next(10) == 0 {
                line.push_str(glue[next(glue.len())]);
            }
            line.push('{');
            let members = next(5);
            for m in 0..members {
                if m > 0 {
                    line.push_str(if next(20) == 0 {
                        glue[next(glue.len())]
                    } else {
                        ","
                    });
                }
                line.push_str(keys[next(keys.len())]);
                line.push_str(if next(20) == 0 {
                    glue[next(glue.len())]
                } else {
                    ":"
                });
                if next(3) == 0 {
                    line.push(' ');
                }
                line.push_str(values[next(values.len())]);
            }
            line.push_str(if next(20) == 0 {
                glue[next(glue.len())]
            } else {
                "}"
            });
            if next(10) == 0 {
                line.push_str(glue[next(glue.len())]);
            }
            let mut by_serde = Vec::new();
            let want = parse_serde(&map, &line, &mut by_serde).map_err(|e| e.to_string());
            let mut by_flat = Vec::new();
            if parse_flat(&map, &line, &mut by_flat, &mut last).is_some() {
                fast += 1;
                assert_eq!(want, Ok(Shape::Object), "{line}");
                assert_eq!(by_flat, by_serde, "{line}");
            }
            let mut fields = Vec::new();
            let got = parse_object(&map, &line, &mut fields, &mut last).map_err(|e| e.to_string());
            assert_eq!(got, want, "{line}");
            if got.is_ok() {
                assert_eq!(fields, by_serde, "{line}");
            }
        }
        assert!(fast > 2_000, "the fast path took only {fast} lines");
    }
}
