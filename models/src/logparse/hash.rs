//! Two hashes: a fast one for in-memory maps, a stable one for template ids.

use std::hash::{BuildHasherDefault, Hasher};

/// The Fx hash (rustc's): a multiply and a rotate per word. Not DoS-resistant, which does not
/// matter for maps of tokens the miner built itself, and several times faster than SipHash on
/// short keys. Never used for ids: its output may change between versions of this crate.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const K: u64 = 0x517c_c1b7_2722_0a95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;
pub(crate) type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;

/// FNV-1a, 64 bits, over `service`, a 0 byte and `template`: the template id. Fixed by its
/// definition, so the same service and template give the same id in every process, build and
/// version (Rust's default hasher is randomly keyed per process).
pub fn template_id(service: &str, template: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for &b in service
        .as_bytes()
        .iter()
        .chain(&[0u8])
        .chain(template.as_bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(PRIME);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_ids_are_fixed_values() {
        // FNV-1a reference: the empty input hashes to the offset basis; "a" to 0xaf63dc4c8601ec8c.
        // With the separator byte, ("", "") is FNV-1a of "\0".
        assert_eq!(template_id("", ""), 0xaf63_bd4c_8601_b7df);
        assert_ne!(template_id("api", "GET <*>"), template_id("db", "GET <*>"));
        assert_ne!(template_id("ab", "c"), template_id("a", "bc"));
        assert_eq!(template_id("api", "GET <*>"), template_id("api", "GET <*>"));
    }
}
