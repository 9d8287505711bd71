//! `embed_text(body [, model])`: a log line's text embedding.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::builder::NullBufferBuilder;
use datafusion::arrow::array::{ArrayRef, FixedSizeListArray, Float32Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::config::ConfigOptions;
use datafusion::common::types::{NativeType, logical_binary, logical_null, logical_string};
use datafusion::common::{
    DataFusionError, Result, ScalarValue, exec_err, internal_err, plan_datafusion_err, plan_err,
};
use datafusion::logical_expr::{
    Coercion, ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, TypeSignature, TypeSignatureClass, Volatility,
};
use datafusion_macros::user_doc;
use sigfuse_models::logparse::{Masked, masked_text};
use sigfuse_models::text::TextEmbedder;

use crate::handles::TextEncoderSource;
use crate::settings::SigfuseOptions;
use crate::texts::Texts;

#[user_doc(
    doc_section(label = "Log Functions"),
    description = r#"The text embedding of a log line: a unit-length vector of floats (`FixedSizeList<Float32, d>`, `float4[]` over the Postgres protocol) whose cosine with another line's vector says how alike the two lines are.

The line's template is embedded: numbers, ids, hex, UUIDs, IPs, paths and URLs are masked first (`connection to <IP> refused`), so lines that differ only in such values get the same vector, and each template is computed once and cached (bounded, shared by all queries). The encoder is the session's `sigfuse.text_encoder` (`SHOW sigfuse.text_encoder`): `builtin` — hashed word 1-2-grams, 384-d, deterministic, no files — or a sentence-transformers folder or object-store URL with `config.json`, `tokenizer.json` and `model.safetensors` (BERT family, mean pooling, L2-normalized, inputs truncated at the folder's `max_seq_length`, 256 by default; `scripts/fetch-text-encoder.sh` installs all-MiniLM-L6-v2). Models run on `sigfuse.device` (`cpu`, or `cuda:N` in a CUDA build). NULL gives NULL; an empty line has a vector; a binary body is read as UTF-8 with invalid bytes replaced by U+FFFD."#,
    syntax_example = "embed_text(body [, model])",
    sql_example = r#"```sql
> SELECT array_length(embed_text('connection to 10.0.0.1 refused')) AS dims,
         round(array_distance(embed_text('connection to 10.0.0.1 refused'),
                              embed_text('connection to 192.168.3.7 refused')), 4) AS same_template,
         round(array_distance(embed_text('connection to 10.0.0.1 refused'),
                              embed_text('connection refused by peer')), 4) AS similar,
         round(array_distance(embed_text('connection to 10.0.0.1 refused'),
                              embed_text('user logged in')), 4) AS unrelated;
+------+---------------+---------+-----------+
| dims | same_template | similar | unrelated |
+------+---------------+---------+-----------+
| 384  | 0.0           | 1.0761  | 1.4142    |
+------+---------------+---------+-----------+
-- Unit vectors: distance 0 is the same vector, √2 ≈ 1.414 nothing in common.
-- With all-MiniLM-L6-v2 (scripts/fetch-text-encoder.sh /tmp/all-minilm-l6-v2):
> SET sigfuse.text_encoder = '/tmp/all-minilm-l6-v2';
> SELECT round(array_distance(embed_text('connection to 10.0.0.1 refused'),
                              embed_text('connection refused by peer')), 4) AS similar,
         round(array_distance(embed_text('connection to 10.0.0.1 refused'),
                              embed_text('user logged in')), 4) AS unrelated;
+---------+-----------+
| similar | unrelated |
+---------+-----------+
| 0.699   | 1.3043    |
+---------+-----------+
```"#,
    argument(
        name = "body",
        description = "The log line: any text type, or binary (invalid UTF-8 replaced)."
    ),
    argument(
        name = "model",
        description = "Optional constant: `'builtin'`, a folder or an object-store URL, used instead of `sigfuse.text_encoder`."
    )
)]
#[derive(Debug)]
pub struct EmbedText {
    signature: Signature,
    encoders: Arc<dyn TextEncoderSource>,
    default: DefaultEncoder,
}

/// The session's `sigfuse.text_encoder` on `sigfuse.device`, loaded when the settings changed.
#[derive(Debug, Clone)]
struct DefaultEncoder {
    spec: String,
    device: String,
    /// The encoder, or why it could not be loaded (reported when a query uses it: a `SET`
    /// cannot fail from here).
    loaded: std::result::Result<Arc<TextEmbedder>, String>,
}

impl DefaultEncoder {
    fn resolve(encoders: &dyn TextEncoderSource, spec: &str, device: &str) -> Self {
        Self {
            spec: spec.to_string(),
            device: device.to_string(),
            loaded: encoders
                .text_encoder(spec, device)
                .map_err(|e| e.message().to_string()),
        }
    }
}

impl PartialEq for EmbedText {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.encoders, &other.encoders)
            && self.default.spec == other.default.spec
            && self.default.device == other.default.device
    }
}

impl Eq for EmbedText {}

impl Hash for EmbedText {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.default.spec.hash(state);
        self.default.device.hash(state);
    }
}

impl EmbedText {
    /// `embed_text` over `encoders`, with the default settings (`builtin` on `cpu`) until the
    /// session's settings say otherwise.
    pub fn new(encoders: Arc<dyn TextEncoderSource>) -> Self {
        let defaults = SigfuseOptions::default();
        let default = DefaultEncoder::resolve(&*encoders, &defaults.text_encoder, &defaults.device);
        Self {
            // Each argument keeps its own string type: a common-type signature would cast the
            // model literal to the body's type, and planning needs it as a literal.
            signature: Signature::one_of(
                vec![
                    TypeSignature::Coercible(vec![text()]),
                    TypeSignature::Coercible(vec![bytes()]),
                    TypeSignature::Coercible(vec![text(), text()]),
                    TypeSignature::Coercible(vec![bytes(), text()]),
                ],
                Volatility::Immutable,
            ),
            encoders,
            default,
        }
    }

    fn default_encoder(&self) -> std::result::Result<&Arc<TextEmbedder>, String> {
        self.default.loaded.as_ref().map_err(|e| {
            format!(
                "sigfuse.text_encoder '{}' on '{}': {e}",
                self.default.spec, self.default.device
            )
        })
    }

    fn named_encoder(&self, model: &ScalarValue) -> Result<Arc<TextEmbedder>> {
        match model.try_as_str() {
            Some(Some(name)) => self
                .encoders
                .text_encoder(name, &self.default.device)
                .map_err(|e| plan_datafusion_err!("embed_text: model '{name}': {}", e.message())),
            _ => plan_err!("embed_text: the model must be a non-NULL text literal, got {model}"),
        }
    }
}

/// Any string type as it is; NULL as Utf8.
fn text() -> Coercion {
    Coercion::new_implicit(
        TypeSignatureClass::Native(logical_string()),
        vec![TypeSignatureClass::Native(logical_null())],
        NativeType::String,
    )
}

/// Binary bodies (logs whose bytes are not all UTF-8), read with invalid sequences replaced
/// by U+FFFD.
fn bytes() -> Coercion {
    Coercion::new_exact(TypeSignatureClass::Native(logical_binary()))
}

/// `FixedSizeList<Float32, dim>` with non-null items.
fn vector_type(dim: usize) -> Result<DataType> {
    let Ok(dim) = i32::try_from(dim) else {
        return internal_err!("embed_text: vector width {dim} does not fit a list");
    };
    Ok(DataType::FixedSizeList(
        Arc::new(Field::new_list_field(DataType::Float32, false)),
        dim,
    ))
}

impl ScalarUDFImpl for EmbedText {
    fn name(&self) -> &str {
        "embed_text"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        internal_err!("embed_text: the return type comes from return_field_from_args")
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let embedder = match args.scalar_arguments {
            [_] => match self.default_encoder() {
                Ok(e) => Arc::clone(e),
                Err(e) => return plan_err!("embed_text: {e}"),
            },
            [_, Some(model)] => self.named_encoder(model)?,
            [_, None] => {
                return plan_err!(
                    "embed_text: the model must be a text literal, got an expression"
                );
            }
            other => {
                return plan_err!("embed_text: expected 1 or 2 arguments, got {}", other.len());
            }
        };
        Ok(Arc::new(Field::new(
            self.name(),
            vector_type(embedder.dim())?,
            true,
        )))
    }

    fn with_updated_config(&self, config: &ConfigOptions) -> Option<ScalarUDF> {
        let options = config.extensions.get::<SigfuseOptions>()?;
        if options.text_encoder == self.default.spec && options.device == self.default.device {
            return None;
        }
        Some(ScalarUDF::new_from_impl(Self {
            signature: self.signature.clone(),
            encoders: Arc::clone(&self.encoders),
            default: DefaultEncoder::resolve(
                &*self.encoders,
                &options.text_encoder,
                &options.device,
            ),
        }))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let embedder = match args.args.get(1) {
            None => match self.default_encoder() {
                Ok(e) => Arc::clone(e),
                Err(e) => return exec_err!("embed_text: {e}"),
            },
            Some(ColumnarValue::Scalar(model)) => self.named_encoder(model)?,
            Some(ColumnarValue::Array(_)) => {
                return exec_err!(
                    "embed_text: the model must be a text literal, got an expression"
                );
            }
        };
        let DataType::FixedSizeList(_, dim) = args.return_type() else {
            return internal_err!("embed_text: planned as {}", args.return_type());
        };
        if usize::try_from(*dim).ok() != Some(embedder.dim()) {
            return exec_err!(
                "embed_text: the query was planned for {dim}-d vectors, but {} gives {}",
                embedder.describe(),
                embedder.dim()
            );
        }
        match &args.args[0] {
            ColumnarValue::Array(bodies) => Ok(ColumnarValue::Array(embed(bodies, &embedder)?)),
            ColumnarValue::Scalar(body) => {
                let out = embed(&body.to_array_of_size(1)?, &embedder)?;
                Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
            }
        }
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// The kernel: one template key per row, each distinct key of the batch looked up (and on a
/// miss encoded) once.
fn embed(bodies: &ArrayRef, embedder: &TextEmbedder) -> Result<ArrayRef> {
    let texts = Texts::new("embed_text", bodies)?;
    let mut scratch = Masked::default();
    let keys: Vec<Option<String>> = (0..texts.len())
        .map(|i| texts.get(i).map(|t| masked_text(&t, &mut scratch)))
        .collect();
    let mut distinct: Vec<&str> = Vec::new();
    let mut slot_of: HashMap<&str, usize> = HashMap::new();
    let slots: Vec<Option<usize>> = keys
        .iter()
        .map(|k| {
            k.as_deref().map(|k| {
                *slot_of.entry(k).or_insert_with(|| {
                    distinct.push(k);
                    distinct.len() - 1
                })
            })
        })
        .collect();
    let vectors = embedder
        .embed(&distinct)
        .map_err(|e| DataFusionError::External(Box::new(e)).context("embed_text"))?;
    let dim = embedder.dim();
    let mut values = Vec::with_capacity(slots.len() * dim);
    let mut nulls = NullBufferBuilder::new(slots.len());
    for slot in slots {
        let Some(slot) = slot else {
            values.resize(values.len() + dim, 0.0);
            nulls.append_null();
            continue;
        };
        match vectors.get(slot) {
            Some(v) if v.len() == dim => values.extend_from_slice(v),
            _ => return internal_err!("embed_text: no {dim}-d vector for distinct text {slot}"),
        }
        nulls.append_non_null();
    }
    let DataType::FixedSizeList(item, width) = vector_type(dim)? else {
        return internal_err!("embed_text: vector_type is not a FixedSizeList");
    };
    Ok(Arc::new(FixedSizeListArray::try_new(
        item,
        width,
        Arc::new(Float32Array::from(values)),
        nulls.finish(),
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handles::BuiltinOnly;
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::array::{LargeStringArray, StringArray, StringViewArray};
    use sigfuse_models::device::parse_device;
    use sigfuse_models::text::testing::{TINY_DIM, tiny_bert_files};
    use sigfuse_models::text::{
        DEFAULT_CACHE_ENTRIES, HASHED_DIM, SentenceEncoder, TextEncoder, cosine,
    };

    /// `builtin` plus a random tiny BERT named `tiny`, loaded from memory.
    #[derive(Debug)]
    struct TestEncoders {
        builtin: BuiltinOnly,
        tiny: Arc<TextEmbedder>,
    }

    impl TestEncoders {
        fn new() -> Arc<Self> {
            let files = tiny_bert_files(None);
            let tiny = SentenceEncoder::load(&files, &parse_device("cpu").unwrap()).unwrap();
            Arc::new(Self {
                builtin: BuiltinOnly::default(),
                tiny: Arc::new(TextEmbedder::new(
                    TextEncoder::Bert(Box::new(tiny)),
                    DEFAULT_CACHE_ENTRIES,
                )),
            })
        }
    }

    impl TextEncoderSource for TestEncoders {
        fn text_encoder(&self, spec: &str, device: &str) -> Result<Arc<TextEmbedder>> {
            match spec {
                "tiny" => Ok(Arc::clone(&self.tiny)),
                _ => self.builtin.text_encoder(spec, device),
            }
        }
    }

    fn settings(text_encoder: &str) -> ConfigOptions {
        let mut config = ConfigOptions::default();
        config.extensions.insert(SigfuseOptions::default());
        config.set("sigfuse.text_encoder", text_encoder).unwrap();
        config
    }

    /// Plans and runs `f(bodies [, model])` as DataFusion would.
    fn run(f: &EmbedText, bodies: ArrayRef, model: Option<&str>) -> Result<FixedSizeListArray> {
        let model = model.map(|m| ScalarValue::Utf8(Some(m.into())));
        let mut arg_fields = vec![Arc::new(Field::new(
            "body",
            bodies.data_type().clone(),
            true,
        ))];
        let mut scalars = vec![None];
        let mut args = vec![ColumnarValue::Array(Arc::clone(&bodies))];
        if let Some(m) = &model {
            arg_fields.push(Arc::new(Field::new("model", DataType::Utf8, true)));
            scalars.push(Some(m));
            args.push(ColumnarValue::Scalar(m.clone()));
        }
        let return_field = f.return_field_from_args(ReturnFieldArgs {
            arg_fields: &arg_fields,
            scalar_arguments: &scalars,
        })?;
        let out = f.invoke_with_args(ScalarFunctionArgs {
            args,
            arg_fields,
            number_rows: bodies.len(),
            return_field,
            config_options: Arc::new(ConfigOptions::default()),
        })?;
        let ColumnarValue::Array(out) = out else {
            panic!("an array input must give an array");
        };
        Ok(out.as_fixed_size_list().clone())
    }

    fn row(a: &FixedSizeListArray, i: usize) -> Vec<f32> {
        a.value(i)
            .as_primitive::<datafusion::arrow::datatypes::Float32Type>()
            .values()
            .to_vec()
    }

    fn norm(v: &[f32]) -> f32 {
        v.iter().map(|x| x * x).sum::<f32>().sqrt()
    }

    fn edge_cases() -> Vec<Option<String>> {
        vec![
            Some("connection to 10.0.0.1:5432 refused".into()),
            None,
            Some(String::new()),
            Some(
                "java.lang.NullPointerException: null\n\tat com.x.Y.run(Y.java:42)\n\tat java.lang.Thread.run(Thread.java:750)"
                    .into(),
            ),
            Some("disk full on the request ".repeat(20_000)),
            Some("connection to 192.168.1.20:6379 refused".into()),
        ]
    }

    #[test]
    fn every_string_type_gives_the_same_unit_vectors_and_null_stays_null() {
        let f = EmbedText::new(TestEncoders::new());
        let lines = edge_cases();
        let inputs: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(lines.clone())),
            Arc::new(LargeStringArray::from(lines.clone())),
            Arc::new(StringViewArray::from(lines.clone())),
        ];
        let mut results = Vec::new();
        for input in inputs {
            for model in [None, Some("tiny")] {
                let out = run(&f, Arc::clone(&input), model).unwrap();
                let dim = if model.is_some() {
                    TINY_DIM
                } else {
                    HASHED_DIM
                };
                assert_eq!(out.value_length() as usize, dim);
                assert_eq!(out.len(), lines.len());
                assert!(out.is_null(1) && out.null_count() == 1);
                for i in [0, 2, 3, 4, 5] {
                    let v = row(&out, i);
                    assert!((norm(&v) - 1.0).abs() < 1e-5, "row {i}: norm {}", norm(&v));
                }
                // Lines that differ only in addresses share a template, hence a vector.
                assert_eq!(row(&out, 0), row(&out, 5));
                assert!(cosine(&row(&out, 0), &row(&out, 3)) < 0.999);
                results.push((model, out));
            }
        }
        for (model, out) in &results[2..] {
            let first = &results[usize::from(model.is_some())].1;
            assert_eq!(out, first, "{model:?}: types must not change vectors");
        }
    }

    #[test]
    fn binary_bodies_are_read_with_invalid_bytes_replaced() {
        use datafusion::arrow::array::{BinaryArray, BinaryViewArray, LargeBinaryArray};
        let f = EmbedText::new(TestEncoders::new());
        let raw: Vec<Option<&[u8]>> =
            vec![Some(b"disk \xff\xfe full"), None, Some(b"user logged in")];
        let text = StringArray::from(vec![
            Some("disk \u{fffd}\u{fffd} full"),
            None,
            Some("user logged in"),
        ]);
        let want = run(&f, Arc::new(text), None).unwrap();
        let inputs: Vec<ArrayRef> = vec![
            Arc::new(BinaryArray::from(raw.clone())),
            Arc::new(LargeBinaryArray::from(raw.clone())),
            Arc::new(BinaryViewArray::from(raw)),
        ];
        for input in inputs {
            assert_eq!(run(&f, input, None).unwrap(), want);
        }
    }

    #[test]
    fn a_batch_of_many_lines_calls_the_model_once_per_template() {
        let encoders = TestEncoders::new();
        let f = EmbedText::new(Arc::clone(&encoders) as Arc<dyn TextEncoderSource>);
        let lines: Vec<String> = (0..5000)
            .map(|i| match i % 4 {
                0 => format!("user {i} logged in"),
                1 => format!("request {i} failed at 10.0.{}.{}", i % 250, i % 7),
                2 => format!("timeout in {i}ms"),
                _ => "disk full".to_string(),
            })
            .collect();
        let before = encoders.tiny.stats();
        let out = run(&f, Arc::new(StringArray::from(lines.clone())), Some("tiny")).unwrap();
        let after = encoders.tiny.stats();
        assert_eq!(after.encoded - before.encoded, 4, "{after:?}");
        assert_eq!(out.null_count(), 0);
        // And the cache serves the next query.
        run(&f, Arc::new(StringArray::from(lines)), Some("tiny")).unwrap();
        assert_eq!(encoders.tiny.stats().encoded, after.encoded);
    }

    #[test]
    fn a_scalar_body_gives_a_scalar() {
        let f = EmbedText::new(TestEncoders::new());
        let body = ScalarValue::Utf8(Some("disk full".into()));
        let field = f
            .return_field_from_args(ReturnFieldArgs {
                arg_fields: &[Arc::new(Field::new("b", DataType::Utf8, true))],
                scalar_arguments: &[Some(&body)],
            })
            .unwrap();
        let out = f
            .invoke_with_args(ScalarFunctionArgs {
                args: vec![ColumnarValue::Scalar(body)],
                arg_fields: vec![Arc::new(Field::new("b", DataType::Utf8, true))],
                number_rows: 1,
                return_field: field,
                config_options: Arc::new(ConfigOptions::default()),
            })
            .unwrap();
        let ColumnarValue::Scalar(ScalarValue::FixedSizeList(v)) = out else {
            panic!("expected a FixedSizeList scalar, got {out:?}");
        };
        assert_eq!(
            row(&v, 0),
            sigfuse_models::text::HashedEncoder.embed_one("disk full")
        );
    }

    #[test]
    fn unknown_models_are_plan_errors_that_name_them() {
        let f = EmbedText::new(TestEncoders::new());
        let bodies: ArrayRef = Arc::new(StringArray::from(vec!["x"]));
        let e = run(&f, Arc::clone(&bodies), Some("no-such-model")).unwrap_err();
        let msg = e.strip_backtrace();
        assert!(matches!(e, DataFusionError::Plan(_)), "{msg}");
        assert!(msg.contains("embed_text: model 'no-such-model'"), "{msg}");

        // The session default: a bad setting fails the queries that use it, not the SET.
        let bad = f
            .with_updated_config(&settings("nope"))
            .expect("settings changed");
        let e = bad
            .inner()
            .return_field_from_args(ReturnFieldArgs {
                arg_fields: &[Arc::new(Field::new("b", DataType::Utf8, true))],
                scalar_arguments: &[None],
            })
            .unwrap_err()
            .strip_backtrace();
        assert!(e.contains("sigfuse.text_encoder 'nope' on 'cpu'"), "{e}");
    }

    #[test]
    fn the_session_setting_rebinds_the_default_encoder() {
        let f = EmbedText::new(TestEncoders::new());
        assert!(
            f.with_updated_config(&settings("builtin")).is_none(),
            "nothing changed"
        );
        let tiny = f
            .with_updated_config(&settings("tiny"))
            .expect("settings changed");
        let field = tiny
            .inner()
            .return_field_from_args(ReturnFieldArgs {
                arg_fields: &[Arc::new(Field::new("b", DataType::Utf8, true))],
                scalar_arguments: &[None],
            })
            .unwrap();
        assert_eq!(field.data_type(), &vector_type(TINY_DIM).unwrap());
        assert_ne!(ScalarUDF::new_from_impl(f), tiny);
    }
}
