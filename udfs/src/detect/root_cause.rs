//! `root_cause(model, since, until [, target [, symptom]])`: the services of an incident ranked
//! as likely root causes.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{
    Array, AsArray, Int64Array, RecordBatch, StringArray, TimestampNanosecondArray,
};
use datafusion::arrow::datatypes::{
    DataType, Field, Schema, SchemaRef, TimeUnit, TimestampNanosecondType,
};
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::datasource::TableType;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::logical_expr::{Documentation, Expr, LogicalPlan};
use datafusion::physical_plan::{ExecutionPlan, collect};
use datafusion_macros::user_doc;
use sigfuse_models::baseline::rca::{self, Candidate};
use sigfuse_models::baseline::{Score, Window};

use super::{
    Detectors, Incident, LoadedModel, evidence, feature_rows_sql, incident_args, plan_sql,
    template_texts,
};
use crate::logs::LogParser;

pub const NAME: &str = "root_cause";

#[user_doc(
    doc_section(label = "Detection functions"),
    description = "Ranks the services of an incident `[since, until)` as root causes with a \
baseline model: each service's most anomalous window (as `detect_anomalies` scores it) counts; \
services that are anomalous (score at least the model's `anomalous` option, default 0.99) and \
not explained by an anomalous service downstream of them in the call graph come first, most \
anomalous first; then anomalous services that a downstream dependency explains (a caller \
slowed by its callee), then the rest. The call graph joins the model's (the calls its \
training spans showed, and the edges declared with `CREATE MODEL … OPTIONS (call_graph = …)`) \
with the incident windows' `span_callees` (a span's service calls its child spans' services); \
with neither, services rank by score alone. Given a `target` (the service whose alert is being \
explained), the target and the services downstream of it rank first; of those an \
unexplained anomalous service comes first only when a chain of anomalous callers links it to \
the target, and of two such the one whose anomaly spread further comes first: the larger sum \
of the scores of it and of the explained anomalies upstream of it (its callers, theirs, and so \
on, each loud enough to explain the next, the walk reaching the target). Given a `symptom` \
too (the metric or feature the alert fired on, such as `'latency.average'` or \
`'error_ratio'`), services are scored on the features that measure it only (a feature \
measures `s` when its name, without its `metric:` prefix, is `s` or starts with `s.` or `s_`; \
a service without one scores 0): a robust deviation of z standard deviations scores \
P(|N(0, 1)| < z), and only deviations the same way as the target's count (a rise does not \
explain a fall). Columns: \
`rank` (1 = most likely), `service`, `score`, `evidence` (the modality, feature, value and \
training median that drove the score, as `modality_weights` gives it), `explained_by` (the downstream service that explains \
this one, or NULL) and `window_start` (of the worst window).",
    syntax_example = "root_cause(model, since, until [, target [, symptom]])",
    sql_example = r#"```sql
> SELECT rank, service, score, evidence FROM root_cause('ops',
      TIMESTAMP '2024-06-03 10:20:00', TIMESTAMP '2024-06-03 10:30:00') ORDER BY rank LIMIT 3;
```"#,
    argument(
        name = "model",
        description = "Name of a baseline model (text literal)."
    ),
    argument(name = "since", description = "Start of the incident (a timestamp)."),
    argument(name = "until", description = "End of the incident, excluded."),
    argument(
        name = "target",
        description = "Optional: the service whose symptom (an alert, an SLO breach) is explained."
    ),
    argument(
        name = "symptom",
        description = "Optional, with a target: the metric or feature the symptom shows on \
(`latency`, `availability.average`, `error_ratio`)."
    )
)]
#[derive(Debug)]
pub struct RootCause {
    detectors: Arc<Detectors>,
    /// Names the log templates that evidence quotes.
    log_parser: Arc<LogParser>,
}

impl RootCause {
    pub fn new(detectors: Arc<Detectors>, log_parser: Arc<LogParser>) -> Self {
        Self {
            detectors,
            log_parser,
        }
    }

    pub fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

impl TableFunctionImpl for RootCause {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let Incident {
            model,
            since,
            until,
            mut optional,
        } = incident_args(NAME, &self.detectors, &args, &["target", "symptom"])?;
        let (symptom, target) = (optional.pop().flatten(), optional.pop().flatten());
        if symptom.is_some() && target.is_none() {
            return plan_err!("{NAME}: a symptom needs its target service (the fourth argument)");
        }
        let windows = plan_sql(
            NAME,
            args.session(),
            &feature_rows_sql(&model, &since, &until),
        )?;
        Ok(Arc::new(RootCauseTable {
            model,
            log_parser: Arc::clone(&self.log_parser),
            windows,
            target,
            symptom,
        }))
    }
}

/// The ranking, computed when scanned.
#[derive(Debug)]
struct RootCauseTable {
    model: Arc<LoadedModel>,
    log_parser: Arc<LogParser>,
    /// The incident's windows: `(window_start, service, span_callees, row)`.
    windows: LogicalPlan,
    /// The service whose symptom is explained, if given.
    target: Option<String>,
    /// The feature family the symptom shows on, if given.
    symptom: Option<String>,
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("rank", DataType::Int64, false),
        Field::new("service", DataType::Utf8, false),
        Field::new("score", DataType::Float64, false),
        Field::new("evidence", DataType::Utf8, false),
        Field::new("explained_by", DataType::Utf8, true),
        Field::new(
            "window_start",
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            true,
        ),
    ]))
}

/// The call-graph edges `(service, callee)` of a batch of windows: column 1 the service,
/// column 2 `span_callees` (a list of `{service, calls}`).
fn callees(
    batch: &RecordBatch,
    out: &mut std::collections::BTreeSet<(String, String)>,
) -> Result<()> {
    let services = datafusion::arrow::compute::cast(batch.column(1), &DataType::Utf8)?;
    let services = services.as_string::<i32>();
    let Some(list) = batch.column(2).as_list_opt::<i32>() else {
        return Ok(());
    };
    let Some(items) = list.values().as_struct_opt() else {
        return Ok(());
    };
    let callee = datafusion::arrow::compute::cast(items.column(0), &DataType::Utf8)?;
    let callee = callee.as_string::<i32>();
    let offsets = list.value_offsets();
    for i in 0..batch.num_rows() {
        if services.is_null(i) || list.is_null(i) {
            continue;
        }
        for j in offsets[i] as usize..offsets[i + 1] as usize {
            if callee.is_valid(j) {
                out.insert((services.value(i).to_string(), callee.value(j).to_string()));
            }
        }
    }
    Ok(())
}

async fn run(state: &dyn Session, plan: &LogicalPlan) -> Result<Vec<RecordBatch>> {
    let physical = state.create_physical_plan(plan).await?;
    collect(physical, state.task_ctx()).await
}

#[async_trait]
impl TableProvider for RootCauseTable {
    fn schema(&self) -> SchemaRef {
        schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let mut edges: std::collections::BTreeSet<(String, String)> = Default::default();
        let mut rows: Vec<(Option<i64>, Window)> = Vec::new();
        for batch in run(state, &self.windows).await? {
            callees(&batch, &mut edges)?;
            let starts = datafusion::arrow::compute::cast(
                batch.column(0),
                &DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            )?;
            let starts = starts.as_primitive::<TimestampNanosecondType>();
            let row = batch.column(3).as_struct();
            let windows = super::windows(NAME, row.fields(), row.columns())?;
            rows.extend(
                windows
                    .into_iter()
                    .enumerate()
                    .map(|(i, w)| (starts.is_valid(i).then(|| starts.value(i)), w)),
            );
        }
        let model = &self.model.model;
        // With a symptom: the way the target deviates in its worst window (up or down).
        let direction = match (&self.symptom, &self.target) {
            (Some(symptom), Some(target)) => rows
                .iter()
                .filter(|(_, w)| &w.service == target)
                .filter_map(|(_, w)| model.score_symptom(w, symptom, None))
                .max_by(|a, b| a.raw.total_cmp(&b.raw))
                .map(|s| (s.top_value - s.top_median).signum())
                .filter(|d| *d != 0.0 && d.is_finite()),
            _ => None,
        };
        // Per service, its worst window: (raw, score, its score or why it has none,
        // window_start).
        type Worst = (f64, f64, std::result::Result<Score, String>, Option<i64>);
        let mut worst: BTreeMap<String, Worst> = BTreeMap::new();
        for (start, w) in &rows {
            let scored = match &self.symptom {
                Some(symptom) => model.score_symptom(w, symptom, direction),
                None => model.score(w),
            };
            let Some(scored) = scored else {
                // No data, or nothing measuring the symptom: the service still ranks, with
                // score 0 (below every scored window), when no window of it scores.
                if !w.is_empty() && !worst.contains_key(&w.service) {
                    let what = self.symptom.as_deref().unwrap_or("any feature");
                    worst.insert(
                        w.service.clone(),
                        (-1.0, 0.0, Err(format!("no window measures {what}")), None),
                    );
                }
                continue;
            };
            let entry = (scored.raw, scored.score, Ok(scored), *start);
            // The worst window; of equally bad ones the earliest, whatever the batch order.
            let worse = |w: &Worst| entry.0 > w.0 || entry.0 == w.0 && entry.3 < w.3;
            match worst.get_mut(&w.service) {
                Some(w) if !worse(w) => {}
                Some(w) => *w = entry,
                None => {
                    worst.insert(w.service.clone(), entry);
                }
            }
        }
        edges.extend(
            self.model
                .model
                .call_graph()
                .map(|(a, b)| (a.to_string(), b.to_string())),
        );
        let edges: Vec<(String, String)> = edges.into_iter().collect();
        let mut starts = BTreeMap::new();
        let templates = template_texts(
            &self.log_parser,
            worst.values().filter_map(|w| w.2.as_ref().ok()),
        );
        let candidates: Vec<Candidate> = worst
            .into_iter()
            .map(|(service, (raw, score, scored, start))| {
                starts.insert(service.clone(), start);
                Candidate {
                    service,
                    score,
                    raw,
                    evidence: scored.map_or_else(|why| why, |s| evidence(&s, &templates)),
                }
            })
            .collect();
        let ranked = rca::rank_for(
            candidates,
            &edges,
            self.model.model.options.anomalous,
            self.target.as_deref(),
        );
        let Ok(ranks) = ranked
            .iter()
            .map(|r| i64::try_from(r.rank))
            .collect::<Result<Int64Array, _>>()
        else {
            return exec_err!("{NAME}: too many services");
        };
        let batch = RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(ranks),
                Arc::new(
                    ranked
                        .iter()
                        .map(|r| Some(r.candidate.service.as_str()))
                        .collect::<StringArray>(),
                ),
                Arc::new(
                    ranked
                        .iter()
                        .map(|r| Some(r.candidate.score))
                        .collect::<datafusion::arrow::array::Float64Array>(),
                ),
                Arc::new(
                    ranked
                        .iter()
                        .map(|r| Some(r.candidate.evidence.as_str()))
                        .collect::<StringArray>(),
                ),
                Arc::new(
                    ranked
                        .iter()
                        .map(|r| r.explained_by.as_deref())
                        .collect::<StringArray>(),
                ),
                Arc::new(
                    TimestampNanosecondArray::from(
                        ranked
                            .iter()
                            .map(|r| starts[&r.candidate.service])
                            .collect::<Vec<_>>(),
                    )
                    .with_timezone("UTC"),
                ),
            ],
        )?;
        Ok(MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            schema(),
            projection.cloned(),
        )?)
    }
}
