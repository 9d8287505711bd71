//! Log functions: template mining in SQL.
//!
//! | function | NULLs | edge cases | cost |
//! |---|---|---|---|
//! | [`log_template`] | NULL body → NULL; NULL service → the unscoped scope | '' → ''; multi-line bodies are one line whose newlines separate words; past 128 words the rest is one `<*>`; bytes that are not UTF-8 → U+FFFD | O(line) per row; online mining takes the process's miner lock once per batch |
//! | [`log_template_id`] | as `log_template` | the id of '' is the hash of the service and '' | as `log_template` |
//! | [`log_params`] | NULL body → NULL list | no variables → `[]` | as `log_template`, plus one string per value |
//! | [`embed_text`](embed_text::EmbedText) | NULL → NULL; `''` → a vector | one template key per row; one model call per distinct template not yet cached | unit-length vectors; width is the encoder's (384 for `builtin` and all-MiniLM-L6-v2) |
//! | [`log_patterns`] | NULL bodies skipped; all NULL → `[]` | ties ordered by template | as `log_template` per row, one hash entry per template of the group |
//!
//! # Model and scope
//!
//! Every function takes the optional `service` argument that scopes templates (two services
//! never share one; ids hash the service too). They share one [`LogParser`] handle, given by
//! the engine: the latest version of the lake's default `log_parser` model, used read-only
//! (a line it does not match gets its own masked text as template), or, without a model, an
//! online miner per process that learns from every line it is shown. Online, a template can
//! generalize while lines arrive (`user alice in` becomes `user <*> in` once six names were
//! seen), so the same line can get a more general template, and id, in a later query; a saved
//! model never changes until `CREATE MODEL` writes a new version.

use std::sync::Arc;

use datafusion::logical_expr::{AggregateUDF, ScalarUDF};

use crate::handles::ModelHandles;

pub mod embed_text;
pub mod log_params;
pub mod log_patterns;
pub mod log_template;
pub mod log_template_id;
pub(crate) mod parser;

pub use parser::{LogParser, model_err};

/// The scalar functions of this family, bound to the engine's model handles.
pub fn functions(models: &ModelHandles) -> Vec<Arc<ScalarUDF>> {
    let parser = &models.log_parser;
    vec![
        Arc::new(ScalarUDF::from(log_template::LogTemplate::new(Arc::clone(
            parser,
        )))),
        Arc::new(ScalarUDF::from(log_template_id::LogTemplateId::new(
            Arc::clone(parser),
        ))),
        Arc::new(ScalarUDF::from(log_params::LogParams::new(Arc::clone(
            parser,
        )))),
        Arc::new(ScalarUDF::new_from_impl(embed_text::EmbedText::new(
            Arc::clone(&models.text_encoders),
        ))),
    ]
}

/// The aggregate functions of this family, sharing `parser`.
pub fn aggregates(parser: &Arc<LogParser>) -> Vec<Arc<AggregateUDF>> {
    vec![Arc::new(AggregateUDF::from(
        log_patterns::LogPatterns::new(Arc::clone(parser)),
    ))]
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{
        ArrayRef, BinaryViewArray, LargeStringArray, StringArray, StringViewArray,
    };
    use datafusion::arrow::datatypes::Field;
    use datafusion::common::config::ConfigOptions;
    use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl};

    /// The same lines as Utf8, LargeUtf8, Utf8View and BinaryView.
    pub(crate) fn text_arrays(lines: &[Option<&str>]) -> Vec<ArrayRef> {
        let bytes: Vec<Option<&[u8]>> = lines.iter().map(|l| l.map(str::as_bytes)).collect();
        vec![
            Arc::new(StringArray::from(lines.to_vec())),
            Arc::new(LargeStringArray::from(lines.to_vec())),
            Arc::new(StringViewArray::from(lines.to_vec())),
            Arc::new(BinaryViewArray::from(bytes)),
        ]
    }

    /// Calls a scalar function on arrays, as DataFusion does.
    pub(crate) fn invoke(f: &dyn ScalarUDFImpl, args: Vec<ArrayRef>) -> ArrayRef {
        let number_rows = args.first().map_or(0, |a| a.len());
        let arg_fields = args
            .iter()
            .map(|a| Arc::new(Field::new("a", a.data_type().clone(), true)))
            .collect();
        let types: Vec<_> = args.iter().map(|a| a.data_type().clone()).collect();
        let return_type = f.return_type(&types).expect("return type");
        let out = f
            .invoke_with_args(ScalarFunctionArgs {
                args: args.into_iter().map(ColumnarValue::Array).collect(),
                arg_fields,
                number_rows,
                return_field: Arc::new(Field::new("r", return_type, true)),
                config_options: Arc::new(ConfigOptions::default()),
            })
            .expect("invoke");
        match out {
            ColumnarValue::Array(a) => a,
            ColumnarValue::Scalar(s) => s.to_array().expect("scalar to array"),
        }
    }
}
