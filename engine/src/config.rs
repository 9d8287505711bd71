//! The configuration file (`sigfuse.toml`, or `--config FILE`):
//!
//! ```toml
//! lake = "s3://telemetry/prod"          # the lake root (a command-line --lake wins)
//! memory_limit_mb = 4096               # memory the query engine may use (default: unlimited)
//! text_encoder = "/models/minilm"      # embed_text's default model (default: "builtin")
//! device = "cpu"                       # where models run: "cpu" or "cuda:N"
//!
//! [storage]                            # object_store keys; they override the environment
//! aws_endpoint = "http://127.0.0.1:9000"
//! aws_region = "us-east-1"
//! aws_access_key_id = "…"
//! aws_secret_access_key = "…"
//! aws_allow_http = "true"
//! aws_virtual_hosted_style_request = "false"
//! ```
//!
//! Unknown keys are an error that names them, so a misspelt setting is not silently ignored.

use std::collections::HashMap;
use std::path::Path;

use datafusion::common::{DataFusionError, Result};
use serde::Deserialize;

use crate::EngineConfig;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    lake: Option<String>,
    memory_limit_mb: Option<usize>,
    text_encoder: Option<String>,
    device: Option<String>,
    #[serde(default)]
    storage: HashMap<String, toml::Value>,
}

impl EngineConfig {
    /// Reads a configuration file; `lake` stays empty when the file names none.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            DataFusionError::Configuration(format!(
                "cannot read config file {}: {e}",
                path.display()
            ))
        })?;
        Self::from_toml(&text).map_err(|e| {
            DataFusionError::Configuration(format!("config file {}: {e}", path.display()))
        })
    }

    /// Parses the configuration text.
    pub fn from_toml(text: &str) -> std::result::Result<Self, String> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let storage_options = file
            .storage
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    toml::Value::String(s) => s,
                    toml::Value::Boolean(b) => b.to_string(),
                    toml::Value::Integer(i) => i.to_string(),
                    other => {
                        return Err(format!(
                            "[storage] {k}: expected a string, got {}",
                            other.type_str()
                        ));
                    }
                };
                Ok((k, v))
            })
            .collect::<std::result::Result<_, String>>()?;
        Ok(Self {
            lake: file.lake.unwrap_or_default(),
            storage_options,
            memory_limit: file.memory_limit_mb.map(|mb| mb << 20),
            text_encoder: file.text_encoder,
            device: file.device,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_keys_and_lake_are_read_and_typos_are_errors() {
        let c = EngineConfig::from_toml(
            "lake = \"s3://b/p\"\nmemory_limit_mb = 2\n[storage]\naws_allow_http = true\naws_region = \"eu-west-1\"\n",
        )
        .unwrap();
        assert_eq!(c.lake, "s3://b/p");
        assert_eq!(c.memory_limit, Some(2 << 20));
        assert_eq!(c.storage_options["aws_allow_http"], "true");
        assert_eq!(c.storage_options["aws_region"], "eu-west-1");
        let c = EngineConfig::from_toml("text_encoder = \"/models/minilm\"\ndevice = \"cpu\"\n")
            .unwrap();
        assert_eq!(c.text_encoder.as_deref(), Some("/models/minilm"));
        assert_eq!(c.device.as_deref(), Some("cpu"));
        let e = EngineConfig::from_toml("lak = \"x\"").unwrap_err();
        assert!(e.contains("lak"), "{e}");
    }
}
