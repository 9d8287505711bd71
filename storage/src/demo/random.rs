//! Seeded randomness for the demo generator.
//!
//! Every (seed, chunk, purpose) gets its own stream, so a chunk's data does not depend on how
//! many numbers earlier chunks drew.
//! The distributions are written here (Box-Muller, log-normal, exponential) to keep the
//! dependency list short.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What a stream is used for; part of its seed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Purpose {
    Topology = 1,
    Incidents = 2,
    Events = 3,
    Traffic = 4,
    Metrics = 5,
    Background = 6,
}

/// SplitMix64's finaliser: a cheap bijective mixer, so nearby inputs give unrelated seeds.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The stream for `purpose` in chunk `chunk` (counted from the start) of run `seed`.
pub(crate) fn stream(seed: u64, chunk: u64, purpose: Purpose) -> StdRng {
    StdRng::seed_from_u64(mix(mix(seed) ^ mix(chunk ^ ((purpose as u64) << 56))))
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Distributions and small helpers on any generator.
pub(crate) trait RngExt: Rng {
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.random::<f64>()
    }

    /// Uniform in [lo, hi).
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A standard normal deviate (Box-Muller; the second deviate is dropped for simplicity).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]: ln never sees 0
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Log-normal with the given median and shape (sigma of the underlying normal).
    fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Exponential with the given mean (inter-arrival times of a Poisson process).
    fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// A Poisson count with the given mean (Knuth's method; the means used here are small).
    fn poisson(&mut self, mean: f64) -> u32 {
        let limit = (-mean).exp();
        let mut k = 0;
        let mut p = self.unit();
        while p > limit && k < 1000 {
            k += 1;
            p *= self.unit();
        }
        k
    }

    /// An integer in [lo, hi] (inclusive; `hi < lo` gives `lo`).
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.random_range(lo..=hi)
        }
    }

    /// An index below `len` (0 when `len` is 0, so callers index non-empty slices only).
    fn index(&mut self, len: usize) -> usize {
        if len <= 1 {
            0
        } else {
            self.random_range(0..len)
        }
    }

    /// A random element; `items` must not be empty (all callers pass static, non-empty tables).
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// An index drawn with the given (non-negative) weights; 0 when they are all zero.
    fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        if total <= 0.0 {
            return 0;
        }
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }

    /// `bytes` random bytes as lower-case hex (trace ids: 16, span ids: 8).
    fn hex(&mut self, bytes: usize) -> String {
        let mut s = String::with_capacity(bytes * 2);
        for _ in 0..bytes {
            let b: u8 = self.random();
            s.push(HEX[(b >> 4) as usize] as char);
            s.push(HEX[(b & 15) as usize] as char);
        }
        s
    }

    /// A version-4 UUID.
    fn uuid(&mut self) -> String {
        let h = self.hex(16);
        let variant = HEX[8 + self.index(4)] as char;
        format!(
            "{}-{}-4{}-{}{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            variant,
            &h[17..20],
            &h[20..32]
        )
    }
}

impl<R: Rng + ?Sized> RngExt for R {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let a: Vec<u64> = (0..4)
            .map(|_| stream(42, 3, Purpose::Traffic).random())
            .collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let b: u64 = stream(42, 4, Purpose::Traffic).random();
        let c: u64 = stream(43, 3, Purpose::Traffic).random();
        let d: u64 = stream(42, 3, Purpose::Metrics).random();
        assert!(a[0] != b && a[0] != c && a[0] != d);
    }

    #[test]
    fn distributions_have_the_expected_centre() {
        let mut rng = stream(1, 0, Purpose::Traffic);
        let n = 20_000;
        let mean = (0..n).map(|_| rng.normal()).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.05, "{mean}");
        let mut ln: Vec<f64> = (0..n).map(|_| rng.lognormal(10.0, 0.5)).collect();
        ln.sort_by(f64::total_cmp);
        let median = ln[n / 2];
        assert!((9.0..11.0).contains(&median), "{median}");
        let exp = (0..n).map(|_| rng.exponential(2.0)).sum::<f64>() / n as f64;
        assert!((1.8..2.2).contains(&exp), "{exp}");
        let uuid = rng.uuid();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
        assert_eq!(rng.hex(16).len(), 32);
        assert_eq!(rng.weighted(&[0.0, 1.0, 0.0]), 1);
    }
}
