//! `json_array_length(json)` / `jsonb_array_length(jsonb)`: the number of items of a JSON array.

use std::sync::Arc;

use datafusion::arrow::array::Int32Builder;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion_macros::user_doc;

use super::value::Value;
use super::{Kind, check_json_argument, each_document, finish};

#[user_doc(
    doc_section(label = "JSON functions"),
    description = "The number of items of the outermost JSON array, as an INT. A value that \
is not an array is an error (`22023`, as in PostgreSQL); NULL for SQL NULL.",
    syntax_example = "json_array_length(json) | jsonb_array_length(jsonb)",
    sql_example = r#"```sql
> SELECT json_array_length('[1, [2, 3], {}]') AS n;
+---+
| n |
+---+
| 3 |
+---+
```"#,
    argument(
        name = "json",
        description = "A `json` or `jsonb` array, or text holding one."
    )
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonArrayLength {
    kind: Kind,
    signature: Signature,
}

impl JsonArrayLength {
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for JsonArrayLength {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Json => "json_array_length",
            Kind::Jsonb => "jsonb_array_length",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        check_json_argument(self.name(), &args.arg_fields[0])?;
        Ok(Arc::new(Field::new(self.name(), DataType::Int32, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let mut out = Int32Builder::new();
        let who = self.name();
        each_document(who, &args, |doc| {
            match doc.map(|d| &d.value) {
                Some(Value::Array(items)) => out.append_value(items.len() as i32),
                Some(_) => {
                    return exec_err!(
                        "invalid parameter value: cannot get array length of a non-array ({who})"
                    );
                }
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
    async fn arrays_are_counted() {
        let ctx = context();
        for (arg, want) in [
            ("'[1, [2, 3], {}]'", Some("3")),
            ("'[]'::jsonb", Some("0")),
            ("NULL", None),
        ] {
            let got = text(&ctx, &format!("SELECT json_array_length({arg})"))
                .await
                .unwrap();
            assert_eq!(got.as_deref(), want, "{arg}");
        }
        let e = run(&ctx, "SELECT json_array_length('{}')")
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot get array length of a non-array"), "{e}");
    }
}
