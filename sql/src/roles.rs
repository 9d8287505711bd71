//! Roles and least privilege: which statements a session may run.
//!
//! `analyst` reads (`SELECT`, `SHOW`, `EXPLAIN`, cursors, session `SET`s); `admin` may also
//! write (`INSERT`, `CREATE`, `COPY … TO`, …) and manage models. A user may further be limited
//! to a list of schemas; `pg_catalog` and `information_schema` stay readable so clients can
//! browse. A refusal is SQLSTATE `42501` naming the user and what was refused.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DFStatement;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    ObjectName, Query, Reset, Set, SetExpr, Statement, Visit, Visitor,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
use datafusion_postgres::QueryHook;
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::pgwire::api::ClientInfo;
use datafusion_postgres::pgwire::api::results::Response;
use datafusion_postgres::pgwire::error::{PgWireError, PgWireResult};
use serde::{Deserialize, Serialize};

use crate::sqlstate::{code, user_error};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads only.
    Analyst,
    /// Reads, writes and manages models.
    Admin,
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "analyst" => Ok(Role::Analyst),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role '{other}': expected analyst or admin")),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        })
    }
}

/// A session's rights: its role and, when limited, the schemas it may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub role: Role,
    /// Empty: every schema.
    pub schemas: Vec<String>,
}

/// The rights of every known user, looked up by the name the client logged in with.
#[derive(Debug, Clone)]
pub struct Grants {
    users: HashMap<String, Grant>,
    /// Rights of any user when the server runs without authentication.
    trusted: Option<Grant>,
}

impl Grants {
    pub fn new(users: HashMap<String, Grant>, trusted: Option<Grant>) -> Self {
        Self { users, trusted }
    }

    fn of(&self, user: &str) -> Option<&Grant> {
        self.trusted.as_ref().or_else(|| self.users.get(user))
    }
}

/// What a statement needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Read,
    Write,
}

/// Statements about models (`CREATE|DROP|ALTER MODEL`) are not SQL the parser knows; they are
/// recognised by their first two words so that rights are checked before anything else.
pub fn is_model_statement(sql: &str) -> bool {
    // Every simple query and Parse passes here: skip the tokenizer unless the word is present.
    if !sql
        .as_bytes()
        .windows(5)
        .any(|w| w.eq_ignore_ascii_case(b"model"))
    {
        return false;
    }
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize() else {
        return false;
    };
    let mut words = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .take(2);
    match (words.next(), words.next()) {
        (Some(Token::Word(first)), Some(Token::Word(second))) => {
            matches!(
                first.keyword,
                Keyword::CREATE | Keyword::DROP | Keyword::ALTER
            ) && second.value.eq_ignore_ascii_case("model")
        }
        _ => false,
    }
}

/// A setting's name as DataFusion reads it: parts unquoted, joined by dots, lower case.
fn setting_name(name: &ObjectName) -> String {
    name.0
        .iter()
        .map(|part| match part.as_ident() {
            Some(ident) => ident.value.to_ascii_lowercase(),
            None => part.to_string().to_ascii_lowercase(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Settings of the runtime (memory pool, spill space) are shared by every session.
fn is_shared_setting(name: &ObjectName) -> bool {
    setting_name(name).starts_with("datafusion.runtime")
}

/// Finds writes hidden inside a statement that reads: `SELECT … INTO`, and data-modifying
/// bodies anywhere (CTEs, subqueries, set operations, `DECLARE … FOR`, `EXPLAIN`, `PREPARE`).
struct FindsWrites;

fn body_writes(body: &SetExpr) -> bool {
    match body {
        SetExpr::Select(select) => select.into.is_some(),
        SetExpr::SetOperation { left, right, .. } => body_writes(left) || body_writes(right),
        SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => true,
        _ => false,
    }
}

impl Visitor for FindsWrites {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if body_writes(&query.body) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<()> {
        if need_at_top(statement) == Need::Write {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// What a statement needs, looking at it and at every statement and query nested in it.
fn need(statement: &Statement) -> Need {
    if statement.visit(&mut FindsWrites).is_break() {
        Need::Write
    } else {
        Need::Read
    }
}

/// What a statement needs by its own kind (nested parts are the visitor's).
fn need_at_top(statement: &Statement) -> Need {
    match statement {
        Statement::Query(_)
        | Statement::ExplainTable { .. }
        | Statement::ShowFunctions { .. }
        | Statement::ShowVariable { .. }
        | Statement::ShowStatus { .. }
        | Statement::ShowVariables { .. }
        | Statement::ShowCreate { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowCatalogs { .. }
        | Statement::ShowDatabases { .. }
        | Statement::ShowSchemas { .. }
        | Statement::ShowTables { .. }
        | Statement::ShowViews { .. }
        | Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::Savepoint { .. }
        | Statement::ReleaseSavepoint { .. }
        | Statement::Declare { .. }
        | Statement::Fetch { .. }
        | Statement::Close { .. }
        | Statement::Discard { .. }
        | Statement::Deallocate { .. }
        | Statement::Explain { .. }
        | Statement::Prepare { .. }
        | Statement::LISTEN { .. }
        | Statement::UNLISTEN { .. } => Need::Read,
        Statement::Execute { immediate, .. } => {
            if *immediate {
                Need::Write
            } else {
                Need::Read
            }
        }
        // Session settings are per connection, but the runtime is shared by every session, so
        // only admins may change or reset it.
        Statement::Set(set) => match set {
            Set::SingleAssignment { variable, .. } if is_shared_setting(variable) => Need::Write,
            _ => Need::Read,
        },
        // `RESET ALL` restores the session's own settings only (session::SetHook).
        Statement::Reset(reset) => match &reset.reset {
            Reset::ALL => Need::Read,
            Reset::ConfigurationParameter(name) if is_shared_setting(name) => Need::Write,
            Reset::ConfigurationParameter(_) => Need::Read,
        },
        _ => Need::Write,
    }
}

fn denied(user: &str, what: &str) -> PgWireError {
    user_error(
        code::INSUFFICIENT_PRIVILEGE,
        format!("permission denied for user \"{user}\": {what}"),
    )
}

/// Checks one statement against a user's rights.
pub fn check(
    grants: &Grants,
    user: &str,
    statement: &Statement,
    ctx: &SessionContext,
) -> PgWireResult<()> {
    let Some(grant) = grants.of(user) else {
        return Err(denied(user, "the user has no role"));
    };
    if grant.role != Role::Admin && need(statement) == Need::Write {
        let verb = statement.to_string();
        let verb: String = verb
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        return Err(denied(
            user,
            &format!("role {} may only read, and {verb} … writes", grant.role),
        ));
    }
    if grant.schemas.is_empty() {
        return Ok(());
    }
    let state = ctx.state();
    let references = state
        .resolve_table_references(&DFStatement::Statement(Box::new(statement.clone())))
        .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
    let default_schema = state.config().options().catalog.default_schema.clone();
    for reference in references {
        let schema = reference.schema().unwrap_or(&default_schema);
        if schema == "pg_catalog" || schema == "information_schema" {
            continue;
        }
        if !grant.schemas.iter().any(|s| s == schema) {
            return Err(denied(
                user,
                &format!("schema \"{schema}\" is not among the user's schemas"),
            ));
        }
    }
    Ok(())
}

/// Checks model statements, which the SQL parser does not know, before parsing.
pub fn check_model_statement(grants: &Grants, user: &str) -> PgWireResult<()> {
    match grants.of(user) {
        Some(g) if g.role == Role::Admin => Ok(()),
        Some(g) => Err(denied(
            user,
            &format!("role {} may not manage models", g.role),
        )),
        None => Err(denied(user, "the user has no role")),
    }
}

fn user_of(client: &(impl ClientInfo + ?Sized)) -> String {
    client.metadata().get("user").cloned().unwrap_or_default()
}

/// The query hook that enforces [`check`] on every statement, simple or extended.
#[derive(Debug)]
pub struct PermissionHook {
    grants: Arc<Grants>,
}

impl PermissionHook {
    pub fn new(grants: Arc<Grants>) -> Self {
        Self { grants }
    }

    /// The refusal of a statement, if the session's user may not run it.
    fn refusal(
        &self,
        client: &(impl ClientInfo + ?Sized),
        statement: &Statement,
        ctx: &SessionContext,
    ) -> Option<PgWireError> {
        check(&self.grants, &user_of(client), statement, ctx).err()
    }
}

#[async_trait]
impl QueryHook for PermissionHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        self.refusal(client, statement, ctx).map(Err)
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        self.refusal(client, statement, ctx).map(Err)
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        self.refusal(client, statement, ctx).map(Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::parser::Parser;

    fn parse(sql: &str) -> Statement {
        Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .unwrap()
            .remove(0)
    }

    fn grants() -> Grants {
        let mut users = HashMap::new();
        users.insert(
            "ana".to_string(),
            Grant {
                role: Role::Analyst,
                schemas: vec![],
            },
        );
        users.insert(
            "root".to_string(),
            Grant {
                role: Role::Admin,
                schemas: vec![],
            },
        );
        users.insert(
            "narrow".to_string(),
            Grant {
                role: Role::Analyst,
                schemas: vec!["public".into()],
            },
        );
        Grants::new(users, None)
    }

    #[test]
    fn analysts_read_and_admins_write() {
        let ctx = SessionContext::new();
        let g = grants();
        for sql in [
            "SELECT 1",
            "EXPLAIN SELECT 1",
            "SHOW TIME ZONE",
            "SET statement_timeout = 1000",
            "BEGIN",
            "COMMIT",
            "DECLARE c CURSOR FOR SELECT 1",
            "RESET statement_timeout",
            "RESET ALL",
            "UNLISTEN *",
            "SELECT * FROM (SELECT 1 AS a) s WHERE a IN (SELECT 1)",
        ] {
            check(&g, "ana", &parse(sql), &ctx).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        for sql in [
            "INSERT INTO t VALUES (1)",
            "CREATE TABLE t (a INT)",
            "COPY (SELECT 1) TO '/tmp/x.csv'",
            "DROP TABLE t",
            "EXPLAIN ANALYZE INSERT INTO t VALUES (1)",
            "SET datafusion.runtime.memory_limit = '100G'",
            "SET \"datafusion.runtime.memory_limit\" = '100G'",
            "SET datafusion.\"runtime\".temp_directory = '/tmp/x'",
            "RESET datafusion.runtime.memory_limit",
            "SELECT 1 INTO made_by_analyst",
            "WITH x AS (SELECT 1) SELECT * INTO t2 FROM x",
            "SELECT * FROM (SELECT 1 INTO t3) s",
            "SELECT 1 UNION SELECT 2 INTO t4",
            "DECLARE c CURSOR FOR SELECT 1 INTO t5",
            "EXPLAIN ANALYZE SELECT 1 INTO t6",
            "PREPARE p AS SELECT 1 INTO t7",
        ] {
            let e = check(&g, "ana", &parse(sql), &ctx).expect_err(sql);
            let info = datafusion_postgres::pgwire::error::ErrorInfo::from(e);
            assert_eq!(info.code, "42501", "{sql}");
            assert!(info.message.contains("ana"), "{}", info.message);
            check(&g, "root", &parse(sql), &ctx).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        assert!(check(&g, "stranger", &parse("SELECT 1"), &ctx).is_err());
    }

    #[test]
    fn schema_limits_apply_to_every_reference() {
        let ctx = SessionContext::new();
        let g = grants();
        check(&g, "narrow", &parse("SELECT * FROM logs"), &ctx).unwrap();
        check(
            &g,
            "narrow",
            &parse("SELECT * FROM pg_catalog.pg_class"),
            &ctx,
        )
        .unwrap();
        for sql in [
            "SELECT * FROM logs JOIN secret.keys k ON true",
            "DESCRIBE secret.keys",
            "SHOW COLUMNS FROM secret.keys",
            "EXPLAIN SELECT * FROM secret.keys",
        ] {
            assert!(check(&g, "narrow", &parse(sql), &ctx).is_err(), "{sql}");
        }
    }

    #[test]
    fn model_statements_are_recognised_before_parsing() {
        assert!(is_model_statement(
            "CREATE MODEL m KIND baseline AS SELECT 1"
        ));
        assert!(is_model_statement("  drop model m"));
        assert!(is_model_statement("ALTER MODEL m SET VERSION 2"));
        assert!(!is_model_statement("CREATE TABLE model (a INT)"));
        assert!(!is_model_statement("SELECT 'CREATE MODEL'"));
        let g = grants();
        assert!(check_model_statement(&g, "ana").is_err());
        assert!(check_model_statement(&g, "root").is_ok());
    }
}
