//! `cip_as_of()` and `business_date(ts)`: the session's as-of date and the business day of a
//! local timestamp (a 01:00 visit belongs to the evening before).

use crate::session::{business_day, CipOptions};
use datafusion::arrow::array::{Array, AsArray, Date32Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, DocSection, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};
use std::sync::OnceLock;

mod now;
pub use now::{Clock, LocalNowUdf};

const SECTION: DocSection = DocSection {
    include: true,
    label: "cip time",
    description: Some(
        "Local time and business dates: now(), the session's as-of date and the business day of a visit.",
    ),
};

fn days_since_epoch(d: chrono::NaiveDate) -> i32 {
    (d - chrono::NaiveDate::default()).num_days() as i32
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AsOfUdf {
    signature: Signature,
}

impl AsOfUdf {
    pub fn new() -> Self {
        // Stable: one value per statement, read from the session's settings.
        AsOfUdf {
            signature: Signature::exact(vec![], Volatility::Stable),
        }
    }
}

impl Default for AsOfUdf {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for AsOfUdf {
    fn name(&self) -> &str {
        "cip_as_of"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Date32)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let d = CipOptions::of(&args.config_options).as_of_date()?;
        Ok(ColumnarValue::Scalar(ScalarValue::Date32(Some(
            days_since_epoch(d),
        ))))
    }
    fn documentation(&self) -> Option<&Documentation> {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        Some(DOC.get_or_init(|| {
            Documentation::builder(
                SECTION,
                "The business date this session's views are computed as of: the value of \
                 `SET cip.as_of = 'YYYY-MM-DD'`, else today's business day in cip.timezone \
                 (before cip.day_cutoff it is still yesterday).",
                "cip_as_of()",
            )
            .with_sql_example("SET cip.as_of = '2026-10-31';\nSELECT cip_as_of(); -- 2026-10-31")
            .build()
        }))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct BusinessDateUdf {
    signature: Signature,
}

impl BusinessDateUdf {
    pub fn new() -> Self {
        BusinessDateUdf {
            signature: Signature::user_defined(Volatility::Stable),
        }
    }
}

impl Default for BusinessDateUdf {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for BusinessDateUdf {
    fn name(&self) -> &str {
        "business_date"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        let ts = DataType::Timestamp(TimeUnit::Microsecond, None);
        match types {
            [DataType::Timestamp(_, None) | DataType::Date32 | DataType::Date64 | DataType::Null] => {
                Ok(vec![ts])
            }
            [t] if t.is_string() => Ok(vec![ts]),
            [t] => plan_err!(
                "type mismatch: business_date takes a local timestamp (without time zone), got {t}"
            ),
            _ => plan_err!(
                "type mismatch: business_date takes 1 argument, got {}",
                types.len()
            ),
        }
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Date32)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let cutoff = CipOptions::of(&args.config_options).cutoff()?;
        let shift = cutoff
            .signed_duration_since(chrono::NaiveTime::MIN)
            .num_microseconds()
            .unwrap_or(0);
        let array = args.args[0].to_array(args.number_rows)?;
        let array = cast(&array, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
        let ts = array.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
        let out: Date32Array = ts.unary_opt(|micros| {
            let local = chrono::DateTime::from_timestamp_micros(micros - shift)?.naive_utc();
            Some(days_since_epoch(business_day(
                local,
                chrono::NaiveTime::MIN,
            )))
        });
        // A NULL that was not in the input means a timestamp chrono cannot represent.
        if out.null_count() > ts.null_count() {
            return Err(crate::error::invalid_argument(
                "business_date",
                "timestamp out of range",
            ));
        }
        Ok(ColumnarValue::Array(std::sync::Arc::new(out)))
    }
    fn documentation(&self) -> Option<&Documentation> {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        Some(DOC.get_or_init(|| {
            Documentation::builder(
                SECTION,
                "The business day of a local timestamp: the calendar date of (ts - cip.day_cutoff), \
                 so with the default 06:00 cut-off a 01:00 visit belongs to the evening before. \
                 NULL gives NULL.",
                "business_date(ts)",
            )
            .with_argument("ts", "A timestamp without time zone (local wall-clock time).")
            .with_sql_example(
                "SELECT business_date(TIMESTAMP '2026-10-31 01:30'); -- 2026-10-30",
            )
            .build()
        }))
    }
}
