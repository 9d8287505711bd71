//! AnyValues and attributes as JSON text, written straight into strings.

use super::{AnyValue, KeyValue};

pub(super) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        // `i` is at an ASCII byte, so both slices end on character boundaries.
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

pub(super) fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_json_str(&mut out, s);
    out
}

/// A double as JSON; non-finite values (which JSON lacks) as the strings proto3 JSON uses.
fn push_json_f64(out: &mut String, v: f64) {
    if v.is_finite() {
        // `{:?}` is the shortest round-trip form and switches to exponents for extremes.
        out.push_str(&format!("{v:?}"));
    } else if v.is_nan() {
        out.push_str("\"NaN\"");
    } else if v > 0.0 {
        out.push_str("\"Infinity\"");
    } else {
        out.push_str("\"-Infinity\"");
    }
}

fn push_json_any(out: &mut String, v: &AnyValue) {
    if let Some(s) = &v.string_value {
        push_json_str(out, s);
    } else if let Some(b) = v.bool_value {
        out.push_str(if b { "true" } else { "false" });
    } else if let Some(i) = v.int_value {
        out.push_str(&i.0.to_string());
    } else if let Some(f) = v.double_value {
        push_json_f64(out, f.0);
    } else if let Some(a) = &v.array_value {
        out.push('[');
        for (i, x) in a.values.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_any(out, x);
        }
        out.push(']');
    } else if let Some(kv) = &v.kvlist_value {
        out.push('{');
        for (i, x) in kv.values.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_str(out, &x.key);
            out.push(':');
            push_json_any(out, &x.value);
        }
        out.push('}');
    } else if let Some(b) = &v.bytes_value {
        // Base64, as proto3 JSON writes bytes.
        push_json_str(out, b);
    } else {
        out.push_str("null");
    }
}

pub(super) fn any_json(v: &AnyValue) -> String {
    let mut out = String::new();
    push_json_any(&mut out, v);
    out
}

/// An AnyValue as text: a string as is, anything else as JSON; None when empty.
pub(super) fn any_text(v: AnyValue) -> Option<String> {
    match v.string_value {
        Some(s) => (!s.is_empty()).then_some(s),
        None => {
            let json = any_json(&v);
            (json != "null").then_some(json)
        }
    }
}

/// Attributes as `(key, JSON value)`.
pub(super) type Attrs = Vec<(String, String)>;

pub(super) fn rendered(kvs: Vec<KeyValue>) -> Attrs {
    kvs.into_iter()
        .map(|kv| {
            let v = any_json(&kv.value);
            (kv.key, v)
        })
        .collect()
}

/// One JSON object from attribute layers in precedence order: a key takes its value from the
/// first layer that has it. None when there is no attribute at all.
pub(super) fn join_attrs(layers: &[&[(String, String)]]) -> Option<String> {
    let mut out = String::new();
    for (i, layer) in layers.iter().enumerate() {
        for (k, v) in layer.iter() {
            if layers[..i]
                .iter()
                .any(|l| l.iter().any(|(seen, _)| seen == k))
            {
                continue;
            }
            out.push(if out.is_empty() { '{' } else { ',' });
            push_json_str(&mut out, k);
            out.push(':');
            out.push_str(v);
        }
    }
    if out.is_empty() {
        return None;
    }
    out.push('}');
    Some(out)
}

/// A trace or span id: hex as given, lower-cased; empty or all zeros (invalid in OTLP) is None.
pub(super) fn id(s: String) -> Option<String> {
    if s.bytes().all(|b| b == b'0') {
        None
    } else if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Some(s.to_ascii_lowercase())
    } else {
        Some(s)
    }
}

/// A bucket bound or quantile as a label value, as Prometheus writes them (`0.5`, `1`, `+Inf`).
pub(super) fn label_f64(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        let s = format!("{v:?}");
        match s.strip_suffix(".0") {
            Some(whole) => whole.to_string(),
            None => s,
        }
    }
}
