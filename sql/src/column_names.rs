//! Result column names as PostgreSQL gives them to unaliased select items.
//!
//! DataFusion names a column after the whole expression (`count(*)`, `Int64(1)`,
//! `min(logs.ts)`); PostgreSQL after its outermost function, column or type (`count`, `min`,
//! `json`) and `?column?` otherwise — the names psql prints, pandas makes columns of and BI
//! tools label fields with. Aliased items keep their alias; a select list with `*` is left as
//! DataFusion names it (its columns are the tables', named the same in both).

use std::sync::Arc;

use datafusion::sql::sqlparser::ast::{
    AccessExpr, DataType, Expr, Ident, ObjectNamePart, Query, SelectItem, SetExpr, Statement, Value,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion_postgres::pgwire::api::results::{FieldInfo, QueryResponse};

/// PostgreSQL's name for each output column of the one statement in `text`, as the client
/// wrote it (before any rewrite). `None` when the text is not one plain query whose columns
/// can be matched to its select list.
pub fn of_text(text: &str) -> Option<Vec<Option<String>>> {
    let statements = Parser::parse_sql(&PostgreSqlDialect {}, text).ok()?;
    match statements.as_slice() {
        [statement] => of_statement(statement),
        _ => None,
    }
}

/// PostgreSQL's name for each output column of `statement` (`None`: an alias, which DataFusion
/// keeps too), or `None` when the statement's columns cannot be matched to its select list.
pub fn of_statement(statement: &Statement) -> Option<Vec<Option<String>>> {
    match statement {
        Statement::Query(query) => of_query(query),
        _ => None,
    }
}

fn of_query(query: &Query) -> Option<Vec<Option<String>>> {
    Some(
        items(query)?
            .into_iter()
            .map(|(name, aliased)| (!aliased).then_some(name))
            .collect(),
    )
}

/// Each select item's name and whether it is an alias.
fn items(query: &Query) -> Option<Vec<(String, bool)>> {
    let mut body = query.body.as_ref();
    // A set operation takes its names from its first branch.
    while let SetExpr::SetOperation { left, .. } = body {
        body = left.as_ref();
    }
    let select = match body {
        SetExpr::Select(select) => select,
        SetExpr::Query(inner) => return items(inner),
        _ => return None,
    };
    select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(expr) => Some((
                figure(expr).unwrap_or_else(|| "?column?".to_string()),
                false,
            )),
            SelectItem::ExprWithAlias { alias, .. } => Some((folded(alias), true)),
            _ => None,
        })
        .collect()
}

/// PostgreSQL's `FigureColname`: the name an expression gives its column, if it gives one.
fn figure(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(ident) => Some(folded(ident)),
        Expr::CompoundIdentifier(parts) => parts.last().map(folded),
        Expr::CompoundFieldAccess { access_chain, .. } => match access_chain.last()? {
            AccessExpr::Dot(Expr::Identifier(field)) => Some(folded(field)),
            _ => None,
        },
        Expr::Function(f) => match f.name.0.last()? {
            ObjectNamePart::Identifier(ident) => Some(folded(ident)),
            _ => None,
        },
        Expr::Cast {
            expr, data_type, ..
        } => figure(expr).or_else(|| type_name(data_type)),
        Expr::Nested(inner) => figure(inner),
        Expr::Case { .. } => Some("case".into()),
        Expr::Array(_) => Some("array".into()),
        Expr::Exists { .. } => Some("exists".into()),
        Expr::Subquery(query) => items(query)?.into_iter().next().map(|(name, _)| name),
        Expr::Ceil { .. } => Some("ceil".into()),
        Expr::Floor { .. } => Some("floor".into()),
        Expr::AtTimeZone { .. } => Some("timezone".into()),
        Expr::TypedString(typed) => type_name(&typed.data_type),
        Expr::Value(v) if matches!(v.value, Value::Boolean(_)) => Some("bool".into()),
        Expr::Interval(_) => Some("interval".into()),
        Expr::Extract { .. } => Some("extract".into()),
        Expr::Substring { .. } => Some("substring".into()),
        Expr::Position { .. } => Some("position".into()),
        Expr::Trim { .. } => Some("btrim".into()),
        Expr::Overlay { .. } => Some("overlay".into()),
        _ => None,
    }
}

/// An identifier as PostgreSQL reads it: lowercase unless quoted.
fn folded(ident: &Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

/// The name PostgreSQL gives a cast's column: its type's internal name.
fn type_name(data_type: &DataType) -> Option<String> {
    let text = data_type.to_string().to_ascii_lowercase();
    let base = text.split('(').next().unwrap_or(&text).trim();
    let base = base.trim_start_matches("pg_catalog.");
    Some(
        match base {
            "int" | "integer" | "int4" => "int4",
            "smallint" | "int2" => "int2",
            "bigint" | "int8" => "int8",
            "real" | "float4" => "float4",
            "double precision" | "double" | "float8" | "float" => "float8",
            "boolean" | "bool" => "bool",
            "character varying" | "varchar" => "varchar",
            "character" | "char" => "bpchar",
            "decimal" | "numeric" => "numeric",
            "timestamp with time zone" | "timestamptz" => "timestamptz",
            "timestamp" | "timestamp without time zone" => "timestamp",
            other => return Some(other.to_string()),
        }
        .to_string(),
    )
}

/// `statement` with each unaliased, non-column item of its select list aliased `?column?N`
/// (N its position), so that DataFusion, which wants unique names, plans `SELECT 1, 1`; the
/// client is told PostgreSQL's names ([`of_statement`] of the original). `None` when it is
/// not a plain `SELECT`.
pub fn aliased_apart(statement: &Statement) -> Option<Statement> {
    let mut statement = statement.clone();
    let Statement::Query(query) = &mut statement else {
        return None;
    };
    let SetExpr::Select(select) = query.body.as_mut() else {
        return None;
    };
    for (i, item) in select.projection.iter_mut().enumerate() {
        if let SelectItem::UnnamedExpr(expr) = item
            && !matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
        {
            *item = SelectItem::ExprWithAlias {
                expr: expr.clone(),
                alias: Ident::with_quote('"', format!("?column?{}", i + 1)),
            };
        }
    }
    Some(statement)
}

/// `response` with its columns renamed where `names` says (a list that does not match the
/// columns is ignored).
pub fn rename(response: &mut QueryResponse, names: &[Option<String>]) {
    let mut fields = response.row_schema.as_ref().clone();
    if rename_fields(&mut fields, names) {
        response.row_schema = Arc::new(fields);
    }
}

/// `fields` renamed where `names` says; whether anything changed.
pub fn rename_fields(fields: &mut [FieldInfo], names: &[Option<String>]) -> bool {
    if fields.len() != names.len() || names.iter().all(Option::is_none) {
        return false;
    }
    for (field, name) in fields.iter_mut().zip(names) {
        if let Some(name) = name {
            *field = FieldInfo::new(
                name.clone(),
                field.table_id(),
                field.column_id(),
                field.datatype().clone(),
                field.format(),
            )
            .with_format_options(Arc::clone(field.format_options()));
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str) -> Option<Vec<Option<String>>> {
        let statement = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .unwrap()
            .remove(0);
        of_statement(&statement)
    }

    fn some(names: &[&str]) -> Option<Vec<Option<String>>> {
        Some(names.iter().map(|n| Some(n.to_string())).collect())
    }

    #[test]
    fn columns_are_named_like_postgres() {
        assert_eq!(
            names(
                "SELECT 1, COUNT(*), min(l.ts), pg_catalog.version(), 'x'::text, x::int, a + 1 FROM l"
            ),
            some(&[
                "?column?", "count", "min", "version", "text", "x", "?column?"
            ])
        );
        assert_eq!(
            names(
                "SELECT CASE WHEN true THEN 1 END, '{}'::jsonb, ARRAY[1], (SELECT max(y) FROM t), CAST(1 AS BIGINT)"
            ),
            some(&["case", "jsonb", "array", "max", "int8"])
        );
        assert_eq!(
            names("SELECT 1 AS one, service FROM logs UNION ALL SELECT 2, 'x'"),
            Some(vec![None, Some("service".into())])
        );
        assert_eq!(
            names(
                "SELECT (SELECT max(y) AS m FROM t), floor(1.5), true, DATE '2024-01-01', now() AT TIME ZONE 'UTC'"
            ),
            some(&["m", "floor", "bool", "date", "timezone"])
        );
        // From the text as written, before the compatibility rewrites.
        assert_eq!(
            of_text("SELECT generate_series(1, 3), count(*), count(*) FROM t WHERE x IS NOT NULL"),
            some(&["generate_series", "count", "count"])
        );
        assert_eq!(of_text("SELECT 1; SELECT 2"), None);
        assert_eq!(names("SELECT *, 1 FROM logs"), None);
        assert_eq!(names("SHOW ALL"), None);
    }
}
