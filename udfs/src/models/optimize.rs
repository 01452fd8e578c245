//! Minimisers for the model fits: BFGS with analytic gradients (what lifetimes does through
//! scipy and autograd: few evaluations, so fast on millions of customers), and Nelder–Mead
//! as the fallback when a gradient step cannot make progress.

/// Log-parameters beyond ±50 (a factor e^50) count as undefined in both minimisers, so a
/// likelihood whose optimum lies at infinity (data without heterogeneity) stops at the edge.
fn in_bounds(x: &[f64]) -> bool {
    x.iter().all(|v| v.abs() <= 50.0)
}

/// Why a minimisation stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// The caller's stop check said so (a cancelled or timed-out query).
    Cancelled,
}

#[derive(Debug, Clone)]
pub struct Minimum {
    pub x: Vec<f64>,
    pub value: f64,
    pub evaluations: usize,
    /// BFGS's last inverse Hessian approximation (row-major; empty from Nelder–Mead): a
    /// search on a similar function can start from it instead of the identity.
    pub inverse_hessian: Vec<f64>,
}

/// Minimises `f` from `x0`. Non-finite values count as +∞, so the search steps back from
/// regions where a likelihood is undefined. `stop` is polled once per iteration.
pub fn nelder_mead(
    mut f: impl FnMut(&[f64]) -> f64,
    x0: &[f64],
    tolerance: f64,
    max_evaluations: usize,
    stop: &dyn Fn() -> bool,
) -> Result<Minimum, Stopped> {
    let mut best = run(&mut f, x0, 0.5, tolerance, max_evaluations, stop)?;
    // One restart from the optimum: a collapsed simplex can stall short of the minimum.
    let again = run(&mut f, &best.x, 0.1, tolerance, max_evaluations, stop)?;
    let evaluations = best.evaluations + again.evaluations;
    if again.value <= best.value {
        best = again;
    }
    best.evaluations = evaluations;
    Ok(best)
}

fn run(
    f: &mut impl FnMut(&[f64]) -> f64,
    x0: &[f64],
    step: f64,
    tolerance: f64,
    max_evaluations: usize,
    stop: &dyn Fn() -> bool,
) -> Result<Minimum, Stopped> {
    let n = x0.len();
    let mut eval = |x: &[f64]| {
        let v = if in_bounds(x) { f(x) } else { f64::NAN };
        if v.is_finite() {
            v
        } else {
            f64::INFINITY
        }
    };
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(n + 1);
    simplex.push((x0.to_vec(), eval(x0)));
    for i in 0..n {
        let mut x = x0.to_vec();
        x[i] += step;
        let v = eval(&x);
        simplex.push((x, v));
    }
    let mut evaluations = n + 1;
    while evaluations < max_evaluations {
        if stop() {
            return Err(Stopped::Cancelled);
        }
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (lo, hi) = (simplex[0].1, simplex[n].1);
        let spread = simplex
            .iter()
            .skip(1)
            .flat_map(|(x, _)| x.iter().zip(&simplex[0].0).map(|(a, b)| (a - b).abs()))
            .fold(0.0f64, f64::max);
        if (hi - lo).abs() <= tolerance * (lo.abs() + tolerance) && spread <= tolerance.sqrt() {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| simplex[..n].iter().map(|(x, _)| x[j]).sum::<f64>() / n as f64)
            .collect();
        let toward = |t: f64| -> Vec<f64> {
            centroid
                .iter()
                .zip(&simplex[n].0)
                .map(|(c, w)| c + t * (w - c))
                .collect()
        };
        let reflected = toward(-1.0);
        let fr = eval(&reflected);
        evaluations += 1;
        if fr < simplex[0].1 {
            let expanded = toward(-2.0);
            let fe = eval(&expanded);
            evaluations += 1;
            simplex[n] = if fe < fr {
                (expanded, fe)
            } else {
                (reflected, fr)
            };
        } else if fr < simplex[n - 1].1 {
            simplex[n] = (reflected, fr);
        } else {
            let contracted = if fr < simplex[n].1 {
                toward(-0.5)
            } else {
                toward(0.5)
            };
            let fc = eval(&contracted);
            evaluations += 1;
            if fc < simplex[n].1.min(fr) {
                simplex[n] = (contracted, fc);
            } else {
                let best = simplex[0].0.clone();
                for (x, v) in simplex.iter_mut().skip(1) {
                    for (xi, bi) in x.iter_mut().zip(&best) {
                        *xi = bi + 0.5 * (*xi - bi);
                    }
                    *v = eval(x);
                }
                evaluations += n;
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (x, value) = simplex.swap_remove(0);
    Ok(Minimum {
        x,
        value,
        evaluations,
        inverse_hessian: Vec::new(),
    })
}

/// Minimises `f` (returning value and gradient) from `x0` by BFGS with a backtracking
/// line search, starting from the inverse Hessian `h0` (identity when None or of the wrong
/// size). Stops when the gradient's largest component is below `gtol`. Returns None when it
/// cannot make progress (a non-finite value at the start, or no descent), so the caller can
/// fall back to Nelder–Mead. `stop` is polled at every evaluation after the first.
pub fn bfgs(
    mut f: impl FnMut(&[f64]) -> (f64, Vec<f64>),
    x0: &[f64],
    h0: Option<&[f64]>,
    gtol: f64,
    max_iterations: usize,
    stop: &dyn Fn() -> bool,
) -> Result<Option<Minimum>, Stopped> {
    let n = x0.len();
    let mut x = x0.to_vec();
    let (mut fx, mut g) = f(&x);
    let mut evaluations = 1;
    if !fx.is_finite() || g.iter().any(|v| !v.is_finite()) {
        return Ok(None);
    }
    // Inverse Hessian approximation, row-major.
    let mut h = match h0 {
        Some(h0) if h0.len() == n * n && h0.iter().all(|v| v.is_finite()) => h0.to_vec(),
        _ => identity(n),
    };
    // Iterations in a row that improved the value by a negligible amount: the optimum is at
    // the edge of the parameter space (e.g. no heterogeneity in the data), so stop there.
    let mut stalled = 0;
    for _ in 0..max_iterations {
        if stop() {
            return Err(Stopped::Cancelled);
        }
        if g.iter().fold(0.0f64, |m, v| m.max(v.abs())) < gtol {
            return Ok(Some(Minimum {
                x,
                value: fx,
                evaluations,
                inverse_hessian: h,
            }));
        }
        let mut d: Vec<f64> = (0..n)
            .map(|i| -(0..n).map(|j| h[i * n + j] * g[j]).sum::<f64>())
            .collect();
        let mut slope: f64 = d.iter().zip(&g).map(|(a, b)| a * b).sum();
        if slope >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            h = identity(n);
            d = g.iter().map(|v| -v).collect();
            slope = -g.iter().map(|v| v * v).sum::<f64>();
        }
        // Keep the first steps modest: the parameters are logs, so a step of 2 is a factor e^2.
        let longest = d.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let mut step = if longest > 2.0 { 2.0 / longest } else { 1.0 };
        let (xn, fn_, gn) = loop {
            let xn: Vec<f64> = x.iter().zip(&d).map(|(a, b)| a + step * b).collect();
            let (fv, gv) = if in_bounds(&xn) {
                f(&xn)
            } else {
                (f64::NAN, vec![])
            };
            evaluations += 1;
            // A line search on flat ground halves its step some forty times, each a full
            // evaluation (a tenth of a second over millions of customers): ask between them.
            if stop() {
                return Err(Stopped::Cancelled);
            }
            if fv.is_finite() && gv.iter().all(|v| v.is_finite()) && fv <= fx + 1e-4 * step * slope
            {
                break (xn, fv, gv);
            }
            step *= 0.5;
            if step < 1e-12 {
                // No descent possible at machine precision: this is the optimum we can reach.
                return Ok(Some(Minimum {
                    x,
                    value: fx,
                    evaluations,
                    inverse_hessian: h,
                }));
            }
        };
        let s: Vec<f64> = xn.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = gn.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy: f64 = s.iter().zip(&y).map(|(a, b)| a * b).sum();
        if sy > 1e-300 {
            // H' = (I - ρ s yᵀ) H (I - ρ y sᵀ) + ρ s sᵀ
            let rho = 1.0 / sy;
            let hy: Vec<f64> = (0..n)
                .map(|i| (0..n).map(|j| h[i * n + j] * y[j]).sum())
                .collect();
            let yhy: f64 = y.iter().zip(&hy).map(|(a, b)| a * b).sum();
            for i in 0..n {
                for j in 0..n {
                    h[i * n + j] += -rho * (hy[i] * s[j] + s[i] * hy[j])
                        + (rho * rho * yhy + rho) * s[i] * s[j];
                }
            }
        }
        let converged = (fx - fn_).abs() <= 1e-15 * fx.abs().max(1.0);
        if (fx - fn_).abs() <= 1e-10 * fx.abs().max(1.0) {
            stalled += 1;
        } else {
            stalled = 0;
        }
        x = xn;
        fx = fn_;
        g = gn;
        let small = g.iter().fold(0.0f64, |m, v| m.max(v.abs())) < gtol.sqrt();
        if converged && small || stalled >= 5 {
            return Ok(Some(Minimum {
                x,
                value: fx,
                evaluations,
                inverse_hessian: h,
            }));
        }
    }
    Ok(Some(Minimum {
        x,
        value: fx,
        evaluations,
        inverse_hessian: h,
    }))
}

/// The n×n identity, row-major.
fn identity(n: usize) -> Vec<f64> {
    (0..n * n)
        .map(|k| if k % (n + 1) == 0 { 1.0 } else { 0.0 })
        .collect()
}

/// The inverse of `f`'s Hessian at `x`, from forward differences of its gradient (n + 1
/// evaluations; a start for BFGS needs no more accuracy); None unless it is finite and
/// positive definite.
fn inverse_hessian_at(f: &Objective<'_>, x: &[f64]) -> Option<Vec<f64>> {
    let n = x.len();
    let step = 1e-5;
    let g0 = f(x).1;
    let mut a = vec![0.0; n * n];
    for j in 0..n {
        let mut up = x.to_vec();
        up[j] += step;
        let g = f(&up).1;
        if g.len() != n || g0.len() != n {
            return None;
        }
        for i in 0..n {
            a[i * n + j] = (g[i] - g0[i]) / step;
        }
    }
    // Cholesky factor L (A = L Lᵀ) of the symmetrised matrix.
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let aij = 0.5 * (a[i * n + j] + a[j * n + i]);
            let sum = aij - (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum::<f64>();
            if i == j {
                if sum.is_nan() || sum <= 0.0 {
                    return None;
                }
                l[i * n + i] = sum.sqrt();
            } else {
                l[i * n + j] = sum / l[j * n + j];
            }
        }
    }
    // A⁻¹ column by column: solve L y = e_c, then Lᵀ z = y.
    let mut inv = vec![0.0; n * n];
    for c in 0..n {
        let mut y = vec![0.0; n];
        for i in 0..n {
            let e = if i == c { 1.0 } else { 0.0 };
            y[i] = (e - (0..i).map(|k| l[i * n + k] * y[k]).sum::<f64>()) / l[i * n + i];
        }
        for i in (0..n).rev() {
            let z = (y[i]
                - (i + 1..n)
                    .map(|k| l[k * n + i] * inv[k * n + c])
                    .sum::<f64>())
                / l[i * n + i];
            inv[i * n + c] = z;
        }
    }
    inv.iter().all(|v| v.is_finite()).then_some(inv)
}

/// A function and its gradient.
pub type Objective<'a> = dyn Fn(&[f64]) -> (f64, Vec<f64>) + 'a;

/// The warm start's subsamples of `rows` customers, coarse to fine: every 128th, then every
/// 16th, each only when it keeps at least 1,250 rows (fewer are too noisy to save anything).
pub fn sample_strides(rows: usize) -> impl Iterator<Item = usize> {
    [128, 16].into_iter().filter(move |k| rows >= 1_250 * k)
}

/// The fits' strategy: BFGS from a warm start — the optimum of each of `samples`, cheap
/// subsamples' objectives from coarse to fine, each started from the one before — falling
/// back to Nelder–Mead when BFGS cannot move. Works on log-parameters starting from 0
/// (every parameter 1).
pub fn minimise<S: Fn(&[f64]) -> (f64, Vec<f64>)>(
    full: &Objective<'_>,
    samples: &[S],
    dims: usize,
    stop: &dyn Fn() -> bool,
) -> Result<Minimum, Stopped> {
    minimise_from(&vec![0.0f64; dims], full, samples, stop)
}

/// `minimise` from `cold` instead of every parameter 1.
pub fn minimise_from<S: Fn(&[f64]) -> (f64, Vec<f64>)>(
    cold: &[f64],
    full: &Objective<'_>,
    samples: &[S],
    stop: &dyn Fn() -> bool,
) -> Result<Minimum, Stopped> {
    let cold = cold.to_vec();
    let (mut start, mut h) = (cold.clone(), None);
    for s in samples {
        match bfgs(s, &start, h.as_deref(), 1e-6, 500, stop)? {
            Some(m) if m.x.iter().all(|x| x.is_finite()) => {
                // Each stage starts with the curvature measured at the last optimum: a
                // sample's is close to the full objective's (both are means over
                // customers), while BFGS's own estimate after a few dozen steps is rough (a
                // polish from it gained only ~15x per step).
                h = Some(inverse_hessian_at(s, &m.x).unwrap_or(m.inverse_hessian));
                start = m.x;
            }
            _ => (start, h) = (cold.clone(), None),
        }
    }
    // lifetimes' tolerance (scipy's BFGS with tol=1e-7).
    match bfgs(full, &start, h.as_deref(), 1e-7, 500, stop)? {
        Some(m) => Ok(m),
        None => nelder_mead(|th| full(th).0, &start, 1e-11, 4_000, stop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rosenbrock_minimum() {
        let rosen = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let m = nelder_mead(rosen, &[-1.2, 1.0], 1e-12, 20_000, &|| false).expect("runs");
        assert!(
            (m.x[0] - 1.0).abs() < 1e-4 && (m.x[1] - 1.0).abs() < 1e-4,
            "{m:?}"
        );
    }

    #[test]
    fn bfgs_finds_the_rosenbrock_minimum() {
        let rosen = |x: &[f64]| {
            let v = (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
            let g = vec![
                -2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] * x[0]),
                200.0 * (x[1] - x[0] * x[0]),
            ];
            (v, g)
        };
        let m = bfgs(rosen, &[-1.2, 1.0], None, 1e-10, 1_000, &|| false)
            .expect("runs")
            .expect("converges");
        assert!(
            (m.x[0] - 1.0).abs() < 1e-6 && (m.x[1] - 1.0).abs() < 1e-6,
            "{m:?}"
        );
    }

    #[test]
    fn steps_around_undefined_regions() {
        let f = |x: &[f64]| {
            if x[0] < 0.0 {
                f64::NAN
            } else {
                (x[0] - 2.0).powi(2)
            }
        };
        let m = nelder_mead(f, &[0.5], 1e-12, 5_000, &|| false).expect("runs");
        assert!((m.x[0] - 2.0).abs() < 1e-4);
    }

    #[test]
    fn stops_when_told() {
        let f = |x: &[f64]| x[0] * x[0];
        assert_eq!(
            nelder_mead(f, &[3.0], 1e-12, 5_000, &|| true).unwrap_err(),
            Stopped::Cancelled
        );
    }

    /// A stop that comes during a line search ends it there, not after its forty halvings:
    /// on flat ground (a gradient that promises a descent the values never show) every
    /// halving is a full evaluation.
    #[test]
    fn a_line_search_stops_when_told() {
        let calls = std::cell::Cell::new(0);
        let flat = |_: &[f64]| {
            calls.set(calls.get() + 1);
            (1.0, vec![1.0])
        };
        let stop = || calls.get() >= 3;
        assert_eq!(
            bfgs(flat, &[0.0], None, 1e-9, 10, &stop).unwrap_err(),
            Stopped::Cancelled
        );
        assert_eq!(calls.get(), 3);
        let bs = std::cell::Cell::new(0);
        let flat = |_: &[f64]| {
            bs.set(bs.get() + 1);
            (1.0, vec![1.0])
        };
        assert!(bfgs(flat, &[0.0], None, 1e-9, 10, &|| false).is_ok());
        assert!(bs.get() > 30, "{} evaluations", bs.get());
    }

    #[test]
    fn measures_the_inverse_hessian_of_a_convex_function_only() {
        // f = ½ xᵀAx + a cubic term that vanishes at 0, A = [[4, 1], [1, 3]]:
        // A⁻¹ = [[3, -1], [-1, 4]] / 11.
        let f = |x: &[f64]| {
            let v = 2.0 * x[0] * x[0] + x[0] * x[1] + 1.5 * x[1] * x[1] + x[0].powi(3);
            (
                v,
                vec![4.0 * x[0] + x[1] + 3.0 * x[0] * x[0], x[0] + 3.0 * x[1]],
            )
        };
        let inv = inverse_hessian_at(&f, &[0.0, 0.0]).expect("positive definite");
        let want = [3.0 / 11.0, -1.0 / 11.0, -1.0 / 11.0, 4.0 / 11.0];
        for (g, w) in inv.iter().zip(want) {
            assert!((g - w).abs() < 1e-4, "{inv:?}");
        }
        // A saddle has no inverse Hessian to start BFGS with.
        let saddle = |x: &[f64]| (x[0] * x[0] - x[1] * x[1], vec![2.0 * x[0], -2.0 * x[1]]);
        assert_eq!(inverse_hessian_at(&saddle, &[0.0, 0.0]), None);
    }
}
