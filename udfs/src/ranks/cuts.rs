//! The cut points quantile_bucket and quantile_rank read, from a population's values:
//! `quantile_cuts(values, k)` (where ntile(k) starts its groups 2..k) and
//! `percentile_cuts(values, k)` (the values at k equally spaced ranks). One array in, a few
//! values out: the population is never ordered by a window or replicated per cut point.

use super::SECTION;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Builder, ListBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int64Type};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::sync::{Arc, OnceLock};

/// More cut points than any ranking needs: a bound, so no argument allocates without end.
const MAX_K: i64 = 10_000;

/// Which cut points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cuts {
    /// The first value of each of ntile(k)'s groups 2..k.
    Ntile,
    /// The values at ranks 0, 1/(k-1), …, 1.
    Percentile,
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CutsUdf {
    cuts: Cuts,
    signature: Signature,
}

impl CutsUdf {
    pub fn new(cuts: Cuts) -> Self {
        CutsUdf {
            cuts,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// Where ntile(k) over `values` in ascending order (NULLs last, NaN last of the numbers, as
/// ORDER BY sorts them) starts groups 2..k: with n values the first n % k groups hold one
/// more. A group past the values' end has no cut point (NULL).
pub fn ntile_cuts(values: impl IntoIterator<Item = Option<f64>>, k: usize) -> Vec<Option<f64>> {
    let mut v: Vec<Option<f64>> = values.into_iter().collect();
    v.sort_by(|a, b| match (a, b) {
        (Some(x), Some(y)) => x.total_cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    let n = v.len();
    (1..k)
        .map(|j| v.get(j * (n / k) + j.min(n % k)).copied().flatten())
        .collect()
}

/// The non-NULL values at ranks 0, 1/(k-1), …, 1 in ascending order (the position rounded
/// down); None when there are none.
pub fn percentile_cuts(
    values: impl IntoIterator<Item = Option<f64>>,
    k: usize,
) -> Option<Vec<f64>> {
    let mut v: Vec<f64> = values.into_iter().flatten().collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let last = (v.len() - 1) as u128;
    let steps = (k.max(2) - 1) as u128;
    Some(
        (0..k as u128)
            .map(|p| v[(p * last / steps) as usize])
            .collect(),
    )
}

impl ScalarUDFImpl for CutsUdf {
    fn name(&self) -> &str {
        match self.cuts {
            Cuts::Ntile => "quantile_cuts",
            Cuts::Percentile => "percentile_cuts",
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        match types {
            [values, k] if super::list_of_numbers(values) && (k.is_integer() || k.is_null()) => {
                Ok(vec![super::cuts_type(), DataType::Int64])
            }
            [values, k] => {
                plan_err!("type mismatch: {name} takes (number[], integer), got ({values}, {k})")
            }
            _ => plan_err!(
                "type mismatch: {name} takes 2 arguments, got {}",
                types.len()
            ),
        }
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(super::cuts_type())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let values = cast(&args.args[0].to_array(n)?, &super::cuts_type())?;
        let values = values.as_list::<i32>();
        let ks = args.args[1].to_array(n)?;
        let ks = ks.as_primitive::<Int64Type>();
        let mut out = ListBuilder::new(Float64Builder::new())
            .with_field(Arc::new(Field::new_list_field(DataType::Float64, true)));
        for i in 0..n {
            if !values.is_valid(i) || !ks.is_valid(i) {
                out.append_null();
                continue;
            }
            let k = ks.value(i);
            if !(2..=MAX_K).contains(&k) {
                return Err(crate::error::invalid_argument(
                    self.name(),
                    format!("k must be between 2 and {MAX_K}, got {k}"),
                ));
            }
            // Each function copies the values once, to sort them.
            let v = values.value(i);
            let v = v.as_primitive::<Float64Type>().iter();
            match self.cuts {
                Cuts::Ntile => {
                    out.values().extend(ntile_cuts(v, k as usize));
                    out.append(true);
                }
                Cuts::Percentile => match percentile_cuts(v, k as usize) {
                    Some(c) => {
                        out.values().append_slice(&c);
                        out.append(true);
                    }
                    None => out.append_null(),
                },
            }
        }
        let out: ArrayRef = Arc::new(out.finish());
        Ok(match &args.args[..] {
            [ColumnarValue::Scalar(_), ColumnarValue::Scalar(_)] => {
                ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)
            }
            _ => ColumnarValue::Array(out),
        })
    }
    fn documentation(&self) -> Option<&Documentation> {
        static NTILE: OnceLock<Documentation> = OnceLock::new();
        static PERCENTILE: OnceLock<Documentation> = OnceLock::new();
        Some(match self.cuts {
            Cuts::Ntile => NTILE.get_or_init(|| {
                Documentation::builder(
                    SECTION,
                    "The k-1 cut points of ntile(k) over the values in ascending order (NULLs \
                     last): the first value of each of the groups 2..k, where the first n % k \
                     groups of n values hold one more. quantile_bucket(x, these) is then \
                     ntile(k)'s group of x, except that a value equal to a cut point takes the \
                     higher group. A group past the end (fewer than k values) has a NULL cut \
                     point. NULL values or k give NULL; k outside 2-10000 is an error (22023).",
                    "quantile_cuts(values, k)",
                )
                .with_argument("values", "An array of numbers, in any order.")
                .with_argument("k", "The number of groups (5: quintiles).")
                .with_sql_example("SELECT quantile_cuts([5, 1, 4, 2, 3], 5); -- [2, 3, 4, 5]")
                .build()
            }),
            Cuts::Percentile => PERCENTILE.get_or_init(|| {
                Documentation::builder(
                    SECTION,
                    "The non-NULL values at k equally spaced ranks 0, 1/(k-1), ..., 1 in \
                     ascending order (the value at position floor(p * (n - 1) / (k - 1)), p = \
                     0..k-1): the cut points quantile_rank reads (k = 101: percentiles). NULL \
                     when the array is NULL or holds no value, or k is NULL; k outside 2-10000 \
                     is an error (22023).",
                    "percentile_cuts(values, k)",
                )
                .with_argument("values", "An array of numbers, in any order.")
                .with_argument("k", "The number of cut points (101: percentiles).")
                .with_sql_example("SELECT percentile_cuts([30, 10, 20], 3); -- [10, 20, 30]")
                .build()
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{ntile_cuts, percentile_cuts};

    #[test]
    fn ntile_cuts_start_the_groups_ntile_makes() {
        let v: Vec<Option<f64>> = [7.0, 1.0, 3.0, 2.0, 6.0, 5.0, 4.0]
            .iter()
            .map(|x| Some(*x))
            .collect();
        // ntile(5) over 7 values: groups of 2, 2, 1, 1, 1.
        assert_eq!(
            ntile_cuts(v, 5),
            vec![Some(3.0), Some(5.0), Some(6.0), Some(7.0)]
        );
        // Two values: ntile(5) makes groups of 1, 1, 0, 0, 0.
        assert_eq!(
            ntile_cuts([Some(2.0), Some(1.0)], 5),
            vec![Some(2.0), None, None, None]
        );
        assert_eq!(ntile_cuts([Some(1.0), None], 5), vec![None; 4]);
        assert_eq!(ntile_cuts([], 5), vec![None; 4]);
    }

    #[test]
    fn percentile_cuts_take_equally_spaced_ranks() {
        let v: Vec<Option<f64>> = (0..11).rev().map(|x| Some(x as f64)).collect();
        assert_eq!(percentile_cuts(v, 3), Some(vec![0.0, 5.0, 10.0]));
        assert_eq!(
            percentile_cuts([Some(2.0), None, Some(1.0)], 2),
            Some(vec![1.0, 2.0])
        );
        assert_eq!(percentile_cuts([None], 101), None);
    }
}
