//! `json_build_object(key, value, …)` / `jsonb_build_object(…)`: a JSON object from
//! alternating keys and values.

use std::sync::Arc;

use datafusion::arrow::array::{Array, StringBuilder};
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::to_json::{JsonWriter, append};
use super::value::quote;
use super::{Kind, finish};

#[user_doc(
    doc_section(label = "JSON functions"),
    description = "A JSON object from alternating keys and values, as PostgreSQL builds it: \
keys are text (other types are written as text; a NULL key is an error), values are \
converted as `to_json` converts them (NULL becomes `null`). `json_build_object` writes \
`{\"k\" : v, …}` with the members in the order given; `jsonb_build_object` returns `jsonb` \
(keys sorted and unique, the last repeat winning). No arguments give `{}`.",
    syntax_example = "json_build_object(key, value [, key, value …]) | jsonb_build_object(…)",
    sql_example = r#"```sql
> SELECT json_build_object('service', 'api', 'errors', 3) AS o;
+-----------------------------------+
| o                                 |
+-----------------------------------+
| {"service" : "api", "errors" : 3} |
+-----------------------------------+
```"#,
    argument(name = "key", description = "A member's name."),
    argument(name = "value", description = "A member's value: any type."),
    related_udf(name = "to_json"),
    related_udf(name = "json_build_array")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonBuildObject {
    kind: Kind,
    signature: Signature,
}

impl JsonBuildObject {
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            signature: Signature::one_of(
                vec![TypeSignature::Nullary, TypeSignature::VariadicAny],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for JsonBuildObject {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Json => "json_build_object",
            Kind::Jsonb => "jsonb_build_object",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        if !args.arg_fields.len().is_multiple_of(2) {
            return plan_err!(
                "{}: argument list must have even number of elements (alternating keys and values)",
                self.name()
            );
        }
        Ok(Arc::new(self.kind.field(self.name())))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let rows = arrays.first().map_or(1, |a| a.len());
        let options = FormatOptions::new();
        let mut keys = Vec::new();
        let mut values = Vec::new();
        for (i, pair) in arrays.chunks(2).enumerate() {
            keys.push((
                i * 2 + 1,
                &pair[0],
                ArrayFormatter::try_new(pair[0].as_ref(), &options)?,
            ));
            values.push(JsonWriter::new(&pair[1], &args.arg_fields[i * 2 + 1])?);
        }
        let mut out = StringBuilder::with_capacity(rows, 0);
        let mut text = String::new();
        for row in 0..rows {
            text.clear();
            text.push('{');
            for (i, ((position, key, key_text), value)) in keys.iter().zip(&values).enumerate() {
                if key.is_null(row) || key.data_type().is_null() {
                    return exec_err!("{}: argument {position}: key must not be null", self.name());
                }
                if i > 0 {
                    text.push_str(", ");
                }
                quote(&key_text.value(row).to_string(), &mut text);
                text.push_str(" : ");
                value.write(row, &mut text);
            }
            text.push('}');
            append(&mut out, self.kind, self.name(), &text)?;
        }
        finish(&args.args, Arc::new(out.finish()))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{context, run, text};

    #[tokio::test]
    async fn objects_are_built_like_postgres() {
        let ctx = context();
        for (expr, want) in [
            (
                "json_build_object('a', 1, 'b', 'x', 'c', NULL, 'd', [1,2])",
                r#"{"a" : 1, "b" : "x", "c" : null, "d" : [1,2]}"#,
            ),
            (
                "jsonb_build_object('b', 1, 'a', '{\"z\":1, \"y\":2}'::json, 'b', 2)",
                r#"{"a": {"y": 2, "z": 1}, "b": 2}"#,
            ),
            ("json_build_object(1, true)", r#"{"1" : true}"#),
            ("json_build_object()", "{}"),
        ] {
            assert_eq!(
                text(&ctx, &format!("SELECT {expr}"))
                    .await
                    .unwrap()
                    .as_deref(),
                Some(want),
                "{expr}"
            );
        }
        let e = run(&ctx, "SELECT json_build_object('a')")
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("even number of elements"), "{e}");
        let e = run(&ctx, "SELECT json_build_object(NULL, 1)")
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("argument 1: key must not be null"), "{e}");
        // Over a column, row by row.
        let (batches, _) = run(
            &ctx,
            "SELECT json_build_object('n', column1) FROM (VALUES (1), (2)) ORDER BY column1",
        )
        .await
        .unwrap();
        use datafusion::arrow::array::AsArray;
        let col = batches[0].column(0).as_string::<i32>();
        assert_eq!(
            (col.value(0), col.value(1)),
            (r#"{"n" : 1}"#, r#"{"n" : 2}"#)
        );
    }
}
