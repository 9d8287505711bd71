//! `SHOW datafusion.…`, `SHOW sigfuse.…` (and `SHOW ALL`) over the simple protocol: answered from the session's
//! own settings (`information_schema.df_settings`), where datafusion-postgres's `SET`/`SHOW`
//! hook knows only the Postgres variables.

use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion_postgres::QueryHook;
use datafusion_postgres::arrow_pg::datatypes::df::encode_dataframe;
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::pgwire::api::ClientInfo;
use datafusion_postgres::pgwire::api::portal::Format;
use datafusion_postgres::pgwire::api::results::Response;
use datafusion_postgres::pgwire::error::{PgWireError, PgWireResult};

/// Answers `SHOW datafusion.x`, `SHOW sigfuse.x` and `SHOW ALL` with the engine's settings of this session.
#[derive(Debug)]
pub struct ShowSettingsHook;

fn is_engine_setting(statement: &Statement) -> bool {
    match statement {
        Statement::ShowVariable { variable } => match variable.first() {
            Some(first) => {
                let name = first.value.to_ascii_lowercase();
                name == "all" || name.starts_with("datafusion") || name == "sigfuse"
            }
            None => false,
        },
        _ => false,
    }
}

#[async_trait]
impl QueryHook for ShowSettingsHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        if !is_engine_setting(statement) {
            return None;
        }
        let run = async {
            let df = ctx
                .sql(&statement.to_string())
                .await
                .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
            encode_dataframe(df, &Format::UnifiedText, None)
                .await
                .map(Response::Query)
        };
        Some(run.await)
    }

    async fn handle_extended_parse_query(
        &self,
        _statement: &Statement,
        _ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        None
    }

    async fn handle_extended_query(
        &self,
        _statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        _ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        None
    }
}
