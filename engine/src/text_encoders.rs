//! [`EngineTextEncoders`]: the engine's [`TextEncoderSource`]. It reads model folders from a
//! local path or from an object store registered in the session's runtime (the lake's store,
//! so `s3://bucket/_models/minilm` works when the lake is in `s3://bucket`), loads each
//! `(model, device)` once, and keeps it with its embedding cache for every session.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use datafusion::common::{DataFusionError, Result, plan_datafusion_err, plan_err};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::RuntimeEnv;
use object_store::{ObjectStore, ObjectStoreExt};
use sigfuse_models::device::{device_name, parse_device};
use sigfuse_models::text::{HashedEncoder, ModelFiles, SentenceEncoder, TextEmbedder, TextEncoder};
use sigfuse_udfs::handles::TextEncoderSource;
use sigfuse_udfs::settings::BUILTIN_TEXT_ENCODER;
use url::Url;

/// Loads text encoders for `embed_text` (see the module documentation).
#[derive(Debug)]
pub struct EngineTextEncoders {
    runtime: Arc<RuntimeEnv>,
    cache_entries: usize,
    loaded: Mutex<HashMap<(String, String), Arc<TextEmbedder>>>,
}

impl EngineTextEncoders {
    /// Encoders whose embedding caches hold `cache_entries` each; object-store URLs resolve
    /// through `runtime`'s registry.
    pub fn new(runtime: Arc<RuntimeEnv>, cache_entries: usize) -> Self {
        Self {
            runtime,
            cache_entries,
            loaded: Mutex::default(),
        }
    }

    fn load(&self, spec: &str, device: &str) -> Result<TextEncoder> {
        let device =
            parse_device(device).map_err(|e| plan_datafusion_err!("sigfuse.device: {e}"))?;
        let files = match object_store_location(spec) {
            Some(url) => self.fetch(spec, &url)?,
            None => {
                let dir = local_dir(spec);
                if !dir.is_dir() {
                    return plan_err!(
                        "text encoder '{spec}': not '{BUILTIN_TEXT_ENCODER}', and no folder {} \
                         exists (a sentence-transformers folder with config.json, \
                         tokenizer.json and model.safetensors; scripts/fetch-text-encoder.sh \
                         makes one)",
                        dir.display()
                    );
                }
                ModelFiles::read_dir(&dir).map_err(external)?
            }
        };
        let encoder = SentenceEncoder::load(&files, &device).map_err(external)?;
        Ok(TextEncoder::Bert(Box::new(encoder)))
    }

    /// Reads the model files under `url` from the store the runtime has for it.
    fn fetch(&self, spec: &str, url: &Url) -> Result<ModelFiles> {
        let store_url = ObjectStoreUrl::parse(&url[..url::Position::BeforePath])?;
        let store = self.runtime.object_store(&store_url).map_err(|e| {
            plan_datafusion_err!(
                "text encoder '{spec}': no object store for {}: {}",
                store_url.as_str(),
                e.strip_backtrace()
            )
        })?;
        let prefix = url.path().trim_matches('/').to_string();
        // Functions and planning are synchronous, object stores are not: fetch on a thread with
        // its own small runtime, so this works from inside or outside a tokio runtime.
        let fetched = std::thread::scope(|s| {
            s.spawn(|| -> std::io::Result<HashMap<&'static str, Vec<u8>>> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(fetch_all(store.as_ref(), &prefix))
            })
            .join()
        });
        let mut fetched = match fetched {
            Ok(Ok(files)) => files,
            Ok(Err(e)) => {
                return plan_err!("text encoder '{spec}': {e}");
            }
            Err(_) => return plan_err!("text encoder '{spec}': the fetch thread panicked"),
        };
        ModelFiles::from_lookup(spec, |file| Ok(fetched.remove(file))).map_err(external)
    }
}

async fn fetch_all(
    store: &dyn ObjectStore,
    prefix: &str,
) -> std::io::Result<HashMap<&'static str, Vec<u8>>> {
    let mut files = HashMap::new();
    for file in ModelFiles::REQUIRED.into_iter().chain(ModelFiles::OPTIONAL) {
        let path = object_store::path::Path::from(format!("{prefix}/{file}"));
        match store.get(&path).await {
            Ok(got) => {
                let bytes = got.bytes().await.map_err(std::io::Error::other)?;
                files.insert(file, bytes.to_vec());
            }
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(std::io::Error::other(format!("{file}: {e}"))),
        }
    }
    Ok(files)
}

/// The URL of a spec that names an object store (`s3://`, `gs://`, `az://`, `memory://`, …);
/// `None` for paths and `file://` URLs, which are read directly.
fn object_store_location(spec: &str) -> Option<Url> {
    let url = Url::parse(spec).ok()?;
    // A one-letter scheme is a Windows drive (`C:\models`), not a URL.
    (url.scheme().len() > 1 && url.scheme() != "file").then_some(url)
}

fn local_dir(spec: &str) -> PathBuf {
    match Url::parse(spec) {
        Ok(url) if url.scheme() == "file" => url
            .to_file_path()
            .unwrap_or_else(|()| PathBuf::from(url.path())),
        _ => Path::new(spec).to_path_buf(),
    }
}

fn external(e: sigfuse_models::ModelError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

impl TextEncoderSource for EngineTextEncoders {
    fn text_encoder(&self, spec: &str, device: &str) -> Result<Arc<TextEmbedder>> {
        let spec = spec.trim();
        let builtin = spec.eq_ignore_ascii_case(BUILTIN_TEXT_ENCODER);
        // The built-in encoder runs in plain Rust wherever it is asked for.
        let key = if builtin {
            (BUILTIN_TEXT_ENCODER.to_string(), String::new())
        } else {
            let device =
                parse_device(device).map_err(|e| plan_datafusion_err!("sigfuse.device: {e}"))?;
            (spec.to_string(), device_name(&device))
        };
        // Loading under the lock: two sessions asking for the same new model load it once.
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = loaded.get(&key) {
            return Ok(Arc::clone(e));
        }
        let encoder = if builtin {
            TextEncoder::Hashed(HashedEncoder)
        } else {
            self.load(spec, device)?
        };
        let embedder = Arc::new(TextEmbedder::new(encoder, self.cache_entries));
        loaded.insert(key, Arc::clone(&embedder));
        Ok(embedder)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Float32Type;
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use sigfuse_models::text::testing::{TINY_DIM, tiny_bert_files};

    use crate::{Engine, EngineConfig};

    fn engine(lake: &str) -> Engine {
        Engine::open(&EngineConfig {
            lake: lake.into(),
            ..Default::default()
        })
        .unwrap()
    }

    async fn text(engine: &Engine, sql: &str) -> String {
        let batches = engine
            .ctx()
            .sql(sql)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        pretty_format_batches(&batches).unwrap().to_string()
    }

    async fn error(engine: &Engine, sql: &str) -> String {
        match engine.ctx().sql(sql).await {
            Ok(df) => df.collect().await.unwrap_err().strip_backtrace(),
            Err(e) => e.strip_backtrace(),
        }
    }

    /// The first row's vector of a one-column query.
    async fn vector(engine: &Engine, sql: &str) -> Vec<f32> {
        let batches = engine
            .ctx()
            .sql(sql)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let list = batches[0].column(0).as_fixed_size_list();
        list.value(0)
            .as_primitive::<Float32Type>()
            .values()
            .to_vec()
    }

    fn write_tiny(dir: &std::path::Path) {
        let files = tiny_bert_files(None);
        std::fs::write(dir.join("config.json"), &files.config).unwrap();
        std::fs::write(dir.join("tokenizer.json"), &files.tokenizer).unwrap();
        std::fs::write(dir.join("model.safetensors"), &files.weights).unwrap();
    }

    #[tokio::test]
    async fn set_selects_a_folder_and_show_tells_which_encoder_is_active() {
        let e = engine("memory://t");
        assert!(
            text(&e, "SHOW sigfuse.text_encoder")
                .await
                .contains("builtin")
        );
        let typ = text(&e, "SELECT arrow_typeof(embed_text('x')) AS t").await;
        assert!(
            typ.contains("FixedSizeList(384 x non-null Float32)"),
            "{typ}"
        );

        let dir = tempfile::tempdir().unwrap();
        write_tiny(dir.path());
        let path = dir.path().display().to_string();
        e.ctx()
            .sql(&format!("SET sigfuse.text_encoder = '{path}'"))
            .await
            .unwrap();
        assert!(text(&e, "SHOW sigfuse.text_encoder").await.contains(&path));
        let typ = text(&e, "SELECT arrow_typeof(embed_text('x')) AS t").await;
        assert!(
            typ.contains(&format!("FixedSizeList({TINY_DIM} x")),
            "{typ}"
        );
        // The explicit argument wins over the setting; file:// URLs are folders too.
        let v = vector(&e, "SELECT embed_text('disk full', 'builtin')").await;
        assert_eq!(v.len(), 384);
        let v = vector(
            &e,
            &format!("SELECT embed_text('disk full', 'file://{path}')"),
        )
        .await;
        assert_eq!(v, vector(&e, "SELECT embed_text('disk full')").await);

        let rows = text(
            &e,
            "SELECT embed_text(b) IS NULL AS n FROM (VALUES ('a'), (NULL), ('')) AS t(b)",
        )
        .await;
        assert_eq!(rows.matches("true").count(), 1, "{rows}");
    }

    #[tokio::test]
    async fn models_load_from_the_lakes_object_store_once_for_all_sessions() {
        use object_store::ObjectStoreExt;
        let e = engine("memory://lake");
        let files = tiny_bert_files(None);
        for (name, bytes) in [
            ("config.json", files.config),
            ("tokenizer.json", files.tokenizer),
            ("model.safetensors", files.weights),
        ] {
            let path = e.lake().path(&format!("_models/tiny/{name}"));
            e.lake().store().put(&path, bytes.into()).await.unwrap();
        }
        let url = e.lake().url().join("_models/tiny").unwrap();
        let sql = format!("SELECT embed_text('user logged in', '{url}')");
        let first = vector(&e, &sql).await;
        assert_eq!(first.len(), TINY_DIM);
        // A second session over the same engine state gets the same loaded model.
        let other = datafusion::prelude::SessionContext::new_with_state(e.ctx().state());
        let batches = other.sql(&sql).await.unwrap().collect().await.unwrap();
        let list = batches[0].column(0).as_fixed_size_list();
        assert_eq!(
            list.value(0)
                .as_primitive::<Float32Type>()
                .values()
                .to_vec(),
            first
        );

        let msg = error(&e, "SELECT embed_text('x', 'memory://lake/_models/none')").await;
        assert!(msg.contains("has no config.json"), "{msg}");
    }

    #[tokio::test]
    async fn unknown_models_and_devices_are_clear_errors() {
        let e = engine("memory://u");
        let msg = error(&e, "SELECT embed_text('x', 'no-such-model')").await;
        assert!(
            msg.contains("embed_text: model 'no-such-model'") && msg.contains("no folder"),
            "{msg}"
        );
        let msg = error(&e, "SELECT embed_text('x', 's3://nobucket/m')").await;
        assert!(msg.contains("no object store for s3://nobucket"), "{msg}");
        let msg = error(&e, "SELECT embed_text(b, b) FROM (VALUES ('a')) AS t(b)").await;
        assert!(msg.contains("must be a text literal"), "{msg}");

        e.ctx()
            .sql("SET sigfuse.text_encoder = '/no/such/dir'")
            .await
            .unwrap();
        let msg = error(&e, "SELECT embed_text('x')").await;
        assert!(msg.contains("sigfuse.text_encoder '/no/such/dir'"), "{msg}");
        // A device this build cannot use fails the SET itself, and the engine's start.
        let msg = error(&e, "SET sigfuse.device = 'tpu'").await;
        assert!(msg.contains("sigfuse.device: device 'tpu'"), "{msg}");
        let msg = Engine::open(&EngineConfig {
            lake: "memory://d".into(),
            device: Some("gpu".into()),
            ..Default::default()
        })
        .err()
        .map(|e| e.strip_backtrace());
        assert!(
            msg.as_ref().is_some_and(|m| m.contains("device 'gpu'")),
            "{msg:?}"
        );
    }

    /// The real all-MiniLM-L6-v2 through SQL (`scripts/test` fetches it and sets the variable).
    #[tokio::test]
    async fn minilm_through_sql_matches_sentence_transformers() {
        let Ok(dir) = std::env::var("SIGFUSE_TEST_TEXT_ENCODER") else {
            eprintln!("SKIPPED real-weights SQL test: SIGFUSE_TEST_TEXT_ENCODER is not set");
            return;
        };
        let e = engine("memory://m");
        e.ctx()
            .sql(&format!("SET sigfuse.text_encoder = '{dir}'"))
            .await
            .unwrap();
        let v = vector(&e, "SELECT embed_text('This is an example sentence')").await;
        let want = [0.06766, 0.06350, 0.04871, 0.07930, 0.03745];
        for (i, (got, want)) in v.iter().zip(want).enumerate() {
            assert!((got - want).abs() < 1e-4, "dimension {i}: {got} vs {want}");
        }
    }
}
