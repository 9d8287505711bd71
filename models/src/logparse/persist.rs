//! Save/load of a miner: a JSON manifest (what the model is) and a JSON state (its clusters).
//!
//! Bytes only: the engine writes them to `<lake>/_models/<name>/<version>/manifest.json` and
//! `state.json`. Each saved cluster carries its template id; loading recomputes every id and
//! refuses the state if one differs, so a change of masking, rendering or hashing can never
//! silently renumber the templates of a saved model.

use serde::{Deserialize, Serialize};

use super::mask::Mask;
use super::miner::{Cluster, Config, Miner, WILD, mask_token, token_mask};
use crate::error::{ModelError, Result};

/// The model kind written in manifests.
pub const KIND: &str = "log_parser";
/// The state format this build writes and reads.
pub const FORMAT: u32 = 1;

/// What a saved log parser is; the engine fills in where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`KIND`].
    pub kind: String,
    /// State format version ([`FORMAT`]).
    pub format: u32,
    /// Model name.
    pub name: String,
    /// Model version (1, 2, …).
    pub version: u64,
    /// RFC 3339 time of creation.
    pub created_at: String,
    /// The query that produced the training lines.
    pub query: String,
    /// Lines mined.
    pub lines: u64,
    /// Templates (clusters).
    pub templates: usize,
    /// Miner settings.
    pub config: Config,
}

#[derive(Serialize, Deserialize)]
enum SavedToken {
    #[serde(rename = "*")]
    Wild,
    #[serde(rename = "m")]
    Mask(Mask),
    #[serde(rename = "w")]
    Word(String),
}

#[derive(Serialize, Deserialize)]
struct SavedCluster {
    service: String,
    id: u64,
    count: u64,
    tokens: Vec<SavedToken>,
    example: String,
}

#[derive(Serialize, Deserialize)]
struct State {
    format: u32,
    config: Config,
    lines: u64,
    clusters: Vec<SavedCluster>,
}

fn corrupt(detail: impl ToString) -> ModelError {
    ModelError::Corrupt {
        model: KIND,
        detail: detail.to_string(),
    }
}

impl Miner {
    /// A manifest describing this miner.
    pub fn manifest(&self, name: &str, version: u64, created_at: &str, query: &str) -> Manifest {
        Manifest {
            kind: KIND.to_string(),
            format: FORMAT,
            name: name.to_string(),
            version,
            created_at: created_at.to_string(),
            query: query.to_string(),
            lines: self.lines,
            templates: self
                .clusters
                .iter()
                .filter(|c| c.merged_into.is_none())
                .count(),
            config: self.config.clone(),
        }
    }

    /// The state as JSON bytes.
    pub fn save_state(&self) -> Vec<u8> {
        let clusters = self
            .clusters
            .iter()
            .filter(|c| c.merged_into.is_none())
            .map(|c| SavedCluster {
                service: self.service(c).to_string(),
                id: c.id,
                count: c.count,
                tokens: c
                    .tokens
                    .iter()
                    .map(|&t| match (t, self.const_of(t), token_mask(t)) {
                        (WILD, _, _) => SavedToken::Wild,
                        (_, Some(w), _) => SavedToken::Word(w.to_string()),
                        (_, None, Some(m)) => SavedToken::Mask(m),
                        (_, None, None) => SavedToken::Wild,
                    })
                    .collect(),
                example: c.example.clone(),
            })
            .collect();
        let state = State {
            format: FORMAT,
            config: self.config.clone(),
            lines: self.lines,
            clusters,
        };
        // Serializing plain strings, numbers and enums to a Vec cannot fail.
        serde_json::to_vec(&state).unwrap_or_default()
    }

    /// A miner from bytes written by [`Miner::save_state`].
    pub fn load_state(bytes: &[u8]) -> Result<Miner> {
        let state: State = serde_json::from_slice(bytes).map_err(corrupt)?;
        if state.format != FORMAT {
            return Err(ModelError::Version {
                model: KIND,
                expected: FORMAT,
                got: state.format,
            });
        }
        let mut m = Miner::new(state.config)?;
        m.lines = state.lines;
        for sc in state.clusters {
            let service = m.services.intern(&sc.service);
            let tokens = sc
                .tokens
                .iter()
                .map(|t| match t {
                    SavedToken::Wild => WILD,
                    SavedToken::Mask(k) => mask_token(*k),
                    SavedToken::Word(w) => m.intern_const(w),
                })
                .collect();
            m.push_loaded(Cluster {
                service,
                tokens,
                count: sc.count,
                example: sc.example,
                template: String::new(),
                id: 0,
                merged_into: None,
            });
            let c = m.clusters.last().ok_or_else(|| corrupt("no cluster"))?;
            if c.id != sc.id {
                return Err(corrupt(format!(
                    "template {:?} of service {:?} hashes to {} but was saved as {}",
                    c.template, sc.service, c.id, sc.id
                )));
            }
        }
        m.reindex();
        Ok(m)
    }
}

/// Reads a manifest.
pub fn read_manifest(bytes: &[u8]) -> Result<Manifest> {
    let m: Manifest = serde_json::from_slice(bytes).map_err(corrupt)?;
    if m.kind != KIND {
        return Err(corrupt(format!("kind is {:?}, not {KIND:?}", m.kind)));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::super::miner::Scratch;
    use super::*;

    fn trained() -> Miner {
        let mut m = Miner::new(Config::default()).unwrap();
        let mut s = Scratch::default();
        for l in [
            "user alice logged in from 10.0.0.1",
            "user alice logged in from 10.0.0.2",
            "cache miss for key <*> literal",
        ] {
            m.add("api", l, &mut s);
        }
        m.add("db", "checkpoint done in 12 ms", &mut s);
        m
    }

    #[test]
    fn round_trip_keeps_templates_ids_and_matching() {
        let m = trained();
        let back = Miner::load_state(&m.save_state()).unwrap();
        assert_eq!(back.clusters().len(), m.clusters().len());
        for (a, b) in m.clusters().iter().zip(back.clusters()) {
            assert_eq!(
                (a.template(), a.id(), a.count()),
                (b.template(), b.id(), b.count())
            );
            assert_eq!(m.service(a), back.service(b));
        }
        let mut s = Scratch::default();
        let c = back
            .match_line("api", "user carol logged in from 10.0.0.3", &mut s)
            .unwrap();
        assert_eq!(back.clusters()[c].id(), m.clusters()[0].id());
        assert_eq!(back.lines(), 4);
    }

    #[test]
    fn a_tampered_id_is_refused() {
        let bytes = String::from_utf8(trained().save_state()).unwrap();
        let id = trained().clusters()[0].id().to_string();
        let bad = bytes.replacen(&id, "1", 1);
        let err = Miner::load_state(bad.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("hashes to"), "{err}");
        assert!(Miner::load_state(b"{").is_err());
        let v2 = bytes.replacen("\"format\":1", "\"format\":2", 1);
        assert!(matches!(
            Miner::load_state(v2.as_bytes()),
            Err(ModelError::Version { got: 2, .. })
        ));
    }

    #[test]
    fn manifest_round_trip() {
        let m = trained();
        let man = m.manifest("logs", 3, "2026-01-01T00:00:00Z", "SELECT body FROM logs");
        let back = read_manifest(&serde_json::to_vec(&man).unwrap()).unwrap();
        assert_eq!(back, man);
        assert_eq!((back.templates, back.lines), (3, 4));
        assert!(read_manifest(br#"{"kind":"x"}"#).is_err());
    }
}
