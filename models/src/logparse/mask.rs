//! One log line → tokens, with variables masked.
//!
//! A line splits on ASCII whitespace into words. Each word is a constant, one variable
//! ([`Mask`]), or a constant with variables inside (`blk_<NUM>`, `onExtend:<NUM>`,
//! `(TID <NUM>)`'s `<NUM>)`): the mixed word's masked text then acts as a constant for
//! clustering, which keeps structure such as `key=<*>` in the template.
//!
//! Rules, in order, on the word's core (leading `([{<"'` and trailing `)]}>,;:.!?"'` peeled off
//! and kept as constant text):
//!
//! | core | mask |
//! |---|---|
//! | `true` / `false` (any case) | `<*>` |
//! | a whole word in quotes (`'shoes'`, `"a.b",`) | `'<*>'` |
//! | IPv4 with optional `/` before and `:port` after | `<IP>` |
//! | `8-4-4-4-12` hex | `<UUID>` |
//! | signed integer or decimal (`-27`, `1.98`) | `<NUM>` |
//! | `0x…` hex | `<HEX>` |
//! | starts with `/` (more than one char) or contains `://` | `<PATH>` |
//! | `host:port` (port of 1–5 digits) | `<*>` |
//! | otherwise, each run of `[A-Za-z0-9_]` that holds a digit | `<NUM>` (all digits), `<HEX>` (≥ 6 hex chars), else `<*>`; runs joined by one `.`, `:` or `-` become one variable (`00:39`, `2017-01-01`) |
//!
//! Everything is a byte scan: no regular expressions, no allocation per line (the caller
//! reuses a [`Masked`]).

/// The kinds of variable masking recognizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Mask {
    /// Any variable (`<*>`); also what a position becomes when lines of one template differ there.
    Any,
    /// An integer or decimal number.
    Num,
    /// A hex string (`0x1f`, a hash).
    Hex,
    /// An IPv4 address, optionally with a port.
    Ip,
    /// A UUID.
    Uuid,
    /// A file path or URL.
    Path,
}

impl Mask {
    /// All kinds, in token-id order.
    pub const ALL: [Mask; 6] = [
        Mask::Any,
        Mask::Num,
        Mask::Hex,
        Mask::Ip,
        Mask::Uuid,
        Mask::Path,
    ];

    /// The typed text of the mask in templates.
    pub fn text(self) -> &'static str {
        match self {
            Mask::Any => "<*>",
            Mask::Num => "<NUM>",
            Mask::Hex => "<HEX>",
            Mask::Ip => "<IP>",
            Mask::Uuid => "<UUID>",
            Mask::Path => "<PATH>",
        }
    }
}

/// One token of a masked line. Spans are byte offsets into the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    /// A word kept as it is.
    Const { start: u32, end: u32 },
    /// A whole word that is one variable.
    Var { mask: Mask, start: u32, end: u32 },
    /// A word with variables inside: `text` spans [`Masked::text`], `params` spans
    /// [`Masked::params`].
    Mixed {
        text: (u32, u32),
        params: (u32, u32),
        start: u32,
        end: u32,
    },
}

impl Token {
    /// The word's span in the line.
    pub(crate) fn span(&self) -> (usize, usize) {
        match *self {
            Token::Const { start, end }
            | Token::Var { start, end, .. }
            | Token::Mixed { start, end, .. } => (start as usize, end as usize),
        }
    }
}

/// A masked line; reused across lines so that masking allocates only while buffers grow.
#[derive(Debug, Default)]
pub struct Masked {
    pub(crate) tokens: Vec<Token>,
    /// Masked texts of mixed words, back to back.
    pub(crate) text: String,
    /// Spans (in the line) of the variables inside mixed words.
    pub(crate) params: Vec<(u32, u32)>,
}

impl Masked {
    /// The masked line as text: words joined by one space, variables as typed masks.
    pub(crate) fn render(&self, line: &str) -> String {
        let mut out = String::with_capacity(line.len());
        for (i, t) in self.tokens.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            match *t {
                Token::Const { start, end } => out.push_str(&line[start as usize..end as usize]),
                Token::Var { mask, .. } => out.push_str(mask.text()),
                Token::Mixed { text, .. } => out.push_str(self.mixed_text(text)),
            }
        }
        out
    }

    /// The masked text of a mixed word.
    pub(crate) fn mixed_text(&self, (s, e): (u32, u32)) -> &str {
        &self.text[s as usize..e as usize]
    }
}

/// `line` with its variables masked as templates show them (`connection to <IP> refused`),
/// words joined by one space: the text `embed_text` encodes, so that lines that differ only
/// in values share one embedding (and one cache entry). The same masking as the miner's first
/// step, with its default token limit; `scratch` is reused from line to line.
pub fn masked_text(line: &str, scratch: &mut Masked) -> String {
    mask_line(line, super::Config::default().max_tokens, scratch);
    scratch.render(line)
}

const LEAD: &[u8] = b"([{<\"'";
const TRAIL: &[u8] = b")]}>,;:.!?\"'";

/// Masks `line` into `out`. At most `max_tokens` tokens: the rest of a longer line becomes one
/// final `<*>` token, so a huge line costs no more than a long one.
pub(crate) fn mask_line(line: &str, max_tokens: usize, out: &mut Masked) {
    out.tokens.clear();
    out.text.clear();
    out.params.clear();
    let b = line.as_bytes();
    // Offsets are u32: a longer line is cut (its tail is one variable) rather than wrapped.
    let n = b.len().min(u32::MAX as usize);
    let mut i = 0;
    let next_word = |mut i: usize| -> Option<(usize, usize)> {
        while i < n && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let s = i;
        while i < n && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        (i > s).then_some((s, i))
    };
    while let Some((start, end)) = next_word(i) {
        if out.tokens.len() + 1 >= max_tokens.max(1) {
            let mut tail = n;
            while tail > start && b[tail - 1].is_ascii_whitespace() {
                tail -= 1;
            }
            out.tokens.push(Token::Var {
                mask: Mask::Any,
                start: start as u32,
                end: tail as u32,
            });
            break;
        }
        i = end;
        if let Some((num_start, num_end)) = quantity_number(b, start, end)
            && let Some(q) = quantity(line, start, num_start, num_end, &next_word, out)
        {
            out.tokens.push(q.0);
            i = q.1;
            continue;
        }
        let token = mask_word(line, start, end, out);
        out.tokens.push(token);
    }
}

/// Units that make a number and the next word one value (`9.2 KB`, `12 ms`, `<1 sec`).
const UNITS: &[&str] = &[
    "b", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "tib", "byte", "bytes", "ms", "s", "sec",
    "secs", "second", "seconds", "us", "ns", "min", "mins", "minutes", "hour", "hours",
];

fn is_unit(w: &[u8]) -> bool {
    w.len() <= 7 && UNITS.iter().any(|u| u.as_bytes().eq_ignore_ascii_case(w))
}

/// The number of a word that is only a number after leading punctuation (`12`, `(1.98`, `<1`).
fn quantity_number(b: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
    let mut s = start;
    while s < end && LEAD.contains(&b[s]) {
        s += 1;
    }
    (s < end && is_number(&b[s..end])).then_some((s, end))
}

/// A number followed by a unit word, plus a parenthesized restatement of it (`2034 bytes
/// (1.98 KB)`), as one token; returns it and where it ends.
fn quantity(
    line: &str,
    start: usize,
    num_start: usize,
    num_end: usize,
    next_word: &dyn Fn(usize) -> Option<(usize, usize)>,
    out: &mut Masked,
) -> Option<(Token, usize)> {
    let b = line.as_bytes();
    let (us, ue) = next_word(num_end)?;
    let mut uc = ue;
    while uc > us && TRAIL.contains(&b[uc - 1]) {
        uc -= 1;
    }
    if !is_unit(&b[us..uc]) {
        return None;
    }
    let (mut value_end, mut end, mut suffix) = (uc, ue, (uc, ue));
    // `(1.98 KB)` restating the value just read.
    if uc == ue
        && let Some((ps, pe)) = next_word(ue)
        && b[ps] == b'('
        && is_number(&b[ps + 1..pe])
        && let Some((qs, qe)) = next_word(pe)
        && let Some(c) = b[qs..qe]
            .iter()
            .position(|&c| c == b')')
            .filter(|&c| c > 0 && is_unit(&b[qs..qs + c]))
    {
        value_end = qs + c + 1;
        end = qe;
        suffix = (value_end, qe);
    }
    let param = (num_start as u32, value_end as u32);
    if start == num_start && suffix.0 == suffix.1 {
        return Some((
            Token::Var {
                mask: Mask::Num,
                start: start as u32,
                end: end as u32,
            },
            end,
        ));
    }
    let t0 = out.text.len() as u32;
    let p0 = out.params.len() as u32;
    out.text.push_str(&line[start..num_start]);
    out.text.push_str(Mask::Num.text());
    out.text.push_str(&line[suffix.0..suffix.1]);
    out.params.push(param);
    Some((
        Token::Mixed {
            text: (t0, out.text.len() as u32),
            params: (p0, out.params.len() as u32),
            start: start as u32,
            end: end as u32,
        },
        end,
    ))
}

fn mask_word(line: &str, start: usize, end: usize, out: &mut Masked) -> Token {
    let b = line.as_bytes();
    let word = &b[start..end];
    let has_digit = word.iter().any(u8::is_ascii_digit);
    let path_like = (word.len() > 1 && word[0] == b'/') || contains(word, b"://");
    let cons = Token::Const {
        start: start as u32,
        end: end as u32,
    };
    if let Some(t) = quoted(line, start, end, out) {
        return t;
    }
    // Booleans are values (the Loghub-2.0 study's rule BL too); checked on length first.
    let maybe_bool = matches!(word.len(), 4..=7);
    if !has_digit && !path_like && !maybe_bool {
        return cons;
    }
    let mut cs = start;
    let mut ce = end;
    while cs < ce && LEAD.contains(&b[cs]) {
        cs += 1;
    }
    while ce > cs && TRAIL.contains(&b[ce - 1]) {
        ce -= 1;
    }
    if cs == ce {
        return cons;
    }
    let core = &b[cs..ce];
    let is_bool = core.eq_ignore_ascii_case(b"true") || core.eq_ignore_ascii_case(b"false");
    if !has_digit && !path_like && !is_bool {
        return cons;
    }
    let mask = if is_bool {
        Some(Mask::Any)
    } else {
        classify(core)
    };
    if let Some(mask) = mask {
        if cs == start && ce == end {
            return Token::Var {
                mask,
                start: start as u32,
                end: end as u32,
            };
        }
        let t0 = out.text.len() as u32;
        let p0 = out.params.len() as u32;
        out.text.push_str(&line[start..cs]);
        out.text.push_str(mask.text());
        out.text.push_str(&line[ce..end]);
        out.params.push((cs as u32, ce as u32));
        return Token::Mixed {
            text: (t0, out.text.len() as u32),
            params: (p0, out.params.len() as u32),
            start: start as u32,
            end: end as u32,
        };
    }
    let t0 = out.text.len();
    let p0 = out.params.len();
    if mask_runs(line, start, end, out) {
        // One variable spanning the whole word is a variable, not a mixed word.
        if out.params.len() == p0 + 1 && out.params[p0] == (start as u32, end as u32) {
            let whole = &out.text[t0..];
            if let Some(&mask) = Mask::ALL.iter().find(|m| m.text() == whole) {
                out.text.truncate(t0);
                out.params.truncate(p0);
                return Token::Var {
                    mask,
                    start: start as u32,
                    end: end as u32,
                };
            }
        }
        Token::Mixed {
            text: (t0 as u32, out.text.len() as u32),
            params: (p0 as u32, out.params.len() as u32),
            start: start as u32,
            end: end as u32,
        }
    } else {
        out.text.truncate(t0);
        out.params.truncate(p0);
        cons
    }
}

/// A word that is one quoted value (`'shoes'`, `"x",`): the quotes stay, the value is `<*>`.
/// Quoted text is what a program prints from its input; a quote that opens a longer span
/// (`"GET /x HTTP/1.1"`) is left to the other rules.
fn quoted(line: &str, start: usize, end: usize, out: &mut Masked) -> Option<Token> {
    let b = line.as_bytes();
    let q = b[start];
    if q != b'\'' && q != b'"' {
        return None;
    }
    let mut ce = end;
    while ce > start + 1 && matches!(b[ce - 1], b',' | b'.' | b';' | b':' | b')' | b']') {
        ce -= 1;
    }
    if ce < start + 3 || b[ce - 1] != q || b[start + 1..ce - 1].contains(&q) {
        return None;
    }
    let t0 = out.text.len() as u32;
    let p0 = out.params.len() as u32;
    out.text.push(char::from(q));
    out.text.push_str(Mask::Any.text());
    out.text.push_str(&line[ce - 1..end]);
    out.params.push(((start + 1) as u32, (ce - 1) as u32));
    Some(Token::Mixed {
        text: (t0, out.text.len() as u32),
        params: (p0, out.params.len() as u32),
        start: start as u32,
        end: end as u32,
    })
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// Masks the runs of word bytes that hold a digit; returns whether any was masked.
fn mask_runs(line: &str, start: usize, end: usize, out: &mut Masked) -> bool {
    let b = line.as_bytes();
    // The open variable: (start, end, kind); `pending` is a one-byte joiner after it.
    let mut var: Option<(usize, usize, Mask)> = None;
    let mut pending: Option<usize> = None;
    let mut any = false;
    let mut i = start;
    while i < end {
        let s = i;
        if is_word_byte(b[i]) {
            while i < end && is_word_byte(b[i]) {
                i += 1;
            }
            let run = &b[s..i];
            if let Some(kind) = run_kind(run) {
                any = true;
                match (var, pending) {
                    (Some((vs, _, vk)), Some(p)) => {
                        let joined = if vk == Mask::Num && kind == Mask::Num && b[p] == b'.' {
                            Mask::Num
                        } else {
                            Mask::Any
                        };
                        var = Some((vs, i, joined));
                    }
                    (Some(v), None) => {
                        // Two word runs cannot touch; a variable ended by a non-joiner was
                        // flushed already.
                        flush(line, v, out);
                        var = Some((s, i, kind));
                    }
                    (None, _) => var = Some((s, i, kind)),
                }
                pending = None;
            } else {
                if let Some(v) = var.take() {
                    flush(line, v, out);
                }
                if let Some(p) = pending.take() {
                    out.text.push_str(&line[p..p + 1]);
                }
                out.text.push_str(&line[s..i]);
            }
        } else {
            while i < end && !is_word_byte(b[i]) {
                i += 1;
            }
            let joiner = i - s == 1 && matches!(b[s], b'.' | b':' | b'-');
            if var.is_some() && pending.is_none() && joiner && i < end {
                pending = Some(s);
            } else {
                if let Some(v) = var.take() {
                    flush(line, v, out);
                }
                if let Some(p) = pending.take() {
                    out.text.push_str(&line[p..p + 1]);
                }
                out.text.push_str(&line[s..i]);
            }
        }
    }
    if let Some(v) = var {
        flush(line, v, out);
    }
    if let Some(p) = pending {
        out.text.push_str(&line[p..p + 1]);
    }
    any
}

fn flush(_line: &str, (s, e, kind): (usize, usize, Mask), out: &mut Masked) {
    out.text.push_str(kind.text());
    out.params.push((s as u32, e as u32));
}

/// The mask of a word run, `None` when it has no digit or is a name ending in one digit
/// (`SOCKS5`, `IPv4`, `md5`, `utf8`: names, not counters).
fn run_kind(run: &[u8]) -> Option<Mask> {
    if let [head @ .., last] = run
        && last.is_ascii_digit()
        && head.len() >= 2
        && head.iter().all(u8::is_ascii_alphabetic)
    {
        return None;
    }
    let mut digits = 0;
    let mut hex = 0;
    for &c in run {
        if c.is_ascii_digit() {
            digits += 1;
        } else if matches!(c, b'a'..=b'f' | b'A'..=b'F') {
            hex += 1;
        }
    }
    if digits == 0 {
        None
    } else if digits == run.len() {
        Some(Mask::Num)
    } else if digits + hex == run.len() && run.len() >= 6 {
        Some(Mask::Hex)
    } else {
        Some(Mask::Any)
    }
}

/// Whole-core rules; `None` sends the word to run masking.
fn classify(core: &[u8]) -> Option<Mask> {
    if is_ip(core) {
        return Some(Mask::Ip);
    }
    if is_uuid(core) {
        return Some(Mask::Uuid);
    }
    if is_number(core) {
        return Some(Mask::Num);
    }
    if core.len() > 2
        && core[0] == b'0'
        && (core[1] | 0x20) == b'x'
        && core[2..].iter().all(u8::is_ascii_hexdigit)
    {
        return Some(Mask::Hex);
    }
    if (core[0] == b'/' && core.iter().any(u8::is_ascii_alphanumeric)) || contains(core, b"://") {
        return Some(Mask::Path);
    }
    if is_host_port(core) {
        return Some(Mask::Any);
    }
    None
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn digits(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
    }
    i
}

fn is_number(s: &[u8]) -> bool {
    let mut i = usize::from(matches!(s.first(), Some(b'-' | b'+')));
    let j = digits(s, i);
    if j == i {
        return false;
    }
    i = j;
    while i < s.len() && matches!(s[i], b'.' | b',') {
        let j = digits(s, i + 1);
        if j == i + 1 {
            return false;
        }
        i = j;
    }
    i == s.len()
}

fn is_ip(s: &[u8]) -> bool {
    let mut i = usize::from(s.first() == Some(&b'/'));
    for part in 0..4 {
        let j = digits(s, i);
        if j == i || j - i > 3 {
            return false;
        }
        i = j;
        if part < 3 {
            if s.get(i) != Some(&b'.') {
                return false;
            }
            i += 1;
        }
    }
    if i < s.len() {
        if s[i] != b':' {
            return false;
        }
        let j = digits(s, i + 1);
        return j > i + 1 && j == s.len();
    }
    true
}

fn is_uuid(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn is_host_port(s: &[u8]) -> bool {
    let Some(colon) = s.iter().rposition(|&c| c == b':') else {
        return false;
    };
    let (host, port) = (&s[..colon], &s[colon + 1..]);
    !host.is_empty()
        && !port.is_empty()
        && port.iter().all(u8::is_ascii_digit)
        && port.len() <= 5
        && host[0].is_ascii_alphanumeric()
        && host
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The masked line as text, for assertions.
    fn masked(line: &str) -> String {
        let mut m = Masked::default();
        mask_line(line, 64, &mut m);
        m.render(line)
    }

    #[test]
    fn whole_word_masks() {
        assert_eq!(
            masked("from 10.1.2.3:50010 /10.1.2.3 id 70c1714b-c11b-4c88-b300-239afe1f5ff8"),
            "from <IP> <IP> id <UUID>"
        );
        assert_eq!(masked("took -27 1.98 0x1F ok"), "took <NUM> <NUM> <HEX> ok");
        assert_eq!(
            masked("open /etc/x.conf hdfs://h:9000/a"),
            "open <PATH> <PATH>"
        );
        assert_eq!(
            masked("proxy.cse.cuhk.edu.hk:5070 close"),
            "<*> close",
            "host:port is one variable"
        );
    }

    #[test]
    fn variables_inside_words() {
        assert_eq!(masked("blk_-6952295868487656571"), "blk_-<NUM>");
        assert_eq!(masked("onExtend:1514038554000"), "onExtend:<NUM>");
        assert_eq!(masked("(TID 1301)"), "(TID <NUM>)");
        assert_eq!(masked("lifetime 00:39"), "lifetime <*>");
        assert_eq!(masked("size=9.2"), "size=<NUM>");
        assert_eq!(masked("a##12##34"), "a##<NUM>##<NUM>");
        assert_eq!(
            masked("[DFSClient_NONMAPREDUCE_1537864556_1]"),
            "[<*>]",
            "an identifier with a number inside is one variable"
        );
        assert_eq!(masked("key=deadbeef12"), "key=<HEX>");
    }

    #[test]
    fn constants_stay_and_edges() {
        assert_eq!(masked(""), "");
        assert_eq!(masked("   \t "), "");
        assert_eq!(masked("Claim successful."), "Claim successful.");
        assert_eq!(masked("/ and // stay"), "/ and // stay");
        assert_eq!(masked("ünïcode 12 wörds"), "ünïcode <NUM> wörds");
    }

    #[test]
    fn params_are_the_masked_values() {
        let line = "x=12:34 (7)";
        let mut m = Masked::default();
        mask_line(line, 64, &mut m);
        let values: Vec<&str> = m
            .params
            .iter()
            .map(|&(s, e)| &line[s as usize..e as usize])
            .collect();
        assert_eq!(values, ["12:34", "7"]);
    }

    #[test]
    fn quoted_words_are_values() {
        assert_eq!(
            masked("query 'shoes', suggesting 'lamp'"),
            "query '<*>', suggesting '<*>'"
        );
        assert_eq!(masked("\"GET /x HTTP/1.1\""), "\"GET <PATH> HTTP/<NUM>\"");
        assert_eq!(masked("'' and ' alone"), "'' and ' alone");
        assert_eq!(
            masked("evaluated to true, was FALSE trueish"),
            "evaluated to <*>, was <*> trueish"
        );
    }

    #[test]
    fn quantities_with_units_are_one_value() {
        assert_eq!(
            masked("size 9.2 KB, free 868.3 KB)"),
            "size <NUM>, free <NUM>)"
        );
        assert_eq!(
            masked("2034 bytes (1.98 KB) sent, 785 bytes sent"),
            "<NUM> sent, <NUM> sent"
        );
        assert_eq!(masked("lifetime <1 sec"), "lifetime <<NUM>");
        assert_eq!(masked("3 users"), "<NUM> users");
        let line = "took 12 ms";
        let mut m = Masked::default();
        mask_line(line, 64, &mut m);
        assert_eq!(m.tokens[1].span(), (5, 10));
    }

    #[test]
    fn long_lines_end_in_one_variable() {
        let line = (0..1000)
            .map(|i| format!("w{i}x"))
            .collect::<Vec<_>>()
            .join(" ");
        let mut m = Masked::default();
        mask_line(&line, 16, &mut m);
        assert_eq!(m.tokens.len(), 16);
        let (s, e) = m.tokens[15].span();
        assert!(line[s..e].starts_with("w15x") && line[s..e].ends_with("w999x"));
    }
}
