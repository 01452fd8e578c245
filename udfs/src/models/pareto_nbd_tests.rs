//! Tests of pareto_nbd.rs: the likelihood's parts against quadrature and limits, the fit.

use super::*;

// CDNOW in weeks as lifetimes 0.11.3's ParetoNBDFitter fits it.
const CDNOW: Params = Params {
    r: 0.5534,
    alpha: 10.5802,
    s: 0.6061,
    beta: 11.6562,
};

#[test]
fn p_alive_and_expected_visits_behave() {
    let recent = CDNOW.p_alive(2.0, 30.0, 38.86);
    let lapsed = CDNOW.p_alive(2.0, 5.0, 38.86);
    assert!(recent > lapsed && recent < 1.0, "{recent} {lapsed}");
    let once = CDNOW.p_alive(0.0, 0.0, 38.86);
    assert!(once < 1.0 && once > 0.0, "{once}");
    let e1 = CDNOW.expected_visits(10.0, 2.0, 30.0, 38.86);
    let e2 = CDNOW.expected_visits(20.0, 2.0, 30.0, 38.86);
    assert!(e2 > e1 && e1 > 0.0, "{e1} {e2}");
    assert_eq!(CDNOW.expected_visits(0.0, 2.0, 30.0, 38.86), 0.0);
}

#[test]
fn p_no_visit_is_a_probability_that_grows_with_the_horizon() {
    let p0 = CDNOW.p_no_visit(0.0, 3.0, 20.0, 30.0);
    let p1 = CDNOW.p_no_visit(4.0, 3.0, 20.0, 30.0);
    let p2 = CDNOW.p_no_visit(40.0, 3.0, 20.0, 30.0);
    assert_eq!(p0, 1.0);
    assert!(p1 < 1.0 && p2 < p1 && p2 > 0.0, "{p1} {p2}");
    // Never below the chance the customer is already gone.
    assert!(p2 > 1.0 - CDNOW.p_alive(3.0, 20.0, 30.0));
}

#[test]
fn the_dropout_integral_matches_quadrature() {
    // s ∫ (α+u)^-(r+x) (β+u)^-(s+1) du over [5, 30], by the midpoint rule.
    let (x, lo, hi) = (2.0, 5.0, 30.0);
    let p = CDNOW;
    let n = 200_000;
    let h = (hi - lo) / f64::from(n);
    let quad: f64 = (0..n)
        .map(|i| {
            let u = lo + (f64::from(i) + 0.5) * h;
            (p.alpha + u).powf(-(p.r + x)) * (p.beta + u).powf(-(p.s + 1.0)) * h
        })
        .sum::<f64>()
        * p.s;
    let closed = absolute(&p, x, lo, hi).exp();
    assert!((closed / quad - 1.0).abs() < 1e-8, "{closed} {quad}");
    // The series and the quadrature agree where both work, and far apart α, β (z near
    // 1, where the series would need thousands of terms) take the quadrature.
    let series = p.ln_dropout(x, lo, hi);
    let gauss = (p.s / p.beta).ln() + p.ln_quadrature(x, lo, hi);
    assert!((series - gauss).abs() < 1e-9, "{series} {gauss}");
    let far = Params { beta: 5_000.0, ..p };
    for (x, lo, hi) in [(0.0, 0.0, 700.0), (40.0, 3.0, 700.0), (3.0, 100.0, 101.0)] {
        // ln ∫ (1+u/α)^-(r+x) (1+u/β)^-(s+1) du both ways.
        let rule = far.ln_quadrature(x, lo, hi);
        let m = far.beta;
        let z = (far.beta - far.alpha) / (m + lo);
        let k = far.r + far.s + x;
        let slow = hyp2f1(k, far.r + x, k + 1.0, z).ln() - k * (lo / m).ln_1p();
        let ln_j = -k * m.ln() - k.ln() + slow + (-(far.ln_tail(x, hi) - slow).exp()).ln_1p();
        let series = ln_j + (far.r + x) * far.alpha.ln() + (far.s + 1.0) * far.beta.ln();
        assert!((rule - series).abs() < 1e-7, "x {x}: {rule} vs {series}");
    }
}

/// ln_dropout without its factor α^(r+x) β^s: ln of s ∫ (α+u)^-(r+x) (β+u)^-(s+1) du.
fn absolute(p: &Params, x: f64, lo: f64, hi: f64) -> f64 {
    p.ln_dropout(x, lo, hi) - (p.r + x) * p.alpha.ln() - p.s * p.beta.ln()
}

/// ln of s ∫_lo^hi (α+u)^-(r+x) (β+u)^-(s+1) du by fine midpoint rules with Richardson's
/// step (error ~h⁴), in logs: with a large s the integrand is below the smallest double.
fn ln_dropout_by_midpoints(p: &Params, x: f64, lo: f64, hi: f64) -> f64 {
    let ln_f = |u: f64| -(p.r + x) * (p.alpha + u).ln() - (p.s + 1.0) * (p.beta + u).ln();
    let top = ln_f(lo).max(ln_f(hi));
    let rule = |n: u32| {
        let h = (hi - lo) / f64::from(n);
        (0..n)
            .map(|i| (ln_f(lo + (f64::from(i) + 0.5) * h) - top).exp() * h)
            .sum::<f64>()
    };
    let (coarse, fine) = (rule(200_000), rule(400_000));
    p.s.ln() + top + ((4.0 * fine - coarse) / 3.0).ln()
}

#[test]
fn the_dropout_integral_holds_when_dropout_hardly_varies() {
    // Dropout rates nearly the same for everyone (s, β huge, μ = s/β): what a fit on a
    // population without dropout heterogeneity walks towards. The quadrature needs one
    // or two panels there; a bound by s asked for 48 on every customer.
    let flat = Params {
        r: 4.66,
        alpha: 193.0,
        s: 413_947.0,
        beta: 6.04e8,
    };
    // And α > β with a large s: the series would need thousands of terms.
    let steep = Params {
        r: 1.2,
        alpha: 900.0,
        s: 5_000.0,
        beta: 300.0,
    };
    // A rising then falling integrand (r + x < 1) with a large s.
    let humped = Params {
        r: 0.4,
        alpha: 2.0,
        s: 3_000.0,
        beta: 9_000.0,
    };
    for p in [flat, steep, humped] {
        for (x, lo, hi) in [(0.0, 0.0, 700.0), (12.0, 40.0, 900.0), (3.0, 500.0, 501.0)] {
            let got = absolute(&p, x, lo, hi);
            let want = ln_dropout_by_midpoints(&p, x, lo, hi);
            assert!(
                ((got - want) / want).abs() < 1e-9,
                "{p:?} x {x} [{lo}, {hi}]: {got} vs {want}"
            );
        }
    }
}

#[test]
fn the_likelihood_tends_to_constant_dropout_as_s_grows() {
    // s, β → ∞ with s/β = μ: every customer drops out at rate μ, and the likelihood is
    // Γ(r+x)/Γ(r) α^r [e^-μT (α+T)^-(r+x) + μ ∫_tx^T e^-μu (α+u)^-(r+x) du]. A fit on a
    // chain without dropout heterogeneity walks there; in absolute logs s ln β (~1e13
    // here) would leave no digit of the answer.
    let (r, alpha, mu) = (4.66, 193.0, 6.9e-4);
    for (x, tx, t) in [(4.0, 300.0, 700.0), (0.0, 0.0, 365.0), (30.0, 29.0, 30.0)] {
        let n = 400_000;
        let h = (t - tx) / f64::from(n);
        let f = |u: f64| (-mu * u).exp() * (alpha + u).powf(-(r + x));
        let integral: f64 = (0..n).map(|i| f(tx + (f64::from(i) + 0.5) * h) * h).sum();
        let limit =
            ln_gamma(r + x) - ln_gamma(r) + r * f64::ln(alpha) + (f(t) + mu * integral).ln();
        for s in [1e9, 1e12, 1e15] {
            let p = Params {
                r,
                alpha,
                s,
                beta: s / mu,
            };
            let ll = p.log_likelihood(x, tx, t);
            assert!(
                (ll - limit).abs() < 1e-7 * limit.abs(),
                "s {s}: {ll} vs {limit}"
            );
        }
    }
}

/// Customers drawn from the Pareto/NBD process (whole days, 30..730 days observed), as
/// benches/models/pnbd.rs draws them, de-duplicated with weights.
fn drawn(n: usize, p: [f64; 4], seed: u64) -> Vec<Customer> {
    use rand::{Rng, SeedableRng};
    use rand_distr::{Distribution, Exp, Gamma};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut counts = std::collections::BTreeMap::new();
    for _ in 0..n {
        let lambda = Gamma::new(p[0], 1.0 / p[1])
            .expect("gamma")
            .sample(&mut rng);
        let mu = Gamma::new(p[2], 1.0 / p[3])
            .expect("gamma")
            .sample(&mut rng);
        let t = rng.random_range(30u32..=730);
        let end = Exp::new(mu)
            .expect("exp")
            .sample(&mut rng)
            .min(f64::from(t));
        let (mut now, mut x, mut tx) = (0.0, 0u32, 0u32);
        loop {
            let u: f64 = rng.random();
            now += -u.max(1e-300).ln() / lambda;
            if now > end {
                break;
            }
            let d = now.floor() as u32;
            if d > tx {
                (x, tx) = (x + 1, d);
            }
        }
        *counts.entry((x, tx, t)).or_insert(0.0) += 1.0;
    }
    counts
        .into_iter()
        .map(|((x, tx, t), w)| Customer {
            x: f64::from(x),
            tx: f64::from(tx),
            t: f64::from(t),
            w,
        })
        .collect()
}

#[test]
fn fit_finds_the_inner_optimum_beside_the_ridge() {
    // Dropout nearly the same for everyone: the samples the search warms up on lead to
    // s, β → ∞, where the likelihood is 1.54 lower than at lifetimes' optimum (s 8.62,
    // β 12,465), which the fit must find.
    let rows = drawn(200_000, [4.66, 193.0, 413_947.0, 604_175_029.0], 11);
    let f = fit(&rows, 0.0, &|| false).expect("runs").expect("fits");
    let lifetimes = Params {
        r: 4.8451,
        alpha: 203.979,
        s: 8.6205,
        beta: 12_465.427,
    };
    let theirs: f64 = rows
        .iter()
        .map(|c| c.w * lifetimes.log_likelihood(c.x, c.tx, c.t))
        .sum();
    assert!(f.log_likelihood >= theirs - 1e-3, "{f:?} vs {theirs}");
    assert!(f.params.s < 100.0, "{f:?}");
}

#[test]
fn fit_does_not_lose_to_the_truth() {
    let mut rows = Vec::new();
    for x in 0..6 {
        for tx in 0..=6 {
            let tx = f64::from(tx) * 5.0;
            if (x > 0) != (tx > 0.0) {
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
    let f = fit(&rows, 0.0, &|| false).expect("runs").expect("fits");
    let truth: f64 = rows
        .iter()
        .map(|c| c.w * CDNOW.log_likelihood(c.x, c.tx, c.t))
        .sum();
    assert!(f.log_likelihood >= truth - 1e-6, "{f:?} {truth}");
    assert!(f.params.is_valid());
    assert_eq!(fit(&rows[..1], 0.0, &|| false), Ok(None));
}
