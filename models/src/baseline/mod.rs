//! The baseline detector (`CREATE MODEL … KIND baseline`): robust per-service statistics of
//! every window feature, fitted on a normal period, a fused and calibrated anomaly score, and
//! root-cause ranking over the service call graph. It is the honest yardstick the learned
//! multimodal models must beat: no training beyond medians, MADs and quantiles.
//!
//! # What it computes
//!
//! - **Features** come from `signal_windows` rows (any query returning its columns): each
//!   numeric column is a feature of the modality its name says ([`Modality::of_column`]); the
//!   `metrics` list gives one feature per metric name (`metric:<name>`, its mean in the window),
//!   `event_kinds` one per event kind (`event:<kind>`, its count) and `log_templates` one per
//!   log template (`template:<id>`, its lines). A modality is *present* in a window when any of
//!   its features is non-NULL.
//! - **Fit** ([`Baseline::fit`]): per service and feature, the median and a robust scale
//!   ([`stats::Robust`]: 1.4826 × MAD, else the mean absolute deviation, else a floor; metrics
//!   are fitted as gauges, [`stats::Robust::fit_gauge`]), plus the
//!   same pooled over all services (for services the training never saw). A metric, event kind
//!   or other feature that a service never had in training scores [`NEW_FEATURE_Z`] when it
//!   appears. Per service the model keeps its *usual* templates (median count above 0): a
//!   window that lists its templates but not a usual one scores that one as 0 lines (a
//!   template that stopped).
//! - **Score** ([`Baseline::score`]): per feature `|x − median| / scale` (capped at [`Z_CAP`]);
//!   per modality the largest of its features (the evidence), divided by that modality's 99th
//!   percentile over the training windows, so a modality with many features does not win by
//!   multiple testing; the fused raw score is the largest modality score. The calibrated
//!   score is the fraction of training windows whose fused raw score is lower: 0.5 is a typical
//!   normal window, 0.99 rarer than 99 % of the normal period. Confidence is the share of the
//!   service's usual modalities (weighted by how often each was present in training) present
//!   in the window; a window with no modality has no score.
//! - **Call graph**: the model keeps the `(caller, callee)` edges of its normal period: those
//!   the training windows' spans show (`calls:<callee>` features), and those declared with
//!   [`Baseline::declare_edges`] (a dependency list, for systems without traces).
//! - **Symptom scores** ([`Baseline::score_symptom`]): for explaining one alert, a window
//!   scored on the features that [`measures`] the alert's metric only, optionally counting
//!   only deviations the same way as the target's.
//! - **Root cause** ([`rca::rank`], [`rca::rank_for`]): per service the worst window of the
//!   incident; services whose anomaly a downstream anomalous dependency explains rank below it.
//!
//! # Layout
//!
//! | module | what it holds |
//! |---|---|
//! | [`stats`] | median, MAD, robust scale, quantile sketches |
//! | [`rca`] | root-cause ranking over a call graph |

pub mod rca;
pub mod stats;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use stats::{Quantiles, Robust};

/// The kind name in `CREATE MODEL … KIND baseline` and in manifests.
pub const KIND: &str = "baseline";
/// Saved-state format version.
pub const FORMAT: u32 = 1;
/// Score of a feature a service never had in training.
pub const NEW_FEATURE_Z: f64 = 8.0;
/// Largest per-feature deviation: beyond it every deviation is equally extreme.
pub const Z_CAP: f64 = 1000.0;
/// Smallest normalizing scale (a modality or service that never deviated in training).
const MIN_SCALE: f64 = 1e-9;
/// Pooled statistics live under this service name (no real service is named so).
const POOLED: &str = "\u{0}pooled";
/// Feature-name prefix of a window's callees (`calls:<service>`, from `span_callees`).
pub const CALLS_PREFIX: &str = "calls:";
/// Feature-name prefix of per-operation span statistics (`op:<operation>.p95_ms`).
pub const OPERATION_PREFIX: &str = "op:";
/// Feature-name prefix of per-host metrics (`host:<host>/<metric>`).
pub const HOST_PREFIX: &str = "host:";

/// Per-modality deviations of a window: per modality, its service-level features' largest
/// deviation (slot `2m`) and its detail features' (per operation, per host: slot `2m + 1`),
/// each with the index of that feature in the window (usize::MAX: present, no feature).
type Raw = [Option<(f64, usize)>; 8];

/// A window's fused score.
struct Fused {
    /// The largest normalized modality score.
    raw: f64,
    /// The modality that gave it.
    top: Modality,
    /// Per modality, its normalized score.
    norm: [Option<f64>; 4],
    /// Per modality, the slot of [`Raw`] (service-level or detail) that gave its score.
    slots: [usize; 4],
}

/// Whether a feature is one of many details of a service (an operation's statistic, a host's
/// metric) rather than a service-level feature: details are normalized on their own, so that
/// a service with forty operations does not drown its service-level signal in their noise.
fn is_detail(feature: &str) -> bool {
    feature.starts_with(OPERATION_PREFIX) || feature.starts_with(HOST_PREFIX)
}

/// Whether a feature is a measured value (a metric, an operation's latency) rather than a
/// count: a window without it has no value for it (not 0), and whole numbers are no sign
/// of a count.
fn is_gauge(m: Modality, feature: &str) -> bool {
    m == Modality::Metrics || feature.starts_with(OPERATION_PREFIX)
}
/// Feature-name prefix of a window's log templates (`template:<id>`, from `log_templates`).
pub const TEMPLATE_PREFIX: &str = "template:";
/// The deviation a normal variable exceeds (either way) 1 % of the time: a symptom score's
/// `raw` is relative to it, as a fused score's is to the 99th percentile of training.
const Z_99: f64 = 2.575_829_303_548_901;

/// Whether `feature` measures `symptom`: the feature's name without its label prefix
/// (`metric:`, `event:`) equals the symptom or starts with it and a `.` or `_`, ignoring
/// case: `latency` matches `latency_p95_ms` and `metric:latency.average`,
/// `availability.average` only `metric:availability.average`. Callees never match.
pub fn measures(feature: &str, symptom: &str) -> bool {
    if feature.starts_with(CALLS_PREFIX) || symptom.is_empty() {
        return false;
    }
    let bare = feature
        .split_once(':')
        .map_or(feature, |(_, name)| name)
        .as_bytes();
    let symptom = symptom.as_bytes();
    bare.len() >= symptom.len()
        && bare[..symptom.len()].eq_ignore_ascii_case(symptom)
        && matches!(bare.get(symptom.len()), None | Some(b'.' | b'_'))
}

/// The four signal modalities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Modality {
    Logs,
    Spans,
    Metrics,
    Events,
}

impl Modality {
    pub const ALL: [Modality; 4] = [
        Modality::Logs,
        Modality::Spans,
        Modality::Metrics,
        Modality::Events,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Modality::Logs => "logs",
            Modality::Spans => "spans",
            Modality::Metrics => "metrics",
            Modality::Events => "events",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The modality of a `signal_windows` column by its name: `log…` logs; `span…`,
    /// `latency…`, `error_ratio` spans; `metric…` metrics; `event…` events. `None` for
    /// columns that are not features (`service`, `window_start`, …).
    pub fn of_column(column: &str) -> Option<Modality> {
        let c = column.to_ascii_lowercase();
        if c.starts_with("log") {
            Some(Modality::Logs)
        } else if c.starts_with("span") || c.starts_with("latency") || c == "error_ratio" {
            Some(Modality::Spans)
        } else if c.starts_with("metric") {
            Some(Modality::Metrics)
        } else if c.starts_with("event") {
            Some(Modality::Events)
        } else {
            None
        }
    }
}

/// One `(service, window)` as features. Build it with [`Window::new`] and [`Window::add`].
#[derive(Debug, Clone, Default)]
pub struct Window {
    pub service: String,
    /// `(modality, feature name, value)`; NaN and infinite values are dropped by `add`.
    pub features: Vec<(Modality, String, f64)>,
    /// Modalities with data in this window (set by `add` and [`Window::mark_present`]).
    pub present: [bool; 4],
}

impl Window {
    pub fn new(service: &str) -> Self {
        Self {
            service: service.to_string(),
            ..Self::default()
        }
    }

    pub fn add(&mut self, modality: Modality, feature: impl Into<String>, value: f64) {
        self.present[modality.index()] = true;
        if value.is_finite() {
            self.features.push((modality, feature.into(), value));
        }
    }

    /// Marks a modality present without a feature (a window whose only log line has no
    /// severity still has logs).
    pub fn mark_present(&mut self, modality: Modality) {
        self.present[modality.index()] = true;
    }

    pub fn is_empty(&self) -> bool {
        !self.present.iter().any(|p| *p)
    }
}

/// Model options (`OPTIONS (…)` of `CREATE MODEL`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// Window width in nanoseconds (the `signal_windows` width it was trained on).
    pub window_ns: i64,
    /// Calibrated score from which a service counts as anomalous in root-cause ranking
    /// (default 0.99: rarer than 99 % of the service's normal windows).
    pub anomalous: f64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            window_ns: 60_000_000_000,
            anomalous: 0.99,
        }
    }
}

/// Per-feature statistics of one service.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ServiceStats {
    /// Training windows of this service.
    windows: u64,
    /// Windows in which each modality was present.
    present: [u64; 4],
    /// Feature → robust statistics, with its modality.
    features: BTreeMap<String, (Modality, Robust)>,
    /// Per modality, the 99th percentile of the service's training windows' modality scores.
    modality_scale: [Option<f64>; 4],
    /// The same for the modality's detail features (per operation, per host).
    #[serde(default)]
    detail_scale: [Option<f64>; 4],
    /// The service's training windows' fused scores.
    calibration: Quantiles,
    /// The 99th percentile of those.
    fused_scale: f64,
    /// The service's usual log templates (`template:<id>` features whose median count in its
    /// training windows with logs is above 0), sorted: a window that lists its templates but
    /// not one of these scores it as a count of 0 (a template that stopped). Empty in models
    /// saved before.
    #[serde(default)]
    usual_templates: Vec<String>,
}

/// A fitted baseline model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    pub format: u32,
    pub options: Options,
    /// Per service, and pooled over all services (for services training never saw).
    services: BTreeMap<String, ServiceStats>,
    /// `(caller, callee)` edges of the normal period: seen in training spans or declared.
    #[serde(default)]
    call_graph: BTreeSet<(String, String)>,
}

/// What the model says about one window.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// Calibrated score in [0, 1]: the fraction of training windows scoring lower.
    pub score: f64,
    /// Fused raw score relative to the service's 99th percentile in training (above 1: rarer
    /// than 99 % of its normal windows); orders windows beyond the top of the calibration.
    pub raw: f64,
    /// Share of the service's usual modalities present, in [0, 1].
    pub confidence: f64,
    /// Per modality, its share of the summed modality scores (NULL: absent).
    pub weights: [Option<f64>; 4],
    /// The modality with the largest score.
    pub top_modality: Modality,
    /// Its most deviating feature, and that feature's value and median.
    pub top_feature: String,
    pub top_value: f64,
    pub top_median: f64,
}

/// Training summary, stored in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    pub windows: u64,
    pub services: usize,
    pub features: usize,
    /// Training windows per modality.
    pub modality_windows: BTreeMap<String, u64>,
}

impl Baseline {
    /// Fits the model on the windows of a normal period.
    pub fn fit(options: Options, windows: &[Window]) -> Result<(Self, FitReport)> {
        if options.window_ns <= 0 {
            return Err(ModelError::Config {
                model: KIND,
                option: "window",
                expected: "a positive interval",
                got: format!("{} ns", options.window_ns),
            });
        }
        if !(0.0..=1.0).contains(&options.anomalous) {
            return Err(ModelError::Config {
                model: KIND,
                option: "anomalous",
                expected: "a score between 0 and 1",
                got: options.anomalous.to_string(),
            });
        }
        let windows: Vec<&Window> = windows.iter().filter(|w| !w.is_empty()).collect();
        if windows.is_empty() {
            return Err(ModelError::Config {
                model: KIND,
                option: "AS query",
                expected: "at least one window with data",
                got: "no rows with any modality".to_string(),
            });
        }
        // Values per (service, feature), and pooled.
        let mut values: HashMap<(&str, &str), (Modality, Vec<f64>)> = HashMap::new();
        let mut counts: BTreeMap<String, ServiceStats> = BTreeMap::new();
        for w in &windows {
            for svc in [w.service.as_str(), POOLED] {
                let s = counts.entry(svc.to_string()).or_default();
                s.windows += 1;
                for m in Modality::ALL {
                    s.present[m.index()] += u64::from(w.present[m.index()]);
                }
                for (m, f, v) in &w.features {
                    values
                        .entry((svc, f.as_str()))
                        .or_insert_with(|| (*m, Vec::new()))
                        .1
                        .push(*v);
                }
            }
        }
        for ((svc, f), (m, mut vs)) in values {
            let s = counts.get_mut(svc).expect("counted above");
            // A window without the feature but with its modality counts as 0 for counts
            // (a metric or an operation's latency missing from a window is unknown, not zero).
            let missing = s.present[m.index()].saturating_sub(vs.len() as u64);
            if !is_gauge(m, f) {
                vs.extend(std::iter::repeat_n(0.0, missing as usize));
            }
            let robust = if is_gauge(m, f) {
                Robust::fit_gauge(&mut vs)
            } else {
                Robust::fit(&mut vs)
            };
            s.features.insert(f.to_string(), (m, robust));
        }
        // Precomputed so that scoring a window looks up a few templates, not every feature.
        // The pooled statistics keep none: template ids are per service.
        for (svc, s) in counts.iter_mut() {
            if svc != POOLED {
                s.usual_templates = s
                    .features
                    .iter()
                    .filter(|(f, (m, r))| {
                        *m == Modality::Logs && f.starts_with(TEMPLATE_PREFIX) && r.median > 0.0
                    })
                    .map(|(f, _)| f.clone())
                    .collect();
            }
        }
        let call_graph = windows
            .iter()
            .flat_map(|w| {
                w.features.iter().filter_map(|(_, f, v)| {
                    let callee = f.strip_prefix(CALLS_PREFIX)?;
                    (*v > 0.0 && callee != w.service)
                        .then(|| (w.service.clone(), callee.to_string()))
                })
            })
            .collect();
        let mut model = Baseline {
            format: FORMAT,
            options,
            services: counts,
            call_graph,
        };
        // Per service: normalize each modality by its 99th percentile in training, then
        // calibrate the fused score on the service's own windows (pooled: on all windows).
        let raw: Vec<Raw> = windows.iter().map(|w| model.modality_raw(w)).collect();
        let mut per_service: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, w) in windows.iter().enumerate() {
            per_service.entry(w.service.as_str()).or_default().push(i);
        }
        per_service.insert(POOLED, (0..windows.len()).collect());
        let mut scales: Vec<(&str, [Option<f64>; 8])> = Vec::new();
        for (svc, rows) in &per_service {
            let mut scale = [None; 8];
            for (slot, out) in scale.iter_mut().enumerate() {
                let mut xs: Vec<f64> = rows
                    .iter()
                    .filter_map(|&i| raw[i][slot].map(|(x, _)| x))
                    .collect();
                if !xs.is_empty() {
                    *out = Some(stats::quantile(&mut xs, 0.99).max(MIN_SCALE));
                }
            }
            scales.push((svc, scale));
        }
        for (svc, scale) in scales {
            if let Some(s) = model.services.get_mut(svc) {
                for m in Modality::ALL {
                    s.modality_scale[m.index()] = scale[2 * m.index()];
                    s.detail_scale[m.index()] = scale[2 * m.index() + 1];
                }
            }
        }
        for (svc, rows) in &per_service {
            let stats = &model.services[*svc];
            let mut fused: Vec<f64> = rows
                .iter()
                .filter_map(|&i| model.fuse(stats, &raw[i]).map(|f| f.raw))
                .collect();
            let fused_scale = stats::quantile(&mut fused, 0.99).max(MIN_SCALE);
            if let Some(s) = model.services.get_mut(*svc) {
                s.calibration = Quantiles::from_values(fused);
                s.fused_scale = fused_scale;
            }
        }
        let pooled = &model.services[POOLED];
        let report = FitReport {
            windows: windows.len() as u64,
            services: model.services.len() - 1,
            features: pooled.features.len(),
            modality_windows: Modality::ALL
                .iter()
                .map(|m| (m.name().to_string(), pooled.present[m.index()]))
                .collect(),
        };
        Ok((model, report))
    }

    fn stats_of(&self, service: &str) -> &ServiceStats {
        self.services
            .get(service)
            .unwrap_or_else(|| &self.services[POOLED])
    }

    /// The deviation of one feature of a window of a service with `stats`.
    fn deviation(&self, stats: &ServiceStats, m: Modality, f: &str, v: f64) -> f64 {
        match stats.features.get(f) {
            Some((_, r)) => r.deviation(v).min(Z_CAP),
            None if v == 0.0 && !is_gauge(m, f) => 0.0,
            // A host the service did not run on in training (hosts come and go: a restarted
            // pod has a new name), or an operation it did not serve: no baseline to compare
            // with, and the service's own metrics and span statistics still see its effect.
            None if f.starts_with(HOST_PREFIX) || f.starts_with(OPERATION_PREFIX) => 0.0,
            // A labeled feature (metric, event kind, callee) new to the service.
            None if f.contains(':') || self.services[POOLED].features.contains_key(f) => {
                NEW_FEATURE_Z
            }
            // A column the model was not trained on.
            None => 0.0,
        }
    }

    /// Per modality, service-level and detail features apart: the largest feature deviation
    /// and the index of that feature (see [`Baseline::feature_at`]; usize::MAX when the
    /// modality is present without features).
    fn modality_raw(&self, w: &Window) -> Raw {
        let stats = self.stats_of(&w.service);
        let mut out: Raw = [None; 8];
        for m in Modality::ALL {
            if w.present[m.index()] {
                out[2 * m.index()] = Some((0.0, usize::MAX));
            }
        }
        let mut keep = |m: Modality, f: &str, z: f64, i: usize| {
            let slot = &mut out[2 * m.index() + usize::from(is_detail(f))];
            let slot = slot.get_or_insert((0.0, usize::MAX));
            if z > slot.0 || slot.1 == usize::MAX {
                *slot = (z, i);
            }
        };
        for (i, (m, f, v)) in w.features.iter().enumerate() {
            keep(*m, f, self.deviation(stats, *m, f, *v), i);
        }
        for (j, f) in stopped_templates(stats, w) {
            keep(
                Modality::Logs,
                f,
                self.deviation(stats, Modality::Logs, f, 0.0),
                j,
            );
        }
        out
    }

    /// The feature at index `i` of [`Baseline::modality_raw`] and its value: `w.features[i]`,
    /// or past those a usual template of the service that the window lacks (value 0).
    fn feature_at<'a>(stats: &'a ServiceStats, w: &'a Window, i: usize) -> Option<(&'a str, f64)> {
        match w.features.get(i) {
            Some((_, f, v)) => Some((f.as_str(), *v)),
            None => Some((
                stats.usual_templates.get(i - w.features.len())?.as_str(),
                0.0,
            )),
        }
    }

    /// Fuses a window's modality deviations; `None` when it has no modality.
    fn fuse(&self, stats: &ServiceStats, raw: &Raw) -> Option<Fused> {
        let pooled = &self.services[POOLED];
        let mut norm = [None; 4];
        let mut slots = [0; 4];
        let mut best: Option<(f64, Modality)> = None;
        for m in Modality::ALL {
            let i = m.index();
            let scales = [
                stats.modality_scale[i].or(pooled.modality_scale[i]),
                stats.detail_scale[i].or(pooled.detail_scale[i]),
            ];
            for (g, scale) in scales.into_iter().enumerate() {
                let Some((x, _)) = raw[2 * i + g] else {
                    continue;
                };
                let n = x / scale.unwrap_or(1.0);
                if norm[i].is_none_or(|b| n > b) {
                    norm[i] = Some(n);
                    slots[i] = 2 * i + g;
                }
            }
            let Some(n) = norm[i] else {
                continue;
            };
            if best.is_none_or(|(b, _)| n > b) {
                best = Some((n, m));
            }
        }
        best.map(|(raw, top)| Fused {
            raw,
            top,
            norm,
            slots,
        })
    }

    /// Scores one window; `None` when it has no modality.
    pub fn score(&self, w: &Window) -> Option<Score> {
        let raw = self.modality_raw(w);
        let stats = self.stats_of(&w.service);
        let Fused {
            raw: fused,
            top,
            norm,
            slots,
        } = self.fuse(stats, &raw)?;
        let total: f64 = norm.iter().flatten().sum();
        let weights = norm.map(|n| {
            n.map(|n| {
                if total > 0.0 {
                    n / total
                } else {
                    1.0 / norm.iter().flatten().count() as f64
                }
            })
        });
        let usual: f64 = stats.present.iter().map(|&p| p as f64).sum();
        let here: f64 = Modality::ALL
            .iter()
            .filter(|m| w.present[m.index()])
            .map(|m| stats.present[m.index()] as f64)
            .sum();
        let confidence = if usual > 0.0 { here / usual } else { 0.0 };
        let top_feature = raw[slots[top.index()]].and_then(|(_, i)| Self::feature_at(stats, w, i));
        let (top_feature, top_value, top_median) = match top_feature {
            Some((f, v)) => {
                let median = stats.features.get(f).map_or(f64::NAN, |(_, r)| r.median);
                (f.to_string(), v, median)
            }
            None => (String::new(), f64::NAN, f64::NAN),
        };
        Some(Score {
            score: stats.calibration.rank(fused),
            raw: fused / stats.fused_scale.max(MIN_SCALE),
            confidence,
            weights,
            top_modality: top,
            top_feature,
            top_value,
            top_median,
        })
    }

    /// Scores one window on the features that [`measure`](measures) one symptom only (the
    /// metric an alert fired on: `latency.average`, `error_ratio`), for ranking the causes of
    /// that symptom: the largest such deviation `z` (in robust standard deviations) gives
    /// `score` = P(|N(0, 1)| < z), the fraction of normal windows a normally distributed
    /// feature would put below it, and `raw` = z / 2.576 (1 at a score of 0.99). `None` when
    /// the window has no such feature. Confidence is 1: the symptom was measured.
    ///
    /// With a `direction` (the sign of the target's own deviation: +1 when its latency rose,
    /// −1 when its availability fell), only deviations that way count (others score 0): a
    /// cause of a drop shows a drop, and a node whose availability rose from 0 to 100 since
    /// training (drift) does not explain one.
    pub fn score_symptom(
        &self,
        w: &Window,
        symptom: &str,
        direction: Option<f64>,
    ) -> Option<Score> {
        let stats = self.stats_of(&w.service);
        let (z, i) = w
            .features
            .iter()
            .enumerate()
            .filter(|(_, (_, f, _))| measures(f, symptom))
            .map(|(i, (m, f, v))| {
                let against = match (direction, stats.features.get(f)) {
                    (Some(d), Some((_, r))) => (v - r.median) * d < 0.0,
                    _ => false,
                };
                let z = if against {
                    0.0
                } else {
                    self.deviation(stats, *m, f, *v)
                };
                (z, i)
            })
            .reduce(|best, next| if next.0 > best.0 { next } else { best })?;
        let (m, f, v) = &w.features[i];
        let mut weights = [None; 4];
        weights[m.index()] = Some(1.0);
        Some(Score {
            score: libm::erf(z / std::f64::consts::SQRT_2),
            raw: z / Z_99,
            confidence: 1.0,
            weights,
            top_modality: *m,
            top_feature: f.clone(),
            top_value: *v,
            top_median: stats.features.get(f).map_or(f64::NAN, |(_, r)| r.median),
        })
    }

    /// Adds `(caller, callee)` edges to the model's call graph (self-calls are dropped);
    /// returns how many were new.
    pub fn declare_edges(&mut self, edges: impl IntoIterator<Item = (String, String)>) -> usize {
        let before = self.call_graph.len();
        self.call_graph
            .extend(edges.into_iter().filter(|(a, b)| a != b));
        self.call_graph.len() - before
    }

    /// The call graph of the normal period, `(caller, callee)` edges.
    pub fn call_graph(&self) -> impl Iterator<Item = (&str, &str)> {
        self.call_graph
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
    }

    /// The services the model was trained on.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.services
            .keys()
            .map(String::as_str)
            .filter(|s| *s != POOLED)
    }

    /// Whether the model has log-template features (`template:<id>`), whose ids depend on the
    /// log parser that gave them.
    pub fn uses_log_templates(&self) -> bool {
        self.services
            .values()
            .any(|s| s.features.keys().any(|f| f.starts_with(TEMPLATE_PREFIX)))
    }

    pub fn save_state(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a baseline model serializes")
    }

    pub fn load_state(bytes: &[u8]) -> Result<Self> {
        let m: Baseline = serde_json::from_slice(bytes).map_err(|e| ModelError::Corrupt {
            model: KIND,
            detail: e.to_string(),
        })?;
        if m.format != FORMAT {
            return Err(ModelError::Version {
                model: KIND,
                expected: FORMAT,
                got: m.format,
            });
        }
        if !m.services.contains_key(POOLED) {
            return Err(ModelError::Corrupt {
                model: KIND,
                detail: "no pooled statistics".to_string(),
            });
        }
        Ok(m)
    }
}

/// The usual templates of a service (with `stats`) that window `w` lists no lines of, each with
/// its index for [`Baseline::feature_at`] (`w.features.len()` + its place in the usual list).
/// Only a window that lists templates (has a `template:` feature) can miss one: a window whose
/// logs come without their templates (a query not passing `log_templates`) has none stopped.
/// Costs one pass over the window's features and one lookup per usual template, and nothing
/// for services without usual templates.
fn stopped_templates<'a>(
    stats: &'a ServiceStats,
    w: &'a Window,
) -> impl Iterator<Item = (usize, &'a str)> + 'a {
    let here: HashSet<&str> = if stats.usual_templates.is_empty() {
        HashSet::new()
    } else {
        w.features
            .iter()
            .filter(|(m, f, _)| *m == Modality::Logs && f.starts_with(TEMPLATE_PREFIX))
            .map(|(_, f, _)| f.as_str())
            .collect()
    };
    let usual: &'a [String] = if here.is_empty() {
        &[]
    } else {
        &stats.usual_templates
    };
    let base = w.features.len();
    usual
        .iter()
        .enumerate()
        .filter(move |(_, f)| !here.contains(f.as_str()))
        .map(move |(j, f)| (base + j, f.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(service: &str, cpu: f64, latency: Option<f64>) -> Window {
        let mut w = Window::new(service);
        w.add(Modality::Metrics, "metric:cpu", cpu);
        if let Some(l) = latency {
            w.add(Modality::Spans, "latency_p95_ms", l);
            w.add(Modality::Spans, "spans", 100.0);
        }
        w
    }

    fn normal() -> Vec<Window> {
        (0..200)
            .flat_map(|i| {
                let jitter = f64::from(i % 7) - 3.0;
                [
                    window("api", 50.0 + jitter, Some(20.0 + jitter / 2.0)),
                    window("db", 10.0 + jitter / 3.0, Some(5.0 + jitter / 10.0)),
                ]
            })
            .collect()
    }

    #[test]
    fn normal_windows_score_low_and_a_cpu_spike_scores_high_with_its_evidence() {
        let (m, report) = Baseline::fit(Options::default(), &normal()).unwrap();
        assert_eq!((report.windows, report.services), (400, 2));
        let typical = m.score(&window("api", 50.0, Some(20.0))).unwrap();
        assert!(typical.score < 0.6, "{typical:?}");
        let spike = m.score(&window("db", 60.0, Some(5.0))).unwrap();
        assert_eq!(spike.score, 1.0);
        assert_eq!(spike.top_modality, Modality::Metrics);
        assert_eq!(spike.top_feature, "metric:cpu");
        assert_eq!((spike.top_value, spike.top_median), (60.0, 10.0));
        assert!(spike.weights[Modality::Metrics as usize].unwrap() > 0.9);
        assert_eq!(spike.weights[Modality::Logs as usize], None);
        // The same CPU is normal for api: statistics are per service.
        assert!(m.score(&window("api", 52.0, Some(20.0))).unwrap().score < 0.95);
    }

    #[test]
    fn missing_modalities_lower_confidence_and_an_empty_window_has_no_score() {
        let (m, _) = Baseline::fit(Options::default(), &normal()).unwrap();
        let full = m.score(&window("api", 50.0, Some(20.0))).unwrap();
        let metrics_only = m.score(&window("api", 50.0, None)).unwrap();
        assert_eq!(full.confidence, 1.0);
        assert!((metrics_only.confidence - 0.5).abs() < 1e-9);
        assert_eq!(m.score(&Window::new("api")), None);
    }

    #[test]
    fn unseen_services_use_pooled_statistics_and_new_features_stand_out() {
        let (m, _) = Baseline::fit(Options::default(), &normal()).unwrap();
        assert!(m.score(&window("new", 30.0, Some(12.0))).is_some());
        let mut w = window("api", 50.0, Some(20.0));
        w.add(Modality::Events, "event:deploy", 1.0);
        let s = m.score(&w).unwrap();
        assert_eq!(s.top_modality, Modality::Events);
        assert_eq!(s.top_feature, "event:deploy");
    }

    #[test]
    fn a_tiny_training_set_fits_and_scores_and_bad_options_are_refused() {
        let (m, report) = Baseline::fit(Options::default(), &[window("a", 1.0, None)]).unwrap();
        assert_eq!(report.windows, 1);
        let s = m.score(&window("a", 1.0, None)).unwrap();
        assert_eq!(s.score, 0.5);
        assert!(m.score(&window("a", 100.0, None)).unwrap().score > 0.99);
        let bad = Options {
            anomalous: 2.0,
            ..Options::default()
        };
        assert!(Baseline::fit(bad, &normal()).is_err());
        assert!(Baseline::fit(Options::default(), &[Window::new("a")]).is_err());
    }

    #[test]
    fn state_round_trips_and_garbage_is_refused() {
        let (m, _) = Baseline::fit(Options::default(), &normal()).unwrap();
        let back = Baseline::load_state(&m.save_state()).unwrap();
        let w = window("db", 13.0, Some(6.0));
        assert_eq!(m.score(&w), back.score(&w));
        assert!(Baseline::load_state(b"{}").is_err());
        assert!(matches!(
            Baseline::load_state(br#"{"format":9}"#),
            Err(ModelError::Corrupt { .. })
        ));
    }

    #[test]
    fn the_call_graph_is_learned_from_training_spans_and_declared_edges_join_it() {
        let mut windows = normal();
        let mut w = window("api", 50.0, Some(20.0));
        w.add(Modality::Spans, "calls:db", 3.0);
        w.add(Modality::Spans, "calls:api", 1.0);
        windows.push(w);
        let (mut m, _) = Baseline::fit(Options::default(), &windows).unwrap();
        assert_eq!(m.call_graph().collect::<Vec<_>>(), [("api", "db")]);
        let new = m.declare_edges([
            ("web".to_string(), "api".to_string()),
            ("api".to_string(), "db".to_string()),
            ("db".to_string(), "db".to_string()),
        ]);
        assert_eq!(new, 1);
        let back = Baseline::load_state(&m.save_state()).unwrap();
        assert_eq!(
            back.call_graph().collect::<Vec<_>>(),
            [("api", "db"), ("web", "api")]
        );
        // Models saved before the call graph existed still load.
        let mut old: serde_json::Value = serde_json::from_slice(&m.save_state()).unwrap();
        old.as_object_mut().unwrap().remove("call_graph");
        let old = Baseline::load_state(&serde_json::to_vec(&old).unwrap()).unwrap();
        assert_eq!(old.call_graph().count(), 0);
    }

    #[test]
    fn a_symptom_scores_on_its_own_features() {
        let (m, _) = Baseline::fit(Options::default(), &normal()).unwrap();
        // db's CPU is far off, its latency normal: on the latency symptom db is normal.
        let w = window("db", 60.0, Some(5.0));
        assert_eq!(m.score(&w).unwrap().top_feature, "metric:cpu");
        let s = m.score_symptom(&w, "latency", None).unwrap();
        assert_eq!(s.top_feature, "latency_p95_ms");
        assert!(s.score < 0.9, "{s:?}");
        let cpu = m.score_symptom(&w, "cpu", None).unwrap();
        assert_eq!((cpu.top_feature.as_str(), cpu.score), ("metric:cpu", 1.0));
        assert!(cpu.raw > 10.0);
        // The raw score is 1 where the score is 0.99.
        assert!((libm::erf(Z_99 / std::f64::consts::SQRT_2) - 0.99).abs() < 1e-12);
        let r = m
            .score_symptom(&window("db", 11.0, Some(5.0)), "cpu", None)
            .unwrap();
        assert!((r.score - libm::erf(r.raw * Z_99 / std::f64::consts::SQRT_2)).abs() < 1e-12);
        assert_eq!(
            m.score_symptom(&window("db", 10.0, None), "latency", None),
            None
        );
        // Directed: db's CPU rose, so it explains a rise, not a fall.
        let up = m.score_symptom(&w, "cpu", Some(1.0)).unwrap();
        assert_eq!(up.score, 1.0);
        let down = m.score_symptom(&w, "cpu", Some(-1.0)).unwrap();
        assert_eq!((down.score, down.raw), (0.0, 0.0));
    }

    #[test]
    fn operations_are_gauges_and_unseen_hosts_are_no_anomaly() {
        // api serves GET /a in every window and GET /b in one of ten: /b's latency is not
        // taken as 0 in the other nine.
        let windows: Vec<Window> = (0..100)
            .map(|i| {
                let mut w = window("api", 50.0, Some(20.0));
                w.add(Modality::Spans, "op:GET /a.p95_ms", 20.0 + f64::from(i % 5));
                if i % 10 == 0 {
                    w.add(
                        Modality::Spans,
                        "op:GET /b.p95_ms",
                        300.0 + f64::from(i % 3),
                    );
                }
                w.add(Modality::Metrics, "host:h1/cpu", 50.0 + f64::from(i % 4));
                w
            })
            .collect();
        let (m, _) = Baseline::fit(Options::default(), &windows).unwrap();
        let mut w = window("api", 50.0, Some(20.0));
        w.add(Modality::Spans, "op:GET /b.p95_ms", 301.0);
        assert!(m.score(&w).unwrap().score < 0.99, "{:?}", m.score(&w));
        // One operation slow while the service's p95 is not.
        let mut slow = window("api", 50.0, Some(20.0));
        slow.add(Modality::Spans, "op:GET /a.p95_ms", 400.0);
        let s = m.score(&slow).unwrap();
        assert_eq!((s.score, s.top_feature.as_str()), (1.0, "op:GET /a.p95_ms"));
        // A new host (a restarted pod) is no anomaly; a known host's CPU far off is.
        let mut new_host = window("api", 50.0, Some(20.0));
        new_host.add(Modality::Metrics, "host:h9/cpu", 50.0);
        assert!(m.score(&new_host).unwrap().score < 0.99);
        let mut hot = window("api", 50.0, Some(20.0));
        hot.add(Modality::Metrics, "host:h1/cpu", 95.0);
        assert_eq!(m.score(&hot).unwrap().top_feature, "host:h1/cpu");
    }

    #[test]
    fn many_noisy_operations_do_not_drown_the_service_level_signal() {
        // Twenty operations with noisy latencies: some operation always looks odd.
        let windows: Vec<Window> = (0..300u32)
            .map(|i| {
                let mut w = window("api", 50.0, Some(20.0 + f64::from(i % 7) / 7.0));
                for op in 0..20u32 {
                    let noise = f64::from((i * 7 + op * 13) % 29) * f64::from(1 + (i + op) % 3);
                    w.add(
                        Modality::Spans,
                        format!("op:GET /{op}.p95_ms"),
                        100.0 + noise,
                    );
                }
                w
            })
            .collect();
        let (m, _) = Baseline::fit(Options::default(), &windows).unwrap();
        // The service's p95 well off while every operation looks as usual.
        let mut w = window("api", 50.0, Some(23.0));
        for op in 0..20u32 {
            w.add(Modality::Spans, format!("op:GET /{op}.p95_ms"), 110.0);
        }
        let s = m.score(&w).unwrap();
        assert_eq!(s.top_feature, "latency_p95_ms");
        assert!(s.score > 0.99, "{s:?}");
    }

    #[test]
    fn symptoms_match_feature_names_by_prefix_and_separator() {
        assert!(measures("latency_p95_ms", "latency"));
        assert!(measures("metric:latency.average", "latency"));
        assert!(measures("metric:Latency.Average", "latency.average"));
        assert!(measures("error_ratio", "error_ratio"));
        assert!(!measures("metric:latency.average", "latency.p99"));
        assert!(!measures("metric:latencyx", "latency"));
        assert!(!measures("calls:latency", "latency"));
        assert!(!measures("spans", ""));
    }

    /// 200 windows of `api` logs: template 1 (a request line) 10 ± 2 times in each, template 2
    /// (an error) once in every tenth window, plus a CPU metric.
    fn logged() -> Vec<Window> {
        (0..200)
            .map(|i| {
                let mut w = window("api", 50.0 + f64::from(i % 5), None);
                w.add(Modality::Logs, "log_lines", 10.0);
                w.add(Modality::Logs, "template:1", 8.0 + f64::from(i % 5));
                if i % 10 == 0 {
                    w.add(Modality::Logs, "template:2", 1.0);
                }
                w
            })
            .collect()
    }

    fn with_templates(templates: &[(&str, f64)]) -> Window {
        let mut w = window("api", 52.0, None);
        w.add(Modality::Logs, "log_lines", 10.0);
        for (t, n) in templates {
            w.add(Modality::Logs, format!("{TEMPLATE_PREFIX}{t}"), *n);
        }
        w
    }

    #[test]
    fn log_templates_new_bursting_and_stopped_stand_out_and_rare_absent_ones_do_not() {
        let (m, _) = Baseline::fit(Options::default(), &logged()).unwrap();
        assert_eq!(m.services["api"].usual_templates, ["template:1"]);
        assert!(m.services[POOLED].usual_templates.is_empty());
        // Normal: the usual template at its usual count, the rare one absent.
        let normal = m.score(&with_templates(&[("1", 10.0)])).unwrap();
        assert!(normal.score < 0.9, "{normal:?}");
        // A template the service never logged scores NEW_FEATURE_Z.
        let new = m
            .score(&with_templates(&[("1", 10.0), ("3", 1.0)]))
            .unwrap();
        assert_eq!((new.score, new.top_modality), (1.0, Modality::Logs));
        assert_eq!(new.top_feature, "template:3");
        assert!(new.top_median.is_nan());
        let stats = &m.services["api"];
        assert_eq!(
            m.deviation(stats, Modality::Logs, "template:3", 1.0),
            NEW_FEATURE_Z
        );
        // A burst of the rare error template.
        let burst = m
            .score(&with_templates(&[("1", 10.0), ("2", 40.0)]))
            .unwrap();
        assert_eq!(
            (burst.score, burst.top_feature.as_str()),
            (1.0, "template:2")
        );
        // The usual template stopped: scored as 0 lines against its median of 10.
        let stopped = m.score(&with_templates(&[("2", 1.0)])).unwrap();
        assert_eq!(stopped.score, 1.0, "{stopped:?}");
        assert_eq!(stopped.top_feature, "template:1");
        assert_eq!((stopped.top_value, stopped.top_median), (0.0, 10.0));
        // A window whose logs come without their templates lists none: none stopped.
        let unlisted = m.score(&with_templates(&[])).unwrap();
        assert!(unlisted.score < 0.9, "{unlisted:?}");
        // Without logs in the window nothing stopped: the logs are missing, not silent.
        let metrics_only = m.score(&window("api", 52.0, None)).unwrap();
        assert_eq!(metrics_only.weights[Modality::Logs as usize], None);
        assert!(metrics_only.score < 0.9, "{metrics_only:?}");
    }

    #[test]
    fn models_saved_before_usual_templates_load_and_score_present_features_only() {
        let (m, _) = Baseline::fit(Options::default(), &logged()).unwrap();
        let mut old: serde_json::Value = serde_json::from_slice(&m.save_state()).unwrap();
        for s in old["services"].as_object_mut().unwrap().values_mut() {
            s.as_object_mut().unwrap().remove("usual_templates");
        }
        let old = Baseline::load_state(&serde_json::to_vec(&old).unwrap()).unwrap();
        assert!(old.services["api"].usual_templates.is_empty());
        let w = with_templates(&[("2", 1.0)]);
        assert_eq!(m.score(&w).unwrap().top_feature, "template:1");
        assert_ne!(old.score(&w).unwrap().top_feature, "template:1");
    }

    #[test]
    fn column_names_map_to_modalities() {
        assert_eq!(Modality::of_column("log_error"), Some(Modality::Logs));
        assert_eq!(Modality::of_column("latency_p95_ms"), Some(Modality::Spans));
        assert_eq!(Modality::of_column("error_ratio"), Some(Modality::Spans));
        assert_eq!(Modality::of_column("metrics"), Some(Modality::Metrics));
        assert_eq!(Modality::of_column("event_kinds"), Some(Modality::Events));
        assert_eq!(Modality::of_column("window_start"), None);
    }
}
