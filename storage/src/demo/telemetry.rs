//! Pod and node metrics every 10 s, and pod logs outside requests.
//!
//! Metrics are computed from the request statistics of the traffic (rate, error ratio, p99) and
//! from the event timeline (a restarted pod starts with little memory and a CPU spike), so the
//! modalities agree with each other.

use datafusion::common::Result;
use rand::rngs::StdRng;

use super::TableSink;
use super::events::Timeline;
use super::incidents::{Fault, FaultKind, NANOS_PER_SEC, effects};
use super::random::RngExt;
use super::templates::{self, Fill, Scope};
use super::topology::{GIB, REGION, Runtime, Topology};
use super::traffic::{BUCKET_NS, BUCKETS_PER_CHUNK, Stats};
use crate::rows::Cell;

const MIN: i64 = 60 * NANOS_PER_SEC;

/// The series of one host at one scrape.
struct Scrape<'a> {
    ts: i64,
    service: Option<&'a str>,
    host: &'a str,
    attrs: &'a str,
}

impl Scrape<'_> {
    fn emit(&self, sink: &mut TableSink, name: &str, value: f64, unit: &str) -> Result<()> {
        let r = sink.row();
        r.set("ts", Cell::Ts(self.ts))
            .set("service", self.service)
            .set("host", self.host)
            .set("name", name)
            .set("value", Cell::Float(value))
            .set("unit", unit)
            .set("attributes", self.attrs);
        sink.commit()
    }
}

/// Pod and node metrics of the chunk starting at `chunk_start`, every 10 s.
pub(crate) fn write_metrics(
    topo: &Topology,
    faults: &[&Fault],
    timeline: &Timeline,
    stats: &Stats,
    chunk_start: i64,
    sink: &mut TableSink,
    rng: &mut StdRng,
) -> Result<()> {
    let node_attrs: Vec<String> = topo
        .nodes
        .iter()
        .map(|n| {
            format!(
                r#"{{"k8s.node":"{}","zone":"{}","region":"{REGION}"}}"#,
                n.name, n.zone
            )
        })
        .collect();
    let mut node_cpu = vec![0.0; topo.nodes.len()];
    let mut node_mem = vec![0.0; topo.nodes.len()];
    for b in 0..BUCKETS_PER_CHUNK {
        let bucket_start = chunk_start + b as i64 * BUCKET_NS;
        node_cpu.fill(0.0);
        node_mem.fill(0.0);
        for (p, pod) in topo.pods.iter().enumerate() {
            let t = bucket_start + pod.phase_ns;
            let svc = &topo.services[pod.service];
            let fx = effects(faults, pod.service, p, t);
            if fx.down {
                continue; // nothing to scrape
            }
            let restarts = &timeline.restarts[p];
            let since = restarts.partition_point(|&r| r <= t);
            let last = restarts.get(since.saturating_sub(1)).copied().unwrap_or(t);
            let age_min = (t - last).max(0) as f64 / MIN as f64;
            let s = stats.get(p, b);
            let rps = f64::from(s.count) / (BUCKET_NS as f64 / NANOS_PER_SEC as f64);
            let warmup = if svc.runtime == Runtime::Jvm {
                (1.0 - age_min / 3.0).max(0.0) * 0.8
            } else {
                0.0
            };
            let mut cpu = (svc.cpu_idle * (1.0 + 0.12 * rng.normal())
                + svc.cpu_per_rps * rps * (1.0 + 0.15 * rng.normal())
                + warmup)
                .max(0.002);
            if fx.cpu_hot {
                cpu = pod.cpu_limit * rng.uniform(0.94, 1.0);
            } else if fx.latency_root {
                cpu *= 1.15;
            }
            let cpu = cpu.min(pod.cpu_limit);
            let base = svc.mem_base * (1.0 + 0.03 * (p % 4) as f64);
            let warm = 0.55 + 0.45 * (1.0 - (-age_min / 8.0).exp());
            let leak = base * 0.0003 * age_min.min(48.0 * 60.0);
            let saw = if svc.runtime == Runtime::Jvm {
                let period = 240.0 + 60.0 * (p % 5) as f64;
                0.25 * base * ((t as f64 / NANOS_PER_SEC as f64 + p as f64 * 37.0) % period)
                    / period
            } else {
                0.0
            };
            let mem = (base * warm + leak + saw + base * 0.01 * rng.normal())
                .clamp(base * 0.3, pod.mem_limit * 0.98);
            node_cpu[pod.node] += cpu;
            node_mem[pod.node] += mem;
            let at = Scrape {
                ts: t,
                service: Some(svc.name.as_str()),
                host: &pod.name,
                attrs: &pod.attributes,
            };
            at.emit(sink, "cpu_usage_cores", cpu, "cores")?;
            at.emit(sink, "memory_working_set_bytes", mem.round(), "By")?;
            at.emit(sink, "request_rate", rps, "req/s")?;
            let errors = if s.count == 0 {
                0.0
            } else {
                f64::from(s.errors) / f64::from(s.count)
            };
            at.emit(sink, "error_rate", errors, "1")?;
            if let Some(p99) = s.p99() {
                at.emit(
                    sink,
                    "latency_p99_ms",
                    (p99 * 1000.0).round() / 1000.0,
                    "ms",
                )?;
            }
            if svc.runtime == Runtime::Jvm {
                let hot =
                    if fx.cpu_hot { 4.0 } else { 1.0 } * if age_min < 5.0 { 2.0 } else { 1.0 };
                let gc = rng.lognormal(6.0 + 8.0 * mem / pod.mem_limit, 0.5) * hot;
                at.emit(sink, "gc_pause_ms", (gc * 1000.0).round() / 1000.0, "ms")?;
            }
        }
        for (n, node) in topo.nodes.iter().enumerate() {
            let t = bucket_start + (n as i64 * 1_700 + 500) * 1_000_000;
            let cpu = ((0.4 + node_cpu[n] + 0.05 * rng.normal()) / node.cores).clamp(0.0, 1.0);
            let mem = ((3.0 * GIB + node_mem[n]) / node.mem_bytes).clamp(0.0, 1.0);
            let at = Scrape {
                ts: t,
                service: None,
                host: &node.name,
                attrs: &node_attrs[n],
            };
            at.emit(sink, "node_cpu_utilization", cpu, "1")?;
            at.emit(sink, "node_memory_utilization", mem, "1")?;
        }
    }
    Ok(())
}

/// Pod logs outside requests (health checks, GC, checkpoints) and the faults' own pod logs.
pub(crate) fn write_background_logs(
    topo: &Topology,
    faults: &[&Fault],
    log_attrs: &[String],
    from: i64,
    to: i64,
    sink: &mut TableSink,
    rng: &mut StdRng,
) -> Result<()> {
    let emit = |sink: &mut TableSink,
                rng: &mut StdRng,
                ts: i64,
                pod: usize,
                id: Option<usize>|
     -> Result<()> {
        let Some(id) = id else { return Ok(()) };
        let p = &topo.pods[pod];
        let fill = Fill {
            pod: &p.name,
            peer: &topo.services[p.service].name,
            table: topo.services[p.service].table,
            ..Fill::default()
        };
        let body = templates::render(id, &fill, rng);
        let r = sink.row();
        r.set("ts", Cell::Ts(ts))
            .set("service", topo.services[p.service].name.as_str())
            .set("host", p.name.as_str())
            .set("severity", templates::severity(id))
            .set("body", body)
            .set("attributes", log_attrs[p.service].as_str());
        sink.commit()
    };
    let pick =
        |rng: &mut StdRng, ids: &[usize]| (!ids.is_empty()).then(|| ids[rng.index(ids.len())]);
    for (p, pod) in topo.pods.iter().enumerate() {
        let svc = &topo.services[pod.service];
        let own = templates::scope_ids(match svc.runtime {
            Runtime::Jvm => Scope::BgJvm,
            Runtime::Go => Scope::BgGo,
            Runtime::Node => Scope::BgNode,
            Runtime::Python => Scope::BgPython,
            Runtime::Postgres => Scope::BgPostgres,
            Runtime::Redis => Scope::BgRedis,
        });
        let generic = templates::scope_ids(Scope::Bg);
        let mut t = from;
        loop {
            t += (rng.exponential(40.0) * NANOS_PER_SEC as f64) as i64;
            if t >= to {
                break;
            }
            let fx = effects(faults, pod.service, p, t);
            if fx.down {
                continue;
            }
            let id = if rng.chance(0.5) {
                pick(rng, &own)
            } else {
                pick(rng, &generic)
            };
            emit(sink, rng, t, p, id)?;
            if fx.cpu_hot {
                let hot = templates::scope_ids(Scope::FaultCpuBg);
                let id = pick(rng, &hot);
                emit(sink, rng, t + NANOS_PER_SEC, p, id)?;
            }
        }
    }
    // A store that goes down says so, and says when it is back.
    let redis_style = |id: usize| templates::log_templates()[id].pattern.starts_with("{pid}:");
    for f in faults
        .iter()
        .filter(|f| f.kind == FaultKind::DependencyOutage)
    {
        let redis = topo.services[f.service].runtime == Runtime::Redis;
        for &pod in &topo.services[f.service].pods {
            for (ts, scope) in [
                (f.start - NANOS_PER_SEC, Scope::FaultStoreCrash),
                (f.end + 2 * NANOS_PER_SEC, Scope::FaultStoreRecover),
            ] {
                if ts < from || ts >= to {
                    continue;
                }
                let ids: Vec<usize> = templates::scope_ids(scope)
                    .into_iter()
                    .filter(|&i| redis_style(i) == redis)
                    .collect();
                let id = pick(rng, &ids);
                emit(sink, rng, ts, pod, id)?;
            }
        }
    }
    Ok(())
}
