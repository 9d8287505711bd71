//! Filters comparing a text column with short constants, one 16-byte compare per row.
//!
//! The lake's text columns are read as `Utf8View` (storage::SignalKind::read_schema), and the
//! filters operations queries use most compare them with short constants: `status = 'ERROR'`,
//! `severity IN ('ERROR', 'FATAL')`, `service = 'cart'`. A view holds a string of up to 12
//! bytes whole (its length, then its bytes, then zeros), so such a string equals a constant of
//! up to 12 bytes exactly when their views are equal, whatever the row's length: longer strings
//! have another length in their view. Arrow's comparison kernel does not use that when the
//! array has data buffers (as every array read from Parquet has): it checks lengths, prefixes
//! and buffers row by row. For benches/peers.py q4 (`status = 'ERROR'` over 587 k spans) that
//! was 5.6 % of the query's CPU (`perf record -g` of 200 runs, release build with frame
//! pointers).
//!
//! [`InlineViewEquality`] is a physical optimizer rule, run after DataFusion's: in the predicate
//! of each `FilterExec` it replaces `x = c`, `x <> c`, `x IN (c, …)` and `x NOT IN (c, …)`,
//! where `x` is a `Utf8View` expression and every `c` a non-NULL text constant of at most 12
//! bytes, by an [`InlineViewIn`] that compares views. NULL rows stay NULL (the list holds no
//! NULL). It runs last, after the filters were pushed into the scans (which keep the original
//! predicate for pruning), and `EXPLAIN` shows the predicate as before.

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use datafusion::arrow::array::builder::make_view;
use datafusion::arrow::array::{Array, AsArray, BooleanArray, MAX_INLINE_VIEW_LEN, RecordBatch};
use datafusion::arrow::buffer::BooleanBuffer;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Result, ScalarValue, internal_err};
use datafusion::logical_expr::{ColumnarValue, Operator};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{BinaryExpr, InListExpr, Literal};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};

/// The rule (see the module documentation).
#[derive(Debug, Default)]
pub struct InlineViewEquality;

impl PhysicalOptimizerRule for InlineViewEquality {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(filter) = node.downcast_ref::<FilterExec>() else {
                return Ok(Transformed::no(node));
            };
            let schema = filter.input().schema();
            let predicate =
                Arc::clone(filter.predicate()).transform_up(|e| Ok(rewrite(e, &schema)))?;
            if !predicate.transformed {
                return Ok(Transformed::no(node));
            }
            let rebuilt = FilterExecBuilder::from(filter)
                .with_predicate(predicate.data)
                .build()?;
            Ok(Transformed::yes(Arc::new(rebuilt) as Arc<dyn ExecutionPlan>))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "inline_view_equality"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `e` as an [`InlineViewIn`] when it is a comparison the kernel can answer.
fn rewrite(e: Arc<dyn PhysicalExpr>, schema: &Schema) -> Transformed<Arc<dyn PhysicalExpr>> {
    let found = if let Some(b) = e.downcast_ref::<BinaryExpr>() {
        let negated = match b.op() {
            Operator::Eq => Some(false),
            Operator::NotEq => Some(true),
            _ => None,
        };
        negated.and_then(|negated| {
            // Either side may hold the constant.
            [(b.left(), b.right()), (b.right(), b.left())]
                .into_iter()
                .find_map(|(x, c)| Some((x, vec![constant(c)?], negated, Form::Compare)))
        })
    } else if let Some(i) = e.downcast_ref::<InListExpr>() {
        i.list()
            .iter()
            .map(constant)
            .collect::<Option<Vec<_>>>()
            .map(|list| (i.expr(), list, i.negated(), Form::List))
    } else {
        None
    };
    match found {
        Some((x, values, negated, form))
            if matches!(x.data_type(schema), Ok(DataType::Utf8View)) =>
        {
            Transformed::yes(Arc::new(InlineViewIn::new(
                Arc::clone(x),
                values,
                negated,
                form,
            )))
        }
        _ => Transformed::no(e),
    }
}

/// A non-NULL text constant short enough to be held inline.
fn constant(e: &Arc<dyn PhysicalExpr>) -> Option<String> {
    let lit = e.downcast_ref::<Literal>()?;
    match lit.value() {
        ScalarValue::Utf8View(Some(s))
        | ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
            if s.len() <= MAX_INLINE_VIEW_LEN as usize =>
        {
            Some(s.clone())
        }
        _ => None,
    }
}

/// How the replaced expression was written, for `EXPLAIN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Form {
    /// `x = c` / `x <> c`.
    Compare,
    /// `x IN (…)` / `x NOT IN (…)`.
    List,
}

/// `expr [NOT] IN (values)` for a `Utf8View` `expr` and constants of at most 12 bytes, by
/// comparing each row's view with the constants' views.
#[derive(Debug, Eq)]
pub struct InlineViewIn {
    expr: Arc<dyn PhysicalExpr>,
    values: Vec<String>,
    views: Vec<u128>,
    negated: bool,
    form: Form,
}

impl InlineViewIn {
    fn new(expr: Arc<dyn PhysicalExpr>, values: Vec<String>, negated: bool, form: Form) -> Self {
        let views = values
            .iter()
            .map(|v| make_view(v.as_bytes(), 0, 0))
            .collect();
        Self {
            expr,
            values,
            views,
            negated,
            form,
        }
    }

    fn matches(&self, views: &[u128]) -> BooleanBuffer {
        let negated = self.negated;
        match self.views.as_slice() {
            [one] => BooleanBuffer::collect_bool(views.len(), |i| (views[i] == *one) != negated),
            list => BooleanBuffer::collect_bool(views.len(), |i| {
                list.iter().any(|v| views[i] == *v) != negated
            }),
        }
    }
}

// By hand, as DataFusion's expressions do (rust-lang/rust#78808).
impl PartialEq for InlineViewIn {
    fn eq(&self, other: &Self) -> bool {
        self.expr.eq(&other.expr)
            && self.views == other.views
            && self.negated == other.negated
            && self.form == other.form
    }
}

impl Hash for InlineViewIn {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.expr.hash(state);
        self.views.hash(state);
        self.negated.hash(state);
        self.form.hash(state);
    }
}

impl fmt::Display for InlineViewIn {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        // As DataFusion shows the expression this replaces.
        match (self.form, self.negated) {
            (Form::Compare, false) => write!(f, "{} = {}", self.expr, self.values[0]),
            (Form::Compare, true) => write!(f, "{} != {}", self.expr, self.values[0]),
            (Form::List, negated) => write!(
                f,
                "{} {}IN (SET) ([{}])",
                self.expr,
                if negated { "NOT " } else { "" },
                self.values.join(", ")
            ),
        }
    }
}

impl PhysicalExpr for InlineViewIn {
    fn data_type(&self, _input_schema: &Schema) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn nullable(&self, input_schema: &Schema) -> Result<bool> {
        self.expr.nullable(input_schema)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let value = self.expr.evaluate(batch)?;
        let scalar = matches!(value, ColumnarValue::Scalar(_));
        let array = value.into_array(batch.num_rows())?;
        let Some(views) = array.as_string_view_opt() else {
            return internal_err!("{self}: expected Utf8View, got {}", array.data_type());
        };
        let result = BooleanArray::new(self.matches(views.views()), views.nulls().cloned());
        if scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &result, 0,
            )?));
        }
        Ok(ColumnarValue::Array(Arc::new(result)))
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        vec![&self.expr]
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        let [expr] = <[_; 1]>::try_from(children)
            .or_else(|c| internal_err!("InlineViewIn takes one child, got {}", c.len()))?;
        Ok(Arc::new(Self::new(
            expr,
            self.values.clone(),
            self.negated,
            self.form,
        )))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt_sql(f)?;
        let quoted = |v: &String| format!("'{}'", v.replace('\'', "''"));
        match (self.form, self.negated) {
            (Form::Compare, negated) => {
                write!(
                    f,
                    " {} {}",
                    if negated { "!=" } else { "=" },
                    quoted(&self.values[0])
                )
            }
            (Form::List, negated) => write!(
                f,
                "{} IN ({})",
                if negated { " NOT" } else { "" },
                self.values
                    .iter()
                    .map(quoted)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{ArrayRef, Int64Array, StringViewArray};
    use datafusion::arrow::compute::kernels::cmp;
    use datafusion::arrow::datatypes::Field;
    use datafusion::datasource::MemTable;
    use datafusion::execution::session_state::SessionStateBuilder;
    use datafusion::physical_expr::expressions::col;
    use datafusion::physical_plan::collect;
    use datafusion::prelude::{SessionConfig, SessionContext};

    /// Short and long strings (some sharing a short one's first bytes, so the array has data
    /// buffers and prefixes that match), empty strings and NULLs.
    fn texts() -> StringViewArray {
        StringViewArray::from(vec![
            Some("ERROR"),
            Some("OK"),
            None,
            Some(""),
            Some("ERROR and a long tail"),
            Some("ERRO"),
            Some("exactly-12ch"),
            Some("exactly-12chars"),
            Some("FATAL"),
            Some("error"),
        ])
    }

    fn kernel(values: &[&str], negated: bool, form: Form) -> InlineViewIn {
        let schema = Schema::new(vec![Field::new("t", DataType::Utf8View, true)]);
        let values = values.iter().map(|v| v.to_string()).collect();
        InlineViewIn::new(col("t", &schema).unwrap(), values, negated, form)
    }

    fn run(k: &InlineViewIn, texts: &StringViewArray) -> BooleanArray {
        let schema = Arc::new(Schema::new(vec![Field::new("t", DataType::Utf8View, true)]));
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(texts.clone()) as ArrayRef]).unwrap();
        match k.evaluate(&batch).unwrap() {
            ColumnarValue::Array(a) => a.as_boolean().clone(),
            ColumnarValue::Scalar(s) => panic!("a scalar: {s}"),
        }
    }

    /// Arrow's own comparison of every row with one constant.
    fn arrow_eq(texts: &StringViewArray, v: &str) -> BooleanArray {
        cmp::eq(texts, &StringViewArray::new_scalar(v)).unwrap()
    }

    #[test]
    fn equality_agrees_with_arrow_on_long_empty_and_null_rows() {
        let texts = texts();
        assert!(
            !texts.data_buffers().is_empty(),
            "the long rows need a buffer"
        );
        for v in ["ERROR", "OK", "", "ERRO", "exactly-12ch", "missing"] {
            let expected = arrow_eq(&texts, v);
            assert_eq!(
                run(&kernel(&[v], false, Form::Compare), &texts),
                expected,
                "= {v:?}"
            );
            let not = cmp::neq(&texts, &StringViewArray::new_scalar(v)).unwrap();
            assert_eq!(
                run(&kernel(&[v], true, Form::Compare), &texts),
                not,
                "<> {v:?}"
            );
        }
    }

    #[test]
    fn lists_are_any_of_their_values_and_keep_nulls() {
        let texts = texts();
        let either =
            datafusion::arrow::compute::or(&arrow_eq(&texts, "ERROR"), &arrow_eq(&texts, "FATAL"))
                .unwrap();
        let got = run(&kernel(&["ERROR", "FATAL"], false, Form::List), &texts);
        assert_eq!(got, either);
        assert_eq!(got.null_count(), 1);
        let got = run(&kernel(&["ERROR", "FATAL"], true, Form::List), &texts);
        assert_eq!(got, datafusion::arrow::compute::not(&either).unwrap());
    }

    /// A table with a text view column, in two partitions.
    async fn context(with_rule: bool) -> Result<SessionContext> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("t", DataType::Utf8View, true),
        ]));
        let texts: ArrayRef = Arc::new(texts());
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(Int64Array::from_iter_values(0..10)), texts],
        )?;
        let table = MemTable::try_new(schema, vec![vec![batch.clone()], vec![batch]])?;
        let mut state = SessionStateBuilder::new()
            .with_config(SessionConfig::new().with_target_partitions(2))
            .with_default_features();
        if with_rule {
            state = state.with_physical_optimizer_rule(Arc::new(InlineViewEquality));
        }
        let ctx = SessionContext::new_with_state(state.build());
        ctx.register_table("v", Arc::new(table))?;
        Ok(ctx)
    }

    /// The filters of `plan`'s `FilterExec`s.
    fn filters(plan: &Arc<dyn ExecutionPlan>, out: &mut Vec<Arc<dyn PhysicalExpr>>) {
        if let Some(f) = plan.downcast_ref::<FilterExec>() {
            out.push(Arc::clone(f.predicate()));
        }
        for c in plan.children() {
            filters(c, out);
        }
    }

    fn uses_kernel(e: &Arc<dyn PhysicalExpr>) -> bool {
        e.downcast_ref::<InlineViewIn>().is_some() || e.children().into_iter().any(uses_kernel)
    }

    async fn explain(ctx: &SessionContext, sql: &str) -> Result<String> {
        let batches = ctx.sql(&format!("EXPLAIN {sql}")).await?.collect().await?;
        Ok(datafusion::arrow::util::pretty::pretty_format_batches(&batches)?.to_string())
    }

    #[tokio::test]
    async fn filters_give_the_same_rows_with_the_rule_and_explain_the_same() -> Result<()> {
        let queries = [
            ("SELECT k, t FROM v WHERE t = 'ERROR'", true),
            ("SELECT k, t FROM v WHERE 'OK' <> t AND k > 2", true),
            (
                "SELECT k, t FROM v WHERE t IN ('ERROR', 'FATAL', '') OR k = 9",
                true,
            ),
            (
                "SELECT k, t FROM v WHERE t NOT IN ('ERROR', 'exactly-12ch')",
                true,
            ),
            // DataFusion splits the NULL off first (`t <> 'OK' AND NULL`).
            ("SELECT k, t FROM v WHERE t NOT IN ('OK', NULL)", true),
            // Constants too long to be inline keep DataFusion's comparison.
            ("SELECT k, t FROM v WHERE t = 'exactly-12chars'", false),
            (
                "SELECT k, t FROM v WHERE t IN ('exactly-12chars', 'ERROR and a long tail')",
                false,
            ),
            ("SELECT k, t FROM v WHERE t < 'F'", false),
        ];
        let (with, without) = (context(true).await?, context(false).await?);
        for (sql, rewritten) in queries {
            let sql = format!("{sql} ORDER BY k, t");
            let plan = with.sql(&sql).await?.create_physical_plan().await?;
            let mut found = vec![];
            filters(&plan, &mut found);
            assert_eq!(found.iter().any(uses_kernel), rewritten, "{sql}");
            let got = collect(plan, with.task_ctx()).await?;
            let expected = without.sql(&sql).await?.collect().await?;
            assert_eq!(
                datafusion::arrow::util::pretty::pretty_format_batches(&got)?.to_string(),
                datafusion::arrow::util::pretty::pretty_format_batches(&expected)?.to_string(),
                "{sql}"
            );
            assert_eq!(explain(&with, &sql).await?, explain(&without, &sql).await?);
        }
        Ok(())
    }
}
