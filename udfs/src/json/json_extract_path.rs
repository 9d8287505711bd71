//! `json_extract_path(json, step, …)` / `jsonb_extract_path(…)`: the JSON value at a path,
//! what the `->` and `#>` operators return. Also the path walk that
//! `json_extract_path_text` (`->>`, `#>>`) shares.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ExpressionPlacement, ReturnFieldArgs, ScalarFunctionArgs,
    ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use super::value::{Step, lookup};
use super::{Kind, Texts, check_json_argument, finish, parse_row};

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
    form: PathForm,
    signature: Signature,
}

/// How the steps are written: the functions' steps, or one of the operators'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathForm {
    /// `json_extract_path(j, 'a', '0')`: each text step is a key, or an index into an array.
    Steps,
    /// `j -> 'a'`, `j -> 0`: text is an object key only, an integer an array index only.
    Arrow,
    /// `j #> '{a,0}'`: one `text[]` path, also written as an array literal in text.
    Path,
}

impl JsonExtractPath {
    pub fn new(kind: Kind) -> Self {
        Self::with_form(kind, PathForm::Steps)
    }

    /// The function as an operator of `form` calls it.
    pub fn with_form(kind: Kind, form: PathForm) -> Self {
        Self {
            kind,
            form,
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
        let who = self.name();
        extract(who, &args, self.form, |found| {
            match found {
                None => out.append_null(),
                Some(raw) if normalize => {
                    text.clear();
                    parse_row(who, Kind::Jsonb, raw)?.write_normalized(&mut text);
                    out.append_value(&text);
                }
                Some(raw) => out.append_value(raw),
            }
            Ok(())
        })?;
        finish(&args.args, Arc::new(out.finish()))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }

    fn placement(&self, args: &[ExpressionPlacement]) -> ExpressionPlacement {
        super::json_extract_path::placement(args)
    }
}

/// A column read along a constant path is computed next to the scan (below joins and
/// filters), as datafusion-functions-json's accessors are.
pub(crate) fn placement(args: &[ExpressionPlacement]) -> ExpressionPlacement {
    if args.len() >= 2
        && matches!(args[0], ExpressionPlacement::Column)
        && args[1..]
            .iter()
            .all(|a| matches!(a, ExpressionPlacement::Literal))
    {
        ExpressionPlacement::MoveTowardsLeafNodes
    } else {
        ExpressionPlacement::KeepInPlace
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
    /// Object keys only (`->` with text).
    KeysOnly(ArrayRef),
    Indexes(ArrayRef),
    /// A whole path per row (`#>`): offsets into its text steps.
    Paths {
        offsets: Vec<(usize, usize)>,
        valid: Vec<bool>,
        keys: ArrayRef,
    },
}

impl Steps {
    fn new(array: &ArrayRef, form: PathForm) -> Result<Self> {
        let text = |a: &ArrayRef| cast(a, &DataType::Utf8);
        let is_text = matches!(
            array.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        );
        Ok(match array.data_type() {
            t if t.is_integer() => Steps::Indexes(cast(array, &DataType::Int64)?),
            _ if is_text && form == PathForm::Path => Self::text_paths(&text(array)?)?,
            _ if is_text && form == PathForm::Arrow => Steps::KeysOnly(text(array)?),
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

    /// Paths written as PostgreSQL array literals in text (`'{a,0}'`), one per row; a text
    /// that is not one is a `22P02` error, as PostgreSQL's cast to `text[]`.
    fn text_paths(texts: &ArrayRef) -> Result<Self> {
        let texts = texts.as_string::<i32>();
        let mut offsets = Vec::with_capacity(texts.len());
        let mut valid = Vec::with_capacity(texts.len());
        let mut keys = datafusion::arrow::array::StringBuilder::new();
        let mut n = 0;
        for row in 0..texts.len() {
            let elements = if texts.is_valid(row) {
                match text_array(texts.value(row)) {
                    Some(e) => Some(e),
                    None => {
                        return exec_err!(
                            "invalid input syntax for type text[]: {:?} (a path is written '{{a,b,0}}')",
                            texts.value(row)
                        );
                    }
                }
            } else {
                None
            };
            valid.push(elements.is_some());
            let elements = elements.unwrap_or_default();
            offsets.push((n, n + elements.len()));
            n += elements.len();
            for e in elements {
                keys.append_option(e);
            }
        }
        Ok(Steps::Paths {
            offsets,
            valid,
            keys: Arc::new(keys.finish()),
        })
    }

    /// Appends this argument's steps for `row` to `out`; false when one of them is NULL.
    fn push<'s>(&'s self, row: usize, out: &mut Vec<Step<'s>>) -> bool {
        match self {
            Steps::Keys(keys) | Steps::KeysOnly(keys) => {
                let keys = keys.as_string::<i32>();
                if keys.is_null(row) {
                    return false;
                }
                out.push(match self {
                    Steps::KeysOnly(_) => Step::Key(keys.value(row)),
                    _ => Step::KeyOrIndex(keys.value(row)),
                });
            }
            Steps::Indexes(indexes) => {
                let indexes = indexes.as_primitive::<Int64Type>();
                if indexes.is_null(row) {
                    return false;
                }
                out.push(Step::Index(indexes.value(row)));
            }
            Steps::Paths {
                offsets,
                valid,
                keys,
            } => {
                if !valid[row] {
                    return false;
                }
                let keys = keys.as_string::<i32>();
                let (start, end) = offsets[row];
                for i in start..end {
                    if keys.is_null(i) {
                        return false;
                    }
                    out.push(Step::KeyOrIndex(keys.value(i)));
                }
            }
        }
        true
    }
}

/// Calls `emit` for every row with the text of the value at the row's path (`None`: no
/// value); the value's own syntax was checked on the way. Rows of
/// plain text that are not JSON give `None`; JSON-marked values that are not JSON are errors.
pub(crate) fn extract(
    who: &str,
    args: &ScalarFunctionArgs,
    form: PathForm,
    mut emit: impl FnMut(Option<&str>) -> Result<()>,
) -> Result<()> {
    let arrays = ColumnarValue::values_to_arrays(&args.args)?;
    let input = Kind::of(&args.arg_fields[0]);
    let docs = Texts::new(who, &arrays[0])?;
    let steps = arrays[1..]
        .iter()
        .map(|a| Steps::new(a, form))
        .collect::<Result<Vec<_>>>()?;
    let mut path = Vec::new();
    for row in 0..arrays[0].len() {
        path.clear();
        let Some(text) = docs.get(row) else {
            emit(None)?;
            continue;
        };
        if !steps.iter().all(|s| s.push(row, &mut path)) {
            emit(None)?;
            continue;
        }
        // Only the path is read; the value found is parsed on its own.
        let found = match lookup(&text, &path) {
            Ok(found) => found,
            // JSON values were checked when they became JSON; text that is not JSON is NULL.
            Err(e) => match input {
                Some(kind) => {
                    return exec_err!(
                        "invalid input syntax for type {}: {e} (in {who})",
                        kind.name()
                    );
                }
                None => None,
            },
        };
        emit(found)?;
    }
    Ok(())
}

/// The elements of a PostgreSQL one-dimensional array literal (`{a,"b c",NULL}`), or `None`
/// when `text` is not one.
fn text_array(text: &str) -> Option<Vec<Option<String>>> {
    let inner = text.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut out = Vec::new();
    if inner.trim().is_empty() {
        return Some(out);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut element = String::new();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => element.push(chars.next()?),
                    c => element.push(c),
                }
            }
            out.push(Some(element));
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
        } else {
            let mut element = String::new();
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if matches!(c, '{' | '}' | '"') {
                    return None;
                }
                chars.next();
                element.push(if c == '\\' { chars.next()? } else { c });
            }
            let element = element.trim();
            if element.is_empty() {
                return None;
            }
            out.push((!element.eq_ignore_ascii_case("null")).then(|| element.to_string()));
        }
        match chars.next() {
            None => return Some(out),
            Some(',') => {}
            Some(_) => return None,
        }
    }
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
        assert_eq!(
            super::text_array(r#" { a , "b,\"c" ,NULL, 0 } "#),
            Some(vec![
                Some("a".into()),
                Some("b,\"c".into()),
                None,
                Some("0".into())
            ])
        );
        assert_eq!(super::text_array("{}"), Some(vec![]));
        for bad in ["a,b", "{a,}", "{\"a}", "{a}b"] {
            assert_eq!(super::text_array(bad), None, "{bad}");
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
            "SELECT json_extract_path(column1, column2) FROM (VALUES ('{\"x\": 1}', 'x'), ('[5, 6]', '1'), ('{}', NULL))",
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
