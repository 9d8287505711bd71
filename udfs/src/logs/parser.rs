//! The log-parser handle the `logs` functions share, and reading their text arguments.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, RwLock};

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result, plan_err};
use sigfuse_models::ModelError;
use sigfuse_models::logparse::{Miner, Scratch};

pub(crate) use crate::texts::Texts;

/// Where templates come from.
enum Mode {
    /// No model: one miner for the whole process, learning from every line it is shown.
    Online(Miner),
    /// A saved model, read-only.
    Model {
        miner: Miner,
        name: String,
        version: u64,
    },
}

struct State {
    mode: Mode,
    /// Bumped when the model is replaced, so that aggregates holding cluster numbers of the
    /// previous one notice.
    generation: u64,
}

/// The model handle given to the `logs` functions by the engine: the latest version of the
/// default log-parser model when there is one, else an online miner. Cheap to share
/// (`Arc`); the engine swaps the model in place after `CREATE MODEL`.
pub struct LogParser {
    state: RwLock<State>,
}

impl std::fmt::Debug for LogParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LogParser({})", self.describe())
    }
}

/// One parsed row handed to the functions' callbacks.
pub(crate) struct Row<'a> {
    pub template: &'a str,
    pub id: u64,
    pub params: &'a [&'a str],
    /// The cluster, when the line is in one: stable for the generation it was parsed in.
    pub cluster: Option<usize>,
}

/// The seam where a model error becomes a DataFusion error.
pub fn model_err(e: ModelError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

impl LogParser {
    /// An online miner with the default configuration.
    pub fn online() -> Self {
        Self::from_mode(Mode::Online(Miner::default()))
    }

    /// A saved model, used read-only.
    pub fn with_model(miner: Miner, name: &str, version: u64) -> Self {
        Self::from_mode(Mode::Model {
            miner,
            name: name.to_string(),
            version,
        })
    }

    fn from_mode(mode: Mode) -> Self {
        LogParser {
            state: RwLock::new(State {
                mode,
                generation: 0,
            }),
        }
    }

    /// Replaces what the functions use by a saved model (after `CREATE MODEL`).
    pub fn set_model(&self, miner: Miner, name: &str, version: u64) {
        let mut s = self.state.write().unwrap_or_else(|p| p.into_inner());
        s.mode = Mode::Model {
            miner,
            name: name.to_string(),
            version,
        };
        s.generation += 1;
    }

    /// Back to an online miner when a saved model is in use (it was dropped); an online miner
    /// keeps what it learned.
    pub fn set_online(&self) {
        let mut s = self.state.write().unwrap_or_else(|p| p.into_inner());
        if matches!(s.mode, Mode::Model { .. }) {
            s.mode = Mode::Online(Miner::default());
            s.generation += 1;
        }
    }

    /// `model NAME version V (N templates)` or `online (N templates)`.
    pub fn describe(&self) -> String {
        let s = self.state.read().unwrap_or_else(|p| p.into_inner());
        match &s.mode {
            Mode::Online(m) => format!("online ({} templates)", live(m)),
            Mode::Model {
                miner,
                name,
                version,
            } => format!("model {name} version {version} ({} templates)", live(miner)),
        }
    }

    /// The text of the templates whose id is in `ids`, from the model in use or the online
    /// miner (an online template that has generalized since has another id: not found).
    pub fn template_texts(&self, ids: &HashSet<u64>) -> HashMap<u64, String> {
        let mut out = HashMap::new();
        if ids.is_empty() {
            return out;
        }
        let s = self.state.read().unwrap_or_else(|p| p.into_inner());
        let m = match &s.mode {
            Mode::Online(m) | Mode::Model { miner: m, .. } => m,
        };
        for (i, c) in m.clusters().iter().enumerate() {
            if m.resolve(i) == i && ids.contains(&c.id()) {
                out.insert(c.id(), c.template().to_string());
            }
        }
        out
    }

    /// The current template and id of a cluster parsed in `generation`, if still valid.
    pub(crate) fn cluster(&self, generation: u64, idx: usize) -> Option<(String, u64)> {
        let s = self.state.read().unwrap_or_else(|p| p.into_inner());
        if s.generation != generation {
            return None;
        }
        let m = match &s.mode {
            Mode::Online(m) | Mode::Model { miner: m, .. } => m,
        };
        let c = m.clusters().get(m.resolve(idx))?;
        Some((c.template().to_string(), c.id()))
    }

    /// Parses every row of `bodies` (scoped by `services`, or all in one scope) and calls `f`
    /// with the row number and its result (`None` for a NULL body). Returns the generation the
    /// rows were parsed in. Online, the lines are learned; with a model, matched read-only.
    pub(crate) fn parse_rows(
        &self,
        bodies: &Texts<'_>,
        services: Option<&Texts<'_>>,
        want_params: bool,
        mut f: impl FnMut(usize, Option<Row<'_>>),
    ) -> u64 {
        {
            let s = self.state.read().unwrap_or_else(|p| p.into_inner());
            if let Mode::Model { miner, .. } = &s.mode {
                lookup_rows(miner, bodies, services, want_params, &mut f);
                return s.generation;
            }
        }
        let mut s = self.state.write().unwrap_or_else(|p| p.into_inner());
        let generation = s.generation;
        match &mut s.mode {
            // Replaced by a model between the two locks.
            Mode::Model { miner, .. } => lookup_rows(miner, bodies, services, want_params, &mut f),
            Mode::Online(miner) => {
                let mut scratch = Scratch::default();
                for i in 0..bodies.len() {
                    let Some(body) = bodies.get(i) else {
                        f(i, None);
                        continue;
                    };
                    let svc = service_of(services, i);
                    let idx = miner.add(&svc, &body, &mut scratch);
                    let idx = miner.resolve(idx);
                    let params = if want_params {
                        miner.params(Some(idx), &body, &scratch)
                    } else {
                        Vec::new()
                    };
                    let c = &miner.clusters()[idx];
                    f(
                        i,
                        Some(Row {
                            template: c.template(),
                            id: c.id(),
                            params: &params,
                            cluster: Some(idx),
                        }),
                    );
                }
            }
        }
        generation
    }
}

fn service_of<'a>(services: Option<&Texts<'a>>, i: usize) -> Cow<'a, str> {
    services.and_then(|s| s.get(i)).unwrap_or(Cow::Borrowed(""))
}

fn lookup_rows(
    miner: &Miner,
    bodies: &Texts<'_>,
    services: Option<&Texts<'_>>,
    want_params: bool,
    f: &mut impl FnMut(usize, Option<Row<'_>>),
) {
    let mut scratch = Scratch::default();
    for i in 0..bodies.len() {
        let Some(body) = bodies.get(i) else {
            f(i, None);
            continue;
        };
        let svc = service_of(services, i);
        let parsed = miner.lookup(&svc, &body, &mut scratch);
        let params = if want_params {
            miner.params(parsed.cluster, &body, &scratch)
        } else {
            Vec::new()
        };
        f(
            i,
            Some(Row {
                template: &parsed.template,
                id: parsed.id,
                params: &params,
                cluster: parsed.cluster,
            }),
        );
    }
}

fn live(m: &Miner) -> usize {
    (0..m.clusters().len())
        .filter(|&i| m.resolve(i) == i)
        .count()
}

/// A shared parser compared by identity, so that functions holding one can derive
/// `PartialEq`/`Hash` as DataFusion wants.
#[derive(Debug, Clone)]
pub struct ParserRef(pub Arc<LogParser>);

impl PartialEq for ParserRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ParserRef {}

impl Hash for ParserRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::ptr::hash(Arc::as_ptr(&self.0), state);
    }
}

/// Coerces `(body [, service])`: text and bytes are kept, NULL becomes text, dictionaries
/// their values.
pub(crate) fn coerce_body_service(who: &str, types: &[DataType]) -> Result<Vec<DataType>> {
    if !(1..=2).contains(&types.len()) {
        return plan_err!(
            "{who}: expected (body [, service]), got {} arguments",
            types.len()
        );
    }
    types
        .iter()
        .zip(["body", "service"])
        .map(|(t, arg)| coerce_text(who, arg, t))
        .collect()
}

fn coerce_text(who: &str, arg: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView => Ok(t.clone()),
        DataType::Null => Ok(DataType::Utf8),
        DataType::Dictionary(_, v) => coerce_text(who, arg, v),
        other => plan_err!("{who}: {arg} must be text or bytes, got {other}"),
    }
}
