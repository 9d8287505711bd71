//! From requests to rows: where a record sits, what its resource and scope give it, and the
//! log and span mappings (metrics are in `metrics.rs`).

use std::fmt;

use datafusion::common::Result;

use super::json::{Attrs, any_json, any_text, id, join_attrs, json_str, push_json_str, rendered};
use super::metrics::metric_rows;
use super::{
    AnyValue, Decode, ExpHistogramPoint, HistogramPoint, LogRecord, Metric, Nanos, NumberPoint,
    Request, Resourced, SPAN_KINDS, STATUS_CODES, Scope, Span, SpanEvent, SpanLink, StdResult,
    SummaryPoint, severity_of,
};
use crate::ingest::out::RowOut;
use crate::rows::{BatchBuilder, Cell, Row};
use crate::schema::SignalKind;

pub(super) fn ts_cell(v: Nanos, field: &str) -> StdResult<Cell, String> {
    match v.0 {
        0 => Err(format!("no {field}")),
        n => i64::try_from(n)
            .map(Cell::Ts)
            .map_err(|_| format!("{field} out of range: {n}")),
    }
}

fn any_text_is_set(v: &AnyValue) -> bool {
    v.string_value.as_deref().is_some_and(|s| !s.is_empty())
}

/// What a resource and a scope give every row under them.
#[derive(Default)]
pub(super) struct Origin {
    service: Option<String>,
    host: Option<String>,
    resource: Attrs,
    scope: Attrs,
}

impl Origin {
    fn new(resource: Scope) -> Self {
        let host_key = if resource
            .attributes
            .iter()
            .any(|kv| kv.key == "host.name" && any_text_is_set(&kv.value))
        {
            "host.name"
        } else {
            "k8s.pod.name"
        };
        let mut origin = Origin::default();
        for kv in resource.attributes {
            if kv.key == "service.name" {
                origin.service = any_text(kv.value);
            } else if kv.key == host_key {
                origin.host = any_text(kv.value);
            } else {
                let v = any_json(&kv.value);
                origin.resource.push((kv.key, v));
            }
        }
        origin
    }

    fn set_scope(&mut self, scope: Scope) {
        self.scope.clear();
        if !scope.name.is_empty() {
            self.scope
                .push(("otel.scope.name".into(), json_str(&scope.name)));
        }
        if !scope.version.is_empty() {
            self.scope
                .push(("otel.scope.version".into(), json_str(&scope.version)));
        }
        self.scope.extend(rendered(scope.attributes));
    }

    /// Sets service, host and attributes (`extra`, then `record`, then scope, then resource).
    pub(super) fn fill(
        &self,
        row: &mut Row,
        extra: &[(String, String)],
        record: &[(String, String)],
    ) {
        row.set("service", self.service.clone())
            .set("host", self.host.clone())
            .set(
                "attributes",
                join_attrs(&[extra, record, &self.scope, &self.resource]),
            );
    }
}

/// Where a record sits in its request, for reject reasons.
#[derive(Clone, Copy)]
pub(super) struct Loc {
    kind: SignalKind,
    at: [usize; 3],
    pub(super) point: Option<(&'static str, usize)>,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let [r, s, k] = self.at;
        let (a, b, c) = match self.kind {
            SignalKind::Logs => ("resourceLogs", "scopeLogs", "logRecords"),
            SignalKind::Spans => ("resourceSpans", "scopeSpans", "spans"),
            _ => ("resourceMetrics", "scopeMetrics", "metrics"),
        };
        write!(f, "{a}[{r}].{b}[{s}].{c}[{k}]")?;
        if let Some((kind, j)) = self.point {
            write!(f, ".{kind}.dataPoints[{j}]")?;
        }
        Ok(())
    }
}

/// The line being read, and where its rows and rejects go.
pub(super) struct Line<'a> {
    pub(super) out: &'a mut RowOut,
    pub(super) no: u64,
    pub(super) text: &'a str,
    pub(super) table: Option<SignalKind>,
    pub(super) checks: &'a [BatchBuilder],
}

impl Line<'_> {
    pub(super) fn reject(
        &mut self,
        loc: Loc,
        reason: impl fmt::Display,
        raw: Option<&str>,
    ) -> Result<()> {
        self.out.reject(
            self.no,
            format!("{loc}: {reason}"),
            raw.unwrap_or(self.text),
        )
    }

    /// Refuses the whole line.
    pub(super) fn reject_line(&mut self, reason: impl Into<String>) -> Result<()> {
        self.out.reject(self.no, reason, self.text)
    }

    /// Validates first so that a refused row is named by its place in the request.
    pub(super) fn emit(&mut self, loc: Loc, row: &Row) -> Result<()> {
        if let Some(check) = self.checks.iter().find(|b| b.kind() == row.kind())
            && let Err(reason) = check.validate(row)
        {
            return self.reject(loc, reason, None);
        }
        let text = self.text;
        self.out.emit(self.no, row, || text.to_string())
    }

    /// Whether rows of `kind` may be written; a section for another table is rejected once.
    fn admits<R>(&mut self, kind: SignalKind, groups: &[Resourced<R>]) -> Result<bool> {
        match self.table {
            Some(t) if t != kind => {
                if !groups.is_empty() {
                    self.reject_line(format!("line is for table {kind}, ingest is into {t}"))?;
                }
                Ok(false)
            }
            _ => Ok(true),
        }
    }

    /// Calls `f` with the origin, location and records of every scope.
    fn each_scope<R>(
        &mut self,
        kind: SignalKind,
        groups: Vec<Resourced<R>>,
        mut f: impl FnMut(&mut Self, &Origin, Loc, Vec<R>) -> Result<()>,
    ) -> Result<()> {
        if !self.admits(kind, &groups)? {
            return Ok(());
        }
        for (r, group) in groups.into_iter().enumerate() {
            let mut origin = Origin::new(group.resource);
            for (s, scoped) in group.scopes.into_iter().enumerate() {
                origin.set_scope(scoped.scope);
                let loc = Loc {
                    kind,
                    at: [r, s, 0],
                    point: None,
                };
                f(self, &origin, loc, scoped.records)?;
            }
        }
        Ok(())
    }

    pub(super) fn request<L, S, M, N, H, E, Q>(
        &mut self,
        req: Request<L, S, M>,
        rows: &mut Rows,
    ) -> Result<()>
    where
        L: Decode<LogRecord>,
        S: Decode<Span>,
        M: Decode<Metric<N, H, E, Q>>,
        N: Decode<NumberPoint>,
        H: Decode<HistogramPoint>,
        E: Decode<ExpHistogramPoint>,
        Q: Decode<SummaryPoint>,
    {
        if req.logs.is_none() && req.spans.is_none() && req.metrics.is_none() {
            return self.reject_line(
                "not an OTLP export request: no resourceLogs, resourceSpans or resourceMetrics",
            );
        }
        if let Some(groups) = req.logs {
            self.each_scope(SignalKind::Logs, groups, |line, origin, loc, recs| {
                line.records(loc, recs, |line, loc, rec| {
                    match log_row(rec, origin, &mut rows.logs) {
                        Ok(()) => line.emit(loc, &rows.logs),
                        Err(reason) => line.reject(loc, reason, None),
                    }
                })
            })?;
        }
        if let Some(groups) = req.spans {
            self.each_scope(SignalKind::Spans, groups, |line, origin, loc, recs| {
                line.records(loc, recs, |line, loc, rec| {
                    match span_row(rec, origin, &mut rows.spans) {
                        Ok(()) => line.emit(loc, &rows.spans),
                        Err(reason) => line.reject(loc, reason, None),
                    }
                })
            })?;
        }
        if let Some(groups) = req.metrics {
            self.each_scope(SignalKind::Metrics, groups, |line, origin, loc, recs| {
                line.records(loc, recs, |line, loc, m: Metric<N, H, E, Q>| {
                    metric_rows(line, origin, loc, &mut rows.metrics, m)
                })
            })?;
        }
        Ok(())
    }

    /// Decodes records one by one, rejecting those that do not decode.
    pub(super) fn records<R: Decode<T>, T>(
        &mut self,
        loc: Loc,
        records: Vec<R>,
        mut f: impl FnMut(&mut Self, Loc, T) -> Result<()>,
    ) -> Result<()> {
        for (i, rec) in records.into_iter().enumerate() {
            let mut loc = loc;
            match loc.point.as_mut() {
                Some((_, j)) => *j = i,
                None => loc.at[2] = i,
            }
            match rec.decode() {
                Ok(t) => f(self, loc, t)?,
                Err((reason, raw)) => self.reject(loc, reason, Some(&raw))?,
            }
        }
        Ok(())
    }
}

/// Rows reused across records.
pub(super) struct Rows {
    pub(super) logs: Row,
    pub(super) spans: Row,
    pub(super) metrics: Row,
}

fn log_row(rec: LogRecord, origin: &Origin, row: &mut Row) -> StdResult<(), String> {
    row.clear();
    let ts = if rec.time_unix_nano.0 != 0 {
        rec.time_unix_nano
    } else {
        rec.observed_time_unix_nano
    };
    row.set("ts", ts_cell(ts, "timeUnixNano or observedTimeUnixNano")?);
    let severity = if rec.severity_text.is_empty() {
        severity_of(&rec.severity_number).map(str::to_string)
    } else {
        Some(rec.severity_text)
    };
    let mut extra = Attrs::new();
    if !rec.event_name.is_empty() {
        extra.push(("event.name".into(), json_str(&rec.event_name)));
    }
    let body =
        any_text(rec.body).or_else(|| (!rec.event_name.is_empty()).then_some(rec.event_name));
    row.set("severity", severity)
        .set("body", body)
        .set("trace_id", id(rec.trace_id))
        .set("span_id", id(rec.span_id));
    origin.fill(row, &extra, &rendered(rec.attributes));
    Ok(())
}

fn span_row(rec: Span, origin: &Origin, row: &mut Row) -> StdResult<(), String> {
    row.clear();
    row.set(
        "ts",
        ts_cell(rec.start_time_unix_nano, "startTimeUnixNano")?,
    );
    let (start, end) = (rec.start_time_unix_nano.0, rec.end_time_unix_nano.0);
    let duration = end
        .checked_sub(start)
        .filter(|_| end != 0)
        .and_then(|d| i64::try_from(d).ok());
    let kind = rec
        .kind
        .index("SPAN_KIND_", &SPAN_KINDS)
        .filter(|&k| k > 0)
        .map(|k| SPAN_KINDS[k]);
    let status = rec
        .status
        .code
        .index("STATUS_CODE_", &STATUS_CODES)
        .map(|c| STATUS_CODES[c]);
    let mut extra = Attrs::new();
    if !rec.status.message.is_empty() {
        extra.push((
            "otel.status_description".into(),
            json_str(&rec.status.message),
        ));
    }
    if !rec.events.is_empty() {
        extra.push(("otel.events".into(), span_events(rec.events)));
    }
    if !rec.links.is_empty() {
        extra.push(("otel.links".into(), span_links(rec.links)));
    }
    row.set("duration_ns", duration.map(Cell::Int))
        .set("trace_id", id(rec.trace_id))
        .set("span_id", id(rec.span_id))
        .set("parent_span_id", id(rec.parent_span_id))
        .set("operation", (!rec.name.is_empty()).then_some(rec.name))
        .set("kind", kind)
        .set("status", status);
    origin.fill(row, &extra, &rendered(rec.attributes));
    Ok(())
}

/// `[{"name":…,"ts":…,"attributes":{…}}, …]`
fn span_events(events: Vec<SpanEvent>) -> String {
    let mut out = String::from("[");
    for (i, e) in events.into_iter().enumerate() {
        out.push_str(if i > 0 { ",{\"name\":" } else { "{\"name\":" });
        push_json_str(&mut out, &e.name);
        if e.time_unix_nano.0 != 0 {
            out.push_str(&format!(",\"ts\":{}", e.time_unix_nano.0));
        }
        if let Some(a) = join_attrs(&[&rendered(e.attributes)]) {
            out.push_str(",\"attributes\":");
            out.push_str(&a);
        }
        out.push('}');
    }
    out.push(']');
    out
}

/// `[{"trace_id":…,"span_id":…,"attributes":{…}}, …]`
fn span_links(links: Vec<SpanLink>) -> String {
    let mut out = String::from("[");
    for (i, l) in links.into_iter().enumerate() {
        out.push_str(if i > 0 {
            ",{\"trace_id\":"
        } else {
            "{\"trace_id\":"
        });
        push_json_str(&mut out, &l.trace_id.to_ascii_lowercase());
        out.push_str(",\"span_id\":");
        push_json_str(&mut out, &l.span_id.to_ascii_lowercase());
        if let Some(a) = join_attrs(&[&rendered(l.attributes)]) {
            out.push_str(",\"attributes\":");
            out.push_str(&a);
        }
        out.push('}');
    }
    out.push(']');
    out
}
