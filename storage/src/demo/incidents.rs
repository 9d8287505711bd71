//! Injected faults: where and when they happen, what they do to a request or a pod at a given
//! time, and their labels.
//!
//! The range is cut into equal slots, one fault per slot, placed in the middle part of its slot
//! so that each fault has quiet time before and after it. Kinds rotate through a seeded shuffle
//! of the four, so two hours already contain all four kinds.

use chrono::{DateTime, SecondsFormat};
use rand::Rng;
use rand::seq::SliceRandom;

use super::Incident;
use super::random::RngExt;
use super::topology::{Role, Runtime, Topology};

pub(crate) const NANOS_PER_SEC: i64 = 1_000_000_000;
const MIN: i64 = 60 * NANOS_PER_SEC;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultKind {
    Latency,
    ErrorBurstAfterDeploy,
    CpuSaturation,
    DependencyOutage,
}

impl FaultKind {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Latency => "latency",
            Self::ErrorBurstAfterDeploy => "error_burst_after_deploy",
            Self::CpuSaturation => "cpu_saturation",
            Self::DependencyOutage => "dependency_outage",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Fault {
    pub kind: FaultKind,
    pub service: usize,
    /// The saturated pod (cpu_saturation only).
    pub pod: Option<usize>,
    pub start: i64,
    pub end: i64,
    /// Latency multiplier, error probability or CPU slow-down, by kind.
    pub strength: f64,
}

/// What the active faults do to one request (or scrape) of `service` on `pod` at a time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Effects {
    /// Multiplier of the service's own processing time.
    pub slowdown: f64,
    /// Probability that a request fails because of a bad release.
    pub bad_release: f64,
    pub latency_root: bool,
    pub cpu_hot: bool,
    pub down: bool,
}

impl Default for Effects {
    fn default() -> Self {
        Self {
            slowdown: 1.0,
            bad_release: 0.0,
            latency_root: false,
            cpu_hot: false,
            down: false,
        }
    }
}

impl Fault {
    pub(crate) fn active(&self, ts: i64) -> bool {
        (self.start..self.end).contains(&ts)
    }

    /// 0 → 1 over the first 90 s (faults build up; they do not switch on).
    fn ramp(&self, ts: i64) -> f64 {
        ((ts - self.start) as f64 / (90 * NANOS_PER_SEC) as f64).clamp(0.0, 1.0)
    }
}

/// The effects of `faults` (already narrowed to the hour) on `service`/`pod` at `ts`.
pub(crate) fn effects(faults: &[&Fault], service: usize, pod: usize, ts: i64) -> Effects {
    let mut e = Effects::default();
    for f in faults {
        if f.service != service || !f.active(ts) {
            continue;
        }
        match f.kind {
            FaultKind::Latency => {
                e.slowdown *= 1.0 + (f.strength - 1.0) * f.ramp(ts);
                e.latency_root = true;
            }
            FaultKind::ErrorBurstAfterDeploy => e.bad_release = f.strength,
            FaultKind::CpuSaturation if f.pod == Some(pod) => {
                e.slowdown *= 1.0 + (f.strength - 1.0) * f.ramp(ts);
                e.cpu_hot = true;
            }
            FaultKind::CpuSaturation => {}
            FaultKind::DependencyOutage => e.down = true,
        }
    }
    e
}

/// How many faults a run of `hours` gets: 2 in one hour, all four kinds in two, then about one
/// every two hours.
fn fault_count(hours: u32) -> usize {
    (2 * hours as usize).min(4 + hours as usize / 2).max(2)
}

fn pick_service(topo: &Topology, rng: &mut impl Rng, ok: impl Fn(usize) -> bool) -> Option<usize> {
    let candidates: Vec<usize> = (0..topo.services.len()).filter(|&i| ok(i)).collect();
    (!candidates.is_empty()).then(|| candidates[rng.index(candidates.len())])
}

/// Plans the faults of a run.
pub(crate) fn plan(topo: &Topology, start: i64, hours: u32, rng: &mut impl Rng) -> Vec<Fault> {
    let n = fault_count(hours);
    let slot = hours as i64 * 60 * MIN / n as i64;
    let mut kinds = Vec::with_capacity(n);
    while kinds.len() < n {
        let mut four = [
            FaultKind::Latency,
            FaultKind::ErrorBurstAfterDeploy,
            FaultKind::CpuSaturation,
            FaultKind::DependencyOutage,
        ];
        four.shuffle(rng);
        kinds.extend(four);
    }
    let svcs = &topo.services;
    let app = |i: usize| svcs[i].role == Role::App;
    let called_app = |i: usize| app(i) && !svcs[i].callers.is_empty();
    let mut out: Vec<Fault> = Vec::with_capacity(n);
    for (k, kind) in kinds.into_iter().take(n).enumerate() {
        let slot_start = start + k as i64 * slot;
        let begin = slot_start + (slot as f64 * rng.uniform(0.25, 0.45)) as i64;
        let length = ((rng.uniform(8.0, 15.0) * MIN as f64) as i64).min(slot * 2 / 5);
        let previous = out.last().map(|f| f.service);
        let fresh = |i: usize| Some(i) != previous;
        let service = match kind {
            FaultKind::Latency | FaultKind::ErrorBurstAfterDeploy => {
                pick_service(topo, rng, |i| called_app(i) && fresh(i))
                    .or_else(|| pick_service(topo, rng, app))
            }
            FaultKind::CpuSaturation => pick_service(topo, rng, |i| {
                called_app(i) && svcs[i].runtime == Runtime::Jvm && fresh(i)
            })
            .or_else(|| pick_service(topo, rng, called_app)),
            FaultKind::DependencyOutage => pick_service(topo, rng, |i| {
                matches!(svcs[i].role, Role::Database | Role::Cache)
            })
            .or_else(|| {
                pick_service(topo, rng, |i| {
                    called_app(i) && svcs[i].ops.iter().all(|o| o.calls.is_empty())
                })
            }),
        }
        // Tiny systems (a frontend and a gateway) still get their faults somewhere.
        .unwrap_or(svcs.len() - 1);
        let pod = (kind == FaultKind::CpuSaturation).then(|| {
            let pods = &svcs[service].pods;
            pods[rng.index(pods.len())]
        });
        let strength = match kind {
            FaultKind::Latency => rng.uniform(8.0, 14.0),
            FaultKind::ErrorBurstAfterDeploy => rng.uniform(0.3, 0.45),
            FaultKind::CpuSaturation => rng.uniform(3.5, 5.0),
            FaultKind::DependencyOutage => 1.0,
        };
        out.push(Fault {
            kind,
            service,
            pod,
            start: begin,
            end: begin + length,
            strength,
        });
    }
    out
}

pub(crate) fn rfc3339(ts: i64) -> String {
    DateTime::from_timestamp_nanos(ts).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The labels of the planned faults.
pub(crate) fn incidents(topo: &Topology, faults: &[Fault]) -> Vec<Incident> {
    faults
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let svc = &topo.services[f.service];
            let affected: Vec<String> = topo
                .upstream(f.service)
                .into_iter()
                .map(|s| topo.services[s].name.clone())
                .collect();
            let callers = if affected.len() > 1 {
                affected[1..].join(", ")
            } else {
                "no other service".to_string()
            };
            let minutes = (f.end - f.start) / MIN;
            let description = match f.kind {
                FaultKind::Latency => format!(
                    "{} processes requests up to {:.0}x slower for {minutes} min (lock contention); \
                     slow responses and timeouts propagate to {callers}",
                    svc.name, f.strength
                ),
                FaultKind::ErrorBurstAfterDeploy => format!(
                    "a bad release of {} deployed at {} fails {:.0}% of its requests with new \
                     exceptions until it is rolled back; errors propagate to {callers}",
                    svc.name,
                    rfc3339(f.start - 40 * NANOS_PER_SEC),
                    f.strength * 100.0
                ),
                FaultKind::CpuSaturation => format!(
                    "pod {} of {} runs at its CPU limit and is throttled for {minutes} min; its \
                     requests are {:.0}x slower, felt by {callers}",
                    f.pod.map_or("?", |p| topo.pods[p].name.as_str()),
                    svc.name,
                    f.strength
                ),
                FaultKind::DependencyOutage => format!(
                    "{} is down (crash loop) for {minutes} min; connections are refused and \
                     {callers} fail or fall back",
                    svc.name
                ),
            };
            Incident {
                id: format!("inc-{:02}", i + 1),
                kind: f.kind.label().to_string(),
                service: svc.name.clone(),
                start: rfc3339(f.start),
                end: rfc3339(f.end),
                affected,
                description,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::random::{Purpose, stream};

    #[test]
    fn faults_fit_the_range_and_do_not_overlap() {
        for (hours, services) in [(1, 3), (1, 12), (2, 6), (24, 40), (5, 2), (1, 1)] {
            let topo = Topology::build(services, &mut stream(9, 0, Purpose::Topology));
            let start = 1_717_372_800 * NANOS_PER_SEC;
            let faults = plan(&topo, start, hours, &mut stream(9, 0, Purpose::Incidents));
            assert!(faults.len() >= 2, "{hours}h");
            let end = start + hours as i64 * 60 * MIN;
            for w in faults.windows(2) {
                assert!(w[0].end < w[1].start);
            }
            for f in &faults {
                assert!(
                    start < f.start && f.end < end && f.end - f.start >= 5 * MIN,
                    "{f:?}"
                );
            }
            if hours >= 2 {
                let mut kinds: Vec<_> = faults.iter().map(|f| f.kind.label()).collect();
                kinds.sort_unstable();
                kinds.dedup();
                assert_eq!(kinds.len(), 4);
            }
            let labels = incidents(&topo, &faults);
            assert_eq!(labels.len(), faults.len());
            assert!(labels.iter().all(|l| l.affected[0] == l.service));
        }
    }
}
