//! The logs a service writes while serving a request or making a call: access logs, domain
//! logs, stack traces of failures, and the faults' own templates.

use datafusion::common::Result;

use super::{Failure, Traffic, pick_id};
use crate::demo::incidents::Effects;
use crate::demo::random::RngExt;
use crate::demo::templates::{self, Fill, Scope, pattern};
use crate::demo::topology::{NAMESPACE, REGION, Role, Runtime, Topology};
use crate::rows::Cell;

/// The attributes of each service's logs (namespace, region, logger).
pub(crate) fn log_attributes(topo: &Topology) -> Vec<String> {
    topo.services
        .iter()
        .map(|s| {
            let logger = match s.runtime {
                Runtime::Jvm => format!("com.shop.{}.web.ApiController", s.name.replace('-', "")),
                Runtime::Go => format!("{}/internal/server", s.name),
                Runtime::Node => format!("{}:http", s.name),
                Runtime::Python => format!("{}.handlers", s.name.replace('-', "_")),
                Runtime::Postgres => "postgres".to_string(),
                Runtime::Redis => "redis".to_string(),
            };
            format!(r#"{{"k8s.namespace":"{NAMESPACE}","region":"{REGION}","logger":"{logger}"}}"#)
        })
        .collect()
}

impl Traffic<'_> {
    pub(super) fn log(
        &mut self,
        ts: i64,
        service: usize,
        pod: usize,
        template: Option<usize>,
        fill: &Fill<'_>,
        span_id: &str,
    ) -> Result<()> {
        let Some(id) = template else {
            return Ok(());
        };
        let body = templates::render(id, fill, &mut self.rng);
        let r = self.logs.row();
        r.set("ts", Cell::Ts(ts))
            .set("service", self.topo.services[service].name.as_str())
            .set("host", self.topo.pods[pod].name.as_str())
            .set("severity", templates::severity(id))
            .set("body", body)
            .set("trace_id", self.trace_id.as_str())
            .set("span_id", span_id)
            .set("attributes", self.log_attrs[service].as_str());
        self.logs.commit()
    }

    /// A template of `scope` and `severity`, or of `fallback` when the scope has none.
    pub(super) fn pick(
        &mut self,
        scope: Scope,
        fallback: Scope,
        severity: &'static str,
    ) -> Option<usize> {
        pick_id(&mut self.rng, templates::ids(scope, severity))
            .or_else(|| pick_id(&mut self.rng, templates::ids(fallback, severity)))
    }

    pub(super) fn server_logs(
        &mut self,
        w: &ServerLog,
        fill: &Fill<'_>,
        span_id: &str,
    ) -> Result<()> {
        let topo = self.topo;
        let service = &topo.services[w.svc];
        let mid = w.start + ((w.end - w.start) as f64 * self.rng.unit()) as i64;
        let late = w.end - ((w.end - w.start) as f64 * 0.05 * self.rng.unit()) as i64;
        let (svc, pod) = (w.svc, w.pod);
        match service.role {
            Role::Edge if service.name == "frontend" => {
                self.log(
                    w.end,
                    svc,
                    pod,
                    templates::id_of(pattern::ACCESS_FRONTEND),
                    fill,
                    span_id,
                )?;
            }
            Role::Edge => {
                let p = if w.down_peer {
                    pattern::GATEWAY_RESET
                } else if fill.status >= 500 {
                    pattern::GATEWAY_5XX
                } else {
                    pattern::ACCESS_GATEWAY
                };
                self.log(w.end, svc, pod, templates::id_of(p), fill, span_id)?;
                if fill.ms > 1000.0 && self.rng.chance(0.5) {
                    self.log(
                        w.end,
                        svc,
                        pod,
                        templates::id_of(pattern::GATEWAY_SLOW),
                        fill,
                        span_id,
                    )?;
                }
            }
            Role::Database => {
                if fill.ms > 100.0 || self.rng.chance(0.003) {
                    self.log(
                        w.end,
                        svc,
                        pod,
                        templates::id_of(pattern::PG_DURATION),
                        fill,
                        span_id,
                    )?;
                }
                if w.error {
                    let t = self.pick(Scope::Postgres, Scope::Postgres, "ERROR");
                    self.log(late, svc, pod, t, fill, span_id)?;
                }
                return Ok(());
            }
            Role::Cache => {
                if w.error || self.rng.chance(0.002) {
                    let t = self.pick(
                        Scope::Redis,
                        Scope::Redis,
                        if w.error { "ERROR" } else { "WARN" },
                    );
                    self.log(late, svc, pod, t, fill, span_id)?;
                }
                return Ok(());
            }
            Role::App => {}
        }
        let domain = Scope::Domain(static_name(&service.name));
        if self.rng.chance(0.7) {
            let t = self.pick(domain, Scope::App, "INFO");
            self.log(mid, svc, pod, t, fill, span_id)?;
        }
        if self.rng.chance(0.4) {
            let scope = if self.rng.chance(0.5) {
                domain
            } else {
                Scope::App
            };
            let t = self.pick(scope, Scope::App, "DEBUG");
            self.log(mid, svc, pod, t, fill, span_id)?;
        }
        if self.rng.chance(0.006) {
            let t = pick_id(&mut self.rng, templates::ids(domain, "WARN"));
            self.log(mid, svc, pod, t, fill, span_id)?;
        }
        if fill.status >= 400 && fill.status < 500 {
            self.log(
                late,
                svc,
                pod,
                templates::id_of(pattern::CLIENT_ERROR),
                fill,
                span_id,
            )?;
        }
        if w.fx.latency_root && self.rng.chance(0.3) {
            let t = pick_id(&mut self.rng, &templates::scope_ids(Scope::FaultLatency));
            self.log(mid, svc, pod, t, fill, span_id)?;
        }
        if w.fx.cpu_hot && self.rng.chance(0.25) {
            let t = pick_id(&mut self.rng, &templates::scope_ids(Scope::FaultCpu));
            self.log(w.start, svc, pod, t, fill, span_id)?;
        }
        if !w.error {
            return Ok(());
        }
        let t = if w.bad_release {
            let scope = match service.runtime {
                Runtime::Jvm => Scope::FaultDeployJvm,
                Runtime::Go => Scope::FaultDeployGo,
                Runtime::Node => Scope::FaultDeployNode,
                _ => Scope::FaultDeployPython,
            };
            pick_id(&mut self.rng, templates::ids(scope, "ERROR"))
        } else if w.own_error && self.rng.chance(0.5) {
            let scope = match service.runtime {
                Runtime::Jvm => Scope::ErrJvm,
                Runtime::Go => Scope::ErrGo,
                Runtime::Node => Scope::ErrNode,
                _ => Scope::ErrPython,
            };
            pick_id(&mut self.rng, templates::ids(scope, "ERROR"))
        } else if w.own_error {
            self.pick(domain, Scope::App, "ERROR")
        } else {
            templates::id_of(pattern::REQUEST_FAILED)
        };
        self.log(late, svc, pod, t, fill, span_id)
    }

    /// What a caller logs about one call it made.
    pub(super) fn client_log(&mut self, c: &ClientLog<'_>) -> Result<()> {
        let topo = self.topo;
        let callee = &topo.services[c.callee];
        let (failure, status, table, dur) = (c.failure, c.status, c.table, c.dur);
        let peer = callee.name.as_str();
        let target_pod = &topo.pods[callee.pods[self.rng.index(callee.pods.len())]];
        let ms = dur as f64 / 1e6;
        let mut fill = Fill {
            ms,
            peer,
            peer_ip: &target_pod.ip,
            peer_port: callee.port,
            status,
            table,
            ..Fill::default()
        };
        let (p, template) = match (failure, callee.role) {
            (Some(Failure::Down), role) => {
                fill.ms = *self.rng.pick(&[100.0, 250.0, 500.0, 1000.0]);
                let scope = if role == Role::Database {
                    Scope::FaultOutageDb
                } else {
                    Scope::FaultOutageCache
                };
                (0.8, pick_id(&mut self.rng, &templates::scope_ids(scope)))
            }
            (Some(Failure::Timeout), _) => (0.8, templates::id_of(pattern::TIMEOUT_CALL)),
            (Some(Failure::Status), Role::Edge | Role::App) => {
                (0.5, templates::id_of(pattern::CALL_FAILED))
            }
            (Some(Failure::Status), _) => (0.3, templates::id_of(pattern::REQUEST_FAILED)),
            (None, Role::Cache) if ms > 50.0 => (1.0, templates::id_of(pattern::REDIS_SLOW)),
            (None, Role::Cache) => {
                let p = if self.rng.chance(0.7) {
                    pattern::CACHE_HIT
                } else {
                    pattern::CACHE_MISS
                };
                (0.35, templates::id_of(p))
            }
            (None, Role::Database) if ms > 200.0 => (1.0, templates::id_of(pattern::SLOW_QUERY)),
            (None, Role::Database) => (0.2, self.pick(Scope::DbClient, Scope::DbClient, "DEBUG")),
            (None, _) if ms > 800.0 => (0.5, templates::id_of(pattern::SLOW_UPSTREAM)),
            (None, _) => (0.0, None),
        };
        if p > 0.0 && self.rng.chance(p) {
            self.log(c.end, c.caller, c.caller_pod, template, &fill, c.span_id)?;
        }
        Ok(())
    }
}

/// Why and where a caller logs about a call.
pub(super) struct ClientLog<'s> {
    pub(super) caller: usize,
    pub(super) caller_pod: usize,
    pub(super) callee: usize,
    pub(super) span_id: &'s str,
    pub(super) end: i64,
    pub(super) dur: i64,
    pub(super) failure: Option<Failure>,
    pub(super) status: u16,
    pub(super) table: &'s str,
}

pub(super) struct ServerLog {
    pub(super) svc: usize,
    pub(super) pod: usize,
    pub(super) start: i64,
    pub(super) end: i64,
    pub(super) error: bool,
    pub(super) own_error: bool,
    pub(super) bad_release: bool,
    pub(super) down_peer: bool,
    pub(super) fx: Effects,
}

/// Domain scopes are keyed by `&'static str`; map a service name to the table's own spelling.
fn static_name(name: &str) -> &'static str {
    const NAMES: [&str; 20] = [
        "frontend",
        "api-gateway",
        "auth",
        "search",
        "recommendation",
        "ad",
        "review",
        "checkout",
        "order",
        "cart",
        "catalog",
        "pricing",
        "inventory",
        "payment",
        "shipping",
        "user",
        "session",
        "currency",
        "notification",
        "email",
    ];
    NAMES.iter().find(|n| **n == name).copied().unwrap_or("")
}
