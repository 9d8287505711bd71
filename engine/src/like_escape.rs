//! `LIKE … ESCAPE 'c'` with an escape character other than backslash, which DataFusion 55
//! refuses at execution. SQLAlchemy's inspector (and so Superset and pandas users) lists schemas
//! with `nspname NOT LIKE 'pg/_' || '%' ESCAPE '/'`.
//!
//! Once the pattern is a literal (after constant folding and parameter binding), it is rewritten
//! to the same pattern with backslash escapes: `c` + `x` becomes `\x`, and a literal backslash
//! becomes `\\`.

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::expr::Like;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

#[derive(Debug, Default)]
pub struct LikeEscapeToBackslash;

/// The pattern with `escape` replaced by backslash escapes.
fn to_backslash(pattern: &str, escape: char) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == escape {
            match chars.next() {
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                // A trailing escape character escapes nothing; PostgreSQL rejects it, and so
                // will DataFusion once it sees a lone backslash.
                None => out.push('\\'),
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    out
}

fn rewrite(expr: Expr) -> Result<Transformed<Expr>> {
    expr.transform_up(|e| {
        let Expr::Like(like) = &e else {
            return Ok(Transformed::no(e));
        };
        let Some(escape) = like.escape_char.filter(|c| *c != '\\') else {
            return Ok(Transformed::no(e));
        };
        // The pattern keeps its string type: coercion has already matched it to the column.
        let pattern = match like.pattern.as_ref() {
            Expr::Literal(ScalarValue::Utf8(Some(s)), _) => {
                ScalarValue::Utf8(Some(to_backslash(s, escape)))
            }
            Expr::Literal(ScalarValue::Utf8View(Some(s)), _) => {
                ScalarValue::Utf8View(Some(to_backslash(s, escape)))
            }
            Expr::Literal(ScalarValue::LargeUtf8(Some(s)), _) => {
                ScalarValue::LargeUtf8(Some(to_backslash(s, escape)))
            }
            _ => return Ok(Transformed::no(e)),
        };
        let Expr::Like(like) = e else {
            return Ok(Transformed::no(e));
        };
        Ok(Transformed::yes(Expr::Like(Like {
            pattern: Box::new(Expr::Literal(pattern, None)),
            escape_char: Some('\\'),
            ..like
        })))
    })
}

impl OptimizerRule for LikeEscapeToBackslash {
    fn name(&self) -> &str {
        "like_escape_to_backslash"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        plan.map_expressions(rewrite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    #[test]
    fn patterns_keep_their_meaning() {
        assert_eq!(to_backslash("pg/_%", '/'), "pg\\_%");
        assert_eq!(to_backslash("a//b", '/'), "a\\/b");
        assert_eq!(to_backslash("50#%", '#'), "50\\%");
        assert_eq!(to_backslash("c:\\x", '#'), "c:\\\\x");
    }

    #[tokio::test]
    async fn other_escape_characters_run() {
        let ctx = SessionContext::new();
        ctx.add_optimizer_rule(std::sync::Arc::new(LikeEscapeToBackslash));
        let sql = "SELECT s FROM (VALUES ('pg_catalog'), ('pgx'), ('public')) t(s) \
                   WHERE s NOT LIKE 'pg/_' || '%' ESCAPE '/' ORDER BY s";
        let rows = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&rows)
            .unwrap()
            .to_string();
        assert!(text.contains("pgx") && text.contains("public"), "{text}");
        assert!(!text.contains("pg_catalog"), "{text}");
        // Columns read from Parquet are Utf8View; the pattern must stay that type.
        ctx.sql("CREATE TABLE v AS SELECT arrow_cast(s, 'Utf8View') AS s FROM (VALUES ('50%'), ('50x')) t(s)")
            .await
            .unwrap();
        let sql = "SELECT count(*) AS n FROM v WHERE s LIKE '50#%' ESCAPE '#'";
        let rows = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&rows)
            .unwrap()
            .to_string();
        assert!(text.contains("| 1 |"), "{text}");
    }
}
