//! `log_template_id(body [, service])`: the stable 64-bit id of a log line's template.

use std::sync::Arc;

use datafusion::arrow::array::Int64Builder;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use super::parser::{LogParser, ParserRef, Texts, coerce_body_service};

const NAME: &str = "log_template_id";

#[user_doc(
    doc_section(label = "Log functions"),
    description = "A stable 64-bit id of the template of a log line: FNV-1a 64 of the service, a \
0 byte and the template text (as `log_template` returns it), so the same service and template \
give the same id in every query, process and version. Returned as a signed BIGINT (the \
unsigned hash's bits; PostgreSQL has no unsigned 64-bit type). Same scoping, model and NULL \
rules as `log_template`.",
    syntax_example = "log_template_id(body [, service])",
    sql_example = r#"```sql
> SELECT log_template_id('GET /api/items 200', 'api') AS id;
+---------------------+
| id                  |
+---------------------+
| 7987365212681290164 |
+---------------------+
```"#,
    argument(name = "body", description = "The log line: text or bytes."),
    argument(name = "service", description = "Scope of the template."),
    related_udf(name = "log_template")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LogTemplateId {
    signature: Signature,
    parser: ParserRef,
}

impl LogTemplateId {
    pub fn new(parser: Arc<LogParser>) -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Volatile),
            parser: ParserRef(parser),
        }
    }
}

impl ScalarUDFImpl for LogTemplateId {
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
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let bodies = Texts::new(NAME, &arrays[0])?;
        let services = arrays.get(1).map(|a| Texts::new(NAME, a)).transpose()?;
        let mut out = Int64Builder::with_capacity(bodies.len());
        self.parser
            .0
            .parse_rows(&bodies, services.as_ref(), false, |_, row| match row {
                Some(r) => out.append_value(r.id as i64),
                None => out.append_null(),
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
    use datafusion::arrow::array::{Array, AsArray, StringArray};
    use datafusion::arrow::datatypes::Int64Type;
    use sigfuse_models::logparse::template_id;

    #[test]
    fn ids_are_the_hash_of_service_and_template() {
        for array in text_arrays(&[Some("GET /api/items 200"), None, Some("")]) {
            let f = LogTemplateId::new(Arc::new(LogParser::online()));
            let svc: datafusion::arrow::array::ArrayRef =
                Arc::new(StringArray::from(vec!["api"; 3]));
            let out = invoke(&f, vec![array, svc]);
            let ids = out.as_primitive::<Int64Type>();
            assert_eq!(ids.value(0), template_id("api", "GET <PATH> <NUM>") as i64);
            assert!(ids.is_null(1));
            assert_eq!(ids.value(2), template_id("api", "") as i64);
        }
    }

    #[test]
    fn two_parsers_agree() {
        // Ids depend on nothing but service and template: two processes (parsers) agree.
        let a = LogTemplateId::new(Arc::new(LogParser::online()));
        let b = LogTemplateId::new(Arc::new(LogParser::online()));
        let lines: datafusion::arrow::array::ArrayRef =
            Arc::new(StringArray::from(vec!["disk 93% full on /dev/sda1"]));
        let x = invoke(&a, vec![Arc::clone(&lines)]);
        let y = invoke(&b, vec![lines]);
        assert_eq!(
            x.as_primitive::<Int64Type>().value(0),
            y.as_primitive::<Int64Type>().value(0)
        );
    }
}
