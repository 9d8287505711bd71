//! Log-parsing accuracy as the Loghub-2.0 study (Jiang et al., ISSTA 2024) computes it.
//!
//! Inputs are one ground-truth template and one predicted template per line; lines whose
//! ground truth is empty are left out (Loghub drops rows without an `EventId`). Groups are
//! formed by template *text* on both sides, as the study's evaluator does.
//!
//! - **GA** (grouping accuracy): share of lines whose ground-truth group is predicted exactly,
//!   i.e. all its lines carry one predicted template and no other line carries it.
//! - **FGA**: F1 of PGA (exactly predicted groups / predicted groups) and RGA (/ true groups).
//! - **PA** (parsing accuracy): share of lines whose predicted template text equals the truth.
//! - **FTA**: F1 of PTA and RTA, where a predicted template counts when the lines that carry it
//!   all have that exact text as their ground truth (and only those: the group is exact).

use std::collections::HashMap;

/// The four figures and their parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    /// Grouping accuracy.
    pub ga: f64,
    /// F1 grouping accuracy.
    pub fga: f64,
    /// Parsing accuracy.
    pub pa: f64,
    /// F1 template accuracy.
    pub fta: f64,
    /// Lines scored (ground truth not empty).
    pub lines: usize,
    /// Distinct ground-truth templates.
    pub truth_templates: usize,
    /// Distinct predicted templates.
    pub predicted_templates: usize,
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// Scores predicted templates against the truth, line by line (`truth[i]` ↔ `predicted[i]`;
/// extra elements of the longer slice are ignored).
pub fn score(truth: &[&str], predicted: &[&str]) -> Scores {
    let pairs: Vec<(&str, &str)> = truth
        .iter()
        .zip(predicted)
        .filter(|(t, _)| !t.is_empty())
        .map(|(t, p)| (*t, *p))
        .collect();
    let n = pairs.len();
    let mut pred_count: HashMap<&str, usize> = HashMap::new();
    let mut by_truth: HashMap<&str, HashMap<&str, usize>> = HashMap::new();
    let mut by_pred: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut exact_lines = 0usize;
    for &(t, p) in &pairs {
        *pred_count.entry(p).or_default() += 1;
        *by_truth.entry(t).or_default().entry(p).or_default() += 1;
        by_pred.entry(p).or_default().push(t);
        exact_lines += usize::from(t == p);
    }
    let mut ga_lines = 0usize;
    let mut ga_groups = 0usize;
    for preds in by_truth.values() {
        if preds.len() == 1 {
            let (p, size) = preds
                .iter()
                .next()
                .map(|(p, s)| (*p, *s))
                .unwrap_or(("", 0));
            if pred_count.get(p) == Some(&size) {
                ga_lines += size;
                ga_groups += 1;
            }
        }
    }
    let correct_templates = by_pred
        .iter()
        .filter(|(p, ts)| ts.iter().all(|t| t == *p))
        .count();
    let (nt, np) = (by_truth.len(), by_pred.len());
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    Scores {
        ga: ratio(ga_lines, n),
        fga: f1(ratio(ga_groups, np), ratio(ga_groups, nt)),
        pa: ratio(exact_lines, n),
        fta: f1(ratio(correct_templates, np), ratio(correct_templates, nt)),
        lines: n,
        truth_templates: nt,
        predicted_templates: np,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn hand_computed_mixed_case() {
        // Truth groups: A = lines 0,1; B = 2,3; C = 4. Predicted: "a <*>" = 0,1; "y" = 2;
        // "c" = 3,4. GA: only A is exact → 2/5. PGA = 1/3, RGA = 1/3 → FGA = 1/3.
        // PA: lines 0, 1 and 4 carry the true text → 3/5. FTA: "a <*>" holds only truth
        // "a <*>" (correct); "y" holds "b" (no); "c" holds "b" and "c" (no) → PTA = RTA = 1/3.
        let truth = ["a <*>", "a <*>", "b", "b", "c"];
        let pred = ["a <*>", "a <*>", "y", "c", "c"];
        let s = score(&truth, &pred);
        assert!(close(s.ga, 0.4), "{s:?}");
        assert!(close(s.fga, 1.0 / 3.0), "{s:?}");
        assert!(close(s.pa, 0.6), "{s:?}");
        assert!(close(s.fta, 1.0 / 3.0), "{s:?}");
        assert_eq!(
            (s.lines, s.truth_templates, s.predicted_templates),
            (5, 3, 3)
        );
    }

    #[test]
    fn perfect_grouping_with_other_texts() {
        // Groups right, texts wrong: GA = FGA = 1, PA = FTA = 0.
        let s = score(&["a", "a", "b"], &["x", "x", "y"]);
        assert_eq!((s.ga, s.fga, s.pa, s.fta), (1.0, 1.0, 0.0, 0.0));
    }

    #[test]
    fn a_merged_group_breaks_both_groups() {
        // Truth a,a,b; predicted one template for all: no group exact. PA 2/3 ("a" is right
        // for lines 0 and 1), FTA 0 (the template "a" also holds a "b" line).
        let s = score(&["a", "a", "b"], &["a", "a", "a"]);
        assert_eq!(s.ga, 0.0);
        assert_eq!(s.fga, 0.0);
        assert!(close(s.pa, 2.0 / 3.0));
        assert_eq!(s.fta, 0.0);
    }

    #[test]
    fn lines_without_truth_are_left_out() {
        // Line 1 has no truth: GA over 2 lines, and its prediction "a" does not spoil group a.
        let s = score(&["a", "", "b"], &["p", "p", "q"]);
        assert_eq!(s.lines, 2);
        assert_eq!(s.ga, 1.0);
        assert_eq!(s.predicted_templates, 2);
    }

    #[test]
    fn empty_input() {
        let s = score(&[], &[]);
        assert_eq!((s.ga, s.fga, s.pa, s.fta, s.lines), (0.0, 0.0, 0.0, 0.0, 0));
    }
}
