//! The BG/NBD and MBG/NBD likelihood over many customers, with its gradient, arranged so one
//! evaluation costs a few arithmetic operations per distinct customer: everything that
//! depends only on x (the ln Γ and ψ terms) is computed once per distinct x, and ln(α + T),
//! ln(α + t_x) once per distinct T and t_x (whole days give a few hundred of each).

use crate::models::bgnbd::{Customer, Variant};
use crate::models::dedup::Dict;
use crate::models::special::{digamma, ln_gamma};

#[derive(Clone, Copy)]
struct Row {
    x: u32,
    t: u32,
    tx: u32,
    w: f64,
}

pub struct Prepared {
    xs: Vec<f64>,
    ts: Vec<f64>,
    txs: Vec<f64>,
    rows: Vec<Row>,
    n: f64,
}

impl Prepared {
    /// `customers` in a fixed order (the fit's sums, and so its result, follow it), with
    /// times multiplied by `scale`.
    pub fn new(customers: &[Customer], scale: f64) -> Prepared {
        let (mut xs, mut ts, mut txs) = (Dict::default(), Dict::default(), Dict::default());
        let rows = customers
            .iter()
            .map(|c| Row {
                x: xs.index(c.x),
                t: ts.index(c.t),
                tx: txs.index(c.tx),
                w: c.w,
            })
            .collect();
        let n = customers.iter().map(|c| c.w).sum();
        let scaled = |d: Dict| d.into_values().into_iter().map(|v| v * scale).collect();
        Prepared {
            xs: xs.into_values(),
            ts: scaled(ts),
            txs: scaled(txs),
            rows,
            n,
        }
    }

    /// How many (distinct) customers.
    pub fn customers(&self) -> usize {
        self.rows.len()
    }

    /// Every `k`-th customer, weighted up by k (a warm start's data).
    pub fn sample(&self, k: usize) -> Prepared {
        let rows: Vec<Row> = self
            .rows
            .iter()
            .step_by(k)
            .map(|r| Row {
                w: r.w * k as f64,
                ..*r
            })
            .collect();
        let n = rows.iter().map(|r| r.w).sum();
        Prepared {
            xs: self.xs.clone(),
            ts: self.ts.clone(),
            txs: self.txs.clone(),
            rows,
            n,
        }
    }

    /// Mean negative log-likelihood plus the L2 penalty, and its gradient, at
    /// θ = ln(r, α, a, b).
    pub fn objective(&self, v: Variant, theta: &[f64], penalizer: f64) -> (f64, Vec<f64>) {
        let [r, alpha, a, b] = [0, 1, 2, 3].map(|i| theta[i].exp());
        // Per distinct x: the x-only part K of the log-likelihood and its partials, and the
        // constant of A4.
        let per_x: Vec<[f64; 6]> = self
            .xs
            .iter()
            .map(|&x| {
                let (k, kr) = (
                    ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln(),
                    digamma(r + x) - digamma(r) + alpha.ln(),
                );
                let (lg, dg, c4, dc4) = match v {
                    Variant::Bg if x == 0.0 => (0.0, [0.0, 0.0], f64::NAN, 0.0),
                    Variant::Bg => (
                        ln_gamma(a + b) + ln_gamma(b + x) - ln_gamma(b) - ln_gamma(a + b + x),
                        [
                            digamma(a + b) - digamma(a + b + x),
                            digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x),
                        ],
                        a.ln() - (b + x - 1.0).ln(),
                        -1.0 / (b + x - 1.0),
                    ),
                    Variant::Mbg => (
                        ln_gamma(a + b) + ln_gamma(b + x + 1.0)
                            - ln_gamma(b)
                            - ln_gamma(a + b + x + 1.0),
                        [
                            digamma(a + b) - digamma(a + b + x + 1.0),
                            digamma(a + b) + digamma(b + x + 1.0)
                                - digamma(b)
                                - digamma(a + b + x + 1.0),
                        ],
                        a.ln() - (b + x).ln(),
                        -1.0 / (b + x),
                    ),
                };
                [k + lg, kr, dg[0], dg[1], c4, dc4]
            })
            .collect();
        let logs = |vals: &[f64]| -> Vec<(f64, f64)> {
            vals.iter()
                .map(|t| ((alpha + t).ln(), 1.0 / (alpha + t)))
                .collect()
        };
        let (lt, ltx) = (logs(&self.ts), logs(&self.txs));
        let chunk = |rows: &[Row]| -> [f64; 5] {
            let mut acc = [0.0f64; 5];
            for row in rows {
                let x = self.xs[row.x as usize];
                let p = &per_x[row.x as usize];
                let (l_t, i_t) = lt[row.t as usize];
                let (l_tx, i_tx) = ltx[row.tx as usize];
                let rx = r + x;
                let (ll, dr, dalpha, da, db);
                match v {
                    Variant::Bg if x == 0.0 => {
                        ll = p[0] - rx * l_t;
                        dr = p[1] - l_t;
                        dalpha = r / alpha - rx * i_t;
                        da = 0.0;
                        db = 0.0;
                    }
                    Variant::Bg => {
                        let a3 = -rx * l_t;
                        let a4 = p[4] - rx * l_tx;
                        // One exp and one ln_1p give both log(e^a3 + e^a4) and the share of a4.
                        let d = a4 - a3;
                        let e = (-d.abs()).exp();
                        let s4 = if d > 0.0 {
                            1.0 / (1.0 + e)
                        } else {
                            e / (1.0 + e)
                        };
                        let s3 = 1.0 - s4;
                        ll = p[0] + a3.max(a4) + e.ln_1p();
                        dr = p[1] - s3 * l_t - s4 * l_tx;
                        dalpha = r / alpha - rx * (s3 * i_t + s4 * i_tx);
                        da = p[2] + s4 / a;
                        db = p[3] + s4 * p[5];
                    }
                    Variant::Mbg => {
                        let a4 = p[4] + rx * (l_t - l_tx);
                        let e = (-a4.abs()).exp();
                        let s = if a4 > 0.0 {
                            1.0 / (1.0 + e)
                        } else {
                            e / (1.0 + e)
                        };
                        let softplus = a4.max(0.0) + e.ln_1p();
                        ll = p[0] - rx * l_t + softplus;
                        dr = p[1] - l_t + s * (l_t - l_tx);
                        dalpha = r / alpha - rx * i_t + s * rx * (i_t - i_tx);
                        da = p[2] + s / a;
                        db = p[3] + s * p[5];
                    }
                }
                acc[0] += row.w * ll;
                acc[1] += row.w * dr;
                acc[2] += row.w * dalpha;
                acc[3] += row.w * da;
                acc[4] += row.w * db;
            }
            acc
        };
        let total = crate::models::split_sum::sum_halves(&self.rows, chunk);
        let params = [r, alpha, a, b];
        let value = -total[0] / self.n + penalizer * params.iter().map(|p| p * p).sum::<f64>();
        // d/dθ = p · d/dp
        let grad = (0..4)
            .map(|i| params[i] * (-total[i + 1] / self.n + 2.0 * penalizer * params[i]))
            .collect();
        (value, grad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::bgnbd::Params;

    #[test]
    fn gradient_matches_finite_differences() {
        let customers: Vec<Customer> = (0..40)
            .map(|i| {
                let x = f64::from(i % 5);
                Customer {
                    x,
                    tx: if x > 0.0 { 3.0 + f64::from(i % 7) } else { 0.0 },
                    t: 12.0 + f64::from(i % 3),
                    w: 1.0 + f64::from(i % 2),
                }
            })
            .collect();
        let prep = Prepared::new(&customers, 1.0);
        let theta = [0.2f64.ln(), 3.0f64.ln(), 0.8f64.ln(), 2.5f64.ln()];
        for v in [Variant::Bg, Variant::Mbg] {
            let (f0, g) = prep.objective(v, &theta, 0.01);
            // The value agrees with the per-customer likelihood.
            let p = Params {
                r: 0.2,
                alpha: 3.0,
                a: 0.8,
                b: 2.5,
            };
            let n: f64 = customers.iter().map(|c| c.w).sum();
            let direct = -customers
                .iter()
                .map(|c| c.w * p.log_likelihood(v, c.x, c.tx, c.t))
                .sum::<f64>()
                / n
                + 0.01 * (0.04 + 9.0 + 0.64 + 6.25);
            assert!((f0 - direct).abs() < 1e-10, "{v:?}: {f0} vs {direct}");
            for i in 0..4 {
                let h = 1e-6;
                let mut up = theta;
                up[i] += h;
                let mut down = theta;
                down[i] -= h;
                let fd =
                    (prep.objective(v, &up, 0.01).0 - prep.objective(v, &down, 0.01).0) / (2.0 * h);
                assert!(
                    (fd - g[i]).abs() < 1e-6,
                    "{v:?} component {i}: {fd} vs {}",
                    g[i]
                );
            }
        }
    }
}
