//! `signal_windows(width [, slide [, since, until]])`: the four signal tables aligned into one
//! row per `(service, window_start)` — the input every model trains and scores on.
//!
//! The function builds one SQL query over the tables it was given (per-modality aggregates on
//! the window grid, then full outer joins on the window key). Its table builds, at the scan,
//! the form of that query with only the optional column groups (log templates, per-operation
//! spans, per-host metrics, change recency) that the query's columns and filters read, and
//! hands the projection, filters and limit to the optimizer: projections drop the modalities
//! a query does not read. Filters on the windows stop at the full joins that build them, so
//! the scan also turns those on `window_start`/`window_end` into the rows' time range (and
//! those on `service` into the services whose logs, metrics and events are read): time bounds
//! prune hour folders and row groups. The spans in range
//! are read once, into memory (a materialized CTE, `sigfuse_engine::materialized`), for the
//! span statistics and the parent–child join behind `span_callees`/`span_inbound_gap_ms`.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchema, Result, ScalarValue, plan_err};
use datafusion::execution::SessionState;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::expr::InList;
use datafusion::logical_expr::{
    Between, BinaryExpr, Documentation, Expr, LogicalPlan, LogicalPlanBuilder, Operator,
    TableProviderFilterPushDown, TableType,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_macros::user_doc;

use super::bucket::{DEFAULT_ORIGIN_NS, NANOS_PER_DAY, Width, timestamp_ns};

pub const NAME: &str = "signal_windows";

/// How far before a window's end `event_change_recency` looks for a change (1 hour, ns).
const CHANGE_LOOKBACK: i128 = 3_600_000_000_000;
/// Its decay time: a change this long before the window's end counts 1/e (10 minutes, ns).
const CHANGE_DECAY: i128 = 600_000_000_000;

/// A group of columns computed only when a scan reads one of them (in its select list or its
/// filters): each costs an aggregate or a join of its own, and mining a log template per line
/// costs more than all the rest of the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Templates,
    Operations,
    HostMetrics,
    ChangeRecency,
}

/// The optional columns, each with the part that computes it.
const OPTIONAL: [(&str, Part); 5] = [
    ("log_templates", Part::Templates),
    ("log_templates_distinct", Part::Templates),
    ("span_operations", Part::Operations),
    ("host_metrics", Part::HostMetrics),
    ("event_change_recency", Part::ChangeRecency),
];

/// The optional parts a form of the query computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts([bool; 4]);

impl Parts {
    /// Every column.
    pub const ALL: Self = Self([true; 4]);

    fn has(self, p: Part) -> bool {
        self.0[p as usize]
    }

    /// The parts that queries reading `columns` need.
    fn of<'a>(columns: impl IntoIterator<Item = &'a str>) -> Self {
        let mut out = [false; 4];
        for c in columns {
            if let Some((_, p)) = OPTIONAL.iter().find(|(n, _)| *n == c) {
                out[*p as usize] = true;
            }
        }
        Self(out)
    }
}

/// The severities that get their own log-count column, as the logs table spells them.
const SEVERITIES: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

#[user_doc(
    doc_section(label = "Time-window functions"),
    description = "Aligns logs, spans, metrics and events into one row per `(service, \
window_start)`: windows of `width`, starting every `slide` (default `width`; a smaller slide \
gives overlapping windows, and a row then counts in every window that holds it), on the \
`time_bucket` grid (origin Monday 2000-01-03 UTC), optionally limited to `[since, until)`. A \
modality without rows in a window has NULL (not 0) in all its columns. Columns: `service`, \
`window_start`, `window_end`; logs: `log_lines`, `log_trace`, `log_debug`, `log_info`, \
`log_warn`, `log_error`, `log_fatal` (lines per severity), `log_templates` (a list, by template \
id, of `{template_id, lines}`: the lines of each template, `template_id` as \
`log_template_id(body, service)` gives it, so the log-parser model in use, or the online miner, \
decides the templates), `log_templates_distinct` (how many templates); spans: `spans`, `span_errors` \
(status ERROR), `error_ratio`, `latency_mean_ms`, `latency_p50_ms`, `latency_p95_ms`, \
`latency_p99_ms` (exact quantiles of `duration_ns` with linear interpolation, as \
`percentile_cont`), `span_inbound_gap_ms` (median, over the calls other services made to this \
one, of the caller's span duration minus this service's child span duration: network and \
queueing time on the way in), `span_callees` (a list, by callee, of `{service, calls}`: the \
spans of other services whose parent span is one of this service's), `span_operations` (a \
list, by operation, of `{operation, spans, error_ratio, p95_ms}`); metrics: `metric_samples`, \
`metrics` (a list, by name, of `{name, mean, min, max, last, samples}` for each metric present), \
`host_metrics` (for the metrics that more than one host of the service reported in the window, \
a list of `{metric: '<host>/<name>', mean}`; NULL otherwise); events: `events`, `event_kinds` (a \
list, by kind, of `{kind, count}`), `event_change_recency` (how recent the service's last change \
is, any event but an `alert`: exp(−age / 10 minutes) with age from the change to the window's \
end, NULL when there was none in the hour before the window's end; the one column that looks \
before the window, so it can be set in a window without events). Rows whose service is NULL \
are kept per modality, unjoined. `log_templates`, `log_templates_distinct`, `span_operations`, \
`host_metrics` and `event_change_recency` are computed only when the query reads them (in its \
select list or its filters): the others cost nothing to a query that does not ask for them. \
The spans in `[since, until)` are held in memory while the query runs (read once for all the \
span columns; counted against the memory limit). Filters comparing `window_start` or \
`window_end` with constants (`=`, `<`, `>=`, `BETWEEN`, `IN`, under AND/OR) narrow the rows \
read to those the windows kept can hold, as `since`/`until` would (whole windows: a window \
keeps all its rows), and filters naming services (`service = …`, `IN`) narrow the logs, \
metrics and events read; spans are read for every service, since calls cross services.",
    syntax_example = "signal_windows(width [, slide [, since, until]])",
    sql_example = r#"```sql
> SELECT service, window_start, log_lines, log_error, spans, error_ratio, latency_p95_ms, events
  FROM signal_windows(INTERVAL '1 minute')
  WHERE window_start >= TIMESTAMP '2024-06-03 00:00:00' ORDER BY service, window_start;
```"#,
    argument(
        name = "width",
        description = "Window width: a positive fixed interval (no months)."
    ),
    argument(
        name = "slide",
        description = "Distance between window starts; at most `width`. Default `width`."
    ),
    argument(
        name = "since",
        description = "Only rows with `ts >= since` (a timestamp)."
    ),
    argument(
        name = "until",
        description = "Only rows with `ts < until` (a timestamp)."
    )
)]
#[derive(Debug)]
pub struct SignalWindows {
    /// SQL names of the logs, spans, metrics and events tables.
    tables: [String; 4],
    /// Output schema by call shape (sliding, `since` given, `until` given). A call needs the
    /// schema before the scan knows which columns are read; planning the whole query on every
    /// call only to learn it was done again at the scan for the columns read.
    schemas: Mutex<HashMap<(bool, bool, bool), SchemaRef>>,
}

impl SignalWindows {
    /// Over the four tables, given by their SQL names (logs, spans, metrics, events).
    pub fn new(tables: [String; 4]) -> Self {
        Self {
            tables,
            schemas: Mutex::default(),
        }
    }

    /// The function's documentation (table functions have no `documentation()` hook).
    pub fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn constant(session: &dyn datafusion::catalog::Session, e: &Expr) -> Result<ScalarValue> {
    super::evaluate_constant(&session.create_physical_expr(e.clone(), &DFSchema::empty())?)
}

fn fixed_width(what: &str, v: &ScalarValue) -> Result<i128> {
    let v = match v {
        ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => ScalarValue::Utf8(Some(
            s.clone(),
        ))
        .cast_to(&datafusion::arrow::datatypes::DataType::Interval(
            datafusion::arrow::datatypes::IntervalUnit::MonthDayNano,
        ))?,
        other => other.clone(),
    };
    match Width::from_interval(NAME, &v)? {
        Some(Width::Nanos(n)) => Ok(n),
        Some(Width::Months(_)) => {
            plan_err!("{NAME}: {what} must be a fixed interval (days, hours, …), not months")
        }
        None => plan_err!("{NAME}: {what} must not be NULL"),
    }
}

fn interval(ns: i128) -> String {
    let (days, rest) = (ns / NANOS_PER_DAY, ns % NANOS_PER_DAY);
    format!(
        "INTERVAL '{days} days {}.{:09} seconds'",
        rest / 1_000_000_000,
        rest % 1_000_000_000
    )
}

/// ` AND ts >= since AND ts < until`, for the bounds given.
fn ts_range(since: Option<i128>, until: Option<i128>) -> String {
    let mut out = String::new();
    if let Some(s) = since {
        let _ = write!(out, " AND ts >= {}", timestamp(s));
    }
    if let Some(u) = until {
        let _ = write!(out, " AND ts < {}", timestamp(u));
    }
    out
}

fn timestamp(ns: i128) -> String {
    format!("arrow_cast({ns}, 'Timestamp(Nanosecond, Some(\"UTC\"))')")
}

impl Query {
    /// The query behind this call (nanoseconds), with the optional columns of `parts` only,
    /// and (when `services` is given) the logs, metrics and events of those services only.
    fn sql(&self, parts: Parts) -> String {
        let (width, slide, since, until) = (self.width, self.slide, self.since, self.until);
        let services = self.services.as_ref();
        let [logs, spans, metrics, events] = &self.tables;
        let templates = parts.has(Part::Templates);
        let operations = parts.has(Part::Operations);
        let hosts = parts.has(Part::HostMetrics);
        let changes = parts.has(Part::ChangeRecency);
        let opt = |on: bool, text: &str| if on { text.to_string() } else { String::new() };
        let mut range = ts_range(since, until);
        // Changes are looked for up to CHANGE_LOOKBACK before `since`.
        let mut change_range = ts_range(since.map(|s| s - CHANGE_LOOKBACK), until);
        // Spans are read for every service: the calls behind span_callees and
        // span_inbound_gap_ms join a service's spans with other services'.
        let spans_range = range.clone();
        // The calls' parent spans: `sp` when it holds the call's rows, else the call's range.
        let parents = if (RowRange { since, until }) == self.call {
            "sp".to_string()
        } else {
            format!(
                "{spans} WHERE true{}",
                ts_range(self.call.since, self.call.until)
            )
        };
        if let Some(services) = services {
            let list: Vec<String> = services
                .iter()
                .map(|s| format!("'{}'", s.replace('\'', "''")))
                .collect();
            let only = if list.is_empty() {
                " AND false".to_string()
            } else {
                format!(" AND service IN ({})", list.join(", "))
            };
            range.push_str(&only);
            change_range.push_str(&only);
        }
        // Per change (an event of any kind but `alert`), the windows whose end lies after it
        // and at most CHANGE_LOOKBACK later: from the earliest window holding it on.
        let back = (width + slide - 1) / slide - 1;
        let change_windows = format!(
            "(SELECT service, ts, unnest(generate_series(time_bucket({slide}, ts) - {back_iv}, \
             time_bucket({slide}, ts) + {lookback}, {slide})) AS window_start \
             FROM {events} WHERE kind <> 'alert' AND service IS NOT NULL{change_range})",
            slide = interval(slide),
            back_iv = interval(back * slide),
            lookback = interval(CHANGE_LOOKBACK),
        );
        // Rows with their window start(s): one per window holding them. `extra` columns are
        // computed once per row, before a sliding window repeats it. `from` is a table and
        // its filter (`in_range`), or a CTE already filtered.
        let in_range = |table: &str| format!("{table} WHERE true{range}");
        let windowed = |from: &str, extra: &str| -> String {
            let step = format!("time_bucket({}, ts)", interval(slide));
            if slide == width {
                return format!("(SELECT *{extra}, {step} AS window_start FROM {from})");
            }
            let n = (width + slide - 1) / slide;
            let starts: Vec<String> = (0..n)
                .map(|k| format!("{step} - {}", interval(k * slide)))
                .collect();
            format!(
                "(SELECT * FROM (SELECT *, unnest(make_array({})) AS window_start FROM \
                 (SELECT *{extra} FROM {from})) WHERE ts < window_start + {})",
                starts.join(", "),
                interval(width)
            )
        };
        // With templates, the logs are aggregated once, by (service, window, template): the
        // severity counts are summed from those groups, and the template list is built from
        // them.
        let severities: Vec<String> = SEVERITIES
            .iter()
            .map(|s| {
                format!(
                    "count(*) FILTER (WHERE upper(severity) = '{s}') AS log_{}",
                    s.to_lowercase()
                )
            })
            .collect();
        let severity_sums: Vec<String> = SEVERITIES
            .iter()
            .map(|s| format!("sum(log_{0}) AS log_{0}", s.to_lowercase()))
            .collect();
        let logs_cte = if templates {
            format!(
                "lt AS (SELECT service, window_start, template_id, count(*) AS lines, {sev} \
                 FROM {lw} GROUP BY service, window_start, template_id), \
                 l AS (SELECT service, window_start, sum(lines) AS log_lines, {sevsum}, \
                 array_sort(array_agg(named_struct('template_id', template_id, 'lines', lines)) \
                 FILTER (WHERE template_id IS NOT NULL), 'ASC', 'NULLS LAST') AS log_templates, \
                 count(template_id) AS log_templates_distinct \
                 FROM lt GROUP BY service, window_start)",
                sev = severities.join(", "),
                sevsum = severity_sums.join(", "),
                lw = windowed(
                    &in_range(logs),
                    ", log_template_id(body, service) AS template_id"
                ),
            )
        } else {
            format!(
                "l AS (SELECT service, window_start, count(*) AS log_lines, {sev} \
                 FROM {lw} GROUP BY service, window_start)",
                sev = severities.join(", "),
                lw = windowed(&in_range(logs), ""),
            )
        };
        // Per (service, window, metric): with per-host means, first per host (`mh`) and then
        // over the hosts; without them straight from the rows, which skips an aggregation of
        // ~2.5x as many groups (q3 of benches/peers.sh: the metric aggregates' compute ~55 ->
        // ~15 ms, `perf stat` CPU of 15 runs 5.16-5.42 -> 4.62-4.90 s).
        let mw = windowed(&in_range(metrics), "");
        let sw = windowed("sp", "");
        let metrics_cte = if hosts {
            format!(
                "mh AS (SELECT service, window_start, name, host, sum(value) AS total, count(value) AS n, \
                 min(value) AS min, max(value) AS max, last_value(value ORDER BY ts) AS last, \
                 max(ts) AS last_ts, count(*) AS samples \
                 FROM {mw} GROUP BY service, window_start, name, host), \
                 m1 AS (SELECT service, window_start, name, sum(total) / sum(n) AS mean, min(min) AS min, \
                 max(max) AS max, last_value(last ORDER BY last_ts) AS last, sum(samples) AS samples, \
                 count(host) AS hosts, array_agg(named_struct('metric', concat(host, '/', name), \
                 'mean', total / n)) FILTER (WHERE host IS NOT NULL) AS per_host \
                 FROM mh GROUP BY service, window_start, name)"
            )
        } else {
            format!(
                "m1 AS (SELECT service, window_start, name, avg(value) AS mean, min(value) AS min, \
                 max(value) AS max, last_value(value ORDER BY ts) AS last, count(*) AS samples \
                 FROM {mw} GROUP BY service, window_start, name)"
            )
        };
        // Measured on a 1 h x 40-service demo lake (benches/peers.sh): exact `percentile_cont`
        // is about twice as fast as the t-digest of `approx_percentile_cont` at these group
        // sizes (it keeps the values: memory grows with the spans of a window), and sorting the
        // aggregated list is several times faster than `array_agg(… ORDER BY …)`, which keeps
        // an ordering column per value and merges them; the name (kind) leads the struct and
        // is unique in its group, so the order is the same.
        //
        // Calls across services (`c`: a child span joined with its parent) feed both
        // `span_callees` (per caller) and `span_inbound_gap_ms` (per callee). DataFusion inlines
        // a CTE at each use, so both come from one grouping-sets aggregate over `c` (the set
        // without `caller` is the callee's inbound side; `caller` is never NULL in `c`), and
        // the self-join runs once: on the same lake 1.0 s -> 0.62 s for the whole query.
        //
        // `sp`, the spans in range, is a materialized CTE (sigfuse_engine::materialized; the
        // derived table's alias is the form `WITH sp AS MATERIALIZED (…)` is rewritten into):
        // `s`, `so` and both sides of `c` read it, and the spans are scanned and decoded once
        // instead of three or four times. Root spans (no parent) need no filter: a NULL key
        // never matches, and a `parent_span_id IS NOT NULL` above `sp` costs a copy of every
        // child row (q3 of benches/peers.sh: medians of 15 runs 184-207 -> 164-199 ms).
        format!(
            "WITH \
             {logs_cte}, \
             sp AS (SELECT * FROM (SELECT trace_id, span_id, parent_span_id, service, ts, status, \
                    duration_ns{sp_cols} FROM {spans} WHERE true{spans_range}) AS \"__sigfuse_materialized sp\"), \
             s AS (SELECT service, window_start, count(*) AS spans, \
                   count(*) FILTER (WHERE status = 'ERROR') AS span_errors, \
                   avg(duration_ns) / 1e6 AS latency_mean_ms, \
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ns) / 1e6 AS latency_p50_ms, \
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ns) / 1e6 AS latency_p95_ms, \
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ns) / 1e6 AS latency_p99_ms \
                   FROM {sw} GROUP BY service, window_start), \
             c AS (SELECT p.service AS caller, ch.service AS callee, ch.window_start, \
                   p.duration_ns - ch.duration_ns AS gap_ns \
                   FROM {sw} ch JOIN (SELECT trace_id, span_id, service, duration_ns FROM {parents}) p \
                   ON ch.trace_id = p.trace_id AND ch.parent_span_id = p.span_id \
                   WHERE ch.service <> p.service), \
             cg AS (SELECT caller, callee, window_start, count(*) AS n, \
                    percentile_cont(0.5) WITHIN GROUP (ORDER BY gap_ns) AS gap_ns \
                    FROM c GROUP BY GROUPING SETS ((caller, callee, window_start), (callee, window_start))), \
             io AS (SELECT coalesce(caller, callee) AS service, window_start, \
                    array_sort(array_agg(named_struct('service', callee, 'calls', n)) FILTER (WHERE caller IS NOT NULL), 'ASC', 'NULLS LAST') AS span_callees, \
                    max(gap_ns) FILTER (WHERE caller IS NULL) / 1e6 AS span_inbound_gap_ms \
                    FROM cg GROUP BY coalesce(caller, callee), window_start), \
             {so_cte}\
             s2 AS (SELECT s.*, io.span_callees, io.span_inbound_gap_ms{so_col} FROM s \
                    LEFT JOIN io ON s.service = io.service AND s.window_start = io.window_start{so_join}), \
             {metrics_cte}, \
             m AS (SELECT service, window_start, sum(samples) AS metric_samples, \
                   array_sort(array_agg(named_struct('name', name, 'mean', mean, 'min', min, 'max', max, 'last', last, 'samples', samples)), 'ASC', 'NULLS LAST') AS metrics{m_hosts} \
                   FROM m1 GROUP BY service, window_start), \
             e1 AS (SELECT service, window_start, kind, count(*) AS n FROM {ew} GROUP BY service, window_start, kind), \
             e AS (SELECT service, window_start, sum(n) AS events, \
                   array_sort(array_agg(named_struct('kind', kind, 'count', n)), 'ASC', 'NULLS LAST') AS event_kinds \
                   FROM e1 GROUP BY service, window_start), \
             {ch_cte}\
             j1 AS (SELECT coalesce(l.service, s.service) AS service, coalesce(l.window_start, s.window_start) AS window_start, \
                    l.log_lines, {lcols}{ltcols}, s.spans, s.span_errors, s.latency_mean_ms, s.latency_p50_ms, s.latency_p95_ms, s.latency_p99_ms, \
                    s.span_inbound_gap_ms, s.span_callees{j1_so} \
                    FROM l FULL JOIN s2 AS s ON l.service = s.service AND l.window_start = s.window_start), \
             j2 AS (SELECT coalesce(j1.service, m.service) AS service, coalesce(j1.window_start, m.window_start) AS window_start, \
                    j1.* EXCLUDE (service, window_start), m.metric_samples, m.metrics{j2_hosts} \
                    FROM j1 FULL JOIN m ON j1.service = m.service AND j1.window_start = m.window_start) \
             SELECT coalesce(j2.service, e.service) AS service, \
                    coalesce(j2.window_start, e.window_start) AS window_start, \
                    coalesce(j2.window_start, e.window_start) + {width} AS window_end, \
                    log_lines, {lnames}{ltnames}, spans, span_errors, \
                    CAST(span_errors AS DOUBLE) / spans AS error_ratio, \
                    latency_mean_ms, latency_p50_ms, latency_p95_ms, latency_p99_ms, \
                    span_inbound_gap_ms, span_callees{out_so}, \
                    metric_samples, metrics{out_hosts}, e.events, e.event_kinds{out_ch} \
             FROM j2 FULL JOIN e ON j2.service = e.service AND j2.window_start = e.window_start{ch_join}",
            so_cte = opt(
                operations,
                &format!(
                    "so AS (SELECT service, window_start, \
                     array_sort(array_agg(named_struct('operation', operation, 'spans', n, \
                     'error_ratio', error_ratio, 'p95_ms', p95_ms)), 'ASC', 'NULLS LAST') AS span_operations \
                     FROM (SELECT service, window_start, operation, count(*) AS n, \
                     CAST(count(*) FILTER (WHERE status = 'ERROR') AS DOUBLE) / count(*) AS error_ratio, \
                     percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ns) / 1e6 AS p95_ms \
                     FROM {sw} WHERE operation IS NOT NULL GROUP BY service, window_start, operation) \
                     GROUP BY service, window_start), ",
                )
            ),
            so_col = opt(operations, ", so.span_operations"),
            so_join = opt(
                operations,
                " LEFT JOIN so ON s.service = so.service AND s.window_start = so.window_start"
            ),
            j1_so = opt(operations, ", s.span_operations"),
            out_so = opt(operations, ", span_operations"),
            metrics_cte = metrics_cte,
            m_hosts = opt(
                hosts,
                ", CASE WHEN max(hosts) > 1 THEN array_sort(flatten(array_agg(per_host) \
                 FILTER (WHERE hosts > 1)), 'ASC', 'NULLS LAST') END AS host_metrics"
            ),
            j2_hosts = opt(hosts, ", m.host_metrics"),
            out_hosts = opt(hosts, ", host_metrics"),
            ch_cte = opt(
                changes,
                &format!(
                    "ch AS (SELECT service, window_start, max(ts) AS last_change \
                     FROM {change_windows} \
                     WHERE window_start + {width} > ts AND window_start + {width} <= ts + {lookback} \
                     GROUP BY service, window_start), ",
                    width = interval(width),
                    lookback = interval(CHANGE_LOOKBACK),
                )
            ),
            out_ch = opt(
                changes,
                &format!(
                    ", exp(CAST(CAST(ch.last_change AS BIGINT) - CAST(ch.window_start + {width} \
                     AS BIGINT) AS DOUBLE) / {tau}) AS event_change_recency",
                    width = interval(width),
                    tau = CHANGE_DECAY as f64,
                )
            ),
            ch_join = opt(
                changes,
                " LEFT JOIN ch ON coalesce(j2.service, e.service) = ch.service \
                 AND coalesce(j2.window_start, e.window_start) = ch.window_start"
            ),
            logs_cte = logs_cte,
            ltcols = if templates {
                ", l.log_templates, l.log_templates_distinct"
            } else {
                ""
            },
            ltnames = if templates {
                ", log_templates, log_templates_distinct"
            } else {
                ""
            },
            ew = windowed(&in_range(events), ""),
            sp_cols = if operations { ", operation" } else { "" },
            lcols = SEVERITIES
                .iter()
                .map(|s| format!("l.log_{}", s.to_lowercase()))
                .collect::<Vec<_>>()
                .join(", "),
            lnames = SEVERITIES
                .iter()
                .map(|s| format!("log_{}", s.to_lowercase()))
                .collect::<Vec<_>>()
                .join(", "),
            width = interval(width),
        )
    }
}

impl TableFunctionImpl for SignalWindows {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let session = args.session();
        let exprs = args.exprs();
        if exprs.is_empty() || exprs.len() == 3 || exprs.len() > 4 {
            return plan_err!(
                "{NAME}: expected (width [, slide [, since, until]]), got {} arguments",
                exprs.len()
            );
        }
        let width = fixed_width("width", &constant(session, &exprs[0])?)?;
        let slide = match exprs.get(1) {
            Some(e) => fixed_width("slide", &constant(session, e)?)?,
            None => width,
        };
        if slide > width {
            return plan_err!(
                "{NAME}: slide must not exceed width (windows would leave gaps), got slide {} > width {}",
                interval(slide),
                interval(width)
            );
        }
        if width / slide > 1_000 {
            return plan_err!(
                "{NAME}: width / slide must be at most 1000 (each row is counted in that many windows), got {}",
                width / slide
            );
        }
        let bound = |i: usize, what: &str| -> Result<Option<i128>> {
            let Some(e) = exprs.get(i) else {
                return Ok(None);
            };
            let v = constant(session, e)?;
            match timestamp_ns(&v) {
                Some(ns) => Ok(Some(ns)),
                None if v.is_null() => Ok(None),
                None => match v.cast_to(&datafusion::arrow::datatypes::DataType::Timestamp(
                    datafusion::arrow::datatypes::TimeUnit::Nanosecond,
                    None,
                )) {
                    Ok(t) if timestamp_ns(&t).is_some() => Ok(timestamp_ns(&t)),
                    _ => plan_err!("{NAME}: {what} must be a timestamp, got {v}"),
                },
            }
        };
        let (since, until) = (bound(2, "since")?, bound(3, "until")?);
        let Some(state) = session.as_any().downcast_ref::<SessionState>() else {
            return plan_err!("{NAME}: needs a full DataFusion session");
        };
        let query = Query {
            tables: self.tables.clone(),
            width,
            slide,
            since,
            until,
            services: None,
            call: RowRange { since, until },
        };
        let sql = query.sql(Parts::ALL);
        let shape = (slide < width, since.is_some(), until.is_some());
        let known = self
            .schemas
            .lock()
            .ok()
            .and_then(|m| m.get(&shape).cloned());
        let (schema, full) = match known {
            Some(schema) => (schema, None),
            None => {
                // Planning only resolves the in-memory catalog: nothing here waits on I/O.
                let full = super::ready(NAME, state.create_logical_plan(&sql))??;
                let schema = Arc::clone(full.schema().inner());
                if let Ok(mut m) = self.schemas.lock() {
                    m.insert(shape, Arc::clone(&schema));
                }
                (schema, Some(unqualified(full)?))
            }
        };
        Ok(Arc::new(Windows {
            schema,
            full,
            query,
            sql,
        }))
    }
}

/// One call's arguments: builds each form of its query.
#[derive(Debug)]
struct Query {
    /// SQL names of the logs, spans, metrics and events tables.
    tables: [String; 4],
    width: i128,
    slide: i128,
    /// The rows read (the call's, or narrowed by the scan's filters).
    since: Option<i128>,
    until: Option<i128>,
    /// Only these services' logs, metrics and events (from the filters on `service`).
    services: Option<BTreeSet<String>>,
    /// The call's own `[since, until)`: the parent spans of the calls are read over it, since
    /// a child span in a narrowed range may have its parent outside (earlier, or later with
    /// clock skew between hosts).
    call: RowRange,
}

impl Query {
    /// The last window start at or before `t`.
    fn grid_floor(&self, t: i128) -> i128 {
        DEFAULT_ORIGIN_NS + (t - DEFAULT_ORIGIN_NS).div_euclid(self.slide) * self.slide
    }

    /// This call narrowed to the rows that the windows `filters` keep can hold: `[since,
    /// until)` from the filters on `window_start`/`window_end`, and the services from those on
    /// `service`; None when the filters narrow nothing. The filters stay above the query (a
    /// window straddling a narrowed bound sees only part of its rows, and is dropped by them):
    /// without this neither reaches the tables, since they stop at the full joins that build
    /// the windows.
    fn narrowed(&self, session: &dyn Session, filters: &[Expr]) -> Option<Query> {
        let mut range = RowRange {
            since: self.since,
            until: self.until,
        };
        let mut services = self.services.clone();
        for f in filters {
            range = range.and(self.row_range(session, f));
            services = both(services, only_services(session, f));
        }
        if (range.since, range.until, &services) == (self.since, self.until, &self.services) {
            return None;
        }
        Some(Query {
            tables: self.tables.clone(),
            width: self.width,
            slide: self.slide,
            since: range.since,
            until: range.until,
            services,
            call: self.call,
        })
    }

    /// The rows the windows kept by `filter` hold, as far as comparisons of `window_start` or
    /// `window_end` with constants (either way round, `BETWEEN`, `IN`, under AND and OR) tell;
    /// other filters bound nothing.
    fn row_range(&self, session: &dyn Session, filter: &Expr) -> RowRange {
        let unbounded = RowRange {
            since: None,
            until: None,
        };
        // A column side: the shift from its value to the window's start.
        let window_column = |e: &Expr| match e {
            Expr::Column(c) if c.name == "window_start" => Some(0),
            Expr::Column(c) if c.name == "window_end" => Some(self.width),
            _ => None,
        };
        // A constant side: nanoseconds since the epoch, if it is a timestamp.
        let value = |e: &Expr| -> Option<i128> {
            if !e.column_refs().is_empty() || e.is_volatile() {
                return None;
            }
            constant(session, e).ok().as_ref().and_then(timestamp_ns)
        };
        // Starts lie on the `slide` grid, and a window starting at `s` holds the rows in
        // [s, s + width): the first start kept bounds the rows from below, the last one from
        // above.
        let first = |x: i128| Some(self.grid_floor(x - 1) + self.slide);
        let last = |x: i128| Some(self.grid_floor(x) + self.width);
        let compare = |op: Operator, start: i128| {
            let (since, until) = match op {
                Operator::GtEq => (first(start), None),
                Operator::Gt => (first(start + 1), None),
                Operator::LtEq => (None, last(start)),
                Operator::Lt => (None, last(start - 1)),
                Operator::Eq => (first(start), last(start)),
                _ => (None, None),
            };
            RowRange { since, until }
        };
        match filter {
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
                Operator::And => self
                    .row_range(session, left)
                    .and(self.row_range(session, right)),
                Operator::Or => self
                    .row_range(session, left)
                    .or(self.row_range(session, right)),
                _ => {
                    if let (Some(shift), Some(v)) = (window_column(left), value(right)) {
                        compare(*op, v - shift)
                    } else if let (Some(shift), Some(v), Some(op)) =
                        (window_column(right), value(left), op.swap())
                    {
                        compare(op, v - shift)
                    } else {
                        unbounded
                    }
                }
            },
            Expr::Between(Between {
                expr,
                negated: false,
                low,
                high,
            }) => match (window_column(expr), value(low), value(high)) {
                (Some(shift), low, high) => {
                    let low = low.map_or(unbounded, |v| compare(Operator::GtEq, v - shift));
                    let high = high.map_or(unbounded, |v| compare(Operator::LtEq, v - shift));
                    low.and(high)
                }
                _ => unbounded,
            },
            Expr::InList(InList {
                expr,
                list,
                negated: false,
            }) => match window_column(expr) {
                Some(shift) => list
                    .iter()
                    .map(|e| value(e).map_or(unbounded, |v| compare(Operator::Eq, v - shift)))
                    .reduce(RowRange::or)
                    .unwrap_or(unbounded),
                None => unbounded,
            },
            _ => unbounded,
        }
    }
}

/// The services a filter keeps, when it keeps only services named by constants (`service =`,
/// `IN`, under AND and OR); None when it does not say.
fn only_services(session: &dyn Session, filter: &Expr) -> Option<BTreeSet<String>> {
    let is_service = |e: &Expr| matches!(e, Expr::Column(c) if c.name == "service");
    let name = |e: &Expr| -> Option<String> {
        if !e.column_refs().is_empty() || e.is_volatile() {
            return None;
        }
        // Written back into the query as a quoted literal: a backslash might escape under
        // another SQL dialect, so such a name narrows nothing (the filter above still holds).
        match constant(session, e).ok()? {
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
                if !s.contains('\\') =>
            {
                Some(s)
            }
            _ => None,
        }
    };
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => match (only_services(session, left), only_services(session, right)) {
                (Some(a), Some(b)) => Some(a.intersection(&b).cloned().collect()),
                (a, b) => a.or(b),
            },
            Operator::Or => {
                let mut a = only_services(session, left)?;
                a.extend(only_services(session, right)?);
                Some(a)
            }
            Operator::Eq if is_service(left) => Some(BTreeSet::from([name(right)?])),
            Operator::Eq if is_service(right) => Some(BTreeSet::from([name(left)?])),
            _ => None,
        },
        Expr::InList(InList {
            expr,
            list,
            negated: false,
        }) if is_service(expr) => list.iter().map(name).collect(),
        _ => None,
    }
}

/// The services both sets keep (None keeps all).
fn both(a: Option<BTreeSet<String>>, b: Option<BTreeSet<String>>) -> Option<BTreeSet<String>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.intersection(&b).cloned().collect()),
        (a, b) => a.or(b),
    }
}

/// A range of row timestamps, `[since, until)`, each end open when None.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RowRange {
    since: Option<i128>,
    until: Option<i128>,
}

impl RowRange {
    /// Rows in both.
    fn and(self, other: Self) -> Self {
        let pick = |a: Option<i128>, b: Option<i128>, f: fn(i128, i128) -> i128| match (a, b) {
            (Some(a), Some(b)) => Some(f(a, b)),
            (a, b) => a.or(b),
        };
        Self {
            since: pick(self.since, other.since, i128::max),
            until: pick(self.until, other.until, i128::min),
        }
    }

    /// Rows in either: the range that covers both.
    fn or(self, other: Self) -> Self {
        let pick = |a: Option<i128>, b: Option<i128>, f: fn(i128, i128) -> i128| Some(f(a?, b?));
        Self {
            since: pick(self.since, other.since, i128::min),
            until: pick(self.until, other.until, i128::max),
        }
    }
}

/// A plan with its columns unqualified (as a scan's filters and projection name them).
fn unqualified(plan: LogicalPlan) -> Result<LogicalPlan> {
    let columns: Vec<Expr> = plan
        .schema()
        .iter()
        .map(|(q, f)| Expr::Column(Column::from((q, f))).alias(f.name()))
        .collect();
    LogicalPlanBuilder::from(plan).project(columns)?.build()
}

/// The table `signal_windows` returns: a view whose scan leaves out the optional columns
/// ([`OPTIONAL`]) that neither its projection nor its filters read, so a query that asks for
/// no template mines none, and one without `span_operations` computes no per-operation
/// quantiles (measured in docs/benchmarks.md, q3). It is not inlined into the calling query as
/// a plain view would be (the columns read are only known at the scan), but its scan hands the
/// projection, the filters (all exact, applied above the query) and the limit to the
/// optimizer, and narrows the query's rows by the filters ([`Query::narrowed`]).
#[derive(Debug)]
struct Windows {
    schema: SchemaRef,
    /// The query with every column, planned, where the call planned it (the first call of its
    /// shape; later calls know the schema and leave planning to the scan).
    full: Option<LogicalPlan>,
    query: Query,
    sql: String,
}

#[async_trait]
impl TableProvider for Windows {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    fn get_table_definition(&self) -> Option<&str> {
        Some(&self.sql)
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Exact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let parts = match projection {
            None => Parts::ALL,
            Some(p) => {
                let read = p.iter().map(|&i| self.schema.field(i).name().as_str());
                let filtered = filters
                    .iter()
                    .flat_map(|e| e.column_refs())
                    .map(|c| c.name.as_str());
                Parts::of(read.chain(filtered))
            }
        };
        let Some(session) = state.as_any().downcast_ref::<SessionState>() else {
            return plan_err!("{NAME}: needs a full DataFusion session");
        };
        let narrowed = self.query.narrowed(state, filters);
        let plan = match (&self.full, parts == Parts::ALL, &narrowed) {
            (Some(full), true, None) => full.clone(),
            _ => {
                let query = narrowed.as_ref().unwrap_or(&self.query);
                unqualified(session.create_logical_plan(&query.sql(parts)).await?)?
            }
        };
        let mut builder = LogicalPlanBuilder::from(plan);
        // The filters name the columns as the calling query's scan does (qualified by the
        // table's name); the plan's are unqualified.
        let unqualify = |e: &Expr| {
            e.clone()
                .transform(|e| match e {
                    Expr::Column(c) if c.relation.is_some() => Ok(Transformed::yes(Expr::Column(
                        Column::new_unqualified(c.name),
                    ))),
                    e => Ok(Transformed::no(e)),
                })
                .map(|t| t.data)
        };
        if let Some(filter) = filters.iter().map(unqualify).reduce(|a, b| Ok(a?.and(b?))) {
            builder = builder.filter(filter?)?;
        }
        if let Some(p) = projection {
            let columns: Vec<Expr> = p
                .iter()
                .map(|&i| Expr::Column(Column::new_unqualified(self.schema.field(i).name())))
                .collect();
            builder = builder.project(columns)?;
        }
        if let Some(limit) = limit {
            builder = builder.limit(0, Some(limit))?;
        }
        let plan = builder.build()?;
        // The calling query's physical optimizer runs over this plan too, once it is in place:
        // planned here without those rules, or every rule would run twice on it (and filter
        // pushdown would put each time predicate twice into the scans). Not with sort-merge
        // joins preferred: those are planned needing repartitions that only a rule adds, and
        // the plan must be executable as it leaves here.
        if !session.config_options().optimizer.prefer_hash_join {
            return session.create_physical_plan(&plan).await;
        }
        let unoptimized = SessionStateBuilder::new_from_existing(session.clone())
            .with_physical_optimizer_rules(vec![])
            .build();
        unoptimized.create_physical_plan(&plan).await
    }
}
