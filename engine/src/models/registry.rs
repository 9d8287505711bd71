//! The models in the lake: `<lake>/_models/<name>/<version>/manifest.json` (what the model
//! is: kind, version, creation time and creator, training query, the files it read, options,
//! training metrics) beside `state.json` (the model itself, bytes from `sigfuse-models`), and
//! `_models/<name>/active.json` (the version in use, set by `ALTER MODEL … SET VERSION`; the
//! newest version when absent). Versions count from 1 per name. The state is written before
//! the manifest, and a version without a manifest is ignored, so a reader never sees half a
//! model. [`ModelsTable`] shows them all as `sigfuse.models`.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{BooleanArray, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DataFusionError, Result, exec_err, plan_err};
use datafusion::datasource::TableType;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::logical_expr::Expr;
use datafusion::object_store::path::Path;
use datafusion::object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use datafusion::physical_plan::ExecutionPlan;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use sigfuse_storage::Lake;

/// Folder of all models under the lake root.
pub const MODELS_DIR: &str = "_models";

/// What a model version is; `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub kind: String,
    pub name: String,
    pub version: u64,
    /// RFC 3339.
    pub created_at: String,
    /// Who ran `CREATE MODEL` (the database user over the wire, the OS user from the CLI).
    #[serde(default)]
    pub creator: String,
    /// The training query, as written.
    pub query: String,
    /// The files the training query read, with their sizes and ETags.
    #[serde(default)]
    pub data: Vec<DataFile>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Training metrics (rows, windows, templates, …), by kind.
    #[serde(default)]
    pub metrics: serde_json::Value,
}

/// One file a training query read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataFile {
    pub path: String,
    pub size: u64,
    #[serde(default)]
    pub e_tag: Option<String>,
}

pub(crate) fn store_err(e: datafusion::object_store::Error) -> DataFusionError {
    DataFusionError::ObjectStore(Box::new(e))
}

fn json_err(e: serde_json::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

async fn read(store: &Arc<dyn ObjectStore>, path: &Path) -> Result<Option<Vec<u8>>> {
    match store.get(path).await {
        Ok(r) => Ok(Some(r.bytes().await.map_err(store_err)?.to_vec())),
        Err(datafusion::object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(store_err(e)),
    }
}

fn file(lake: &Lake, name: &str, rest: &str) -> Path {
    lake.path(&format!("{MODELS_DIR}/{name}/{rest}"))
}

/// The model names in the lake.
pub async fn names(lake: &Lake) -> Result<Vec<String>> {
    let listing = lake
        .store()
        .list_with_delimiter(Some(&lake.path(MODELS_DIR)))
        .await
        .map_err(store_err)?;
    let mut out: Vec<String> = listing
        .common_prefixes
        .iter()
        .filter_map(|p| p.filename().map(str::to_string))
        .collect();
    out.sort();
    Ok(out)
}

/// The manifests of model `name`'s versions, by ascending version (a version without a
/// manifest is skipped: half written).
async fn manifests(lake: &Lake, name: &str) -> Result<Vec<Manifest>> {
    let listing = lake
        .store()
        .list_with_delimiter(Some(&lake.path(&format!("{MODELS_DIR}/{name}"))))
        .await
        .map_err(store_err)?;
    let mut versions: Vec<u64> = listing
        .common_prefixes
        .iter()
        .filter_map(|p| p.filename().and_then(|f| f.parse::<u64>().ok()))
        .collect();
    versions.sort_unstable();
    let mut out = Vec::new();
    for v in versions {
        if let Some(m) = read_manifest(lake, name, v).await? {
            out.push(m);
        }
    }
    Ok(out)
}

/// The versions of model `name` that have a manifest, ascending.
pub async fn versions(lake: &Lake, name: &str) -> Result<Vec<u64>> {
    Ok(manifests(lake, name)
        .await?
        .iter()
        .map(|m| m.version)
        .collect())
}

pub async fn read_manifest(lake: &Lake, name: &str, version: u64) -> Result<Option<Manifest>> {
    let Some(bytes) = read(
        lake.store(),
        &file(lake, name, &format!("{version}/manifest.json")),
    )
    .await?
    else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        DataFusionError::Execution(format!(
            "model {name} version {version}: manifest.json: {e}"
        ))
    })
}

/// The saved state of a version.
pub async fn read_state(lake: &Lake, name: &str, version: u64) -> Result<Vec<u8>> {
    match read(
        lake.store(),
        &file(lake, name, &format!("{version}/state.json")),
    )
    .await?
    {
        Some(b) => Ok(b),
        None => exec_err!("model {name} version {version}: manifest without state.json"),
    }
}

#[derive(Serialize, Deserialize)]
struct Active {
    version: u64,
}

/// The version in use among `versions` (ascending): the one `ALTER MODEL … SET VERSION`
/// chose, else the newest; `None` when there is none.
async fn active_of(lake: &Lake, name: &str, versions: &[u64]) -> Result<Option<u64>> {
    if let Some(bytes) = read(lake.store(), &file(lake, name, "active.json")).await?
        && let Ok(a) = serde_json::from_slice::<Active>(&bytes)
        && versions.contains(&a.version)
    {
        return Ok(Some(a.version));
    }
    Ok(versions.last().copied())
}

/// The version the next `CREATE MODEL name` writes.
pub async fn next_version(lake: &Lake, name: &str) -> Result<u64> {
    // Count versions with or without a manifest: a crashed write never gets reused.
    let listing = lake
        .store()
        .list_with_delimiter(Some(&lake.path(&format!("{MODELS_DIR}/{name}"))))
        .await
        .map_err(store_err)?;
    Ok(listing
        .common_prefixes
        .iter()
        .filter_map(|p| p.filename().and_then(|f| f.parse::<u64>().ok()))
        .max()
        .map_or(1, |v| v + 1))
}

/// Writes a new version (state, then manifest) and makes it the active one.
pub async fn write(lake: &Lake, manifest: &Manifest, state: Vec<u8>) -> Result<()> {
    let (name, v) = (&manifest.name, manifest.version);
    let store = lake.store();
    store
        .put(
            &file(lake, name, &format!("{v}/state.json")),
            PutPayload::from(state),
        )
        .await
        .map_err(store_err)?;
    let bytes = serde_json::to_vec_pretty(manifest).map_err(json_err)?;
    store
        .put(
            &file(lake, name, &format!("{v}/manifest.json")),
            PutPayload::from(bytes),
        )
        .await
        .map_err(store_err)?;
    set_active(lake, name, v).await
}

/// `ALTER MODEL name SET VERSION n`.
pub async fn set_active(lake: &Lake, name: &str, version: u64) -> Result<()> {
    let all = versions(lake, name).await?;
    if all.is_empty() {
        return plan_err!("model '{name}' does not exist (SHOW MODELS lists the models)");
    }
    if !all.contains(&version) {
        return plan_err!(
            "model '{name}' has no version {version} (versions: {})",
            all.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let bytes = serde_json::to_vec(&Active { version }).map_err(json_err)?;
    lake.store()
        .put(&file(lake, name, "active.json"), PutPayload::from(bytes))
        .await
        .map_err(store_err)?;
    Ok(())
}

/// `DROP MODEL name`: deletes every version; false when there was no such model.
pub async fn drop_model(lake: &Lake, name: &str) -> Result<bool> {
    let prefix = lake.path(&format!("{MODELS_DIR}/{name}"));
    let store = lake.store();
    let objects: Vec<_> = store
        .list(Some(&prefix))
        .try_collect()
        .await
        .map_err(store_err)?;
    for o in &objects {
        store.delete(&o.location).await.map_err(store_err)?;
    }
    Ok(!objects.is_empty())
}

/// Every version of every model, with whether it is the active one.
pub async fn list(lake: &Lake) -> Result<Vec<(Manifest, bool)>> {
    let mut out = Vec::new();
    for name in names(lake).await? {
        let all = manifests(lake, &name).await?;
        let versions: Vec<u64> = all.iter().map(|m| m.version).collect();
        let active = active_of(lake, &name, &versions).await?;
        out.extend(all.into_iter().map(|m| {
            let is_active = Some(m.version) == active;
            (m, is_active)
        }));
    }
    Ok(out)
}

/// The active version's manifest of every model.
pub async fn active(lake: &Lake) -> Result<Vec<Manifest>> {
    Ok(list(lake)
        .await?
        .into_iter()
        .filter_map(|(m, active)| active.then_some(m))
        .collect())
}

/// `sigfuse.models`: one row per model version, read from the lake when scanned.
#[derive(Debug)]
pub struct ModelsTable {
    lake: Lake,
}

impl ModelsTable {
    pub fn new(lake: Lake) -> Self {
        Self { lake }
    }
}

fn models_schema() -> SchemaRef {
    let text = |n: &str, null: bool| Field::new(n, DataType::Utf8, null);
    Arc::new(Schema::new(vec![
        text("name", false),
        Field::new("version", DataType::UInt64, false),
        Field::new("active", DataType::Boolean, false),
        text("kind", false),
        text("created_at", false),
        text("creator", false),
        text("query", false),
        text("options", false),
        text("metrics", false),
        text("data", false),
    ]))
}

#[async_trait]
impl TableProvider for ModelsTable {
    fn schema(&self) -> SchemaRef {
        models_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let rows = list(&self.lake).await?;
        let text = |f: &dyn Fn(&Manifest) -> String| -> Arc<StringArray> {
            Arc::new(rows.iter().map(|(m, _)| Some(f(m))).collect())
        };
        fn json(v: &impl Serialize) -> String {
            serde_json::to_string(v).unwrap_or_default()
        }
        let batch = RecordBatch::try_new(
            models_schema(),
            vec![
                text(&|m| m.name.clone()),
                Arc::new(rows.iter().map(|(m, _)| m.version).collect::<UInt64Array>()),
                Arc::new(rows.iter().map(|(_, a)| Some(*a)).collect::<BooleanArray>()),
                text(&|m| m.kind.clone()),
                text(&|m| m.created_at.clone()),
                text(&|m| m.creator.clone()),
                text(&|m| m.query.clone()),
                text(&|m| json(&m.options)),
                text(&|m| json(&m.metrics)),
                text(&|m| json(&m.data)),
            ],
        )?;
        Ok(MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            models_schema(),
            projection.cloned(),
        )?)
    }
}
