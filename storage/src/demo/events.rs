//! The event timeline of a run: deploys (with versions), config changes, Kubernetes events,
//! autoscaling and alerts, planned once for the whole range (events are sparse), plus the pod
//! restarts they imply, which the metrics use (a restarted pod starts with little memory).
//!
//! Faults show here as a bad release and its rollback, crash-looping stores, throttling alerts
//! and SLO alerts on the services that feel them.

use datafusion::common::Result;
use rand::Rng;

use super::TableSink;
use super::incidents::{Fault, FaultKind, NANOS_PER_SEC};
use super::random::RngExt;
use super::topology::{NAMESPACE, REGION, Role, Runtime, Topology};
use super::traffic::load;
use crate::layout::NANOS_PER_HOUR;
use crate::rows::Cell;

const MIN: i64 = 60 * NANOS_PER_SEC;

/// One row of the events table.
#[derive(Debug, Clone)]
pub(crate) struct EventRec {
    pub ts: i64,
    pub service: Option<usize>,
    pub host: Option<String>,
    pub kind: &'static str,
    pub severity: &'static str,
    pub message: String,
    pub attributes: String,
}

/// The planned events of the whole run, and the restart times of each pod they imply.
pub(crate) struct Timeline {
    pub events: Vec<EventRec>,
    /// Per pod, sorted; the first entry is the pod's start before the run.
    pub restarts: Vec<Vec<i64>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Deploy {
    Routine,
    Bad,
    Rollback,
}

fn json_attrs(pairs: &[(&str, String)]) -> String {
    let mut map = serde_json::Map::new();
    for (k, v) in pairs {
        map.insert((*k).to_string(), serde_json::Value::String(v.clone()));
    }
    map.insert("region".into(), REGION.into());
    serde_json::Value::Object(map).to_string()
}

struct Planner<'a, R> {
    topo: &'a Topology,
    rng: &'a mut R,
    out: Timeline,
}

// Events have many fields; named arguments read better at the call sites than a builder would.
#[allow(clippy::too_many_arguments)]
impl<R: Rng> Planner<'_, R> {
    fn push(
        &mut self,
        ts: i64,
        service: Option<usize>,
        host: Option<&str>,
        kind: &'static str,
        severity: &'static str,
        message: String,
        attrs: &[(&str, String)],
    ) {
        self.out.events.push(EventRec {
            ts,
            service,
            host: host.map(str::to_string),
            kind,
            severity,
            message,
            attributes: json_attrs(attrs),
        });
    }

    fn restart(&mut self, pod: usize, ts: i64, message: String) {
        let p = &self.topo.pods[pod];
        let svc = p.service;
        let name = p.name.clone();
        self.out.restarts[pod].push(ts);
        self.push(
            ts,
            Some(svc),
            Some(&name),
            "k8s",
            "INFO",
            message,
            &[("k8s.pod", name.clone()), ("reason", "Started".into())],
        );
    }

    fn alert(
        &mut self,
        ts: i64,
        svc: usize,
        host: Option<&str>,
        name: &str,
        critical: bool,
        summary: &str,
        resolved_at: i64,
    ) {
        let sev = if critical { "critical" } else { "warning" };
        let attrs = [
            ("alertname", name.to_string()),
            ("state", "firing".to_string()),
            ("alert_severity", sev.to_string()),
        ];
        self.push(
            ts,
            Some(svc),
            host,
            "alert",
            if critical { "ERROR" } else { "WARN" },
            format!("[FIRING] {name}: {summary}"),
            &attrs,
        );
        let attrs = [
            ("alertname", name.to_string()),
            ("state", "resolved".to_string()),
            ("alert_severity", sev.to_string()),
        ];
        self.push(
            resolved_at,
            Some(svc),
            host,
            "alert",
            "INFO",
            format!("[RESOLVED] {name}: {summary}"),
            &attrs,
        );
    }

    fn minutes(&mut self, lo: f64, hi: f64) -> i64 {
        (self.rng.uniform(lo, hi) * MIN as f64) as i64
    }

    fn deploy(&mut self, ts: i64, svc: usize, kind: Deploy, version: &mut Vec<(u32, u32, u32)>) {
        let s = &self.topo.services[svc];
        let name = s.name.clone();
        let Some(&old) = version.last() else { return };
        let new = match kind {
            Deploy::Routine if self.rng.chance(0.3) => (old.0, old.1 + 1, 0),
            Deploy::Routine => (old.0, old.1, old.2 + 1),
            Deploy::Bad => (old.0, old.1 + 1, 0),
            Deploy::Rollback => version
                .get(version.len().saturating_sub(2))
                .copied()
                .unwrap_or(old),
        };
        let fmt = |v: (u32, u32, u32)| format!("{}.{}.{}", v.0, v.1, v.2);
        let (o, n) = (fmt(old), fmt(new));
        let attrs = [
            ("version", n.clone()),
            ("previous_version", o.clone()),
            ("k8s.deployment", name.clone()),
            ("deployer", "argo-cd".to_string()),
        ];
        let (verb, sev) = if kind == Deploy::Rollback {
            ("Rollback", "WARN")
        } else {
            ("Rolling update", "INFO")
        };
        self.push(ts, Some(svc), None, "deploy", sev, format!("{verb} started: deployment/{name} image registry.shop.internal/{name}:{n} (was {o})"), &attrs);
        let pods = s.pods.clone();
        let mut t = ts;
        for pod in &pods {
            t += (self.rng.uniform(8.0, 15.0) * NANOS_PER_SEC as f64) as i64;
            let pod_name = self.topo.pods[*pod].name.clone();
            self.restart(
                *pod,
                t,
                format!("Started container {name} in pod {pod_name} (image {name}:{n})"),
            );
        }
        let replicas = pods.len();
        self.push(
            t + 5 * NANOS_PER_SEC,
            Some(svc),
            None,
            "deploy",
            "INFO",
            format!("{verb} complete: deployment/{name} {replicas}/{replicas} replicas available"),
            &attrs,
        );
        if kind == Deploy::Rollback {
            version.pop();
        } else {
            version.push(new);
        }
    }
}

/// A time in [lo, hi) for a routine change of `svc`, if one of a few draws is quiet: routine
/// changes stay out of fault windows and well clear of faults of the same service or of a bad
/// release, so that each fault has one story.
fn quiet_time(rng: &mut impl Rng, faults: &[Fault], svc: usize, lo: i64, hi: i64) -> Option<i64> {
    let quiet = |t: i64| {
        faults.iter().all(|f| {
            let wide = f.service == svc || f.kind == FaultKind::ErrorBurstAfterDeploy;
            let before = if wide { 30 } else { 3 };
            t < f.start - before * MIN || t > f.end + 3 * MIN
        })
    };
    (0..10)
        .map(|_| lo + (rng.unit() * (hi - lo).max(1) as f64) as i64)
        .find(|&t| quiet(t))
}

/// Plans every event of [start, end).
pub(crate) fn plan(
    topo: &Topology,
    faults: &[Fault],
    start: i64,
    end: i64,
    rng: &mut impl Rng,
) -> Timeline {
    let mut restarts: Vec<Vec<i64>> = Vec::with_capacity(topo.pods.len());
    for _ in &topo.pods {
        restarts.push(vec![
            start - (rng.uniform(3.0, 96.0) * NANOS_PER_HOUR as f64) as i64,
        ]);
    }
    let mut p = Planner {
        topo,
        rng,
        out: Timeline {
            events: Vec::new(),
            restarts,
        },
    };
    let hours = (end - start) as f64 / NANOS_PER_HOUR as f64;
    let apps: Vec<usize> = (0..topo.services.len())
        .filter(|&i| matches!(topo.services[i].role, Role::App | Role::Edge))
        .collect();

    // Deploys, in time order per service so versions follow each other.
    let mut deploys: Vec<(i64, usize, Deploy)> = Vec::new();
    if !apps.is_empty() {
        for _ in 0..p.rng.poisson(hours * apps.len() as f64 / 10.0) {
            let svc = apps[p.rng.index(apps.len())];
            if let Some(t) = quiet_time(p.rng, faults, svc, start + 5 * MIN, end - 5 * MIN) {
                deploys.push((t, svc, Deploy::Routine));
            }
        }
    }
    for f in faults
        .iter()
        .filter(|f| f.kind == FaultKind::ErrorBurstAfterDeploy)
    {
        deploys.push((f.start - 40 * NANOS_PER_SEC, f.service, Deploy::Bad));
        deploys.push((f.end - 60 * NANOS_PER_SEC, f.service, Deploy::Rollback));
    }
    deploys.sort_by_key(|d| (d.0, d.1));
    let mut versions: Vec<Vec<(u32, u32, u32)>> =
        topo.services.iter().map(|s| vec![s.version]).collect();
    for (t, svc, kind) in deploys {
        p.deploy(t, svc, kind, &mut versions[svc]);
    }

    // Routine noise: config changes, probe-failure restarts, autoscaling, an hourly job.
    const CONFIG: [(&str, &str, &str); 5] = [
        ("cache.ttl_seconds", "300", "600"),
        ("http.client.timeout_ms", "2000", "3000"),
        ("pool.max_size", "20", "32"),
        ("log.level", "info", "debug"),
        ("feature.gift_wrap", "false", "true"),
    ];
    for _ in 0..p
        .rng
        .poisson(hours / 2.0 * (apps.len() as f64 / 10.0).max(0.5))
    {
        let Some(&svc) = apps.get(p.rng.index(apps.len())) else {
            continue;
        };
        let Some(t) = quiet_time(p.rng, faults, svc, start, end) else {
            continue;
        };
        let (key, old, new) = *p.rng.pick(&CONFIG);
        let name = topo.services[svc].name.clone();
        let attrs = [
            ("configmap", format!("{name}-config")),
            ("key", key.to_string()),
            ("changed_by", "ops-bot".to_string()),
        ];
        p.push(
            t,
            Some(svc),
            None,
            "config_change",
            "INFO",
            format!("ConfigMap {NAMESPACE}/{name}-config updated: {key} {old} -> {new}"),
            &attrs,
        );
    }
    for _ in 0..p.rng.poisson(hours / 4.0) {
        let Some(&svc) = apps.get(p.rng.index(apps.len())) else {
            continue;
        };
        let Some(t) = quiet_time(p.rng, faults, svc, start, end) else {
            continue;
        };
        let pods = &topo.services[svc].pods;
        let pod = pods[p.rng.index(pods.len())];
        let pod_name = topo.pods[pod].name.clone();
        let name = topo.services[svc].name.clone();
        p.push(
            t,
            Some(svc),
            Some(&pod_name),
            "k8s",
            "WARN",
            "Liveness probe failed: HTTP probe failed with statuscode: 503".into(),
            &[
                ("k8s.pod", pod_name.clone()),
                ("reason", "Unhealthy".into()),
            ],
        );
        p.restart(
            pod,
            t + 30 * NANOS_PER_SEC,
            format!("Started container {name} in pod {pod_name} (restart count 1)"),
        );
    }
    for _ in 0..p.rng.poisson(hours / 3.0) {
        let Some(&svc) = apps.get(p.rng.index(apps.len())) else {
            continue;
        };
        let Some(t) = quiet_time(p.rng, faults, svc, start, end) else {
            continue;
        };
        let n = topo.services[svc].pods.len();
        let up = load(t) > 0.6;
        let (to, why) = if up {
            (n + 1, "above")
        } else {
            (n.saturating_sub(1).max(1), "below")
        };
        let name = topo.services[svc].name.clone();
        p.push(t, Some(svc), None, "autoscale", "INFO", format!("HorizontalPodAutoscaler {name}: desired replicas {to} (current {n}); reason: cpu resource utilization (percentage of request) {why} target"), &[("k8s.hpa", name.clone())]);
    }
    let mut hour = start;
    while hour < end {
        let t = hour + p.minutes(0.5, 3.0);
        let job = format!("report-aggregator-{}", t / MIN);
        let secs = p.rng.int(20, 140);
        p.push(
            t,
            None,
            None,
            "k8s",
            "INFO",
            format!("Job {NAMESPACE}/{job} completed in {secs} s"),
            &[("k8s.job", job.clone())],
        );
        hour += NANOS_PER_HOUR;
    }

    // What the faults look like from the outside.
    for f in faults {
        let svc = f.service;
        let name = topo.services[svc].name.clone();
        let top = topo.upstream(svc).last().copied().unwrap_or(svc);
        let top_name = topo.services[top].name.clone();
        let resolve = f.end + p.minutes(1.0, 3.0);
        match f.kind {
            FaultKind::Latency => {
                if p.rng.chance(0.6) {
                    let t = f.start + p.minutes(2.0, 4.0);
                    p.alert(
                        t,
                        svc,
                        None,
                        "HighLatencyP99",
                        false,
                        &format!("{name} p99 latency above 500 ms for 2m"),
                        resolve,
                    );
                }
                let t = f.start + p.minutes(4.0, 6.0);
                p.alert(
                    t,
                    top,
                    None,
                    "SLOBurnRateHigh",
                    true,
                    &format!(
                        "{top_name} latency SLO error budget burning 14.4x faster than allowed"
                    ),
                    resolve,
                );
            }
            FaultKind::ErrorBurstAfterDeploy => {
                let t = f.start + p.minutes(2.0, 3.0);
                p.alert(
                    t,
                    svc,
                    None,
                    "HighErrorRate",
                    true,
                    &format!("{name} 5xx ratio above 5% for 2m"),
                    resolve,
                );
                if top != svc && p.rng.chance(0.7) {
                    let t = f.start + p.minutes(3.0, 5.0);
                    p.alert(t, top, None, "SLOBurnRateHigh", true, &format!("{top_name} availability SLO error budget burning 14.4x faster than allowed"), resolve);
                }
            }
            FaultKind::CpuSaturation => {
                let pod = f.pod.unwrap_or(topo.services[svc].pods[0]);
                let pod_name = topo.pods[pod].name.clone();
                let t = f.start + p.minutes(2.5, 3.5);
                let pct = p.rng.int(60, 95);
                p.alert(t, svc, Some(&pod_name), "CPUThrottlingHigh", false, &format!("{pct}% throttling of CPU in namespace {NAMESPACE} for container {name} in pod {pod_name}"), resolve);
                let n = topo.services[svc].pods.len();
                let t = f.start + p.minutes(4.0, 5.0);
                p.push(t, Some(svc), None, "autoscale", "INFO", format!("HorizontalPodAutoscaler {name}: desired replicas {} (current {n}); reason: cpu resource utilization (percentage of request) above target", n + 1), &[("k8s.hpa", name.clone())]);
            }
            FaultKind::DependencyOutage => {
                let reason = if topo.services[svc].runtime == Runtime::Redis {
                    "OOMKilled (exit code 137)"
                } else {
                    "Error (exit code 1)"
                };
                for &pod in &topo.services[svc].pods.clone() {
                    let pod_name = topo.pods[pod].name.clone();
                    let ip = topo.pods[pod].ip.clone();
                    let port = topo.services[svc].port;
                    p.push(
                        f.start,
                        Some(svc),
                        Some(&pod_name),
                        "k8s",
                        "ERROR",
                        format!("Container {name} in pod {pod_name} terminated: {reason}"),
                        &[
                            ("k8s.pod", pod_name.clone()),
                            ("reason", "Terminated".into()),
                        ],
                    );
                    p.push(f.start + 30 * NANOS_PER_SEC, Some(svc), Some(&pod_name), "k8s", "WARN", format!("Readiness probe failed: dial tcp {ip}:{port}: connect: connection refused"), &[("k8s.pod", pod_name.clone()), ("reason", "Unhealthy".into())]);
                    let mut t = f.start + p.minutes(1.0, 2.0);
                    while t < f.end {
                        p.push(
                            t,
                            Some(svc),
                            Some(&pod_name),
                            "k8s",
                            "WARN",
                            format!(
                                "Back-off restarting failed container {name} in pod {pod_name}"
                            ),
                            &[("k8s.pod", pod_name.clone()), ("reason", "BackOff".into())],
                        );
                        t += p.minutes(2.0, 4.0);
                    }
                    p.restart(
                        pod,
                        f.end,
                        format!("Started container {name} in pod {pod_name}"),
                    );
                }
                let t = f.start + p.minutes(1.0, 2.0);
                p.alert(
                    t,
                    svc,
                    None,
                    "TargetDown",
                    true,
                    &format!("100% of the {name} targets in namespace {NAMESPACE} are down"),
                    resolve,
                );
                let pod_name = topo.pods[topo.services[svc].pods[0]].name.clone();
                let t = f.start + p.minutes(4.0, 6.0);
                p.alert(
                    t,
                    svc,
                    Some(&pod_name),
                    "KubePodCrashLooping",
                    false,
                    &format!(
                        "pod {NAMESPACE}/{pod_name} is in waiting state (reason: CrashLoopBackOff)"
                    ),
                    resolve,
                );
            }
        }
    }
    let mut out = p.out;
    out.events.retain(|e| e.ts >= start && e.ts < end);
    out.events.sort_by_key(|e| e.ts);
    for r in &mut out.restarts {
        r.sort_unstable();
    }
    out
}

/// Writes the planned events of [from, to).
pub(crate) fn write_events(
    topo: &Topology,
    timeline: &Timeline,
    from: i64,
    to: i64,
    sink: &mut TableSink,
) -> Result<()> {
    for e in timeline.events.iter().filter(|e| e.ts >= from && e.ts < to) {
        let r = sink.row();
        r.set("ts", Cell::Ts(e.ts))
            .set("service", e.service.map(|s| topo.services[s].name.as_str()))
            .set("host", e.host.as_deref())
            .set("kind", e.kind)
            .set("severity", e.severity)
            .set("message", e.message.as_str())
            .set("attributes", e.attributes.as_str());
        sink.commit()?;
    }
    Ok(())
}
