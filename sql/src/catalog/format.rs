//! `format(formatstr, args…)`: PostgreSQL's string formatting, which Metabase uses to build
//! type names and qualified table names: `%s` (text, NULL as empty), `%I` (an identifier,
//! quoted when needed), `%L` (a literal, NULL as `NULL`), `%%`, and positions `%2$s`.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Format {
    signature: Signature,
}

impl Default for Format {
    fn default() -> Self {
        Self::new()
    }
}

impl Format {
    pub fn new() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Stable),
        }
    }
}

/// `name` as PostgreSQL's `quote_ident` writes it.
pub fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn quote_literal(value: &str) -> String {
    if value.contains('\\') {
        format!("E'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
    } else {
        format!("'{}'", value.replace('\'', "''"))
    }
}

/// Formats one row; `args[i]` is the text of argument `i + 1` (None: NULL).
fn format_row(spec: &str, args: &[Option<&str>]) -> Result<String> {
    let mut out = String::with_capacity(spec.len() + 16);
    let mut chars = spec.chars().peekable();
    let mut next = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        // `%%`, `%s`, or `%<n>$s`.
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        let index = if digits.is_empty() {
            None
        } else if chars.next_if_eq(&'$').is_some() {
            Some(digits.parse::<usize>().unwrap_or(0))
        } else {
            return exec_err!(
                "format: unsupported format \"%{digits}\" (widths are not supported)"
            );
        };
        let kind = chars.next();
        if kind == Some('%') && index.is_none() {
            out.push('%');
            continue;
        }
        let position = match index {
            Some(0) => return exec_err!("format: positions are counted from 1"),
            Some(n) => n - 1,
            None => next,
        };
        next = position + 1;
        let Some(value) = args.get(position) else {
            return exec_err!("format: too few arguments");
        };
        match kind {
            Some('s') => out.push_str(value.unwrap_or("")),
            Some('I') => match value {
                Some(v) => out.push_str(&quote_ident(v)),
                None => return exec_err!("format: a NULL cannot be an identifier (%I)"),
            },
            Some('L') => match value {
                Some(v) => out.push_str(&quote_literal(v)),
                None => out.push_str("NULL"),
            },
            Some(other) => return exec_err!("format: unrecognized format type \"{other}\""),
            None => return exec_err!("format: the format ends after \"%\""),
        }
    }
    Ok(out)
}

impl ScalarUDFImpl for Format {
    fn name(&self) -> &str {
        "format"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let texts = arrays
            .iter()
            .map(|a| datafusion::arrow::compute::cast(a, &DataType::Utf8))
            .collect::<std::result::Result<Vec<ArrayRef>, _>>()?;
        let texts: Vec<&StringArray> = texts.iter().map(|a| a.as_string::<i32>()).collect();
        let Some((spec, rest)) = texts.split_first() else {
            return exec_err!("format needs a format string");
        };
        let mut out = Vec::with_capacity(args.number_rows);
        for row in 0..args.number_rows {
            if spec.is_null(row) {
                out.push(None);
                continue;
            }
            let values: Vec<Option<&str>> = rest
                .iter()
                .map(|a| (!a.is_null(row)).then(|| a.value(row)))
                .collect();
            out.push(Some(format_row(spec.value(row), &values)?));
        }
        Ok(ColumnarValue::Array(Arc::new(StringArray::from(out))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_postgres() {
        let f = |spec: &str, args: &[Option<&str>]| format_row(spec, args).unwrap();
        assert_eq!(f("%s", &[Some("int8")]), "int8");
        assert_eq!(
            f("\"%s\".\"%s\"", &[Some("public"), Some("t")]),
            "\"public\".\"t\""
        );
        assert_eq!(
            f("%I.%I", &[Some("public"), Some("My T")]),
            "public.\"My T\""
        );
        assert_eq!(f("%L, %L", &[Some("it's"), None]), "'it''s', NULL");
        assert_eq!(f("%2$s %1$s %%", &[Some("a"), Some("b")]), "b a %");
        assert_eq!(f("[%s]", &[None]), "[]");
        assert!(format_row("%s %s", &[Some("a")]).is_err());
        assert!(format_row("%x", &[Some("a")]).is_err());
    }
}
