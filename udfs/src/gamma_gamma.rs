//! Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"): each customer's mean
//! spend per visit shrinks toward the population mean, more so with fewer visits.

use crate::optimize::{nelder_mead, Stopped};
use crate::special::ln_gamma;

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

    /// One repeat customer's log-likelihood (x > 0, m > 0).
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
    let rows: Vec<Customer> = customers
        .iter()
        .filter(|c| c.x > 0.0 && c.m > 0.0)
        .copied()
        .collect();
    let n: f64 = rows.iter().map(|c| c.w).sum();
    if n < 2.0 {
        return Ok(None);
    }
    // Spend rescaled to a mean of 10 for conditioning; only γ changes with the unit.
    let mean = rows.iter().map(|c| c.w * c.m).sum::<f64>() / n;
    let scale = 10.0 / mean;
    let scaled: Vec<Customer> = rows
        .iter()
        .map(|c| Customer {
            m: c.m * scale,
            ..*c
        })
        .collect();
    let objective = |theta: &[f64]| -> f64 {
        let p = Params {
            p: theta[0].exp(),
            q: theta[1].exp(),
            gamma: theta[2].exp(),
        };
        let total: f64 = scaled
            .iter()
            .map(|c| c.w * p.log_likelihood(c.x, c.m))
            .sum();
        -total / n + penalizer * (p.p * p.p + p.q * p.q + p.gamma * p.gamma)
    };
    let m = nelder_mead(objective, &[0.0; 3], 1e-11, 20_000, stop)?;
    let params = Params {
        p: m.x[0].exp(),
        q: m.x[1].exp(),
        gamma: m.x[2].exp() / scale,
    };
    let log_likelihood = rows
        .iter()
        .map(|c| c.w * params.log_likelihood(c.x, c.m))
        .sum();
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
