//! pg_timezone_names: the time zones cip knows (IANA's database as chrono-tz compiles it in,
//! the names SET TimeZone and AT TIME ZONE accept), each with its abbreviation, offset and
//! whether daylight-saving time is in effect now. PostgreSQL lists its zone files the same
//! way; pgAdmin and DBeaver offer the names as choices for a session's zone.

use chrono::Offset;
use chrono_tz::{OffsetComponents, OffsetName, Tz, TZ_VARIANTS};
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, IntervalMonthDayNanoArray, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{
    DataType, Field, IntervalMonthDayNano, IntervalUnit, Schema, SchemaRef,
};
use datafusion::catalog::MemTable;
use datafusion::common::Result;
use std::sync::Arc;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, true),
        Field::new("abbrev", DataType::Utf8, true),
        Field::new(
            "utc_offset",
            DataType::Interval(IntervalUnit::MonthDayNano),
            true,
        ),
        Field::new("is_dst", DataType::Boolean, true),
    ]))
}

/// (name, abbreviation, offset east of UTC in seconds, daylight-saving time) of `zone` at
/// `now`.
fn row(zone: Tz, now: chrono::NaiveDateTime) -> (&'static str, String, i32, bool) {
    use chrono::TimeZone;
    let offset = zone.offset_from_utc_datetime(&now);
    let seconds = offset.fix().local_minus_utc();
    let abbrev = offset
        .abbreviation()
        .map_or_else(|| numeric(seconds), str::to_string);
    (zone.name(), abbrev, seconds, !offset.dst_offset().is_zero())
}

/// A zone without a name's abbreviation as tzdata writes it: `-05`, `+0530`.
fn numeric(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    match minutes % 60 {
        0 => format!("{sign}{:02}", minutes / 60),
        m => format!("{sign}{:02}{m:02}", minutes / 60),
    }
}

/// pg_timezone_names, its offsets as of the statement that scans it.
pub fn view() -> super::live_view::LiveView {
    super::live_view::LiveView::new("pg_timezone_names", schema(), |_| relation())
}

/// The relation as of now.
fn relation() -> Result<MemTable> {
    let now = chrono::Utc::now().naive_utc();
    let rows: Vec<_> = TZ_VARIANTS.iter().map(|z| row(*z, now)).collect();
    let names: StringArray = rows.iter().map(|r| Some(r.0)).collect();
    let abbrevs: StringArray = rows.iter().map(|r| Some(r.1.as_str())).collect();
    let offsets: IntervalMonthDayNanoArray = rows
        .iter()
        .map(|r| {
            Some(IntervalMonthDayNano::new(
                0,
                0,
                i64::from(r.2) * 1_000_000_000,
            ))
        })
        .collect();
    let dst: BooleanArray = rows.iter().map(|r| Some(r.3)).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(names),
        Arc::new(abbrevs),
        Arc::new(offsets),
        Arc::new(dst),
    ];
    let batch = RecordBatch::try_new(schema(), columns)?;
    MemTable::try_new(schema(), vec![vec![batch]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_abbreviations_and_daylight_saving() {
        let winter = chrono::NaiveDate::from_ymd_opt(2024, 1, 15)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .expect("a date");
        use chrono::Datelike;
        let summer = winter.with_month(7).expect("July");
        assert_eq!(
            row(chrono_tz::Asia::Shanghai, winter),
            ("Asia/Shanghai", "CST".into(), 8 * 3600, false)
        );
        assert_eq!(
            row(chrono_tz::America::New_York, winter),
            ("America/New_York", "EST".into(), -5 * 3600, false)
        );
        assert_eq!(
            row(chrono_tz::America::New_York, summer),
            ("America/New_York", "EDT".into(), -4 * 3600, true)
        );
        assert_eq!(
            row(chrono_tz::Etc::GMTPlus5, winter),
            ("Etc/GMT+5", "-05".into(), -5 * 3600, false)
        );
        assert_eq!(numeric(5 * 3600 + 1800), "+0530");
        assert_eq!(numeric(0), "+00");
    }
}
