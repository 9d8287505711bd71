//! `json_typeof(json)` / `jsonb_typeof(jsonb)`: the type of the outermost JSON value.

use std::sync::Arc;

use datafusion::arrow::array::StringBuilder;
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion_macros::user_doc;

use super::{Kind, check_json_argument, each_document, finish};

#[user_doc(
    doc_section(label = "JSON functions"),
    description = "The type of the outermost JSON value as text: `object`, `array`, \
`string`, `number`, `boolean` or `null`. NULL for SQL NULL; text that is not JSON is an \
error (`22P02`).",
    syntax_example = "json_typeof(json) | jsonb_typeof(jsonb)",
    sql_example = r#"```sql
> SELECT json_typeof('[1, 2]') AS t;
+-------+
| t     |
+-------+
| array |
+-------+
```"#,
    argument(
        name = "json",
        description = "A `json` or `jsonb` value, or text holding JSON."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonTypeof {
    kind: Kind,
    signature: Signature,
}

impl JsonTypeof {
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for JsonTypeof {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Json => "json_typeof",
            Kind::Jsonb => "jsonb_typeof",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        check_json_argument(self.name(), &args.arg_fields[0])?;
        Ok(Arc::new(datafusion::arrow::datatypes::Field::new(
            self.name(),
            DataType::Utf8,
            true,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let mut out = StringBuilder::new();
        each_document(self.name(), &args, |doc| {
            match doc {
                Some(doc) => out.append_value(doc.type_name()),
                None => out.append_null(),
            }
            Ok(())
        })?;
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
    async fn types_are_named_like_postgres() {
        let ctx = context();
        for (arg, want) in [
            ("'{}'", Some("object")),
            ("'[]'::jsonb", Some("array")),
            ("'\"x\"'", Some("string")),
            ("'-1.5e3'", Some("number")),
            ("'false'", Some("boolean")),
            ("'null'", Some("null")),
            ("NULL", None),
        ] {
            let got = text(&ctx, &format!("SELECT json_typeof({arg})"))
                .await
                .unwrap();
            assert_eq!(got.as_deref(), want, "{arg}");
        }
        let e = run(&ctx, "SELECT jsonb_typeof('{')")
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid input syntax for type json"), "{e}");
        let e = run(&ctx, "SELECT json_typeof(1)")
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
    }
}
