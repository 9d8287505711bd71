//! Where ingest reads from: a file or folder given as a path or an object-store URL.
//!
//! Adapters parse on a blocking thread, so a source hands out a synchronous `Read`: a plain file
//! for local paths, and a bridge over the object store's byte stream otherwise.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use datafusion::common::{DataFusionError, Result};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};
use tokio_util::io::{StreamReader, SyncIoBridge};
use url::Url;

use crate::lake::{object_url, store_for_url};

/// One object to read.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// As shown to users: the path or URL given, or the file under a given folder.
    pub name: String,
    pub store: Arc<dyn ObjectStore>,
    pub path: Path,
    pub size: u64,
    /// Set for files on the local file system, which are read without the async bridge.
    pub local: Option<std::path::PathBuf>,
}

fn unreadable(name: &str, e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("cannot read source '{name}': {e}"))
}

fn local_path(url: &Url) -> Option<std::path::PathBuf> {
    (url.scheme() == "file")
        .then(|| url.to_file_path().ok())
        .flatten()
}

impl SourceFile {
    /// Opens one file; a missing or unreadable file is an error that names it.
    pub async fn open(location: &str) -> Result<Self> {
        let url = object_url(location)?;
        let (store, path) = store_for_url(&url, &HashMap::new())?;
        let meta = store
            .head(&path)
            .await
            .map_err(|e| unreadable(location, e))?;
        Ok(Self {
            name: location.to_string(),
            store,
            path,
            size: meta.size,
            local: local_path(&url),
        })
    }

    /// Lists every file under a folder, sorted by path, with names relative to the folder.
    pub async fn list_folder(location: &str) -> Result<Vec<Self>> {
        let mut dir = location.to_string();
        if !dir.ends_with('/') {
            dir.push('/');
        }
        let url = object_url(&dir)?;
        let (store, prefix) = store_for_url(&url, &HashMap::new())?;
        let local_root = local_path(&url);
        let mut metas: Vec<_> = store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| unreadable(location, e))?;
        if metas.is_empty() {
            return Err(unreadable(location, "no files in this folder"));
        }
        metas.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(metas
            .into_iter()
            .map(|m| {
                let rel = m
                    .location
                    .prefix_match(&prefix)
                    .map(|parts| {
                        parts
                            .map(|p| p.as_ref().to_string())
                            .collect::<Vec<_>>()
                            .join("/")
                    })
                    .unwrap_or_else(|| m.location.to_string());
                Self {
                    name: format!("{dir}{rel}"),
                    store: Arc::clone(&store),
                    local: local_root.as_ref().map(|r| r.join(&rel)),
                    path: m.location,
                    size: m.size,
                }
            })
            .collect())
    }

    /// A blocking reader over the whole object. Call it on a blocking thread only.
    pub fn reader(&self, runtime: &tokio::runtime::Handle) -> Result<Box<dyn Read + Send>> {
        if let Some(p) = &self.local {
            let f = std::fs::File::open(p).map_err(|e| unreadable(&self.name, e))?;
            return Ok(Box::new(f));
        }
        let store = Arc::clone(&self.store);
        let path = self.path.clone();
        let name = self.name.clone();
        let result = runtime
            .block_on(async move { store.get(&path).await })
            .map_err(|e| unreadable(&name, e))?;
        let stream = result
            .into_stream()
            .map(|r| r.map_err(std::io::Error::other))
            .boxed();
        Ok(Box::new(SyncIoBridge::new_with_handle(
            StreamReader::new(stream),
            runtime.clone(),
        )))
    }

    /// A fingerprint of the content: the size plus a hash of the first and last MiB. It names
    /// the files an ingest writes, so ingesting the same content again replaces them.
    pub async fn fingerprint(&self, hasher: &mut Sha256) -> Result<()> {
        const EDGE: u64 = 1 << 20;
        hasher.update(self.size.to_le_bytes());
        let head = 0..self.size.min(EDGE);
        let tail = self.size.saturating_sub(EDGE).max(head.end)..self.size;
        for range in [head, tail] {
            if range.is_empty() {
                continue;
            }
            let bytes = self
                .store
                .get_range(&self.path, range)
                .await
                .map_err(|e| unreadable(&self.name, e))?;
            hasher.update(&bytes);
        }
        Ok(())
    }
}
