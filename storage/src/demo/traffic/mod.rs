//! Requests through the call graph: spans, the logs written while serving them, and per-pod
//! request statistics that the metrics are computed from (so a slow or failing service shows the
//! same story in all three).
//!
//! A trace is generated depth first: a server span picks a pod, spends part of its own time,
//! makes its calls one after the other (each a CLIENT span in the caller enclosing the callee's
//! SERVER span), then spends the rest. Children therefore nest in time inside their parents.

mod logs;

use datafusion::common::Result;
use rand::rngs::StdRng;

pub(crate) use logs::log_attributes;

use super::incidents::{Fault, NANOS_PER_SEC, effects};
use super::random::RngExt;
use super::templates::Fill;
use super::topology::{Call, REGION, Role, Runtime, Service, Topology};
use super::{CHUNK_NS, TableSink};
use crate::layout::{NANOS_PER_DAY, NANOS_PER_HOUR};
use crate::rows::Cell;
use logs::{ClientLog, ServerLog};

pub(crate) const BUCKET_NS: i64 = 10 * NANOS_PER_SEC;
pub(crate) const BUCKETS_PER_CHUNK: usize = (CHUNK_NS / BUCKET_NS) as usize;
/// Root requests per second at the daily peak.
const PEAK_ROOT_RATE: f64 = 6.0;
const MAX_DEPTH: u32 = 8;
const MAX_SPANS: u32 = 150;

/// Daily load in (0, 1]: lowest around 04:00 UTC, highest around 16:00.
pub(crate) fn load(ts: i64) -> f64 {
    let hour = ts.rem_euclid(NANOS_PER_DAY) as f64 / NANOS_PER_HOUR as f64;
    0.65 + 0.35 * (std::f64::consts::TAU * (hour - 10.0) / 24.0).sin()
}

fn ns(ms: f64) -> i64 {
    ((ms * 1e6) as i64).max(1_000)
}

/// Requests served by one pod in one 10 s interval.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bucket {
    pub count: u32,
    pub errors: u32,
    pub ms: Vec<f32>,
}

impl Bucket {
    pub(crate) fn p99(&self) -> Option<f64> {
        let mut v = self.ms.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f32::total_cmp);
        let i = ((v.len() as f64 * 0.99).ceil() as usize).clamp(1, v.len()) - 1;
        Some(f64::from(v[i]))
    }
}

/// Per-pod buckets of the current chunk and the next (traces started late spill over).
pub(crate) struct Stats {
    origin: i64,
    buckets: Vec<Bucket>,
}

const SPAN_BUCKETS: usize = 2 * BUCKETS_PER_CHUNK;

impl Stats {
    pub(crate) fn new(pods: usize, origin: i64) -> Self {
        Self {
            origin,
            buckets: vec![Bucket::default(); pods * SPAN_BUCKETS],
        }
    }

    fn record(&mut self, pod: usize, ts: i64, ms: f64, error: bool) {
        let b = (ts - self.origin).div_euclid(BUCKET_NS);
        if (0..SPAN_BUCKETS as i64).contains(&b) {
            let bucket = &mut self.buckets[pod * SPAN_BUCKETS + b as usize];
            bucket.count += 1;
            bucket.errors += u32::from(error);
            bucket.ms.push(ms as f32);
        }
    }

    /// Bucket `b` (< [`BUCKETS_PER_CHUNK`]) of the current chunk.
    pub(crate) fn get(&self, pod: usize, b: usize) -> &Bucket {
        &self.buckets[pod * SPAN_BUCKETS + b]
    }

    /// Moves to the next chunk.
    pub(crate) fn advance(&mut self) {
        for pod in self.buckets.chunks_mut(SPAN_BUCKETS) {
            pod.rotate_left(BUCKETS_PER_CHUNK);
            pod[BUCKETS_PER_CHUNK..].fill(Bucket::default());
        }
        self.origin += CHUNK_NS;
    }
}

enum Served {
    Down,
    Up { dur: i64, error: bool, status: u16 },
}

#[derive(Clone, Copy)]
enum Failure {
    Down,
    Timeout,
    Status,
}

/// One chunk of requests.
pub(crate) struct Traffic<'a> {
    pub topo: &'a Topology,
    pub faults: &'a [&'a Fault],
    pub spans: &'a mut TableSink,
    pub logs: &'a mut TableSink,
    pub stats: &'a mut Stats,
    pub rng: StdRng,
    trace_id: String,
    budget: u32,
    load: f64,
    log_attrs: &'a [String],
}

fn fill_route(route: &str, rng: &mut StdRng) -> String {
    route
        .replace("{id}", &rng.int(1000, 99_999).to_string())
        .replace("{item}", &rng.int(100, 9_999).to_string())
}

fn internal_name(svc: &Service) -> &'static str {
    match svc.runtime {
        Runtime::Jvm => "RequestValidator.validate",
        Runtime::Go => "validateRequest",
        Runtime::Node => "render",
        Runtime::Python => "serialize_response",
        Runtime::Postgres | Runtime::Redis => "internal",
    }
}

fn pick_id(rng: &mut StdRng, ids: &[usize]) -> Option<usize> {
    (!ids.is_empty()).then(|| ids[rng.index(ids.len())])
}

impl<'a> Traffic<'a> {
    pub(crate) fn new(
        topo: &'a Topology,
        faults: &'a [&'a Fault],
        spans: &'a mut TableSink,
        logs: &'a mut TableSink,
        stats: &'a mut Stats,
        log_attrs: &'a [String],
        rng: StdRng,
    ) -> Self {
        Self {
            topo,
            faults,
            spans,
            logs,
            stats,
            rng,
            trace_id: String::new(),
            budget: 0,
            load: 1.0,
            log_attrs,
        }
    }

    /// Root requests arriving in [from, to) as a Poisson process following the daily load.
    pub(crate) fn run(&mut self, from: i64, to: i64) -> Result<()> {
        let topo = self.topo;
        let Some(root) = topo.services.first() else {
            return Ok(());
        };
        let weights: Vec<f64> = root.ops.iter().map(|o| o.weight).collect();
        let mut t = from;
        loop {
            self.load = load(t);
            let gap = self.rng.exponential(1.0 / (PEAK_ROOT_RATE * self.load));
            t += (gap * NANOS_PER_SEC as f64) as i64;
            if t >= to || root.ops.is_empty() {
                return Ok(());
            }
            self.trace_id = self.rng.hex(16);
            self.budget = MAX_SPANS;
            let op = self.rng.weighted(&weights);
            self.serve(0, op, None, None, t, 0)?;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn span(
        &mut self,
        ts: i64,
        dur: i64,
        span_id: &str,
        parent: Option<&str>,
        service: usize,
        operation: &str,
        kind: &str,
        status: &str,
        host: &str,
        attributes: String,
    ) -> Result<()> {
        let r = self.spans.row();
        r.set("ts", Cell::Ts(ts))
            .set("duration_ns", Cell::Int(dur))
            .set("trace_id", self.trace_id.as_str())
            .set("span_id", span_id)
            .set("parent_span_id", parent)
            .set("service", self.topo.services[service].name.as_str())
            .set("operation", operation)
            .set("kind", kind)
            .set("status", status)
            .set("host", host)
            .set("attributes", attributes);
        self.spans.commit()
    }

    fn serve(
        &mut self,
        svc: usize,
        op_idx: usize,
        name: Option<&str>,
        parent: Option<&str>,
        start: i64,
        depth: u32,
    ) -> Result<Served> {
        let topo = self.topo;
        let service = &topo.services[svc];
        let Some(op) = service.ops.get(op_idx) else {
            return Ok(Served::Up {
                dur: 0,
                error: false,
                status: 200,
            });
        };
        let pod = service.pods[self.rng.index(service.pods.len())];
        let fx = effects(self.faults, svc, pod, start);
        if fx.down {
            return Ok(Served::Down);
        }
        self.budget = self.budget.saturating_sub(1);
        let span_id = self.rng.hex(8);
        let mut own_ms =
            self.rng.lognormal(op.median_ms, op.sigma) * fx.slowdown * (0.8 + 0.3 * self.load);
        let mut pre = own_ms * self.rng.uniform(0.15, 0.45);
        if fx.cpu_hot {
            // A throttled pod queues requests before a worker thread picks them up.
            let queued = self.rng.lognormal(25.0 * fx.slowdown, 0.5);
            own_ms += queued;
            pre += queued;
        }
        let mut cursor = start + ns(pre);
        let host = topo.pods[pod].name.as_str();
        if matches!(service.role, Role::App | Role::Edge) && self.budget > 0 && self.rng.chance(0.2)
        {
            self.budget -= 1;
            let id = self.rng.hex(8);
            let attrs = format!(r#"{{"region":"{REGION}"}}"#);
            self.span(
                start + ns(pre * 0.1),
                ns(pre * 0.8),
                &id,
                Some(&span_id),
                svc,
                internal_name(service),
                "INTERNAL",
                "OK",
                host,
                attrs,
            )?;
        }
        let mut failed: Option<(usize, Failure)> = None;
        for call in &op.calls {
            if depth >= MAX_DEPTH || self.budget < 2 || !self.rng.chance(call.p) {
                continue;
            }
            for _ in 0..self.rng.int(1, i64::from(call.max_repeat)) {
                let (dur, failure) = self.call(svc, pod, &span_id, call, cursor, depth)?;
                cursor += dur + ns(self.rng.uniform(0.02, 0.3));
                if let Some(f) = failure {
                    failed.get_or_insert((call.to, f));
                    break;
                }
            }
        }
        let bad_release = fx.bad_release > 0.0 && self.rng.chance(fx.bad_release);
        let own_error = bad_release || self.rng.chance(op.error_rate);
        // A failed cache call is often survived by going to the database instead.
        let propagated = failed.is_some_and(|(to, _)| {
            let tolerance = if topo.services[to].role == Role::Cache {
                0.5
            } else {
                0.15
            };
            !self.rng.chance(tolerance)
        });
        let error = own_error || propagated;
        let status = match (error, failed) {
            (true, Some((_, Failure::Timeout))) if !own_error => 504,
            (true, Some((_, Failure::Down))) if !own_error => 503,
            (true, _) => *self.rng.pick(&[500, 500, 500, 502, 503]),
            (false, _)
                if service.role != Role::Database
                    && service.role != Role::Cache
                    && self.rng.chance(0.012) =>
            {
                if op.method == "GET" {
                    404
                } else {
                    *self.rng.pick(&[400, 401, 409])
                }
            }
            (false, _) if op.method == "POST" => 201,
            (false, _) => 200,
        };
        let end = cursor + ns(own_ms - pre);
        let dur = end - start;
        let path = fill_route(&op.route, &mut self.rng);
        let attrs = match service.role {
            Role::Database => {
                format!(r#"{{"db.system":"postgresql","db.name":"shop","region":"{REGION}"}}"#)
            }
            Role::Cache => format!(r#"{{"db.system":"redis","region":"{REGION}"}}"#),
            _ => format!(
                r#"{{"http.method":"{}","http.route":"{}","http.target":"{path}","http.status_code":{status},"region":"{REGION}"}}"#,
                op.method, op.route
            ),
        };
        let span_status = if error {
            "ERROR"
        } else if status >= 400 {
            "UNSET"
        } else {
            "OK"
        };
        self.span(
            start,
            dur,
            &span_id,
            parent,
            svc,
            name.unwrap_or(&op.name),
            "SERVER",
            span_status,
            host,
            attrs,
        )?;
        let ms = dur as f64 / 1e6;
        self.stats.record(pod, start, ms, error);

        let peer = failed.map_or_else(
            || {
                op.calls
                    .last()
                    .map_or("", |c| topo.services[c.to].name.as_str())
            },
            |(to, _)| topo.services[to].name.as_str(),
        );
        let fill = Fill {
            method: op.method,
            path: &path,
            route: &op.route,
            status,
            ms,
            peer,
            pod: host,
            table: service.table,
            ..Fill::default()
        };
        let why = ServerLog {
            svc,
            pod,
            start,
            end,
            error,
            own_error,
            bad_release,
            down_peer: matches!(failed, Some((_, Failure::Down))),
            fx,
        };
        self.server_logs(&why, &fill, &span_id)?;
        Ok(Served::Up { dur, error, status })
    }

    /// One call from `caller` (on `caller_pod`): a CLIENT span around the callee's SERVER span.
    fn call(
        &mut self,
        caller: usize,
        caller_pod: usize,
        parent: &str,
        call: &Call,
        start: i64,
        depth: u32,
    ) -> Result<(i64, Option<Failure>)> {
        let topo = self.topo;
        let callee = &topo.services[call.to];
        if callee.ops.is_empty() {
            return Ok((0, None));
        }
        let op_idx = match call.op.filter(|&o| o < callee.ops.len()) {
            Some(o) => o,
            None => {
                let w: Vec<f64> = callee.ops.iter().map(|o| o.weight).collect();
                self.rng.weighted(&w)
            }
        };
        let op = &callee.ops[op_idx];
        let table = match topo.services[caller].table {
            "" => "sessions",
            t => t,
        };
        let store = matches!(callee.role, Role::Database | Role::Cache);
        let name = match callee.role {
            Role::Database if op.method != "COMMIT" => format!("{} shop.{table}", op.method),
            _ => op.name.clone(),
        };
        self.budget = self.budget.saturating_sub(1);
        let span_id = self.rng.hex(8);
        let net = ns(self.rng.lognormal(if store { 0.15 } else { 0.4 }, 0.4));
        let served = self.serve(
            call.to,
            op_idx,
            store.then_some(name.as_str()),
            Some(&span_id),
            start + net / 2,
            depth + 1,
        )?;
        let timeout_ms = match callee.role {
            Role::Cache => 500.0,
            Role::Database => 2000.0,
            _ => 3000.0,
        };
        let (dur, failure, status) = match served {
            Served::Down => {
                let d = if self.rng.chance(0.6) {
                    ns(self.rng.lognormal(1.2, 0.5))
                } else {
                    ns(timeout_ms / 2.0)
                };
                (d, Some(Failure::Down), 503)
            }
            Served::Up { dur, error, status } => {
                let d = dur + net;
                if d > ns(timeout_ms) {
                    (ns(timeout_ms), Some(Failure::Timeout), 504)
                } else if error {
                    (d, Some(Failure::Status), status)
                } else {
                    (d, None, status)
                }
            }
        };
        let key_id = self.rng.int(1000, 99_999);
        let peer = callee.name.as_str();
        let attrs = match callee.role {
            Role::Database => format!(
                r#"{{"db.system":"postgresql","db.name":"shop","db.statement":"{} shop.{table} WHERE id = $1","net.peer.name":"{peer}","net.peer.port":5432,"region":"{REGION}"}}"#,
                op.method
            ),
            Role::Cache => format!(
                r#"{{"db.system":"redis","db.statement":"{} {table}:{key_id}","net.peer.name":"{peer}","net.peer.port":6379,"region":"{REGION}"}}"#,
                op.method
            ),
            _ => format!(
                r#"{{"http.method":"{}","http.route":"{}","http.status_code":{status},"net.peer.name":"{peer}","region":"{REGION}"}}"#,
                op.method, op.route
            ),
        };
        let host = topo.pods[caller_pod].name.as_str();
        let span_status = if failure.is_some() { "ERROR" } else { "OK" };
        self.span(
            start,
            dur,
            &span_id,
            Some(parent),
            caller,
            &name,
            "CLIENT",
            span_status,
            host,
            attrs,
        )?;

        let why = ClientLog {
            caller,
            caller_pod,
            callee: call.to,
            span_id: &span_id,
            end: start + dur,
            dur,
            failure,
            status,
            table,
        };
        self.client_log(&why)?;
        Ok((dur, failure))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_follows_the_day_and_p99_picks_the_tail() {
        assert!(load(4 * NANOS_PER_HOUR) < 0.35);
        assert!(load(16 * NANOS_PER_HOUR) > 0.99);
        let b = Bucket {
            count: 3,
            errors: 0,
            ms: vec![5.0, 1.0, 9.0],
        };
        assert_eq!(b.p99(), Some(9.0));
        assert_eq!(Bucket::default().p99(), None);
        let mut s = Stats::new(2, 0);
        s.record(1, BUCKET_NS * (BUCKETS_PER_CHUNK as i64 + 1), 3.0, true);
        assert_eq!(s.get(1, 1).count, 0);
        s.advance();
        assert_eq!(s.get(1, 1).errors, 1);
        assert_eq!(s.get(1, 1).count, 1);
    }
}
