//! `json_extract_path_text(json, step, …)` / `jsonb_extract_path_text(…)`: the value at a path
//! as text, what the `->>` and `#>>` operators return.

use std::sync::Arc;

use datafusion::arrow::array::StringBuilder;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ExpressionPlacement, ReturnFieldArgs, ScalarFunctionArgs,
    ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use super::json_extract_path::{PathForm, check_path_arguments, extract};
use super::value::unescape;
use super::{Kind, finish, parse_row};

#[user_doc(
    doc_section(label = "JSON functions"),
    description = "The value at a path (steps as in `json_extract_path`) as text: a JSON \
string without its quotes and escapes, the JSON `null` as NULL, anything else as its JSON \
text. The operators `json ->> key`, `json ->> index` and `json #>> ARRAY[steps]` call it; on \
the signal tables, `attributes ->> 'k8s.pod'` reads one attribute.",
    syntax_example = "json_extract_path_text(json, step [, step …]) | json ->> step | json #>> ARRAY[step, …]",
    sql_example = r#"```sql
> SELECT '{"user": {"name": "ada"}}'::json #>> ARRAY['user', 'name'] AS name;
+------+
| name |
+------+
| ada  |
+------+
```"#,
    argument(
        name = "json",
        description = "A `json` or `jsonb` value, or text holding JSON."
    ),
    argument(name = "step", description = "An object key or an array index."),
    related_udf(name = "json_extract_path")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonExtractPathText {
    kind: Kind,
    form: PathForm,
    signature: Signature,
}

impl JsonExtractPathText {
    pub fn new(kind: Kind) -> Self {
        Self::with_form(kind, PathForm::Steps)
    }

    /// The function as an operator of `form` (`->>`, `#>>`) calls it.
    pub fn with_form(kind: Kind, form: PathForm) -> Self {
        Self {
            kind,
            form,
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for JsonExtractPathText {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Json => "json_extract_path_text",
            Kind::Jsonb => "jsonb_extract_path_text",
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
        Ok(Arc::new(Field::new(self.name(), DataType::Utf8, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let normalize =
            self.kind == Kind::Jsonb && Kind::of(&args.arg_fields[0]) != Some(Kind::Jsonb);
        let mut out = StringBuilder::new();
        let mut text = String::new();
        let who = self.name();
        extract(who, &args, self.form, |found| {
            match found {
                None | Some("null") => out.append_null(),
                // A checked string literal: its text without quotes and escapes.
                Some(raw) if raw.starts_with('"') => out.append_value(unescape(raw)),
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

#[cfg(test)]
mod tests {
    use super::super::tests::{context, text};

    #[tokio::test]
    async fn text_is_unquoted() {
        let ctx = context();
        let doc = r#"'{"s": "a\nb", "n": null, "o": {"y":1,"x":2}, "i": 7}'"#;
        for (expr, want) in [
            (format!("json_extract_path_text({doc}, 's')"), Some("a\nb")),
            (format!("json_extract_path_text({doc}, 'n')"), None),
            (
                format!("json_extract_path_text({doc}, 'o')"),
                Some(r#"{"y":1,"x":2}"#),
            ),
            (
                format!("jsonb_extract_path_text({doc}, 'o')"),
                Some(r#"{"x": 2, "y": 1}"#),
            ),
            (format!("{doc}::jsonb ->> 'o'"), Some(r#"{"x": 2, "y": 1}"#)),
            (format!("json_extract_path_text({doc}, 'i')"), Some("7")),
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
    }
}
