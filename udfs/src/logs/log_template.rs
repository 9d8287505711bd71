//! `log_template(body [, service])`: the template of a log line.

use std::sync::Arc;

use datafusion::arrow::array::StringBuilder;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use super::parser::{LogParser, ParserRef, Texts, coerce_body_service};

const NAME: &str = "log_template";

#[user_doc(
    doc_section(label = "Log functions"),
    description = "The template of a log line: its words with the variable parts masked as \
`<NUM>`, `<HEX>`, `<IP>`, `<UUID>`, `<PATH>` or `<*>` (Drain-family mining, see \
`models/src/logparse`). With the optional `service`, templates are scoped by service: lines of \
two services never share a template; without it, all lines share one scope. When the lake \
holds a `log_parser` model (`CREATE MODEL … KIND log_parser`), its latest version is used \
read-only and a line it does not match gets its own masked text; without a model, one online \
miner per process learns from every line it is shown, so a template can still generalize \
(a word becoming `<*>`) as more lines arrive. NULL body → NULL; an empty body → ''.",
    syntax_example = "log_template(body [, service])",
    sql_example = r#"```sql
> SELECT log_template('Connection to 10.0.0.7:5432 refused after 12 ms') AS t;
+----------------------------------------+
| t                                      |
+----------------------------------------+
| Connection to <IP> refused after <NUM> |
+----------------------------------------+
> SELECT service, log_template(body, service) AS template, count(*) AS n FROM logs
  WHERE service = 'cart' GROUP BY 1, 2 ORDER BY n DESC LIMIT 3;
+---------+------------------------------------------------+-----+
| service | template                                       | n   |
+---------+------------------------------------------------+-----+
| cart    | Cache hit for key <*>                          | 550 |
| cart    | Removed item SKU-<NUM> from cart of user <NUM> | 525 |
| cart    | Cart of user <NUM> emptied after checkout      | 477 |
+---------+------------------------------------------------+-----+
```"#,
    argument(
        name = "body",
        description = "The log line: text, or bytes (invalid UTF-8 replaced by U+FFFD)."
    ),
    argument(
        name = "service",
        description = "Scope of the template (usually the `service` column)."
    ),
    related_udf(name = "log_template_id"),
    related_udf(name = "log_params"),
    related_udf(name = "log_patterns")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LogTemplate {
    signature: Signature,
    parser: ParserRef,
}

impl LogTemplate {
    pub fn new(parser: Arc<LogParser>) -> Self {
        Self {
            // Volatile: without a model the answer depends on the lines mined before.
            signature: Signature::user_defined(Volatility::Volatile),
            parser: ParserRef(parser),
        }
    }
}

impl ScalarUDFImpl for LogTemplate {
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
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let bodies = Texts::new(NAME, &arrays[0])?;
        let services = arrays.get(1).map(|a| Texts::new(NAME, a)).transpose()?;
        let mut out = StringBuilder::with_capacity(bodies.len(), bodies.len() * 32);
        self.parser
            .0
            .parse_rows(&bodies, services.as_ref(), false, |_, row| match row {
                Some(r) => out.append_value(r.template),
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
    use datafusion::arrow::array::{Array, AsArray};

    fn run(f: &LogTemplate, args: Vec<datafusion::arrow::array::ArrayRef>) -> Vec<Option<String>> {
        let out = invoke(f, args);
        let a = out.as_string::<i32>();
        (0..a.len())
            .map(|i| a.is_valid(i).then(|| a.value(i).to_string()))
            .collect()
    }

    #[test]
    fn every_text_type_gives_the_same_templates() {
        let lines = [
            Some("Connection to 10.0.0.7:5432 refused after 12 ms"),
            None,
            Some(""),
            Some(
                "java.lang.IllegalStateException: boom\n\tat a.B.c(B.java:12)\n\tat a.B.d(B.java:40)",
            ),
        ];
        let mut seen = Vec::new();
        for array in text_arrays(&lines) {
            let f = LogTemplate::new(Arc::new(LogParser::online()));
            seen.push(run(&f, vec![array]));
        }
        let expected = vec![
            Some("Connection to <IP> refused after <NUM>".to_string()),
            None,
            Some(String::new()),
            Some("java.lang.IllegalStateException: boom at a.B.c(B.java:<NUM>) at a.B.d(B.java:<NUM>)".to_string()),
        ];
        for s in seen {
            assert_eq!(s, expected);
        }
    }

    #[test]
    fn invalid_utf8_is_replaced_and_long_lines_are_bounded() {
        use datafusion::arrow::array::BinaryArray;
        let f = LogTemplate::new(Arc::new(LogParser::online()));
        let bad: &[u8] = b"bad \xff\xfe byte 7";
        let out = run(&f, vec![Arc::new(BinaryArray::from(vec![Some(bad)]))]);
        assert_eq!(out, [Some("bad \u{fffd}\u{fffd} byte <NUM>".to_string())]);
        let long = "word ".repeat(100_000);
        let out = run(
            &f,
            vec![Arc::new(datafusion::arrow::array::StringArray::from(vec![
                long.as_str(),
            ]))],
        );
        let t = out[0].clone().unwrap_or_default();
        assert!(
            t.ends_with(" <*>") && t.split(' ').count() == 128,
            "{}",
            &t[..60]
        );
    }

    #[test]
    fn services_scope_templates() {
        use datafusion::arrow::array::StringArray;
        let f = LogTemplate::new(Arc::new(LogParser::online()));
        let bodies = StringArray::from(vec!["user alice in", "user bob in", "user bob in"]);
        let services = StringArray::from(vec![Some("a"), Some("b"), None]);
        let out = run(&f, vec![Arc::new(bodies), Arc::new(services)]);
        assert_eq!(
            out,
            [
                Some("user alice in".to_string()),
                Some("user bob in".to_string()),
                Some("user bob in".to_string())
            ]
        );
    }
}
