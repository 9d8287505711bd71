//! `json_build_array(value, …)` / `jsonb_build_array(…)`: a JSON array of the arguments.

use std::sync::Arc;

use datafusion::arrow::array::StringBuilder;
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    TypeSignature, Volatility,
};
use datafusion_macros::user_doc;

use super::to_json::{JsonWriter, append};
use super::{Kind, finish};

#[user_doc(
    doc_section(label = "JSON functions"),
    description = "A JSON array of the arguments, each converted as `to_json` converts it \
(NULL becomes `null`). `json_build_array` writes `[a, b, …]`; `jsonb_build_array` returns \
`jsonb`. No arguments give `[]`.",
    syntax_example = "json_build_array(value [, …]) | jsonb_build_array(…)",
    sql_example = r#"```sql
> SELECT json_build_array(1, 'two', NULL) AS a;
+------------------+
| a                |
+------------------+
| [1, "two", null] |
+------------------+
```"#,
    argument(name = "value", description = "Any value."),
    related_udf(name = "json_build_object")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonBuildArray {
    kind: Kind,
    signature: Signature,
}

impl JsonBuildArray {
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

impl ScalarUDFImpl for JsonBuildArray {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Json => "json_build_array",
            Kind::Jsonb => "jsonb_build_array",
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
        let rows = arrays.first().map_or(1, |a| a.len());
        let values = arrays
            .iter()
            .zip(&args.arg_fields)
            .map(|(a, f)| JsonWriter::new(a, f))
            .collect::<Result<Vec<_>>>()?;
        let mut out = StringBuilder::with_capacity(rows, 0);
        let mut text = String::new();
        for row in 0..rows {
            text.clear();
            text.push('[');
            for (i, value) in values.iter().enumerate() {
                if i > 0 {
                    text.push_str(", ");
                }
                value.write(row, &mut text);
            }
            text.push(']');
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
    use super::super::tests::text;

    #[tokio::test]
    async fn arrays_are_built_like_postgres() {
        let ctx = super::super::tests::context();
        for (expr, want) in [
            (
                "json_build_array(1, 'two', NULL, [3])",
                r#"[1, "two", null, [3]]"#,
            ),
            (
                "jsonb_build_array('{\"b\":1,\"a\":2}'::json)",
                r#"[{"a": 2, "b": 1}]"#,
            ),
            ("json_build_array()", "[]"),
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
    }
}
