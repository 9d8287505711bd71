//! Text embeddings: a log line in, a unit vector out.
//!
//! | item | what it does |
//! |---|---|
//! | [`TextEncoder`] | the built-in [`HashedEncoder`] or a loaded [`SentenceEncoder`] |
//! | [`TextEmbedder`] | an encoder with its bounded cache of embeddings by text ([`cache`]) |
//! | [`bert`] | the BERT transformer stack on candle-nn |
//! | [`sentence`] | tokenizer + BERT + mean pooling + L2 norm, loaded from [`ModelFiles`] |
//! | [`hashed`] | the deterministic fallback encoder used when no weights are configured |
//! | [`testing`] | a random tiny BERT folder in memory, for tests of the crates above |
//!
//! `embed_text` encodes a line's masked text (`crate::logparse::masked_text`, the log miner's
//! masking), so that lines differing only in values share one cache entry.
//!
//! Semantics shared by every encoder: vectors have unit L2 norm; the same text gives the same
//! vector; texts longer than the model's limit (256 tokens for all-MiniLM-L6-v2) are truncated;
//! an empty text has a vector too.

pub mod bert;
pub mod cache;
pub mod hashed;
pub mod sentence;
pub mod testing;

pub use cache::{CacheStats, DEFAULT_CACHE_ENTRIES, Embedding, TextEmbedder};
pub use hashed::{HASHED_DIM, HashedEncoder};
pub use sentence::{ModelFiles, SentenceEncoder};

use crate::error::Result;

/// One of the text encoders.
#[derive(Debug)]
pub enum TextEncoder {
    /// The built-in hashed encoder.
    Hashed(HashedEncoder),
    /// A BERT-family sentence-transformers model.
    Bert(Box<SentenceEncoder>),
}

impl TextEncoder {
    pub fn dim(&self) -> usize {
        match self {
            Self::Hashed(e) => e.dim(),
            Self::Bert(e) => e.dim(),
        }
    }

    /// One line saying which encoder this is, for `SHOW` and logs.
    pub fn describe(&self) -> String {
        match self {
            Self::Hashed(e) => e.describe(),
            Self::Bert(e) => e.describe(),
        }
    }

    /// Unit vectors of [`dim`](Self::dim) floats for `texts`, in order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        match self {
            Self::Hashed(e) => Ok(texts.iter().map(|t| e.embed_one(t)).collect()),
            Self::Bert(e) => e.embed(texts),
        }
    }
}

/// Scales `v` to unit L2 norm; false (and `v` unchanged) when its norm is 0 or not finite.
pub(crate) fn normalize(v: &mut [f32]) -> bool {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return false;
    }
    v.iter_mut().for_each(|x| *x /= norm);
    true
}

/// Cosine of two vectors of equal length (their dot product when both are unit vectors).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}
