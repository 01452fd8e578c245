//! Special functions the model kernels need: log-gamma and the Gauss hypergeometric series.

/// ln Γ(x) for x > 0.
pub fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// The digamma function ψ(x) = d/dx ln Γ(x), for x > 0: recurrence up to x >= 6, then the
/// asymptotic series (error below 1e-13 there).
pub fn digamma(mut x: f64) -> f64 {
    let mut acc = 0.0;
    while x < 6.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let f = 1.0 / (x * x);
    let series = f
        * (-1.0 / 12.0
            + f * (1.0 / 120.0
                + f * (-1.0 / 252.0
                    + f * (1.0 / 240.0 + f * (-1.0 / 132.0 + f * 691.0 / 32760.0)))));
    acc + x.ln() - 0.5 / x + series
}

/// log(1 + e^x) without overflow.
pub fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// log(e^a + e^b) without overflow (the reference likelihoods use it).
#[cfg(test)]
pub fn log_add_exp(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// Gauss's hypergeometric function 2F1(a, b; c; z) for 0 <= z < 1 by its power series.
///
/// The model's arguments are positive and z = h / (α + T + h) stays well below 1 for any
/// sensible horizon, where the series converges geometrically. Returns NaN when it has not
/// converged after many terms, so callers report NULL rather than a wrong number.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if !(0.0..1.0).contains(&z) || c <= 0.0 {
        return f64::NAN;
    }
    let mut term = 1.0f64;
    let mut sum = 1.0f64;
    for k in 0..200_000u32 {
        let k = f64::from(k);
        term *= (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
        sum += term;
        if term.abs() <= 1e-15 * sum.abs() {
            return sum;
        }
        if !sum.is_finite() {
            return f64::NAN;
        }
    }
    f64::NAN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_factorials() {
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }

    #[test]
    fn hyp2f1_known_values() {
        // 2F1(1, 1; 2; z) = -ln(1 - z) / z
        let z = 0.3;
        assert!((hyp2f1(1.0, 1.0, 2.0, z) - (-(1.0f64 - z).ln() / z)).abs() < 1e-13);
        // 2F1(a, b; b; z) = (1 - z)^-a
        assert!((hyp2f1(2.5, 3.0, 3.0, 0.2) - 0.8f64.powf(-2.5)).abs() < 1e-12);
        assert_eq!(hyp2f1(1.0, 1.0, 2.0, 0.0), 1.0);
        assert!(hyp2f1(1.0, 1.0, 2.0, 1.5).is_nan());
    }

    #[test]
    fn digamma_known_values() {
        // ψ(1) = -γ (Euler–Mascheroni), ψ(1/2) = -γ - 2 ln 2, ψ(x+1) = ψ(x) + 1/x
        let euler = 0.577_215_664_901_532_9;
        assert!((digamma(1.0) + euler).abs() < 1e-12);
        assert!((digamma(0.5) + euler + 2.0 * 2f64.ln()).abs() < 1e-12);
        assert!((digamma(7.3) - digamma(6.3) - 1.0 / 6.3).abs() < 1e-12);
        // derivative of ln Γ, numerically
        let h = 1e-6;
        let x = 2.7;
        assert!((digamma(x) - (ln_gamma(x + h) - ln_gamma(x - h)) / (2.0 * h)).abs() < 1e-7);
    }

    #[test]
    fn log_sums_are_stable() {
        assert!((softplus(1000.0) - 1000.0).abs() < 1e-9);
        assert!((softplus(0.0) - 2f64.ln()).abs() < 1e-15);
        assert!((log_add_exp(-1000.0, -1000.0) - (-1000.0 + 2f64.ln())).abs() < 1e-9);
    }
}
