//! PostgreSQL's `json` and `jsonb`: the types, casts, operators and the functions that build
//! and take apart JSON values, so that tools written for PostgreSQL (SQLAlchemy's reflection,
//! BI tools, `->>` in dashboards) work unchanged.
//!
//! A JSON value is a UTF-8 string whose field carries Arrow's canonical `arrow.json`
//! extension type (the marker datafusion-functions-json puts on its JSON results too);
//! [`Kind::Jsonb`] adds `sigfuse.pg_type = jsonb`. The wire protocol reports such columns as
//! `json` (oid 114) or `jsonb` (oid 3802). A cast to text drops the extension, as DataFusion
//! drops extension types on every type-only cast.
//!
//! | piece | what it does |
//! |---|---|
//! | [`JsonTypePlanner`] | plans the SQL types `json` / `jsonb` (then asks the planner it wraps) |
//! | [`JsonCasts`] | analyzer rule: a cast to `json`/`jsonb` checks the text (`22P02` when it is not JSON) and, for `jsonb`, normalizes it ([`json_in`]) |
//! | [`JsonOperators`] | `->`, `->>`, `#>`, `#>>` as [`json_extract_path`] / [`json_extract_path_text`], ahead of datafusion-functions-json's union-typed versions (`?` stays theirs) |
//! | functions | `to_json`, `json_build_object`, `json_build_array`, `json_extract_path(_text)`, `json_typeof`, `json_array_length`, each with its `jsonb_` twin |
//! | [`value`] | the JSON text parser all of them share |
//!
//! Text columns holding JSON (the signal tables' `attributes`) are accepted wherever a `json`
//! argument is, read as `json`.

use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::expr::{Alias, ScalarFunction};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr, TypePlanner};
use datafusion::logical_expr::{
    Cast, ColumnarValue, Expr, LogicalPlan, ScalarFunctionArgs, ScalarUDF, TryCast,
};
use datafusion::optimizer::AnalyzerRule;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{BinaryOperator, DataType as SqlType};

pub(crate) use crate::texts::Texts;

pub mod json_array_length;
pub mod json_build_array;
pub mod json_build_object;
pub mod json_extract_path;
pub mod json_extract_path_text;
pub mod json_in;
pub mod json_typeof;
pub mod to_json;
pub mod value;

/// The extension type name of JSON text (Arrow's canonical JSON extension).
pub const EXTENSION_NAME: &str = "arrow.json";
/// Field metadata telling `jsonb` from `json`.
pub const PG_TYPE_KEY: &str = "sigfuse.pg_type";
const EXTENSION_NAME_KEY: &str = "ARROW:extension:name";
const EXTENSION_METADATA_KEY: &str = "ARROW:extension:metadata";

/// Which of PostgreSQL's two JSON types a value has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The text as written.
    Json,
    /// Normalized text (keys sorted and unique).
    Jsonb,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Json => "json",
            Kind::Jsonb => "jsonb",
        }
    }

    /// A nullable UTF-8 field of this kind.
    pub fn field(self, name: &str) -> Field {
        let mut metadata = std::collections::HashMap::from([
            (EXTENSION_NAME_KEY.to_string(), EXTENSION_NAME.to_string()),
            (EXTENSION_METADATA_KEY.to_string(), "{}".to_string()),
        ]);
        if self == Kind::Jsonb {
            metadata.insert(PG_TYPE_KEY.to_string(), "jsonb".to_string());
        }
        Field::new(name, DataType::Utf8, true).with_metadata(metadata)
    }

    /// The kind of a string field marked as JSON, else `None`.
    pub fn of(field: &Field) -> Option<Kind> {
        let text = matches!(
            field.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        );
        let json =
            field.metadata().get(EXTENSION_NAME_KEY).map(String::as_str) == Some(EXTENSION_NAME);
        (text && json).then(
            || match field.metadata().get(PG_TYPE_KEY).map(String::as_str) {
                Some("jsonb") => Kind::Jsonb,
                _ => Kind::Json,
            },
        )
    }
}

/// Every JSON function, both kinds of each (the casts' [`json_in`] is not called by name).
pub fn functions() -> Vec<Arc<ScalarUDF>> {
    let mut out = Vec::new();
    for kind in [Kind::Json, Kind::Jsonb] {
        out.push(Arc::new(ScalarUDF::from(to_json::ToJson::new(kind))));
        out.push(Arc::new(ScalarUDF::from(
            json_build_object::JsonBuildObject::new(kind),
        )));
        out.push(Arc::new(ScalarUDF::from(
            json_build_array::JsonBuildArray::new(kind),
        )));
        out.push(Arc::new(ScalarUDF::from(
            json_extract_path::JsonExtractPath::new(kind),
        )));
        out.push(Arc::new(ScalarUDF::from(
            json_extract_path_text::JsonExtractPathText::new(kind),
        )));
        out.push(Arc::new(ScalarUDF::from(json_typeof::JsonTypeof::new(
            kind,
        ))));
        out.push(Arc::new(ScalarUDF::from(
            json_array_length::JsonArrayLength::new(kind),
        )));
    }
    out
}

/// Installs the types, the cast rule and the operators in `ctx` (the functions are registered
/// with the others). The SQL types are planned by a [`JsonTypePlanner`] wrapping `inner`
/// (the session's previous type planner, if it had one that must keep working).
pub fn install(ctx: &SessionContext, inner: Option<Arc<dyn TypePlanner>>) {
    let state = ctx.state_ref();
    let mut state = state.write();
    let mut planners: Vec<Arc<dyn ExprPlanner>> = vec![Arc::new(JsonOperators)];
    planners.extend(
        state
            .expr_planners()
            .iter()
            .filter(|p| format!("{p:?}") != "JsonOperators")
            .cloned(),
    );
    let mut rules = state.analyzer().rules.clone();
    if !rules.iter().any(|r| r.name() == JsonCasts.name()) {
        rules.push(Arc::new(JsonCasts));
    }
    let rebuilt =
        datafusion::execution::session_state::SessionStateBuilder::new_from_existing(state.clone())
            .with_expr_planners(planners)
            .with_type_planner(Arc::new(JsonTypePlanner { inner }))
            .with_analyzer_rules(rules)
            .build();
    *state = rebuilt;
}

/// Plans `json` and `jsonb` as JSON-marked text; other types go to the planner it wraps.
#[derive(Debug)]
pub struct JsonTypePlanner {
    inner: Option<Arc<dyn TypePlanner>>,
}

impl TypePlanner for JsonTypePlanner {
    fn plan_type_field(&self, sql_type: &SqlType) -> Result<Option<FieldRef>> {
        match sql_type {
            SqlType::JSON => Ok(Some(Arc::new(Kind::Json.field("")))),
            SqlType::JSONB => Ok(Some(Arc::new(Kind::Jsonb.field("")))),
            other => match &self.inner {
                Some(inner) => inner.plan_type_field(other),
                None => Ok(None),
            },
        }
    }
}

/// A cast to `json` / `jsonb` becomes [`json_in`], which checks (and for `jsonb` normalizes)
/// the text; a plain cast would let any text through.
#[derive(Debug)]
pub struct JsonCasts;

impl AnalyzerRule for JsonCasts {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            let names = NamePreserver::new(&node);
            let rewritten = node.map_expressions(|expr| {
                let name = names.save(&expr);
                expr.transform_up(|e| {
                    let (inner, field) = match &e {
                        Expr::Cast(Cast { expr, field })
                        | Expr::TryCast(TryCast { expr, field }) => (expr, field),
                        _ => return Ok(Transformed::no(e)),
                    };
                    match Kind::of(field) {
                        Some(kind) => Ok(Transformed::yes(Expr::ScalarFunction(
                            ScalarFunction::new_udf(
                                json_in::udf(kind),
                                vec![inner.as_ref().clone()],
                            ),
                        ))),
                        None => Ok(Transformed::no(e)),
                    }
                })?
                .map_data(|e| Ok(name.restore(e)))
            })?;
            if rewritten.transformed {
                rewritten.map_data(|p| p.recompute_schema())
            } else {
                Ok(rewritten)
            }
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "json_casts"
    }
}

/// PostgreSQL's JSON operators: `->` and `#>` return JSON, `->>` and `#>>` text.
#[derive(Debug)]
pub struct JsonOperators;

impl ExprPlanner for JsonOperators {
    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        _schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        use json_extract_path::PathForm;
        let (text, form, op) = match expr.op {
            BinaryOperator::Arrow => (false, PathForm::Arrow, "->"),
            BinaryOperator::HashArrow => (false, PathForm::Path, "#>"),
            BinaryOperator::LongArrow => (true, PathForm::Arrow, "->>"),
            BinaryOperator::HashLongArrow => (true, PathForm::Path, "#>>"),
            _ => return Ok(PlannerResult::Original(expr)),
        };
        // The function follows the left side's kind at run time; `json_` names both.
        let func: Arc<ScalarUDF> = if text {
            Arc::new(ScalarUDF::from(
                json_extract_path_text::JsonExtractPathText::with_form(Kind::Json, form),
            ))
        } else {
            Arc::new(ScalarUDF::from(
                json_extract_path::JsonExtractPath::with_form(Kind::Json, form),
            ))
        };
        // Named like the operator (`attributes ->> 'k'`), as PostgreSQL users read it.
        let name = format!(
            "{} {op} {}",
            operand_name(&expr.left),
            operand_name(&expr.right)
        );
        let call = Expr::ScalarFunction(ScalarFunction::new_udf(func, vec![expr.left, expr.right]));
        Ok(PlannerResult::Planned(Expr::Alias(Alias::new(
            call,
            None::<&str>,
            name,
        ))))
    }
}

fn operand_name(expr: &Expr) -> String {
    match expr {
        Expr::Column(c) => c.name.clone(),
        Expr::Alias(a) => a.name.clone(),
        Expr::Literal(v, _) => match v.try_as_str() {
            Some(Some(s)) => format!("'{s}'"),
            _ => v.to_string(),
        },
        other => other.schema_name().to_string(),
    }
}

/// The result of a call: one value when every argument was one, else the array.
pub(crate) fn finish(args: &[ColumnarValue], array: ArrayRef) -> Result<ColumnarValue> {
    if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
            &array, 0,
        )?))
    } else {
        Ok(ColumnarValue::Array(array))
    }
}

/// Calls `f` with each row's document of the first argument, parsed as its kind (plain text
/// as `json`; `None` for NULL).
pub(crate) fn each_document(
    who: &str,
    args: &ScalarFunctionArgs,
    mut f: impl FnMut(Option<&value::Node>) -> Result<()>,
) -> Result<()> {
    let arrays = ColumnarValue::values_to_arrays(&args.args)?;
    let kind = Kind::of(&args.arg_fields[0]).unwrap_or(Kind::Json);
    let docs = Texts::new(who, &arrays[0])?;
    for row in 0..docs.len() {
        match docs.get(row) {
            Some(text) => f(Some(&parse_row(who, kind, &text)?))?,
            None => f(None)?,
        }
    }
    Ok(())
}

/// Plans a JSON argument: text (any string type) or NULL.
pub(crate) fn check_json_argument(who: &str, field: &Field) -> Result<()> {
    match field.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => Ok(()),
        other => plan_err!("function {who}(json) does not exist for an argument of type {other}"),
    }
}

/// Parses one row's JSON text, naming the function and the kind in the error.
pub(crate) fn parse_row<'t>(who: &str, kind: Kind, text: &'t str) -> Result<value::Node<'t>> {
    let parsed = match kind {
        Kind::Json => value::parse(text),
        Kind::Jsonb => value::parse_jsonb(text),
    };
    parsed.or_else(|e| {
        if e.starts_with(value::NUL_ESCAPE) {
            return exec_err!("{e} (in {who})");
        }
        exec_err!(
            "invalid input syntax for type {}: {e} (in {who})",
            kind.name()
        )
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray, RecordBatch};

    /// A session with the JSON types, casts, operators and functions.
    pub(crate) fn context() -> SessionContext {
        let ctx = SessionContext::new();
        for f in functions() {
            ctx.register_udf(f.as_ref().clone());
        }
        install(&ctx, None);
        ctx
    }

    /// Runs `sql`, returning its batches and its output fields.
    pub(crate) async fn run(
        ctx: &SessionContext,
        sql: &str,
    ) -> Result<(Vec<RecordBatch>, Vec<FieldRef>)> {
        let df = ctx.sql(sql).await?;
        let fields = df.schema().fields().iter().cloned().collect();
        Ok((df.collect().await?, fields))
    }

    /// The one text value a one-row, one-column query returns (`None` for NULL).
    pub(crate) async fn text(ctx: &SessionContext, sql: &str) -> Result<Option<String>> {
        let (batches, _) = run(ctx, sql).await?;
        let column = batches[0].column(0);
        let column = datafusion::arrow::compute::cast(column, &DataType::Utf8)?;
        let column = column.as_string::<i32>();
        Ok(column.is_valid(0).then(|| column.value(0).to_string()))
    }

    #[tokio::test]
    async fn casts_check_and_mark_the_text() {
        let ctx = context();
        let (batches, fields) = run(
            &ctx,
            r#"SELECT '{"b":1, "a":[1,2]}'::json AS j, '{"b":1, "a":[1,2]}'::jsonb AS b,
                      CAST('[1]' AS jsonb)::json AS bj, '{"a":1}'::json::text AS t, NULL::jsonb AS n"#,
        )
        .await
        .unwrap();
        let kinds: Vec<_> = fields.iter().map(|f| Kind::of(f)).collect();
        assert_eq!(
            kinds,
            [
                Some(Kind::Json),
                Some(Kind::Jsonb),
                Some(Kind::Json),
                None,
                Some(Kind::Jsonb)
            ]
        );
        let row = |i: usize| batches[0].column(i).as_string::<i32>().value(0).to_string();
        assert_eq!(row(0), r#"{"b":1, "a":[1,2]}"#);
        assert_eq!(row(1), r#"{"a": [1, 2], "b": 1}"#);
        assert_eq!(row(2), "[1]");
        assert!(batches[0].column(4).is_null(0));
        let e = run(&ctx, "SELECT '{oops'::json")
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid input syntax for type json"), "{e}");
        let e = run(&ctx, "SELECT 1::jsonb").await.unwrap_err().to_string();
        assert!(e.contains("cannot cast type Int64 to jsonb"), "{e}");
        // A column's text is checked row by row.
        let e = run(&ctx, "SELECT column1::jsonb FROM (VALUES ('{}'), ('nope'))")
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid input syntax for type jsonb"), "{e}");
    }

    #[tokio::test]
    async fn operators_follow_postgres() {
        let ctx = context();
        let doc = r#"'{"a": {"b": [10, "x", null]}, "s": "t\"q", "n": null}'"#;
        for (expr, want) in [
            (
                format!("{doc}::json -> 'a'"),
                Some(r#"{"b": [10, "x", null]}"#),
            ),
            (
                format!("{doc}::jsonb -> 'a'"),
                Some(r#"{"b": [10, "x", null]}"#),
            ),
            (format!("{doc}::json -> 'a' -> 'b' -> 1"), Some(r#""x""#)),
            (format!("{doc}::json -> 'a' -> 'b' ->> 1"), Some("x")),
            (format!("{doc}::json -> 'a' -> 'b' ->> -3"), Some("10")),
            (format!("{doc}::json ->> 's'"), Some("t\"q")),
            (format!("{doc}::json ->> 'n'"), None),
            (format!("{doc}::json -> 'n'"), Some("null")),
            (format!("{doc}::json -> 'missing'"), None),
            (format!("{doc}::json -> 0"), None),
            (format!("{doc}::json #> ARRAY['a','b','0']"), Some("10")),
            (format!("{doc}::json #>> ARRAY['a','b','1']"), Some("x")),
            (format!("{doc}::json #>> '{{a,b,1}}'"), Some("x")),
            (
                format!("{doc}::json #> '{{a, \"b\"}}'"),
                Some(r#"[10, "x", null]"#),
            ),
            // `->` with text is an object key only (PostgreSQL: NULL on an array).
            (format!("{doc}::json -> 'a' -> 'b' -> '1'"), None),
            (format!("{doc} ->> 's'"), Some("t\"q")),
        ] {
            assert_eq!(
                text(&ctx, &format!("SELECT {expr}"))
                    .await
                    .unwrap()
                    .as_deref(),
                want,
                "{expr}"
            );
        }
        let (_, fields) = run(
            &ctx,
            &format!("SELECT {doc}::jsonb -> 'a', {doc}::json ->> 'a'"),
        )
        .await
        .unwrap();
        assert_eq!(Kind::of(&fields[0]), Some(Kind::Jsonb));
        assert_eq!(Kind::of(&fields[1]), None);
        assert!(
            fields[1].name().ends_with("->> 'a'"),
            "{}",
            fields[1].name()
        );
    }
}
