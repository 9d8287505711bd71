//! `modality_weights(model, service, <signal_windows columns>…)`: why a window scored as it
//! did: the score, its confidence, each modality's share and the feature that drove it.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array, StringArray, StructArray};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{Result, internal_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion_macros::user_doc;
use sigfuse_models::baseline::Modality;

use super::{Detectors, check_args, evidence, score_args, template_texts};
use crate::logs::LogParser;

#[user_doc(
    doc_section(label = "Detection functions"),
    description = "Explains `anomaly_score` for the same arguments: a struct of `score` (as \
`anomaly_score`), `raw` (the uncalibrated fused score, which orders windows beyond the top of \
the calibration), `confidence` (the share of the service's usual modalities present in the \
window, weighted by how often each had data in training: 1 when all are there), `logs`, \
`spans`, `metrics`, `events` (each present modality's share of the summed modality scores; \
NULL when missing), `top_modality` and `evidence` (the feature that drove the score, its value \
and its training median, e.g. `metrics: metric:CpuUsageRate = 95.2 (median 12.1)`; a log \
template is quoted after its id when the log parser in use knows it: `logs: template:-42 \
\"out of memory <*>\" = 3 (median unseen)`). NULL for a window with no modality.",
    syntax_example = "modality_weights(model, row)",
    sql_example = r#"```sql
> SELECT service, window_start, w.score, w.top_modality, w.evidence
  FROM (SELECT service, window_start,
               modality_weights('ops', named_struct('service', service, 'spans', spans,
                   'latency_p95_ms', latency_p95_ms, 'metrics', metrics)) AS w
        FROM signal_windows(INTERVAL '1 minute'))
  ORDER BY w.raw DESC LIMIT 5;
```"#,
    argument(
        name = "model",
        description = "Name of a baseline model (text literal)."
    ),
    argument(
        name = "row",
        description = "A struct of the window's columns by name: `named_struct('service', service, 'spans', spans, …)` with `service` and any `signal_windows` feature columns."
    )
)]
#[derive(Debug)]
pub struct ModalityWeights {
    signature: Signature,
    detectors: Arc<Detectors>,
    /// Names the log templates that evidence quotes.
    log_parser: Arc<LogParser>,
}

impl ModalityWeights {
    pub fn new(detectors: Arc<Detectors>, log_parser: Arc<LogParser>) -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Stable),
            detectors,
            log_parser,
        }
    }
}

impl PartialEq for ModalityWeights {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.detectors, &other.detectors)
            && Arc::ptr_eq(&self.log_parser, &other.log_parser)
    }
}

impl Eq for ModalityWeights {}

impl std::hash::Hash for ModalityWeights {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

/// The struct's fields.
pub fn fields() -> Fields {
    let mut f = vec![
        Field::new("score", DataType::Float64, true),
        Field::new("raw", DataType::Float64, true),
        Field::new("confidence", DataType::Float64, true),
    ];
    f.extend(
        Modality::ALL
            .iter()
            .map(|m| Field::new(m.name(), DataType::Float64, true)),
    );
    f.push(Field::new("top_modality", DataType::Utf8, true));
    f.push(Field::new("evidence", DataType::Utf8, true));
    Fields::from(f)
}

impl ScalarUDFImpl for ModalityWeights {
    fn name(&self) -> &str {
        "modality_weights"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        internal_err!("modality_weights: the return type comes from return_field_from_args")
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let name = check_args(self.name(), &args)?;
        self.detectors.get(self.name(), &name)?;
        Ok(Arc::new(Field::new(
            self.name(),
            DataType::Struct(fields()),
            true,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scores = score_args(self.name(), &self.detectors, &args)?;
        let f64s = |get: &dyn Fn(&sigfuse_models::baseline::Score) -> Option<f64>| -> ArrayRef {
            Arc::new(
                scores
                    .iter()
                    .map(|s| s.as_ref().and_then(get))
                    .collect::<Float64Array>(),
            )
        };
        let templates = template_texts(&self.log_parser, scores.iter().flatten());
        let mut columns = vec![
            f64s(&|s| Some(s.score)),
            f64s(&|s| Some(s.raw)),
            f64s(&|s| Some(s.confidence)),
        ];
        for m in Modality::ALL {
            columns.push(f64s(&|s| s.weights[m as usize]));
        }
        columns.push(Arc::new(
            scores
                .iter()
                .map(|s| s.as_ref().map(|s| s.top_modality.name()))
                .collect::<StringArray>(),
        ));
        columns.push(Arc::new(
            scores
                .iter()
                .map(|s| s.as_ref().map(|s| evidence(s, &templates)))
                .collect::<StringArray>(),
        ));
        let nulls = NullBuffer::from(scores.iter().map(Option::is_some).collect::<Vec<_>>());
        Ok(ColumnarValue::Array(Arc::new(StructArray::try_new(
            fields(),
            columns,
            Some(nulls),
        )?)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::tests::{call_args, detectors, field};
    use datafusion::arrow::array::{Array, AsArray, Int64Array, StructArray};
    use datafusion::arrow::datatypes::Float64Type;

    #[test]
    fn explains_the_driving_modality_and_feature() {
        let f = ModalityWeights::new(detectors(), Arc::new(LogParser::online()));
        let out = f
            .invoke_with_args(call_args(
                "ops",
                vec![
                    (
                        field("service", DataType::Utf8),
                        Arc::new(StringArray::from(vec!["db", "db"])),
                    ),
                    (
                        field("spans", DataType::Int64),
                        Arc::new(Int64Array::from(vec![Some(1000), None])),
                    ),
                ],
                field("w", DataType::Struct(fields())),
            ))
            .unwrap();
        let ColumnarValue::Array(a) = out else {
            panic!()
        };
        let s: &StructArray = a.as_struct();
        assert!(s.is_valid(0) && s.is_null(1));
        let col = |n: &str| s.column_by_name(n).unwrap();
        assert_eq!(col("score").as_primitive::<Float64Type>().value(0), 1.0);
        assert_eq!(col("spans").as_primitive::<Float64Type>().value(0), 1.0);
        assert!(col("metrics").is_null(0));
        // Spans only, of a service trained with spans and metrics: half the usual modalities.
        assert!((col("confidence").as_primitive::<Float64Type>().value(0) - 0.5).abs() < 1e-9);
        assert_eq!(col("top_modality").as_string::<i32>().value(0), "spans");
        assert_eq!(
            col("evidence").as_string::<i32>().value(0),
            "spans: spans = 1000 (median 100)"
        );
    }
}
