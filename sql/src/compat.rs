//! What PostgreSQL accepts from SQL tools that DataFusion does not, rewritten before the
//! statement reaches datafusion-postgres (which applies its own rewrites after these):
//!
//! - `(expr).field`, as JDBC drivers read a row value's field, becomes `get_field(expr, 'field')`;
//! - `information_schema._pg_expandarray(a)` (pgjdbc's and Tableau's primary-key queries)
//!   becomes `unnest(_pg_expandarray(a))`, the set-returning form DataFusion plans; the
//!   function returns `{x, n}` rows like PostgreSQL's;
//! - `'pg_catalog.array_in'::regproc` (DBeaver, DataGrip, pgjdbc) becomes the function's name:
//!   `pg_type`'s `regproc` columns hold names here;
//! - `information_schema.columns`, `table_constraints` and `key_column_usage` are answered by
//!   [`crate::catalog::overlay`]'s tables, which have PostgreSQL's columns (`udt_name`, …);
//!   `pg_locks`, `pg_stat_ssl`, `pg_timezone_names` written without `pg_catalog.` are found;
//! - in asyncpg's type introspection, the correlated subqueries that look up a *domain's* base
//!   type or a *composite* type's attributes become NULL: sigfuse has neither kind of type, and
//!   DataFusion cannot plan a correlated subquery inside `CASE`;
//! - `x IN (<search_path's schemas from current_setting('search_path')>)` (Grafana) becomes
//!   `array_has(current_schemas(false), x)`;
//! - `user` is `current_user`, `::name` is `::text`; `col_description`/`obj_description` are
//!   NULL (sigfuse has no comments); `generate_subscripts(a, 1)` and a `generate_series`
//!   select item are set-returning, as in PostgreSQL;
//! - a select list naming the same unnamed expression twice (`SELECT NULL, NULL`, Tableau's
//!   probe) gets aliases for the repeats, since DataFusion needs unique output names.
//!
//! [`BoolLiterals`] is an analyzer rule for the other PostgreSQL habit, comparing a boolean
//! column with `'t'` or `'f'` (Tableau, Superset).
//!
//! Statements that contain none of the words these rules look for are not parsed here.

use std::collections::HashMap;
use std::ops::ControlFlow;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::{BinaryExpr, Expr as LExpr, ExprSchemable, LogicalPlan, Operator};
use datafusion::optimizer::AnalyzerRule;
use datafusion::sql::sqlparser::ast::{
    AccessExpr, CaseWhen, Expr, FunctionArguments, Ident, ObjectName, ObjectNamePart, Query,
    SelectItem, SetExpr, TableAlias, TableFactor, Value, ValueWithSpan, VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::catalog::overlay::{ADDED_TABLES, INFORMATION_SCHEMA};

/// datafusion-postgres's parser, which the server's own paths use too (its constructor
/// tokenizes a table of known catalog queries, so it is made once).
pub static PG_PARSER: std::sync::LazyLock<
    datafusion_postgres::datafusion_pg_catalog::sql::PostgresCompatibilityParser,
> = std::sync::LazyLock::new(
    datafusion_postgres::datafusion_pg_catalog::sql::PostgresCompatibilityParser::new,
);

/// Words whose presence makes a statement worth parsing here (lowercase).
const TRIGGERS: [&str; 19] = [
    "pg_attrdef",
    "pg_sequence",
    "then (select",
    "::regtype::text",
    "_description",
    "user",
    ").",
    "::name",
    " as name)",
    "generate_subscripts",
    "generate_series(",
    "_pg_expandarray",
    "regproc",
    "information_schema",
    "pg_locks",
    "pg_stat_ssl",
    "pg_timezone_names",
    "pg_timezone_abbrevs",
    "null",
];

/// The statement text with the rewrites above, or `None` when nothing changed.
pub fn rewrite_sql(sql: &str) -> Option<String> {
    let lower = sql.to_ascii_lowercase();
    if !TRIGGERS.iter().any(|t| lower.contains(t)) {
        return None;
    }
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    let mut rewriter = Rewriter { changed: false };
    for s in &mut statements {
        let _ = s.visit(&mut rewriter);
    }
    rewriter.changed.then(|| {
        statements
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(";\n")
    })
}

struct Rewriter {
    changed: bool,
}

fn parse_expr(text: &str) -> Option<Expr> {
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(text)
        .ok()?
        .parse_expr()
        .ok()
}

fn last_name(name: &ObjectName) -> Option<String> {
    match name.0.last()? {
        ObjectNamePart::Identifier(ident) => Some(ident.value.to_ascii_lowercase()),
        _ => None,
    }
}

fn string_literal(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(s),
            ..
        }) => Some(s),
        _ => None,
    }
}

/// `<something>.typtype = '<kind>'`: a branch of asyncpg's introspection for one type kind.
fn is_typtype_test(condition: &Expr, kinds: &[&str]) -> bool {
    let Expr::BinaryOp { left, op, right } = condition else {
        return false;
    };
    let column = match left.as_ref() {
        Expr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.as_str()),
        Expr::Identifier(ident) => Some(ident.value.as_str()),
        _ => None,
    };
    op.to_string() == "="
        && column.is_some_and(|c| c.eq_ignore_ascii_case("typtype"))
        && string_literal(right).is_some_and(|k| kinds.contains(&k))
}

impl Rewriter {
    fn rewrite_expr(&mut self, expr: &Expr) -> Option<Expr> {
        match expr {
            Expr::Function(f) if last_name(&f.name).as_deref() == Some("_pg_expandarray") => {
                let FunctionArguments::List(args) = &f.args else {
                    return None;
                };
                // A list of arguments prints without its parentheses.
                parse_expr(&format!("unnest(_pg_expandarray({args}))"))
            }
            Expr::Function(f) if last_name(&f.name).as_deref() == Some("generate_subscripts") => {
                let FunctionArguments::List(list) = &f.args else {
                    return None;
                };
                let array = list.args.first()?;
                parse_expr(&format!("unnest(generate_series(1, cardinality({array})))"))
            }
            // `x IN (<the schemas of search_path, computed from current_setting>)` (Grafana's
            // table picker, also in ORDER BY, where DataFusion plans no subquery).
            Expr::InSubquery {
                expr: item,
                subquery,
                negated,
            } if subquery
                .to_string()
                .to_ascii_lowercase()
                .contains("current_setting('search_path')") =>
            {
                let not = if *negated { "NOT " } else { "" };
                parse_expr(&format!("{not}array_has(current_schemas(false), {item})"))
            }
            // `user` is `current_user` in PostgreSQL.
            Expr::Function(f)
                if matches!(f.args, FunctionArguments::None)
                    && last_name(&f.name).as_deref() == Some("user") =>
            {
                parse_expr("current_user")
            }
            // Object comments: sigfuse has none, whatever the object (and the argument may be a
            // `regclass` cast of an expression, which cannot be resolved before execution).
            Expr::Function(f)
                if matches!(
                    last_name(&f.name).as_deref(),
                    Some("col_description" | "obj_description")
                ) =>
            {
                parse_expr("CAST(NULL AS TEXT)")
            }
            // `oid::regtype::text` (asyncpg's introspection): the type's name. DataFusion's
            // cast keeps datafusion-pg-catalog's oid marker on the text, which describes it to
            // the client as an `oid` column.
            Expr::Cast {
                expr: inner,
                data_type,
                ..
            } if data_type.to_string().eq_ignore_ascii_case("text")
                && matches!(inner.as_ref(), Expr::Cast { data_type: t, .. }
                    if t.to_string().to_ascii_lowercase().trim_start_matches("pg_catalog.") == "regtype") =>
            {
                let Expr::Cast { expr: oid, .. } = inner.as_ref() else {
                    return None;
                };
                parse_expr(&format!("format_type({oid}, NULL)"))
            }
            Expr::Cast { data_type, .. }
                if data_type
                    .to_string()
                    .to_ascii_lowercase()
                    .trim_start_matches("pg_catalog.")
                    == "name" =>
            {
                let mut cast = expr.clone();
                if let Expr::Cast { data_type, .. } = &mut cast {
                    *data_type = datafusion::sql::sqlparser::ast::DataType::Text;
                }
                Some(cast)
            }
            Expr::CompoundFieldAccess { root, access_chain } => {
                let inner = match root.as_ref() {
                    Expr::Nested(inner) => inner.as_ref(),
                    _ => return None,
                };
                let mut text = inner.to_string();
                let mut rest = access_chain.iter();
                for access in rest.by_ref() {
                    match access {
                        AccessExpr::Dot(Expr::Identifier(field)) => {
                            text = format!("get_field({text}, '{}')", field.value);
                        }
                        _ => return None,
                    }
                }
                parse_expr(&text)
            }
            Expr::Cast {
                expr: operand,
                data_type,
                ..
            } if data_type
                .to_string()
                .to_ascii_lowercase()
                .trim_start_matches("pg_catalog.")
                == "regproc" =>
            {
                let name = string_literal(operand)?;
                let bare = name.rsplit('.').next().unwrap_or(name);
                Some(Expr::Value(
                    Value::SingleQuotedString(bare.to_string()).into(),
                ))
            }
            Expr::Case {
                operand: None,
                conditions,
                ..
            } if conditions.iter().any(|CaseWhen { condition, result }| {
                is_typtype_test(condition, &["d", "c"]) && matches!(result, Expr::Subquery(_))
            }) =>
            {
                let mut case = expr.clone();
                if let Expr::Case { conditions, .. } = &mut case {
                    for CaseWhen { condition, result } in conditions.iter_mut() {
                        if is_typtype_test(condition, &["d", "c"])
                            && matches!(result, Expr::Subquery(_))
                        {
                            // Typed so that a driver decodes the NULL with the codecs it
                            // has before it knows any type (asyncpg: int4, text[]; it
                            // would introspect int4[] again, without end).
                            let lookup = result.to_string().to_ascii_lowercase();
                            let null = if lookup.contains("array_agg") {
                                "CAST(NULL AS TEXT[])"
                            } else {
                                "CAST(NULL AS INT)"
                            };
                            *result = parse_expr(null)?;
                        }
                    }
                }
                Some(case)
            }
            // `CASE WHEN (SELECT x FROM pg_… WHERE <correlated>) … THEN (SELECT …) END`:
            // DataFusion plans a correlated scalar subquery only when it aggregates; a
            // catalog lookup by key finds at most one row, so `max(x)` is the same value
            // (SQLAlchemy's column collation).
            Expr::Case { .. } => {
                let mut case = expr.clone();
                let mut changed = false;
                let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(&mut case, |e| {
                    if let Expr::Subquery(query) = e
                        && is_catalog_lookup(query)
                        && aggregate_lookup(query).is_some()
                    {
                        changed = true;
                    }
                    ControlFlow::<()>::Continue(())
                });
                changed.then_some(case)
            }
            // A scalar subquery reading only catalogs that are empty in sigfuse (column
            // defaults, sequences: SQLAlchemy's `get_columns` asks for both per column, in
            // correlated subqueries DataFusion cannot plan) is NULL, whatever it filters.
            Expr::Subquery(query) if reads_only_empty_catalogs(query) => parse_expr("NULL"),
            _ => None,
        }
    }
}

/// Catalogs that hold no rows in sigfuse: no column has a default, there are no sequences.
const EMPTY_CATALOGS: [&str; 2] = ["pg_attrdef", "pg_sequence"];

/// Whether `query` is a plain `SELECT … FROM` of [`EMPTY_CATALOGS`] only (joins included).
fn reads_only_empty_catalogs(query: &Query) -> bool {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return false;
    };
    let empty = |factor: &TableFactor| {
        matches!(factor, TableFactor::Table { name, .. }
            if last_name(name).is_some_and(|n| EMPTY_CATALOGS.contains(&n.as_str())))
    };
    // An aggregate over no rows has a value (`count(*)` is 0).
    query.with.is_none()
        && !select.from.is_empty()
        && !aggregates(&select.projection)
        && select
            .from
            .iter()
            .all(|t| empty(&t.relation) && t.joins.iter().all(|j| empty(&j.relation)))
}

/// Whether a select list calls an aggregate function (by name, in any case).
fn aggregates(items: &[SelectItem]) -> bool {
    items.iter().any(|item| {
        let text = item.to_string().to_ascii_lowercase();
        AGGREGATES.iter().any(|a| text.contains(a))
    })
}

/// Names of functions that aggregate: a select item using one is left alone.
const AGGREGATES: [&str; 9] = [
    "count(",
    "max(",
    "min(",
    "sum(",
    "avg(",
    "_agg(",
    "bool_and(",
    "bool_or(",
    "every(",
];

/// Whether `query` is a one-item `SELECT … FROM pg_… WHERE …` without aggregates, grouping,
/// `DISTINCT` or limits: a lookup in the catalogs by a key.
fn is_catalog_lookup(query: &Query) -> bool {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return false;
    };
    let catalog = |factor: &TableFactor| {
        matches!(factor, TableFactor::Table { name, .. }
            if last_name(name).is_some_and(|n| n.starts_with("pg_")))
    };
    if !matches!(
        select.projection.as_slice(),
        [SelectItem::UnnamedExpr(_) | SelectItem::ExprWithAlias { .. }]
    ) {
        return false;
    }
    query.with.is_none()
        && query.limit_clause.is_none()
        && query.fetch.is_none()
        && query.order_by.is_none()
        && select.distinct.is_none()
        && select.having.is_none()
        && select.selection.is_some()
        && matches!(&select.group_by, datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(e, _) if e.is_empty())
        && !aggregates(&select.projection)
        && !select.from.is_empty()
        && select
            .from
            .iter()
            .all(|t| catalog(&t.relation) && t.joins.iter().all(|j| catalog(&j.relation)))
}

/// The lookup's one item `x` becomes `max(x)`.
fn aggregate_lookup(query: &mut Query) -> Option<()> {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return None;
    };
    match select.projection.first_mut()? {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
            *e = parse_expr(&format!("max({e})"))?;
        }
        _ => return None,
    }
    Some(())
}

/// `generate_series(a, b)` as a select item: rows in PostgreSQL, one list in DataFusion.
fn unnest_series(expr: &mut Expr) -> bool {
    let Expr::Function(f) = expr else {
        return false;
    };
    if last_name(&f.name).as_deref() != Some("generate_series") {
        return false;
    }
    match parse_expr(&format!("unnest({expr})")) {
        Some(e) => {
            *expr = e;
            true
        }
        None => false,
    }
}

/// Aliases the second and later occurrences of the same unnamed expression in a select list,
/// and makes `generate_series` items set-returning.
fn alias_repeats(body: &mut SetExpr) -> bool {
    match body {
        SetExpr::Select(select) => {
            let mut seen: HashMap<String, usize> = HashMap::new();
            let mut changed = false;
            for item in &mut select.projection {
                if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item
                {
                    changed |= unnest_series(e);
                }
                let SelectItem::UnnamedExpr(expr) = item else {
                    continue;
                };
                // `SELECT current_user, session_user`: datafusion-pg-catalog calls
                // `session_user()` for both; PostgreSQL names the columns by the keyword.
                if let Expr::Function(f) = expr
                    && matches!(f.args, FunctionArguments::None)
                    && let Some(name) = last_name(&f.name)
                        .filter(|n| matches!(n.as_str(), "current_user" | "session_user" | "user"))
                {
                    *item = SelectItem::ExprWithAlias {
                        expr: expr.clone(),
                        alias: Ident::with_quote('"', name),
                    };
                    changed = true;
                    continue;
                }
                // Columns keep their names (`a.x, b.x` is DataFusion's to judge).
                if matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
                    continue;
                }
                let key = expr.to_string();
                let count = seen.entry(key.clone()).or_default();
                *count += 1;
                if *count > 1 {
                    *item = SelectItem::ExprWithAlias {
                        expr: expr.clone(),
                        alias: Ident::with_quote('"', format!("{key}_{count}")),
                    };
                    changed = true;
                }
            }
            changed
        }
        // Not inside UNION and the like: datafusion-pg-catalog answers some such catalog
        // queries of psql by their exact text, which a rewrite here would change.
        _ => false,
    }
}

impl VisitorMut for Rewriter {
    type Break = ();

    // Post-order: an expression is rewritten after its operands, and what it becomes is not
    // visited again.
    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Some(new) = self.rewrite_expr(expr) {
            *expr = new;
            self.changed = true;
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        self.changed |= alias_repeats(&mut query.body);
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, table: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table {
            name, alias, args, ..
        } = table
        else {
            return ControlFlow::Continue(());
        };
        if args.is_some() {
            return ControlFlow::Continue(());
        }
        let parts: Vec<String> = name
            .0
            .iter()
            .filter_map(|p| match p {
                ObjectNamePart::Identifier(i) => Some(i.value.to_ascii_lowercase()),
                _ => None,
            })
            .collect();
        let target = match parts.as_slice() {
            [schema, table] if schema == "information_schema" => INFORMATION_SCHEMA
                .iter()
                .find(|(t, _)| t == table)
                .map(|(t, hidden)| (*hidden, *t)),
            [table] => ADDED_TABLES.iter().find(|t| *t == table).map(|t| (*t, *t)),
            _ => None,
        };
        if let Some((table_name, shown)) = target {
            *name = ObjectName(vec![
                ObjectNamePart::Identifier(Ident::new("pg_catalog")),
                ObjectNamePart::Identifier(Ident::new(table_name)),
            ]);
            if alias.is_none() {
                *alias = Some(TableAlias {
                    explicit: true,
                    name: Ident::new(shown),
                    columns: vec![],
                    at: None,
                });
            }
            self.changed = true;
        }
        ControlFlow::Continue(())
    }
}

/// Compares boolean columns with the text literals PostgreSQL reads as booleans (`'t'`,
/// `'false'`, `'1'`, …), which DataFusion's type coercion refuses. Runs before coercion.
#[derive(Debug, Default)]
pub struct BoolLiterals;

fn text_as_bool(value: &ScalarValue) -> Option<bool> {
    let text = match value {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
        | ScalarValue::LargeUtf8(Some(s)) => s,
        _ => return None,
    };
    match text.trim().to_ascii_lowercase().as_str() {
        "t" | "true" | "y" | "yes" | "on" | "1" => Some(true),
        "f" | "false" | "n" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

impl AnalyzerRule for BoolLiterals {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            let mut schema = DFSchema::empty();
            for input in node.inputs() {
                schema.merge(input.schema());
            }
            node.map_expressions(|e| {
                e.transform_up(|e| {
                    let LExpr::BinaryExpr(BinaryExpr { left, op, right }) = &e else {
                        return Ok(Transformed::no(e));
                    };
                    if !matches!(op, Operator::Eq | Operator::NotEq) {
                        return Ok(Transformed::no(e));
                    }
                    let is_bool = |x: &LExpr| {
                        x.get_type(&schema)
                            .is_ok_and(|t| t == datafusion::arrow::datatypes::DataType::Boolean)
                    };
                    let literal = |x: &LExpr| match x {
                        LExpr::Literal(v, _) => text_as_bool(v),
                        _ => None,
                    };
                    let (left, right) = match (literal(left), literal(right)) {
                        (None, Some(b)) if is_bool(left) => (
                            left.as_ref().clone(),
                            LExpr::Literal(ScalarValue::from(b), None),
                        ),
                        (Some(b), None) if is_bool(right) => (
                            LExpr::Literal(ScalarValue::from(b), None),
                            right.as_ref().clone(),
                        ),
                        _ => return Ok(Transformed::no(e)),
                    };
                    Ok(Transformed::yes(LExpr::BinaryExpr(BinaryExpr::new(
                        Box::new(left),
                        *op,
                        Box::new(right),
                    ))))
                })
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "postgres_bool_literals"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        rewrite_sql(sql).unwrap_or_else(|| sql.to_string())
    }

    #[test]
    fn row_fields_and_expandarray_become_what_datafusion_plans() {
        let out = rewritten(
            "SELECT (information_schema._pg_expandarray(i.indkey)).n AS k, \
             information_schema._pg_expandarray(i.indkey) AS keys FROM pg_index i",
        );
        assert!(
            out.contains("get_field(unnest(_pg_expandarray(i.indkey)), 'n') AS k"),
            "{out}"
        );
        assert!(
            out.contains("unnest(_pg_expandarray(i.indkey)) AS keys"),
            "{out}"
        );
        let out = rewritten("SELECT 1 FROM t r WHERE r.a = (r.keys).x");
        assert!(out.contains("get_field(r.keys, 'x')"), "{out}");
    }

    #[test]
    fn regproc_names_information_schema_and_repeats() {
        let out = rewritten("SELECT elemtype::regtype::text FROM t");
        assert!(out.contains("format_type(elemtype, NULL)"), "{out}");
        let out = rewritten("SELECT typinput = 'pg_catalog.array_in'::regproc FROM pg_type");
        assert!(out.contains("typinput = 'array_in'"), "{out}");
        let out = rewritten("SELECT udt_name FROM information_schema.columns");
        assert!(
            out.contains("FROM pg_catalog._information_schema_columns AS columns"),
            "{out}"
        );
        // Other information_schema tables stay DataFusion's.
        assert_eq!(rewrite_sql("SELECT * FROM information_schema.tables"), None);
        let out = rewritten("select ssl from pg_stat_ssl");
        assert!(out.contains("FROM pg_catalog.pg_stat_ssl"), "{out}");
        let out = rewritten("select NULL, NULL, NULL");
        assert_eq!(out, "SELECT NULL, NULL AS \"NULL_2\", NULL AS \"NULL_3\"");
        // Nothing to do: not parsed, not changed.
        assert_eq!(rewrite_sql("SELECT 1"), None);
        assert_eq!(rewrite_sql("SELECT a FROM t WHERE b IS NULL"), None);
    }

    #[test]
    fn domain_and_composite_lookups_become_null() {
        let out = rewritten(
            "SELECT CASE WHEN t.typtype = 'd' THEN (SELECT 1 FROM pg_type t2 WHERE t2.oid = t.oid) \
             ELSE NULL END FROM pg_type t",
        );
        assert!(
            out.contains("CASE WHEN t.typtype = 'd' THEN CAST(NULL AS INT) ELSE NULL END"),
            "{out}"
        );
    }

    #[test]
    fn subqueries_of_empty_catalogs_become_null() {
        // SQLAlchemy's get_columns: a column's default and identity options.
        let out = rewritten(
            "SELECT a.attname, (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid) \
             FROM pg_catalog.pg_attrdef AS d WHERE d.adrelid = a.attrelid AND a.atthasdef) AS \"default\", \
             (SELECT json_build_object('always', a.attidentity = 'a') FROM pg_catalog.pg_sequence \
             WHERE a.attidentity != '') AS identity_options FROM pg_catalog.pg_attribute AS a",
        );
        assert!(
            out.contains("NULL AS \"default\", NULL AS identity_options"),
            "{out}"
        );
        // A correlated lookup in CASE aggregates, so that DataFusion can plan it.
        let out = rewritten(
            "SELECT CASE WHEN a.attcollation <> 0 AND (SELECT t.typcollation FROM pg_catalog.pg_type AS t \
             WHERE t.oid = a.atttypid) <> a.attcollation THEN (SELECT json_build_object('name', c.collname) \
             FROM pg_collation AS c WHERE c.oid = a.attcollation) END FROM pg_attribute AS a",
        );
        assert!(
            out.contains(
                "THEN (SELECT max(json_build_object('name', c.collname)) FROM pg_collation"
            ),
            "{out}"
        );
        assert!(out.contains("(SELECT max(t.typcollation) FROM"), "{out}");
        assert!(
            rewrite_sql("SELECT CASE WHEN x THEN (SELECT count(*) FROM pg_class WHERE true) END")
                .is_none()
        );
        // An aggregate over them has a value (0), left to DataFusion.
        assert!(rewrite_sql("SELECT (SELECT count(*) FROM pg_sequence)").is_none());
        // A subquery that also reads a catalog with rows is left alone.
        let text = "SELECT (SELECT 1 FROM pg_attrdef JOIN pg_class ON true) FROM pg_sequence";
        assert_eq!(rewrite_sql(text), None);
    }
}
