//! The values PostgreSQL's TimeZone takes: an IANA zone, UTC, a POSIX-style offset, and the
//! SQL standard's `SET TIME ZONE INTERVAL '+08:00' HOUR TO MINUTE`, which Sequelize sends on
//! every connection (`INTERVAL '+00:00' HOUR TO MINUTE` by default).

use crate::error::sqlstate;
use crate::error::{CipError, Result};
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

/// The zone `SET TIME ZONE INTERVAL '…' [HOUR [TO MINUTE]]` sets, named as PostgreSQL names
/// it: the offset east of UTC in brackets, then POSIX's (west-positive) offset — `+08:00` is
/// `<+08>-08`, `-05:30` is `<-05:30>+05:30`, zero is `<+00>-00`.
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
    let (east, digits) = match text.strip_prefix('-') {
        Some(rest) => (false, rest),
        None => (true, text.strip_prefix('+').unwrap_or(&text)),
    };
    let mut parts = digits.split(':');
    let number = |p: Option<&str>| p.map(|p| p.parse::<u32>().ok());
    let (hours, minutes) = match (number(parts.next()), number(parts.next()), parts.next()) {
        (Some(Some(h)), None, None) => (h, 0),
        (Some(Some(h)), Some(Some(m)), None) if m < 60 => (h, m),
        _ => {
            return Err(bad(&format!(
                "\"{text}\" is not an offset such as '+08:00'"
            )))
        }
    };
    if hours * 60 + minutes > 15 * 60 {
        return Err(bad("an offset is at most 15 hours"));
    }
    let amount = if minutes == 0 {
        format!("{hours:02}")
    } else {
        format!("{hours:02}:{minutes:02}")
    };
    // Zero is named east, as PostgreSQL names it.
    let east = east || hours + minutes == 0;
    Ok(if east {
        format!("<+{amount}>-{amount}")
    } else {
        format!("<-{amount}>+{amount}")
    })
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
}
