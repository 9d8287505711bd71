//! `detect_anomalies(model, since, until)`: every scored window of the range.

use std::sync::Arc;

use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::Result;
use datafusion::datasource::ViewTable;
use datafusion::logical_expr::Documentation;
use datafusion_macros::user_doc;

use super::{Detectors, incident_args, plan_sql, scored_windows_sql};

pub const NAME: &str = "detect_anomalies";

#[user_doc(
    doc_section(label = "Detection functions"),
    description = "Scores every `(service, window)` of `[since, until)` with a baseline model, \
on the model's window width: columns `window_start`, `service`, `score` \
(as `anomaly_score`), `confidence`, `top_modality` and `evidence` (as `modality_weights`). \
Windows with no data are not listed. Rows come in no particular order (`ORDER BY score DESC`); \
filter on `score` for alerts, e.g. `WHERE score >= 0.99`.",
    syntax_example = "detect_anomalies(model, since, until)",
    sql_example = r#"```sql
> SELECT * FROM detect_anomalies('ops', TIMESTAMP '2024-06-03 10:00:00',
                                 TIMESTAMP '2024-06-03 11:00:00')
  WHERE score >= 0.99 ORDER BY score DESC LIMIT 10;
```"#,
    argument(
        name = "model",
        description = "Name of a baseline model (text literal)."
    ),
    argument(name = "since", description = "Start of the range (a timestamp)."),
    argument(name = "until", description = "End of the range, excluded.")
)]
#[derive(Debug)]
pub struct DetectAnomalies {
    detectors: Arc<Detectors>,
}

impl DetectAnomalies {
    pub fn new(detectors: Arc<Detectors>) -> Self {
        Self { detectors }
    }

    pub fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

impl TableFunctionImpl for DetectAnomalies {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let super::Incident {
            model,
            since,
            until,
            ..
        } = incident_args(NAME, &self.detectors, &args, &[])?;
        let sql = format!(
            "SELECT window_start, service, get_field(w, 'score') AS score, \
             get_field(w, 'confidence') AS confidence, \
             get_field(w, 'top_modality') AS top_modality, get_field(w, 'evidence') AS evidence \
             FROM ({})",
            scored_windows_sql(&model, &since, &until)
        );
        let plan = plan_sql(NAME, args.session(), &sql)?;
        Ok(Arc::new(ViewTable::new(plan, Some(sql))))
    }
}
