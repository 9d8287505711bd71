//! `log_params(body [, service])`: the variable values of a log line.

use std::sync::Arc;

use datafusion::arrow::array::{ListBuilder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use super::parser::{LogParser, ParserRef, Texts, coerce_body_service};

const NAME: &str = "log_params";

#[user_doc(
    doc_section(label = "Log functions"),
    description = "The values of a log line at the variable parts of its template, in order: one \
element per mask, as written in the line (a masked word's value without the punctuation \
around it, `12 ms` with its unit). A line that no template of a saved model matches gives all \
its masked values. NULL body → NULL; a line without variables → an empty list.",
    syntax_example = "log_params(body [, service])",
    sql_example = r#"```sql
> SELECT log_params('Connection to 10.0.0.7:5432 refused after 12 ms') AS p;
+------------------------+
| p                      |
+------------------------+
| [10.0.0.7:5432, 12 ms] |
+------------------------+
```"#,
    argument(name = "body", description = "The log line: text or bytes."),
    argument(name = "service", description = "Scope of the template."),
    related_udf(name = "log_template")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LogParams {
    signature: Signature,
    parser: ParserRef,
}

impl LogParams {
    pub fn new(parser: Arc<LogParser>) -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Volatile),
            parser: ParserRef(parser),
        }
    }
}

impl ScalarUDFImpl for LogParams {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_body_service(NAME, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(Field::new_list_field(
            DataType::Utf8,
            true,
        ))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let bodies = Texts::new(NAME, &arrays[0])?;
        let services = arrays.get(1).map(|a| Texts::new(NAME, a)).transpose()?;
        let mut out = ListBuilder::new(StringBuilder::new());
        self.parser
            .0
            .parse_rows(&bodies, services.as_ref(), true, |_, row| match row {
                Some(r) => {
                    for p in r.params {
                        out.values().append_value(p);
                    }
                    out.append(true);
                }
                None => out.append(false),
            });
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::tests::{invoke, text_arrays};
    use datafusion::arrow::array::{Array, AsArray};

    #[test]
    fn values_in_order_nulls_and_empty_lists() {
        for array in text_arrays(&[
            Some("Connection to 10.0.0.7:5432 refused after 12 ms"),
            None,
            Some(""),
            Some("no variables here"),
        ]) {
            let f = LogParams::new(Arc::new(LogParser::online()));
            let out = invoke(&f, vec![array]);
            let list = out.as_list::<i32>();
            let row = |i: usize| -> Vec<String> {
                let v = list.value(i);
                let s = v.as_string::<i32>();
                (0..s.len()).map(|j| s.value(j).to_string()).collect()
            };
            assert_eq!(row(0), ["10.0.0.7:5432", "12 ms"]);
            assert!(list.is_null(1));
            assert!(row(2).is_empty() && list.is_valid(2));
            assert!(row(3).is_empty());
        }
    }
}
