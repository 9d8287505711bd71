//! [`template_key`]: a log line with its variable tokens masked, so that lines that differ only
//! in numbers, ids and addresses share one key — and one cached embedding.
//!
//! This is deliberately small (one pass, no regular expressions); the Drain-family miner
//! (`log_template`) is the real template extractor and is meant to replace it as the cache key.
//!
//! A token is a maximal run of characters other than whitespace and ``,;()[]{}"'`=<>|``;
//! trailing `.:!?` are kept after the mask. `name:value` tokens are judged on the value. Masks,
//! in the order they are tried:
//!
//! | mask | token |
//! |---|---|
//! | `<UUID>` | `8-4-4-4-12` hex digits |
//! | `<URL>` | contains `://` |
//! | `<IP>` | IPv4 (optional `:port`, `/prefix`), IPv6 (`::` or 3+ colons, hex digits only) |
//! | `<PATH>` | starts with `/`, `~/` or a drive `C:\`, and has more after it |
//! | `<HEX>` | `0x` + hex digits, or 8+ hex digits with both a digit and a letter |
//! | `<NUM>` | digits with `.`, `:`, `-`, `_`, `/`, `+`, `,` between (numbers, dates, times, versions, ranges), a `T` between digits, and an optional unit of up to 3 letters or `%`, kept: `12ms` → `<NUM>ms` |
//!
//! Everything else, delimiters included, is copied as is. Masks are themselves tokens that no
//! rule matches, so masking is idempotent.

use std::borrow::Cow;

fn is_delimiter(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            ',' | ';'
                | '('
                | ')'
                | '['
                | ']'
                | '{'
                | '}'
                | '"'
                | '\''
                | '`'
                | '='
                | '<'
                | '>'
                | '|'
        )
}

/// The line with variable tokens masked (see the module documentation). Borrowed when nothing
/// was masked.
pub fn template_key(line: &str) -> Cow<'_, str> {
    let mut out: Option<String> = None;
    let mut copied = 0; // bytes of `line` already in `out`
    let mut start = None;
    let mut skip_to = 0;
    for (i, c) in line
        .char_indices()
        .chain(std::iter::once((line.len(), ' ')))
    {
        if i < skip_to {
            continue;
        }
        if !is_delimiter(c) {
            start.get_or_insert(i);
            continue;
        }
        let Some(s) = start.take() else { continue };
        // A URL runs to the next whitespace: its `=`, `'`, … are not token boundaries.
        let end = if line[s..i].contains("://") {
            skip_to = line[i..]
                .find(char::is_whitespace)
                .map_or(line.len(), |k| i + k);
            skip_to
        } else {
            i
        };
        let token = &line[s..end];
        let core = token.trim_end_matches(['.', ':', '!', '?']);
        // `name:value` is judged on the value when the name is a plain word.
        let (offset, value) = match core.split_once(':') {
            Some((name, value))
                if !name.is_empty()
                    && !value.is_empty()
                    && !value.starts_with("//")
                    && name
                        .chars()
                        .all(|c| c.is_alphabetic() || matches!(c, '_' | '-' | '.')) =>
            {
                (name.len() + 1, value)
            }
            _ => (0, core),
        };
        if let Some(mask) = classify(value) {
            let o = out.get_or_insert_with(|| String::with_capacity(line.len()));
            o.push_str(&line[copied..s + offset]);
            o.push_str(&mask);
            copied = s + offset + value.len();
        }
    }
    match out {
        None => Cow::Borrowed(line),
        Some(mut o) => {
            o.push_str(&line[copied..]);
            Cow::Owned(o)
        }
    }
}

fn classify(t: &str) -> Option<Cow<'static, str>> {
    if t.is_empty() {
        return None;
    }
    if is_uuid(t) {
        Some("<UUID>".into())
    } else if t.contains("://") {
        Some("<URL>".into())
    } else if is_ip(t) {
        Some("<IP>".into())
    } else if is_path(t) {
        Some("<PATH>".into())
    } else if is_hex(t) {
        Some("<HEX>".into())
    } else {
        number_mask(t)
    }
}

fn is_uuid(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn is_ipv4(t: &str) -> bool {
    let mut groups = 0;
    for g in t.split('.') {
        groups += 1;
        if g.is_empty() || g.len() > 3 || !g.bytes().all(|c| c.is_ascii_digit()) {
            return false;
        }
        if g.parse::<u16>().map_or(true, |n| n > 255) {
            return false;
        }
    }
    groups == 4
}

fn is_ip(t: &str) -> bool {
    // IPv4 with an optional `/prefix` and `:port`.
    let base = t.split_once('/').map_or(t, |(a, _)| a);
    let v4 = match base.rsplit_once(':') {
        Some((a, port)) if !port.is_empty() && port.bytes().all(|c| c.is_ascii_digit()) => a,
        _ => base,
    };
    if is_ipv4(v4) {
        return true;
    }
    // IPv6, without a `%zone` and `/prefix`.
    let v6 = base.split_once('%').map_or(base, |(a, _)| a);
    let colons = v6.bytes().filter(|&c| c == b':').count();
    (v6.contains("::") || colons >= 3)
        && v6.bytes().any(|c| c.is_ascii_hexdigit())
        && v6
            .bytes()
            .all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
}

fn is_path(t: &str) -> bool {
    let b = t.as_bytes();
    (b.len() > 1 && b[0] == b'/' && b[1] != b'/')
        || (b.len() > 2 && t.starts_with("~/"))
        || (b.len() > 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\')
}

fn is_hex(t: &str) -> bool {
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return !h.is_empty() && h.bytes().all(|c| c.is_ascii_hexdigit());
    }
    t.len() >= 8
        && t.bytes().all(|c| c.is_ascii_hexdigit())
        && t.bytes().any(|c| c.is_ascii_digit())
        && t.bytes().any(|c| c.is_ascii_alphabetic())
}

/// `<NUM>` plus the unit, when `t` is a number-like token (see the module table).
fn number_mask(t: &str) -> Option<Cow<'static, str>> {
    let b = t.as_bytes();
    let body_start = usize::from(matches!(b[0], b'-' | b'+'));
    // A unit: up to 3 trailing letters, or '%'.
    let letters = b
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    let unit_len = if b.ends_with(b"%") {
        1
    } else if letters <= 3 {
        letters
    } else {
        return None;
    };
    let body = &b[body_start..b.len() - unit_len];
    if body.is_empty() || !body[0].is_ascii_digit() || !body[body.len() - 1].is_ascii_digit() {
        return None;
    }
    for (i, &c) in body.iter().enumerate() {
        let ok = c.is_ascii_digit()
            || matches!(c, b'.' | b':' | b'-' | b'_' | b'/' | b'+' | b',')
            || (c == b'T' && body[i - 1].is_ascii_digit() && body[i + 1].is_ascii_digit());
        if !ok {
            return None;
        }
    }
    let unit = &t[t.len() - unit_len..];
    Some(if unit.is_empty() {
        "<NUM>".into()
    } else {
        format!("<NUM>{unit}").into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn key(line: &str, want: &str) {
        assert_eq!(template_key(line), want, "line: {line}");
        assert_eq!(template_key(want), want, "not idempotent: {want}");
    }

    #[test]
    fn each_kind_of_variable_is_masked() {
        key(
            "connection to 10.0.0.12:5432 refused, retrying in 250ms",
            "connection to <IP> refused, retrying in <NUM>ms",
        );
        key(
            "request 3f2a8c1e-9b7d-4c2e-8f1a-0123456789ab done",
            "request <UUID> done",
        );
        key(
            "ptr=0x7ffe12 trace 4bf92f3577b34da6",
            "ptr=<HEX> trace <HEX>",
        );
        key("open /var/log/app.log failed:", "open <PATH> failed:");
        key("fe80::1%eth0 and 2001:db8:0:0:0:0:2:1", "<IP> and <IP>");
        key(
            "at 2024-01-02T03:04:05Z took 3.5s (42%)",
            "at <NUM>Z took <NUM>s (<NUM>%)",
        );
        key("GET https://x.example/a?b='1' 200", "GET <URL> <NUM>");
        key("user_id:12345 port=8080.", "user_id:<NUM> port=<NUM>.");
        key("v1.2.3 at 12:34:56", "v1.2.3 at <NUM>");
    }

    #[test]
    fn words_and_lines_without_variables_are_kept_and_borrowed() {
        for line in [
            "",
            "deadbeef cafe http2 log4j ipv4 a/b",
            "java.lang.NullPointerException\n\tat com.x.Y.run(Y.java)",
            "héllo wörld — ok",
        ] {
            assert!(matches!(template_key(line), Cow::Borrowed(_)), "{line}");
        }
    }

    #[test]
    fn stack_traces_keep_their_lines_and_mask_line_numbers() {
        key(
            "Error: boom\n    at f (/app/src/x.js:10:5)\n    at g (/app/src/y.js:7:1)",
            "Error: boom\n    at f (<PATH>)\n    at g (<PATH>)",
        );
        key(
            "\tat com.x.Y.run(Y.java:42)",
            "\tat com.x.Y.run(Y.java:<NUM>)",
        );
    }

    #[test]
    fn lines_differing_only_in_variables_share_a_key() {
        let a = template_key("GET /users/17 from 10.1.2.3 in 5ms");
        let b = template_key("GET /users/90210 from 192.168.0.1 in 17ms");
        assert_eq!(a, b);
        assert_ne!(a, template_key("POST /users/17 from 10.1.2.3 in 5ms"));
    }
}
