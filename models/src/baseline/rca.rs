//! Root-cause ranking over the service call graph: the anomalous services that nothing else
//! explains come first, by how anomalous they are; then the anomalous services that another
//! one explains; then the rest. An anomalous service is explained
//! - by its callers' common cause: when an anomalous caller has at least two callees and most
//!   of them are anomalous, that caller explains them (one slow caller makes every call it
//!   makes look slow; independent faults in several callees at once are unlikely);
//! - otherwise by the most anomalous anomalous service downstream of it (a caller slowed down
//!   by its callee) whose raw score is at least half its own (a faint anomaly downstream does
//!   not explain a loud one), unless it is a common cause itself.
//!
//! Given the symptom's service (the target of an alert), [`rank_for`] ranks for that symptom:
//! the target and the services downstream of it first, and of two unexplained anomalies linked
//! to it the one whose anomaly spread further first (the larger sum of calibrated scores over
//! it and the explained anomalies upstream of it: its callers, theirs, and so on).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A downstream anomaly explains a caller's only when its raw score is at least this share of
/// the caller's.
const EXPLAINS: f64 = 0.5;

/// A service's worst window in the incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub service: String,
    /// Calibrated score in [0, 1].
    pub score: f64,
    /// Fused raw score: orders services without ties.
    pub raw: f64,
    /// What drove the score (modality and feature).
    pub evidence: String,
}

/// One ranked service.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// 1, 2, …
    pub rank: usize,
    pub candidate: Candidate,
    /// The anomalous downstream service that explains this one, if any.
    pub explained_by: Option<String>,
}

/// Ranks `candidates`; `edges` are `(caller, callee)` pairs; a service is anomalous when its
/// calibrated score is at least `anomalous`.
pub fn rank(candidates: Vec<Candidate>, edges: &[(String, String)], anomalous: f64) -> Vec<Ranked> {
    rank_for(candidates, edges, anomalous, None)
}

/// [`rank`] for the symptom of one service, `target` (the service whose alert is being
/// explained), when given: only the target and the services downstream of it can cause its
/// symptom, so the others rank after them all; an unexplained anomalous service comes first
/// only when a chain of anomalous callers links it to the target (an anomaly no caller passes
/// on cannot be what the target shows); and the target is never taken for the common cause of
/// its callees (it is the symptom; it still ranks first when nothing downstream explains it).
pub fn rank_for(
    candidates: Vec<Candidate>,
    edges: &[(String, String)],
    anomalous: f64,
    target: Option<&str>,
) -> Vec<Ranked> {
    let mut callees: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (caller, callee) in edges {
        if caller != callee {
            callees.entry(caller).or_default().insert(callee);
        }
    }
    let by_name: BTreeMap<&str, &Candidate> =
        candidates.iter().map(|c| (c.service.as_str(), c)).collect();
    let is_anomalous = |s: &str| by_name.get(s).is_some_and(|c| c.score >= anomalous);
    // Anomalous callers most of whose (at least two) callees are anomalous.
    let common_cause = |s: &str| {
        let Some(out) = callees.get(s) else {
            return false;
        };
        let bad = out.iter().filter(|c| is_anomalous(c)).count();
        Some(s) != target && is_anomalous(s) && out.len() >= 2 && bad >= 2 && 2 * bad > out.len()
    };
    // With a target: the services downstream of it, and those an anomalous chain links to it.
    let walk = |only_anomalous: bool| -> Option<BTreeSet<&str>> {
        let t = target?;
        let mut seen = BTreeSet::from([t]);
        let mut queue = VecDeque::from([t]);
        while let Some(s) = queue.pop_front() {
            for &next in callees.get(s).into_iter().flatten() {
                if (!only_anomalous || is_anomalous(next)) && seen.insert(next) {
                    queue.push_back(next);
                }
            }
        }
        Some(seen)
    };
    let (downstream, linked) = (walk(false), walk(true));
    let explained: Vec<Option<String>> = candidates
        .iter()
        .map(|c| {
            if c.score < anomalous || common_cause(&c.service) {
                return None;
            }
            // The most anomalous common-cause caller of this service.
            let caller = callees
                .iter()
                .filter(|(p, out)| out.contains(c.service.as_str()) && common_cause(p))
                .map(|(p, _)| by_name[p])
                .max_by(|a, b| a.raw.total_cmp(&b.raw));
            if let Some(p) = caller {
                return Some(p.service.clone());
            }
            // The most anomalous anomalous service downstream.
            let mut seen = BTreeSet::from([c.service.as_str()]);
            let mut queue = VecDeque::from([c.service.as_str()]);
            let mut best: Option<&Candidate> = None;
            while let Some(s) = queue.pop_front() {
                for &next in callees.get(s).into_iter().flatten() {
                    if !seen.insert(next) {
                        continue;
                    }
                    queue.push_back(next);
                    if is_anomalous(next) && by_name[next].raw >= EXPLAINS * c.raw {
                        let n = by_name[next];
                        if best.is_none_or(|b| n.raw > b.raw) {
                            best = Some(n);
                        }
                    }
                }
            }
            best.map(|b| b.service.clone())
        })
        .collect();
    // With a target: per anomalous service linked to it, the sum of the calibrated scores
    // (about one per anomaly; raw scores would let one badly scaled feature decide) of it and
    // of the anomalies upstream of it that it may explain: its callers, their callers and so on,
    // as long as each is an anomaly something explains (an unexplained anomaly on the way is
    // a cause of its own: what lies above it is its share, not this one's); none when that
    // walk does not reach the target. A cause whose anomaly spread to more of the system
    // explains more of the incident.
    let explained_set: BTreeSet<&str> = candidates
        .iter()
        .zip(&explained)
        .filter(|(_, e)| e.is_some())
        .map(|(c, _)| c.service.as_str())
        .collect();
    let mut callers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (caller, out) in &callees {
        for callee in out {
            callers.entry(callee).or_default().push(caller);
        }
    }
    let is_explained = |s: &str| explained_set.contains(s);
    let upstream_sum = |start: &str| -> Option<f64> {
        let t = target?;
        if !is_anomalous(start) || !linked.as_ref()?.contains(start) {
            return None;
        }
        let score = |s: &str| by_name.get(s).map_or(0.0, |c| c.score);
        let raw = |s: &str| by_name.get(s).map_or(0.0, |c| c.raw);
        let mut seen = BTreeSet::from([start]);
        let mut queue = VecDeque::from([start]);
        let mut sum = 0.0;
        while let Some(node) = queue.pop_front() {
            sum += score(node);
            for &next in callers.get(node).into_iter().flatten() {
                // The link explains the caller only as `explained` does: a faint anomaly
                // does not explain a loud one.
                if (Some(next) == target || is_explained(next))
                    && raw(node) >= EXPLAINS * raw(next)
                    && seen.insert(next)
                {
                    queue.push_back(next);
                }
            }
        }
        // Only an anomaly that reaches the target this way explains its symptom.
        seen.contains(t).then_some(sum)
    };
    let reach: BTreeMap<String, f64> = candidates
        .iter()
        .filter_map(|c| Some((c.service.clone(), upstream_sum(&c.service)?)))
        .collect();
    let mut ranked: Vec<Ranked> = candidates
        .into_iter()
        .zip(explained)
        .map(|(candidate, explained_by)| Ranked {
            rank: 0,
            candidate,
            explained_by,
        })
        .collect();
    let tier = |r: &Ranked| {
        let s = r.candidate.service.as_str();
        if downstream.as_ref().is_some_and(|d| !d.contains(s)) {
            return 3;
        }
        let linked = linked.as_ref().is_none_or(|l| l.contains(s));
        match (r.candidate.score >= anomalous, &r.explained_by) {
            (true, None) if linked => 0,
            (true, _) => 1,
            (false, _) => 2,
        }
    };
    let reach_of = |r: &Ranked| reach.get(&r.candidate.service).copied().unwrap_or(0.0);
    ranked.sort_by(|a, b| {
        tier(a)
            .cmp(&tier(b))
            .then(reach_of(b).total_cmp(&reach_of(a)))
            .then(b.candidate.raw.total_cmp(&a.candidate.raw))
            .then_with(|| a.candidate.service.cmp(&b.candidate.service))
    });
    for (i, r) in ranked.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(service: &str, score: f64, raw: f64) -> Candidate {
        Candidate {
            service: service.to_string(),
            score,
            raw,
            evidence: String::new(),
        }
    }

    fn e(a: &str, b: &str) -> (String, String) {
        (a.to_string(), b.to_string())
    }

    fn order(r: &[Ranked]) -> Vec<&str> {
        r.iter().map(|r| r.candidate.service.as_str()).collect()
    }

    #[test]
    fn a_caller_explained_by_its_slow_dependency_ranks_below_it() {
        let edges = [
            e("frontend", "cart"),
            e("cart", "redis"),
            e("frontend", "ads"),
        ];
        let r = rank(
            vec![
                c("frontend", 1.0, 30.0),
                c("cart", 0.99, 16.0),
                c("redis", 0.5, 1.0),
                c("ads", 0.6, 1.2),
            ],
            &edges,
            0.95,
        );
        assert_eq!(order(&r), ["cart", "frontend", "ads", "redis"]);
        assert_eq!(r[1].explained_by.as_deref(), Some("cart"));
        assert_eq!(r[0].explained_by, None);
        assert_eq!(r.iter().map(|r| r.rank).collect::<Vec<_>>(), [1, 2, 3, 4]);
    }

    #[test]
    fn a_caller_whose_callees_all_look_anomalous_is_their_common_cause() {
        let edges = [
            e("frontend", "cart"),
            e("frontend", "ads"),
            e("frontend", "shipping"),
        ];
        let r = rank(
            vec![
                c("frontend", 0.995, 2.0),
                c("cart", 0.999, 9.0),
                c("ads", 0.999, 8.0),
                c("shipping", 0.3, 0.5),
            ],
            &edges,
            0.99,
        );
        assert_eq!(order(&r), ["frontend", "cart", "ads", "shipping"]);
        assert_eq!(r[1].explained_by.as_deref(), Some("frontend"));
        assert_eq!(r[0].explained_by, None);
        // One anomalous callee of three: the callee explains the caller instead.
        let r = rank(
            vec![
                c("frontend", 0.995, 2.0),
                c("cart", 0.999, 9.0),
                c("ads", 0.5, 1.0),
                c("shipping", 0.3, 0.5),
            ],
            &edges,
            0.99,
        );
        assert_eq!(order(&r), ["cart", "frontend", "ads", "shipping"]);
    }

    #[test]
    fn for_a_target_only_its_downstream_linked_by_anomalies_comes_first() {
        // site calls search and ads; search calls db; mail is elsewhere.
        let edges = [
            e("site", "search"),
            e("site", "ads"),
            e("search", "db"),
            e("site", "logs"),
            e("mail", "smtp"),
        ];
        let cands = vec![
            c("site", 1.0, 20.0),
            c("search", 1.0, 30.0),
            c("ads", 1.0, 8.0),
            c("logs", 0.2, 0.1),
            c("db", 0.999, 18.0),
            c("mail", 1.0, 99.0),
            c("smtp", 0.1, 0.1),
        ];
        // Without a target: site is the common cause of search and ads, mail is worst.
        let r = rank(cands.clone(), &edges, 0.99);
        assert_eq!(order(&r)[..3], ["mail", "site", "db"]);
        // For site: mail is out of scope; site is the symptom, not a common cause; db
        // explains search, which explains site; ads has no anomalous callee.
        let r = rank_for(cands.clone(), &edges, 0.99, Some("site"));
        assert_eq!(
            order(&r),
            ["db", "ads", "search", "site", "logs", "mail", "smtp"]
        );
        assert_eq!(r[2].explained_by.as_deref(), Some("db"));
        // A faint anomaly downstream does not explain a loud one.
        let mut faint_db = cands.clone();
        faint_db[4].raw = 5.0;
        let r = rank_for(faint_db, &edges, 0.99, Some("site"));
        assert_eq!(order(&r)[..3], ["search", "ads", "db"]);
        // An anomaly no anomalous chain links to the target ranks after those that are.
        let mut quiet_search = cands;
        quiet_search[1].score = 0.5;
        let r = rank_for(quiet_search, &edges, 0.99, Some("site"));
        assert_eq!(order(&r)[..3], ["ads", "site", "db"]);
    }

    #[test]
    fn for_a_target_the_cause_whose_anomaly_reaches_it_through_more_anomaly_comes_first() {
        // site calls a load balancer (a leaf) and search, directly and through list.
        let edges = [
            e("site", "elb"),
            e("site", "search"),
            e("site", "list"),
            e("list", "search"),
        ];
        let cands = vec![
            c("site", 1.0, 10.0),
            c("elb", 1.0, 30.0),
            c("search", 1.0, 20.0),
            c("list", 1.0, 15.0),
        ];
        // Without the target, site looks like the common cause of its anomalous callees. For
        // site's symptom the loudest leaf (the balancer) would lead by score alone; search
        // comes first because its anomaly also explains list's on the way to site.
        assert_eq!(order(&rank(cands.clone(), &edges, 0.99))[0], "site");
        let r = rank_for(cands.clone(), &edges, 0.99, Some("site"));
        assert_eq!(order(&r), ["search", "elb", "list", "site"]);
        assert_eq!(r[2].explained_by.as_deref(), Some("search"));
        // A chain through an unexplained anomaly is not counted: with list unexplained
        // (search too faint for it), search reaches site only directly.
        let mut loud_list = cands;
        loud_list[3].raw = 45.0;
        let r = rank_for(loud_list, &edges, 0.99, Some("site"));
        assert_eq!(order(&r), ["list", "elb", "search", "site"]);
        // Two leaves equally anomalous: the one whose anomaly also shows in another caller
        // (outside the target's subgraph) explains more of the incident.
        let edges = [e("site", "elb"), e("site", "search"), e("client", "search")];
        let cands = vec![
            c("site", 1.0, 10.0),
            c("elb", 1.0, 30.0),
            c("search", 1.0, 30.0),
            c("client", 1.0, 12.0),
        ];
        assert_eq!(order(&rank(cands.clone(), &edges, 0.99))[0], "site");
        let r = rank_for(cands, &edges, 0.99, Some("site"));
        assert_eq!(order(&r)[..2], ["search", "elb"]);
        // An anomaly too faint to explain the target's (below half its raw score) does not
        // count the target's anomaly, however many of its own callers it explains.
        let edges = [
            e("site", "sm"),
            e("site", "search"),
            e("c1", "sm"),
            e("c2", "sm"),
        ];
        let cands = vec![
            c("site", 1.0, 40.0),
            c("sm", 1.0, 10.0),
            c("search", 1.0, 30.0),
            c("c1", 1.0, 5.0),
            c("c2", 1.0, 5.0),
        ];
        let r = rank_for(cands, &edges, 0.99, Some("site"));
        assert_eq!(order(&r)[..2], ["search", "sm"]);
    }

    #[test]
    fn without_a_graph_or_with_cycles_services_rank_by_score() {
        let cands = vec![c("a", 0.97, 5.0), c("b", 0.99, 7.0), c("c", 0.1, 0.1)];
        assert_eq!(order(&rank(cands.clone(), &[], 0.95)), ["b", "a", "c"]);
        let cycle = [e("a", "b"), e("b", "a"), e("a", "a")];
        let r = rank(cands, &cycle, 0.95);
        assert_eq!(order(&r), ["b", "a", "c"]);
        assert!(r[0].explained_by.is_some() && r[1].explained_by.is_some());
        assert!(rank(vec![], &cycle, 0.95).is_empty());
    }
}
