//! sigfuse's session settings: `SET sigfuse.<name> = '…'`, `SHOW sigfuse.<name>`, and the
//! `information_schema.df_settings` rows. The engine registers [`SigfuseOptions`] in every
//! session (with its configured defaults); functions read it from their config options.
//!
//! Written out rather than with DataFusion's `extensions_options!`, whose entries lose the
//! `sigfuse.` prefix (DataFusion 55), so that `SHOW sigfuse.text_encoder` found nothing.

use std::any::Any;

use datafusion::common::config::{ConfigEntry, ConfigExtension, ExtensionOptions};
use datafusion::common::{Result, config_err};
use sigfuse_models::device::parse_device;

/// The value of `sigfuse.text_encoder` that selects the built-in hashed encoder.
pub const BUILTIN_TEXT_ENCODER: &str = "builtin";

const TEXT_ENCODER_DOC: &str = "The encoder embed_text(body) uses: 'builtin' (hashed word \
    n-grams, 384-d, no files), a local folder, or an object-store URL of a sentence-transformers \
    folder with config.json, tokenizer.json and model.safetensors";
const DEVICE_DOC: &str = "Where models run: 'cpu', or 'cuda:N' in a build with the cuda feature";

/// Settings under the `sigfuse.` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigfuseOptions {
    /// `sigfuse.text_encoder`.
    pub text_encoder: String,
    /// `sigfuse.device`.
    pub device: String,
}

impl Default for SigfuseOptions {
    fn default() -> Self {
        Self {
            text_encoder: BUILTIN_TEXT_ENCODER.into(),
            device: "cpu".into(),
        }
    }
}

impl ConfigExtension for SigfuseOptions {
    const PREFIX: &'static str = "sigfuse";
}

impl ExtensionOptions for SigfuseOptions {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn cloned(&self) -> Box<dyn ExtensionOptions> {
        Box::new(self.clone())
    }

    /// `key` comes without the prefix. The device is checked here, so a bad one fails the
    /// `SET`; a model is loaded (and can fail) when a query first uses it.
    fn set(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "text_encoder" => {
                let value = value.trim();
                if value.is_empty() {
                    return config_err!(
                        "sigfuse.text_encoder: expected '{BUILTIN_TEXT_ENCODER}', a folder or a URL, got ''"
                    );
                }
                self.text_encoder = value.into();
            }
            "device" => {
                parse_device(value).map_err(|e| {
                    datafusion::common::DataFusionError::Configuration(format!(
                        "sigfuse.device: {e}"
                    ))
                })?;
                self.device = value.trim().to_ascii_lowercase();
            }
            other => {
                return config_err!(
                    "unknown setting 'sigfuse.{other}' (known: sigfuse.text_encoder, sigfuse.device)"
                );
            }
        }
        Ok(())
    }

    fn entries(&self) -> Vec<ConfigEntry> {
        vec![
            ConfigEntry {
                key: "sigfuse.text_encoder".into(),
                value: Some(self.text_encoder.clone()),
                description: TEXT_ENCODER_DOC,
            },
            ConfigEntry {
                key: "sigfuse.device".into(),
                value: Some(self.device.clone()),
                description: DEVICE_DOC,
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::common::config::ConfigOptions;

    #[test]
    fn settings_are_set_listed_with_their_prefix_and_checked() {
        let mut config = ConfigOptions::default();
        config.extensions.insert(SigfuseOptions::default());
        config
            .set("sigfuse.text_encoder", " /models/minilm ")
            .unwrap();
        config.set("sigfuse.device", "CPU").unwrap();
        let o = config.extensions.get::<SigfuseOptions>().unwrap();
        assert_eq!(
            (o.text_encoder.as_str(), o.device.as_str()),
            ("/models/minilm", "cpu")
        );
        let keys: Vec<String> = config.entries().into_iter().map(|e| e.key).collect();
        assert!(
            keys.contains(&"sigfuse.text_encoder".to_string()),
            "{keys:?}"
        );
        assert!(keys.contains(&"sigfuse.device".to_string()), "{keys:?}");

        let e = config
            .set("sigfuse.device", "tpu")
            .unwrap_err()
            .strip_backtrace();
        assert!(e.contains("sigfuse.device: device 'tpu'"), "{e}");
        let e = config
            .set("sigfuse.text_encodr", "x")
            .unwrap_err()
            .strip_backtrace();
        assert!(e.contains("unknown setting 'sigfuse.text_encodr'"), "{e}");
        let e = config
            .set("sigfuse.text_encoder", " ")
            .unwrap_err()
            .strip_backtrace();
        assert!(e.contains("got ''"), "{e}");
    }
}
