//! Detection functions: scores, explanations and root causes from a fitted baseline model
//! (`CREATE MODEL … KIND baseline`, see `sigfuse_models::baseline`).
//!
//! | function | NULLs | edge cases | cost |
//! |---|---|---|---|
//! | [`anomaly_score`] | a window with no modality → NULL; NULL feature columns → that modality absent | columns are matched by name (`service` required, others as `signal_windows` names them); unknown model → error naming `SHOW MODELS` | one map lookup per feature |
//! | [`modality_weights`] | as `anomaly_score` (a NULL struct) | weights of absent modalities NULL | as `anomaly_score` |
//! | [`detect_anomalies`] | windows without data are not listed | the model's window width; `[since, until)` | `signal_windows` over the range, then one score per row |
//! | [`root_cause`] | services without data are not ranked | no spans in the range → no call graph, ranked by score alone | as `detect_anomalies`, plus one self-join of the range's spans for the call graph |
//!
//! The functions read a model from [`Detectors`], which the engine fills from the lake's
//! `_models/` (the version each model's `ALTER MODEL … SET VERSION` chose, else the newest);
//! they never read labels or files.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF};
use sigfuse_models::baseline::{Baseline, Modality, Score, TEMPLATE_PREFIX, Window};

use crate::logs::LogParser;

pub mod anomaly_score;
pub mod detect_anomalies;
pub mod modality_weights;
pub mod root_cause;

/// The `signal_windows` columns the detectors read, in the order the table functions pass them.
pub const FEATURE_COLUMNS: [&str; 26] = [
    "service",
    "log_lines",
    "log_trace",
    "log_debug",
    "log_info",
    "log_warn",
    "log_error",
    "log_fatal",
    "log_templates",
    "log_templates_distinct",
    "spans",
    "span_errors",
    "error_ratio",
    "latency_mean_ms",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "span_inbound_gap_ms",
    "span_callees",
    "span_operations",
    "metric_samples",
    "metrics",
    "host_metrics",
    "events",
    "event_kinds",
    "event_change_recency",
];

/// A loaded model.
#[derive(Debug)]
pub struct LoadedModel {
    pub name: String,
    pub version: u64,
    pub model: Baseline,
}

/// The baseline models a session's functions may use, by name: filled and switched by the
/// engine (`CREATE`, `ALTER … SET VERSION`, `DROP MODEL`).
#[derive(Debug, Default)]
pub struct Detectors {
    models: RwLock<BTreeMap<String, Arc<LoadedModel>>>,
}

impl Detectors {
    pub fn set(&self, name: &str, version: u64, model: Baseline) {
        let loaded = Arc::new(LoadedModel {
            name: name.to_string(),
            version,
            model,
        });
        self.models
            .write()
            .expect("detector lock")
            .insert(name.to_string(), loaded);
    }

    /// Replaces every model by `models` (the lake's baseline models as loaded now).
    pub fn replace_all(&self, models: Vec<(String, u64, Baseline)>) {
        let mut map = self.models.write().expect("detector lock");
        map.clear();
        for (name, version, model) in models {
            let loaded = Arc::new(LoadedModel {
                name: name.clone(),
                version,
                model,
            });
            map.insert(name, loaded);
        }
    }

    /// The model named `name`; a planning error naming the known ones otherwise.
    pub fn get(&self, who: &str, name: &str) -> Result<Arc<LoadedModel>> {
        let models = self.models.read().expect("detector lock");
        match models.get(name) {
            Some(m) => Ok(Arc::clone(m)),
            None => {
                let known: Vec<&str> = models.keys().map(String::as_str).collect();
                plan_err!(
                    "{who}: model '{name}' does not exist as a baseline model (known: {}); SHOW MODELS lists the lake's models, CREATE MODEL {name} KIND baseline AS SELECT * FROM signal_windows(…) makes one",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )
            }
        }
    }
}

/// The scalar functions of this family.
pub fn functions(models: &crate::ModelHandles) -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::new_from_impl(anomaly_score::AnomalyScore::new(
            Arc::clone(&models.detectors),
        ))),
        Arc::new(ScalarUDF::new_from_impl(
            modality_weights::ModalityWeights::new(
                Arc::clone(&models.detectors),
                Arc::clone(&models.log_parser),
            ),
        )),
    ]
}

/// The model name: a non-NULL text literal.
pub(crate) fn model_name(who: &str, v: Option<&ScalarValue>) -> Result<String> {
    match v {
        Some(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s)),
        ) => Ok(s.clone()),
        Some(other) => plan_err!("{who}: the model must be a non-NULL text literal, got {other}"),
        None => plan_err!("{who}: the model must be a text literal, got an expression"),
    }
}

/// How one argument column becomes features.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ColumnRole {
    Service,
    Ignored,
    /// A count of samples: marks the modality present, is no feature.
    Presence(Modality),
    Number(Modality),
    /// A list of `{label, values…}` structs: per element and per [`Value`], one feature
    /// `prefix:<label>suffix`.
    Labeled(Modality, &'static Spec),
}

/// Which values of a labeled list's structs become features.
#[derive(Debug, PartialEq)]
struct Spec {
    values: &'static [Value],
    /// Only elements whose field is at least this (an operation's statistics only once it
    /// served enough spans in the window for a p95 and an error ratio to mean something).
    at_least: Option<(&'static str, f64)>,
}

/// Spans an operation serves in a window before its p95 and error ratio are features: with
/// fewer, one slow or failed call moves them wholesale (measured on Nezha: without the floor
/// rarely called operations outranked the faulty service).
const MIN_OPERATION_SPANS: f64 = 10.0;

/// One value of a labeled list's structs that becomes a feature.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Value {
    /// The struct field, or `None` for its first numeric field.
    field: Option<&'static str>,
    prefix: &'static str,
    suffix: &'static str,
}

const fn first_numeric(prefix: &'static str) -> Value {
    Value {
        field: None,
        prefix,
        suffix: "",
    }
}

const fn every(values: &'static [Value]) -> Spec {
    Spec {
        values,
        at_least: None,
    }
}

const METRICS: &Spec = &every(&[first_numeric("metric")]);
const HOST_METRICS: &Spec = &every(&[first_numeric("host")]);
const EVENT_KINDS: &Spec = &every(&[first_numeric("event")]);
const SPAN_CALLEES: &Spec = &every(&[first_numeric("calls")]);
const LOG_TEMPLATES: &Spec = &every(&[first_numeric("template")]);
const SPAN_OPERATIONS: &Spec = &Spec {
    values: &[
        Value {
            field: Some("p95_ms"),
            prefix: "op",
            suffix: ".p95_ms",
        },
        Value {
            field: Some("error_ratio"),
            prefix: "op",
            suffix: ".error_ratio",
        },
    ],
    at_least: Some(("spans", MIN_OPERATION_SPANS)),
};

fn is_number(t: &DataType) -> bool {
    t.is_numeric() || matches!(t, DataType::Null)
}

fn role(who: &str, field: &FieldRef) -> Result<ColumnRole> {
    let name = field.name().as_str();
    let t = field.data_type();
    let lower = name.to_ascii_lowercase();
    let role = match lower.as_str() {
        "service" => ColumnRole::Service,
        "window_start" | "window_end" => ColumnRole::Ignored,
        "metric_samples" => ColumnRole::Presence(Modality::Metrics),
        "metrics" => ColumnRole::Labeled(Modality::Metrics, METRICS),
        "host_metrics" => ColumnRole::Labeled(Modality::Metrics, HOST_METRICS),
        "event_kinds" => ColumnRole::Labeled(Modality::Events, EVENT_KINDS),
        "span_callees" => ColumnRole::Labeled(Modality::Spans, SPAN_CALLEES),
        "span_operations" => ColumnRole::Labeled(Modality::Spans, SPAN_OPERATIONS),
        "log_templates" => ColumnRole::Labeled(Modality::Logs, LOG_TEMPLATES),
        _ => match Modality::of_column(&lower) {
            Some(m) if is_number(t) => ColumnRole::Number(m),
            Some(_) => {
                return plan_err!("{who}: column {name} must be numeric to be a feature, got {t}");
            }
            None => {
                return plan_err!(
                    "{who}: column {name} is not a signal_windows feature (pass service and columns named log_*, span*, latency_*, error_ratio, metric*, event*)"
                );
            }
        },
    };
    if let ColumnRole::Labeled(..) = role
        && !matches!(
            t,
            DataType::List(_) | DataType::LargeList(_) | DataType::Null
        )
    {
        return plan_err!("{who}: column {name} must be the list signal_windows gives, got {t}");
    }
    Ok(role)
}

/// Checks the arguments `(model, row)` while planning: `row` a struct of named columns.
pub(crate) fn check_args(
    who: &str,
    args: &datafusion::logical_expr::ReturnFieldArgs,
) -> Result<String> {
    if args.arg_fields.len() != 2 {
        return plan_err!(
            "{who}: expected (model, row) with row a struct of the window's columns by name, e.g. {who}('ops', named_struct('service', service, 'spans', spans, 'metrics', metrics, …)); got {} arguments",
            args.arg_fields.len()
        );
    }
    let name = model_name(who, args.scalar_arguments[0])?;
    let DataType::Struct(fields) = args.arg_fields[1].data_type() else {
        return plan_err!(
            "{who}: the second argument must be a struct of the window's columns by name (named_struct('service', service, …)), got {}",
            args.arg_fields[1].data_type()
        );
    };
    check_columns(who, fields)?;
    Ok(name)
}

/// Checks the columns of a row struct.
fn check_columns(who: &str, fields: &[FieldRef]) -> Result<()> {
    let roles = fields
        .iter()
        .map(|f| role(who, f))
        .collect::<Result<Vec<_>>>()?;
    if !roles.contains(&ColumnRole::Service) {
        return plan_err!(
            "{who}: pass the service column (scores are per service), e.g. {who}('model', service, log_lines, spans, metrics, …)"
        );
    }
    Ok(())
}

/// The features of `rows` rows from named columns (a query's output or a function's row
/// struct), as `CREATE MODEL … KIND baseline` and the scoring functions read them.
pub fn windows(who: &str, fields: &[FieldRef], columns: &[ArrayRef]) -> Result<Vec<Window>> {
    let rows = columns.first().map_or(0, |c| c.len());
    let mut out: Vec<Window> = (0..rows).map(|_| Window::new("")).collect();
    for (field, column) in fields.iter().zip(columns) {
        let name = field.name();
        match role(who, field)? {
            ColumnRole::Ignored => {}
            ColumnRole::Service => {
                let s = cast(column, &DataType::Utf8)?;
                let s: &StringArray = s.as_string();
                for (i, w) in out.iter_mut().enumerate() {
                    if s.is_valid(i) {
                        w.service = s.value(i).to_string();
                    }
                }
            }
            ColumnRole::Presence(m) => {
                for (i, w) in out.iter_mut().enumerate() {
                    if column.is_valid(i) {
                        w.mark_present(m);
                    }
                }
            }
            ColumnRole::Number(m) => {
                let name = name.to_ascii_lowercase();
                let v = cast(column, &DataType::Float64)?;
                let v = v.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
                for (i, w) in out.iter_mut().enumerate() {
                    if v.is_valid(i) {
                        w.add(m, name.as_str(), v.value(i));
                    }
                }
            }
            ColumnRole::Labeled(m, spec) => labeled(who, name, column, m, spec, &mut out)?,
        }
    }
    Ok(out)
}

/// `metrics`, `event_kinds`, `span_operations`, `log_templates`, …: lists of structs whose
/// first text field is the label (else the first field: a template id) and whose `values` (a
/// named field, or the first numeric one other than the label: the `mean` of a metric, the
/// `count` of an event kind, the `lines` of a template) are features.
fn labeled(
    who: &str,
    name: &str,
    column: &ArrayRef,
    m: Modality,
    spec: &Spec,
    out: &mut [Window],
) -> Result<()> {
    let column = match column.data_type() {
        DataType::Null => return Ok(()),
        DataType::LargeList(f) => cast(column, &DataType::List(Arc::clone(f)))?,
        _ => Arc::clone(column),
    };
    let list = column.as_list::<i32>();
    let Some(items) = list.values().as_struct_opt() else {
        return exec_err!("{who}: column {name} must be a list of structs");
    };
    let fields = items.fields();
    let label = fields
        .iter()
        .position(|f| {
            matches!(
                f.data_type(),
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
            )
        })
        .or((!fields.is_empty()).then_some(0));
    let Some(label) = label else {
        return exec_err!("{who}: column {name} must hold structs with a label");
    };
    let labels = cast(items.column(label), &DataType::Utf8)?;
    let labels: &StringArray = labels.as_string();
    let numeric = |f: &str| -> Result<ArrayRef> {
        match fields
            .iter()
            .position(|x| x.name() == f && x.data_type().is_numeric())
        {
            Some(at) => Ok(cast(items.column(at), &DataType::Float64)?),
            None => exec_err!("{who}: column {name} must hold structs with a numeric {f} field"),
        }
    };
    let at_least = spec
        .at_least
        .map(|(f, min)| Ok::<_, datafusion::error::DataFusionError>((numeric(f)?, min)))
        .transpose()?;
    let mut columns = Vec::with_capacity(spec.values.len());
    for v in spec.values {
        let at = match v.field {
            Some(f) => fields
                .iter()
                .position(|x| x.name() == f && x.data_type().is_numeric()),
            None => fields
                .iter()
                .enumerate()
                .position(|(i, f)| i != label && f.data_type().is_numeric()),
        };
        let Some(at) = at else {
            let what = v.field.unwrap_or("numeric value");
            return exec_err!("{who}: column {name} must hold structs with a {what} field");
        };
        let c = cast(items.column(at), &DataType::Float64)?;
        columns.push((v, c));
    }
    let offsets = list.value_offsets();
    for (i, w) in out.iter_mut().enumerate() {
        if list.is_null(i) {
            continue;
        }
        w.mark_present(m);
        for j in offsets[i] as usize..offsets[i + 1] as usize {
            if !labels.is_valid(j) {
                continue;
            }
            if let Some((c, min)) = &at_least {
                let c = c.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
                if c.is_null(j) || c.value(j) < *min {
                    continue;
                }
            }
            for (v, c) in &columns {
                let c = c.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
                if c.is_valid(j) {
                    let feature = format!("{}:{}{}", v.prefix, labels.value(j), v.suffix);
                    w.add(m, feature, c.value(j));
                }
            }
        }
    }
    Ok(())
}

/// Scores the rows of a scalar call `f(model, columns…)`.
pub(crate) fn score_args(
    who: &str,
    detectors: &Detectors,
    args: &datafusion::logical_expr::ScalarFunctionArgs,
) -> Result<Vec<Option<Score>>> {
    let model = match args.args.first() {
        Some(ColumnarValue::Scalar(s)) => model_name(who, Some(s))?,
        _ => return exec_err!("{who}: the model must be a text literal, got an expression"),
    };
    let model = detectors.get(who, &model)?;
    let Some(row) = args.args.get(1) else {
        return exec_err!("{who}: expected (model, row)");
    };
    let row = row.to_array(args.number_rows)?;
    let Some(row) = row.as_struct_opt() else {
        return exec_err!("{who}: the row must be a struct, got {}", row.data_type());
    };
    let mut rows = windows(who, row.fields(), row.columns())?;
    for (i, w) in rows.iter_mut().enumerate() {
        if row.is_null(i) {
            *w = Window::new("");
        }
    }
    Ok(rows.iter().map(|w| model.model.score(w)).collect())
}

/// The arguments of the detection table functions: the model, the incident's bounds (as SQL
/// text, handed on to `signal_windows`, which checks them) and the optional text arguments.
pub(crate) struct Incident {
    pub model: Arc<LoadedModel>,
    pub since: String,
    pub until: String,
    /// One per name of `optional`, `None` when not given or NULL.
    pub optional: Vec<Option<String>>,
}

/// Reads `(model, since, until [, optional…])`; `optional` names the optional text arguments
/// (for messages).
pub(crate) fn incident_args(
    who: &str,
    detectors: &Detectors,
    args: &datafusion::catalog::TableFunctionArgs,
    optional: &[&str],
) -> Result<Incident> {
    let exprs = args.exprs();
    let expected = format!(
        "(model, since, until{})",
        optional
            .iter()
            .map(|o| format!(" [, {o}"))
            .chain(optional.iter().map(|_| "]".to_string()))
            .collect::<String>()
    );
    if !(3..=3 + optional.len()).contains(&exprs.len()) {
        return plan_err!("{who}: expected {expected}, got {} arguments", exprs.len());
    }
    let session = args.session();
    let constant = |e: &datafusion::logical_expr::Expr| {
        crate::time::evaluate_constant(
            &session.create_physical_expr(e.clone(), &datafusion::common::DFSchema::empty())?,
        )
    };
    let model = constant(&exprs[0])?;
    let model = detectors.get(who, &model_name(who, Some(&model))?)?;
    let optional = optional
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let Some(e) = exprs.get(3 + i) else {
                return Ok(None);
            };
            let v = constant(e)?;
            if v.is_null() {
                return Ok(None);
            }
            match v.try_as_str() {
                Some(s) => Ok(s.map(str::to_string)),
                None => plan_err!("{who}: the {name} must be text, got {v}"),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let bound = |e: &datafusion::logical_expr::Expr| -> Result<String> {
        Ok(datafusion::sql::unparser::expr_to_sql(e)?.to_string())
    };
    Ok(Incident {
        model,
        since: bound(&exprs[1])?,
        until: bound(&exprs[2])?,
        optional,
    })
}

/// Every window of `[since, until)` with data: `(window_start, service, span_callees, row)`
/// with `row` the struct of the [`FEATURE_COLUMNS`] the detectors read.
pub(crate) fn feature_rows_sql(model: &LoadedModel, since: &str, until: &str) -> String {
    let ns = model.model.options.window_ns;
    let width = format!(
        "INTERVAL '{}.{:09} seconds'",
        ns / 1_000_000_000,
        ns % 1_000_000_000
    );
    format!(
        "SELECT window_start, service, span_callees, named_struct({columns}) AS row \
         FROM signal_windows({width}, {width}, {since}, {until})",
        columns = FEATURE_COLUMNS
            .iter()
            .map(|c| format!("'{c}', {c}"))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// Every scored window of `[since, until)`: `(window_start, service, w, span_callees)` with `w`
/// the struct of `modality_weights`, windows without data left out.
pub(crate) fn scored_windows_sql(model: &LoadedModel, since: &str, until: &str) -> String {
    format!(
        "SELECT window_start, service, w, span_callees FROM (SELECT window_start, service, \
         span_callees, modality_weights('{name}', row) AS w FROM ({rows})) WHERE w IS NOT NULL",
        name = model.name.replace('\'', "''"),
        rows = feature_rows_sql(model, since, until),
    )
}

/// Plans `sql` in the calling session (only the in-memory catalog is read: nothing waits on
/// I/O).
pub(crate) fn plan_sql(
    who: &str,
    session: &dyn datafusion::catalog::Session,
    sql: &str,
) -> Result<datafusion::logical_expr::LogicalPlan> {
    let Some(state) = session
        .as_any()
        .downcast_ref::<datafusion::execution::SessionState>()
    else {
        return plan_err!("{who}: needs a full DataFusion session");
    };
    crate::time::ready(who, state.create_logical_plan(sql))?
}

/// Longest template text quoted in evidence, in characters.
const EVIDENCE_TEMPLATE_CHARS: usize = 120;

/// The log template id a feature names (`template:<id>`, the id as `log_template_id` gives it).
fn template_id(feature: &str) -> Option<u64> {
    let id: i64 = feature.strip_prefix(TEMPLATE_PREFIX)?.parse().ok()?;
    Some(id as u64)
}

/// The text of the log templates that drove `scores`, by id, from `parser`: for [`evidence`].
pub fn template_texts<'a>(
    parser: &LogParser,
    scores: impl IntoIterator<Item = &'a Score>,
) -> HashMap<u64, String> {
    let ids: HashSet<u64> = scores
        .into_iter()
        .filter_map(|s| template_id(&s.top_feature))
        .collect();
    parser.template_texts(&ids)
}

/// `metrics: metric:cpu = 95.2 (median 12.1)`: what drove a score. A log template is quoted
/// after its id when `templates` (see [`template_texts`]) knows it: `logs: template:-42
/// "out of memory <*>" = 1 (median unseen)`.
pub fn evidence(s: &Score, templates: &HashMap<u64, String>) -> String {
    if s.top_feature.is_empty() {
        return format!("{}: present, no features", s.top_modality.name());
    }
    let text = match template_id(&s.top_feature).and_then(|id| templates.get(&id)) {
        Some(t) if t.chars().count() > EVIDENCE_TEMPLATE_CHARS => {
            let cut: String = t.chars().take(EVIDENCE_TEMPLATE_CHARS).collect();
            format!(" \"{cut}…\"")
        }
        Some(t) => format!(" \"{t}\""),
        None => String::new(),
    };
    format!(
        "{}: {}{text} = {} (median {})",
        s.top_modality.name(),
        s.top_feature,
        round(s.top_value),
        round(s.top_median)
    )
}

fn round(x: f64) -> String {
    if x.is_nan() {
        return "unseen".to_string();
    }
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use datafusion::arrow::array::{Float64Array, Int64Array};
    use datafusion::arrow::datatypes::Field;
    use sigfuse_models::baseline::Options;

    pub(crate) fn field(name: &str, t: DataType) -> FieldRef {
        Arc::new(Field::new(name, t, true))
    }

    /// `(model, row)` call arguments for the rows of `columns`.
    pub(crate) fn call_args(
        model: &str,
        columns: Vec<(FieldRef, ArrayRef)>,
        return_field: FieldRef,
    ) -> datafusion::logical_expr::ScalarFunctionArgs {
        let n = columns[0].1.len();
        let row = datafusion::arrow::array::StructArray::from(columns);
        datafusion::logical_expr::ScalarFunctionArgs {
            arg_fields: vec![
                field("model", DataType::Utf8),
                field("row", row.data_type().clone()),
            ],
            args: vec![
                ColumnarValue::Scalar(ScalarValue::from(model)),
                ColumnarValue::Array(Arc::new(row)),
            ],
            number_rows: n,
            return_field,
            config_options: Arc::new(datafusion::common::config::ConfigOptions::default()),
        }
    }

    /// A model of two services, `api` (cpu ≈ 50) and `db` (cpu ≈ 10), with spans.
    pub(crate) fn detectors() -> Arc<Detectors> {
        let windows: Vec<Window> = (0..100)
            .flat_map(|i| {
                let j = f64::from(i % 5) - 2.0;
                ["api", "db"].map(|s| {
                    let mut w = Window::new(s);
                    let base = if s == "api" { 50.0 } else { 10.0 };
                    w.add(Modality::Metrics, "metric:cpu", base + j);
                    w.add(Modality::Spans, "spans", 100.0 + j);
                    w
                })
            })
            .collect();
        let (m, _) = Baseline::fit(Options::default(), &windows).unwrap();
        let d = Arc::new(Detectors::default());
        d.set("ops", 1, m);
        d
    }

    #[test]
    fn columns_are_checked_by_name() {
        let ok = [
            field("service", DataType::Utf8),
            field("spans", DataType::Int64),
            field("window_start", DataType::Utf8),
        ];
        check_columns("f", &ok).unwrap();
        let no_service = [field("spans", DataType::Int64)];
        assert!(
            check_columns("f", &no_service)
                .unwrap_err()
                .to_string()
                .contains("pass the service column")
        );
        let unknown = [
            field("service", DataType::Utf8),
            field("x", DataType::Int64),
        ];
        assert!(
            check_columns("f", &unknown)
                .unwrap_err()
                .to_string()
                .contains("column x is not a signal_windows feature")
        );
        let text = [
            field("service", DataType::Utf8),
            field("spans", DataType::Utf8),
        ];
        assert!(check_columns("f", &text).is_err());
    }

    #[test]
    fn log_templates_become_labeled_log_features_and_their_count_a_number() {
        use datafusion::arrow::array::{ListArray, StructArray};
        use datafusion::arrow::buffer::OffsetBuffer;
        use datafusion::arrow::datatypes::Fields;
        let item = Fields::from(vec![
            Field::new("template_id", DataType::Int64, true),
            Field::new("lines", DataType::Int64, true),
        ]);
        let items = StructArray::new(
            item.clone(),
            vec![
                Arc::new(Int64Array::from(vec![-7, 42])),
                Arc::new(Int64Array::from(vec![3, 1])),
            ],
            None,
        );
        let item_field = Arc::new(Field::new("item", DataType::Struct(item), true));
        // Row 0: two templates; row 1: no logs (NULL list and count).
        let list = ListArray::new(
            Arc::clone(&item_field),
            OffsetBuffer::new(vec![0, 2, 2].into()),
            Arc::new(items),
            Some(vec![true, false].into()),
        );
        let fields = [
            field("service", DataType::Utf8),
            field("log_templates", list.data_type().clone()),
            field("log_templates_distinct", DataType::Int64),
        ];
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["a", "a"])),
            Arc::new(list),
            Arc::new(Int64Array::from(vec![Some(2), None])),
        ];
        check_columns("f", &fields).unwrap();
        let w = windows("f", &fields, &columns).unwrap();
        let features: Vec<(Modality, &str, f64)> = w[0]
            .features
            .iter()
            .map(|(m, f, v)| (*m, f.as_str(), *v))
            .collect();
        assert_eq!(
            features,
            [
                (Modality::Logs, "template:-7", 3.0),
                (Modality::Logs, "template:42", 1.0),
                (Modality::Logs, "log_templates_distinct", 2.0),
            ]
        );
        assert!(w[0].present[Modality::Logs as usize]);
        assert!(w[1].is_empty());
        // The column is the one signal_windows gives: a list, not a number.
        let wrong = [
            field("service", DataType::Utf8),
            field("log_templates", DataType::Int64),
        ];
        assert!(
            check_columns("f", &wrong)
                .unwrap_err()
                .to_string()
                .contains("column log_templates must be the list signal_windows gives")
        );
        assert_eq!(
            FEATURE_COLUMNS[8..10],
            ["log_templates", "log_templates_distinct"]
        );
    }

    #[test]
    fn columns_become_windows_with_presence() {
        let fields = [
            field("service", DataType::Utf8),
            field("spans", DataType::Int64),
            field("latency_p95_ms", DataType::Float64),
        ];
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![Some("a"), None])),
            Arc::new(Int64Array::from(vec![Some(3), None])),
            Arc::new(Float64Array::from(vec![Some(1.5), None])),
        ];
        let w = windows("f", &fields, &columns).unwrap();
        assert_eq!(w[0].service, "a");
        assert_eq!(w[0].features.len(), 2);
        assert!(w[0].present[Modality::Spans as usize]);
        assert!(w[1].is_empty());
        assert!(
            detectors()
                .get("f", "nope")
                .unwrap_err()
                .to_string()
                .contains("known: ops")
        );
    }

    #[test]
    fn operation_lists_give_features_per_named_value_for_busy_operations() {
        use datafusion::arrow::array::{ListArray, StructArray};
        use datafusion::arrow::buffer::OffsetBuffer;
        use datafusion::arrow::datatypes::Fields;
        let items = StructArray::new(
            Fields::from(vec![
                Field::new("operation", DataType::Utf8, true),
                Field::new("spans", DataType::Int64, true),
                Field::new("error_ratio", DataType::Float64, true),
                Field::new("p95_ms", DataType::Float64, true),
            ]),
            vec![
                Arc::new(StringArray::from(vec!["GET /a", "GET /b"])),
                Arc::new(Int64Array::from(vec![40, 3])),
                Arc::new(Float64Array::from(vec![Some(0.25), None])),
                Arc::new(Float64Array::from(vec![12.0, 30.0])),
            ],
            None,
        );
        let item_field = Arc::new(Field::new("item", items.data_type().clone(), true));
        let list = ListArray::new(
            Arc::clone(&item_field),
            OffsetBuffer::from_lengths([2, 0]),
            Arc::new(items),
            Some(vec![true, false].into()),
        );
        let fields = [
            field("service", DataType::Utf8),
            field("span_operations", DataType::List(item_field)),
        ];
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["api", "api"])),
            Arc::new(list),
        ];
        let w = windows("f", &fields, &columns).unwrap();
        let names: Vec<(&str, f64)> = w[0]
            .features
            .iter()
            .map(|(_, f, v)| (f.as_str(), *v))
            .collect();
        // GET /b served 3 spans: too few for its p95 and error ratio to be features.
        assert_eq!(
            names,
            [("op:GET /a.p95_ms", 12.0), ("op:GET /a.error_ratio", 0.25)]
        );
        assert!(w[0].present[Modality::Spans as usize]);
        assert!(w[1].is_empty());
    }

    #[test]
    fn evidence_quotes_a_known_template_cut_to_length() {
        let score = |feature: &str| Score {
            score: 1.0,
            raw: 3.0,
            confidence: 1.0,
            weights: [Some(1.0), None, None, None],
            top_modality: Modality::Logs,
            top_feature: feature.to_string(),
            top_value: 2.0,
            top_median: f64::NAN,
        };
        let parser = LogParser::online();
        let id = |body: &str| {
            let bodies: ArrayRef = Arc::new(StringArray::from(vec![body]));
            let services: ArrayRef = Arc::new(StringArray::from(vec!["db"]));
            let mut out = 0;
            parser.parse_rows(
                &crate::logs::parser::Texts::new("t", &bodies).unwrap(),
                Some(&crate::logs::parser::Texts::new("t", &services).unwrap()),
                false,
                |_, r| out = r.expect("a body").id,
            );
            out as i64
        };
        let short = id("out of memory");
        let long = id(&"x ".repeat(200));
        let scores = [
            score(&format!("template:{short}")),
            score(&format!("template:{long}")),
            score("template:12345"),
            score("log_lines"),
        ];
        let texts = template_texts(&parser, &scores);
        assert_eq!(texts.len(), 2);
        let got: Vec<String> = scores.iter().map(|s| evidence(s, &texts)).collect();
        assert_eq!(
            got[0],
            format!("logs: template:{short} \"out of memory\" = 2 (median unseen)")
        );
        let quoted = got[1].split('"').nth(1).unwrap();
        assert_eq!(quoted.chars().count(), EVIDENCE_TEMPLATE_CHARS + 1);
        assert!(quoted.ends_with('…'));
        assert_eq!(got[2], "logs: template:12345 = 2 (median unseen)");
        assert_eq!(got[3], "logs: log_lines = 2 (median unseen)");
    }
}
