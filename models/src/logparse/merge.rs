//! Merging clusters that differ only by one word position once it has enough distinct words.

use super::miner::{Miner, WILD};

impl Miner {
    /// Words are constants until they prove otherwise: when a line differs from
    /// `Config::merge_words` − 1 clusters of its leaf at one and the same word position
    /// (`VM Paused`/`VM Resumed` stay apart; `user alice`/`user bob`/… become `user <*>` once
    /// enough names were seen), that position is a variable and the clusters become one.
    /// Returns the surviving cluster, into which the line then goes.
    pub(crate) fn merge_siblings(&mut self, key: (u32, u32, u32), ids: &[u32]) -> Option<usize> {
        let leaf = self.leaves.get(&key)?;
        if leaf.len() + 1 < self.config.merge_words {
            return None;
        }
        // (position, cluster) of clusters that differ from the line at exactly one position.
        let mut siblings: Vec<(usize, u32)> = Vec::new();
        for &ci in leaf {
            let c = &self.clusters[ci as usize];
            let mut diff = None;
            let mut n = 0;
            for (p, (&t, &id)) in c.tokens.iter().zip(ids).enumerate() {
                if t != WILD && t != id {
                    n += 1;
                    diff = Some(p);
                    if n > 1 {
                        break;
                    }
                }
            }
            if let (1, Some(p)) = (n, diff) {
                siblings.push((p, ci));
            }
        }
        siblings.sort_unstable();
        let mut best: Option<&[(usize, u32)]> = None;
        for group in siblings.chunk_by(|a, b| a.0 == b.0) {
            if group.len() + 1 >= self.config.merge_words
                && best.is_none_or(|b| group.len() > b.len())
            {
                best = Some(group);
            }
        }
        let group: Vec<(usize, u32)> = best?.to_vec();
        let (p, survivor) = group[0];
        let survivor = survivor as usize;
        for &(_, ci) in &group[1..] {
            let ci = ci as usize;
            let count = self.clusters[ci].count;
            let tokens = std::mem::take(&mut self.clusters[ci].tokens);
            self.clusters[ci].merged_into = Some(survivor as u32);
            self.clusters[survivor].count += count;
            let s = &mut self.clusters[survivor];
            for (t, &o) in s.tokens.iter_mut().zip(&tokens) {
                if *t != o {
                    *t = WILD;
                }
            }
            self.clusters[ci].tokens = tokens;
        }
        self.clusters[survivor].tokens[p] = WILD;
        self.refresh(survivor);
        for &(_, ci) in &group[1..] {
            let ci = ci as usize;
            self.clusters[ci].template = self.clusters[survivor].template.clone();
            self.clusters[ci].id = self.clusters[survivor].id;
        }
        if let Some(leaf) = self.leaves.get_mut(&key) {
            let dead: Vec<u32> = group[1..].iter().map(|&(_, c)| c).collect();
            leaf.retain(|c| !dead.contains(c));
        }
        Some(survivor)
    }
}
