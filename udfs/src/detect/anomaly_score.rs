//! `anomaly_score(model, service, <signal_windows columns>…)`: the fused, calibrated anomaly
//! score of each window.

use std::sync::Arc;

use datafusion::arrow::array::Float64Array;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, internal_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion_macros::user_doc;

use super::{Detectors, check_args, score_args};

#[user_doc(
    doc_section(label = "Detection functions"),
    description = "The anomaly score of a `signal_windows` row under a baseline model \
(`CREATE MODEL name KIND baseline AS SELECT * FROM signal_windows(…)` over a normal period): \
the fraction of the model's normal training windows that score lower, in [0, 1] (0.5 is a \
typical normal window; 0.99 is rarer than 99 % of the normal period; 1 beyond all of it). \
The row is a struct of the window's columns by name (`named_struct('service', service, 'spans', \
spans, …)`): `service` and any of the `signal_windows` feature columns (`log_*`, `spans`, \
`span_errors`, `error_ratio`, `latency_*`, `metric_samples`, `metrics`, `events`, \
`event_kinds`). A modality whose columns are NULL (or not passed) is missing: the \
score uses the others (see `modality_weights` for the confidence); a window with no modality \
gets NULL. The score is computed per feature as the robust deviation from the service's median \
in training (|x − median| / (1.4826 × MAD)), the largest per modality, normalized by that \
modality's 99th percentile in training; the largest modality gives the score.",
    syntax_example = "anomaly_score(model, row)",
    sql_example = r#"```sql
> SELECT service, window_start,
         anomaly_score('ops', named_struct('service', service, 'log_lines', log_lines,
             'log_error', log_error, 'spans', spans, 'error_ratio', error_ratio,
             'latency_p95_ms', latency_p95_ms, 'metrics', metrics, 'events', events)) AS score
  FROM signal_windows(INTERVAL '1 minute', INTERVAL '1 minute',
                      TIMESTAMP '2024-06-03 10:00:00', TIMESTAMP '2024-06-03 11:00:00')
  ORDER BY score DESC LIMIT 5;
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
pub struct AnomalyScore {
    signature: Signature,
    detectors: Arc<Detectors>,
}

impl AnomalyScore {
    pub fn new(detectors: Arc<Detectors>) -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Stable),
            detectors,
        }
    }
}

impl PartialEq for AnomalyScore {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.detectors, &other.detectors)
    }
}

impl Eq for AnomalyScore {}

impl std::hash::Hash for AnomalyScore {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl ScalarUDFImpl for AnomalyScore {
    fn name(&self) -> &str {
        "anomaly_score"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        internal_err!("anomaly_score: the return type comes from return_field_from_args")
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let name = check_args(self.name(), &args)?;
        self.detectors.get(self.name(), &name)?;
        Ok(Arc::new(Field::new(self.name(), DataType::Float64, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scores = score_args(self.name(), &self.detectors, &args)?;
        let out: Float64Array = scores.iter().map(|s| s.as_ref().map(|s| s.score)).collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::tests::{call_args, detectors, field};
    use datafusion::arrow::array::{Array, ArrayRef, Int64Array, StringArray};
    use datafusion::arrow::datatypes::Fields;
    use datafusion::common::ScalarValue;

    #[test]
    fn scores_by_service_and_null_without_data() {
        let f = AnomalyScore::new(detectors());
        let columns: Vec<(FieldRef, ArrayRef)> = vec![
            (
                field("service", DataType::Utf8),
                Arc::new(StringArray::from(vec!["api", "api", "db"])),
            ),
            (
                field("spans", DataType::Int64),
                Arc::new(Int64Array::from(vec![Some(100), Some(900), None])),
            ),
        ];
        let out = f
            .invoke_with_args(call_args("ops", columns, field("s", DataType::Float64)))
            .unwrap();
        let ColumnarValue::Array(out) = out else {
            panic!("array expected")
        };
        let out = out.as_any().downcast_ref::<Float64Array>().unwrap();
        assert!(out.value(0) < 0.9, "{out:?}");
        assert_eq!(out.value(1), 1.0);
        assert!(out.is_null(2));
    }

    #[test]
    fn planning_checks_the_model_and_the_row() {
        let f = AnomalyScore::new(detectors());
        let plan = |model: &str, row: DataType| {
            let model = ScalarValue::from(model);
            let fields = [field("model", DataType::Utf8), field("row", row)];
            f.return_field_from_args(ReturnFieldArgs {
                arg_fields: &fields,
                scalar_arguments: &[Some(&model), None],
            })
            .map(|_| ())
            .map_err(|e| e.to_string())
        };
        let row = DataType::Struct(Fields::from(vec![
            Field::new("service", DataType::Utf8, true),
            Field::new("spans", DataType::Int64, true),
        ]));
        plan("ops", row.clone()).unwrap();
        let err = plan("nope", row).unwrap_err();
        assert!(err.contains("model 'nope' does not exist"), "{err}");
        let err = plan("ops", DataType::Utf8).unwrap_err();
        assert!(err.contains("must be a struct"), "{err}");
        let no_service = DataType::Struct(Fields::from(vec![Field::new(
            "spans",
            DataType::Int64,
            true,
        )]));
        assert!(
            plan("ops", no_service)
                .unwrap_err()
                .contains("pass the service column")
        );
    }
}
