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
//! | [`asof`] | `ASOF JOIN`: AST rewrite, relation planner, logical node, `AsofJoinExec` and its merge kernel |
//! | [`unordered`] | physical optimizer rule: plain hash aggregation where no one needs an ordered aggregate's order |
//! | [`view_eq`] | physical optimizer rule: filters comparing text with short constants compare 16-byte views |
//! | [`text_encoders`] | loads `embed_text`'s models from folders or the object store, once per model |
//! | [`gapfill`] | `time_bucket_gapfill` with `locf`/`interpolate`: analyzer rule, logical node, `GapFillExec` |
//! | [`percentiles`] | optimizer rule: the `percentile_cont` calls of one aggregate over one value share one copy of the values |
//! | [`materialized`] | `WITH x AS MATERIALIZED (…)`: AST rewrite, relation planner, logical node, `MaterializedCteExec` (the body computed once) |
//! | [`planner`] | the query planner: DataFusion's plus our extension planners (gap filling, ASOF, materialized CTEs) |
//! | [`rewrite_statement`], [`rewrite_sql`] | the AST rewrites our SQL extensions need (ASOF joins, materialized CTEs), on a statement or on text |
//! | [`split_statements`] | splits a script into statements for one-by-one execution (rewritten for the planner) |
//! | [`models`] | the model statements (recognized by [`split_commands`]), models under `_models/`, the `sigfuse.models` table, loading models into the functions |
//!
//! It does not speak a wire protocol (that is `sigfuse-sql`) and does not parse sources (that is
//! `sigfuse-storage`).

pub mod asof;
pub mod config;
pub mod gapfill;
pub mod like_escape;
pub mod materialized;
pub mod models;
pub mod percentiles;
pub mod planner;
pub mod text_encoders;
pub mod unordered;
pub mod view_eq;

pub use models::{Command, CreateModel, ModelReport, split_commands};

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::common::config::ExtensionOptions;
use datafusion::common::{DataFusionError, Result, internal_err, plan_err};
use datafusion::dataframe::DataFrame;
use datafusion::execution::cache::cache_manager::CacheManagerConfig;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::optimizer::{Optimizer, OptimizerRule};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use sigfuse_models::text::DEFAULT_CACHE_ENTRIES;
use sigfuse_storage::{Lake, SignalKind, SignalTable};
use sigfuse_udfs::ModelHandles;
use sigfuse_udfs::settings::SigfuseOptions;

use crate::text_encoders::EngineTextEncoders;

/// The one child of a single-input operator, from `ExecutionPlan::with_new_children`.
pub(crate) fn only_child(
    mut children: Vec<Arc<dyn ExecutionPlan>>,
    operator: &str,
) -> Result<Arc<dyn ExecutionPlan>> {
    match (children.pop(), children.is_empty()) {
        (Some(input), true) => Ok(input),
        _ => internal_err!("{operator}: expected one child"),
    }
}

/// The schema of the system tables (`sigfuse.models`).
pub const SYSTEM_SCHEMA: &str = "sigfuse";

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
    handles: ModelHandles,
    /// Shared by every clone: model changes happen one at a time.
    model_lock: models::ModelLock,
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
        // Parquet filter push-down (decoding the filter columns first, the others only for the
        // rows that pass) stays off, DataFusion's default: it saved 8-20 % CPU on the selective
        // queries of benches/peers.sh while text columns were read as Utf8, but with Utf8View
        // columns (storage::SignalKind::read_schema) decoding the other columns is cheap and
        // the push-down costs more than it saves: q4 (ASOF of the 5 % error spans) 18.1-18.3 ms
        // with it against 15.6-16.4 ms without, q6 (a 20-minute substring search) 9.7-9.9 ms
        // against 8.4-9.2 ms (release, 15 warm runs in one process, three alternations).
        // Row-group and page pruning on `ts` statistics do not depend on it.

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
            log_parser: Arc::new(sigfuse_udfs::logs::LogParser::online()),
            detectors: Arc::default(),
        };
        let state = SessionStateBuilder::new()
            .with_config(session_config)
            .with_runtime_env(runtime)
            .with_default_features()
            .with_query_planner(Arc::new(planner::SigfuseQueryPlanner))
            .with_optimizer_rules(optimizer_rules())
            .with_physical_optimizer_rule(Arc::new(unordered::UnorderedAggregates))
            .with_physical_optimizer_rule(Arc::new(view_eq::InlineViewEquality))
            .build();
        let mut ctx = SessionContext::new_with_state(state);
        ctx.register_relation_planner(Arc::new(asof::AsofRelationPlanner))?;
        ctx.register_relation_planner(Arc::new(materialized::MaterializedRelationPlanner))?;
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
        for (name, function, _) in sigfuse_udfs::table_functions(&models, &tables) {
            ctx.register_udtf(name, function);
        }
        // System tables: `sigfuse.models`.
        let system = Arc::new(MemorySchemaProvider::new());
        system.register_table(
            "models".to_string(),
            Arc::new(models::registry::ModelsTable::new(lake.clone())),
        )?;
        let catalog_name = ctx
            .state()
            .config()
            .options()
            .catalog
            .default_catalog
            .clone();
        if let Some(catalog) = ctx.catalog(&catalog_name) {
            catalog.register_schema(SYSTEM_SCHEMA, system)?;
        }
        Ok(Self {
            lake,
            ctx,
            handles: models,
            model_lock: models::ModelLock::default(),
        })
    }

    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    pub fn ctx(&self) -> &SessionContext {
        &self.ctx
    }

    /// Plans one statement as `SessionContext::sql` does (the session's dialect and checks)
    /// plus sigfuse's SQL extensions that need the statement itself ([`rewrite_statement`]).
    /// `ctx().sql()` is DataFusion's alone: it refuses `a ASOF JOIN b` and inlines
    /// `AS MATERIALIZED` CTEs.
    pub async fn sql(&self, sql: &str) -> Result<DataFrame> {
        let state = self.ctx.state();
        let dialect = state.config().options().sql_parser.dialect;
        let mut statement = state.sql_to_statement(sql, &dialect)?;
        rewrite_statement(&mut statement);
        let plan = state.statement_to_plan(statement).await?;
        SQLOptions::new().verify_plan(&plan)?;
        self.ctx.execute_logical_plan(plan).await
    }

    /// The model handles the session's functions use.
    pub fn handles(&self) -> &ModelHandles {
        &self.handles
    }

    /// Loads the lake's models into the session's functions: every baseline model (the active
    /// version of each), and the latest log parser (the log functions mine online until then,
    /// or when there is none), whose name and version it returns.
    pub async fn load_models(&self) -> Result<Option<(String, u64)>> {
        models::load_all(&self.lake, &self.handles).await
    }

    /// Runs `CREATE MODEL` as `creator` and switches the functions to the new version.
    pub async fn create_model(&self, cm: &CreateModel, creator: &str) -> Result<ModelReport> {
        self.create_model_until(cm, creator, std::future::pending())
            .await
    }

    /// [`Engine::create_model`] that stops, saving nothing, when `stop` completes while it
    /// still reads and trains (a cancel or a statement timeout); once trained it saves.
    pub async fn create_model_until(
        &self,
        cm: &CreateModel,
        creator: &str,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<ModelReport> {
        let call_graph = match cm.options.get(models::CALL_GRAPH_OPTION) {
            Some(source) => Some(self.call_graph(&cm.name, source).await?),
            None => None,
        };
        let training = self.sql(&cm.query).await?;
        models::create_model(
            &self.lake,
            &self.handles,
            &self.model_lock,
            cm,
            training,
            creator,
            call_graph,
            stop,
        )
        .await
    }

    /// The `(caller, callee)` edges of a `call_graph` model option: the first two columns of a
    /// table or view by name, or of a query (`SELECT …`, `WITH …`, `VALUES …`).
    async fn call_graph(&self, model: &str, source: &str) -> Result<Vec<(String, String)>> {
        let who = format!("CREATE MODEL {model}: option call_graph");
        let first = source
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let frame = if matches!(first.as_str(), "select" | "with" | "values") {
            self.sql(source).await
        } else {
            self.ctx.table(source).await
        }
        .map_err(|e| {
            DataFusionError::Plan(format!(
                "{who}: {} (give a table or view of (caller, callee) rows, or a query returning them)",
                e.message()
            ))
        })?;
        if frame.schema().fields().len() < 2 {
            return plan_err!(
                "{who}: needs two columns (caller, callee), got {}",
                frame.schema().fields().len()
            );
        }
        let mut edges = Vec::new();
        for batch in frame.collect().await? {
            let text = |i: usize| cast(batch.column(i), &DataType::Utf8);
            let (callers, callees) = (text(0)?, text(1)?);
            let (callers, callees) = (callers.as_string::<i32>(), callees.as_string::<i32>());
            for i in 0..batch.num_rows() {
                if callers.is_valid(i) && callees.is_valid(i) {
                    edges.push((callers.value(i).to_string(), callees.value(i).to_string()));
                }
            }
        }
        Ok(edges)
    }

    /// Runs a model statement other than `CREATE MODEL` (see [`Engine::create_model`]):
    /// `SHOW MODELS` gives its rows, `DROP MODEL` and `ALTER MODEL` nothing.
    pub async fn model_command(&self, command: &Command) -> Result<Option<DataFrame>> {
        match command {
            Command::ShowModels => Ok(Some(self.sql(models::SHOW_MODELS_SQL).await?)),
            Command::DropModel { name, if_exists } => {
                models::drop_model(
                    &self.lake,
                    &self.handles,
                    &self.model_lock,
                    name,
                    *if_exists,
                )
                .await?;
                Ok(None)
            }
            Command::AlterModelVersion { name, version } => {
                models::set_version(&self.lake, &self.handles, &self.model_lock, name, *version)
                    .await?;
                Ok(None)
            }
            Command::Sql(_) | Command::CreateModel(_) => {
                datafusion::common::internal_err!("model_command: not a model statement")
            }
        }
    }
}

/// DataFusion's optimizer rules with ours placed where they must run: the ASOF filter push-down
/// before DataFusion's (which then carries the pushed filters further) and before projections
/// are pruned (which would put a projection between a `WHERE` and the join); the percentile
/// fusion before the projections are pruned too.
fn optimizer_rules() -> Vec<Arc<dyn OptimizerRule + Send + Sync>> {
    let mut rules = Optimizer::new().rules;
    let at = rules
        .iter()
        .position(|r| r.name() == "push_down_filter")
        .unwrap_or(rules.len());
    rules.insert(at, Arc::new(asof::PushLeftFiltersIntoAsof));
    // Before the projections are pruned, so that the projection it adds is merged.
    let at = rules
        .iter()
        .position(|r| r.name() == "optimize_projections")
        .unwrap_or(rules.len());
    rules.insert(at, Arc::new(percentiles::FusePercentiles));
    rules
}

/// Rewrites a statement for the SQL extensions the planner cannot see otherwise: ASOF joins
/// ([`asof::sql`]) and `AS MATERIALIZED` CTEs ([`materialized::sql`]), also inside `EXPLAIN`
/// and `COPY (…) TO`. Returns whether anything changed. Idempotent.
pub fn rewrite_statement(statement: &mut Statement) -> bool {
    use datafusion::sql::parser::{CopyToSource, CopyToStatement};
    match statement {
        Statement::Statement(s) => rewrite_ast(s.as_mut()),
        Statement::Explain(e) => rewrite_statement(&mut e.statement),
        Statement::CopyTo(CopyToStatement {
            source: CopyToSource::Query(q),
            ..
        }) => rewrite_ast(q.as_mut()),
        _ => false,
    }
}

/// Both AST rewrites on one node; whether either changed it.
fn rewrite_ast<T: datafusion::sql::sqlparser::ast::VisitMut>(node: &mut T) -> bool {
    let asof = asof::wrap_asof_joins(node);
    materialized::mark_materialized(node) | asof
}

/// [`rewrite_statement`] for SQL text (PostgreSQL dialect), for callers that hold only the
/// string: `Some(rewritten)` when anything changed, `None` when nothing did or the text does
/// not parse (the caller's parser then reports the error as usual). Cheap substring tests keep
/// every other statement off the parse-and-print path.
pub fn rewrite_sql(sql: &str) -> Option<String> {
    use datafusion::sql::sqlparser::parser::Parser;
    if !asof::sql::may_have_asof(sql) && !materialized::sql::may_have_hint(sql) {
        return None;
    }
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    let mut changed = false;
    for s in &mut statements {
        changed |= rewrite_ast(s);
    }
    changed.then(|| {
        statements
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(";\n")
    })
}

/// Splits a SQL script into its statements (PostgreSQL dialect, as users write over the wire),
/// rewritten for the planner ([`rewrite_statement`]).
pub fn split_statements(sql: &str) -> Result<Vec<Statement>> {
    let mut statements: Vec<Statement> =
        DFParser::parse_sql_with_dialect(sql, &PostgreSqlDialect {})?
            .into_iter()
            .collect();
    for s in &mut statements {
        rewrite_statement(s);
    }
    Ok(statements)
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
