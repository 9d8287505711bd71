//! `to_json(value)` / `to_jsonb(value)`: any value as JSON, as PostgreSQL converts it. Also the
//! value writer [`JsonWriter`] that `json_build_object` and `json_build_array` use.

use std::fmt::Write;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion_macros::user_doc;

use super::value::quote;
use super::{Kind, finish, parse_row};

#[user_doc(
    doc_section(label = "JSON functions"),
    description = "Any value as JSON, as PostgreSQL converts it: numbers and booleans as \
themselves, text as a JSON string, JSON values as they are, arrays as JSON arrays, structs \
as objects, timestamps and dates as ISO 8601 strings, anything else as its text. `to_jsonb` \
returns `jsonb` (keys sorted and unique). NULL in, NULL out. Floating-point NaN and \
infinities become the strings \"NaN\", \"Infinity\", \"-Infinity\".",
    syntax_example = "to_json(value) | to_jsonb(value)",
    sql_example = r#"```sql
> SELECT to_json('say "hi"') AS s, to_json([1, 2]) AS a, to_jsonb(named_struct('b', 1, 'a', true)) AS o;
+--------------+-------+---------------------+
| s            | a     | o                   |
+--------------+-------+---------------------+
| "say \"hi\"" | [1,2] | {"a": true, "b": 1} |
+--------------+-------+---------------------+
```"#,
    argument(name = "value", description = "Any value."),
    related_udf(name = "json_build_object")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ToJson {
    kind: Kind,
    signature: Signature,
}

impl ToJson {
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for ToJson {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Json => "to_json",
            Kind::Jsonb => "to_jsonb",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(&self, _args: ReturnFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(self.kind.field(self.name())))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let writer = JsonWriter::new(&arrays[0], &args.arg_fields[0])?;
        let mut out = StringBuilder::with_capacity(arrays[0].len(), 0);
        let mut text = String::new();
        for row in 0..arrays[0].len() {
            if arrays[0].is_null(row) || arrays[0].data_type().is_null() {
                out.append_null();
                continue;
            }
            text.clear();
            writer.write(row, &mut text);
            append(&mut out, self.kind, self.name(), &text)?;
        }
        finish(&args.args, Arc::new(out.finish()))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// Appends JSON `text` (written as `json`) as a value of `kind`.
pub(crate) fn append(out: &mut StringBuilder, kind: Kind, who: &str, text: &str) -> Result<()> {
    match kind {
        Kind::Json => out.append_value(text),
        Kind::Jsonb => {
            let mut normalized = String::with_capacity(text.len());
            parse_row(who, kind, text)?.write_normalized(&mut normalized);
            out.append_value(normalized);
        }
    }
    Ok(())
}

/// Writes the values of one array as JSON, row by row.
pub(crate) struct JsonWriter<'a> {
    array: &'a ArrayRef,
    how: How<'a>,
}

enum How<'a> {
    Null,
    /// Written as displayed: booleans, integers, decimals.
    Bare(ArrayFormatter<'a>),
    Float(ArrayFormatter<'a>),
    /// JSON text, inserted as it is.
    Json(super::Texts<'a>),
    /// A JSON string of the displayed value: text, timestamps, everything else.
    Quoted(ArrayFormatter<'a>),
    List {
        child: Box<JsonWriter<'a>>,
        range: Box<dyn Fn(usize) -> (usize, usize) + 'a>,
    },
    Struct(Vec<(String, JsonWriter<'a>)>),
}

const TIMESTAMP: FormatOptions<'static> = FormatOptions::new()
    .with_timestamp_format(Some("%Y-%m-%dT%H:%M:%S%.f"))
    .with_timestamp_tz_format(Some("%Y-%m-%dT%H:%M:%S%.f%:z"))
    .with_datetime_format(Some("%Y-%m-%dT%H:%M:%S%.f"));

impl<'a> JsonWriter<'a> {
    /// A writer of `array` (of `field`). Nested arrays and objects are written compactly
    /// (`[1,2]`, `{"a":1}`), as PostgreSQL's `to_json` writes them.
    pub(crate) fn new(array: &'a ArrayRef, field: &Field) -> Result<Self> {
        let format = || ArrayFormatter::try_new(array.as_ref(), &TIMESTAMP);
        let how = match array.data_type() {
            DataType::Null => How::Null,
            DataType::Boolean
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Decimal256(..) => How::Bare(format()?),
            DataType::Float16 | DataType::Float32 | DataType::Float64 => How::Float(format()?),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                if Kind::of(field).is_some() =>
            {
                How::Json(super::Texts::new("to_json", array)?)
            }
            DataType::List(child) => {
                let list = array.as_list::<i32>();
                let offsets = list.value_offsets();
                How::List {
                    child: Box::new(JsonWriter::new(list.values(), child)?),
                    range: Box::new(move |row| (offsets[row] as usize, offsets[row + 1] as usize)),
                }
            }
            DataType::LargeList(child) => {
                let list = array.as_list::<i64>();
                let offsets = list.value_offsets();
                How::List {
                    child: Box::new(JsonWriter::new(list.values(), child)?),
                    range: Box::new(move |row| (offsets[row] as usize, offsets[row + 1] as usize)),
                }
            }
            DataType::FixedSizeList(child, width) => {
                let list = array.as_fixed_size_list();
                let width = *width as usize;
                How::List {
                    child: Box::new(JsonWriter::new(list.values(), child)?),
                    range: Box::new(move |row| (row * width, (row + 1) * width)),
                }
            }
            DataType::Struct(fields) => {
                let columns = array.as_struct().columns();
                How::Struct(
                    fields
                        .iter()
                        .zip(columns)
                        .map(|(f, c)| Ok((f.name().clone(), JsonWriter::new(c, f)?)))
                        .collect::<Result<_>>()?,
                )
            }
            _ => How::Quoted(format()?),
        };
        Ok(Self { array, how })
    }

    /// Appends row `row` as JSON (`null` for NULL).
    pub(crate) fn write(&self, row: usize, out: &mut String) {
        if self.array.is_null(row) {
            out.push_str("null");
            return;
        }
        match &self.how {
            How::Null => out.push_str("null"),
            How::Bare(f) => {
                let _ = write!(out, "{}", f.value(row));
            }
            How::Float(f) => {
                let text = f.value(row).to_string();
                match text.as_str() {
                    "NaN" => out.push_str("\"NaN\""),
                    "inf" => out.push_str("\"Infinity\""),
                    "-inf" => out.push_str("\"-Infinity\""),
                    _ => out.push_str(&text),
                }
            }
            How::Json(texts) => out.push_str(texts.get(row).as_deref().unwrap_or("null")),
            How::Quoted(f) => quote(&f.value(row).to_string(), out),
            How::List { child, range } => {
                let (start, end) = range(row);
                out.push('[');
                for i in start..end {
                    if i > start {
                        out.push(',');
                    }
                    child.write(i, out);
                }
                out.push(']');
            }
            How::Struct(fields) => {
                out.push('{');
                for (i, (name, child)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    quote(name, out);
                    out.push(':');
                    child.write(row, out);
                }
                out.push('}');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{context, run, text};
    use super::*;

    #[tokio::test]
    async fn values_become_json_like_postgres() {
        let ctx = context();
        for (expr, want) in [
            ("to_json('say \"hi\"\n')", Some(r#""say \"hi\"\n""#)),
            ("to_json(42)", Some("42")),
            ("to_json(1.5::double)", Some("1.5")),
            ("to_json('NaN'::double)", Some(r#""NaN""#)),
            ("to_json(true)", Some("true")),
            ("to_json(NULL::int)", None),
            ("to_json(NULL)", None),
            ("to_json([1, NULL, 3])", Some("[1,null,3]")),
            (
                "to_json(named_struct('b', 1, 'a', 'x'))",
                Some(r#"{"b":1,"a":"x"}"#),
            ),
            (
                "to_jsonb(named_struct('b', 1, 'a', 'x'))",
                Some(r#"{"a": "x", "b": 1}"#),
            ),
            ("to_json('{\"a\": 1}'::json)", Some(r#"{"a": 1}"#)),
            (
                "to_json(TIMESTAMP '2026-11-24 10:00:01')",
                Some(r#""2026-11-24T10:00:01""#),
            ),
            (
                "to_json(arrow_cast(TIMESTAMP '2026-11-24 10:00:01', 'Timestamp(Nanosecond, Some(\"UTC\"))'))",
                Some(r#""2026-11-24T10:00:01+00:00""#),
            ),
            ("to_json(DATE '2026-11-24')", Some(r#""2026-11-24""#)),
        ] {
            assert_eq!(
                text(&ctx, &format!("SELECT {expr}"))
                    .await
                    .unwrap()
                    .as_deref(),
                want,
                "{expr}"
            );
        }
        let (_, fields) = run(&ctx, "SELECT to_jsonb(1), to_json(1)").await.unwrap();
        assert_eq!(Kind::of(&fields[0]), Some(Kind::Jsonb));
        assert_eq!(Kind::of(&fields[1]), Some(Kind::Json));
    }
}
