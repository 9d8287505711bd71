//! The built-in encoder, used when no weights are configured: feature hashing of word n-grams.
//!
//! A text becomes its lower-cased words (maximal runs of alphanumeric characters); every word
//! (weight 1) and every pair of adjacent words (weight 1/2) is hashed with 64-bit FNV-1a into
//! one of [`HASHED_DIM`] buckets with a sign taken from the hash's top bit (the "hashing trick",
//! so that collisions cancel on average instead of piling up), and the vector is L2-normalized.
//! Texts sharing words have a positive cosine; texts sharing no word have a cosine near 0.
//!
//! It is deterministic across runs, machines and releases (FNV-1a, not `std`'s randomly seeded
//! hasher) and needs no files. It knows no synonyms: use a real model for meaning.
//! A text with no word at all (empty, or only punctuation) maps to one fixed unit vector, as
//! does a text whose features cancel exactly.

/// The built-in encoder's dimension: that of all-MiniLM-L6-v2, so switching between the two
/// keeps the column type `FixedSizeList<Float32, 384>`.
pub const HASHED_DIM: usize = 384;

const WORD_WEIGHT: f32 = 1.0;
const PAIR_WEIGHT: f32 = 0.5;
/// The feature of a text without words.
const EMPTY_FEATURE: &[u8] = b"\x00empty";

/// Hashed word n-grams (see the module documentation).
#[derive(Debug, Clone, Copy, Default)]
pub struct HashedEncoder;

impl HashedEncoder {
    pub fn dim(&self) -> usize {
        HASHED_DIM
    }

    pub fn describe(&self) -> String {
        format!("builtin hashed word 1-2-grams ({HASHED_DIM}-d)")
    }

    /// Embeds one text: a unit vector of [`HASHED_DIM`] floats.
    pub fn embed_one(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0f32; HASHED_DIM];
        let lower = text.to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        for w in &words {
            add(&mut v, &[w.as_bytes()], WORD_WEIGHT);
        }
        for pair in words.windows(2) {
            add(
                &mut v,
                &[pair[0].as_bytes(), pair[1].as_bytes()],
                PAIR_WEIGHT,
            );
        }
        if !super::normalize(&mut v) {
            v.fill(0.0);
            add(&mut v, &[EMPTY_FEATURE], 1.0);
            super::normalize(&mut v);
        }
        v
    }
}

fn add(v: &mut [f32], parts: &[&[u8]], weight: f32) {
    let h = fnv1a(parts);
    let bucket = (h % HASHED_DIM as u64) as usize;
    let sign = if h >> 63 == 1 { -1.0 } else { 1.0 };
    v[bucket] += sign * weight;
}

/// FNV-1a over the parts, with a 0x1f separator so that ("ab", "c") and ("a", "bc") differ.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0x1f;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::cosine;

    #[test]
    fn vectors_are_unit_deterministic_and_pinned() {
        let e = HashedEncoder;
        let a = e.embed_one("Connection refused by <IP>");
        assert_eq!(a.len(), HASHED_DIM);
        assert!((a.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(a, e.embed_one("Connection refused by <IP>"));
        // Pinned so that a change of hashing (which would change every stored vector) is seen:
        // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c.
        assert_eq!(fnv1a(&[b"a"]), 0xaf63_dc4c_8601_ec8c);
        assert_ne!(fnv1a(&[b"ab", b"c"]), fnv1a(&[b"a", b"bc"]));
    }

    #[test]
    fn shared_words_are_closer_than_unrelated_text() {
        let e = HashedEncoder;
        let a = e.embed_one("connection to <IP> refused, retrying");
        let b = e.embed_one("Connection to <IP> REFUSED retrying in <NUM>s");
        let c = e.embed_one("user logged in successfully");
        assert!(cosine(&a, &b) > 0.6, "{}", cosine(&a, &b));
        assert!(cosine(&a, &b) > cosine(&a, &c) + 0.4);
    }

    #[test]
    fn texts_without_words_map_to_one_fixed_unit_vector() {
        let e = HashedEncoder;
        let empty = e.embed_one("");
        assert_eq!(empty, e.embed_one(" ... !! "));
        assert!((empty.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-6);
        assert_ne!(empty, e.embed_one("x"));
    }
}
