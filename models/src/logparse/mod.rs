//! Log-template mining: a Drain-family online miner with typed masks.
//!
//! # Why our own miner
//!
//! The crates on crates.io were measured first (INFRA.md, 1 M generated lines on this
//! machine): `drain3` 0.3.0 mines 606 k lines/s with exactly the Python package's clusters,
//! `logdrain` 0.3.2 455 k lines/s but 89,524 clusters because only pure numbers are
//! variables. Neither reaches the goal of > 1 M lines/s on one core, and both run Drain's
//! regular-expression masking, which is where most of the time goes and which cannot express
//! variables inside words (`blk_<NUM>`) without per-dataset rules. This miner keeps Drain's
//! clustering (fixed-depth leaves, token-position similarity, merging into `<*>`) and replaces
//! the front end: a single byte scan masks a line ([`mask`]), tokens are interned to `u32` so
//! that comparing a line with a template compares integers, and a line allocates nothing once
//! the buffers of its [`Scratch`] have grown.
//!
//! # Semantics
//!
//! | topic | behaviour |
//! |---|---|
//! | tokens | ASCII-whitespace separated words; at most [`Config::max_tokens`] (default 128), the rest of a longer line is one trailing `<*>` |
//! | masks | `<IP>`, `<UUID>`, `<NUM>`, `<HEX>`, `<PATH>` and `<*>`, also inside words (see [`mask`]) |
//! | clustering | leaves keyed by service, token count and first token; joins the most similar cluster when ≥ [`Config::similarity`] (0.5) of positions are equal |
//! | services | part of every key: two services never share a cluster; ids hash the service too |
//! | template id | [`template_id`]: FNV-1a 64 of `service \0 template` (typed masks), equal in every process |
//! | online drift | while mining, a template can generalize (a constant becomes `<*>`), which changes its text and id; a saved model is frozen |
//! | empty line | one empty template per service |
//! | cost | O(line length + leaf size × tokens) per line |
//!
//! # Layout
//!
//! | module | what |
//! |---|---|
//! | [`mask`] | one line → tokens, variables masked (byte scan) |
//! | `miner` | [`Miner`]: interning, leaves, similarity, params |
//! | `merge` | words at one position become a variable after `merge_words` distinct values |
//! | `hash` | Fx hash for maps; [`template_id`] (stable) |
//! | `persist` | [`Manifest`], save/load of the state as JSON bytes |
//! | [`metrics`] | GA, FGA, PA, FTA as Loghub-2.0 defines them |

pub mod mask;
pub mod metrics;

mod hash;
mod merge;
mod miner;
mod persist;

pub use hash::template_id;
pub use mask::{Mask, Masked, masked_text};
pub use miner::{Cluster, Config, Miner, Parsed, Scratch, wildcard_template};
pub use persist::{FORMAT, KIND, Manifest, read_manifest};
