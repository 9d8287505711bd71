//! Robust statistics: median, median absolute deviation, quantiles, and a bounded sorted
//! sample that turns a raw score into the fraction of training scores below it.

use serde::{Deserialize, Serialize};

/// Points kept by [`Quantiles`]: ranks are exact to 1/1024.
const SKETCH_POINTS: usize = 1025;
/// 1.4826 × MAD estimates the standard deviation of normal data.
const MAD_TO_SIGMA: f64 = 1.4826;
/// 1.2533 × mean absolute deviation does the same.
const MEAN_AD_TO_SIGMA: f64 = 1.2533;
/// The smallest scale, as a share of |median|.
const RELATIVE_FLOOR: f64 = 0.05;

/// The `q` quantile (0 ≤ q ≤ 1) of `xs` by linear interpolation; sorts `xs`. NaN for none.
pub fn quantile(xs: &mut [f64], q: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_unstable_by(f64::total_cmp);
    let at = q.clamp(0.0, 1.0) * (xs.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    xs[lo] + (xs[hi] - xs[lo]) * (at - lo as f64)
}

/// Median and robust scale of one feature.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Robust {
    pub median: f64,
    /// 1.4826 × MAD; when at least half the values equal the median, 1.2533 × the mean
    /// absolute deviation (so a rare burst still has a scale). Never below 5 % of |median|
    /// (a 5 % change of a latency or a CPU share is no anomaly, however steady the series),
    /// except for a *saturated* series, one that sits at its extreme most of the time
    /// (availability at 100 %, errors at 0): leaving the bound is the anomaly (availability
    /// 100 → 97 %). Always at least 1 for whole-number features (counts), 1e-6 otherwise.
    pub scale: f64,
    /// Values it was fitted on.
    pub n: u64,
}

impl Robust {
    /// Fits on `xs` (reordered). An empty slice gives median 0 and scale 1.
    pub fn fit(xs: &mut [f64]) -> Self {
        Self::fit_as(xs, true)
    }

    /// [`Robust::fit`] for a gauge (a measured value such as a metric's mean): whole numbers
    /// there are no sign of a count (availability sitting at 100 %), so there is no
    /// one-unit floor.
    pub fn fit_gauge(xs: &mut [f64]) -> Self {
        Self::fit_as(xs, false)
    }

    fn fit_as(xs: &mut [f64], may_count: bool) -> Self {
        if xs.is_empty() {
            return Self {
                median: 0.0,
                scale: 1.0,
                n: 0,
            };
        }
        let median = quantile(xs, 0.5);
        let mut dev: Vec<f64> = xs.iter().map(|x| (x - median).abs()).collect();
        let mad = quantile(&mut dev, 0.5);
        let mean_ad = dev.iter().sum::<f64>() / dev.len() as f64;
        let counts = may_count && xs.iter().all(|x| x.fract() == 0.0);
        // `quantile` sorted xs: the extremes are its ends.
        let saturated = mad == 0.0 && (median == xs[0] || median == xs[xs.len() - 1]);
        let relative = if saturated { 0.0 } else { RELATIVE_FLOOR };
        let floor = (relative * median.abs()).max(if counts { 1.0 } else { 1e-6 });
        let scale = if mad > 0.0 {
            MAD_TO_SIGMA * mad
        } else {
            MEAN_AD_TO_SIGMA * mean_ad
        };
        Self {
            median,
            scale: scale.max(floor),
            n: xs.len() as u64,
        }
    }

    /// `|x − median| / scale`.
    pub fn deviation(&self, x: f64) -> f64 {
        (x - self.median).abs() / self.scale
    }
}

/// A sorted sample of at most 1,025 values standing for a larger set: [`Quantiles::rank`]
/// is the fraction of the set below a value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    points: Vec<f64>,
}

impl Quantiles {
    pub fn from_values(mut xs: Vec<f64>) -> Self {
        xs.retain(|x| !x.is_nan());
        xs.sort_unstable_by(f64::total_cmp);
        if xs.len() > SKETCH_POINTS {
            let last = (xs.len() - 1) as f64;
            xs = (0..SKETCH_POINTS)
                .map(|i| xs[(i as f64 * last / (SKETCH_POINTS - 1) as f64).round() as usize])
                .collect();
        }
        Self { points: xs }
    }

    /// The fraction of the set strictly below `x`, counting ties as half below (so the
    /// median of the set ranks 0.5 even when many values tie); 0 for an empty set.
    pub fn rank(&self, x: f64) -> f64 {
        if self.points.is_empty() {
            return 0.0;
        }
        let below = self.points.partition_point(|p| *p < x);
        let upto = self.points.partition_point(|p| *p <= x);
        (below as f64 + (upto - below) as f64 / 2.0) / self.points.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_mad_ignore_outliers() {
        let mut xs = vec![10.0, 12.0, 8.0, 10.0, 1000.0];
        let r = Robust::fit(&mut xs);
        assert_eq!(r.median, 10.0);
        assert!((r.scale - 2.0 * MAD_TO_SIGMA).abs() < 1e-12, "{r:?}");
        assert!(r.deviation(1000.0) > 300.0);
    }

    #[test]
    fn mostly_constant_features_keep_a_scale() {
        let mut errors = vec![0.0; 19];
        errors.push(1.0);
        let r = Robust::fit(&mut errors);
        assert_eq!(r.median, 0.0);
        // A count: at least one unit.
        assert_eq!(r.scale, 1.0);
        let mut ratio = vec![0.0; 19];
        ratio.push(0.5);
        assert!((Robust::fit(&mut ratio).scale - MEAN_AD_TO_SIGMA * 0.025).abs() < 1e-12);
        let mut constant = vec![4.0; 10];
        assert_eq!(Robust::fit(&mut constant).scale, 1.0);
        // A steady series that varies on both sides keeps the 5 % floor …
        let mut quantized = vec![10.0, 10.001, 10.0, 9.999, 10.0];
        assert_eq!(Robust::fit(&mut quantized).scale, 0.5);
        // … one that sits at its bound does not: leaving it is the anomaly.
        let mut availability = vec![100.0; 18];
        availability.extend([96.9, 99.5]);
        let r = Robust::fit(&mut availability);
        assert!(
            (r.scale - MEAN_AD_TO_SIGMA * 3.6 / 20.0).abs() < 1e-12,
            "{r:?}"
        );
        assert!(r.deviation(97.0) > 10.0);
        let mut steady = vec![0.25; 10];
        assert_eq!(Robust::fit(&mut steady).scale, 1e-6);
        // A gauge of whole numbers is no count: no one-unit floor.
        let mut full = vec![100.0; 10];
        assert_eq!(Robust::fit(&mut full.clone()).scale, 1.0);
        assert_eq!(Robust::fit_gauge(&mut full).scale, 1e-6);
        assert_eq!(Robust::fit(&mut []).median, 0.0);
    }

    #[test]
    fn quantile_ranks_are_fractions_below() {
        let q = Quantiles::from_values((0..10_000).map(f64::from).collect());
        assert!((q.rank(5_000.0) - 0.5).abs() < 2e-3);
        assert_eq!(q.rank(-1.0), 0.0);
        assert_eq!(q.rank(1e9), 1.0);
        let ties = Quantiles::from_values(vec![1.0; 10]);
        assert_eq!(ties.rank(1.0), 0.5);
        assert_eq!(Quantiles::default().rank(3.0), 0.0);
        assert_eq!(quantile(&mut [3.0, 1.0, 2.0], 0.5), 2.0);
        assert!(quantile(&mut [], 0.5).is_nan());
    }
}
