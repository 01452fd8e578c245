//! `datetime_text(x)`: a timestamp, timestamptz or time as PostgreSQL writes it as text —
//! what `x::text`, `CAST(x AS varchar)` and `'at ' || x` give (analyzer/datetime_casts.rs
//! makes those casts call it). Arrow's cast wrote `2026-01-01T10:00:00`, nanoseconds for
//! now(), `+08:00` offsets and `10:00:01.500`; PostgreSQL writes `2026-01-01 10:00:00`, at
//! most microseconds without trailing zeros, `+08` and `10:00:01.5`. A client that parses
//! the text, or an analyst who concatenates it into a message, sees PostgreSQL's. The same
//! writer (`as_text`) gives the text of result rows and COPY (pg/respond.rs,
//! statement/copy.rs); a timestamptz is written in the session's TimeZone (`Zones`).

use crate::settings::pg::PgSettings;
use crate::settings::time_zone;
use chrono::{DateTime, NaiveDateTime, NaiveTime, Offset, TimeZone};
use cip_udfs::error::sql_error;
use cip_udfs::session::CipOptions;
use cip_udfs::sqlstate;
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Time64MicrosecondType, TimeUnit, TimestampMicrosecondType,
};
use datafusion::common::Result;
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use std::sync::{Arc, LazyLock};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DatetimeText {
    signature: Signature,
}

impl Default for DatetimeText {
    fn default() -> Self {
        DatetimeText {
            // Stable, not immutable: a timestamptz is written in the session's TimeZone.
            signature: Signature::any(1, Volatility::Stable),
        }
    }
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "A timestamp, timestamptz or time as PostgreSQL's text output writes it: a space \
         between date and time, fractional seconds only when there are some (microseconds, \
         trailing zeros dropped), a timestamptz in the session's TimeZone with the offset \
         as `+08` or `+05:30`. Casts of these types to text call it. NULL for NULL; 42883 for another type.",
        "datetime_text(value)",
    )
    .with_sql_example(
        "SELECT datetime_text(TIMESTAMP '2026-01-01 10:00:00.250'); -- 2026-01-01 10:00:00.25",
    )
    .with_argument("value", "A timestamp, timestamptz or time.")
    .build()
});

/// The function itself (the analyzer's casts call it).
pub fn udf() -> ScalarUDF {
    ScalarUDF::from(DatetimeText::default())
}

/// Whether datetime_text writes values of `t`.
pub fn writes(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Timestamp(..) | DataType::Time32(_) | DataType::Time64(_)
    )
}

impl ScalarUDFImpl for DatetimeText {
    fn name(&self) -> &str {
        "datetime_text"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args {
            [t] if writes(t) || *t == DataType::Null => Ok(DataType::Utf8),
            _ => Err(wrong_type(args)),
        }
    }
    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [value] = args.args.as_slice() else {
            return Err(wrong_type(&[]));
        };
        let value = value.to_array(args.number_rows)?;
        let zones = Zones::of(&args.config_options);
        Ok(ColumnarValue::Array(Arc::new(as_text(&value, &zones)?)))
    }
}

/// The zones zoned timestamps are written in as text.
#[derive(Debug, Clone)]
pub struct Zones {
    /// The venues' zone (`cip.timezone`): cip's timestamptz values carry it.
    venues: String,
    /// The session's TimeZone, when it names a zone.
    session: Option<Tz>,
}

impl Zones {
    /// The zones of a session with these options.
    pub fn of(config: &ConfigOptions) -> Zones {
        let session = config.extensions.get::<PgSettings>();
        let session = session.and_then(|s| s.get("TimeZone"));
        Zones {
            venues: CipOptions::of(config).timezone,
            session: session.as_deref().and_then(time_zone::display_zone),
        }
    }

    /// A timestamptz (zoned in the venues' zone) in the session's TimeZone, as PostgreSQL
    /// shows one; a value zoned otherwise (`x AT TIME ZONE 'UTC'`) in its own zone, whose
    /// wall clock is the point of it.
    pub fn for_values(&self, own: &str) -> Result<Tz> {
        match self.session {
            Some(session) if own == self.venues => Ok(session),
            _ => Ok(own.parse()?),
        }
    }
}

/// `values` (timestamps, timestamptz or times) as PostgreSQL writes them, zoned ones in the
/// zone `zones` says. The result rows a client reads as text and COPY's text are written
/// here too (pg/respond.rs, statement/copy.rs).
pub fn as_text(values: &ArrayRef, zones: &Zones) -> Result<StringArray> {
    Ok(match values.data_type() {
        DataType::Timestamp(_, own) => {
            // The same zone: the values stay the instants (a cast to no zone would move
            // them to wall clocks).
            let same = DataType::Timestamp(TimeUnit::Microsecond, own.clone());
            let zone = own
                .as_deref()
                .map(|own| zones.for_values(own))
                .transpose()?;
            let micros = cast(values, &same)?;
            let micros = micros.as_primitive::<TimestampMicrosecondType>();
            micros
                .iter()
                .map(|v| v.and_then(|v| timestamp(v, zone)))
                .collect()
        }
        DataType::Time32(_) | DataType::Time64(_) => {
            // A finer unit is cut: PostgreSQL keeps microseconds.
            let micros = cast(values, &DataType::Time64(TimeUnit::Microsecond))?;
            let micros = micros.as_primitive::<Time64MicrosecondType>();
            micros.iter().map(|v| v.and_then(time)).collect()
        }
        DataType::Null => StringArray::new_null(values.len()),
        other => return Err(wrong_type(std::slice::from_ref(other))),
    })
}

/// `batch` with its date-time columns that `which(index)` names written as text (`as_text`).
pub fn datetimes_as_text(
    batch: &RecordBatch,
    zones: &Zones,
    which: impl Fn(usize) -> bool,
) -> crate::error::Result<RecordBatch> {
    crate::text_columns::with_text_columns(batch, |i, column| {
        if !(writes(column.data_type()) && which(i)) {
            return Ok(None);
        }
        Ok(Some(Arc::new(as_text(column, zones)?)))
    })
}

fn wrong_type(args: &[DataType]) -> datafusion::common::DataFusionError {
    sql_error(
        sqlstate::UNDEFINED_FUNCTION,
        format!("datetime_text takes one timestamp, timestamptz or time, not {args:?}"),
    )
}

/// `.ffffff` without trailing zeros, or nothing for whole seconds.
fn fraction(micros: u32) -> String {
    if micros == 0 {
        return String::new();
    }
    let digits = format!(".{micros:06}");
    digits.trim_end_matches('0').to_string()
}

fn timestamp(micros: i64, zone: Option<Tz>) -> Option<String> {
    let utc = DateTime::from_timestamp_micros(micros)?;
    let (wall, offset): (NaiveDateTime, Option<i32>) = match zone {
        None => (utc.naive_utc(), None),
        Some(tz) => {
            let local = tz.from_utc_datetime(&utc.naive_utc());
            (
                local.naive_local(),
                Some(local.offset().fix().local_minus_utc()),
            )
        }
    };
    let whole = wall.format("%Y-%m-%d %H:%M:%S");
    let frac = fraction(wall.and_utc().timestamp_subsec_micros());
    Some(match offset {
        None => format!("{whole}{frac}"),
        Some(seconds) => format!("{whole}{frac}{}", offset_text(seconds)),
    })
}

/// `+08`, `-03:30`, `+05:45:30` as PostgreSQL writes an offset.
fn offset_text(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    match (m, sec) {
        (0, 0) => format!("{sign}{h:02}"),
        (_, 0) => format!("{sign}{h:02}:{m:02}"),
        _ => format!("{sign}{h:02}:{m:02}:{sec:02}"),
    }
}

fn time(micros: i64) -> Option<String> {
    let secs = u32::try_from(micros.div_euclid(1_000_000)).ok()?;
    let sub = u32::try_from(micros.rem_euclid(1_000_000)).ok()?;
    let t = NaiveTime::from_num_seconds_from_midnight_opt(secs, sub * 1000)?;
    Some(format!("{}{}", t.format("%H:%M:%S"), fraction(sub)))
}

pub fn register(ctx: &datafusion::prelude::SessionContext) {
    ctx.register_udf(udf());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_text_forms() {
        assert_eq!(fraction(250_000), ".25");
        assert_eq!(fraction(0), "");
        assert_eq!(fraction(1), ".000001");
        assert_eq!(offset_text(8 * 3600), "+08");
        assert_eq!(offset_text(-(3 * 3600 + 30 * 60)), "-03:30");
        assert_eq!(offset_text(5 * 3600 + 45 * 60 + 30), "+05:45:30");
        assert_eq!(
            timestamp(1_767_261_600_250_000, None).as_deref(),
            Some("2026-01-01 10:00:00.25")
        );
        let shanghai: Tz = "Asia/Shanghai".parse().expect("zone");
        assert_eq!(
            timestamp(1_767_261_600_000_000, Some(shanghai)).as_deref(),
            Some("2026-01-01 18:00:00+08")
        );
        assert_eq!(time(36_001_500_000).as_deref(), Some("10:00:01.5"));
        assert_eq!(time(-1), None);
    }
}
