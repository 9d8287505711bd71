//! Models in the lake: the model statements (`CREATE MODEL`, `SHOW MODELS`, `DROP MODEL`,
//! `ALTER MODEL … SET VERSION`), their storage under `_models/`, and loading them into the
//! session's functions.
//!
//! # Layout
//!
//! | module | what it holds |
//! |---|---|
//! | [`statements`] | parsing the model statements in front of DataFusion ([`split_commands`]) |
//! | [`registry`] | `_models/<name>/<version>/{manifest,state}.json`, the active version, `sigfuse.models` |
//! | `training` | running a training query, recording the files it read, progress |
//! | [`log_parser`] | `KIND log_parser`: template mining for the log functions |
//! | [`baseline`] | `KIND baseline`: the detector behind `anomaly_score`, `root_cause`, … |
//!
//! A new version becomes the active one at once, in this session's functions and (when they
//! next load models) in every other process's.

pub mod baseline;
pub mod log_parser;
pub mod registry;
pub mod statements;
mod training;

use std::sync::Arc;

use datafusion::common::{DataFusionError, Result, plan_err};
use datafusion::dataframe::DataFrame;
use sigfuse_models::logparse;
use sigfuse_storage::Lake;
use sigfuse_udfs::ModelHandles;

pub use registry::{MODELS_DIR, Manifest};

/// The baseline option naming the declared call graph (a table, view or query of
/// `(caller, callee)` rows); the engine reads it before training.
pub const CALL_GRAPH_OPTION: &str = "call_graph";
pub use statements::{Command, CreateModel, split_commands};

/// What `CREATE MODEL` wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelReport {
    pub name: String,
    pub kind: String,
    pub version: u64,
    /// Training metrics, as in the manifest.
    pub metrics: serde_json::Value,
}

impl ModelReport {
    /// `rows 7, templates 2`: the metrics in one line.
    pub fn summary(&self) -> String {
        match &self.metrics {
            serde_json::Value::Object(m) => m
                .iter()
                .filter(|(_, v)| v.is_number())
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            other => other.to_string(),
        }
    }
}

/// Serializes the statements that change a lake's models (the save of a `CREATE MODEL`, `DROP`,
/// `ALTER … SET VERSION`) within one process, so versions are numbered and activated in order
/// and the lake and the running functions agree.
pub type ModelLock = Arc<tokio::sync::Mutex<()>>;

/// Runs `CREATE MODEL`: trains on `training` (the planned query), writes the next version,
/// makes it active and switches the session's functions to it. While it trains, `stop`
/// completing (a cancel, a statement timeout) ends it with nothing saved; once trained, it
/// saves to the end whatever happens to the caller (see [`commit`]).
#[allow(clippy::too_many_arguments)]
pub async fn create_model(
    lake: &Lake,
    handles: &ModelHandles,
    lock: &ModelLock,
    cm: &CreateModel,
    training: DataFrame,
    creator: &str,
    call_graph: Option<Vec<(String, String)>>,
    stop: impl std::future::Future<Output = ()>,
) -> Result<ModelReport> {
    if cm.kind == logparse::KIND && (!cm.options.is_empty() || call_graph.is_some()) {
        return plan_err!("CREATE MODEL {}: KIND log_parser takes no OPTIONS", cm.name);
    }
    let train = async {
        let (stream, data) = training::run(training).await?;
        let mut progress = training::Progress::new(&cm.name);
        let trained = match cm.kind.as_str() {
            logparse::KIND => {
                let (miner, metrics) = log_parser::train(&cm.name, stream, &mut progress).await?;
                Trained::LogParser(Box::new(miner), metrics)
            }
            sigfuse_models::baseline::KIND => {
                let (model, metrics) =
                    baseline::train(&cm.name, &cm.options, stream, call_graph, &mut progress)
                        .await?;
                Trained::Baseline(Box::new(model), metrics)
            }
            other => return plan_err!("CREATE MODEL {}: unknown model kind {other:?}", cm.name),
        };
        Ok((trained, data))
    };
    let (trained, data) = tokio::select! {
        biased;
        () = stop => {
            return Err(DataFusionError::Execution(format!(
                "CREATE MODEL {}: stopped while training; nothing was saved",
                cm.name
            )));
        }
        r = train => r?,
    };
    // Numbered under the model lock (see `commit`).
    let manifest = |metrics: serde_json::Value| Manifest {
        kind: cm.kind.clone(),
        name: cm.name.clone(),
        version: 0,
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        creator: creator.to_string(),
        query: cm.query.clone(),
        data: data.clone(),
        options: cm.options.clone(),
        metrics,
    };
    let name = cm.name.clone();
    let (version, metrics) = match trained {
        Trained::LogParser(miner, metrics) => {
            let state = miner.save_state();
            let parser = Arc::clone(&handles.log_parser);
            let version = commit(lake, lock, manifest(metrics.clone()), state, move |v| {
                parser.set_model(*miner, &name, v)
            })
            .await?;
            (version, metrics)
        }
        Trained::Baseline(model, mut metrics) => {
            // Lineage of the template ids: a model trained on the online miner's is exposed to
            // that miner relearning them after a restart.
            if model.uses_log_templates() {
                let parser = handles.log_parser.describe();
                if parser.starts_with("online") {
                    log::warn!(
                        "CREATE MODEL {}: its log-template features come from the online miner, \
                         whose template ids another process relearns; train a log parser first \
                         (CREATE MODEL … KIND log_parser AS SELECT body, service FROM logs)",
                        cm.name
                    );
                }
                if let Some(m) = metrics.as_object_mut() {
                    m.insert("log_parser".into(), serde_json::Value::String(parser));
                }
            }
            let state = model.save_state();
            let detectors = Arc::clone(&handles.detectors);
            let version = commit(lake, lock, manifest(metrics.clone()), state, move |v| {
                detectors.set(&name, v, *model)
            })
            .await?;
            (version, metrics)
        }
    };
    log::info!("CREATE MODEL {} version {version}: done", cm.name);
    Ok(ModelReport {
        name: cm.name.clone(),
        kind: cm.kind.clone(),
        version,
        metrics,
    })
}

/// A trained model, before it is saved.
enum Trained {
    LogParser(Box<sigfuse_models::logparse::Miner>, serde_json::Value),
    Baseline(Box<sigfuse_models::baseline::Baseline>, serde_json::Value),
}

/// Saves a trained model as the next version of its name (`manifest.version` is set here:
/// state, manifest, then `active.json`) and switches the functions to it with `switch`, under
/// the model lock (see [`locked`]). Returns the version.
async fn commit(
    lake: &Lake,
    lock: &ModelLock,
    mut manifest: Manifest,
    state: Vec<u8>,
    switch: impl FnOnce(u64) + Send + 'static,
) -> Result<u64> {
    let lake = lake.clone();
    locked(lock, async move {
        manifest.version = registry::next_version(&lake, &manifest.name).await?;
        registry::write(&lake, &manifest, state).await?;
        switch(manifest.version);
        Ok(manifest.version)
    })
    .await
}

/// Runs a change of the lake's models (a save, `DROP`, `ALTER … SET VERSION`, each with the
/// reload of the functions) under the model lock and in a task of its own: it runs to the end
/// even when the statement's future is dropped meanwhile (a client gone), so the lake and the
/// running functions never disagree.
async fn locked<T, F>(lock: &ModelLock, change: F) -> Result<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = Result<T>> + Send + 'static,
{
    let lock = Arc::clone(lock);
    tokio::spawn(async move {
        let _guard = lock.lock_owned().await;
        change.await
    })
    .await
    .map_err(|e| DataFusionError::Execution(format!("changing the models failed: {e}")))?
}

/// Loads the active version of every model into the session's functions: the newest log
/// parser, and every baseline model by name.
pub async fn load_all(lake: &Lake, handles: &ModelHandles) -> Result<Option<(String, u64)>> {
    let active = registry::active(lake).await?;
    baseline::load_all(lake, &active, &handles.detectors).await?;
    log_parser::load_latest(lake, &active, &handles.log_parser).await
}

/// `DROP MODEL [IF EXISTS] name`.
pub async fn drop_model(
    lake: &Lake,
    handles: &ModelHandles,
    lock: &ModelLock,
    name: &str,
    if_exists: bool,
) -> Result<()> {
    let (lake, handles, name) = (lake.clone(), handles.clone(), name.to_string());
    locked(lock, async move {
        if !registry::drop_model(&lake, &name).await? && !if_exists {
            return plan_err!("model '{name}' does not exist (SHOW MODELS lists the models)");
        }
        load_all(&lake, &handles).await?;
        Ok(())
    })
    .await
}

/// `ALTER MODEL name SET VERSION n`: rolls back (or forward) to version `n`.
pub async fn set_version(
    lake: &Lake,
    handles: &ModelHandles,
    lock: &ModelLock,
    name: &str,
    version: u64,
) -> Result<()> {
    let (lake, handles, name) = (lake.clone(), handles.clone(), name.to_string());
    locked(lock, async move {
        registry::set_active(&lake, &name, version).await?;
        load_all(&lake, &handles).await?;
        Ok(())
    })
    .await
}

/// The query `SHOW MODELS` runs: the active version of each model.
pub const SHOW_MODELS_SQL: &str = "SELECT name, kind, version, created_at, creator, query, metrics \
     FROM sigfuse.models WHERE active ORDER BY name";

#[cfg(test)]
mod tests {
    use super::*;

    async fn one(engine: &crate::Engine, sql: &str) -> String {
        let batches = engine.sql(sql).await.unwrap().collect().await.unwrap();
        datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string()
    }

    fn cm(sql: &str) -> CreateModel {
        match split_commands(sql).unwrap().pop() {
            Some(Command::CreateModel(cm)) => cm,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_saved_log_parser_keeps_ids_across_engines_and_versions_count_up() {
        let lake = Lake::open("memory://models-test").unwrap();
        let config = crate::EngineConfig::default();
        let first = crate::Engine::over(lake.clone(), &config).unwrap();
        assert_eq!(first.load_models().await.unwrap(), None);
        first
            .ctx()
            .sql(
                "CREATE TABLE train (body VARCHAR, service VARCHAR) AS VALUES \
                  ('user alice logged in', 'auth'), ('user bob logged in', 'auth'), \
                  ('user carol logged in', 'auth'), ('user dave logged in', 'auth'), \
                  ('user erin logged in', 'auth'), ('user frank logged in', 'auth'), \
                  ('flush took 12 ms', 'db')",
            )
            .await
            .unwrap();
        let report = first
            .create_model(
                &cm("CREATE MODEL ops KIND log_parser AS SELECT body, service FROM train"),
                "alice",
            )
            .await
            .unwrap();
        assert_eq!(report.version, 1);
        assert_eq!(report.metrics["lines"], 7);
        assert_eq!(report.metrics["templates"], 2);
        let query = "SELECT log_template('user zoe logged in', 'auth') AS t, \
                     log_template_id('user zoe logged in', 'auth') AS id, \
                     log_template('never seen 42', 'auth') AS unseen";
        let before = one(&first, query).await;
        assert!(before.contains("user <*> logged in"), "{before}");
        assert!(before.contains("never seen <NUM>"), "{before}");
        // Another engine (another process) over the same lake loads the model: same ids.
        let second = crate::Engine::over(lake.clone(), &config).unwrap();
        assert_eq!(
            second.load_models().await.unwrap(),
            Some(("ops".to_string(), 1))
        );
        assert_eq!(one(&second, query).await, before);
        // The model is read-only: lines seen by queries do not change it.
        one(&second, "SELECT log_template('user 7 logged in', 'auth')").await;
        assert_eq!(one(&second, query).await, before);
        let report = second
            .create_model(
                &cm("CREATE MODEL ops AS SELECT * FROM (VALUES ('x')) AS t(body)"),
                "bob",
            )
            .await
            .unwrap();
        assert_eq!(report.version, 2);
        assert!(
            second
                .handles()
                .log_parser
                .describe()
                .contains("ops version 2")
        );
        let manifest = registry::read_manifest(&lake, "ops", 2)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(manifest.query, "SELECT * FROM (VALUES ('x')) AS t(body)");
        assert_eq!(
            (manifest.kind.as_str(), manifest.creator.as_str()),
            ("log_parser", "bob")
        );
        // Rollback: version 1 is active again, in this session and in a new one.
        second
            .model_command(&Command::AlterModelVersion {
                name: "ops".into(),
                version: 1,
            })
            .await
            .unwrap();
        assert!(
            second
                .handles()
                .log_parser
                .describe()
                .contains("ops version 1")
        );
        let third = crate::Engine::over(lake.clone(), &config).unwrap();
        assert_eq!(
            third.load_models().await.unwrap(),
            Some(("ops".to_string(), 1))
        );
        let shown = one(&third, SHOW_MODELS_SQL).await;
        assert!(shown.contains("| ops  | log_parser | 1 "), "{shown}");
        let all = one(
            &third,
            "SELECT name, version, active FROM sigfuse.models ORDER BY version",
        )
        .await;
        assert!(all.contains("| ops  | 1       | true   |"), "{all}");
        assert!(all.contains("| ops  | 2       | false  |"), "{all}");
        // Drop: gone from the lake and from the functions.
        third
            .model_command(&Command::DropModel {
                name: "ops".into(),
                if_exists: false,
            })
            .await
            .unwrap();
        assert!(third.handles().log_parser.describe().starts_with("online"));
        assert_eq!(registry::names(&lake).await.unwrap(), Vec::<String>::new());
        let err = third
            .model_command(&Command::DropModel {
                name: "ops".into(),
                if_exists: false,
            })
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("model 'ops' does not exist"), "{err}");
        third
            .model_command(&Command::DropModel {
                name: "ops".into(),
                if_exists: true,
            })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn create_model_refuses_a_query_of_the_wrong_shape_and_unknown_versions() {
        let engine = crate::Engine::over(
            Lake::open("memory://models-bad").unwrap(),
            &crate::EngineConfig::default(),
        )
        .unwrap();
        let err = engine
            .create_model(&cm("CREATE MODEL m AS SELECT 1, 2, 3"), "x")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("must return (body [, service]), got 3 columns"),
            "{err}"
        );
        let err = engine
            .create_model(&cm("CREATE MODEL b KIND baseline AS SELECT 1 AS x"), "x")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("must return signal_windows rows"), "{err}");
        let err = engine
            .create_model(
                &cm("CREATE MODEL b KIND baseline OPTIONS (colour = 'red') AS SELECT 'a' AS service"),
                "x",
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown option \"colour\""), "{err}");
        let err = engine
            .model_command(&Command::AlterModelVersion {
                name: "b".into(),
                version: 3,
            })
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("model 'b' does not exist"), "{err}");
    }
}
