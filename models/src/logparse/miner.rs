//! The online miner: masked tokens → clusters, Drain's way.
//!
//! A line's tokens become ids (constants interned, masks fixed ids). Clusters live in leaves
//! keyed by `(service, token count, first token)`; a line joins the most similar cluster of
//! its leaf when the share of positions whose tokens are equal reaches
//! [`Config::similarity`], and positions where they differ become `<*>` in the template.
//! Otherwise it starts a cluster. The service is part of the key, so two services never
//! share a template.

use std::borrow::Cow;

use super::hash::{FxHashMap, template_id};
use super::mask::{Mask, Masked, Token, mask_line};
use crate::error::{ModelError, Result};

/// Token id of a position that generalized (`<*>`).
pub(crate) const WILD: u32 = 0;
/// Token id of a constant that `match_line` has never seen: equal to nothing.
const UNKNOWN: u32 = Mask::ALL.len() as u32 + 1;
/// First id of an interned constant.
const FIRST_CONST: u32 = UNKNOWN + 1;

fn mask_id(m: Mask) -> u32 {
    match m {
        Mask::Any => 1,
        Mask::Num => 2,
        Mask::Hex => 3,
        Mask::Ip => 4,
        Mask::Uuid => 5,
        Mask::Path => 6,
    }
}

fn id_mask(id: u32) -> Option<Mask> {
    Mask::ALL.get((id as usize).checked_sub(1)?).copied()
}

/// Settings of a miner; one configuration for every kind of log (no per-service tuning).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Config {
    /// Share of equal token positions (0–1) needed to join a cluster.
    pub similarity: f64,
    /// Tokens considered per line; the rest of a longer line is one trailing variable.
    pub max_tokens: usize,
    /// Distinct words at one position of otherwise equal lines that make it a variable (6: the
    /// four VM states or HTTP methods of a log stay events, seven feature-flag names do not).
    pub merge_words: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            similarity: 0.5,
            max_tokens: 128,
            merge_words: 6,
        }
    }
}

impl Config {
    /// Checks ranges.
    pub fn validate(&self) -> Result<()> {
        if !(self.similarity > 0.0 && self.similarity <= 1.0) {
            return Err(ModelError::Config {
                model: "log_parser",
                option: "similarity",
                expected: "in (0, 1]",
                got: self.similarity.to_string(),
            });
        }
        if self.merge_words < 2 {
            return Err(ModelError::Config {
                model: "log_parser",
                option: "merge_words",
                expected: "at least 2",
                got: self.merge_words.to_string(),
            });
        }
        if self.max_tokens < 2 {
            return Err(ModelError::Config {
                model: "log_parser",
                option: "max_tokens",
                expected: "at least 2",
                got: self.max_tokens.to_string(),
            });
        }
        Ok(())
    }
}

/// Interned strings with dense ids starting at `base`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Interner {
    map: FxHashMap<Box<str>, u32>,
    pub(crate) names: Vec<Box<str>>,
}

impl Interner {
    pub(crate) fn get(&self, s: &str) -> Option<u32> {
        self.map.get(s).copied()
    }
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.map.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        self.map.insert(s.into(), id);
        self.names.push(s.into());
        id
    }
}

/// One template: its tokens, how many lines it took, its first line.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub(crate) service: u32,
    pub(crate) tokens: Vec<u32>,
    pub(crate) count: u64,
    pub(crate) example: String,
    pub(crate) template: String,
    pub(crate) id: u64,
    /// Set when the cluster was merged into another (see `merge_siblings`).
    pub(crate) merged_into: Option<u32>,
}

impl Cluster {
    /// The template with typed masks (`<NUM>`, `<IP>`, …, `<*>`).
    pub fn template(&self) -> &str {
        &self.template
    }
    /// The stable template id (see [`template_id`]).
    pub fn id(&self) -> u64 {
        self.id
    }
    /// Lines this cluster took while mining.
    pub fn count(&self) -> u64 {
        self.count
    }
    /// The first line the cluster took (cut to 1 KiB).
    pub fn example(&self) -> &str {
        &self.example
    }
}

/// The template a line got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<'m> {
    /// Template text with typed masks.
    pub template: Cow<'m, str>,
    /// Stable template id.
    pub id: u64,
    /// The cluster, when the line is in one (for [`Miner::params`]).
    pub cluster: Option<usize>,
}

/// Scratch space for one line, reused across lines (one per thread).
#[derive(Debug, Default)]
pub struct Scratch {
    pub(crate) masked: Masked,
    ids: Vec<u32>,
}

/// The online template miner.
#[derive(Debug, Clone)]
pub struct Miner {
    pub(crate) config: Config,
    pub(crate) tokens: Interner,
    /// Per interned constant: [`HAS_ALPHA`] | [`WORD`].
    flags: Vec<u8>,
    pub(crate) services: Interner,
    pub(crate) clusters: Vec<Cluster>,
    pub(crate) leaves: FxHashMap<(u32, u32, u32), Vec<u32>>,
    pub(crate) lines: u64,
}

const EXAMPLE_MAX: usize = 1024;

impl Default for Miner {
    /// An empty miner with the default configuration.
    fn default() -> Self {
        Miner {
            config: Config::default(),
            tokens: Interner::default(),
            flags: Vec::new(),
            services: Interner::default(),
            clusters: Vec::new(),
            leaves: FxHashMap::default(),
            lines: 0,
        }
    }
}

impl Miner {
    /// An empty miner.
    pub fn new(config: Config) -> Result<Self> {
        config.validate()?;
        Ok(Miner {
            config,
            ..Miner::default()
        })
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// All clusters, in creation order (a cluster's index never changes; a merged cluster
    /// carries the template and id of the cluster it went into, see [`Miner::resolve`]).
    pub fn clusters(&self) -> &[Cluster] {
        &self.clusters
    }

    /// Lines mined so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// The service name of a cluster.
    pub fn service(&self, cluster: &Cluster) -> &str {
        self.services
            .names
            .get(cluster.service as usize)
            .map_or("", |s| s)
    }

    /// Mines one line: joins or creates a cluster and returns its index.
    pub fn add(&mut self, service: &str, line: &str, scratch: &mut Scratch) -> usize {
        self.lines += 1;
        let svc = self.services.intern(service);
        mask_line(line, self.config.max_tokens, &mut scratch.masked);
        scratch.ids.clear();
        for t in &scratch.masked.tokens {
            let id = match *t {
                Token::Const { start, end } => {
                    self.intern_const(&line[start as usize..end as usize])
                }
                Token::Var { mask, .. } => mask_id(mask),
                Token::Mixed { text, .. } => self.intern_const(scratch.masked.mixed_text(text)),
            };
            scratch.ids.push(id);
        }
        let key = self.leaf_key(svc, &scratch.ids);
        let found = self
            .best(key, &scratch.ids)
            .or_else(|| self.merge_siblings(key, &scratch.ids));
        if let Some(best) = found {
            self.join(best, &scratch.ids);
            return best;
        }
        let idx = self.clusters.len();
        let mut cut = line.len().min(EXAMPLE_MAX);
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        self.clusters.push(Cluster {
            service: svc,
            tokens: scratch.ids.clone(),
            count: 1,
            example: line[..cut].to_string(),
            template: String::new(),
            id: 0,
            merged_into: None,
        });
        self.leaves.entry(key).or_default().push(idx as u32);
        self.refresh(idx);
        idx
    }

    fn join(&mut self, best: usize, ids: &[u32]) {
        let c = &mut self.clusters[best];
        c.count += 1;
        let mut changed = false;
        for (t, &id) in c.tokens.iter_mut().zip(ids) {
            if *t != id && *t != WILD {
                *t = WILD;
                changed = true;
            }
        }
        if changed {
            self.refresh(best);
        }
    }

    /// The live cluster a cluster index stands for (itself unless it was merged).
    pub fn resolve(&self, mut idx: usize) -> usize {
        while let Some(next) = self.clusters.get(idx).and_then(|c| c.merged_into) {
            idx = next as usize;
        }
        idx
    }

    /// Finds the cluster of `line` without learning: `None` when no cluster of the service is
    /// similar enough. Constants the miner never saw match nothing.
    pub fn match_line(&self, service: &str, line: &str, scratch: &mut Scratch) -> Option<usize> {
        let svc = self.services.get(service)?;
        mask_line(line, self.config.max_tokens, &mut scratch.masked);
        scratch.ids.clear();
        for t in &scratch.masked.tokens {
            let id = match *t {
                Token::Const { start, end } => self
                    .tokens
                    .get(&line[start as usize..end as usize])
                    .map_or(UNKNOWN, |i| FIRST_CONST + i),
                Token::Var { mask, .. } => mask_id(mask),
                Token::Mixed { text, .. } => self
                    .tokens
                    .get(scratch.masked.mixed_text(text))
                    .map_or(UNKNOWN, |i| FIRST_CONST + i),
            };
            scratch.ids.push(id);
        }
        self.best(self.leaf_key(svc, &scratch.ids), &scratch.ids)
    }

    /// The values of `line` at its template's variable positions, in order; with no cluster,
    /// every masked value of the line. `scratch` must hold `line` masked by the last
    /// `add`/`match_line`/`learn`/`lookup` call.
    pub fn params<'a>(
        &self,
        cluster: Option<usize>,
        line: &'a str,
        scratch: &Scratch,
    ) -> Vec<&'a str> {
        let mut out = Vec::new();
        let tokens = cluster
            .and_then(|c| self.clusters.get(c))
            .map(|c| &c.tokens);
        let m = &scratch.masked;
        for (i, t) in m.tokens.iter().enumerate() {
            let tpl = tokens.and_then(|ts| ts.get(i)).copied();
            let (s, e) = t.span();
            match *t {
                _ if tpl == Some(WILD) => out.push(&line[s..e]),
                Token::Var { .. } => out.push(&line[s..e]),
                Token::Mixed { params, .. } => {
                    for &(ps, pe) in &m.params[params.0 as usize..params.1 as usize] {
                        out.push(&line[ps as usize..pe as usize]);
                    }
                }
                Token::Const { .. } => {}
            }
        }
        out
    }

    /// Mines `line` and returns its (live) cluster's template and id.
    pub fn learn(&mut self, service: &str, line: &str, scratch: &mut Scratch) -> Parsed<'_> {
        let idx = self.add(service, line, scratch);
        let idx = self.resolve(idx);
        let c = &self.clusters[idx];
        Parsed {
            template: Cow::Borrowed(&c.template),
            id: c.id,
            cluster: Some(idx),
        }
    }

    /// The template of `line` without learning: its cluster's when one matches, else the
    /// line's own masked text (so an unseen line is never forced into a wrong template), with
    /// the id [`template_id`] gives that text.
    pub fn lookup(&self, service: &str, line: &str, scratch: &mut Scratch) -> Parsed<'_> {
        if let Some(idx) = self.match_line(service, line, scratch) {
            let c = &self.clusters[self.resolve(idx)];
            return Parsed {
                template: Cow::Borrowed(&c.template),
                id: c.id,
                cluster: Some(idx),
            };
        }
        mask_line(line, self.config.max_tokens, &mut scratch.masked);
        let text = scratch.masked.render(line);
        let id = template_id(service, &text);
        Parsed {
            template: Cow::Owned(text),
            id,
            cluster: None,
        }
    }

    fn flags(&self, t: u32) -> u8 {
        t.checked_sub(FIRST_CONST)
            .and_then(|i| self.flags.get(i as usize))
            .copied()
            .unwrap_or(0)
    }

    /// Leaves are keyed by the first token only when it has letters: a first token that is a
    /// variable (or numbers and punctuation) says nothing about the event.
    fn leaf_key(&self, svc: u32, ids: &[u32]) -> (u32, u32, u32) {
        let first = ids.first().copied().unwrap_or(WILD);
        let first = if self.flags(first) & HAS_ALPHA != 0 {
            first
        } else {
            WILD
        };
        (svc, ids.len() as u32, first)
    }

    /// The most similar cluster of the leaf, if similar enough. Only the line's tokens with
    /// letters count: variables and punctuation are no evidence that two lines are one event.
    fn best(&self, key: (u32, u32, u32), ids: &[u32]) -> Option<usize> {
        let leaf = self.leaves.get(&key)?;
        let mut best: Option<(usize, f64, usize)> = None; // (idx, similarity, wild)
        for &ci in leaf {
            let c = &self.clusters[ci as usize];
            let mut equal = 0usize;
            let mut counted = 0usize;
            let mut wild = 0usize;
            let mut blocked = false;
            for (&t, &id) in c.tokens.iter().zip(ids) {
                let f = self.flags(id);
                if t == WILD {
                    wild += 1;
                    continue;
                }
                if f & HAS_ALPHA != 0 {
                    counted += 1;
                    if t == id {
                        equal += 1;
                    } else if BLOCK_WORDS && f & WORD != 0 && self.flags(t) & WORD != 0 {
                        blocked = true;
                        break;
                    }
                }
            }
            if blocked {
                continue;
            }
            let sim = if counted == 0 {
                1.0
            } else {
                equal as f64 / counted as f64
            };
            let better = match best {
                None => true,
                Some((_, bs, bw)) => sim > bs || (sim == bs && wild > bw),
            };
            if better {
                best = Some((ci as usize, sim, wild));
            }
        }
        let (idx, sim, _) = best?;
        (sim >= self.config.similarity).then_some(idx)
    }

    pub(crate) fn refresh(&mut self, idx: usize) {
        let c = &self.clusters[idx];
        let mut s = String::new();
        for (i, &t) in c.tokens.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(self.token_text(t));
        }
        let id = template_id(self.service(c), &s);
        let c = &mut self.clusters[idx];
        c.template = s;
        c.id = id;
    }

    pub(crate) fn token_text(&self, t: u32) -> &str {
        if t == WILD {
            return Mask::Any.text();
        }
        if let Some(m) = id_mask(t) {
            return m.text();
        }
        self.tokens
            .names
            .get((t - FIRST_CONST) as usize)
            .map_or("<?>", |s| s)
    }

    /// Rebuilds the leaf index after loading.
    pub(crate) fn reindex(&mut self) {
        self.leaves.clear();
        for i in 0..self.clusters.len() {
            let c = &self.clusters[i];
            if c.merged_into.is_some() {
                continue;
            }
            let key = self.leaf_key(c.service, &c.tokens);
            self.leaves.entry(key).or_default().push(i as u32);
        }
    }

    pub(crate) fn push_loaded(&mut self, c: Cluster) {
        self.clusters.push(c);
        let idx = self.clusters.len() - 1;
        self.refresh(idx);
    }

    pub(crate) fn intern_const(&mut self, s: &str) -> u32 {
        let id = self.tokens.intern(s);
        if id as usize == self.flags.len() {
            self.flags.push(const_flags(s));
        }
        FIRST_CONST + id
    }

    pub(crate) fn const_of(&self, t: u32) -> Option<&str> {
        if t < FIRST_CONST {
            return None;
        }
        self.tokens
            .names
            .get((t - FIRST_CONST) as usize)
            .map(|s| &**s)
    }
}

pub(crate) fn mask_token(m: Mask) -> u32 {
    mask_id(m)
}

pub(crate) fn token_mask(t: u32) -> Option<Mask> {
    if t == WILD {
        Some(Mask::Any)
    } else {
        id_mask(t)
    }
}

const HAS_ALPHA: u8 = 1;
const WORD: u8 = 2;
const BLOCK_WORDS: bool = true;

/// [`HAS_ALPHA`] when the constant has a letter outside its masks; [`WORD`] when, punctuation
/// around it peeled, it is letters only (`GET`, `"POST`, `Paused`).
fn const_flags(s: &str) -> u8 {
    let mut rest = s;
    for m in Mask::ALL {
        if rest.contains(m.text()) {
            return if s
                .replace(m.text(), "")
                .bytes()
                .any(|c| c.is_ascii_alphabetic() || c >= 0x80)
            {
                HAS_ALPHA
            } else {
                0
            };
        }
    }
    rest = rest.trim_matches(|c: char| c.is_ascii_punctuation());
    let alpha = s.bytes().any(|c| c.is_ascii_alphabetic() || c >= 0x80);
    let word = !rest.is_empty()
        && rest
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c >= 0x80 || matches!(c, b'_' | b'.' | b':'));
    (u8::from(alpha) * HAS_ALPHA) | (u8::from(word) * WORD)
}

/// A template with every mask written `<*>` (the Loghub convention, for evaluation).
pub fn wildcard_template(template: &str) -> String {
    let mut out = template.to_string();
    for m in &Mask::ALL[1..] {
        if out.contains(m.text()) {
            out = out.replace(m.text(), Mask::Any.text());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mine(lines: &[(&str, &str)]) -> (Miner, Vec<usize>) {
        let mut m = Miner::new(Config::default()).unwrap();
        let mut s = Scratch::default();
        let idx = lines.iter().map(|(svc, l)| m.add(svc, l, &mut s)).collect();
        (m, idx)
    }

    #[test]
    fn lines_of_one_event_share_a_template() {
        let (m, idx) = mine(&[
            ("api", "session 17 opened from 10.0.0.1 after 12 ms"),
            ("api", "session 18 opened from 10.0.0.2 after 7 ms"),
            ("api", "disk full on /dev/sda1"),
        ]);
        assert_eq!(idx, [0, 0, 1]);
        assert_eq!(
            m.clusters()[0].template(),
            "session <NUM> opened from <IP> after <NUM>"
        );
        assert_eq!(m.clusters()[0].count(), 2);
        assert_eq!(m.clusters()[1].template(), "disk full on <PATH>");
        assert_eq!(
            m.clusters()[0].example(),
            "session 17 opened from 10.0.0.1 after 12 ms"
        );
    }

    #[test]
    fn a_few_words_are_events_many_words_are_a_variable() {
        // Four VM states stay four templates (fewer than merge_words = 6 values).
        let states = ["Paused", "Resumed", "Started", "Stopped", "Paused"];
        let lines: Vec<String> = states
            .iter()
            .map(|s| format!("VM {s} (Lifecycle Event)"))
            .collect();
        let pairs: Vec<(&str, &str)> = lines.iter().map(|l| ("", l.as_str())).collect();
        let (m, idx) = mine(&pairs);
        assert_eq!(idx, [0, 1, 2, 3, 0]);
        assert_eq!(m.clusters()[1].template(), "VM Resumed (Lifecycle Event)");
        // Six user names make the position a variable: one template, all lines counted.
        let users = [
            "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan",
        ];
        let lines: Vec<String> = users
            .iter()
            .map(|u| format!("user {u} logged in"))
            .collect();
        let pairs: Vec<(&str, &str)> = lines.iter().map(|l| ("", l.as_str())).collect();
        let (m, idx) = mine(&pairs);
        let live: Vec<usize> = idx.iter().map(|&i| m.resolve(i)).collect();
        assert!(live.iter().all(|&i| i == live[0]), "{live:?}");
        assert_eq!(live[0], 0);
        assert_eq!(m.clusters()[0].template(), "user <*> logged in");
        assert_eq!(m.clusters()[0].count(), 9);
        assert_eq!(idx[..6], [0, 1, 2, 3, 4, 0], "apart until the sixth name");
        assert_eq!(
            m.clusters()[3].id(),
            m.clusters()[0].id(),
            "merged carry the survivor's id"
        );
    }

    #[test]
    fn services_never_share_a_template() {
        let (m, idx) = mine(&[("a", "GET /x 200"), ("b", "GET /x 200")]);
        assert_ne!(idx[0], idx[1]);
        assert_eq!(m.clusters()[0].template(), m.clusters()[1].template());
        assert_ne!(m.clusters()[0].id(), m.clusters()[1].id());
        assert_eq!(m.clusters()[0].id(), template_id("a", "GET <PATH> <NUM>"));
    }

    #[test]
    fn dissimilar_lines_of_equal_shape_stay_apart() {
        let (_, idx) = mine(&[
            ("", "connection opened ok"),
            ("", "connection refused by peer"),
        ]);
        assert_ne!(idx[0], idx[1]);
    }

    #[test]
    fn match_line_does_not_learn_and_params_follow_the_template() {
        let (m, _) = mine(&[
            ("api", "user alice logged in from 10.0.0.1 after 12ms"),
            ("api", "user alice logged in from 10.0.0.2 after 7ms"),
        ]);
        let mut s = Scratch::default();
        let line = "user alice logged in from 10.9.9.9 after 3 ms";
        let c = m.match_line("api", line, &mut s).expect("matches");
        assert_eq!(m.params(Some(c), line, &s), ["10.9.9.9", "3 ms"]);
        assert_eq!(m.match_line("other", line, &mut s), None);
        assert_eq!(m.match_line("api", "totally new words here", &mut s), None);
        assert_eq!(m.lines(), 2);
    }

    #[test]
    fn lookup_falls_back_to_the_masked_line() {
        let (m, _) = mine(&[
            ("api", "cache hit for key 12"),
            ("api", "cache hit for key 13"),
        ]);
        let mut s = Scratch::default();
        let hit = m.lookup("api", "cache hit for key 99", &mut s);
        assert_eq!(hit.template, "cache hit for key <NUM>");
        assert_eq!(hit.id, template_id("api", "cache hit for key <NUM>"));
        assert_eq!(m.params(hit.cluster, "cache hit for key 99", &s), ["99"]);
        let line = "brand new line from 10.1.1.1";
        let miss = m.lookup("api", line, &mut s);
        assert_eq!(
            (miss.template.as_ref(), miss.cluster),
            ("brand new line from <IP>", None)
        );
        assert_eq!(miss.id, template_id("api", "brand new line from <IP>"));
        assert_eq!(m.params(None, line, &s), ["10.1.1.1"]);
        let mut m = m;
        let learned = m.learn("api", "cache hit for key 7", &mut s);
        assert_eq!(learned.template, "cache hit for key <NUM>");
    }

    #[test]
    fn empty_lines_have_an_empty_template() {
        let (m, idx) = mine(&[("", ""), ("", "   "), ("", "x")]);
        assert_eq!(idx[0], idx[1]);
        assert_eq!(m.clusters()[idx[0]].template(), "");
    }

    #[test]
    fn default_config_is_valid() {
        assert!(Config::default().validate().is_ok());
        assert_eq!(Miner::default().config(), &Config::default());
    }

    #[test]
    fn config_is_checked() {
        let bad = Config {
            similarity: 0.0,
            ..Config::default()
        };
        assert!(Miner::new(bad).is_err());
    }

    #[test]
    fn wildcard_rendering() {
        assert_eq!(
            wildcard_template("a <NUM> <IP>:<*> <PATH>"),
            "a <*> <*>:<*> <*>"
        );
    }
}
