//! One client's session: the query handlers (simple and extended protocol) over that
//! connection's own `SessionContext`, with rights checked, `statement_timeout` and cancel
//! requests enforced while a result streams, and model statements recognised.
//!
//! Planning and execution are datafusion-postgres's (`DfSessionService`, its parser and
//! hooks). A single query on the simple protocol is answered here with the same steps (hooks,
//! then DataFusion on the statement's text) so that its rows go through [`crate::encode`]; a
//! repeated constant statement runs its kept plan ([`crate::constant_plans`]). The extended
//! protocol's results are encoded by arrow-pg (its parameter handling is datafusion-postgres's
//! own).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{ContextModifier, Reset, Set, Statement};
use datafusion_postgres::QueryHook;
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::pgwire::api::portal::{Format, Portal, PortalExecutionState};
use datafusion_postgres::pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use datafusion_postgres::pgwire::api::query::{send_execution_response, send_query_response};
use datafusion_postgres::pgwire::api::results::Tag;
use datafusion_postgres::pgwire::api::results::{
    DescribePortalResponse, FieldInfo, Response, SendableRowStream,
};
use datafusion_postgres::pgwire::api::stmt::{QueryParser, StoredStatement};
use datafusion_postgres::pgwire::api::store::Entry;
use datafusion_postgres::pgwire::api::store::PortalStore;
use datafusion_postgres::pgwire::api::{ClientInfo, ClientPortalStore, Type};
use datafusion_postgres::pgwire::api::{DEFAULT_NAME, METADATA_USER, PgWireConnectionState};
use datafusion_postgres::pgwire::error::{PgWireError, PgWireResult};
use datafusion_postgres::pgwire::messages::PgWireBackendMessage;
use datafusion_postgres::pgwire::messages::data::DataRow;
use datafusion_postgres::pgwire::messages::extendedquery::Execute;
use datafusion_postgres::{DfSessionService, Parser};
use futures::{Sink, Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::constant_plans::ConstantPlans;
use crate::roles::{Grants, check_model_statement, is_model_statement};
use crate::sqlstate::{code, user_error};

/// The statement type datafusion-postgres keeps for prepared statements.
pub type DfStatement = (String, Option<(Statement, LogicalPlan)>);

/// Where datafusion-postgres's `SHOW statement_timeout` reads the session's value (absent: 0).
const STATEMENT_TIMEOUT_KEY: &str = "statement_timeout_ms";
/// Where [`SetHook`] keeps the session's own value, 0 meaning "no limit" (datafusion-postgres
/// removes its key on 0, which would bring back the server's default).
const SESSION_TIMEOUT_KEY: &str = "sigfuse.statement_timeout_ms";

/// `SET statement_timeout = …` (`ms` by default, or `s`, `min`): the session's own limit, where
/// 0 turns the server's default off, as in PostgreSQL. And `SET sigfuse.… / datafusion.… = …`,
/// applied to the connection's context here so that a bad name or value is an error (`42704`,
/// `22023`): datafusion-postgres would log it and answer `SET`.
///
/// Also the statements a connection pool sends when it hands a connection back (asyncpg:
/// `CLOSE ALL; UNLISTEN *; RESET ALL`): `RESET ALL` puts the session's settings back to those
/// it started with (the shared runtime is not a session setting and stays), `UNLISTEN` has
/// nothing to stop since sigfuse sends no notifications, and `LISTEN`/`NOTIFY` say so.
#[derive(Debug)]
pub struct SetHook {
    initial: Arc<datafusion::common::config::ConfigOptions>,
}

impl SetHook {
    /// For a connection whose context is `ctx`, as it is before any `SET`.
    pub fn new(ctx: &SessionContext) -> Self {
        Self {
            initial: Arc::clone(ctx.state().config().options()),
        }
    }
}

fn parse_timeout_ms(text: &str) -> Option<u64> {
    let text = text.trim().trim_matches('\'').trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    match unit.trim() {
        "" | "ms" => Some(n),
        "s" => Some(n * 1000),
        "min" => Some(n * 60_000),
        _ => None,
    }
}

#[async_trait]
impl QueryHook for SetHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        match statement {
            Statement::UNLISTEN { .. } => {
                return Some(Ok(Response::Execution(Tag::new("UNLISTEN"))));
            }
            Statement::LISTEN { .. } | Statement::NOTIFY { .. } => {
                return Some(Err(user_error(
                    code::FEATURE_NOT_SUPPORTED,
                    "sigfuse sends no notifications: LISTEN and NOTIFY are not supported",
                )));
            }
            // Savepoints (psycopg's nested `transaction()`, SQLAlchemy's `begin_nested`,
            // pgjdbc's `setSavepoint`): sigfuse's statements change nothing a transaction
            // could undo, so they are accepted. Also outside a transaction block, where
            // PostgreSQL refuses them, because the status seen here can be stale: pgwire
            // updates it only after a whole simple-query text (`BEGIN; SAVEPOINT a`), and
            // datafusion-postgres ends the transaction on `ROLLBACK TO SAVEPOINT` (pgwire keeps
            // a failed transaction failed until it ends). In a failed transaction, SAVEPOINT
            // gets the transaction hook's error.
            Statement::Savepoint { .. } | Statement::ReleaseSavepoint { .. } => {
                use datafusion_postgres::pgwire::messages::response::TransactionStatus;
                let savepoint = matches!(statement, Statement::Savepoint { .. });
                if savepoint && client.transaction_status() == TransactionStatus::Error {
                    return None;
                }
                let tag = if savepoint { "SAVEPOINT" } else { "RELEASE" };
                return Some(Ok(Response::Execution(Tag::new(tag))));
            }
            Statement::Reset(reset) if matches!(reset.reset, Reset::ALL) => {
                *ctx.state_ref().write().config_mut().options_mut() = (*self.initial).clone();
                let metadata = client.metadata_mut();
                metadata.remove(SESSION_TIMEOUT_KEY);
                metadata.remove(STATEMENT_TIMEOUT_KEY);
                // `SET TIME ZONE`'s zone (the start-up `TimeZone`, if any, stays).
                metadata.remove("timezone");
                return Some(Ok(Response::Execution(Tag::new("RESET"))));
            }
            _ => {}
        }
        let Statement::Set(Set::SingleAssignment {
            scope,
            variable,
            values,
            ..
        }) = statement
        else {
            return None;
        };
        let name = variable.to_string().to_ascii_lowercase();
        // `SET LOCAL` (a transaction's setting, which DataFusion has not) stays accepted as
        // datafusion-postgres accepts it.
        let local = matches!(scope, Some(ContextModifier::Local));
        if !local && (name.starts_with("sigfuse.") || name.starts_with("datafusion.")) {
            return Some(match ctx.sql(&statement.to_string()).await {
                Ok(_) => Ok(Response::Execution(Tag::new("SET"))),
                Err(e) => {
                    // DataFusion reports a value its option cannot parse as an internal
                    // (external) error: to the client it is a bad value.
                    let (code, message) = crate::sqlstate::sqlstate(&e);
                    let code = if code == code::INTERNAL_ERROR {
                        code::INVALID_PARAMETER_VALUE
                    } else {
                        code
                    };
                    Err(user_error(code, message))
                }
            });
        }
        if name != "statement_timeout" {
            return None;
        }
        let text = values.first().map(ToString::to_string).unwrap_or_default();
        let Some(ms) = parse_timeout_ms(&text) else {
            return Some(Err(user_error(
                code::INVALID_PARAMETER_VALUE,
                format!("invalid value for parameter \"statement_timeout\": {text}"),
            )));
        };
        let metadata = client.metadata_mut();
        metadata.insert(SESSION_TIMEOUT_KEY.to_string(), ms.to_string());
        if ms == 0 {
            metadata.remove(STATEMENT_TIMEOUT_KEY);
        } else {
            metadata.insert(STATEMENT_TIMEOUT_KEY.to_string(), ms.to_string());
        }
        Some(Ok(Response::Execution(Tag::new("SET"))))
    }

    /// Savepoints have no plan; they are answered when executed (pgjdbc's `setSavepoint`
    /// prepares them).
    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        matches!(
            statement,
            Statement::Savepoint { .. } | Statement::ReleaseSavepoint { .. }
        )
        .then(|| {
            Ok(LogicalPlan::EmptyRelation(
                datafusion::logical_expr::EmptyRelation {
                    produce_one_row: false,
                    schema: Arc::new(datafusion::common::DFSchema::empty()),
                },
            ))
        })
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        self.handle_simple_query(statement, ctx, client).await
    }
}

/// Keeps the connection's user name (from its start-up message) where the connection's
/// `current_user` / `session_user` read it ([`crate::catalog::for_connection`]). First of the
/// hooks; it handles no statement itself.
#[derive(Debug)]
pub struct UserHook {
    user: Arc<OnceLock<String>>,
}

impl UserHook {
    pub fn new(user: Arc<OnceLock<String>>) -> Self {
        Self { user }
    }

    fn note(&self, client: &(impl ClientInfo + ?Sized)) {
        if self.user.get().is_none()
            && let Some(name) = client.metadata().get(METADATA_USER)
        {
            let _ = self.user.set(name.clone());
        }
    }
}

#[async_trait]
impl QueryHook for UserHook {
    async fn handle_simple_query(
        &self,
        _statement: &Statement,
        _ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        self.note(client);
        None
    }

    async fn handle_extended_parse_query(
        &self,
        _statement: &Statement,
        _ctx: &SessionContext,
        client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        self.note(client);
        None
    }

    async fn handle_extended_query(
        &self,
        _statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        _ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        self.note(client);
        None
    }
}

/// The running statement of a connection, so a cancel request can stop it.
#[derive(Debug, Default)]
pub struct QueryControl {
    current: Mutex<CancellationToken>,
}

impl QueryControl {
    fn start(&self) -> CancellationToken {
        let token = CancellationToken::new();
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = token.clone();
        token
    }

    /// Stops the statement running now, if any.
    pub fn cancel(&self) {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .cancel();
    }
}

/// The query handlers of one connection.
pub struct Session {
    inner: DfSessionService,
    /// The connection's context and datafusion-postgres's hooks, as `inner` has them: a
    /// simple-protocol query is planned and encoded here (see [`Session::answer_query`]).
    ctx: Arc<SessionContext>,
    hooks: Vec<Arc<dyn QueryHook>>,
    parser: Arc<GuardedParser>,
    control: Arc<QueryControl>,
    default_timeout: Option<Duration>,
    /// Runs model statements; `None` for a server over a bare context.
    models: Option<sigfuse_engine::Engine>,
    /// Plans of constant statements this connection repeats (`SELECT 1`).
    constants: ConstantPlans,
}

impl Session {
    /// The handlers over `ctx`, whose hooks (run in this order on every statement) are
    /// `hooks`.
    pub fn new(
        ctx: Arc<SessionContext>,
        hooks: Vec<Arc<dyn QueryHook>>,
        grants: Arc<Grants>,
        control: Arc<QueryControl>,
        default_timeout: Option<Duration>,
        models: Option<sigfuse_engine::Engine>,
    ) -> Self {
        let inner = DfSessionService::new_with_hooks(Arc::clone(&ctx), hooks.clone());
        let parser = Arc::new(GuardedParser {
            inner: ExtendedQueryHandler::query_parser(&inner),
            grants,
        });
        let constants = ConstantPlans::new(Arc::clone(&ctx));
        Self {
            inner,
            ctx,
            hooks,
            parser,
            control,
            default_timeout,
            models,
            constants,
        }
    }

    /// The limit on the statement about to run: the session's `statement_timeout`, else the
    /// server's default.
    fn timeout(&self, client: &impl ClientInfo) -> Option<Duration> {
        match client
            .metadata()
            .get(SESSION_TIMEOUT_KEY)
            .and_then(|ms| ms.parse::<u64>().ok())
        {
            Some(0) => None,
            Some(ms) => Some(Duration::from_millis(ms)),
            None => self.default_timeout,
        }
    }

    /// When the statement about to run must stop: a cancel request, or `timeout` from now.
    fn stop(&self, timeout: Option<Duration>) -> Stop {
        Stop {
            token: self.control.start(),
            deadline: timeout.map(|t| tokio::time::Instant::now() + t),
        }
    }

    /// One query of the simple protocol, as datafusion-postgres answers it (its hooks, then
    /// DataFusion plans the statement's text), with the rows written by [`crate::encode`].
    async fn answer_query<C>(
        &self,
        client: &mut C,
        statement: &Statement,
        names: Option<Vec<Option<String>>>,
    ) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        for hook in &self.hooks {
            if let Some(result) = hook.handle_simple_query(statement, &self.ctx, client).await {
                return Ok(vec![result?]);
            }
        }
        let api = |e| PgWireError::ApiError(Box::new(e));
        let df = match self.ctx.sql(&statement.to_string()).await {
            // `SELECT 1, 1`: PostgreSQL names both `?column?`; DataFusion wants unique names.
            // Planned again with the items aliased apart; the names below are PostgreSQL's.
            Err(e) if e.to_string().contains("require unique expression names") => {
                match crate::column_names::aliased_apart(statement) {
                    Some(aliased) => self.ctx.sql(&aliased.to_string()).await.map_err(api)?,
                    None => return Err(api(e)),
                }
            }
            other => other.map_err(api)?,
        };
        let schema = df.schema().as_arrow().clone();
        let options = Arc::new(crate::encode::format_options(client.metadata()));
        let batches = df.execute_stream().await.map_err(api)?;
        let mut response =
            crate::encode::query_response(&schema, batches, &Format::UnifiedText, options)?;
        if let Some(names) = names {
            crate::column_names::rename(&mut response, &names);
        }
        Ok(vec![Response::Query(response)])
    }

    /// Runs `work` for a statement under cancel and timeout, and guards the rows it streams.
    async fn run<F>(&self, timeout: Option<Duration>, work: F) -> PgWireResult<Vec<Response>>
    where
        F: Future<Output = PgWireResult<Vec<Response>>>,
    {
        let stop = self.stop(timeout);
        // `biased`: the stop check comes first, so work that uses up tokio's cooperative budget
        // on every poll cannot starve it.
        let responses = tokio::select! {
            biased;
            () = stop.signal() => return Err(stop.check().unwrap_or_else(Stop::canceled)),
            r = work => r?,
        };
        Ok(responses
            .into_iter()
            .map(|r| match r {
                Response::Query(mut q) => {
                    let rows =
                        std::mem::replace(&mut q.data_rows, Box::pin(futures::stream::empty()));
                    q.data_rows = Box::pin(Guarded {
                        rows,
                        signal: Box::pin(stop.clone().signal_owned()),
                        stop: stop.clone(),
                        since_check: 0,
                        done: false,
                    });
                    Response::Query(q)
                }
                other => other,
            })
            .collect())
    }
}

/// When a statement must stop: a cancel request or its deadline.
#[derive(Clone)]
struct Stop {
    token: CancellationToken,
    deadline: Option<tokio::time::Instant>,
}

impl Stop {
    fn canceled() -> PgWireError {
        user_error(
            code::QUERY_CANCELED,
            "canceling statement due to user request",
        )
    }

    /// The error to end with, if the statement must stop now (an atomic load and a clock read).
    fn check(&self) -> Option<PgWireError> {
        if self.token.is_cancelled() {
            Some(Self::canceled())
        } else if self
            .deadline
            .is_some_and(|d| tokio::time::Instant::now() >= d)
        {
            Some(user_error(
                code::QUERY_CANCELED,
                "canceling statement due to statement timeout",
            ))
        } else {
            None
        }
    }

    /// Completes when the statement must stop; used only to be woken.
    async fn signal(&self) {
        let timeout = async {
            match self.deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = self.token.cancelled() => {}
            () = timeout => {}
        }
    }

    async fn signal_owned(self) {
        self.signal().await
    }
}

/// A result stream that ends with `57014` when its statement is cancelled or times out; dropping
/// the inner stream stops DataFusion's work.
struct Guarded {
    rows: SendableRowStream,
    stop: Stop,
    /// Registers the task's waker with the cancel token and the deadline timer.
    signal: Pin<Box<dyn Future<Output = ()> + Send>>,
    since_check: u32,
    done: bool,
}

/// Rows between checks of the stop condition while rows are ready.
const CHECK_EVERY: u32 = 256;

impl Guarded {
    fn end(&mut self, e: PgWireError) -> Poll<Option<PgWireResult<DataRow>>> {
        self.done = true;
        Poll::Ready(Some(Err(e)))
    }
}

impl Stream for Guarded {
    type Item = PgWireResult<DataRow>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        self.since_check += 1;
        if self.since_check >= CHECK_EVERY {
            self.since_check = 0;
            if let Some(e) = self.stop.check() {
                return self.end(e);
            }
        }
        match self.rows.poll_next_unpin(cx) {
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(row)) => Poll::Ready(Some(row)),
            Poll::Pending => {
                // The engine is busy or waiting: decide by the flags (tokio's budget may be
                // spent, so the signal future is polled only to be woken later).
                self.since_check = 0;
                if let Some(e) = self.stop.check() {
                    return self.end(e);
                }
                if self.signal.as_mut().poll(cx).is_ready() {
                    // The stop came between the check and this poll.
                    let e = self.stop.check().unwrap_or_else(Stop::canceled);
                    return self.end(e);
                }
                Poll::Pending
            }
        }
    }
}

/// Refuses model statements a user may not run when they are parsed; `true` for one the user
/// may run (it is prepared without a plan and run by [`run_model_statement`] when executed).
fn model_statement(grants: &Grants, client: &impl ClientInfo, sql: &str) -> PgWireResult<bool> {
    if !is_model_statement(sql) {
        return Ok(false);
    }
    let user = client.metadata().get("user").cloned().unwrap_or_default();
    check_model_statement(grants, &user)?;
    Ok(true)
}

/// Runs a model statement for the simple or the extended protocol. A `CREATE MODEL` obeys
/// `stop` (cancel, statement_timeout) while it reads and trains, and then saves nothing
/// (`57014`); once trained, it saves and succeeds. `DROP` and `ALTER … SET VERSION` are quick
/// and run to the end, so the lake and the server never disagree.
async fn model_statement_response(
    engine: Option<&sigfuse_engine::Engine>,
    grants: &Grants,
    client: &impl ClientInfo,
    sql: &str,
    stop: &Stop,
) -> PgWireResult<Vec<Response>> {
    let user = client.metadata().get("user").cloned().unwrap_or_default();
    check_model_statement(grants, &user)?;
    let Some(engine) = engine else {
        return Err(user_error(
            code::FEATURE_NOT_SUPPORTED,
            "this server was started without a lake for models",
        ));
    };
    run_model_statement(engine, &user, sql, stop).await
}

/// `SHOW MODELS` (any case and spacing, an optional `;`).
fn is_show_models(sql: &str) -> bool {
    let words: Vec<&str> = sql
        .trim()
        .trim_end_matches(';')
        .split_whitespace()
        .collect();
    matches!(words.as_slice(), [a, b] if a.eq_ignore_ascii_case("show") && b.eq_ignore_ascii_case("models"))
}

fn engine_error(e: &datafusion::common::DataFusionError) -> PgWireError {
    let (code, message) = crate::sqlstate::sqlstate(e);
    user_error(code, message)
}

/// Runs `CREATE`/`DROP`/`ALTER MODEL` (the caller checked the role) as `user`.
async fn run_model_statement(
    engine: &sigfuse_engine::Engine,
    user: &str,
    sql: &str,
    stop: &Stop,
) -> PgWireResult<Vec<Response>> {
    use sigfuse_engine::Command;
    let commands = sigfuse_engine::split_commands(sql).map_err(|e| engine_error(&e))?;
    let mut out = Vec::new();
    for command in commands {
        let tag = match &command {
            Command::CreateModel(cm) => {
                let report = engine
                    .create_model_until(cm, user, stop.clone().signal_owned())
                    .await
                    // Stopped while training: the stop's own error (57014).
                    .map_err(|e| stop.check().unwrap_or_else(|| engine_error(&e)))?;
                log::info!(
                    "CREATE MODEL {} KIND {} version {} by {user}: {}",
                    report.name,
                    report.kind,
                    report.version,
                    report.summary()
                );
                "CREATE MODEL"
            }
            Command::DropModel { .. } | Command::AlterModelVersion { .. } => {
                engine
                    .model_command(&command)
                    .await
                    .map_err(|e| engine_error(&e))?;
                if matches!(command, Command::DropModel { .. }) {
                    "DROP MODEL"
                } else {
                    "ALTER MODEL"
                }
            }
            Command::ShowModels | Command::Sql(_) => {
                return Err(user_error(
                    code::FEATURE_NOT_SUPPORTED,
                    "send a model statement on its own (SELECT * FROM sigfuse.models lists the models)",
                ));
            }
        };
        out.push(Response::Execution(Tag::new(tag)));
    }
    Ok(out)
}

#[async_trait]
impl SimpleQueryHandler for Session {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Some(plan) = self.constants.get(query, client) {
            let timeout = self.timeout(client);
            return self.run(timeout, async { plan.respond(client) }).await;
        }
        let text = query;
        if is_model_statement(query) {
            let stop = self.stop(self.timeout(client));
            return model_statement_response(
                self.models.as_ref(),
                &self.parser.grants,
                client,
                query,
                &stop,
            )
            .await;
        }
        // `SHOW MODELS` is a query of `sigfuse.models`, open to every role.
        let query = if is_show_models(query) {
            sigfuse_engine::models::SHOW_MODELS_SQL
        } else {
            query
        };
        // ASOF joins and materialized CTEs become the forms the engine plans
        // (sigfuse_engine::rewrite_sql); the handler parses the text again and hands
        // `statement.to_string()` on, which keeps them.
        let compat = crate::compat::rewrite_sql(query);
        let query = compat.as_deref().unwrap_or(query);
        let rewritten = sigfuse_engine::rewrite_sql(query);
        let query = rewritten.as_deref().unwrap_or(query);
        let timeout = self.timeout(client);
        // One query: answered here (rows by crate::encode); anything else (several statements,
        // commands, a text that does not parse) by datafusion-postgres.
        let statements = crate::compat::PG_PARSER.parse(query).ok();
        match statements.as_deref() {
            Some([statement @ Statement::Query(_)]) => {
                let responses = self
                    .run(
                        timeout,
                        // Named from the text as the client wrote it.
                        self.answer_query(client, statement, crate::column_names::of_text(text)),
                    )
                    .await;
                // Kept only once it ran (the hooks let it), for its next run.
                if responses.is_ok() {
                    self.constants.learn(text, query).await;
                }
                responses
            }
            _ => {
                if !statements
                    .as_deref()
                    .is_some_and(|s| s.iter().all(keeps_settings))
                {
                    self.constants.clear();
                }
                self.run(
                    timeout,
                    SimpleQueryHandler::do_query(&self.inner, client, query),
                )
                .await
            }
        }
    }
}

#[async_trait]
impl ExtendedQueryHandler for Session {
    type Statement = DfStatement;
    type QueryParser = GuardedParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        Arc::clone(&self.parser)
    }

    /// A cursor opened by `DECLARE` is a portal without a plan; its columns are those of the
    /// result it already holds (psycopg describes a named cursor's portal before fetching).
    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        target: &Portal<Self::Statement>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if target.statement.statement.1.is_none()
            && let PortalExecutionState::Suspended(rows) = &*target.state.lock().await
        {
            return Ok(DescribePortalResponse::new(
                rows.row_schema.as_ref().clone(),
            ));
        }
        let schema = self.parser.get_result_schema(
            &target.statement.statement,
            Some(&target.result_column_format),
        )?;
        Ok(DescribePortalResponse::new(schema))
    }

    /// pgwire 0.41 gathers an extended-protocol result into memory before sending it; a query
    /// executed without a row limit is streamed to the client here instead. Row-limited
    /// executes (`setFetchSize`, cursors) and other statements take pgwire's path, which holds
    /// at most one batch of `max_rows` rows.
    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal = match client.portal_store().get_portal(name) {
            Some(Entry::Value(portal)) => portal,
            _ => return self._on_execute(client, message).await,
        };
        let is_query = matches!(
            &portal.statement.statement.1,
            Some((Statement::Query(_), _))
        );
        let fresh = matches!(*portal.state.lock().await, PortalExecutionState::Initial);
        if message.max_rows != 0
            || !is_query
            || !fresh
            || !matches!(client.state(), PgWireConnectionState::ReadyForQuery)
        {
            return self._on_execute(client, message).await;
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        let result = match ExtendedQueryHandler::do_query(self, client, portal.as_ref(), 0).await {
            Ok(Response::Query(rows)) => send_query_response(client, rows, false).await,
            Ok(Response::Execution(tag)) => send_execution_response(client, tag).await,
            Ok(_) => Err(user_error(
                code::INTERNAL_ERROR,
                "a query returned neither rows nor a command tag",
            )),
            Err(e) => Err(e),
        };
        *portal.state.lock().await = PortalExecutionState::Finished;
        client.set_state(PgWireConnectionState::ReadyForQuery);
        result
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // A model statement was prepared without a plan (GuardedParser): run it now.
        let (sql, plan) = &portal.statement.statement;
        if plan.is_none() && is_model_statement(sql) {
            let stop = self.stop(self.timeout(client));
            let mut responses = model_statement_response(
                self.models.as_ref(),
                &self.parser.grants,
                client,
                sql,
                &stop,
            )
            .await?;
            return Ok(responses.pop().unwrap_or(Response::EmptyQuery));
        }
        // A command may change the settings constant statements were planned with.
        if !plan.as_ref().is_some_and(|(s, _)| keeps_settings(s)) {
            self.constants.clear();
        }
        let timeout = self.timeout(client);
        let as_text = json_parameters_as_text(portal);
        let portal = as_text.as_ref().unwrap_or(portal);
        let work = async {
            ExtendedQueryHandler::do_query(&self.inner, client, portal, max_rows)
                .await
                .map(|r| vec![r])
        };
        let mut responses = self.run(timeout, work).await?;
        Ok(match (responses.pop(), plan) {
            (Some(Response::Query(rows)), Some((_, plan))) => {
                let mut rows = crate::encode::with_json_columns(rows, plan.schema().as_arrow());
                if let Some(names) = crate::column_names::of_text(sql) {
                    crate::column_names::rename(&mut rows, &names);
                }
                Response::Query(rows)
            }
            (response, _) => response.unwrap_or(Response::EmptyQuery),
        })
    }
}

/// `portal` with its `json` / `jsonb` parameters declared as `text` (pgwire cannot decode them
/// into a string, and sigfuse's JSON is text); a binary `jsonb` value loses its leading version
/// byte. `None` when it has no such parameter.
fn json_parameters_as_text(portal: &Portal<DfStatement>) -> Option<Portal<DfStatement>> {
    let types = &portal.statement.parameter_types;
    let is_json = |t: &Option<Type>| matches!(t, Some(t) if *t == Type::JSON || *t == Type::JSONB);
    if !types.iter().any(is_json) {
        return None;
    }
    let parameters = portal
        .parameters
        .iter()
        .enumerate()
        .map(|(i, value)| match (types.get(i), value) {
            (Some(Some(t)), Some(bytes))
                if *t == Type::JSONB
                    && portal.parameter_format.is_binary(i)
                    && bytes.first() == Some(&1) =>
            {
                Some(bytes.slice(1..))
            }
            _ => value.clone(),
        })
        .collect();
    let parameter_types = types
        .iter()
        .map(|t| {
            if is_json(t) {
                Some(Type::TEXT)
            } else {
                t.clone()
            }
        })
        .collect();
    let mut converted = Portal::default();
    converted.name = portal.name.clone();
    converted.statement = Arc::new(StoredStatement::new(
        portal.statement.id.clone(),
        portal.statement.statement.clone(),
        parameter_types,
    ));
    converted.parameter_format = portal.parameter_format.clone();
    converted.parameters = parameters;
    converted.result_column_format = portal.result_column_format.clone();
    converted.state = Arc::clone(&portal.state);
    Some(converted)
}

/// Statements after which a connection's kept constant plans stay right: queries and
/// transaction control, which change no setting.
fn keeps_settings(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::Query(_)
            | Statement::StartTransaction { .. }
            | Statement::Commit { .. }
            | Statement::Rollback { .. }
            | Statement::Savepoint { .. }
            | Statement::ReleaseSavepoint { .. }
            | Statement::ShowVariable { .. }
    )
}

/// Statements in a text: `;`-separated pieces with anything but whitespace and comments.
fn statement_count(sql: &str) -> usize {
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize() else {
        // Let the parser report what is wrong.
        return 1;
    };
    let mut count = 0;
    let mut in_statement = false;
    for token in tokens {
        match token {
            Token::SemiColon => in_statement = false,
            Token::Whitespace(_) => {}
            _ if !in_statement => {
                in_statement = true;
                count += 1;
            }
            _ => {}
        }
    }
    count
}

/// datafusion-postgres's parser with the model-statement and one-statement checks in front
/// (like PostgreSQL, a prepared statement holds one command).
/// `$n::oid[]` is described as `oid[]`, as PostgreSQL does: the plan cannot tell it from
/// `$n::int4[]` (both are `List(Int32)`, and the element keeps no oid marker), so the text is
/// read. asyncpg binds the type oids of its introspection query so, and has no codec for
/// `int4[]` until it introspects that type too (which never ends).
fn describe_oid_arrays(sql: &str, types: &mut [Type]) {
    let lower = sql.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("::oid[]") {
        let before = &rest[..at];
        let digits = before.len() - before.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0
            && before[..before.len() - digits].ends_with('$')
            && let Ok(n) = before[before.len() - digits..].parse::<usize>()
            && let Some(slot) = n.checked_sub(1).and_then(|i| types.get_mut(i))
        {
            *slot = Type::OID_ARRAY;
        }
        rest = &rest[at + "::oid[]".len()..];
    }
}

pub struct GuardedParser {
    inner: Arc<Parser>,
    grants: Arc<Grants>,
}

#[async_trait]
impl QueryParser for GuardedParser {
    type Statement = DfStatement;

    async fn parse_sql<C>(
        &self,
        client: &C,
        sql: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Self::Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        if model_statement(&self.grants, client, sql)? {
            // Prepared without a plan (no parameters, no rows); run when executed.
            return Ok(Some((sql.to_string(), None)));
        }
        let written = sql;
        // `SHOW MODELS` is a query of `sigfuse.models`, as on the simple protocol.
        let sql = if is_show_models(sql) {
            sigfuse_engine::models::SHOW_MODELS_SQL
        } else {
            sql
        };
        if sql.contains(';') && statement_count(sql) > 1 {
            return Err(user_error(
                code::SYNTAX_ERROR,
                "cannot insert multiple commands into a prepared statement",
            ));
        }
        let compat = crate::compat::rewrite_sql(sql);
        let sql = compat.as_deref().unwrap_or(sql);
        let rewritten = sigfuse_engine::rewrite_sql(sql);
        let sql = rewritten.as_deref().unwrap_or(sql);
        // Kept with the text as the client wrote it (columns are named from it); the plan is
        // the rewritten text's.
        let parsed = self.inner.parse_sql(client, sql, types).await?;
        Ok(parsed.map(|(_, plan)| (written.to_string(), plan)))
    }

    fn get_parameter_types(&self, stmt: &Self::Statement) -> PgWireResult<Vec<Type>> {
        let mut types = self.inner.get_parameter_types(stmt)?;
        describe_oid_arrays(&stmt.0, &mut types);
        Ok(types)
    }

    fn get_result_schema(
        &self,
        stmt: &Self::Statement,
        column_format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        // JSON columns are described as `json` / `jsonb`, and columns named, as their rows
        // will be sent.
        let mut fields = self.inner.get_result_schema(stmt, column_format)?;
        if let Some((_, plan)) = &stmt.1 {
            crate::encode::describe_json_columns(plan.schema().as_arrow(), &mut fields);
            if let Some(names) = crate::column_names::of_text(&stmt.0) {
                crate::column_names::rename_fields(&mut fields, &names);
            }
        }
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_array_parameters_are_described_as_such() {
        let mut types = vec![Type::INT4_ARRAY, Type::INT4_ARRAY, Type::INT4];
        describe_oid_arrays(
            "SELECT 1 WHERE x = any($2::OID[]) AND y = any($1::int4[]) AND z = $3",
            &mut types,
        );
        assert_eq!(types, vec![Type::INT4_ARRAY, Type::OID_ARRAY, Type::INT4]);
    }

    #[test]
    fn timeouts_parse_like_postgres() {
        assert_eq!(parse_timeout_ms("0"), Some(0));
        assert_eq!(parse_timeout_ms("'250'"), Some(250));
        assert_eq!(parse_timeout_ms("'5s'"), Some(5000));
        assert_eq!(parse_timeout_ms("'2min'"), Some(120_000));
        assert_eq!(parse_timeout_ms("'soon'"), None);
        assert_eq!(parse_timeout_ms("'5h'"), None);
    }

    #[test]
    fn statements_are_counted_like_postgres_does() {
        assert_eq!(statement_count("SELECT 1"), 1);
        assert_eq!(statement_count("SELECT 1;"), 1);
        assert_eq!(statement_count("SELECT ';'; -- two"), 1);
        assert_eq!(statement_count("SELECT 1; SELECT 2"), 2);
        assert_eq!(statement_count("-- only a comment"), 0);
        assert_eq!(statement_count("INSERT INTO t VALUES (1); DROP TABLE t"), 2);
    }
}
