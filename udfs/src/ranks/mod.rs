//! A member's place in the population from stored cut points, one row at a time:
//! `quantile_bucket(x, cuts)` (the RFM quintile) and `quantile_rank(x, cuts)` (the CLV
//! percentile). The cut points are fitted once a day over the whole population
//! (model_fit('population'), with cuts.rs's quantile_cuts and percentile_cuts); scoring a
//! member against them needs no window over everyone, so one member can be scored, or
//! rescored after a visit, alone.

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Float64Builder, Int64Builder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, DocSection, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};
use std::sync::{Arc, OnceLock};

mod cuts;
mod first_box;
pub use cuts::{Cuts, CutsUdf};
pub use first_box::FirstBoxUdf;

const SECTION: DocSection = DocSection {
    include: true,
    label: "cip population ranks",
    description: Some(
        "A member's quintile or percentile among the population, from the day's stored cut points.",
    ),
};

/// Which of the two functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rank {
    Bucket,
    Percentile,
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RankUdf {
    rank: Rank,
    signature: Signature,
}

impl RankUdf {
    pub fn new(rank: Rank) -> Self {
        RankUdf {
            rank,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// An array of numbers (or an untyped NULL) as an argument.
fn list_of_numbers(t: &DataType) -> bool {
    match t {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            f.data_type().is_numeric() || f.data_type().is_null()
        }
        t => t.is_null(),
    }
}

fn cuts_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true)))
}

/// 1 + the number of cut points at or below `x` (NULL cuts count for nothing).
pub fn bucket(x: f64, cuts: &[Option<f64>]) -> i64 {
    1 + cuts.iter().flatten().filter(|c| x >= **c).count() as i64
}

/// The share of the population below `x`, when `cuts` are the values at equally spaced ranks
/// 0, 1/(k-1), …, 1 in ascending order: linear between neighbours, the lowest rank of a run
/// of equal cut points (as percent_rank gives tied values the lowest), 0 below the first and
/// 1 above the last.
pub fn percentile(x: f64, cuts: &[f64]) -> f64 {
    let j = cuts.partition_point(|c| *c < x);
    if j == 0 {
        return 0.0;
    }
    if j == cuts.len() {
        return 1.0;
    }
    let steps = (cuts.len() - 1) as f64;
    if cuts[j] == x {
        return j as f64 / steps;
    }
    let (lo, hi) = (cuts[j - 1], cuts[j]);
    (j as f64 - 1.0 + (x - lo) / (hi - lo)) / steps
}

impl ScalarUDFImpl for RankUdf {
    fn name(&self) -> &str {
        match self.rank {
            Rank::Bucket => "quantile_bucket",
            Rank::Percentile => "quantile_rank",
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        match types {
            [x, cuts] if (x.is_numeric() || x.is_null()) && list_of_numbers(cuts) => {
                Ok(vec![DataType::Float64, cuts_type()])
            }
            [x, cuts] => {
                plan_err!("type mismatch: {name} takes (number, number[]), got ({x}, {cuts})")
            }
            _ => plan_err!(
                "type mismatch: {name} takes 2 arguments, got {}",
                types.len()
            ),
        }
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(match self.rank {
            Rank::Bucket => DataType::Int64,
            Rank::Percentile => DataType::Float64,
        })
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let x = cast(&args.args[0].to_array(n)?, &DataType::Float64)?;
        let x = x.as_primitive::<Float64Type>();
        let cuts = cast(&args.args[1].to_array(n)?, &cuts_type())?;
        let cuts = cuts.as_list::<i32>();
        let out: ArrayRef = match self.rank {
            Rank::Bucket => {
                let mut out = Int64Builder::with_capacity(n);
                for i in 0..n {
                    match (x.is_valid(i) && !x.value(i).is_nan(), cuts.is_valid(i)) {
                        (true, true) => {
                            let c = cuts.value(i);
                            let c: Vec<Option<f64>> =
                                c.as_primitive::<Float64Type>().iter().collect();
                            out.append_value(bucket(x.value(i), &c));
                        }
                        _ => out.append_null(),
                    }
                }
                Arc::new(out.finish())
            }
            Rank::Percentile => {
                let mut out = Float64Builder::with_capacity(n);
                for i in 0..n {
                    if !(x.is_valid(i) && !x.value(i).is_nan() && cuts.is_valid(i)) {
                        out.append_null();
                        continue;
                    }
                    let c = cuts.value(i);
                    let c: &Float64Array = c.as_primitive::<Float64Type>();
                    if c.is_empty() {
                        out.append_null();
                        continue;
                    }
                    let v = c.values();
                    if c.null_count() > 0
                        || v.iter().any(|x| x.is_nan())
                        || v.windows(2).any(|w| w[0] > w[1])
                    {
                        return Err(crate::error::invalid_argument(
                            "quantile_rank",
                            "cut points must be ascending numbers without NULLs",
                        ));
                    }
                    out.append_value(percentile(x.value(i), c.values()));
                }
                Arc::new(out.finish())
            }
        };
        Ok(ColumnarValue::Array(out))
    }
    fn documentation(&self) -> Option<&Documentation> {
        static BUCKET: OnceLock<Documentation> = OnceLock::new();
        static PERCENTILE: OnceLock<Documentation> = OnceLock::new();
        Some(match self.rank {
            Rank::Bucket => BUCKET.get_or_init(|| {
                Documentation::builder(
                    SECTION,
                    "The bucket of x among ascending cut points: 1 plus the number of cut \
                     points at or below x (a NULL cut point counts for nothing). With the four \
                     quintile cut points of model_fit('population') it is the RFM score 1-5; a \
                     value equal to a cut point takes the higher bucket. NULL or NaN x, or a \
                     NULL array, gives NULL; an empty array gives 1.",
                    "quantile_bucket(x, cuts)",
                )
                .with_argument("x", "A number.")
                .with_argument("cuts", "An array of numbers in ascending order.")
                .with_sql_example("SELECT quantile_bucket(7, [2, 5, 7, 9]); -- 4")
                .build()
            }),
            Rank::Percentile => PERCENTILE.get_or_init(|| {
                Documentation::builder(
                    SECTION,
                    "The share of the population below x (0-1), when cuts are the values at \
                     equally spaced ranks 0, 1/(k-1), ..., 1 of that population in ascending \
                     order (model_fit('population')'s clv_cuts: k = 101). Linear between two \
                     cut points; a value equal to a run of equal cut points takes the run's \
                     lowest rank, as percent_rank() gives ties; 0 at or below the first, 1 \
                     above the last. NULL or NaN x, a NULL or empty array gives NULL; cut \
                     points that are NULL or not ascending are an error (22023).",
                    "quantile_rank(x, cuts)",
                )
                .with_argument("x", "A number.")
                .with_argument(
                    "cuts",
                    "The population's values at equally spaced ranks, ascending.",
                )
                .with_sql_example("SELECT quantile_rank(15, [0, 10, 20]); -- 0.75")
                .build()
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{bucket, percentile};

    #[test]
    fn a_bucket_counts_the_cut_points_reached() {
        let cuts = [Some(2.0), Some(5.0), Some(7.0), Some(9.0)];
        assert_eq!(bucket(1.0, &cuts), 1);
        assert_eq!(bucket(7.0, &cuts), 4);
        assert_eq!(bucket(100.0, &cuts), 5);
        // A population of two leaves the upper quintiles without a cut point.
        assert_eq!(bucket(3.0, &[Some(2.0), None, None, None]), 2);
        assert_eq!(bucket(3.0, &[]), 1);
    }

    #[test]
    fn a_percentile_interpolates_and_gives_ties_the_lowest_rank() {
        let cuts = [0.0, 10.0, 20.0];
        assert_eq!(percentile(-1.0, &cuts), 0.0);
        assert_eq!(percentile(0.0, &cuts), 0.0);
        assert_eq!(percentile(15.0, &cuts), 0.75);
        assert_eq!(percentile(20.0, &cuts), 1.0);
        assert_eq!(percentile(21.0, &cuts), 1.0);
        assert_eq!(percentile(5.0, &[1.0, 5.0, 5.0, 5.0, 9.0]), 0.25);
        assert_eq!(percentile(3.0, &[3.0]), 0.0);
    }
}
