//! Experiment helpers: `ab_bucket(key, buckets)` assigns a stable bucket to a key (holdout and
//! A/B variants of a campaign), `normal_cdf(z)` turns z-scores into p-values and intervals.

use datafusion::arrow::array::{Array, AsArray, Float64Array, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, DocSection, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};
use std::sync::{Arc, OnceLock};

const SECTION: DocSection = DocSection {
    include: true,
    label: "cip experiments",
    description: Some("Stable assignment to holdout and variants, and the statistics of lift."),
};

/// FNV-1a, 64 bits: fixed by its definition, so a bucket never changes between versions,
/// machines or runs (std's hasher makes no such promise).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Standard normal CDF, Φ(z) = erfc(-z/√2)/2.
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AbBucketUdf {
    signature: Signature,
}

impl AbBucketUdf {
    pub fn new() -> Self {
        AbBucketUdf {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for AbBucketUdf {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for AbBucketUdf {
    fn name(&self) -> &str {
        "ab_bucket"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        match types {
            [k, n] if (k.is_string() || k.is_null()) && (n.is_integer() || n.is_null()) => {
                Ok(vec![DataType::Utf8, DataType::Int64])
            }
            [k, n] => plan_err!("type mismatch: ab_bucket takes (text, integer), got ({k}, {n})"),
            _ => plan_err!(
                "type mismatch: ab_bucket takes 2 arguments, got {}",
                types.len()
            ),
        }
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let keys = cast(&args.args[0].to_array(args.number_rows)?, &DataType::Utf8)?;
        let keys = keys.as_string::<i32>();
        let buckets = args.args[1].to_array(args.number_rows)?;
        let buckets = buckets.as_primitive::<Int64Type>();
        let mut out = Vec::with_capacity(keys.len());
        for i in 0..keys.len() {
            if keys.is_null(i) || buckets.is_null(i) {
                out.push(None);
                continue;
            }
            let n = buckets.value(i);
            if n < 1 {
                return Err(crate::error::invalid_argument(
                    "ab_bucket",
                    format!("buckets must be at least 1, got {n}"),
                ));
            }
            out.push(Some((fnv1a(keys.value(i).as_bytes()) % n as u64) as i64));
        }
        Ok(ColumnarValue::Array(Arc::new(Int64Array::from(out))))
    }
    fn documentation(&self) -> Option<&Documentation> {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        Some(DOC.get_or_init(|| {
            Documentation::builder(
                SECTION,
                "A stable bucket in [0, buckets) for a key: FNV-1a (64-bit) of the key's UTF-8 \
                 bytes modulo buckets. The same key gives the same bucket on every machine and \
                 version, so a campaign's holdout and variants can be recomputed and audited. \
                 NULL gives NULL; buckets < 1 is an error.",
                "ab_bucket(key, buckets)",
            )
            .with_argument("key", "Text, e.g. campaign_id || ':' || member_id.")
            .with_argument("buckets", "How many buckets (integer >= 1).")
            .with_sql_example(
                "SELECT ab_bucket('C0005:M00000042', 100); -- the member's percentile bucket",
            )
            .build()
        }))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NormalCdfUdf {
    signature: Signature,
}

impl NormalCdfUdf {
    pub fn new() -> Self {
        NormalCdfUdf {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for NormalCdfUdf {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for NormalCdfUdf {
    fn name(&self) -> &str {
        "normal_cdf"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        match types {
            [t] if t.is_numeric() || t.is_null() => Ok(vec![DataType::Float64]),
            [t] => plan_err!("type mismatch: normal_cdf takes a number, got {t}"),
            _ => plan_err!(
                "type mismatch: normal_cdf takes 1 argument, got {}",
                types.len()
            ),
        }
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let z = cast(
            &args.args[0].to_array(args.number_rows)?,
            &DataType::Float64,
        )?;
        let z = z.as_primitive::<Float64Type>();
        if z.iter().flatten().any(f64::is_nan) {
            return Err(crate::error::invalid_argument("normal_cdf", "NaN"));
        }
        let out: Float64Array = z.unary(normal_cdf);
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
    fn documentation(&self) -> Option<&Documentation> {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        Some(DOC.get_or_init(|| {
            Documentation::builder(
                SECTION,
                "The standard normal cumulative distribution Φ(z): the two-sided p-value of a \
                 z-score is 2 * (1 - normal_cdf(abs(z))). ±infinity give 1 and 0; NULL gives \
                 NULL; NaN is an error.",
                "normal_cdf(z)",
            )
            .with_argument("z", "A number.")
            .with_sql_example("SELECT normal_cdf(1.959964); -- 0.975")
            .build()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_and_normal_values() {
        // FNV-1a test vectors (Fowler, Noll, Vo).
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-15);
        assert!((normal_cdf(-3.0) - 0.001_349_898).abs() < 1e-8);
    }
}
