//! PostgreSQL's `timezone(zone, value)`, which `value AT TIME ZONE zone` means
//! (statement/rules/at_time_zone.rs rewrites the operator to it). It goes both ways: a
//! timestamp without time zone is read as wall-clock time in `zone` and becomes that instant
//! (a timestamptz); a timestamptz becomes the wall-clock time in `zone` (a timestamp).
//! DataFusion planned the operator as a cast to a timestamp zoned `zone`, which is right for
//! the first and keeps the instant for the second: `timestamptz '… 12:00+00' AT TIME ZONE
//! 'Asia/Shanghai'` stayed 12:00 UTC where PostgreSQL answers 20:00 — Grafana's and many
//! reports' way of bucketing by a zone's day.
//!
//! The zone is text as PostgreSQL reads it here: a zone name (any case), UTC / GMT / Z, or a
//! POSIX offset, positive *west* of Greenwich (`'+02'`, `'UTC+2'`, `'<+08>-08'`), under a day
//! (PostgreSQL takes up to 167 hours); 22023 for anything else.

use super::datetime_text::Zones;
use crate::settings::time_zone;
use chrono::{LocalResult, NaiveDateTime, Offset, TimeZone};
use cip_udfs::error::sql_error;
use cip_udfs::sqlstate;
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::prelude::SessionContext;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

pub const NAME: &str = "timezone";

/// Registers the function; `venues` is the zone cip's timestamptz values carry.
pub fn register(ctx: &SessionContext, venues: &str) {
    ctx.register_udf(ScalarUDF::from(AtTimeZone {
        signature: Signature::user_defined(Volatility::Immutable),
        venues: venues.into(),
    }));
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct AtTimeZone {
    signature: Signature,
    venues: Arc<str>,
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "What `value AT TIME ZONE zone` means, as in PostgreSQL: a timestamp (wall-clock time \
         in `zone`) becomes that instant, a timestamptz; a timestamptz becomes the wall-clock \
         time in `zone`, a timestamp. NULL for NULL; 22023 for a zone PostgreSQL would not \
         recognise.",
        "timezone(zone, value)",
    )
    .with_sql_example(
        "SELECT timezone('Asia/Shanghai', TIMESTAMPTZ '2026-01-01 12:00:00+00'); \
         -- 2026-01-01 20:00:00",
    )
    .with_argument(
        "zone",
        "A zone name (any case), UTC, or a POSIX offset: positive west of Greenwich ('+02' \
         is two hours behind UTC, as in PostgreSQL).",
    )
    .with_argument("value", "A timestamp or a timestamptz.")
    .build()
});

/// The zone `text` names after AT TIME ZONE; None when PostgreSQL would not recognise it.
pub fn zone(text: &str) -> Option<Tz> {
    let v = text.trim();
    if ["utc", "gmt", "z", "zulu"]
        .iter()
        .any(|u| v.eq_ignore_ascii_case(u))
    {
        return "+00:00".parse().ok();
    }
    if let Some(named) = chrono_tz::TZ_VARIANTS
        .iter()
        .find(|z| z.name().eq_ignore_ascii_case(v))
    {
        return named.name().parse().ok();
    }
    // POSIX's `STDoffset`: an abbreviation (`UTC+2`, `<+08>-08`), then the offset west.
    let posix = match v.strip_prefix('<') {
        Some(rest) => rest.split_once('>')?.1,
        None => v.trim_start_matches(|c: char| c.is_ascii_alphabetic()),
    };
    let (west, hours, minutes) = time_zone::offset(posix)?;
    // PostgreSQL takes up to 167 hours; an offset here must be under a day.
    if hours > 23 || (v.len() > posix.len() && v.len() - posix.len() < 3 && !v.starts_with('<')) {
        return None;
    }
    time_zone::posix_zone(west, hours, minutes)
}

fn unknown(text: &str) -> datafusion::common::DataFusionError {
    sql_error(
        sqlstate::INVALID_PARAMETER_VALUE,
        format!("time zone \"{text}\" not recognized"),
    )
}

/// The instant (UTC) of wall-clock time `wall` in `tz`. A time a clock skips is read with the
/// offset before the jump and a time it repeats as the later one, as PostgreSQL does.
fn instant(wall: NaiveDateTime, tz: &Tz) -> NaiveDateTime {
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(t) => t.naive_utc(),
        LocalResult::Ambiguous(_, later) => later.naive_utc(),
        LocalResult::None => {
            let before = wall - chrono::TimeDelta::days(1);
            let offset = tz.offset_from_utc_datetime(&before).fix().local_minus_utc();
            wall - chrono::TimeDelta::seconds(i64::from(offset))
        }
    }
}

/// The wall-clock time in `tz` of the instant `utc`.
fn wall_clock(utc: NaiveDateTime, tz: &Tz) -> NaiveDateTime {
    let offset = tz.offset_from_utc_datetime(&utc).fix().local_minus_utc();
    utc + chrono::TimeDelta::seconds(i64::from(offset))
}

fn from_micros(v: i64) -> Option<NaiveDateTime> {
    chrono::DateTime::from_timestamp_micros(v).map(|t| t.naive_utc())
}

impl ScalarUDFImpl for AtTimeZone {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [zone, value] = args else {
            return plan_err!("timezone takes a zone and a timestamp");
        };
        let zone = match zone {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
                DataType::Utf8
            }
            other => return plan_err!("timezone's zone must be text, not {other}"),
        };
        let value = match value {
            DataType::Timestamp(_, zoned) => {
                DataType::Timestamp(TimeUnit::Microsecond, zoned.clone())
            }
            // PostgreSQL makes a date a timestamptz here: its midnight, in the session's zone.
            DataType::Date32 | DataType::Date64 => DataType::Date32,
            DataType::Null => DataType::Timestamp(TimeUnit::Microsecond, Some(self.venues.clone())),
            other => return plan_err!("timezone's value must be a timestamp, not {other}"),
        };
        Ok(vec![zone, value])
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match args.get(1) {
            Some(DataType::Timestamp(_, Some(_)) | DataType::Date32) => {
                DataType::Timestamp(TimeUnit::Microsecond, None)
            }
            _ => DataType::Timestamp(TimeUnit::Microsecond, Some(self.venues.clone())),
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [zones, values] = args.args.as_slice() else {
            return exec_err!("timezone takes two arguments");
        };
        let n = args.number_rows;
        let zones = cast(&zones.to_array(n)?, &DataType::Utf8)?;
        let zones = zones.as_string::<i32>();
        let values = values.to_array(n)?;
        // A date is its midnight in the session's zone, an instant like a timestamptz's.
        let date_zone = match values.data_type() {
            DataType::Date32 => Some(Zones::of(&args.config_options).for_values(&self.venues)?),
            _ => None,
        };
        let zoned =
            date_zone.is_some() || matches!(values.data_type(), DataType::Timestamp(_, Some(_)));
        let micros = cast(&values, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
        let micros = micros.as_primitive::<TimestampMicrosecondType>();
        let mut known: HashMap<&str, Tz> = HashMap::new();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            if zones.is_null(i) || micros.is_null(i) {
                out.push(None);
                continue;
            }
            let text = zones.value(i);
            let tz = match known.get(text) {
                Some(tz) => *tz,
                None => {
                    let tz = zone(text).ok_or_else(|| unknown(text))?;
                    known.insert(text, tz);
                    tz
                }
            };
            let Some(mut t) = from_micros(micros.value(i)) else {
                out.push(None);
                continue;
            };
            if let Some(midnight_zone) = &date_zone {
                t = instant(t, midnight_zone);
            }
            let moved = if zoned {
                wall_clock(t, &tz)
            } else {
                instant(t, &tz)
            };
            out.push(Some(moved.and_utc().timestamp_micros()));
        }
        let out = PrimitiveArray::<TimestampMicrosecondType>::from(out);
        let out: ArrayRef = match zoned {
            true => Arc::new(out),
            false => Arc::new(out.with_timezone(self.venues.clone())),
        };
        Ok(ColumnarValue::Array(out))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn east(text: &str) -> Option<i32> {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)?.and_hms_opt(0, 0, 0)?;
        Some(
            zone(text)?
                .offset_from_utc_datetime(&at)
                .fix()
                .local_minus_utc(),
        )
    }

    #[test]
    fn zones_read_as_postgresql_reads_them_after_at_time_zone() {
        // What PostgreSQL 15 answered for `timestamptz '2024-01-01 12:00+00' AT TIME ZONE z`.
        assert_eq!(east("Asia/Shanghai"), Some(8 * 3600));
        assert_eq!(east("asia/shanghai"), Some(8 * 3600));
        assert_eq!(east("utc"), Some(0));
        assert_eq!(east("+02:00"), Some(-2 * 3600));
        assert_eq!(east("+2"), Some(-2 * 3600));
        assert_eq!(east("UTC+2"), Some(-2 * 3600));
        assert_eq!(east("-05"), Some(5 * 3600));
        assert_eq!(east("<+08>-08"), Some(8 * 3600));
        assert_eq!(east("EST"), Some(-5 * 3600));
        assert_eq!(east("+16"), Some(-16 * 3600));
        for bad in ["Mars/Base", "", "+168", "x+2", "<+08>"] {
            assert_eq!(east(bad), None, "{bad}");
        }
    }

    #[test]
    fn skipped_and_repeated_clock_times_as_postgresql_reads_them() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let at = |d: u32, h: u32, m: u32| {
            chrono::NaiveDate::from_ymd_opt(2024, if d < 5 { 11 } else { 3 }, d)
                .unwrap()
                .and_hms_opt(h, m, 0)
                .unwrap()
        };
        // 2024-03-10 02:30 does not exist in New York: read with the offset before (-05).
        assert_eq!(instant(at(10, 2, 30), &tz), at(10, 7, 30));
        // 2024-11-03 01:30 happens twice: the later (-05).
        assert_eq!(instant(at(3, 1, 30), &tz), at(3, 6, 30));
        assert_eq!(wall_clock(at(3, 6, 30), &tz), at(3, 1, 30));
    }
}
