//! A lake: an object store plus the root path of the sigfuse layout inside it.
//!
//! `Lake::open` accepts `file://…` URLs and plain paths, `memory://[name]`, `s3://bucket/prefix`,
//! `gs://bucket/prefix` and `az://container/prefix` (also `abfs[s]://`, `azure://`). Cloud
//! stores read the usual environment (`AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`, `AWS_VIRTUAL_HOSTED_STYLE_REQUEST`; `GOOGLE_*`;
//! `AZURE_*`); explicit options (from a config file) override it. S3 uses path-style requests
//! unless virtual-hosted style is asked for, which suits S3-compatible servers.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::ObjectStoreUrl;
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreScheme};
use url::Url;

/// An opened lake root. Cheap to clone; clones share the store.
#[derive(Debug, Clone)]
pub struct Lake {
    url: Url,
    store: Arc<dyn ObjectStore>,
    root: Path,
}

fn err(location: &str, e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Configuration(format!("lake '{location}': {e}"))
}

/// Turns a user's location (URL or path) into a URL whose path ends with `/`.
pub fn location_to_url(location: &str) -> Result<Url> {
    let has_scheme = location
        .split_once("://")
        .is_some_and(|(s, _)| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()));
    let mut url = if has_scheme {
        Url::parse(location).map_err(|e| err(location, e))?
    } else {
        // `..` and `.` are resolved lexically: object_store paths refuse them.
        let absolute = std::path::absolute(location).map_err(|e| err(location, e))?;
        let mut path = std::path::PathBuf::new();
        for part in absolute.components() {
            match part {
                std::path::Component::ParentDir => {
                    path.pop();
                }
                std::path::Component::CurDir => {}
                other => path.push(other),
            }
        }
        Url::from_directory_path(&path).map_err(|()| err(location, "not an absolute local path"))?
    };
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

/// The store holding `url` and the path of `url` inside it.
pub fn store_for_url(
    url: &Url,
    options: &HashMap<String, String>,
) -> Result<(Arc<dyn ObjectStore>, Path)> {
    let location = url.as_str();
    // object_store only knows `memory:///`; any `memory://name/…` is a fresh in-memory store.
    if url.scheme() == "memory" {
        let path = Path::parse(url.path()).map_err(|e| err(location, e))?;
        return Ok((Arc::new(InMemory::new()), path));
    }
    let (scheme, path) = ObjectStoreScheme::parse(url).map_err(|e| err(location, e))?;
    let path = Path::parse(path).map_err(|e| err(location, e))?;
    macro_rules! cloud {
        ($builder:expr) => {{
            let mut b = $builder.with_url(location);
            for (k, v) in options {
                if let Ok(key) = k.to_ascii_lowercase().parse() {
                    b = b.with_config(key, v);
                }
            }
            Arc::new(b.build().map_err(|e| err(location, e))?) as Arc<dyn ObjectStore>
        }};
    }
    let store: Arc<dyn ObjectStore> = match scheme {
        ObjectStoreScheme::Local => Arc::new(LocalFileSystem::new()),
        ObjectStoreScheme::Memory => Arc::new(InMemory::new()),
        ObjectStoreScheme::AmazonS3 => cloud!(AmazonS3Builder::from_env()),
        ObjectStoreScheme::GoogleCloudStorage => cloud!(GoogleCloudStorageBuilder::from_env()),
        ObjectStoreScheme::MicrosoftAzure => cloud!(MicrosoftAzureBuilder::from_env()),
        other => {
            return Err(err(
                location,
                format!(
                    "unsupported scheme {other:?}; use a path, file://, memory://, s3://, gs:// or az://"
                ),
            ));
        }
    };
    Ok((store, path))
}

/// Turns a user's location (URL or path) of a single object into a URL.
pub fn object_url(location: &str) -> Result<Url> {
    let mut url = location_to_url(location)?;
    if location.ends_with('/') {
        return Ok(url);
    }
    let trimmed = url.path().trim_end_matches('/').to_string();
    url.set_path(&trimmed);
    Ok(url)
}

impl Lake {
    /// Opens a lake with options from the environment only.
    pub fn open(location: &str) -> Result<Self> {
        Self::open_with_options(location, &HashMap::new())
    }

    /// Opens a lake; `options` are object_store configuration keys (`aws_endpoint`,
    /// `aws_allow_http`, `google_service_account`, …) that override the environment.
    pub fn open_with_options(location: &str, options: &HashMap<String, String>) -> Result<Self> {
        let url = location_to_url(location)?;
        let (store, root) = store_for_url(&url, options)?;
        Ok(Self { url, store, root })
    }

    /// The root URL, ending in `/`.
    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The URL that identifies this store in a DataFusion object-store registry
    /// (`scheme://authority`).
    pub fn object_store_url(&self) -> ObjectStoreUrl {
        let base = &self.url[..url::Position::BeforePath];
        // A bare "memory:" or "file:" has no authority; DataFusion expects "scheme://".
        let base = if base.ends_with(':') {
            format!("{base}//")
        } else {
            base.to_string()
        };
        ObjectStoreUrl::parse(base).expect("scheme://authority is a valid object store URL")
    }

    /// The store path of `rel` (slash-separated, relative to the root).
    pub fn path(&self, rel: &str) -> Path {
        let mut p = self.root.clone();
        for part in rel.split('/').filter(|s| !s.is_empty()) {
            p = p.clone().join(part);
        }
        p
    }

    /// The full URL of `rel` under the root (a directory when `rel` ends with `/`).
    pub fn url_of(&self, rel: &str) -> Url {
        self.url
            .join(rel)
            .expect("relative lake paths are valid URL references")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_become_file_urls_with_trailing_slash() {
        let url = location_to_url("/tmp/lake").unwrap();
        assert_eq!(url.as_str(), "file:///tmp/lake/");
        let rel = location_to_url("rel/dir").unwrap();
        assert!(rel.as_str().starts_with("file:///") && rel.as_str().ends_with("rel/dir/"));
        // `..` and `.` are resolved (object_store paths refuse them).
        let up = location_to_url("/tmp/a/../b/./c").unwrap();
        assert_eq!(up.as_str(), "file:///tmp/b/c/");
        assert!(Lake::open("../lake").is_ok());
    }

    #[test]
    fn memory_and_s3_urls_keep_their_scheme() {
        let lake = Lake::open("memory://demo").unwrap();
        assert_eq!(lake.object_store_url().as_str(), "memory://demo/");
        assert_eq!(lake.path("logs/x.parquet").as_ref(), "logs/x.parquet");
        let s3 = Lake::open_with_options(
            "s3://bucket/some/prefix",
            &HashMap::from([("aws_region".to_string(), "us-east-1".to_string())]),
        )
        .unwrap();
        assert_eq!(s3.object_store_url().as_str(), "s3://bucket/");
        assert_eq!(s3.path("logs/a").as_ref(), "some/prefix/logs/a");
        assert_eq!(s3.url_of("logs/").as_str(), "s3://bucket/some/prefix/logs/");
    }

    #[test]
    fn unknown_scheme_is_a_clear_error() {
        let e = Lake::open("ftp://host/x").unwrap_err().to_string();
        assert!(e.contains("ftp://host/x"), "{e}");
    }
}
