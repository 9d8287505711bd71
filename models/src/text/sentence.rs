//! A sentence encoder as sentence-transformers runs one: WordPiece tokens (truncated), the BERT
//! stack, the mean of the hidden vectors of the real tokens, L2 normalization.
//!
//! Loaded from the files of a sentence-transformers folder ([`ModelFiles`]), given as bytes so
//! that the engine can fetch them from an object store; [`ModelFiles::read_dir`] reads a local
//! folder. Nothing is memory-mapped (the crate denies `unsafe`): all-MiniLM-L6-v2 is 90 MB.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use serde::Deserialize;
use tokenizers::{Encoding, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use super::bert::{BertConfig, BertModel};
use crate::device::device_name;
use crate::error::{ModelError, Result};

/// The sequence length sentence-transformers uses when a folder does not say
/// (`sentence_bert_config.json` `max_seq_length`).
pub const DEFAULT_MAX_SEQ_LENGTH: usize = 256;

/// Texts per forward pass. On CPU batching barely helps (INFRA.md), but texts are sorted by
/// length before batching, so padding stays small; on a GPU it is what keeps the device busy.
pub const BATCH_SIZE: usize = 32;

/// The files of a sentence-transformers model folder, as bytes.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// Where the files came from (a path or URL), for messages and `SHOW`.
    pub source: String,
    /// `config.json` (Hugging Face BERT config).
    pub config: Vec<u8>,
    /// `tokenizer.json` (Hugging Face tokenizers format).
    pub tokenizer: Vec<u8>,
    /// `model.safetensors`.
    pub weights: Vec<u8>,
    /// `sentence_bert_config.json`, optional: its `max_seq_length` wins over the default 256.
    pub sentence_config: Option<Vec<u8>>,
    /// `1_Pooling/config.json`, optional: refused unless it asks for mean pooling.
    pub pooling_config: Option<Vec<u8>>,
}

impl ModelFiles {
    /// The required files, relative to the folder.
    pub const REQUIRED: [&'static str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];
    /// The optional files, relative to the folder.
    pub const OPTIONAL: [&'static str; 2] = ["sentence_bert_config.json", "1_Pooling/config.json"];

    /// Builds the set from a lookup `file name → bytes` (`None`: the file does not exist).
    pub fn from_lookup(
        source: &str,
        mut read: impl FnMut(&str) -> std::io::Result<Option<Vec<u8>>>,
    ) -> Result<Self> {
        let mut required = |file: &str| -> Result<Vec<u8>> {
            match read(file) {
                Ok(Some(bytes)) => Ok(bytes),
                Ok(None) => Err(ModelError::Format {
                    model: source.to_string(),
                    file: "folder",
                    detail: format!(
                        "has no {file} (a sentence-transformers folder holds {})",
                        Self::REQUIRED.join(", ")
                    ),
                }),
                Err(e) => Err(ModelError::Io {
                    model: source.to_string(),
                    file: file.to_string(),
                    source: e,
                }),
            }
        };
        let config = required("config.json")?;
        let tokenizer = required("tokenizer.json")?;
        let weights = required("model.safetensors")?;
        let mut optional = |file: &str| -> Result<Option<Vec<u8>>> {
            read(file).map_err(|e| ModelError::Io {
                model: source.to_string(),
                file: file.to_string(),
                source: e,
            })
        };
        Ok(Self {
            source: source.to_string(),
            config,
            tokenizer,
            weights,
            sentence_config: optional("sentence_bert_config.json")?,
            pooling_config: optional("1_Pooling/config.json")?,
        })
    }

    /// Reads a local folder.
    pub fn read_dir(dir: &Path) -> Result<Self> {
        Self::from_lookup(&dir.display().to_string(), |file| {
            match std::fs::read(dir.join(file)) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        })
    }
}

#[derive(Deserialize)]
struct SentenceConfig {
    max_seq_length: Option<usize>,
}

#[derive(Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
}

/// A loaded sentence encoder.
#[derive(Debug)]
pub struct SentenceEncoder {
    source: String,
    tokenizer: Tokenizer,
    model: BertModel,
    device: Device,
    max_len: usize,
    pad_id: u32,
}

impl SentenceEncoder {
    /// Loads the model onto `device`.
    pub fn load(files: &ModelFiles, device: &Device) -> Result<Self> {
        let source = files.source.clone();
        let format = |file, detail: String| ModelError::Format {
            model: source.clone(),
            file,
            detail,
        };
        let config: BertConfig = serde_json::from_slice(&files.config)
            .map_err(|e| format("config.json", e.to_string()))?;
        config.validate().map_err(|e| format("config.json", e))?;
        if let Some(bytes) = &files.pooling_config {
            let pooling: PoolingConfig = serde_json::from_slice(bytes)
                .map_err(|e| format("1_Pooling/config.json", e.to_string()))?;
            if !pooling.pooling_mode_mean_tokens {
                return Err(format(
                    "1_Pooling/config.json",
                    "asks for a pooling other than mean pooling, which is the only one supported"
                        .into(),
                ));
            }
        }
        let max_seq = match &files.sentence_config {
            Some(bytes) => serde_json::from_slice::<SentenceConfig>(bytes)
                .map_err(|e| format("sentence_bert_config.json", e.to_string()))?
                .max_seq_length
                .unwrap_or(DEFAULT_MAX_SEQ_LENGTH),
            None => DEFAULT_MAX_SEQ_LENGTH,
        };
        let max_len = max_seq.min(config.max_position_embeddings).max(2);

        let tok_err = |detail: String| ModelError::Tokenizer {
            model: source.clone(),
            detail,
        };
        let mut tokenizer =
            Tokenizer::from_bytes(&files.tokenizer).map_err(|e| tok_err(e.to_string()))?;
        // The folder's tokenizer.json may carry its own padding and truncation (MiniLM's says
        // 128): ours pad per batch and truncate at the sentence-transformers length.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| tok_err(e.to_string()))?;
        let vocab = tokenizer.get_vocab_size(true);
        if vocab > config.vocab_size {
            return Err(format(
                "tokenizer.json",
                format!(
                    "has {vocab} tokens but config.json says vocab_size {}",
                    config.vocab_size
                ),
            ));
        }

        let candle = |e| ModelError::Candle {
            model: source.clone(),
            source: e,
        };
        let vb = VarBuilder::from_buffered_safetensors(files.weights.clone(), DType::F32, device)
            .map_err(candle)?;
        let model = BertModel::load(vb, &config).map_err(candle)?;
        Ok(Self {
            source: source.clone(),
            tokenizer,
            model,
            device: device.clone(),
            max_len,
            pad_id: config.pad_token_id,
        })
    }

    /// Output dimension.
    pub fn dim(&self) -> usize {
        self.model.config().hidden_size
    }

    /// Tokens per text after truncation.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// One line for `SHOW` and logs.
    pub fn describe(&self) -> String {
        let c = self.model.config();
        format!(
            "bert {} ({}-d, {} layers, max {} tokens, {})",
            self.source,
            c.hidden_size,
            c.num_hidden_layers,
            self.max_len,
            device_name(&self.device)
        )
    }

    /// Embeds `texts`: unit vectors of [`dim`](Self::dim) floats, in order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| ModelError::Tokenizer {
                model: self.source.clone(),
                detail: e.to_string(),
            })?;
        // Sort by length so each batch pads little; results go back to input order.
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| encodings[i].get_ids().len());
        let mut out = vec![Vec::new(); encodings.len()];
        for chunk in order.chunks(BATCH_SIZE) {
            let batch: Vec<&Encoding> = chunk.iter().map(|&i| &encodings[i]).collect();
            let vectors = self.forward(&batch).map_err(|e| ModelError::Candle {
                model: self.source.clone(),
                source: e,
            })?;
            for (&i, v) in chunk.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn forward(&self, batch: &[&Encoding]) -> candle_core::Result<Vec<Vec<f32>>> {
        let len = batch.iter().map(|e| e.get_ids().len()).max().unwrap_or(0);
        let b = batch.len();
        let mut ids = vec![self.pad_id; b * len];
        let mut types = vec![0u32; b * len];
        let mut mask = vec![0f32; b * len];
        for (row, e) in batch.iter().enumerate() {
            let at = row * len;
            let n = e.get_ids().len();
            ids[at..at + n].copy_from_slice(e.get_ids());
            types[at..at + n].copy_from_slice(e.get_type_ids());
            mask[at..at + n].fill(1.0);
        }
        let ids = Tensor::from_vec(ids, (b, len), &self.device)?;
        let types = Tensor::from_vec(types, (b, len), &self.device)?;
        let mask = Tensor::from_vec(mask, (b, len), &self.device)?;
        let hidden = self.model.forward(&ids, &types, &mask)?;
        // Mean over real tokens: padded positions are multiplied by 0 and not counted.
        let m = mask.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&m)?.sum(1)?;
        let counts = m.sum(1)?.clamp(1e-9, f64::INFINITY)?;
        let mean = summed.broadcast_div(&counts)?;
        Ok(mean
            .to_device(&Device::Cpu)?
            .to_vec2::<f32>()?
            .into_iter()
            .map(|mut v| {
                super::normalize(&mut v);
                v
            })
            .collect())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::text::cosine;
    use crate::text::testing::{WORDS, tiny_bert_files};

    /// Writes [`tiny_bert_files`] into `dir` as a sentence-transformers folder.
    pub(crate) fn write_tiny_bert(dir: &Path, max_seq_length: Option<usize>) {
        let files = tiny_bert_files(max_seq_length);
        std::fs::write(dir.join("tokenizer.json"), &files.tokenizer).unwrap();
        std::fs::write(dir.join("config.json"), &files.config).unwrap();
        std::fs::write(dir.join("model.safetensors"), &files.weights).unwrap();
        if let Some(sc) = &files.sentence_config {
            std::fs::write(dir.join("sentence_bert_config.json"), sc).unwrap();
        }
    }

    fn load(dir: &Path) -> SentenceEncoder {
        SentenceEncoder::load(&ModelFiles::read_dir(dir).unwrap(), &Device::Cpu).unwrap()
    }

    #[track_caller]
    fn assert_close(a: &[f32], b: &[f32], tol: f32) {
        assert_eq!(a.len(), b.len());
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(worst <= tol, "max difference {worst} > {tol}");
    }

    const TEXTS: [&str; 4] = [
        "connection to <IP> refused, retrying in <NUM>s",
        "",
        "user logged in",
        "java.lang.NullPointerException\n\tat the request\n\tat a timeout",
    ];

    #[test]
    fn a_saved_tiny_bert_loads_and_gives_unit_vectors_of_its_width() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_bert(dir.path(), None);
        let e = load(dir.path());
        assert_eq!((e.dim(), e.max_len()), (16, DEFAULT_MAX_SEQ_LENGTH.min(64)));
        assert!(e.describe().contains("16-d, 2 layers"), "{}", e.describe());
        let v = e.embed(&TEXTS).unwrap();
        assert_eq!(v.len(), TEXTS.len());
        for x in &v {
            assert_eq!(x.len(), 16);
            let norm = x.iter().map(|a| a * a).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        }
        // Different texts give different vectors: the weights are really used.
        assert!(cosine(&v[0], &v[2]) < 0.9999);
    }

    #[test]
    fn results_are_deterministic_and_a_batch_equals_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_bert(dir.path(), None);
        let e = load(dir.path());
        let batch = e.embed(&TEXTS).unwrap();
        assert_eq!(batch, e.embed(&TEXTS).unwrap());
        // A second load (from bytes again) gives the same vectors.
        assert_eq!(batch, load(dir.path()).embed(&TEXTS).unwrap());
        for (t, v) in TEXTS.iter().zip(&batch) {
            assert_close(&e.embed(&[t]).unwrap()[0], v, 1e-5);
        }
    }

    #[test]
    fn padding_does_not_change_a_short_text() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_bert(dir.path(), None);
        let e = load(dir.path());
        let alone = e.embed(&["disk full"]).unwrap().remove(0);
        let long = "error at the request , the disk on the user failed in a timeout ".repeat(3);
        let padded = e.embed(&["disk full", &long]).unwrap().remove(0);
        assert_close(&alone, &padded, 1e-5);
        assert!(cosine(&alone, &e.embed(&[long.as_str()]).unwrap()[0]) < 0.9999);
    }

    #[test]
    fn long_texts_are_truncated_at_the_folders_max_seq_length() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_bert(dir.path(), Some(16));
        let e = load(dir.path());
        assert_eq!(e.max_len(), 16);
        let words: Vec<&str> = WORDS[..17].iter().copied().cycle().take(200).collect();
        // [CLS] + 14 words + [SEP] = 16 tokens: everything after word 14 is cut.
        let head = words[..14].join(" ");
        let v = e
            .embed(&[words.join(" ").as_str(), &head, &words[..13].join(" ")])
            .unwrap();
        assert_close(&v[0], &v[1], 1e-5);
        assert!(cosine(&v[1], &v[2]) < 0.99999, "a shorter text must differ");
    }

    #[test]
    fn checkpoints_with_a_bert_prefix_load_the_same() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_bert(dir.path(), None);
        let plain = load(dir.path()).embed(&TEXTS).unwrap();
        let file = dir.path().join("model.safetensors");
        let tensors = candle_core::safetensors::load(&file, &Device::Cpu).unwrap();
        let renamed: std::collections::HashMap<String, Tensor> = tensors
            .into_iter()
            .map(|(k, v)| (format!("bert.{k}"), v))
            .collect();
        candle_core::safetensors::save(&renamed, &file).unwrap();
        assert_eq!(load(dir.path()).embed(&TEXTS).unwrap(), plain);
    }

    #[test]
    fn bad_folders_say_which_file_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_bert(dir.path(), None);
        let err = |dir: &Path| {
            ModelFiles::read_dir(dir)
                .and_then(|f| SentenceEncoder::load(&f, &Device::Cpu))
                .unwrap_err()
                .to_string()
        };
        std::fs::create_dir(dir.path().join("1_Pooling")).unwrap();
        std::fs::write(
            dir.path().join("1_Pooling/config.json"),
            r#"{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}"#,
        )
        .unwrap();
        let e = err(dir.path());
        assert!(
            e.contains("1_Pooling/config.json") && e.contains("mean pooling"),
            "{e}"
        );
        std::fs::remove_dir_all(dir.path().join("1_Pooling")).unwrap();

        let config = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            config.replace("\"num_attention_heads\":4", "\"num_attention_heads\":5"),
        )
        .unwrap();
        let e = err(dir.path());
        assert!(
            e.contains("config.json") && e.contains("not a multiple"),
            "{e}"
        );
        std::fs::write(dir.path().join("config.json"), &config).unwrap();

        std::fs::write(dir.path().join("model.safetensors"), b"not safetensors").unwrap();
        let e = err(dir.path());
        assert!(e.contains(&dir.path().display().to_string()), "{e}");
        std::fs::remove_file(dir.path().join("model.safetensors")).unwrap();
        let e = err(dir.path());
        assert!(e.contains("has no model.safetensors"), "{e}");
    }
}

/// Against the real all-MiniLM-L6-v2 (`scripts/fetch-text-encoder.sh`; `scripts/test` sets the
/// variable): our forward pass must reproduce sentence-transformers' published vector.
#[cfg(test)]
mod real_weights {
    use super::*;
    use crate::text::cosine;

    fn minilm() -> Option<SentenceEncoder> {
        let Some(dir) = std::env::var_os("SIGFUSE_TEST_TEXT_ENCODER") else {
            eprintln!(
                "SKIPPED real-weights test: SIGFUSE_TEST_TEXT_ENCODER is not set \
                 (scripts/test sets it after running scripts/fetch-text-encoder.sh)"
            );
            return None;
        };
        let files = ModelFiles::read_dir(Path::new(&dir)).unwrap();
        Some(SentenceEncoder::load(&files, &Device::Cpu).unwrap())
    }

    #[test]
    fn minilm_reproduces_the_reference_vector_and_ranks_log_lines() {
        let Some(e) = minilm() else { return };
        assert_eq!((e.dim(), e.max_len()), (384, 256));
        let texts = [
            "This is an example sentence",
            "connection to 10.0.0.12:5432 refused, retrying",
            "connection to 192.168.7.3:6379 refused, retrying",
            "user alice logged in from the web console",
            "disk /dev/sda1 is 95% full",
        ];
        let v = e.embed(&texts).unwrap();
        // sentence-transformers' all-MiniLM-L6-v2, first five dimensions (INFRA.md).
        let want = [0.06766, 0.06350, 0.04871, 0.07930, 0.03745];
        for (i, (got, want)) in v[0].iter().zip(want).enumerate() {
            assert!((got - want).abs() < 1e-4, "dimension {i}: {got} vs {want}");
        }
        for x in &v {
            let norm = x.iter().map(|a| a * a).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        }
        // Measured: 0.624 for the two 'refused' lines (the raw addresses and ports split into
        // many word pieces; after masking they are the same text), at most 0.108 between
        // unrelated lines.
        let similar = cosine(&v[1], &v[2]);
        assert!(similar > 0.5, "two 'connection refused' lines: {similar}");
        for i in 0..v.len() {
            for j in (i + 1..v.len()).filter(|&j| (i, j) != (1, 2)) {
                let c = cosine(&v[i], &v[j]);
                assert!(c < 0.2, "unrelated lines {i} and {j}: cosine {c}");
            }
        }
    }
}
