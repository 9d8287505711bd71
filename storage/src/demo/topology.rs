//! The simulated system: services, their operations and call graph, pods and nodes.
//!
//! The call graph is a DAG by construction: every service has a rank (edge services first, data
//! stores last) and a call only goes from a lower to a higher rank. Known names get hand-written,
//! plausible dependencies (checkout calls payment, cart calls redis); `svc-NN` services beyond the
//! list get random ones.

use rand::Rng;

use super::catalog::{KNOWN, PAGE_WEIGHTS, PAGES, POSTGRES_OPS, REDIS_OPS, SELECTION};
use super::random::RngExt;
use Role::{App, Cache, Database, Edge};
use Runtime::{Go, Jvm, Node as NodeJs, Python};

/// What a service is, which decides its operations, logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// frontend and api-gateway: entry points, access logs.
    Edge,
    App,
    Database,
    Cache,
}

/// The runtime, which decides stack-trace styles and whether `gc_pause_ms` exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Runtime {
    Jvm,
    Go,
    Node,
    Python,
    Postgres,
    Redis,
}

/// One operation a service serves.
#[derive(Debug, Clone)]
pub(crate) struct Op {
    /// The span name: `GET /api/cart/{id}`, `SELECT shop.orders`, `GET`.
    pub name: String,
    pub method: &'static str,
    /// The route template (`/api/cart/{id}`), empty for data stores.
    pub route: String,
    pub median_ms: f64,
    pub sigma: f64,
    pub error_rate: f64,
    /// Relative frequency among the service's operations when a caller does not choose one.
    pub weight: f64,
    pub calls: Vec<Call>,
}

/// A call made while serving an operation.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub to: usize,
    /// Probability that one request makes this call.
    pub p: f64,
    /// The callee's operation; `None` picks one at random per call.
    pub op: Option<usize>,
    pub max_repeat: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub name: String,
    pub role: Role,
    pub runtime: Runtime,
    pub ops: Vec<Op>,
    /// Distinct direct callers (services), filled after the graph is built.
    pub callers: Vec<usize>,
    pub pods: Vec<usize>,
    pub port: u16,
    /// The database table its queries touch (when it calls postgres).
    pub table: &'static str,
    /// Deployed version at the start of the run.
    pub version: (u32, u32, u32),
    pub cpu_idle: f64,
    /// Cores per request/s.
    pub cpu_per_rps: f64,
    pub mem_base: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct Pod {
    pub name: String,
    pub service: usize,
    pub node: usize,
    pub ip: String,
    pub cpu_limit: f64,
    pub mem_limit: f64,
    /// Offset of its metric scrapes inside each 10 s interval, in ns.
    pub phase_ns: i64,
    /// Pre-built metric/log attributes JSON (node, namespace, region).
    pub attributes: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub name: String,
    pub zone: String,
    pub cores: f64,
    pub mem_bytes: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct Topology {
    pub services: Vec<Service>,
    pub pods: Vec<Pod>,
    pub nodes: Vec<Node>,
}

pub(crate) const REGION: &str = "us-east-1";
pub(crate) const NAMESPACE: &str = "shop";

const POD_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn k8s_suffix(rng: &mut impl Rng, len: usize) -> String {
    (0..len).map(|_| *rng.pick(POD_ALPHABET) as char).collect()
}

/// The names of a run with `n` services.
pub(crate) fn service_names(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match SELECTION.get(i) {
            Some(name) => (*name).to_string(),
            None => format!("svc-{:02}", i + 1),
        })
        .collect()
}

impl Topology {
    pub(crate) fn build(n: usize, rng: &mut impl Rng) -> Self {
        let names = service_names(n);
        // Rank: known services by their place in KNOWN (stores last), svc-NN between.
        let rank = |name: &str, i: usize| -> usize {
            match KNOWN.iter().position(|k| k.name == name) {
                Some(p) if KNOWN[p].role == Database || KNOWN[p].role == Cache => 10_000 + p,
                Some(p) => p,
                None => 100 + i,
            }
        };
        let ranks: Vec<usize> = names.iter().enumerate().map(|(i, s)| rank(s, i)).collect();
        let find = |name: &str| names.iter().position(|s| s == name);

        let mut services: Vec<Service> = names
            .iter()
            .map(|name| {
                let k = KNOWN.iter().find(|k| k.name == name);
                let role = k.map_or(App, |k| k.role);
                let runtime =
                    k.map_or_else(|| *rng.pick(&[Jvm, Go, Go, NodeJs, Python]), |k| k.runtime);
                let (port, mem_base) = match runtime {
                    Jvm => (8080, rng.uniform(600e6, 900e6)),
                    Go => (8080, rng.uniform(40e6, 120e6)),
                    NodeJs => (3000, rng.uniform(120e6, 220e6)),
                    Python => (8000, rng.uniform(150e6, 300e6)),
                    Runtime::Postgres => (5432, rng.uniform(2.0e9, 3.0e9)),
                    Runtime::Redis => (6379, rng.uniform(300e6, 600e6)),
                };
                Service {
                    name: name.clone(),
                    role,
                    runtime,
                    ops: Vec::new(),
                    callers: Vec::new(),
                    pods: Vec::new(),
                    port,
                    table: k.map_or("items", |k| k.table),
                    version: (
                        rng.int(1, 4) as u32,
                        rng.int(0, 30) as u32,
                        rng.int(0, 12) as u32,
                    ),
                    cpu_idle: rng.uniform(0.01, 0.05),
                    cpu_per_rps: rng.uniform(0.004, 0.02),
                    mem_base,
                }
            })
            .collect();

        // Operations of everything but the edge services and the stores.
        for svc in services.iter_mut() {
            let known = KNOWN.iter().find(|k| k.name == svc.name);
            svc.ops = match svc.role {
                Database => POSTGRES_OPS
                    .iter()
                    .map(|(m, ms)| op(m, "", *ms, 0.6, 0.0005))
                    .collect(),
                Cache => REDIS_OPS
                    .iter()
                    .map(|(m, ms)| op(m, "", *ms, 0.5, 0.0002))
                    .collect(),
                _ => match known {
                    Some(k) => k
                        .routes
                        .iter()
                        .map(|(m, r, ms)| op(m, r, *ms, rng.uniform(0.35, 0.6), 0.002))
                        .collect(),
                    None => {
                        let base = format!("/api/{}", svc.name);
                        vec![
                            op(
                                "GET",
                                &format!("{base}/items/{{id}}"),
                                rng.uniform(2.0, 15.0),
                                0.5,
                                0.002,
                            ),
                            op(
                                "POST",
                                &format!("{base}/jobs"),
                                rng.uniform(5.0, 30.0),
                                0.5,
                                0.003,
                            ),
                        ]
                    }
                },
            };
            if svc.name == "api-gateway" {
                svc.ops.clear();
            }
        }

        // Calls of application services: a random subset of their dependencies per operation.
        for i in 0..n {
            if services[i].role != App {
                continue;
            }
            let deps: Vec<usize> = match KNOWN.iter().find(|k| k.name == services[i].name) {
                Some(k) => k.calls.iter().filter_map(|c| find(c)).collect(),
                None => {
                    let later: Vec<usize> = (0..n).filter(|&j| ranks[j] > ranks[i]).collect();
                    let k = rng.int(0, 2.min(later.len() as i64)) as usize;
                    let mut deps: Vec<usize> = (0..k).map(|_| *rng.pick(&later)).collect();
                    deps.sort_unstable();
                    deps.dedup();
                    deps
                }
            };
            let deps: Vec<usize> = deps.into_iter().filter(|&d| ranks[d] > ranks[i]).collect();
            let checkout = services[i].name == "checkout";
            for o in 0..services[i].ops.len() {
                let write = services[i].ops[o].method != "GET";
                let mut calls = Vec::new();
                for &d in &deps {
                    if !checkout && deps.len() > 1 && rng.chance(0.3) {
                        continue;
                    }
                    let (op, repeat) = match services[d].role {
                        Database => (Some(if write { rng.int(1, 2) as usize } else { 0 }), 3),
                        Cache => (None, 2),
                        _ => (None, 1),
                    };
                    let p = if checkout {
                        rng.uniform(0.85, 1.0)
                    } else {
                        rng.uniform(0.4, 0.95)
                    };
                    calls.push(Call {
                        to: d,
                        p,
                        op,
                        max_repeat: repeat,
                    });
                }
                services[i].ops[o].calls = calls;
            }
        }

        // A store nobody's known dependencies reach serves the first application services.
        let apps: Vec<usize> = (0..n).filter(|&i| services[i].role == App).collect();
        for s in 0..n {
            let store = matches!(services[s].role, Database | Cache);
            let called = services
                .iter()
                .any(|x| x.ops.iter().any(|o| o.calls.iter().any(|c| c.to == s)));
            if !store || called {
                continue;
            }
            let database = services[s].role == Database;
            for &a in apps.iter().take(2) {
                for o in &mut services[a].ops {
                    let write = o.method != "GET";
                    let op = database.then_some(usize::from(write));
                    o.calls.push(Call {
                        to: s,
                        p: 0.7,
                        op,
                        max_repeat: 2,
                    });
                }
            }
        }

        // The gateway proxies each entry service's routes, verifying tokens with auth first;
        // the frontend's pages call the gateway (or the services directly without one).
        let gateway = find("api-gateway");
        let auth = find("auth");
        let mut entries: Vec<usize> = KNOWN[1].calls.iter().filter_map(|c| find(c)).collect();
        // Application services nobody calls hang off the gateway (or the frontend).
        for i in 0..n {
            let called = services
                .iter()
                .any(|s| s.ops.iter().any(|o| o.calls.iter().any(|c| c.to == i)));
            if services[i].role == App && !called && !entries.contains(&i) {
                entries.push(i);
            }
        }
        // Entry route → gateway op index.
        let mut gateway_op: Vec<Vec<usize>> = vec![Vec::new(); n];
        if let Some(g) = gateway {
            for &e in &entries {
                for (eo, route) in services[e].ops.clone().iter().enumerate() {
                    let mut calls = Vec::new();
                    if let Some(a) = auth.filter(|&a| a != e) {
                        calls.push(Call {
                            to: a,
                            p: 0.9,
                            op: Some(services[a].ops.len().saturating_sub(1)),
                            max_repeat: 1,
                        });
                    }
                    calls.push(Call {
                        to: e,
                        p: 1.0,
                        op: Some(eo),
                        max_repeat: 1,
                    });
                    gateway_op[e].push(services[g].ops.len());
                    services[g].ops.push(Op {
                        name: route.name.clone(),
                        method: route.method,
                        route: route.route.clone(),
                        median_ms: 0.8,
                        sigma: 0.4,
                        error_rate: 0.0005,
                        weight: 1.0,
                        calls,
                    });
                }
            }
        }
        if let Some(f) = find("frontend") {
            for (pi, page) in PAGES.iter().enumerate() {
                let mut calls = Vec::new();
                let mut targets: Vec<(usize, f64)> = page
                    .iter()
                    .filter_map(|(s, p)| find(s).map(|i| (i, *p)))
                    .collect();
                // Entry services no page names (svc-NN) get a share of the traffic too.
                for &e in &entries {
                    let named = PAGES
                        .iter()
                        .any(|pg| pg.iter().any(|(s, _)| *s == services[e].name));
                    if !named && pi % 2 == e % 2 {
                        targets.push((e, 0.3));
                    }
                }
                for (t, p) in targets {
                    if !entries.contains(&t) || t == f {
                        continue;
                    }
                    match gateway {
                        Some(g) if g != t => {
                            let ops = &gateway_op[t];
                            if !ops.is_empty() {
                                calls.push(Call {
                                    to: g,
                                    p,
                                    op: Some(ops[rng.index(ops.len())]),
                                    max_repeat: 1,
                                });
                            }
                        }
                        _ => calls.push(Call {
                            to: t,
                            p,
                            op: None,
                            max_repeat: 1,
                        }),
                    }
                }
                if pi < services[f].ops.len() {
                    services[f].ops[pi].calls = calls;
                    services[f].ops[pi].error_rate = 0.0005;
                    services[f].ops[pi].weight = PAGE_WEIGHTS[pi];
                }
            }
        }
        // A gateway without entry services still needs something to serve.
        if let Some(g) = gateway.filter(|&g| services[g].ops.is_empty()) {
            services[g]
                .ops
                .push(op("GET", "/api/health", 0.5, 0.3, 0.0));
            if let Some(f) = find("frontend") {
                for o in &mut services[f].ops {
                    o.calls.push(Call {
                        to: g,
                        p: 1.0,
                        op: Some(0),
                        max_repeat: 1,
                    });
                }
            }
        }

        for i in 0..n {
            let callers: Vec<usize> = (0..n)
                .filter(|&c| {
                    services[c]
                        .ops
                        .iter()
                        .any(|o| o.calls.iter().any(|k| k.to == i))
                })
                .collect();
            services[i].callers = callers;
        }

        let (pods, nodes) = place_pods(&mut services, rng);
        Self {
            services,
            pods,
            nodes,
        }
    }

    /// `service` and everything that calls it, directly or not, nearest first.
    pub(crate) fn upstream(&self, service: usize) -> Vec<usize> {
        let mut out = vec![service];
        let mut i = 0;
        while i < out.len() {
            for &c in &self.services[out[i]].callers {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
            i += 1;
        }
        out
    }

    /// Caller → callee pairs, for the labels file.
    pub(crate) fn edges(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for s in &self.services {
            for o in &s.ops {
                for c in &o.calls {
                    let pair = (s.name.clone(), self.services[c.to].name.clone());
                    if !out.contains(&pair) {
                        out.push(pair);
                    }
                }
            }
        }
        out
    }
}

/// Pods: 2-3 replicas (stores are stateful sets of one or two), spread over a few nodes.
fn place_pods(services: &mut [Service], rng: &mut impl Rng) -> (Vec<Pod>, Vec<Node>) {
    let mut pods = Vec::new();
    for (i, svc) in services.iter_mut().enumerate() {
        let replicas = match svc.role {
            Edge => 3,
            App => rng.int(2, 3) as usize,
            Database => 1,
            Cache => rng.int(1, 2) as usize,
        };
        let hash = k8s_suffix(rng, 10);
        for r in 0..replicas {
            let name = match svc.role {
                Database | Cache => format!("{}-{r}", svc.name),
                _ => format!("{}-{hash}-{}", svc.name, k8s_suffix(rng, 5)),
            };
            let (cpu_limit, mem_limit) = match svc.runtime {
                Jvm => (2.0, 2.0 * GIB),
                Runtime::Postgres => (4.0, 8.0 * GIB),
                Runtime::Redis => (1.0, 2.0 * GIB),
                _ => (1.0, 1.0 * GIB),
            };
            svc.pods.push(pods.len());
            pods.push(Pod {
                name,
                service: i,
                node: 0,
                ip: String::new(),
                cpu_limit,
                mem_limit,
                phase_ns: rng.int(0, 9_999) * 1_000_000,
                attributes: String::new(),
            });
        }
    }
    let node_count = pods.len().div_ceil(8).max(3);
    let nodes: Vec<Node> = (0..node_count)
        .map(|i| Node {
            name: format!(
                "ip-10-0-{}-{}.ec2.internal",
                16 * (i % 3) + i / 3,
                rng.int(10, 250)
            ),
            zone: format!("{REGION}{}", ['a', 'b', 'c'][i % 3]),
            cores: 16.0,
            mem_bytes: 64.0 * GIB,
        })
        .collect();
    let mut per_node = vec![0usize; node_count];
    let offset = rng.index(node_count);
    for (p, pod) in pods.iter_mut().enumerate() {
        pod.node = (p + offset) % node_count;
        per_node[pod.node] += 1;
        pod.ip = format!("10.0.{}.{}", 100 + pod.node, 10 + per_node[pod.node]);
        pod.attributes = format!(
            r#"{{"k8s.namespace":"{NAMESPACE}","k8s.node":"{}","zone":"{}","region":"{REGION}"}}"#,
            nodes[pod.node].name, nodes[pod.node].zone
        );
    }
    (pods, nodes)
}

pub(crate) const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

fn op(method: &'static str, route: &str, median_ms: f64, sigma: f64, error_rate: f64) -> Op {
    let name = if route.is_empty() {
        method.to_string()
    } else {
        format!("{method} {route}")
    };
    Op {
        name,
        method,
        route: route.to_string(),
        median_ms,
        sigma,
        error_rate,
        weight: 1.0,
        calls: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::random::{Purpose, stream};

    #[test]
    fn the_call_graph_is_a_dag_rooted_at_the_frontend() {
        for n in [1, 2, 3, 6, 12, 22, 40] {
            let t = Topology::build(n, &mut stream(7, 0, Purpose::Topology));
            assert_eq!(t.services.len(), n);
            assert_eq!(t.services[0].name, "frontend");
            // Kahn's algorithm consumes every node of a DAG.
            let mut indeg: Vec<usize> = t.services.iter().map(|s| s.callers.len()).collect();
            let mut queue: Vec<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
            let mut seen = 0;
            while let Some(i) = queue.pop() {
                seen += 1;
                let mut callees: Vec<usize> = t.services[i]
                    .ops
                    .iter()
                    .flat_map(|o| o.calls.iter().map(|c| c.to))
                    .collect();
                callees.sort_unstable();
                callees.dedup();
                for c in callees {
                    indeg[c] -= 1;
                    if indeg[c] == 0 {
                        queue.push(c);
                    }
                }
            }
            assert_eq!(seen, n, "cycle with {n} services");
            // Everything but the frontend is reachable from it.
            assert_eq!(t.upstream(0), vec![0]);
            for s in 1..n {
                assert!(
                    t.upstream(s).contains(&0),
                    "{n}: {} unreachable",
                    t.services[s].name
                );
                assert!(!t.services[s].ops.is_empty());
            }
            assert!(t.services.iter().all(|s| (1..=3).contains(&s.pods.len())));
            assert!(t.pods.iter().all(|p| p.node < t.nodes.len()));
        }
        let names = service_names(24);
        assert_eq!(names[4], "redis");
        assert_eq!(names[23], "svc-24");
    }
}
