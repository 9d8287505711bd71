//! [`TextEmbedder`]: an encoder with a bounded cache of embeddings by text, shared by every
//! query that holds it (the engine keeps one per loaded model).
//!
//! The cache keeps two generations of at most `capacity / 2` entries each: new entries go to
//! the young one; when it is full it becomes the old one (the previous old one is dropped), and
//! a hit in the old one moves the entry back to the young one. That is LRU up to a factor of
//! two — an entry used within the last `capacity / 2` insertions is always kept — at the cost of
//! two hash lookups, with no per-hit bookkeeping.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use super::TextEncoder;
use crate::error::{ModelError, Result};

/// Default number of cached embeddings (about 75–150 MB at 384 floats each).
pub const DEFAULT_CACHE_ENTRIES: usize = 100_000;

/// An embedding as the cache hands it out.
pub type Embedding = Arc<[f32]>;

#[derive(Debug, Default)]
struct Generations {
    young: HashMap<Arc<str>, Embedding>,
    old: HashMap<Arc<str>, Embedding>,
    /// Texts some thread is encoding now.
    pending: HashSet<Arc<str>>,
}

/// Counters since the embedder was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Texts asked for.
    pub lookups: u64,
    /// Texts answered from the cache.
    pub hits: u64,
    /// Texts sent to the model (distinct misses).
    pub encoded: u64,
    /// Entries held now.
    pub entries: usize,
}

/// An encoder plus its cache (see the module documentation).
#[derive(Debug)]
pub struct TextEmbedder {
    encoder: TextEncoder,
    half: usize,
    cache: Mutex<Generations>,
    /// Signalled whenever texts leave `pending`.
    ready: Condvar,
    lookups: AtomicU64,
    hits: AtomicU64,
    encoded: AtomicU64,
}

impl TextEmbedder {
    /// Wraps `encoder` with a cache of at most `capacity` embeddings (at least 2).
    pub fn new(encoder: TextEncoder, capacity: usize) -> Self {
        Self {
            encoder,
            half: (capacity / 2).max(1),
            cache: Mutex::default(),
            ready: Condvar::new(),
            lookups: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            encoded: AtomicU64::new(0),
        }
    }

    pub fn encoder(&self) -> &TextEncoder {
        &self.encoder
    }

    pub fn dim(&self) -> usize {
        self.encoder.dim()
    }

    pub fn describe(&self) -> String {
        self.encoder.describe()
    }

    pub fn stats(&self) -> CacheStats {
        let entries = {
            let g = self.lock();
            g.young.len() + g.old.len()
        };
        CacheStats {
            lookups: self.lookups.load(Ordering::Relaxed),
            hits: self.hits.load(Ordering::Relaxed),
            encoded: self.encoded.load(Ordering::Relaxed),
            entries,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        // The cache holds only finished embeddings, so a panic elsewhere cannot leave it
        // half-updated: a poisoned lock is safe to keep using.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The embeddings of `texts`, in order. Each distinct text missing from the cache is
    /// encoded once (in batches, outside the lock, so other queries keep reading the cache),
    /// and once across threads too: a text another thread is encoding right now is waited
    /// for, not encoded again (DataFusion runs one partition per core, and at the start of a
    /// scan they all meet the same templates).
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Embedding>> {
        let mut out: Vec<Option<Embedding>> = vec![None; texts.len()];
        // Output slots of each distinct text, in first-seen order.
        let mut slots: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut todo: Vec<&str> = Vec::new();
        for (i, &t) in texts.iter().enumerate() {
            slots
                .entry(t)
                .or_insert_with(|| {
                    todo.push(t);
                    Vec::new()
                })
                .push(i);
        }
        let fill = |out: &mut [Option<Embedding>], t: &str, v: &Embedding| {
            for &i in &slots[t] {
                out[i] = Some(Arc::clone(v));
            }
        };
        let mut encoded_rows = 0;
        while !todo.is_empty() {
            let mut mine = Vec::new();
            let mut theirs = Vec::new();
            {
                let mut g = self.lock();
                for t in todo {
                    if let Some(v) = self.get(&mut g, t) {
                        fill(&mut out, t, &v);
                    } else if g.pending.contains(t) {
                        theirs.push(t);
                    } else {
                        g.pending.insert(Arc::from(t));
                        mine.push(t);
                    }
                }
            }
            if !mine.is_empty() {
                let result = self.encode(&mine);
                let mut g = self.lock();
                for t in &mine {
                    g.pending.remove(*t);
                }
                self.ready.notify_all();
                for (t, v) in mine.iter().zip(result?) {
                    fill(&mut out, t, &v);
                    self.insert(&mut g, Arc::from(*t), v);
                }
                encoded_rows += mine.iter().map(|t| slots[t].len()).sum::<usize>();
            }
            if !theirs.is_empty() {
                let mut g = self.lock();
                while theirs.iter().any(|t| g.pending.contains(*t)) {
                    g = self.ready.wait(g).unwrap_or_else(PoisonError::into_inner);
                }
            }
            // Done by the other thread: found in the cache on the next round (or, if it failed
            // or the entry was already evicted, claimed and encoded here).
            todo = theirs;
        }
        let n = texts.len() as u64;
        self.lookups.fetch_add(n, Ordering::Relaxed);
        self.hits
            .fetch_add(n - encoded_rows as u64, Ordering::Relaxed);
        out.into_iter()
            .map(|v| v.ok_or_else(|| ModelError::Internal("embedding slot left empty".into())))
            .collect()
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<Embedding>> {
        let vectors = self.encoder.embed(texts)?;
        if vectors.len() != texts.len() {
            return Err(ModelError::Internal(format!(
                "{}: {} vectors for {} texts",
                self.describe(),
                vectors.len(),
                texts.len()
            )));
        }
        self.encoded
            .fetch_add(texts.len() as u64, Ordering::Relaxed);
        Ok(vectors.into_iter().map(Embedding::from).collect())
    }

    fn get(&self, g: &mut Generations, text: &str) -> Option<Embedding> {
        if let Some(v) = g.young.get(text) {
            return Some(Arc::clone(v));
        }
        let (k, v) = g.old.remove_entry(text)?;
        self.insert(g, k, Arc::clone(&v));
        Some(v)
    }

    fn insert(&self, g: &mut Generations, text: Arc<str>, v: Embedding) {
        if g.young.len() >= self.half && !g.young.contains_key(&text) {
            g.old = std::mem::take(&mut g.young);
        }
        g.young.insert(text, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::HashedEncoder;

    fn embedder(capacity: usize) -> TextEmbedder {
        TextEmbedder::new(TextEncoder::Hashed(HashedEncoder), capacity)
    }

    #[test]
    fn each_distinct_text_is_encoded_once_and_results_keep_input_order() {
        let e = embedder(100);
        let texts: Vec<String> = (0..1000).map(|i| format!("template {}", i % 7)).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let got = e.embed(&refs).unwrap();
        assert_eq!(got.len(), 1000);
        for (t, v) in refs.iter().zip(&got) {
            assert_eq!(&v[..], &HashedEncoder.embed_one(t)[..]);
        }
        assert_eq!(
            e.stats(),
            CacheStats {
                lookups: 1000,
                hits: 0,
                encoded: 7,
                entries: 7
            }
        );
        e.embed(&refs[..10]).unwrap();
        let s = e.stats();
        assert_eq!((s.lookups, s.hits, s.encoded), (1010, 10, 7));
    }

    #[test]
    fn the_cache_is_bounded_and_keeps_recently_used_entries() {
        let e = embedder(10); // two generations of 5
        e.embed(&["hot"]).unwrap();
        for i in 0..100 {
            let t = format!("cold {i}");
            e.embed(&[t.as_str()]).unwrap();
            e.embed(&["hot"]).unwrap(); // used between every two insertions
            assert!(e.stats().entries <= 10, "{:?}", e.stats());
        }
        let s = e.stats();
        assert_eq!(s.encoded, 101, "'hot' must never have been evicted: {s:?}");
        e.embed(&["cold 0"]).unwrap();
        assert_eq!(
            e.stats().encoded,
            102,
            "an old entry must have been evicted"
        );
    }

    #[test]
    fn threads_meeting_the_same_new_texts_encode_each_once() {
        let files = crate::text::testing::tiny_bert_files(None);
        let bert = crate::text::SentenceEncoder::load(&files, &candle_core::Device::Cpu).unwrap();
        let e = TextEmbedder::new(TextEncoder::Bert(Box::new(bert)), 1000);
        let texts: Vec<String> = (0..120)
            .map(|i| format!("request {} failed at the disk {}", "a ".repeat(i % 13), i))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let results: Vec<Vec<Embedding>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| e.embed(&refs).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let s = e.stats();
        assert_eq!(s.encoded, 120, "{s:?}");
        assert_eq!((s.lookups, s.hits), (480, 360), "{s:?}");
        for r in &results[1..] {
            assert_eq!(r, &results[0]);
        }
    }
}
