//! The values PostgreSQL's TimeZone takes: an IANA zone, UTC, a POSIX-style offset, and the
//! SQL standard's `SET TIME ZONE INTERVAL '+08:00' HOUR TO MINUTE`, which Sequelize sends on
//! every connection (`INTERVAL '+00:00' HOUR TO MINUTE` by default).

use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::arrow::array::timezone::Tz;
use datafusion::sql::sqlparser::ast::{DateTimeField, Expr, Interval, Value};

/// The zone name PostgreSQL would show for `value`: an IANA zone, UTC, a fixed offset, or a
/// zone made from an interval (`<+08>-08`); None when it is none of these.
pub fn shown(value: &str) -> Option<String> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("utc") || v.eq_ignore_ascii_case("gmt") || v.eq_ignore_ascii_case("z")
    {
        return Some("UTC".to_string());
    }
    if v.parse::<chrono_tz::Tz>().is_ok() {
        return Some(v.to_string());
    }
    // A number is hours east of UTC, as `SET TIME ZONE 8` says: PostgreSQL reads '+05', '8'
    // and '8.5' so, and names the zone as from an interval.
    if let Ok(hours) = v.parse::<f64>() {
        let minutes = hours.abs() * 60.0;
        // Whole minutes only (8.1 is 8:06; floating point may miss it by a hair).
        if !(hours.is_finite() && minutes <= 900.0 && (minutes - minutes.round()).abs() < 1e-6) {
            return None;
        }
        let minutes = minutes.round() as u32;
        return Some(named(hours >= 0.0, minutes / 60, minutes % 60));
    }
    // A zone PostgreSQL named from an interval: `<abbreviation>` and its POSIX offset.
    let offset = match v.strip_prefix('<').and_then(|rest| rest.split_once('>')) {
        Some((abbreviation, offset)) if !abbreviation.is_empty() => offset,
        Some(_) => return None,
        None => v,
    };
    // PostgreSQL's POSIX-style offsets ("+08", "-5:30") and plain hours ("8").
    let digits = offset.trim_start_matches(['+', '-']);
    let ok = !digits.is_empty()
        && digits.split(':').count() <= 2
        && digits
            .split(':')
            .all(|p| !p.is_empty() && p.len() <= 2 && p.chars().all(|c| c.is_ascii_digit()));
    ok.then(|| v.to_string())
}

/// The zone a timestamptz is shown in under TimeZone `value`: an IANA zone or UTC as itself;
/// a number as hours east (`+05`, `8.5`); another offset as POSIX's, positive *west* of UTC
/// (`5:30` is 5:30 behind UTC, `<+08>-08` 8 hours ahead) — what PostgreSQL 15 shows. None for
/// anything else.
pub fn display_zone(value: &str) -> Option<Tz> {
    let v = shown(value)?;
    if v == "UTC" {
        return "+00:00".parse().ok();
    }
    if v.parse::<chrono_tz::Tz>().is_ok() {
        return v.parse().ok();
    }
    let posix = match v.strip_prefix('<').and_then(|rest| rest.split_once('>')) {
        Some((_, offset)) => offset,
        None => &v,
    };
    // POSIX's sign: positive is west.
    let (west, hours, minutes) = offset(posix)?;
    if hours > 15 {
        return None;
    }
    posix_zone(west, hours, minutes)
}

/// The fixed zone of a POSIX offset (`west` of UTC when its sign is plus); None past a day.
pub(crate) fn posix_zone(west: bool, hours: u32, minutes: u32) -> Option<Tz> {
    // East of UTC is the other sign; zero is written east.
    let sign = if west && hours + minutes > 0 {
        '-'
    } else {
        '+'
    };
    format!("{sign}{hours:02}:{minutes:02}").parse().ok()
}

/// The zone `SET TIME ZONE INTERVAL '…' [HOUR [TO MINUTE]]` sets, named as PostgreSQL names
/// it (`named`).
pub fn of_interval(interval: &Interval) -> Result<String> {
    let bad = |why: &str| {
        CipError::invalid(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("invalid interval value for time zone: {why}"),
        )
    };
    let whole_hours = matches!(interval.leading_field, None | Some(DateTimeField::Hour))
        && matches!(interval.last_field, None | Some(DateTimeField::Minute));
    if !whole_hours {
        return Err(bad("give it as hours, or HOUR TO MINUTE"));
    }
    let text = match interval.value.as_ref() {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => s.trim().to_string(),
            _ => return Err(bad("expected a quoted offset such as '+08:00'")),
        },
        _ => return Err(bad("expected a quoted offset such as '+08:00'")),
    };
    let Some((east, hours, minutes)) = offset(&text) else {
        return Err(bad(&format!(
            "\"{text}\" is not an offset such as '+08:00'"
        )));
    };
    if hours * 60 + minutes > 15 * 60 {
        return Err(bad("an offset is at most 15 hours"));
    }
    Ok(named(east, hours, minutes))
}

/// `[+|-]H[:MM]` as (no minus sign, hours, minutes), minutes under 60; None otherwise.
pub(crate) fn offset(text: &str) -> Option<(bool, u32, u32)> {
    let (plus, digits) = match text.strip_prefix('-') {
        Some(rest) => (false, rest),
        None => (true, text.strip_prefix('+').unwrap_or(text)),
    };
    let mut parts = digits.split(':');
    let number = |p: Option<&str>| p.map(|p| p.parse::<u32>().ok());
    match (number(parts.next()), number(parts.next()), parts.next()) {
        (Some(Some(h)), None, None) => Some((plus, h, 0)),
        (Some(Some(h)), Some(Some(m)), None) if m < 60 => Some((plus, h, m)),
        _ => None,
    }
}

/// A fixed offset named as PostgreSQL names it: east of UTC in brackets, then POSIX's
/// (west-positive) offset — `+08:00` is `<+08>-08`, `-05:30` is `<-05:30>+05:30`, zero
/// `<+00>-00`.
fn named(east: bool, hours: u32, minutes: u32) -> String {
    let amount = if minutes == 0 {
        format!("{hours:02}")
    } else {
        format!("{hours:02}:{minutes:02}")
    };
    // Zero is named east, as PostgreSQL names it.
    if east || hours + minutes == 0 {
        format!("<+{amount}>-{amount}")
    } else {
        format!("<-{amount}>+{amount}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(text: &str, lead: Option<DateTimeField>, last: Option<DateTimeField>) -> Interval {
        Interval {
            value: Box::new(Expr::value(Value::SingleQuotedString(text.to_string()))),
            leading_field: lead,
            leading_precision: None,
            last_field: last,
            fractional_seconds_precision: None,
        }
    }

    #[test]
    fn intervals_name_zones_as_postgresql_does() {
        let hm = |t| {
            of_interval(&interval(
                t,
                Some(DateTimeField::Hour),
                Some(DateTimeField::Minute),
            ))
        };
        assert_eq!(hm("+00:00").ok().as_deref(), Some("<+00>-00"));
        assert_eq!(hm("+08:00").ok().as_deref(), Some("<+08>-08"));
        assert_eq!(hm("-05:30").ok().as_deref(), Some("<-05:30>+05:30"));
        assert_eq!(hm("-00:00").ok().as_deref(), Some("<+00>-00"));
        let hours = of_interval(&interval("3", Some(DateTimeField::Hour), None));
        assert_eq!(hours.ok().as_deref(), Some("<+03>-03"));
        for bad in ["16:00", "+08:75", "abc", "", "1:2:3"] {
            assert!(hm(bad).is_err(), "{bad}");
        }
        assert!(of_interval(&interval("1", Some(DateTimeField::Day), None)).is_err());
        for named in [
            "<+08>-08",
            "<-05:30>+05:30",
            "UTC",
            "Asia/Shanghai",
            "+08",
            "-5:30",
        ] {
            assert!(shown(named).is_some(), "{named}");
        }
        for bad in ["<>-08", "<+08>", "Mars/Base", "+123"] {
            assert!(shown(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn zones_shown_as_postgresql_reads_them() {
        use chrono::{Offset, TimeZone};
        let east = |v: &str| {
            let zone = display_zone(v)?;
            let instant = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)?.and_hms_opt(0, 0, 0)?;
            Some(
                zone.offset_from_utc_datetime(&instant)
                    .fix()
                    .local_minus_utc(),
            )
        };
        assert_eq!(east("Asia/Shanghai"), Some(8 * 3600));
        assert_eq!(east("America/New_York"), Some(-5 * 3600));
        assert_eq!(east("UTC"), Some(0));
        assert_eq!(east("gmt"), Some(0));
        // What PostgreSQL 15 showed for each (psql, `SET TimeZone = '…'`): a number is hours
        // east, another offset POSIX's (positive west of Greenwich).
        assert_eq!(east("+05"), Some(5 * 3600));
        assert_eq!(east("8.5"), Some(8 * 3600 + 30 * 60));
        assert_eq!(east("-5:30"), Some(5 * 3600 + 30 * 60));
        assert_eq!(east("5:30"), Some(-(5 * 3600 + 30 * 60)));
        assert_eq!(east("<+08>-08"), Some(8 * 3600));
        assert_eq!(east("<-05:30>+05:30"), Some(-(5 * 3600 + 30 * 60)));
        assert_eq!(east("<+00>-00"), Some(0));
        assert_eq!(shown("+05").as_deref(), Some("<+05>-05"));
        assert_eq!(shown("8.5").as_deref(), Some("<+08:30>-08:30"));
        assert_eq!(shown("-5:30").as_deref(), Some("-5:30"));
        for bad in ["Mars/Base", "+16", "", "<+08>", "8.01", "nan"] {
            assert_eq!(east(bad), None, "{bad}");
        }
    }
}
