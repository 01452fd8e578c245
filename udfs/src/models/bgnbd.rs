//! BG/NBD (Fader, Hardie & Lee 2005) and its modified form MBG/NBD (Batislam, Denizel &
//! Filiztekin 2007): likelihood, fit, P(alive) and expected visits.
//!
//! Plain BG/NBD lets a customer drop out only after a repeat visit, so everyone with no
//! repeat visit has P(alive) = 1 — useless for ranking one-visit members who lapsed. MBG/NBD
//! also allows a drop-out right after the first visit, and is what cip's churn figure uses.

use crate::models::optimize::{minimise, sample_strides, Stopped};
use crate::models::special::{hyp2f1, softplus};
#[cfg(test)]
use crate::models::special::{ln_gamma, log_add_exp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Fader, Hardie & Lee (2005).
    Bg,
    /// Batislam et al. (2007): drop-out possible at every visit, the first included.
    Mbg,
}

/// The four model parameters; α is in the caller's time unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// One customer's summary: repeat visits x, recency t_x, age T, and a weight (how many
/// customers share these figures).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Customer {
    pub x: f64,
    pub tx: f64,
    pub t: f64,
    pub w: f64,
}

/// Checks one customer's figures; the message names what is wrong.
pub fn check(x: f64, tx: f64, t: f64) -> Result<(), String> {
    if !(x.is_finite() && tx.is_finite() && t.is_finite()) {
        return Err(format!(
            "frequency, recency and t must be finite numbers (got {x}, {tx}, {t})"
        ));
    }
    if x < 0.0 || tx < 0.0 || t < 0.0 {
        return Err(format!(
            "frequency, recency and t must not be negative (got {x}, {tx}, {t})"
        ));
    }
    if tx > t {
        return Err(format!("recency {tx} is greater than t {t}"));
    }
    if x == 0.0 && tx > 0.0 {
        return Err(format!(
            "recency {tx} with frequency 0: without repeat visits recency is 0"
        ));
    }
    if x > 0.0 && tx == 0.0 {
        return Err(format!(
            "frequency {x} with recency 0: repeat visits need a recency above 0"
        ));
    }
    Ok(())
}

impl Params {
    pub fn is_valid(&self) -> bool {
        [self.r, self.alpha, self.a, self.b]
            .iter()
            .all(|v| v.is_finite() && *v > 0.0)
    }

    /// One customer's log-likelihood, plainly: the reference the fit's likelihood is tested
    /// against.
    #[cfg(test)]
    pub fn log_likelihood(&self, v: Variant, x: f64, tx: f64, t: f64) -> f64 {
        let Params { r, alpha, .. } = *self;
        let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
        self.ll_rest(v, a1, x, tx, t)
    }

    #[cfg(test)]
    /// The log-likelihood after its first term, which depends on x only (so the fit can
    /// compute it once per distinct x).
    fn ll_rest(&self, v: Variant, a1: f64, x: f64, tx: f64, t: f64) -> f64 {
        let Params { r, alpha, a, b } = *self;
        match v {
            Variant::Bg => {
                let a2 = ln_gamma(a + b) + ln_gamma(b + x) - ln_gamma(b) - ln_gamma(a + b + x);
                let a3 = -(r + x) * (alpha + t).ln();
                if x > 0.0 {
                    let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + tx).ln();
                    a1 + a2 + log_add_exp(a3, a4)
                } else {
                    a1 + a2 + a3
                }
            }
            Variant::Mbg => {
                let a2 = ln_gamma(a + b) + ln_gamma(b + x + 1.0)
                    - ln_gamma(b)
                    - ln_gamma(a + b + x + 1.0);
                let a3 = -(r + x) * (alpha + t).ln();
                let a4 = a.ln() - (b + x).ln() + (r + x) * ((alpha + t).ln() - (alpha + tx).ln());
                a1 + a2 + a3 + softplus(a4)
            }
        }
    }

    /// log of the odds that the customer has dropped out (0 odds: certainly alive).
    fn log_dead_odds(&self, v: Variant, x: f64, tx: f64, t: f64) -> Option<f64> {
        let Params { r, alpha, a, b } = *self;
        let denom = match v {
            Variant::Bg if x == 0.0 => return None,
            Variant::Bg => b + x - 1.0,
            Variant::Mbg => b + x,
        };
        Some(a.ln() - denom.ln() + (r + x) * ((alpha + t).ln() - (alpha + tx).ln()))
    }

    /// P(the customer is still active at T).
    pub fn p_alive(&self, v: Variant, x: f64, tx: f64, t: f64) -> f64 {
        match self.log_dead_odds(v, x, tx, t) {
            None => 1.0,
            Some(l) => (-softplus(l)).exp(),
        }
    }

    /// P(no visit in the next `h` time units): gone already, or active and the Poisson
    /// count over h, with λ's posterior Gamma(r + x, α + T), is zero (a drop-out happens only
    /// at a visit, so none happens in a silent stretch).
    pub fn p_no_visit(&self, v: Variant, h: f64, x: f64, tx: f64, t: f64) -> f64 {
        let alive = self.p_alive(v, x, tx, t);
        let quiet = ((self.alpha + t) / (self.alpha + t + h)).powf(self.r + x);
        1.0 - alive + alive * quiet
    }

    /// Expected repeat visits in the next `h` time units.
    pub fn expected_visits(&self, v: Variant, h: f64, x: f64, tx: f64, t: f64) -> f64 {
        let Params { r, alpha, a, b } = *self;
        if h == 0.0 {
            return 0.0;
        }
        let z = h / (alpha + t + h);
        let (hb, c, first) = match v {
            Variant::Bg => (b + x, a + b + x - 1.0, (a + b + x - 1.0) / (a - 1.0)),
            Variant::Mbg => (b + x + 1.0, a + b + x, (a + b + x) / (a - 1.0)),
        };
        let hyp = hyp2f1(r + x, hb, c, z);
        let second = 1.0 - (hyp.ln() + (r + x) * ((alpha + t) / (alpha + t + h)).ln()).exp();
        let odds = self.log_dead_odds(v, x, tx, t).map_or(0.0, f64::exp);
        first * second / (1.0 + odds)
    }
}

/// A fit: parameters in the caller's time unit, total log-likelihood, customers counted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    pub params: Params,
    pub log_likelihood: f64,
    pub n: f64,
}

/// Fits by maximum likelihood over de-duplicated, weighted customers. `penalizer` is
/// lifetimes' L2 coefficient on the parameters (0: none). None when the data cannot identify
/// the model: fewer than two customers, or no repeat visit at all.
pub fn fit(
    v: Variant,
    customers: &[Customer],
    penalizer: f64,
    stop: &dyn Fn() -> bool,
) -> Result<Option<Fit>, Stopped> {
    let n: f64 = customers.iter().map(|c| c.w).sum();
    let max_t = customers.iter().map(|c| c.t).fold(0.0f64, f64::max);
    if n < 2.0 || max_t <= 0.0 || !customers.iter().any(|c| c.x > 0.0) {
        return Ok(None);
    }
    // Like lifetimes, fit on time rescaled so the oldest customer has T = 10: it keeps α near
    // the other parameters' scale, and only α changes with the unit.
    let scale = 10.0 / max_t;
    let prepared = crate::models::likelihood::Prepared::new(customers, scale);
    // Warm start: fit a 1-in-128 and then a 1-in-16 sample first (cheap), then polish on
    // everyone, which then takes a handful of full evaluations instead of a hundred.
    let samples: Vec<_> = sample_strides(prepared.customers())
        .map(|k| prepared.sample(k))
        .collect();
    let sampled: Vec<_> = samples
        .iter()
        .map(|s| move |th: &[f64]| s.objective(v, th, penalizer))
        .collect();
    let m = minimise(
        &|th| prepared.objective(v, th, penalizer),
        &sampled,
        4,
        stop,
    )?;
    let scaled = [0, 1, 2, 3].map(|i| m.x[i].exp());
    let params = Params {
        r: scaled[0],
        alpha: scaled[1] / scale,
        a: scaled[2],
        b: scaled[3],
    };
    // The objective is the mean negative log-likelihood (plus penalty) in rescaled time;
    // rescaling time by s shifts each customer's log-likelihood by -x ln s.
    let penalty = penalizer * scaled.iter().map(|p| p * p).sum::<f64>();
    let weighted_x: f64 = customers.iter().map(|c| c.w * c.x).sum();
    let log_likelihood = -(m.value - penalty) * n + scale.ln() * weighted_x;
    Ok(Some(Fit {
        params,
        log_likelihood,
        n,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    // CDNOW (weeks), as published by Fader, Hardie & Lee (2005).
    const CDNOW: Params = Params {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };

    #[test]
    fn p_alive_is_one_without_repeats_only_for_plain_bgnbd() {
        assert_eq!(CDNOW.p_alive(Variant::Bg, 0.0, 0.0, 38.86), 1.0);
        let m = CDNOW.p_alive(Variant::Mbg, 0.0, 0.0, 38.86);
        // lifetimes 0.11.3 ModifiedBetaGeoFitter: 0.63725334
        assert!((m - 0.637_253_34).abs() < 1e-7, "{m}");
        let e = CDNOW.expected_visits(Variant::Mbg, 10.0, 2.0, 30.43, 38.86);
        assert!((e - 0.383_635_60).abs() < 1e-7, "{e}");
    }

    #[test]
    fn p_alive_falls_with_time_since_last_visit() {
        let recent = CDNOW.p_alive(Variant::Bg, 2.0, 30.0, 38.86);
        let lapsed = CDNOW.p_alive(Variant::Bg, 2.0, 5.0, 38.86);
        assert!(recent > lapsed, "{recent} {lapsed}");
        // lifetimes 0.11.3 gives 0.72101056 for the same figures.
        assert!((recent - 0.72101056).abs() < 1e-7, "{recent}");
    }

    #[test]
    fn p_no_visit_is_the_likelihood_ratio() {
        // P(no visit in h) = L(x, t_x, T + h) / L(x, t_x, T) for both variants.
        for v in [Variant::Bg, Variant::Mbg] {
            let (x, tx, t, h) = (2.0, 30.43, 38.86, 13.0);
            let ratio =
                (CDNOW.log_likelihood(v, x, tx, t + h) - CDNOW.log_likelihood(v, x, tx, t)).exp();
            let p = CDNOW.p_no_visit(v, h, x, tx, t);
            assert!((p - ratio).abs() < 1e-12, "{v:?}: {p} vs {ratio}");
        }
    }

    #[test]
    fn expected_visits_match_lifetimes() {
        let e1 = CDNOW.expected_visits(Variant::Bg, 10.0, 0.0, 0.0, 38.86);
        let e2 = CDNOW.expected_visits(Variant::Bg, 20.0, 0.0, 0.0, 38.86);
        assert!(e1 > 0.0 && e2 > e1, "{e1} {e2}");
        // lifetimes 0.11.3: 0.05429985 (x=0) and 0.35697336 (x=2, t_x=30.43), horizon 10.
        assert!((e1 - 0.054_299_85).abs() < 1e-7, "{e1}");
        let e = CDNOW.expected_visits(Variant::Bg, 10.0, 2.0, 30.43, 38.86);
        assert!((e - 0.356_973_36).abs() < 1e-7, "{e}");
        assert_eq!(
            CDNOW.expected_visits(Variant::Mbg, 0.0, 1.0, 5.0, 10.0),
            0.0
        );
    }

    #[test]
    fn fit_recovers_parameters_from_their_own_likelihood() {
        // A weighted grid of customers; the fitted optimum must not be beaten by the truth.
        let mut rows = Vec::new();
        for x in 0..6 {
            for tx in 0..=6 {
                let tx = f64::from(tx) * 5.0;
                if x > 0 && tx == 0.0 {
                    continue;
                }
                if x == 0 && tx > 0.0 {
                    continue;
                }
                rows.push(Customer {
                    x: f64::from(x),
                    tx,
                    t: 35.0,
                    w: 1.0 + f64::from(x),
                });
            }
        }
        let f = fit(Variant::Bg, &rows, 0.0, &|| false)
            .expect("runs")
            .expect("fits");
        let ll_truth: f64 = rows
            .iter()
            .map(|c| c.w * CDNOW.log_likelihood(Variant::Bg, c.x, c.tx, c.t))
            .sum();
        assert!(f.log_likelihood >= ll_truth - 1e-9);
        assert!(f.params.is_valid());
    }

    #[test]
    fn fit_needs_repeat_visits() {
        let rows = [Customer {
            x: 0.0,
            tx: 0.0,
            t: 10.0,
            w: 5.0,
        }];
        assert_eq!(fit(Variant::Bg, &rows, 0.0, &|| false), Ok(None));
    }

    #[test]
    fn check_names_the_problem() {
        assert!(check(1.0, 5.0, 3.0).unwrap_err().contains("greater than t"));
        assert!(check(-1.0, 0.0, 3.0).unwrap_err().contains("negative"));
        assert!(check(f64::NAN, 0.0, 3.0).unwrap_err().contains("finite"));
        assert!(check(0.0, 0.0, 0.0).is_ok());
    }
}
