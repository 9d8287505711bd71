//! Models in the lake: `CREATE MODEL name KIND log_parser AS <query>`, and loading the latest
//! log parser when a session is built.
//!
//! Layout: `<lake>/_models/<name>/<version>/manifest.json` (what the model is: kind, version,
//! creation time, training query, size, settings) and `state.json` (the model), written by
//! `sigfuse-models` as bytes and stored here through the lake's object store; versions count
//! from 1 per name. The state is written before the manifest, and a version without a manifest
//! is ignored, so a reader never sees half a model.
//!
//! DataFusion's parser does not know `CREATE MODEL`: [`split_commands`] recognizes it with
//! sqlparser's tokenizer and hands every other statement to DataFusion.
//!
//! The log functions use the log-parser model written last (by creation time, then version)
//! of any name; `CREATE MODEL … KIND log_parser` switches the session's functions to the new
//! version at once.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result, exec_err, plan_err};
use datafusion::object_store::path::Path;
use datafusion::object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer, Whitespace};
use futures::StreamExt;
use sigfuse_models::logparse::{self, Miner, Scratch};
use sigfuse_storage::Lake;
use sigfuse_udfs::logs::{LogParser, model_err};

/// Folder of all models under the lake root.
pub const MODELS_DIR: &str = "_models";

/// One statement of a script.
#[derive(Debug)]
pub enum Command {
    /// Anything DataFusion parses.
    Sql(Box<Statement>),
    /// `CREATE MODEL name [KIND kind] AS query`.
    CreateModel(CreateModel),
}

/// A parsed `CREATE MODEL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateModel {
    pub name: String,
    pub kind: String,
    /// The training query, as written.
    pub query: String,
}

/// What `CREATE MODEL` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelReport {
    pub name: String,
    pub version: u64,
    pub lines: u64,
    pub templates: usize,
}

fn is_word(t: &Token, word: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

fn significant(tokens: &[Token]) -> impl Iterator<Item = (usize, &Token)> {
    tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| !matches!(t, Token::Whitespace(_)))
}

/// Splits a script at top-level `;` and parses each statement: `CREATE MODEL` here, the rest
/// with DataFusion (PostgreSQL dialect).
pub fn split_commands(sql: &str) -> Result<Vec<Command>> {
    let dialect = PostgreSqlDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize()
        .map_err(|e| DataFusionError::SQL(Box::new(e.into()), None))?;
    let mut out = Vec::new();
    for piece in tokens.split(|t| matches!(t, Token::SemiColon)) {
        if piece
            .iter()
            .all(|t| matches!(t, Token::Whitespace(_) | Token::EOF))
        {
            continue;
        }
        let text: String = piece
            .iter()
            .filter(|t| {
                !matches!(
                    t,
                    Token::EOF | Token::Whitespace(Whitespace::SingleLineComment { .. })
                )
            })
            .map(ToString::to_string)
            .collect();
        let mut sig = significant(piece);
        let first_two = (sig.next(), sig.next());
        if let (Some((_, a)), Some((_, b))) = first_two
            && is_word(a, "create")
            && is_word(b, "model")
        {
            out.push(Command::CreateModel(parse_create_model(piece)?));
            continue;
        }
        for mut s in DFParser::parse_sql_with_dialect(&text, &dialect)? {
            // ASOF joins in the shape the planner takes, as split_statements does.
            crate::asof::sql::wrap_asof_joins_df(&mut s);
            out.push(Command::Sql(Box::new(s)));
        }
    }
    Ok(out)
}

/// `CREATE MODEL name [KIND kind] AS query` from its tokens.
fn parse_create_model(tokens: &[Token]) -> Result<CreateModel> {
    const USAGE: &str = "CREATE MODEL name KIND log_parser AS SELECT body [, service] FROM …";
    let sig: Vec<(usize, &Token)> = significant(tokens).skip(2).collect();
    let name = match sig.first() {
        Some((_, Token::Word(w))) if w.keyword == Keyword::NoKeyword || w.quote_style.is_some() => {
            w.value.clone()
        }
        other => {
            return plan_err!(
                "CREATE MODEL: expected a model name, got {}; usage: {USAGE}",
                other.map_or("the end".to_string(), |(_, t)| t.to_string())
            );
        }
    };
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return plan_err!(
            "CREATE MODEL: a model name is letters, digits, '_' and '-', got {name:?}"
        );
    }
    let mut rest = &sig[1..];
    let mut kind = logparse::KIND.to_string();
    if let Some((_, t)) = rest.first()
        && is_word(t, "kind")
    {
        match rest.get(1) {
            Some((_, Token::Word(w))) => kind = w.value.to_ascii_lowercase(),
            other => {
                return plan_err!(
                    "CREATE MODEL {name}: expected a kind after KIND, got {}",
                    other.map_or("the end".to_string(), |(_, t)| t.to_string())
                );
            }
        }
        rest = &rest[2..];
    }
    let Some(&(as_at, t)) = rest.first() else {
        return plan_err!("CREATE MODEL {name}: expected AS <query>; usage: {USAGE}");
    };
    if !is_word(t, "as") {
        return plan_err!("CREATE MODEL {name}: expected AS <query>, got {t}; usage: {USAGE}");
    }
    if kind != logparse::KIND {
        return plan_err!(
            "CREATE MODEL {name}: unknown model kind {kind:?}; this version knows {:?}",
            logparse::KIND
        );
    }
    let query: String = tokens[as_at + 1..]
        .iter()
        .filter(|t| !matches!(t, Token::EOF))
        .map(ToString::to_string)
        .collect();
    let query = query.trim().to_string();
    if query.is_empty() {
        return plan_err!("CREATE MODEL {name}: the query after AS is empty");
    }
    Ok(CreateModel { name, kind, query })
}

fn store_err(e: datafusion::object_store::Error) -> DataFusionError {
    DataFusionError::ObjectStore(Box::new(e))
}

/// The versions of model `name` that have a manifest, ascending.
async fn versions(lake: &Lake, name: &str) -> Result<Vec<u64>> {
    let prefix = lake.path(&format!("{MODELS_DIR}/{name}"));
    let listing = lake
        .store()
        .list_with_delimiter(Some(&prefix))
        .await
        .map_err(store_err)?;
    let mut out: Vec<u64> = listing
        .common_prefixes
        .iter()
        .filter_map(|p| p.filename().and_then(|f| f.parse().ok()))
        .collect();
    out.sort_unstable();
    Ok(out)
}

async fn read(store: &Arc<dyn ObjectStore>, path: &Path) -> Result<Option<Vec<u8>>> {
    match store.get(path).await {
        Ok(r) => Ok(Some(r.bytes().await.map_err(store_err)?.to_vec())),
        Err(datafusion::object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(store_err(e)),
    }
}

/// Runs `CREATE MODEL`: mines the query's rows (first column the body, optional second the
/// service), writes the next version and switches `parser` to it.
pub async fn create_model(
    ctx: &datafusion::prelude::SessionContext,
    lake: &Lake,
    parser: &LogParser,
    cm: &CreateModel,
) -> Result<ModelReport> {
    let df = ctx.sql(&cm.query).await?;
    let fields = df.schema().fields().len();
    if !(1..=2).contains(&fields) {
        return plan_err!(
            "CREATE MODEL {}: the query must return (body [, service]), got {fields} columns",
            cm.name
        );
    }
    let mut miner = Miner::default();
    let mut scratch = Scratch::default();
    let mut stream = df.execute_stream().await?;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let body = cast(batch.column(0), &DataType::Utf8)?;
        let body = body.as_string::<i32>();
        let service = match batch.num_columns() {
            2 => Some(cast(batch.column(1), &DataType::Utf8)?),
            _ => None,
        };
        let service = service.as_ref().map(|s| s.as_string::<i32>());
        for i in 0..batch.num_rows() {
            if body.is_null(i) {
                continue;
            }
            let svc = service.filter(|s| s.is_valid(i)).map_or("", |s| s.value(i));
            miner.add(svc, body.value(i), &mut scratch);
        }
    }
    let version = versions(lake, &cm.name).await?.last().map_or(1, |v| v + 1);
    let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let manifest = miner.manifest(&cm.name, version, &created_at, &cm.query);
    let dir = format!("{MODELS_DIR}/{}/{version}", cm.name);
    let store = lake.store();
    store
        .put(
            &lake.path(&format!("{dir}/state.json")),
            PutPayload::from(miner.save_state()),
        )
        .await
        .map_err(store_err)?;
    let manifest_bytes =
        serde_json::to_vec_pretty(&manifest).map_err(|e| DataFusionError::External(Box::new(e)))?;
    store
        .put(
            &lake.path(&format!("{dir}/manifest.json")),
            PutPayload::from(manifest_bytes),
        )
        .await
        .map_err(store_err)?;
    let report = ModelReport {
        name: cm.name.clone(),
        version,
        lines: manifest.lines,
        templates: manifest.templates,
    };
    parser.set_model(miner, &cm.name, version);
    Ok(report)
}

/// Loads the log-parser model written last into `parser`; returns its name and version, or
/// `None` when the lake has none (the functions then mine online).
pub async fn load_latest_log_parser(
    lake: &Lake,
    parser: &LogParser,
) -> Result<Option<(String, u64)>> {
    let store = lake.store();
    let root = lake.path(MODELS_DIR);
    let names = store
        .list_with_delimiter(Some(&root))
        .await
        .map_err(store_err)?;
    let mut best: Option<(String, u64, String)> = None; // (created_at, version, name)
    for p in &names.common_prefixes {
        let Some(name) = p.filename() else { continue };
        for v in versions(lake, name).await? {
            let path = lake.path(&format!("{MODELS_DIR}/{name}/{v}/manifest.json"));
            let Some(bytes) = read(store, &path).await? else {
                continue;
            };
            // Other kinds of model live here too; only log parsers matter.
            let Ok(m) = logparse::read_manifest(&bytes) else {
                continue;
            };
            let key = (m.created_at.clone(), v, name.to_string());
            if best.as_ref().is_none_or(|b| key > *b) {
                best = Some(key);
            }
        }
    }
    let Some((_, version, name)) = best else {
        return Ok(None);
    };
    let path = lake.path(&format!("{MODELS_DIR}/{name}/{version}/state.json"));
    let Some(bytes) = read(store, &path).await? else {
        return exec_err!("model {name} version {version}: manifest without state.json");
    };
    let miner = Miner::load_state(&bytes).map_err(model_err)?;
    parser.set_model(miner, &name, version);
    Ok(Some((name, version)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_model_is_recognized_and_the_rest_goes_to_datafusion() {
        let cmds = split_commands(
            "SELECT 1; create model ops_logs KIND log_parser AS SELECT body FROM logs WHERE service = 'a;b' ; SELECT 2",
        )
        .unwrap();
        assert_eq!(cmds.len(), 3);
        let Command::CreateModel(cm) = &cmds[1] else {
            panic!("{cmds:?}");
        };
        assert_eq!(cm.name, "ops_logs");
        assert_eq!(cm.kind, "log_parser");
        assert_eq!(cm.query, "SELECT body FROM logs WHERE service = 'a;b'");
        assert!(matches!(cmds[0], Command::Sql(_)) && matches!(cmds[2], Command::Sql(_)));
    }

    async fn one(engine: &crate::Engine, sql: &str) -> String {
        let batches = engine
            .ctx()
            .sql(sql)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn a_saved_model_keeps_ids_across_engines_and_versions_count_up() {
        let lake = Lake::open("memory://models-test").unwrap();
        let config = crate::EngineConfig::default();
        let first = crate::Engine::over(lake.clone(), &config).unwrap();
        assert_eq!(first.load_models().await.unwrap(), None);
        first
            .ctx()
            .sql(
                "CREATE TABLE train (body VARCHAR, service VARCHAR) AS VALUES \
                  ('user alice logged in', 'auth'), ('user bob logged in', 'auth'), \
                  ('user carol logged in', 'auth'), ('user dave logged in', 'auth'), \
                  ('user erin logged in', 'auth'), ('user frank logged in', 'auth'), \
                  ('flush took 12 ms', 'db')",
            )
            .await
            .unwrap();
        let cm = |sql: &str| match split_commands(sql).unwrap().pop() {
            Some(Command::CreateModel(cm)) => cm,
            other => panic!("{other:?}"),
        };
        let report = first
            .create_model(&cm(
                "CREATE MODEL ops KIND log_parser AS SELECT body, service FROM train",
            ))
            .await
            .unwrap();
        assert_eq!((report.version, report.lines, report.templates), (1, 7, 2));
        let query = "SELECT log_template('user zoe logged in', 'auth') AS t, \
                     log_template_id('user zoe logged in', 'auth') AS id, \
                     log_template('never seen 42', 'auth') AS unseen";
        let before = one(&first, query).await;
        assert!(before.contains("user <*> logged in"), "{before}");
        assert!(before.contains("never seen <NUM>"), "{before}");
        // Another engine (another process) over the same lake loads the model: same ids.
        let second = crate::Engine::over(lake.clone(), &config).unwrap();
        assert_eq!(
            second.load_models().await.unwrap(),
            Some(("ops".to_string(), 1))
        );
        assert_eq!(one(&second, query).await, before);
        // The model is read-only: lines seen by queries do not change it.
        one(&second, "SELECT log_template('user 7 logged in', 'auth')").await;
        assert_eq!(one(&second, query).await, before);
        let report = second
            .create_model(&cm(
                "CREATE MODEL ops AS SELECT * FROM (VALUES ('x')) AS t(body)",
            ))
            .await
            .unwrap();
        assert_eq!(report.version, 2);
        assert!(
            second
                .handles()
                .log_parser
                .describe()
                .contains("ops version 2")
        );
        let manifest = lake
            .store()
            .get(&lake.path("_models/ops/2/manifest.json"))
            .await
            .unwrap();
        let manifest = logparse::read_manifest(&manifest.bytes().await.unwrap()).unwrap();
        assert_eq!(manifest.query, "SELECT * FROM (VALUES ('x')) AS t(body)");
    }

    #[tokio::test]
    async fn create_model_refuses_a_query_of_the_wrong_shape() {
        let engine = crate::Engine::over(
            Lake::open("memory://models-bad").unwrap(),
            &crate::EngineConfig::default(),
        )
        .unwrap();
        let Some(Command::CreateModel(cm)) = split_commands("CREATE MODEL m AS SELECT 1, 2, 3")
            .unwrap()
            .pop()
        else {
            panic!("not recognized");
        };
        let err = engine.create_model(&cm).await.unwrap_err().to_string();
        assert!(
            err.contains("must return (body [, service]), got 3 columns"),
            "{err}"
        );
    }

    #[test]
    fn create_model_errors_say_what_is_wrong() {
        let err = |sql: &str| split_commands(sql).unwrap_err().to_string();
        assert!(
            err("CREATE MODEL m KIND fusion AS SELECT 1").contains("unknown model kind \"fusion\"")
        );
        assert!(err("CREATE MODEL m SELECT 1").contains("expected AS"));
        assert!(err("CREATE MODEL AS SELECT 1").contains("expected a model name"));
        assert!(err("CREATE MODEL m AS").contains("query after AS is empty"));
    }
}
