//! `json_extract_path(json, step, …)` / `jsonb_extract_path(…)`: the JSON value at a path,
//! what the `->` and `#>` operators return. Also the path walk that
//! `json_extract_path_text` (`->>`, `#>>`) shares.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion_macros::user_doc;

use super::value::Node;
use super::{Kind, Strings, check_json_argument, finish, parse_row};

#[user_doc(
    doc_section(label = "JSON functions"),
    description = "The JSON value at a path: each step is an object key (text) or an array \
index (an integer, or text holding one; negative counts from the end). NULL when a step \
does not exist, when a step is NULL, or when the value is NULL; the JSON `null` is returned \
as `null`. The operators `json -> key`, `json -> index` and `json #> ARRAY[steps]` call it. \
The result has the argument's kind (`jsonb` stays `jsonb`); `jsonb_extract_path` returns \
`jsonb`. Text arguments (the signal tables' `attributes`) are read as `json`, and a row \
whose text is not JSON gives NULL; a `json` value that is not JSON is an error (`22P02`).",
    syntax_example = "json_extract_path(json, step [, step …]) | json -> step | json #> ARRAY[step, …]",
    sql_example = r#"```sql
> SELECT '{"http": {"status": [200, 503]}}'::json -> 'http' -> 'status' -> -1 AS last;
+------+
| last |
+------+
| 503  |
+------+
```"#,
    argument(
        name = "json",
        description = "A `json` or `jsonb` value, or text holding JSON."
    ),
    argument(
        name = "step",
        description = "An object key or an array index; an array of them (`#>`) is a whole path."
    ),
    related_udf(name = "json_extract_path_text")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonExtractPath {
    kind: Kind,
    signature: Signature,
}

impl JsonExtractPath {
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for JsonExtractPath {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Json => "json_extract_path",
            Kind::Jsonb => "jsonb_extract_path",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        check_path_arguments(self.name(), args.arg_fields)?;
        let kind = Kind::of(&args.arg_fields[0]).unwrap_or(self.kind);
        Ok(Arc::new(kind.field(self.name())))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let input = Kind::of(&args.arg_fields[0]);
        let output = input.unwrap_or(self.kind);
        let normalize = output == Kind::Jsonb && input != Some(Kind::Jsonb);
        let mut out = StringBuilder::new();
        let mut text = String::new();
        extract(self.name(), &args, |found| match found {
            None => out.append_null(),
            Some(node) if normalize => {
                text.clear();
                node.write_normalized(&mut text);
                out.append_value(&text);
            }
            Some(node) => out.append_value(node.raw),
        })?;
        finish(&args.args, Arc::new(out.finish()))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// Plans a JSON argument followed by at least one step.
pub(crate) fn check_path_arguments(who: &str, fields: &[FieldRef]) -> Result<()> {
    if fields.len() < 2 {
        return plan_err!("{who} needs a JSON value and at least one path step");
    }
    check_json_argument(who, &fields[0])?;
    for field in &fields[1..] {
        let ok = match field.data_type() {
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                is_step_type(f.data_type())
            }
            other => is_step_type(other),
        };
        if !ok {
            return plan_err!(
                "{who}: a path step must be text or an integer, not {}",
                field.data_type()
            );
        }
    }
    Ok(())
}

fn is_step_type(t: &DataType) -> bool {
    t.is_integer()
        || matches!(
            t,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
        )
}

/// The steps of one path argument.
enum Steps {
    Keys(ArrayRef),
    Indexes(ArrayRef),
    /// A whole path per row (`#>`): offsets into its text steps.
    Paths {
        offsets: Vec<(usize, usize)>,
        valid: Vec<bool>,
        keys: ArrayRef,
    },
}

impl Steps {
    fn new(array: &ArrayRef) -> Result<Self> {
        let text = |a: &ArrayRef| cast(a, &DataType::Utf8);
        Ok(match array.data_type() {
            t if t.is_integer() => Steps::Indexes(cast(array, &DataType::Int64)?),
            DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
                let list = cast(
                    array,
                    &DataType::LargeList(Arc::new(Field::new_list_field(DataType::Utf8, true))),
                )?;
                let list = list.as_list::<i64>();
                let offsets = list
                    .value_offsets()
                    .windows(2)
                    .map(|w| (w[0] as usize, w[1] as usize))
                    .collect();
                let valid = (0..list.len()).map(|i| list.is_valid(i)).collect();
                Steps::Paths {
                    offsets,
                    valid,
                    keys: text(list.values())?,
                }
            }
            _ => Steps::Keys(text(array)?),
        })
    }

    /// Walks `node` along this argument's steps for `row`; `None` when a step is missing.
    fn walk<'n, 'a>(&self, node: &'n Node<'a>, row: usize) -> Option<&'n Node<'a>> {
        match self {
            Steps::Keys(keys) => {
                let keys = keys.as_string::<i32>();
                keys.is_valid(row)
                    .then(|| node.step(keys.value(row)))
                    .flatten()
            }
            Steps::Indexes(indexes) => {
                let indexes = indexes.as_primitive::<Int64Type>();
                indexes
                    .is_valid(row)
                    .then(|| node.at(indexes.value(row)))
                    .flatten()
            }
            Steps::Paths {
                offsets,
                valid,
                keys,
            } => {
                if !valid[row] {
                    return None;
                }
                let keys = keys.as_string::<i32>();
                let (start, end) = offsets[row];
                let mut at = node;
                for i in start..end {
                    if keys.is_null(i) {
                        return None;
                    }
                    at = at.step(keys.value(i))?;
                }
                Some(at)
            }
        }
    }
}

/// Calls `emit` for every row with the value at the row's path (`None`: no value). Rows of
/// plain text that are not JSON give `None`; JSON-marked values that are not JSON are errors.
pub(crate) fn extract(
    who: &str,
    args: &ScalarFunctionArgs,
    mut emit: impl FnMut(Option<&Node>),
) -> Result<()> {
    let arrays = ColumnarValue::values_to_arrays(&args.args)?;
    let input = Kind::of(&args.arg_fields[0]);
    let docs = Strings::new(who, &arrays[0])?;
    let steps = arrays[1..]
        .iter()
        .map(Steps::new)
        .collect::<Result<Vec<_>>>()?;
    for row in 0..arrays[0].len() {
        let Some(text) = docs.get(row) else {
            emit(None);
            continue;
        };
        let doc = match input {
            Some(kind) => parse_row(who, kind, text)?,
            None => match super::value::parse(text) {
                Ok(doc) => doc,
                Err(_) => {
                    emit(None);
                    continue;
                }
            },
        };
        let mut at = Some(&doc);
        for s in &steps {
            at = at.and_then(|n| s.walk(n, row));
        }
        emit(at);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{context, run, text};

    #[tokio::test]
    async fn paths_walk_keys_and_indexes() {
        let ctx = context();
        let doc = r#"'{"a": {"b": [10, {"c": true}]}, "k": "v"}'"#;
        for (expr, want) in [
            (
                format!("json_extract_path({doc}::json, 'a', 'b', '1', 'c')"),
                Some("true"),
            ),
            (
                format!("json_extract_path({doc}::json, 'a', 'b', 0)"),
                Some("10"),
            ),
            (
                format!("jsonb_extract_path({doc}, 'a')"),
                Some(r#"{"b": [10, {"c": true}]}"#),
            ),
            (format!("json_extract_path({doc}, 'a', NULL)"), None),
            (format!("json_extract_path({doc}, 'nope', 'b')"), None),
            ("json_extract_path('not json', 'a')".to_string(), None),
            ("json_extract_path(NULL::json, 'a')".to_string(), None),
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
        let e = run(&ctx, "SELECT json_extract_path('{}')")
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least one path step"), "{e}");
        let e = run(&ctx, "SELECT json_extract_path('{}', 1.5)")
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("a path step must be text or an integer"), "{e}");
        // Per row, with steps from a column.
        let (batches, _) = run(
            &ctx,
            "SELECT column1 -> column2 FROM (VALUES ('{\"x\": 1}', 'x'), ('[5, 6]', '1'), ('{}', NULL))",
        )
        .await
        .unwrap();
        use datafusion::arrow::array::{Array, AsArray};
        let col = batches[0].column(0).as_string::<i32>();
        assert_eq!(
            (col.value(0), col.value(1), col.is_null(2)),
            ("1", "6", true)
        );
    }
}
