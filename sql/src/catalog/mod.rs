//! What a Postgres client expects to find besides our tables: `pg_catalog` (from
//! datafusion-pg-catalog, served through [`overlay`]), `version()` in the form drivers parse,
//! the functions tools call at start-up, and a per-connection `pg_backend_pid()` that matches
//! the key the client was given.

pub mod expandarray;
pub mod format;
pub mod overlay;

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringArray};
use datafusion::arrow::datatypes::{DataType, Int64Type, TimeUnit};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::execution::SessionStateBuilder;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion::optimizer::AnalyzerRule;
use datafusion::prelude::SessionContext;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::oid_type_planner::PgOidTypePlanner;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::setup_pg_catalog;

/// The PostgreSQL version sigfuse speaks as: clients pick features by it.
pub const PG_VERSION: &str = "16.6";

/// `server_version` as sent at start-up: `16.6 (sigfuse 0.1.0)`, the form Debian's builds use.
pub fn server_version() -> String {
    format!("{PG_VERSION} (sigfuse {})", env!("CARGO_PKG_VERSION"))
}

/// `version()`'s text, shaped like PostgreSQL's.
pub fn version_text() -> String {
    format!(
        "PostgreSQL {} on {}-{}, compiled by rustc, 64-bit",
        server_version(),
        std::env::consts::ARCH,
        std::env::consts::OS
    )
}

/// Adds `pg_catalog` and the Postgres functions to `ctx`, and returns the context the server
/// shares among connections: `ctx`'s tables and functions, with PostgreSQL's boolean literals
/// ([`crate::compat::BoolLiterals`]) understood before type coercion.
pub fn install(ctx: &SessionContext) -> Result<SessionContext> {
    let catalog_name = ctx
        .state()
        .config()
        .options()
        .catalog
        .default_catalog
        .clone();
    setup_pg_catalog(ctx, &catalog_name, EmptyContextProvider).map_err(|e| *e)?;
    // datafusion-pg-catalog replaced the session's type planner with its oid one: `json` and
    // `jsonb` are planned ahead of it again.
    sigfuse_udfs::json::install(ctx, Some(Arc::new(PgOidTypePlanner)));
    let catalog = ctx
        .catalog(&catalog_name)
        .ok_or_else(|| DataFusionError::Configuration(format!("no catalog {catalog_name}")))?;
    if let Some(inner) = catalog.schema("pg_catalog") {
        let catalogs = Arc::clone(ctx.state().catalog_list());
        catalog.register_schema(
            "pg_catalog",
            Arc::new(overlay::Overlay::new(inner, catalogs)),
        )?;
    }
    ctx.register_udf(ScalarUDF::from(expandarray::ExpandArray::new()));
    ctx.register_udf(ScalarUDF::from(format::Format::new()));
    let text = version_text();
    ctx.register_udf(create_udf(
        "version",
        vec![],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(move |_: &[ColumnarValue]| {
            Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(text.clone()))))
        }),
    ));
    for udf in server_state_functions() {
        ctx.register_udf(udf);
    }
    ctx.register_udf(to_regtype());
    ctx.register_udf(current_setting());
    ctx.register_udf(set_config());
    for udf in psql_functions() {
        ctx.register_udf(udf);
    }
    let state = ctx.state();
    let mut rules = state.analyzer().rules.clone();
    let before = rules
        .iter()
        .position(|r| r.name() == "type_coercion")
        .unwrap_or(rules.len());
    let bools: Arc<dyn AnalyzerRule + Send + Sync> = Arc::new(crate::compat::BoolLiterals);
    rules.insert(before, bools);
    Ok(SessionContext::new_with_state(
        SessionStateBuilder::new_from_existing(state)
            .with_analyzer_rules(rules)
            .build(),
    ))
}

/// Functions psql's `\d+` and `\df` call that datafusion-pg-catalog does not provide.
fn psql_functions() -> Vec<datafusion::logical_expr::ScalarUDF> {
    let oid_to = |name: &str, out: DataType, f: fn(&ArrayRef) -> ArrayRef| {
        create_udf(
            name,
            vec![DataType::Int64],
            out,
            Volatility::Stable,
            Arc::new(move |args: &[ColumnarValue]| {
                let arrays = ColumnarValue::values_to_arrays(args)?;
                Ok(ColumnarValue::Array(f(&arrays[0])))
            }),
        )
    };
    // Object comments, serial sequences and index definitions (`pg_get_indexdef(index,
    // column, pretty)`): sigfuse has none, and PostgreSQL answers NULL for an oid without one.
    let null_text = |name: &str, args: Vec<DataType>| {
        create_udf(
            name,
            args,
            DataType::Utf8,
            Volatility::Stable,
            Arc::new(|args: &[ColumnarValue]| {
                let arrays = ColumnarValue::values_to_arrays(args)?;
                Ok(ColumnarValue::Array(Arc::new(StringArray::from(
                    vec![None::<&str>; arrays[0].len()],
                ))))
            }),
        )
    };
    vec![
        null_text("obj_description", vec![DataType::Int64, DataType::Utf8]),
        null_text("col_description", vec![DataType::Int64, DataType::Int64]),
        null_text(
            "pg_get_serial_sequence",
            vec![DataType::Utf8, DataType::Utf8],
        ),
        oid_to("pg_size_pretty", DataType::Utf8, |a| {
            let sizes = a.as_primitive::<Int64Type>();
            Arc::new(
                sizes
                    .iter()
                    .map(|v| v.map(size_pretty))
                    .collect::<StringArray>(),
            )
        }),
        // Every function, type and collation sigfuse has is on the search path.
        oid_to("pg_function_is_visible", DataType::Boolean, |a| {
            Arc::new(BooleanArray::from(vec![true; a.len()]))
        }),
        oid_to("pg_collation_is_visible", DataType::Boolean, |a| {
            Arc::new(BooleanArray::from(vec![true; a.len()]))
        }),
        oid_to("pg_type_is_visible", DataType::Boolean, |a| {
            Arc::new(BooleanArray::from(vec![true; a.len()]))
        }),
        // Lake tables have no fixed size; psql prints an empty cell.
        oid_to("pg_table_size", DataType::Int64, |a| {
            Arc::new(datafusion::arrow::array::Int64Array::from(vec![
                None;
                a.len()
            ]))
        }),
        oid_to("pg_get_function_result", DataType::Utf8, |a| {
            Arc::new(StringArray::from(vec![None::<&str>; a.len()]))
        }),
        oid_to("pg_get_function_arguments", DataType::Utf8, |a| {
            Arc::new(StringArray::from(vec![Some(""); a.len()]))
        }),
        // Both tablespaces are the defaults, which PostgreSQL shows with an empty location.
        oid_to("pg_tablespace_location", DataType::Utf8, |a| {
            Arc::new(StringArray::from(vec![Some(""); a.len()]))
        }),
        // `pg_get_indexdef(index, column, pretty)`: sigfuse tables have no indexes, and
        // PostgreSQL answers NULL for an oid that is not one.
        null_text(
            "pg_get_indexdef",
            vec![DataType::Int64, DataType::Int64, DataType::Boolean],
        ),
    ]
}

/// Questions about the server itself that tools ask at start-up (DataGrip, Tableau): it is a
/// primary, started when this process started, and holds no advisory locks.
fn server_state_functions() -> Vec<datafusion::logical_expr::ScalarUDF> {
    let started_ns = chrono::Utc::now().timestamp_nanos_opt();
    let constant = |name: &str, out: DataType, value: ScalarValue| {
        create_udf(
            name,
            vec![],
            out,
            Volatility::Stable,
            Arc::new(move |_: &[ColumnarValue]| Ok(ColumnarValue::Scalar(value.clone()))),
        )
    };
    let utc = Some(Arc::from("+00:00"));
    vec![
        constant(
            "pg_is_in_recovery",
            DataType::Boolean,
            ScalarValue::Boolean(Some(false)),
        ),
        constant(
            "pg_postmaster_start_time",
            DataType::Timestamp(TimeUnit::Nanosecond, utc.clone()),
            ScalarValue::TimestampNanosecond(started_ns, utc),
        ),
        constant("pg_advisory_unlock_all", DataType::Null, ScalarValue::Null),
        txid_current(),
        age(),
    ]
}

/// Transaction ids: sigfuse has no transactions, so each call of `txid_current()` takes the
/// next number, as each statement of an autocommit session would in PostgreSQL.
static NEXT_TXID: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1000);

fn txid_current() -> ScalarUDF {
    create_udf(
        "txid_current",
        vec![],
        DataType::Int64,
        Volatility::Volatile,
        Arc::new(|_: &[ColumnarValue]| {
            let id = NEXT_TXID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(ColumnarValue::Scalar(ScalarValue::Int64(Some(id))))
        }),
    )
}

/// `age(xid)`: how many transaction ids ago `xid` was taken.
fn age() -> ScalarUDF {
    create_udf(
        "age",
        vec![DataType::Int64],
        DataType::Int64,
        Volatility::Volatile,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let now = NEXT_TXID.load(std::sync::atomic::Ordering::Relaxed);
            let ages = arrays[0]
                .as_primitive::<Int64Type>()
                .iter()
                .map(|x| x.map(|x| now - x))
                .collect::<datafusion::arrow::array::Int64Array>();
            Ok(ColumnarValue::Array(Arc::new(ages)))
        }),
    )
}

/// Server settings drivers read with `current_setting` (asyncpg, JDBC); the values are those
/// sent at start-up.
fn setting(name: &str) -> Option<String> {
    Some(match name.to_ascii_lowercase().as_str() {
        "server_version" => PG_VERSION.to_string(),
        "server_version_num" => "160006".to_string(),
        "jit" => "off".to_string(),
        "standard_conforming_strings" | "integer_datetimes" => "on".to_string(),
        "client_encoding" | "server_encoding" => "UTF8".to_string(),
        "datestyle" => "ISO, MDY".to_string(),
        "timezone" => "UTC".to_string(),
        "search_path" => "public".to_string(),
        "max_identifier_length" => "63".to_string(),
        "default_transaction_isolation" | "transaction_isolation" => "read committed".to_string(),
        "default_transaction_read_only" | "transaction_read_only" => "off".to_string(),
        _ => return None,
    })
}

/// The oid of each PostgreSQL type by its name (`int4`, `_int4`), and by the SQL names
/// `format_type` writes (`integer`, `integer[]`, `timestamp with time zone`).
static TYPE_OIDS: std::sync::LazyLock<std::collections::HashMap<String, i32>> =
    std::sync::LazyLock::new(|| {
        use postgres_types::{Kind, Type};
        let mut oids = std::collections::HashMap::new();
        for oid in 0..10_000u32 {
            let Some(ty) = Type::from_oid(oid) else {
                continue;
            };
            oids.insert(ty.name().to_string(), oid as i32);
            if let Kind::Array(element) = ty.kind() {
                oids.insert(format!("{}[]", element.name()), oid as i32);
            }
        }
        for (alias, name) in [
            ("smallint", "int2"),
            ("integer", "int4"),
            ("int", "int4"),
            ("bigint", "int8"),
            ("real", "float4"),
            ("double precision", "float8"),
            ("boolean", "bool"),
            ("character varying", "varchar"),
            ("character", "bpchar"),
            ("decimal", "numeric"),
            ("timestamp without time zone", "timestamp"),
            ("timestamp with time zone", "timestamptz"),
            ("time without time zone", "time"),
            ("time with time zone", "timetz"),
        ] {
            if let Some(&oid) = oids.get(name) {
                oids.insert(alias.to_string(), oid);
                if let Some(&array) = oids.get(&format!("_{name}")) {
                    oids.insert(format!("{alias}[]"), array);
                }
            }
        }
        oids
    });

/// `to_regtype(name)`: the type's oid, NULL for a name that is no type (psycopg's `TypeInfo`
/// asks so for `hstore` when SQLAlchemy connects).
fn to_regtype() -> ScalarUDF {
    create_udf(
        "to_regtype",
        vec![DataType::Utf8],
        DataType::Int32,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let oids: datafusion::arrow::array::Int32Array = arrays[0]
                .as_string::<i32>()
                .iter()
                .map(|name| {
                    let name = name?.trim().trim_matches('"').to_ascii_lowercase();
                    let name = name.strip_prefix("pg_catalog.").unwrap_or(&name);
                    TYPE_OIDS.get(name).copied()
                })
                .collect();
            Ok(ColumnarValue::Array(Arc::new(oids)))
        }),
    )
}

/// `current_setting(name)`.
fn current_setting() -> datafusion::logical_expr::ScalarUDF {
    create_udf(
        "current_setting",
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let names = arrays[0].as_string::<i32>();
            let values = names
                .iter()
                .map(|n| match n {
                    None => Ok(None),
                    Some(n) => setting(n).map(Some).ok_or_else(|| {
                        DataFusionError::Configuration(format!(
                            "unrecognized configuration parameter \"{n}\""
                        ))
                    }),
                })
                .collect::<Result<StringArray>>()?;
            Ok(ColumnarValue::Array(Arc::new(values)))
        }),
    )
}

/// `set_config(name, value, is_local)`: only for settings sigfuse does not have (such as `jit`,
/// which asyncpg switches off); anything else is changed with `SET`.
fn set_config() -> datafusion::logical_expr::ScalarUDF {
    create_udf(
        "set_config",
        vec![DataType::Utf8, DataType::Utf8, DataType::Boolean],
        DataType::Utf8,
        Volatility::Volatile,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let names = arrays[0].as_string::<i32>();
            let values = arrays[1].as_string::<i32>();
            let out = names
                .iter()
                .zip(values.iter())
                .map(|(n, v)| match n {
                    Some(n) if n.eq_ignore_ascii_case("jit") => Ok(v.map(str::to_string)),
                    Some(n) => Err(DataFusionError::NotImplemented(format!(
                        "set_config('{n}', …): change settings with SET {n} = …"
                    ))),
                    None => Ok(None),
                })
                .collect::<Result<StringArray>>()?;
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}

/// PostgreSQL's `pg_size_pretty`: bytes, then kB, MB, GB, TB, rounding half up, switching unit
/// at 10240 of the smaller one.
fn size_pretty(bytes: i64) -> String {
    let mut size = bytes;
    for unit in ["bytes", "kB", "MB", "GB", "TB"] {
        if size.abs() < 10 * 1024 || unit == "TB" {
            return format!("{size} {unit}");
        }
        size = (size + size.signum() * 512) / 1024;
    }
    format!("{size} PB")
}

/// A connection's own context: shares tables, functions, caches and the memory pool with the
/// base, but has its own settings, so one client's `SET` never reaches another. Its
/// `current_user` and `session_user` (`user`, too: datafusion-pg-catalog rewrites those to
/// `session_user()`) answer the name the client logged in with, which
/// [`crate::session::UserHook`] puts in `user`.
pub fn for_connection(
    base: &SessionContext,
    pid: i32,
    user: Arc<std::sync::OnceLock<String>>,
) -> SessionContext {
    let ctx = SessionContext::new_with_state(base.state());
    for name in ["session_user", "current_user"] {
        let user = Arc::clone(&user);
        ctx.register_udf(create_udf(
            name,
            vec![],
            DataType::Utf8,
            Volatility::Stable,
            Arc::new(move |_: &[ColumnarValue]| {
                Ok(ColumnarValue::Scalar(ScalarValue::Utf8(
                    user.get().cloned(),
                )))
            }),
        ));
    }
    ctx.register_udf(create_udf(
        "pg_backend_pid",
        vec![],
        DataType::Int32,
        Volatility::Stable,
        Arc::new(move |_: &[ColumnarValue]| {
            Ok(ColumnarValue::Scalar(ScalarValue::Int32(Some(pid))))
        }),
    ));
    ctx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_have_postgres_oids() {
        for (name, oid) in [
            ("int4", Some(23)),
            ("integer", Some(23)),
            ("_int4", Some(1007)),
            ("integer[]", Some(1007)),
            ("pg_catalog.timestamptz", Some(1184)),
            ("timestamp with time zone", Some(1184)),
            ("text", Some(25)),
            ("hstore", None),
        ] {
            assert_eq!(
                TYPE_OIDS
                    .get(name.trim_start_matches("pg_catalog."))
                    .copied(),
                oid,
                "{name}"
            );
        }
    }

    #[test]
    fn sizes_print_like_postgres() {
        assert_eq!(size_pretty(0), "0 bytes");
        assert_eq!(size_pretty(10239), "10239 bytes");
        assert_eq!(size_pretty(10240), "10 kB");
        assert_eq!(size_pretty(1_500_000), "1465 kB");
        assert_eq!(size_pretty(20_000_000), "19 MB");
    }

    #[test]
    fn version_is_shaped_like_postgres() {
        let v = version_text();
        assert!(v.starts_with("PostgreSQL 16."), "{v}");
        assert!(v.contains("sigfuse"), "{v}");
    }
}
