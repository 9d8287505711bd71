//! A random tiny BERT as a sentence-transformers folder in memory, for tests here and in the
//! crates above (`udfs`, `engine`), which cannot reach this crate's `#[cfg(test)]` code.

use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use serde_json::json;

use super::bert::{BertConfig, BertModel};
use super::sentence::ModelFiles;

/// The tiny model's words (besides `[PAD]`, `[UNK]`, `[CLS]`, `[SEP]`).
pub const WORDS: &[&str] = &[
    "connection",
    "to",
    "refused",
    "retrying",
    "in",
    "user",
    "logged",
    "error",
    "at",
    "disk",
    "full",
    "on",
    "the",
    "a",
    "request",
    "failed",
    "timeout",
    "<",
    ">",
    "num",
    "ip",
    "##s",
    "##ing",
    "java",
    ".",
    ",",
    "exception",
    "null",
    "pointer",
];

/// Width of the tiny model's vectors.
pub const TINY_DIM: usize = 16;

/// A 2-layer, 16-d BERT with random weights and a WordPiece tokenizer over [`WORDS`]; the
/// folder's `sentence_bert_config.json` says `max_seq_length` when given.
///
/// # Panics
/// Only if candle cannot build or serialize a few small CPU tensors.
pub fn tiny_bert_files(max_seq_length: Option<usize>) -> ModelFiles {
    let mut vocab = serde_json::Map::new();
    for (i, t) in ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
        .iter()
        .chain(WORDS)
        .enumerate()
    {
        vocab.insert((*t).to_string(), json!(i));
    }
    let tokenizer = json!({
        "version": "1.0",
        // Deliberately short: the loader must replace it with the sentence-transformers length.
        "truncation": {"direction": "Right", "max_length": 4, "strategy": "LongestFirst", "stride": 0},
        "padding": null,
        "added_tokens": [],
        "normalizer": {"type": "BertNormalizer", "clean_text": true,
            "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "decoder": null,
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100, "vocab": vocab},
    });
    let config = json!({
        "model_type": "bert", "vocab_size": 40, "hidden_size": TINY_DIM, "num_hidden_layers": 2,
        "num_attention_heads": 4, "intermediate_size": 32, "hidden_act": "gelu",
        "max_position_embeddings": 64, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
    });
    let bert: BertConfig = serde_json::from_value(config.clone()).expect("tiny config");
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    BertModel::load(vb, &bert).expect("tiny BERT with random weights");
    let tensors: Vec<(String, candle_core::Tensor)> = varmap
        .data()
        .lock()
        .expect("fresh VarMap")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    let weights = safetensors::serialize(tensors, None).expect("serialize tiny BERT");
    ModelFiles {
        source: "tiny-random-bert".into(),
        config: config.to_string().into_bytes(),
        tokenizer: tokenizer.to_string().into_bytes(),
        weights,
        sentence_config: max_seq_length.map(|n| {
            json!({"max_seq_length": n, "do_lower_case": false})
                .to_string()
                .into_bytes()
        }),
        pooling_config: None,
    }
}
