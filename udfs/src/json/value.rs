//! JSON text parsed once into a tree whose every value keeps the exact text it was written
//! with: `json` values are returned as written (PostgreSQL's `json` keeps its input text), and
//! the same tree is written again normalized for `jsonb` (PostgreSQL's `jsonb` output: keys
//! sorted shortest first and unique, the last duplicate winning, `": "` and `", "` between
//! items, strings re-escaped).
//!
//! A small recursive-descent parser of RFC 8259 rather than serde_json: serde_json would need
//! its `raw_value` feature to keep each value's text, and turning a feature on for a crate
//! DataFusion also builds recompiles DataFusion.

use std::borrow::Cow;
use std::fmt::Write;

/// Nesting deeper than this is refused rather than risking the stack (PostgreSQL refuses
/// deep nesting too, by its stack depth limit). The parser recurses per level; 256 levels fit a
/// 2 MiB thread stack with room to spare in unoptimized builds too.
pub const MAX_DEPTH: usize = 256;

/// One JSON value and the text it was written with.
#[derive(Debug)]
pub struct Node<'a> {
    /// The value's text in the input, without surrounding white space.
    pub raw: &'a str,
    pub value: Value<'a>,
}

#[derive(Debug)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    /// The number as written.
    Number(&'a str),
    /// The string literal as written, quotes and escapes included.
    String(&'a str),
    Array(Vec<Node<'a>>),
    /// Members in input order, keys unescaped; duplicates kept.
    Object(Vec<(String, Node<'a>)>),
}

/// Parses `text` as one JSON value; the error says what was wrong and where.
pub fn parse(text: &str) -> Result<Node<'_>, String> {
    parse_checked(text, false)
}

/// [`parse`] for `jsonb`, which also refuses `\u0000` (it cannot become text; PostgreSQL's
/// `22P05`).
pub fn parse_jsonb(text: &str) -> Result<Node<'_>, String> {
    parse_checked(text, true)
}

/// The start of the message for `\u0000` in `jsonb`.
pub const NUL_ESCAPE: &str = "unsupported Unicode escape sequence";

fn parse_checked(text: &str, no_nul: bool) -> Result<Node<'_>, String> {
    let mut parser = Parser {
        text,
        pos: 0,
        no_nul,
    };
    parser.skip_space();
    let node = parser.value(0)?;
    parser.skip_space();
    if parser.pos < text.len() {
        return Err(parser.error("expected end of input"));
    }
    Ok(node)
}

/// One step of a path for [`lookup`].
#[derive(Debug, Clone, Copy)]
pub enum Step<'s> {
    /// An object key only.
    Key(&'s str),
    /// An array index only (negative from the end).
    Index(i64),
    /// An object key, or an array index written as text.
    KeyOrIndex(&'s str),
}

/// The text of the value at `steps` in the JSON `text`, found without building the document
/// (what `->`, `->>`, `#>` do on every row). `Ok(None)` when a step does not exist; an error
/// when the text is not JSON along the way. A repeated key finds its last value. Values off
/// the path are only stepped over, so text that is broken after the value found is not
/// noticed.
pub fn lookup<'t>(text: &'t str, steps: &[Step]) -> Result<Option<&'t str>, String> {
    let mut parser = Parser {
        text,
        pos: 0,
        no_nul: false,
    };
    parser.skip_space();
    for (depth, step) in steps.iter().enumerate() {
        match parser.find(step, depth)? {
            Some(start) => parser.pos = start,
            None => return Ok(None),
        }
    }
    let start = parser.pos;
    parser.skip(steps.len())?;
    Ok(Some(&text[start..parser.pos]))
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    /// Refuse `\u0000` (jsonb).
    no_nul: bool,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn error(&self, what: &str) -> String {
        match self.text[self.pos..].chars().next() {
            Some(c) => format!("{what}, found {c:?} at byte {}", self.pos + 1),
            None => format!("{what}, found the end of the input"),
        }
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected {:?}", byte as char)))
        }
    }

    fn word(&mut self, word: &str) -> Result<(), String> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("expected a JSON value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node<'a>, String> {
        if depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        let start = self.pos;
        let value = match self.peek() {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => {
                self.string()?;
                Value::String(&self.text[start..self.pos])
            }
            Some(b't') => self.word("true").map(|()| Value::Bool(true))?,
            Some(b'f') => self.word("false").map(|()| Value::Bool(false))?,
            Some(b'n') => self.word("null").map(|()| Value::Null)?,
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
                Value::Number(&self.text[start..self.pos])
            }
            _ => return Err(self.error("expected a JSON value")),
        };
        Ok(Node {
            raw: &self.text[start..self.pos],
            value,
        })
    }

    fn object(&mut self, depth: usize) -> Result<Value<'a>, String> {
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            let key = unescape(self.key()?).into_owned();
            self.skip_space();
            self.expect(b':')?;
            self.skip_space();
            members.push((key, self.value(depth + 1)?));
            self.skip_space();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                _ => return Err(self.error("expected \",\" or \"}\"")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value<'a>, String> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_space();
            items.push(self.value(depth + 1)?);
            self.skip_space();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected \",\" or \"]\"")),
            }
        }
    }

    /// Steps over a string literal (at its opening quote), checking its escapes.
    /// An object key after optional white space: its literal text, quotes and escapes kept.
    fn key(&mut self) -> Result<&'a str, String> {
        self.skip_space();
        let start = self.pos;
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a string as object key"));
        }
        self.string()?;
        Ok(&self.text[start..self.pos])
    }

    fn string(&mut self) -> Result<(), String> {
        self.pos += 1;
        loop {
            // Plain characters in one tight scan: only quotes, backslashes and control
            // characters need a look.
            let rest = &self.text.as_bytes()[self.pos..];
            self.pos += rest
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .unwrap_or(rest.len());
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 1
                        }
                        Some(b'u') => {
                            let code = self.hex4()?;
                            if code == 0 && self.no_nul {
                                return Err(format!(
                                    "{NUL_ESCAPE}: \\u0000 cannot be converted to text (at byte {})",
                                    self.pos - 5
                                ));
                            }
                            if (0xDC00..0xE000).contains(&code) {
                                return Err(self
                                    .error("Unicode low surrogate must follow a high surrogate"));
                            }
                            if (0xD800..0xDC00).contains(&code) {
                                let low = if self.text[self.pos..].starts_with("\\u") {
                                    self.pos += 1;
                                    self.hex4()?
                                } else {
                                    0
                                };
                                if !(0xDC00..0xE000).contains(&low) {
                                    return Err(self.error(
                                        "Unicode low surrogate must follow a high surrogate",
                                    ));
                                }
                            }
                        }
                        _ => return Err(self.error("invalid escape in string")),
                    }
                }
                Some(byte) if byte < 0x20 => {
                    return Err(self.error("control characters must be escaped in strings"));
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// Steps over one value, checking its syntax.
    fn skip(&mut self, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        match self.peek() {
            Some(open @ (b'{' | b'[')) => {
                let close = if open == b'{' { b'}' } else { b']' };
                self.pos += 1;
                self.skip_space();
                if self.peek() == Some(close) {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.skip_space();
                    if open == b'{' {
                        if self.peek() != Some(b'"') {
                            return Err(self.error("expected a string as object key"));
                        }
                        self.string()?;
                        self.skip_space();
                        self.expect(b':')?;
                        self.skip_space();
                    }
                    self.skip(depth + 1)?;
                    self.skip_space();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(c) if c == close => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(self.error("expected \",\" or the end of the container")),
                    }
                }
            }
            Some(b'"') => self.string(),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => self.value(depth).map(|_| ()),
        }
    }

    /// In the container at `pos`, the start of the value `step` names (the last of repeated
    /// keys), or `None`; `pos` is left anywhere.
    fn find(&mut self, step: &Step, depth: usize) -> Result<Option<usize>, String> {
        let (key, index) = match *step {
            Step::Key(k) => (Some(k), None),
            Step::Index(i) => (None, Some(i)),
            Step::KeyOrIndex(k) => (Some(k), k.trim().parse::<i64>().ok()),
        };
        match self.peek() {
            Some(b'{') => {
                let Some(key) = key else { return Ok(None) };
                self.pos += 1;
                self.skip_space();
                if self.peek() == Some(b'}') {
                    return Ok(None);
                }
                let mut found = None;
                loop {
                    let literal = self.key()?;
                    let matches = if literal.contains('\\') {
                        unescape(literal) == key
                    } else {
                        &literal[1..literal.len() - 1] == key
                    };
                    self.skip_space();
                    self.expect(b':')?;
                    self.skip_space();
                    if matches {
                        found = Some(self.pos);
                    }
                    self.skip(depth + 1)?;
                    self.skip_space();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => return Ok(found),
                        _ => return Err(self.error("expected \",\" or \"}\"")),
                    }
                }
            }
            Some(b'[') => {
                let Some(index) = index else { return Ok(None) };
                self.pos += 1;
                self.skip_space();
                if self.peek() == Some(b']') {
                    return Ok(None);
                }
                let mut starts = Vec::new();
                loop {
                    self.skip_space();
                    if index >= 0 && starts.len() as i64 == index {
                        return Ok(Some(self.pos));
                    }
                    starts.push(self.pos);
                    self.skip(depth + 1)?;
                    self.skip_space();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => break,
                        _ => return Err(self.error("expected \",\" or \"]\"")),
                    }
                }
                let at = if index < 0 {
                    starts.len() as i64 + index
                } else {
                    index
                };
                Ok(usize::try_from(at)
                    .ok()
                    .and_then(|i| starts.get(i).copied()))
            }
            _ => {
                self.skip(depth)?;
                Ok(None)
            }
        }
    }

    /// The four hex digits after a `u` (at `pos`), stepping over both.
    fn hex4(&mut self) -> Result<u32, String> {
        let hex = self.text.get(self.pos + 1..self.pos + 5);
        match hex.filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit())) {
            Some(h) => {
                self.pos += 5;
                Ok(u32::from_str_radix(h, 16).unwrap_or(0xFFFD))
            }
            None => Err(self.error("\\u must be followed by four hex digits")),
        }
    }

    fn digits(&mut self) -> Result<(), String> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error("expected a digit"));
        }
        Ok(())
    }

    fn number(&mut self) -> Result<(), String> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        if self.peek() == Some(b'0') {
            self.pos += 1;
        } else {
            self.digits()?;
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.digits()?;
        }
        Ok(())
    }
}

/// The text of a checked string literal (quotes included) with its escapes resolved; a lone
/// surrogate becomes U+FFFD.
pub fn unescape(literal: &str) -> Cow<'_, str> {
    let inner = &literal[1..literal.len() - 1];
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    let hex4 = |chars: &mut std::str::Chars| -> u32 {
        let digits: String = chars.by_ref().take(4).collect();
        u32::from_str_radix(&digits, 16).unwrap_or(0xFFFD)
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let first = hex4(&mut chars);
                let code = if (0xD800..0xDC00).contains(&first) && chars.as_str().starts_with("\\u")
                {
                    let mut ahead = chars.clone();
                    ahead.nth(1);
                    let second = hex4(&mut ahead);
                    if (0xDC00..0xE000).contains(&second) {
                        chars = ahead;
                        0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                    } else {
                        0xFFFD
                    }
                } else {
                    first
                };
                out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Cow::Owned(out)
}

/// Appends `text` as a JSON string literal, escaped as PostgreSQL escapes it.
pub fn quote(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl<'a> Node<'a> {
    /// `json_typeof`'s name for the value.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// Appends the value as `jsonb` writes it.
    pub fn write_normalized(&self, out: &mut String) {
        match &self.value {
            Value::Null | Value::Bool(_) => out.push_str(self.raw),
            Value::Number(raw) => out.push_str(&normalize_number(raw)),
            Value::String(literal) => quote(&unescape(literal), out),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write_normalized(out);
                }
                out.push(']');
            }
            Value::Object(members) => {
                // The last of equal keys wins; keys ordered shortest first, then bytewise.
                let mut order: Vec<usize> = (0..members.len()).collect();
                order.sort_by(|&a, &b| {
                    let (ka, kb) = (&members[a].0, &members[b].0);
                    (ka.len(), ka.as_bytes(), std::cmp::Reverse(a)).cmp(&(
                        kb.len(),
                        kb.as_bytes(),
                        std::cmp::Reverse(b),
                    ))
                });
                order.dedup_by(|later, earlier| members[*later].0 == members[*earlier].0);
                out.push('{');
                for (i, &m) in order.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    quote(&members[m].0, out);
                    out.push_str(": ");
                    members[m].1.write_normalized(out);
                }
                out.push('}');
            }
        }
    }
}

/// A JSON number as PostgreSQL's `numeric` prints it in `jsonb`: no exponent (`1e2` → `100`,
/// `1.5E-3` → `0.0015`, the scale kept), no negative zero. Left as written when the exponent is
/// beyond ±1000.
pub fn normalize_number(raw: &str) -> Cow<'_, str> {
    let (negative, rest) = match raw.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, raw),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => match rest[i + 1..].parse::<i64>() {
            Ok(e) if e.abs() <= 1000 => (&rest[..i], e),
            _ => return Cow::Borrowed(raw),
        },
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let zero = int.bytes().chain(frac.bytes()).all(|b| b == b'0');
    if exponent == 0 && !(negative && zero) {
        return Cow::Borrowed(raw);
    }
    let digits = format!("{int}{frac}");
    let point = int.len() as i64 + exponent;
    let (whole, fraction) = if point <= 0 {
        (
            String::new(),
            format!("{}{digits}", "0".repeat((-point) as usize)),
        )
    } else if point as usize >= digits.len() {
        (
            format!("{digits}{}", "0".repeat(point as usize - digits.len())),
            String::new(),
        )
    } else {
        let (a, b) = digits.split_at(point as usize);
        (a.to_string(), b.to_string())
    };
    let whole = whole.trim_start_matches('0');
    let mut out = String::with_capacity(whole.len() + fraction.len() + 3);
    out.push_str(if whole.is_empty() { "0" } else { whole });
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(&fraction);
    }
    if negative && !zero {
        out.insert(0, '-');
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Navigation on the parsed tree: the oracle [`lookup`] is checked against.
    impl<'a> Node<'a> {
        /// The member `key` of an object (the last one when repeated), else `None`.
        pub fn get(&self, key: &str) -> Option<&Node<'a>> {
            match &self.value {
                Value::Object(members) => {
                    members.iter().rev().find(|(k, _)| k == key).map(|m| &m.1)
                }
                _ => None,
            }
        }

        /// Item `index` of an array, counting from the end when negative, else `None`.
        pub fn at(&self, index: i64) -> Option<&Node<'a>> {
            match &self.value {
                Value::Array(items) => {
                    let i = if index < 0 {
                        items.len() as i64 + index
                    } else {
                        index
                    };
                    usize::try_from(i).ok().and_then(|i| items.get(i))
                }
                _ => None,
            }
        }

        /// One step of a text path (`#>`, `json_extract_path`): a key of an object, or an index
        /// of an array written as an integer.
        pub fn step(&self, step: &str) -> Option<&Node<'a>> {
            match &self.value {
                Value::Object(_) => self.get(step),
                Value::Array(_) => step.trim().parse::<i64>().ok().and_then(|i| self.at(i)),
                _ => None,
            }
        }
    }

    fn normalized(text: &str) -> String {
        let mut out = String::new();
        parse(text).expect("valid").write_normalized(&mut out);
        out
    }

    #[test]
    fn values_keep_their_text_and_normalize_like_jsonb() {
        let doc = parse(r#" {"b" : [1, 2.50,  {"x":null}], "a":"\u00e9\n", "a": true} "#).unwrap();
        assert_eq!(doc.get("b").unwrap().raw, r#"[1, 2.50,  {"x":null}]"#);
        assert_eq!(doc.get("a").unwrap().raw, "true", "the last duplicate wins");
        assert_eq!(doc.get("b").unwrap().at(-1).unwrap().raw, r#"{"x":null}"#);
        assert_eq!(doc.step("b").unwrap().step("1").unwrap().raw, "2.50");
        assert!(doc.get("c").is_none() && doc.at(0).is_none());
        assert_eq!(
            normalized(r#"{"bb":1,"a":{"y":[],"x":{}},"c":"\u00e9\/\"","bb":2}"#),
            r#"{"a": {"x": {}, "y": []}, "c": "é/\"", "bb": 2}"#
        );
        assert_eq!(normalized(r#""\ud83d\ude00 \t""#), "\"😀 \\t\"");
        assert_eq!(doc.type_name(), "object");
    }

    #[test]
    fn bad_text_is_refused_with_the_place() {
        for (text, what) in [
            ("", "expected a JSON value, found the end"),
            ("{\"a\" 1}", "expected ':', found '1' at byte 6"),
            ("[1,]", "expected a JSON value, found ']'"),
            ("01", "expected end of input"),
            ("\"a\u{1}\"", "control characters"),
            ("\"\\x\"", "invalid escape"),
            ("-", "expected a digit"),
            ("1.", "expected a digit"),
            ("tru", "expected a JSON value"),
            ("{\"a\":1} x", "expected end of input, found 'x' at byte 9"),
        ] {
            let e = parse(text).expect_err(text);
            assert!(e.contains(what), "{text:?}: {e}");
        }
        let deep = "[".repeat(MAX_DEPTH + 2);
        assert!(parse(&deep).unwrap_err().contains("nesting deeper"));
    }

    #[test]
    fn lookups_find_what_the_tree_finds() {
        let text = r#" {"a": {"b": [10, {"c": "x"}, 30]}, "k\u0041": 1, "a": {"b": [7]}, "z": } "#;
        // The last "a" wins; the broken "z" after it is not reached by every lookup.
        let doc = r#"{"a": {"b": [10, {"c": "x"}, 30]}, "kA": 1, "d": [1, [2]], "n": null}"#;
        let tree = parse(doc).unwrap();
        for steps in [
            vec![
                Step::Key("a"),
                Step::Key("b"),
                Step::Index(1),
                Step::Key("c"),
            ],
            vec![Step::Key("a"), Step::Key("b"), Step::Index(-1)],
            vec![Step::Key("a"), Step::Key("b"), Step::Index(3)],
            vec![Step::Key("kA")],
            vec![Step::Key("d"), Step::KeyOrIndex("1"), Step::Index(0)],
            vec![Step::Key("d"), Step::Key("1")],
            vec![Step::Key("n")],
            vec![Step::Index(0)],
            vec![],
        ] {
            let mut want = Some(&tree);
            for step in &steps {
                want = want.and_then(|n| match *step {
                    Step::Key(k) => n.get(k),
                    Step::Index(i) => n.at(i),
                    Step::KeyOrIndex(k) => n.step(k),
                });
            }
            assert_eq!(
                lookup(doc, &steps).unwrap(),
                want.map(|n| n.raw),
                "{steps:?}"
            );
        }
        assert!(
            lookup(text, &[Step::Key("a")]).is_err(),
            "the broken member is reached"
        );
        assert!(lookup("[1, 2", &[Step::Index(5)]).is_err());
        assert_eq!(lookup("[1, 2]", &[Step::Index(0)]).unwrap(), Some("1"));
    }

    #[test]
    fn numbers_and_escapes_follow_jsonb() {
        for (raw, want) in [
            ("1e2", "100"),
            ("1.50", "1.50"),
            ("1.50e1", "15.0"),
            ("1.5E-3", "0.0015"),
            ("-0", "0"),
            ("-0.0", "0.0"),
            ("0e5", "0"),
            ("-12e-1", "-1.2"),
            ("120e-1", "12.0"),
            ("7", "7"),
            ("1e9999", "1e9999"),
        ] {
            assert_eq!(normalize_number(raw), want, "{raw}");
        }
        assert!(
            parse_jsonb(r#""a\u0000""#)
                .unwrap_err()
                .starts_with(NUL_ESCAPE)
        );
        assert!(parse(r#""a\u0000""#).is_ok(), "json keeps it");
        for lone in [r#""\ud800""#, r#""\udc00""#, r#""\ud800\u0041""#] {
            assert!(parse(lone).unwrap_err().contains("surrogate"), "{lone}");
        }
        assert!(parse(r#""\ud83d\ude00""#).is_ok());
    }

    #[test]
    fn strings_are_quoted_like_postgres() {
        let mut out = String::new();
        quote("a\"b\\c\n\u{1}é/", &mut out);
        assert_eq!(out, r#""a\"b\\c\n\u0001é/""#);
    }
}
