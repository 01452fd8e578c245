//! (c) Pareto/NBD fits over 200,000 synthetic customers drawn from the Pareto/NBD process
//!     (whole days, observed 30..730 days) in two shapes: dropout rates that vary across
//!     customers (s 0.6), and dropout nearly the same for everyone (s 413,947, β 6.04e8: what
//!     a chain from `cip generate` fits to, where the fit walks towards s, β → ∞). cip's
//!     `pnbd_fit` vs lifetimes' ParetoNBDFitter given the same de-duplicated rows with
//!     weights. Both log-likelihoods are computed by lifetimes' own formula at each fit's
//!     parameters: the higher one fitted better.

use super::{best_of, python, session, shown};
use datafusion::arrow::array::{Float64Array, RecordBatch, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp, Gamma};
use std::path::Path;
use std::sync::Arc;

const CUSTOMERS: usize = 200_000;

/// The two shapes: name, (r, α, s, β) with α and β in days.
const SHAPES: [(&str, [f64; 4]); 2] = [
    ("heterogeneous dropout", [0.8, 40.0, 0.6, 300.0]),
    (
        "near-constant dropout",
        [4.66, 193.0, 413_947.0, 604_175_029.0],
    ),
];

/// One customer: (repeat visit-days, day of the last, days observed).
fn customer(p: [f64; 4], rng: &mut rand_chacha::ChaCha8Rng) -> [f64; 3] {
    let lambda = Gamma::new(p[0], 1.0 / p[1]).expect("gamma").sample(rng);
    let mu = Gamma::new(p[2], 1.0 / p[3]).expect("gamma").sample(rng);
    let t = f64::from(rng.random_range(30u32..=730));
    let end = Exp::new(mu).expect("exp").sample(rng).min(t);
    let (mut now, mut x, mut tx) = (0.0, 0.0, 0.0);
    loop {
        let u: f64 = rng.random();
        now += -u.max(1e-300).ln() / lambda;
        if now > end {
            break;
        }
        let d = now.floor();
        if d > tx {
            (x, tx) = (x + 1.0, d);
        }
    }
    [x, tx, t]
}

fn write(path: &Path, p: [f64; 4]) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let rows: Vec<[f64; 3]> = (0..CUSTOMERS).map(|_| customer(p, &mut rng)).collect();
    let schema = Arc::new(Schema::new(
        ["frequency", "recency", "t"]
            .map(|n| Field::new(n, DataType::Float64, false))
            .to_vec(),
    ));
    let cols = (0..3)
        .map(|k| Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r[k]))) as _)
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), cols).expect("batch");
    let file = std::fs::File::create(path).expect("create");
    let mut w =
        datafusion::parquet::arrow::ArrowWriter::try_new(file, schema, None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
}

pub async fn fits(dir: &Path) {
    let ctx = session(&dir.join("empty")).await;
    for (i, (shape, truth)) in SHAPES.iter().enumerate() {
        let file = dir.join(format!("pnbd{i}.parquet"));
        write(&file, *truth);
        ctx.sql(&format!(
            "CREATE EXTERNAL TABLE pnbd{i} STORED AS PARQUET LOCATION '{}'",
            file.display()
        ))
        .await
        .expect("table");
        let q = format!("SELECT pnbd_fit(frequency, recency, t) AS p FROM pnbd{i}");
        let (best, b) = best_of(&ctx, &q, 3).await;
        println!("Pareto/NBD, {shape}, truth {truth:?}");
        println!("cip pnbd_fit (best of 3): {best:.3} s\n{}", shown(&b));
        if std::env::var_os("CIP_BENCH_NO_PYTHON").is_some() {
            continue;
        }
        let fit = b[0]
            .column(0)
            .as_any()
            .downcast_ref::<StructArray>()
            .expect("struct");
        let ours = ["r", "alpha", "s", "beta"].map(|n| {
            fit.column_by_name(n)
                .and_then(|c| c.as_any().downcast_ref::<Float64Array>())
                .map_or(f64::NAN, |c| c.value(0))
        });
        let script = format!(
            r#"
import time, warnings, numpy as np, pandas as pd
from lifetimes import ParetoNBDFitter
warnings.simplefilter("ignore")
df = pd.read_parquet("{file}")
g = df.groupby(["frequency", "recency", "t"]).size().reset_index(name="w")
t = time.time()
try:
    f = ParetoNBDFitter().fit(g.frequency, g.recency, g.t, weights=g.w)
    theirs = list(f.params_)
except Exception as e:
    theirs = [float("nan")] * 4
took = time.time() - t
ll = lambda p: float((g.w * ParetoNBDFitter._conditional_log_likelihood(p, g.frequency, g.recency, g.t)).sum(skipna=False))
print(took, len(g), *theirs, ll(theirs), ll({ours:?}))
"#,
            file = file.display(),
        );
        let v: Vec<f64> = python(&script)
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect();
        println!(
            "lifetimes 0.11.3 ParetoNBDFitter, de-duplicated with weights ({} rows): {:.1} s, r {:.4} alpha {:.3} s {:.4} beta {:.3}",
            v[1], v[0], v[2], v[3], v[4], v[5]
        );
        println!(
            "log-likelihood at lifetimes' parameters {:.2}, at cip's {:.2}; ratio: cip takes 1/{:.0} of lifetimes' time",
            v[6],
            v[7],
            v[0] / best
        );
    }
}
