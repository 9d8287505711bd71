//! # sigfuse-engine
//!
//! The composition root: the only place that builds a DataFusion `SessionContext`. Everything
//! that runs SQL over a lake (the CLI, the Postgres endpoint, tests) gets its context here, so all
//! of them see the same tables, functions and settings.
//!
//! # Layout
//!
//! | item | what it does |
//! |---|---|
//! | [`EngineConfig`] | the settings a session is built from (lake location, storage options, memory) |
//! | [`config`] | reading those settings from `sigfuse.toml` |
//! | [`Engine`] | an opened lake plus the session built over it |
//! | [`like_escape`] | optimizer rule: `LIKE … ESCAPE 'c'` for any `c`, as SQL tools send it |
//! | [`text_encoders`] | loads `embed_text`'s models from folders or the object store, once per model |
//! | [`gapfill`] | `time_bucket_gapfill` with `locf`/`interpolate`: analyzer rule, logical node, `GapFillExec` |
//! | [`planner`] | the query planner: DataFusion's plus our extension planners |
//! | [`split_statements`] | splits a script into statements for one-by-one execution |
//!
//! It does not speak a wire protocol (that is `sigfuse-sql`) and does not parse sources (that is
//! `sigfuse-storage`).

pub mod config;
pub mod gapfill;
pub mod like_escape;
pub mod planner;
pub mod text_encoders;

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ExtensionOptions;
use datafusion::execution::cache::cache_manager::CacheManagerConfig;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use sigfuse_models::text::DEFAULT_CACHE_ENTRIES;
use sigfuse_storage::{Lake, SignalKind, SignalTable};
use sigfuse_udfs::ModelHandles;
use sigfuse_udfs::settings::SigfuseOptions;

use crate::text_encoders::EngineTextEncoders;

/// Settings a session is built from.
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    /// Lake root: a path or a `file://`, `memory://`, `s3://`, `gs://`, `az://` URL.
    pub lake: String,
    /// object_store options (`aws_endpoint`, …) that override the environment.
    pub storage_options: HashMap<String, String>,
    /// Memory the query engine may use before it spills or fails; unlimited when `None`.
    pub memory_limit: Option<usize>,
    /// The sessions' default `sigfuse.text_encoder` (`builtin` when `None`).
    pub text_encoder: Option<String>,
    /// The sessions' default `sigfuse.device` (`cpu` when `None`).
    pub device: Option<String>,
}

/// An opened lake and the session over it.
#[derive(Clone)]
pub struct Engine {
    lake: Lake,
    ctx: SessionContext,
}

impl Engine {
    /// Opens the lake and builds the session: the four signal tables and every sigfuse function.
    pub fn open(config: &EngineConfig) -> Result<Self> {
        let lake = Lake::open_with_options(&config.lake, &config.storage_options)?;
        Self::over(lake, config)
    }

    /// Builds the session over an already opened lake (tests share an in-memory one this way).
    pub fn over(lake: Lake, config: &EngineConfig) -> Result<Self> {
        let mut options = SigfuseOptions::default();
        if let Some(encoder) = &config.text_encoder {
            options.set("text_encoder", encoder)?;
        }
        if let Some(device) = &config.device {
            options.set("device", device)?;
        }
        let session_config = SessionConfig::new()
            .with_information_schema(true)
            .with_collect_statistics(true)
            .with_option_extension(options);
        // The lake is live (ingest runs while sessions query), and DataFusion's list-files cache
        // never expires by default: a session would not see files written after its first scan.
        // Listing is cheap because scans list only the hour folders a query needs; the footer
        // and statistics caches stay on, as they are checked against each object's size and time.
        let caches = CacheManagerConfig::default().with_list_files_cache_limit(0);
        let mut runtime = RuntimeEnvBuilder::new().with_cache_manager(caches);
        if let Some(limit) = config.memory_limit {
            runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(limit)));
        }
        let runtime = runtime.build_arc()?;
        let models = ModelHandles {
            text_encoders: Arc::new(EngineTextEncoders::new(
                Arc::clone(&runtime),
                DEFAULT_CACHE_ENTRIES,
            )),
        };
        let state = SessionStateBuilder::new()
            .with_config(session_config)
            .with_runtime_env(runtime)
            .with_default_features()
            .with_query_planner(Arc::new(planner::SigfuseQueryPlanner))
            .build();
        let mut ctx = SessionContext::new_with_state(state);
        let store_url = lake.object_store_url();
        ctx.register_object_store(store_url.as_ref(), Arc::clone(lake.store()));
        for kind in SignalKind::ALL {
            ctx.register_table(kind.table_name(), Arc::new(SignalTable::new(&lake, kind)))?;
        }
        ctx.add_optimizer_rule(Arc::new(like_escape::LikeEscapeToBackslash));
        // After type coercion (analyzer rules run in order), before any optimizer rule.
        ctx.add_analyzer_rule(Arc::new(gapfill::GapFillRule));
        sigfuse_udfs::register_all(&mut ctx, &models)?;
        let tables = SignalKind::ALL.map(|k| k.table_name().to_string());
        ctx.register_udtf(
            sigfuse_udfs::time::signal_windows::NAME,
            Arc::new(sigfuse_udfs::time::signal_windows::SignalWindows::new(
                tables,
            )),
        );
        Ok(Self { lake, ctx })
    }

    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    pub fn ctx(&self) -> &SessionContext {
        &self.ctx
    }
}

/// Splits a SQL script into its statements (PostgreSQL dialect, as users write over the wire).
pub fn split_statements(sql: &str) -> Result<Vec<Statement>> {
    Ok(
        DFParser::parse_sql_with_dialect(sql, &PostgreSqlDialect {})?
            .into_iter()
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_new_lake_has_four_empty_signal_tables() {
        let engine = Engine::open(&EngineConfig {
            lake: "memory://e".into(),
            ..Default::default()
        })
        .unwrap();
        for kind in SignalKind::ALL {
            let n = engine
                .ctx()
                .sql(&format!("SELECT count(*) FROM {kind}"))
                .await
                .unwrap()
                .count()
                .await
                .unwrap();
            assert_eq!(n, 1);
        }
        let tables = engine
            .ctx()
            .sql("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&tables)
            .unwrap()
            .to_string();
        for kind in SignalKind::ALL {
            assert!(text.contains(kind.table_name()), "{text}");
        }
    }

    #[test]
    fn scripts_split_into_statements_and_bad_sql_is_an_error() {
        assert_eq!(split_statements("SELECT 1; SELECT 2;").unwrap().len(), 2);
        assert!(split_statements("SELEC 1").is_err());
    }
}
