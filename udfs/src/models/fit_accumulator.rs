//! The fits' accumulator: collects the customers' figures, de-duplicated, and runs the
//! optimiser once at the end (see `fit` for the SQL functions it serves).

use crate::models::args::{invalid, numbers};
use crate::models::bgnbd;
use crate::models::dedup::Rows;
use crate::models::fit::{FitStop, Model};
use crate::models::gamma_gamma;
use crate::models::pareto_nbd;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, StructArray};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Accumulator;
use std::sync::Arc;

/// The error of a fit that gave up on a cancel or a timeout (57014).
fn cancelled(name: &str) -> datafusion::error::DataFusionError {
    crate::error::canceled(name)
}

/// Weighted (frequency, recency, t) rows as the activity models' customers.
fn activity(rows: impl Iterator<Item = ([f64; 3], f64)>) -> Vec<bgnbd::Customer> {
    rows.map(|(v, w)| bgnbd::Customer {
        x: v[0],
        tx: v[1],
        t: v[2],
        w,
    })
    .collect()
}

/// The customers' figures (padded to three) with weights.
#[derive(Debug)]
pub(super) struct FitAccumulator {
    pub(super) model: Model,
    pub(super) penalizer: f64,
    pub(super) rows: Rows,
    pub(super) stop: Option<FitStop>,
}

impl FitAccumulator {
    fn check(&self, v: &[f64; 3]) -> Result<()> {
        let res = match self.model {
            Model::BgNbd(_) | Model::ParetoNbd => bgnbd::check(v[0], v[1], v[2]),
            Model::GammaGamma => gamma_gamma::check(v[0], v[1]),
        };
        res.map_err(|m| invalid(self.model.name(), m))
    }

    fn null_result(&self) -> ScalarValue {
        let fields = self.model.result_fields();
        ScalarValue::Struct(Arc::new(StructArray::new_null(fields, 1)))
    }
}

impl Accumulator for FitAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let n = self.model.inputs();
        let rows = values.first().map_or(0, |a| a.len());
        let cols = values[..n]
            .iter()
            .map(|a| {
                numbers(
                    &datafusion::logical_expr::ColumnarValue::Array(a.clone()),
                    rows,
                )
            })
            .collect::<Result<Vec<Float64Array>>>()?;
        let nulls = cols.iter().any(|c| c.null_count() > 0);
        let values: Vec<&[f64]> = cols.iter().map(|c| &c.values()[..]).collect();
        self.rows.reserve(rows);
        for i in 0..rows {
            if nulls && cols.iter().any(|c| c.is_null(i)) {
                continue;
            }
            let mut v = [0.0, 0.0, 0.0, 1.0];
            for (k, c) in values.iter().enumerate() {
                v[k] = c[i];
            }
            self.check(&[v[0], v[1], v[2]])?;
            // Gamma-Gamma fits repeat customers with a spend; the others never reach its
            // sums, so they are not kept (a fifth of a typical base).
            if matches!(self.model, Model::GammaGamma) && !(v[0] > 0.0 && v[1] > 0.0) {
                continue;
            }
            self.rows.push(v);
        }
        if self.rows.stopped() {
            return Err(cancelled(self.model.name()));
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        // One Float64 array (not one ScalarValue per number): with a million customers the
        // state is millions of values. Raw rows, moved out (DataFusion asks for a state once
        // and it may consume the accumulator's): the final phase sorts once.
        let values = Arc::new(Float64Array::from(self.rows.take_flat()));
        let field = Arc::new(Field::new_list_field(DataType::Float64, true));
        let offsets = datafusion::arrow::buffer::OffsetBuffer::from_lengths([values.len()]);
        let list = datafusion::arrow::array::ListArray::new(field, offsets, values, None);
        Ok(vec![ScalarValue::List(Arc::new(list))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        for i in 0..lists.len() {
            if lists.is_null(i) {
                continue;
            }
            let values = lists.value(i);
            let values: &Float64Array = values.as_primitive();
            self.rows.extend(
                values
                    .values()
                    .chunks_exact(4)
                    .map(|c| [c[0], c[1], c[2], c[3]]),
            );
        }
        if self.rows.stopped() {
            return Err(cancelled(self.model.name()));
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let name = self.model.name();
        let Some(rows) = self.rows.distinct() else {
            return Err(cancelled(name));
        };
        let rows = rows.iter().map(|r| ([r[0], r[1], r[2]], r[3]));
        let stop = self.stop.clone();
        let never = move || stop.as_ref().is_some_and(|s| (s.0)());
        let (params, ll, n) = match self.model {
            Model::BgNbd(variant) => {
                match bgnbd::fit(variant, &activity(rows), self.penalizer, &never) {
                    Ok(Some(f)) => (
                        vec![f.params.r, f.params.alpha, f.params.a, f.params.b],
                        f.log_likelihood,
                        f.n,
                    ),
                    Ok(None) => return Ok(self.null_result()),
                    Err(_) => return Err(cancelled(self.model.name())),
                }
            }
            Model::ParetoNbd => match pareto_nbd::fit(&activity(rows), self.penalizer, &never) {
                Ok(Some(f)) => (
                    vec![f.params.r, f.params.alpha, f.params.s, f.params.beta],
                    f.log_likelihood,
                    f.n,
                ),
                Ok(None) => return Ok(self.null_result()),
                Err(_) => return Err(cancelled(self.model.name())),
            },
            Model::GammaGamma => {
                let customers: Vec<gamma_gamma::Customer> = rows
                    .map(|(v, w)| gamma_gamma::Customer {
                        x: v[0],
                        m: v[1],
                        w,
                    })
                    .collect();
                match gamma_gamma::fit(&customers, self.penalizer, &never) {
                    Ok(Some(f)) => (
                        vec![f.params.p, f.params.q, f.params.gamma],
                        f.log_likelihood,
                        f.n,
                    ),
                    Ok(None) => return Ok(self.null_result()),
                    Err(_) => return Err(cancelled(self.model.name())),
                }
            }
        };
        let mut columns: Vec<ArrayRef> = params
            .into_iter()
            .map(|v| Arc::new(Float64Array::from(vec![v])) as ArrayRef)
            .collect();
        columns.push(Arc::new(Float64Array::from(vec![ll])));
        columns.push(Arc::new(Int64Array::from(vec![n.round() as i64])));
        let s = StructArray::try_new(self.model.result_fields(), columns, None)?;
        Ok(ScalarValue::Struct(Arc::new(s)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.rows.capacity() * std::mem::size_of::<crate::models::dedup::Row>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    /// A fit whose stop says yes gives up with the cancel message (57014 in the engine)
    /// instead of running its optimiser to the end; one whose stop says no fits.
    #[tokio::test]
    async fn a_fit_gives_up_when_its_stop_says_so() {
        let sql = "SELECT mbgnbd_fit(f, CASE WHEN f = 0 THEN 0 ELSE f + 1 END, 60) \
                   FROM (SELECT CAST(value % 5 AS DOUBLE) AS f FROM generate_series(1, 1000))";
        for stop in [true, false] {
            let ctx = SessionContext::new();
            for f in crate::fits(Some(FitStop(Arc::new(move || stop)))) {
                ctx.register_udaf(f);
            }
            let result = ctx.sql(sql).await.expect("plan").collect().await;
            match (stop, result) {
                (true, Err(e)) => assert!(e.to_string().contains("canceling statement"), "{e}"),
                (false, Ok(batches)) => assert_eq!(batches[0].num_rows(), 1),
                (stop, other) => panic!("stop={stop}: {other:?}"),
            }
        }
    }

    /// Rows are de-duplicated and summed in value order, so a fit gives the same bits
    /// whether its rows went through one partition or were split over four (partial states
    /// merged in whatever order they finish).
    #[tokio::test]
    async fn a_fit_does_not_depend_on_partitioning() {
        let sql = "SELECT bgnbd_fit(f, CASE WHEN f = 0 THEN 0 ELSE f + value % 7 END, 60) AS bg, \
                   gamma_gamma_fit(f, 10 + value % 13 + value % 1000 / 1000.0) AS gg \
                   FROM (SELECT value, CAST(value % 5 AS DOUBLE) AS f \
                         FROM generate_series(1, 200000))";
        let mut shown = Vec::new();
        for partitions in [1, 4] {
            let config = datafusion::prelude::SessionConfig::new()
                .with_target_partitions(partitions)
                .with_batch_size(1000);
            let ctx = SessionContext::new_with_config(config);
            for f in crate::fits(None) {
                ctx.register_udaf(f);
            }
            // A statement's result as text (EXPLAIN's plan, or the fits' structs).
            let text = |q: String| {
                let ctx = ctx.clone();
                async move {
                    let batches = ctx.sql(&q).await.expect("plan").collect().await;
                    let batches = batches.expect("run");
                    datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                        .expect("format")
                        .to_string()
                }
            };
            let plan = text(format!("EXPLAIN {sql}")).await;
            assert_eq!(plan.contains("mode=Partial"), partitions > 1, "{plan}");
            shown.push(text(sql.to_string()).await);
        }
        assert!(shown[0].contains("r: "), "{}", shown[0]);
        assert_eq!(shown[0], shown[1]);
    }
}
