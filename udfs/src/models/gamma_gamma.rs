//! Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"): each customer's mean
//! spend per visit shrinks toward the population mean, more so with fewer visits.

use crate::models::dedup::Dict;
use crate::models::optimize::{minimise, sample_strides, Stopped};
use crate::models::special::{digamma, ln_gamma};

/// The likelihood over many repeat customers arranged for cheap evaluation: ln m and x ln x
/// are fixed, the ln Γ / ψ terms depend on x only (computed once per distinct x), leaving
/// one logarithm per customer per evaluation.
struct Prepared {
    xs: Vec<f64>,
    rows: Vec<(u32, f64, f64, f64)>, // x index, m, ln m, weight
}

impl Prepared {
    /// `customers` in a fixed order (the fit's sums follow it), spend multiplied by `scale`.
    fn new<'a>(customers: impl Iterator<Item = &'a Customer>, scale: f64) -> Prepared {
        let mut xs = Dict::default();
        let rows = customers
            .map(|c| {
                let m = c.m * scale;
                (xs.index(c.x), m, m.ln(), c.w)
            })
            .collect();
        Prepared {
            xs: xs.into_values(),
            rows,
        }
    }

    /// Every `k`-th customer, weighted up by k (a warm start's data).
    fn sample(&self, k: usize) -> Prepared {
        Prepared {
            xs: self.xs.clone(),
            rows: self
                .rows
                .iter()
                .step_by(k)
                .map(|&(i, m, lm, w)| (i, m, lm, w * k as f64))
                .collect(),
        }
    }

    /// Mean negative log-likelihood plus penalty, and its gradient, at θ = ln(p, q, γ).
    fn objective(&self, theta: &[f64], n: f64, penalizer: f64) -> (f64, Vec<f64>) {
        let [p, q, g] = [0, 1, 2].map(|i| theta[i].exp());
        let per_x: Vec<[f64; 4]> = self
            .xs
            .iter()
            .map(|&x| {
                let (px, dpq, dpx) = (p * x, digamma(p * x + q), digamma(p * x));
                [
                    ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q) + q * g.ln() + px * x.ln(),
                    x * (dpq - dpx) + x * x.ln(),
                    dpq - digamma(q) + g.ln(),
                    x,
                ]
            })
            .collect();
        let acc = crate::models::split_sum::sum_halves(&self.rows, |rows| {
            let mut acc = [0.0f64; 4];
            for &(i, m, lm, w) in rows {
                let c = &per_x[i as usize];
                let x = c[3];
                let px = p * x;
                let l = (g + m * x).ln();
                acc[0] += w * (c[0] + (px - 1.0) * lm - (px + q) * l);
                acc[1] += w * (c[1] + x * lm - x * l);
                acc[2] += w * (c[2] - l);
                acc[3] += w * (q / g - (px + q) / (g + m * x));
            }
            acc
        });
        let params = [p, q, g];
        let value = -acc[0] / n + penalizer * params.iter().map(|v| v * v).sum::<f64>();
        let grad = (0..3)
            .map(|i| params[i] * (-acc[i + 1] / n + 2.0 * penalizer * params[i]))
            .collect();
        (value, grad)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
}

/// A repeat customer: x repeat visits with mean spend m; w customers share these figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Customer {
    pub x: f64,
    pub m: f64,
    pub w: f64,
}

pub fn check(x: f64, m: f64) -> Result<(), String> {
    if !(x.is_finite() && m.is_finite()) {
        return Err(format!(
            "frequency and monetary must be finite numbers (got {x}, {m})"
        ));
    }
    if x < 0.0 || m < 0.0 {
        return Err(format!(
            "frequency and monetary must not be negative (got {x}, {m})"
        ));
    }
    Ok(())
}

impl Params {
    pub fn is_valid(&self) -> bool {
        [self.p, self.q, self.gamma]
            .iter()
            .all(|v| v.is_finite() && *v > 0.0)
    }

    /// One repeat customer's log-likelihood (x > 0, m > 0), plainly: the reference the fit's
    /// likelihood is tested against.
    #[cfg(test)]
    pub fn log_likelihood(&self, x: f64, m: f64) -> f64 {
        let Params { p, q, gamma } = *self;
        ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q)
            + q * gamma.ln()
            + (p * x - 1.0) * m.ln()
            + p * x * x.ln()
            - (p * x + q) * (x * m + gamma).ln()
    }

    /// Expected spend per visit: a weighted mean of the customer's own mean and the
    /// population's. With no repeat visit it is the population mean. NaN when q <= 1
    /// (the population mean does not exist).
    pub fn expected_spend(&self, x: f64, m: f64) -> f64 {
        let Params { p, q, gamma } = *self;
        if q <= 1.0 {
            return f64::NAN;
        }
        let population = p * gamma / (q - 1.0);
        if x == 0.0 {
            return population;
        }
        let weight = p * x / (p * x + q - 1.0);
        (1.0 - weight) * population + weight * m
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    pub params: Params,
    pub log_likelihood: f64,
    pub n: f64,
}

/// Fits (p, q, γ) on customers with at least one repeat visit and a positive mean spend
/// (the others carry no information about spend variation and are skipped, as lifetimes
/// requires). None with fewer than two such customers.
pub fn fit(
    customers: &[Customer],
    penalizer: f64,
    stop: &dyn Fn() -> bool,
) -> Result<Option<Fit>, Stopped> {
    let repeat = || customers.iter().filter(|c| c.x > 0.0 && c.m > 0.0);
    let n: f64 = repeat().map(|c| c.w).sum();
    if n < 2.0 {
        return Ok(None);
    }
    // Spend rescaled to a mean of 10 for conditioning; only γ changes with the unit.
    let mean = repeat().map(|c| c.w * c.m).sum::<f64>() / n;
    let scale = 10.0 / mean;
    let prepared = Prepared::new(repeat(), scale);
    // Warm start from a 1-in-128 and then a 1-in-16 sample, as for BG/NBD.
    let samples: Vec<(Prepared, f64)> = sample_strides(prepared.rows.len())
        .map(|k| {
            let s = prepared.sample(k);
            let sn = s.rows.iter().map(|r| r.3).sum();
            (s, sn)
        })
        .collect();
    let sampled: Vec<_> = samples
        .iter()
        .map(|(s, sn)| move |th: &[f64]| s.objective(th, *sn, penalizer))
        .collect();
    let m = minimise(
        &|th| prepared.objective(th, n, penalizer),
        &sampled,
        3,
        stop,
    )?;
    let scaled_params = [0, 1, 2].map(|i| m.x[i].exp());
    let params = Params {
        p: scaled_params[0],
        q: scaled_params[1],
        gamma: scaled_params[2] / scale,
    };
    // The objective is the mean negative log-likelihood (plus penalty) of rescaled spend;
    // rescaling spend by s shifts each customer's log-likelihood by -ln s.
    let penalty = penalizer * scaled_params.iter().map(|p| p * p).sum::<f64>();
    let log_likelihood = -(m.value - penalty) * n + n * scale.ln();
    Ok(Some(Fit {
        params,
        log_likelihood,
        n,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CDNOW: Params = Params {
        p: 6.25,
        q: 3.74,
        gamma: 15.44,
    };

    #[test]
    fn spend_shrinks_toward_the_population_mean() {
        let population = CDNOW.expected_spend(0.0, 0.0);
        assert!((population - 6.25 * 15.44 / 2.74).abs() < 1e-9);
        let one = CDNOW.expected_spend(1.0, 100.0);
        let ten = CDNOW.expected_spend(10.0, 100.0);
        assert!(population < one && one < ten && ten < 100.0);
    }

    #[test]
    fn no_population_mean_without_q_above_one() {
        let p = Params { q: 0.9, ..CDNOW };
        assert!(p.expected_spend(2.0, 10.0).is_nan());
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let rows: Vec<Customer> = (1..30)
            .map(|i| Customer {
                x: f64::from(i % 6 + 1),
                m: 5.0 + f64::from(i) * 0.7,
                w: 1.0,
            })
            .collect();
        let prep = Prepared::new(rows.iter(), 1.0);
        let theta = [6.0f64.ln(), 3.5f64.ln(), 15.0f64.ln()];
        let (f0, g) = prep.objective(&theta, 29.0, 0.0);
        let direct = -rows
            .iter()
            .map(|c| CDNOW_LIKE.log_likelihood(c.x, c.m))
            .sum::<f64>()
            / 29.0;
        assert!((f0 - direct).abs() < 1e-10, "{f0} vs {direct}");
        for i in 0..3 {
            let h = 1e-6;
            let (mut up, mut down) = (theta, theta);
            up[i] += h;
            down[i] -= h;
            let fd =
                (prep.objective(&up, 29.0, 0.0).0 - prep.objective(&down, 29.0, 0.0).0) / (2.0 * h);
            assert!((fd - g[i]).abs() < 1e-6, "component {i}: {fd} vs {}", g[i]);
        }
    }

    const CDNOW_LIKE: Params = Params {
        p: 6.0,
        q: 3.5,
        gamma: 15.0,
    };

    #[test]
    fn fit_skips_customers_without_repeats() {
        let rows = [
            Customer {
                x: 0.0,
                m: 0.0,
                w: 10.0,
            },
            Customer {
                x: 1.0,
                m: 20.0,
                w: 1.0,
            },
        ];
        assert_eq!(fit(&rows, 0.0, &|| false), Ok(None));
    }
}
