//! The one mapping from engine errors to SQLSTATE codes (STYLE.md), and the error handler that
//! applies it to everything the server sends back.
//!
//! Clients branch on SQLSTATE, so every error class a user can cause has its own code; `XX000`
//! is kept for broken invariants, whose detail goes to the server log rather than the client.

use datafusion::arrow::error::ArrowError;
use datafusion::common::{DataFusionError, SchemaError};
use datafusion::sql::sqlparser::parser::ParserError;
use datafusion_postgres::pgwire::api::{ClientInfo, ErrorHandler};
use datafusion_postgres::pgwire::error::{ErrorInfo, PgWireError};

/// SQLSTATE codes sigfuse sends; names as in PostgreSQL's errcodes.
pub mod code {
    pub const SYNTAX_ERROR: &str = "42601";
    pub const UNDEFINED_TABLE: &str = "42P01";
    pub const UNDEFINED_COLUMN: &str = "42703";
    pub const AMBIGUOUS_COLUMN: &str = "42702";
    pub const DUPLICATE_COLUMN: &str = "42701";
    pub const UNDEFINED_FUNCTION: &str = "42883";
    pub const UNDEFINED_OBJECT: &str = "42704";
    pub const INVALID_SCHEMA_NAME: &str = "3F000";
    pub const DATATYPE_MISMATCH: &str = "42804";
    pub const SYNTAX_OR_ACCESS_RULE: &str = "42000";
    pub const INSUFFICIENT_PRIVILEGE: &str = "42501";
    pub const DATA_EXCEPTION: &str = "22000";
    pub const DIVISION_BY_ZERO: &str = "22012";
    pub const NUMERIC_OUT_OF_RANGE: &str = "22003";
    pub const INVALID_TEXT_REPRESENTATION: &str = "22P02";
    pub const INVALID_PARAMETER_VALUE: &str = "22023";
    pub const NULL_VALUE_NOT_ALLOWED: &str = "22004";
    pub const UNTRANSLATABLE_CHARACTER: &str = "22P05";
    pub const OUT_OF_MEMORY: &str = "53200";
    pub const DISK_FULL: &str = "53100";
    pub const DUPLICATE_TABLE: &str = "42P07";
    pub const DUPLICATE_SCHEMA: &str = "42P06";
    pub const DUPLICATE_OBJECT: &str = "42710";
    pub const FEATURE_NOT_SUPPORTED: &str = "0A000";
    pub const QUERY_CANCELED: &str = "57014";
    pub const IO_ERROR: &str = "58030";
    pub const INTERNAL_ERROR: &str = "XX000";
    pub const INVALID_AUTHORIZATION: &str = "28000";
    pub const INVALID_PASSWORD: &str = "28P01";
    pub const TOO_MANY_CONNECTIONS: &str = "53300";
}

/// The SQLSTATE and the client-facing message for an engine error.
///
/// This is the only place that decides codes; [`SqlStateErrors`] applies it to every error on
/// its way to a client.
pub fn sqlstate(error: &DataFusionError) -> (&'static str, String) {
    use code::*;
    // DataFusion's own prefixes ("Error during planning: ", …) say nothing the code does not.
    let message = match error {
        DataFusionError::Plan(m)
        | DataFusionError::Execution(m)
        | DataFusionError::Configuration(m)
        | DataFusionError::NotImplemented(m)
        | DataFusionError::ResourcesExhausted(m) => m.clone(),
        DataFusionError::ArrowError(e, _) => e.to_string(),
        _ => error.strip_backtrace(),
    };
    let code = match error {
        DataFusionError::SQL(..) => SYNTAX_ERROR,
        DataFusionError::SchemaError(e, _) => match e.as_ref() {
            SchemaError::FieldNotFound { .. } => UNDEFINED_COLUMN,
            SchemaError::AmbiguousReference { .. } => AMBIGUOUS_COLUMN,
            _ => DUPLICATE_COLUMN,
        },
        DataFusionError::Plan(m) => plan_code(m),
        DataFusionError::Configuration(m)
            if m.contains("not found")
                || m.contains("unrecognized")
                || m.contains("unknown setting") =>
        {
            UNDEFINED_OBJECT
        }
        DataFusionError::Configuration(_) => INVALID_PARAMETER_VALUE,
        DataFusionError::NotImplemented(_) => FEATURE_NOT_SUPPORTED,
        DataFusionError::ResourcesExhausted(_) => OUT_OF_MEMORY,
        DataFusionError::Execution(m) => execution_code(m),
        DataFusionError::ArrowError(e, _) => arrow_code(e),
        DataFusionError::IoError(e) if is_disk_full(e) => DISK_FULL,
        DataFusionError::IoError(_) | DataFusionError::ObjectStore(_) => IO_ERROR,
        DataFusionError::ParquetError(_) => DATA_EXCEPTION,
        DataFusionError::Context(context, inner) => {
            let (code, inner_message) = sqlstate(inner);
            return (code, format!("{context}: {inner_message}"));
        }
        DataFusionError::Diagnostic(_, inner) => return sqlstate(inner),
        DataFusionError::Shared(inner) => return sqlstate(inner),
        DataFusionError::Collection(errors) => match errors.first() {
            Some(first) => return sqlstate(first),
            None => INTERNAL_ERROR,
        },
        DataFusionError::External(e) => {
            if let Some(inner) = e.downcast_ref::<DataFusionError>() {
                return sqlstate(inner);
            }
            if let Some(inner) = e.downcast_ref::<ArrowError>() {
                arrow_code(inner)
            } else if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if is_disk_full(io) {
                    DISK_FULL
                } else {
                    IO_ERROR
                }
            } else {
                INTERNAL_ERROR
            }
        }
        DataFusionError::Internal(_)
        | DataFusionError::ExecutionJoin(_)
        | DataFusionError::Substrait(_)
        | DataFusionError::Ffi(_) => INTERNAL_ERROR,
    };
    (code, message)
}

/// Planning errors carry no kind, only text; these are DataFusion 55's wordings.
fn plan_code(message: &str) -> &'static str {
    use code::*;
    let m = message.to_ascii_lowercase();
    if m.starts_with("table '") && m.contains("not found") || m.contains("no table named") {
        UNDEFINED_TABLE
    } else if m.contains("model '")
        && (m.contains("does not exist") || m.contains("has no version"))
    {
        UNDEFINED_OBJECT
    } else if m.contains("schema '") && m.contains("not found") || m.contains("no schema named") {
        INVALID_SCHEMA_NAME
    } else if m.contains("invalid function")
        || m.contains("unknown function")
        || m.contains("no function matches")
        || m.contains("function") && m.contains("does not exist")
    {
        UNDEFINED_FUNCTION
    } else if m.contains("cannot coerce")
        || m.contains("failed to coerce")
        || m.contains("cannot be cast")
        || m.contains("cannot cast")
        || m.contains("type mismatch")
        || m.contains("does not support type")
        || m.contains("coercion from")
        || m.contains("cannot infer common")
    {
        DATATYPE_MISMATCH
    } else if m.contains("unsupported") || m.contains("not supported") {
        FEATURE_NOT_SUPPORTED
    } else if m.contains("must have even number of elements") {
        INVALID_PARAMETER_VALUE
    } else {
        SYNTAX_OR_ACCESS_RULE
    }
}

/// A full disk, or spilling past `datafusion.runtime.max_temp_directory_size`.
fn is_disk_full(e: &std::io::Error) -> bool {
    const ENOSPC: i32 = 28;
    e.kind() == std::io::ErrorKind::StorageFull
        || e.raw_os_error() == Some(ENOSPC)
        || e.to_string().contains("exceeded the allowable limit")
        // Wrapped (`io::Error::other(DataFusionError::IoError(…))`, arrow's IPC writer).
        || e.get_ref().is_some_and(|inner| {
            inner.downcast_ref::<std::io::Error>().is_some_and(is_disk_full)
                || matches!(inner.downcast_ref::<DataFusionError>(),
                    Some(DataFusionError::IoError(io)) if is_disk_full(io))
        })
}

fn execution_code(message: &str) -> &'static str {
    use code::*;
    let m = message.to_ascii_lowercase();
    if m.ends_with("already exists") {
        if m.starts_with("table") || m.starts_with("external table") || m.starts_with("view") {
            DUPLICATE_TABLE
        } else if m.starts_with("schema") {
            DUPLICATE_SCHEMA
        } else {
            DUPLICATE_OBJECT
        }
    } else if m.contains("divide by zero") || m.contains("division by zero") {
        DIVISION_BY_ZERO
    } else if m.contains("overflow") {
        NUMERIC_OUT_OF_RANGE
    } else if m.contains("unsupported unicode escape sequence") {
        UNTRANSLATABLE_CHARACTER
    } else if m.contains("cannot cast")
        || m.contains("cast error")
        || m.contains("parse error")
        || m.contains("invalid input syntax")
    {
        INVALID_TEXT_REPRESENTATION
    } else if m.contains("invalid parameter value") {
        INVALID_PARAMETER_VALUE
    } else if m.contains("must not be null") {
        NULL_VALUE_NOT_ALLOWED
    } else {
        DATA_EXCEPTION
    }
}

fn arrow_code(error: &ArrowError) -> &'static str {
    use code::*;
    match error {
        ArrowError::DivideByZero => DIVISION_BY_ZERO,
        ArrowError::ArithmeticOverflow(_) => NUMERIC_OUT_OF_RANGE,
        ArrowError::CastError(_) | ArrowError::ParseError(_) => INVALID_TEXT_REPRESENTATION,
        ArrowError::MemoryError(_) => OUT_OF_MEMORY,
        ArrowError::IoError(message, e)
            if is_disk_full(e) || message.contains("exceeded the allowable limit") =>
        {
            DISK_FULL
        }
        ArrowError::IoError(..) => IO_ERROR,
        ArrowError::NotYetImplemented(_) => FEATURE_NOT_SUPPORTED,
        ArrowError::ExternalError(e) => match e.downcast_ref::<DataFusionError>() {
            Some(inner) => sqlstate(inner).0,
            None => DATA_EXCEPTION,
        },
        _ => DATA_EXCEPTION,
    }
}

/// A client-facing error with a code (`ERROR` severity: the connection stays usable).
pub fn user_error(code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_owned(),
        code.to_owned(),
        message.into(),
    )))
}

/// Rewrites engine errors into coded `ErrorResponse`s and logs failed logins (without secrets).
#[derive(Debug, Default)]
pub struct SqlStateErrors;

impl ErrorHandler for SqlStateErrors {
    fn on_error<C>(&self, client: &C, error: &mut PgWireError)
    where
        C: ClientInfo,
    {
        let user = client.metadata().get("user").map_or("-", String::as_str);
        let addr = client.socket_addr();
        match error {
            PgWireError::ApiError(inner) => {
                let (code, message) = if let Some(e) = inner.downcast_ref::<DataFusionError>() {
                    sqlstate(e)
                } else if let Some(e) = inner.downcast_ref::<ParserError>() {
                    (code::SYNTAX_ERROR, e.to_string())
                } else {
                    (code::INTERNAL_ERROR, inner.to_string())
                };
                if code == code::INTERNAL_ERROR {
                    log::error!("internal error for {user:?}@{addr}: {message}");
                    *error = user_error(code, "internal error; the detail is in the server log");
                } else {
                    log::debug!("{code} for {user:?}@{addr}: {message}");
                    *error = user_error(code, message);
                }
            }
            PgWireError::InvalidPassword(name) => {
                log::warn!("failed login: wrong password for user {name:?} from {addr}");
            }
            PgWireError::UserError(info) => {
                if info.code.starts_with("28") {
                    log::warn!(
                        "failed login for user {user:?} from {addr}: {}",
                        info.message
                    );
                } else {
                    log::debug!("{} for {user:?}@{addr}: {}", info.code, info.message);
                }
            }
            other => log::info!("{user:?}@{addr}: {other}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;
    use std::sync::Arc;

    /// Each class of mistake a user can make, planned and run for real, with the code a client
    /// must get.
    #[tokio::test]
    async fn each_error_class_has_its_sqlstate() {
        let ctx = SessionContext::new();
        for f in sigfuse_udfs::json::functions() {
            ctx.register_udf(f.as_ref().clone());
        }
        sigfuse_udfs::json::install(&ctx, None);
        ctx.sql("CREATE TABLE t (a INT, s VARCHAR) AS VALUES (1, 'x')")
            .await
            .unwrap();
        let cases = [
            ("SELEC 1", code::SYNTAX_ERROR),
            ("SELECT * FROM nope", code::UNDEFINED_TABLE),
            ("SELECT nope FROM t", code::UNDEFINED_COLUMN),
            ("SELECT no_such_fn(a) FROM t", code::UNDEFINED_FUNCTION),
            (
                "SELECT a FROM t WHERE a = make_array(1)",
                code::DATATYPE_MISMATCH,
            ),
            (
                "SELECT CAST('abc' AS INT)",
                code::INVALID_TEXT_REPRESENTATION,
            ),
            ("SELECT 1 / 0", code::DIVISION_BY_ZERO),
            ("SELECT '{x'::jsonb", code::INVALID_TEXT_REPRESENTATION),
            (
                r#"SELECT '"\u0000"'::jsonb"#,
                code::UNTRANSLATABLE_CHARACTER,
            ),
            (
                "SELECT json_array_length('{}')",
                code::INVALID_PARAMETER_VALUE,
            ),
            (
                "SELECT json_build_object(NULL, 1)",
                code::NULL_VALUE_NOT_ALLOWED,
            ),
            (
                "SELECT json_build_object('a')",
                code::INVALID_PARAMETER_VALUE,
            ),
            ("SET datafusion.no_such_option = 1", code::UNDEFINED_OBJECT),
            ("CREATE TABLE t (a INT)", code::DUPLICATE_TABLE),
            ("CREATE SCHEMA public", code::DUPLICATE_SCHEMA),
        ];
        for (sql, expected) in cases {
            let error = match ctx.sql(sql).await {
                Err(e) => e,
                Ok(df) => df.collect().await.expect_err(sql),
            };
            assert_eq!(sqlstate(&error).0, expected, "{sql}: {error}");
        }
    }

    /// A sort that must spill, with a disk limit it exceeds: DataFusion's own error path.
    #[tokio::test]
    async fn spilling_past_the_disk_limit_is_disk_full() {
        use datafusion::execution::memory_pool::FairSpillPool;
        use datafusion::execution::runtime_env::RuntimeEnvBuilder;
        use datafusion::prelude::SessionConfig;
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(FairSpillPool::new(16 * 1024 * 1024)))
            .with_max_temp_directory_size(64 * 1024)
            .build_arc()
            .unwrap();
        let mut config = SessionConfig::new().with_target_partitions(1);
        config.options_mut().execution.sort_spill_reservation_bytes = 1024 * 1024;
        let ctx = SessionContext::new_with_config_rt(config, runtime);
        let error = ctx
            .sql("SELECT value, md5(CAST(value AS VARCHAR)) AS h FROM generate_series(1, 1000000) ORDER BY h")
            .await
            .unwrap()
            .collect()
            .await
            .expect_err("the sort spills past 64 KiB");
        assert_eq!(sqlstate(&error).0, code::DISK_FULL, "{error:?}");
    }

    #[test]
    fn wrapped_errors_keep_the_inner_code() {
        let oom = DataFusionError::ResourcesExhausted("sort: 10 MB".into());
        let wrapped = DataFusionError::Context("while sorting".into(), Box::new(oom));
        assert_eq!(sqlstate(&wrapped).0, code::OUT_OF_MEMORY);
        let external =
            DataFusionError::External(Box::new(DataFusionError::NotImplemented("x".into())));
        assert_eq!(sqlstate(&external).0, code::FEATURE_NOT_SUPPORTED);
        let spill = DataFusionError::IoError(std::io::Error::other(
            "The used disk space during the spilling process has exceeded the allowable limit of 1.0 GB.",
        ));
        assert_eq!(sqlstate(&spill).0, code::DISK_FULL);
        let full = DataFusionError::External(Box::new(std::io::Error::from(
            std::io::ErrorKind::StorageFull,
        )));
        assert_eq!(sqlstate(&full).0, code::DISK_FULL);
        let internal = DataFusionError::Internal("invariant".into());
        assert_eq!(sqlstate(&internal).0, code::INTERNAL_ERROR);
        let arrow = DataFusionError::ArrowError(Box::new(ArrowError::DivideByZero), None);
        assert_eq!(sqlstate(&arrow).0, code::DIVISION_BY_ZERO);
    }
}
