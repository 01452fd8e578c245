//! PostgreSQL's date and timestamp input, the forms people and tools write: ISO with a space
//! or `T`, with or without seconds (`2026-01-01 10:00`, which Arrow's parser refuses),
//! slashes (`2026/01/05`), month names (`Jan 5 2026`, `5 January 2026`), a trailing zone
//! (`Z`, `UTC`, `+08`, `+08:00`, `+0800`) and the special words epoch, now, today, tomorrow
//! and yesterday.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

/// What a date or timestamp literal says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A wall-clock time, and the zone offset written after it, if any.
    At(NaiveDateTime, Option<FixedOffset>),
    /// 'now': the statement's time.
    Now,
    /// 'today', 'tomorrow', 'yesterday': local midnight, shifted by this many days.
    Midnight(i64),
}

const DATES: &[&str] = &[
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y%m%d",
    "%B %d %Y",
    "%B %d, %Y",
    "%d %B %Y",
    "%d-%B-%Y",
];
const TIMES: &[&str] = &["%H:%M:%S%.f", "%H:%M"];

/// `text` read as PostgreSQL's date/timestamp input does; None for anything else.
pub fn parse(text: &str) -> Option<Input> {
    let text = text.trim();
    match text.to_ascii_lowercase().as_str() {
        "epoch" => return Some(Input::At(NaiveDateTime::default(), None)),
        "now" => return Some(Input::Now),
        "today" => return Some(Input::Midnight(0)),
        "tomorrow" => return Some(Input::Midnight(1)),
        "yesterday" => return Some(Input::Midnight(-1)),
        _ => {}
    }
    let (rest, offset) = split_zone(text)?;
    // The date and the time are separated by a space or a T (ISO 8601).
    let (date, time) = match time_start(rest) {
        Some(at) => (
            rest[..at].trim_end_matches(['T', 't', ' ']),
            Some(&rest[at..]),
        ),
        None => (rest, None),
    };
    let date = DATES
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(date.trim(), f).ok())?;
    let time = match time {
        Some(t) => TIMES
            .iter()
            .find_map(|f| NaiveTime::parse_from_str(t.trim(), f).ok())?,
        None => NaiveTime::MIN,
    };
    Some(Input::At(date.and_time(time), offset))
}

/// Where the time of day begins: the digits before the first ':'.
fn time_start(text: &str) -> Option<usize> {
    let colon = text.find(':')?;
    let start = text[..colon]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    (start > 0).then_some(start)
}

/// `text` without its trailing zone, and the zone's offset. A zone is only looked for after a
/// time of day: a date's own '-05' is no offset. None for a zone that cannot be read.
fn split_zone(text: &str) -> Option<(&str, Option<FixedOffset>)> {
    let Some(colon) = text.find(':') else {
        return Some((text, None));
    };
    for name in ["z", " utc", " gmt", "utc", "gmt"] {
        if text.len() > name.len() && text.to_ascii_lowercase().ends_with(name) {
            return Some((&text[..text.len() - name.len()], FixedOffset::east_opt(0)));
        }
    }
    let Some(sign_at) = text[colon..].rfind(['+', '-']).map(|i| i + colon) else {
        return Some((text, None));
    };
    let sign = if text[sign_at..].starts_with('-') {
        -1
    } else {
        1
    };
    let zone: String = text[sign_at + 1..].chars().filter(|c| *c != ':').collect();
    if zone.is_empty() || zone.len() > 4 || !zone.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes) = zone.split_at(zone.len().min(2));
    let hours: i32 = hours.parse().ok()?;
    let minutes: i32 = if minutes.is_empty() {
        0
    } else {
        minutes.parse().ok()?
    };
    let offset = FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))?;
    Some((text[..sign_at].trim_end(), Some(offset)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> (String, Option<i32>) {
        match parse(text) {
            Some(Input::At(t, offset)) => (
                t.format("%Y-%m-%d %H:%M:%S%.f").to_string(),
                offset.map(|o| o.local_minus_utc()),
            ),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn reads_the_forms_postgresql_reads() {
        let ten = ("2026-01-01 10:00:00".to_string(), None);
        for text in [
            "2026-01-01 10:00",
            "2026-01-01T10:00",
            " 2026-01-01 10:00:00 ",
            "2026/01/01 10:00",
            "Jan 1 2026 10:00",
            "1 January 2026 10:00:00",
            "january 1, 2026 10:00",
        ] {
            assert_eq!(at(text), ten, "{text}");
        }
        assert_eq!(at("2026-1-5"), ("2026-01-05 00:00:00".to_string(), None));
        assert_eq!(at("20260105"), ("2026-01-05 00:00:00".to_string(), None));
        assert_eq!(
            at("2026-01-01 10:00:00.25"),
            ("2026-01-01 10:00:00.250".to_string(), None)
        );
        assert_eq!(at("epoch"), ("1970-01-01 00:00:00".to_string(), None));
        assert_eq!(parse("Today"), Some(Input::Midnight(0)));
        assert_eq!(parse("yesterday"), Some(Input::Midnight(-1)));
        assert_eq!(parse("NOW"), Some(Input::Now));
    }

    #[test]
    fn a_zone_after_the_time_is_read_and_a_dates_dash_is_not() {
        assert_eq!(at("2026-01-01 10:00:00+08").1, Some(8 * 3600));
        assert_eq!(at("2026-01-01T10:00:00Z").1, Some(0));
        assert_eq!(at("2026-01-01 10:00 UTC").1, Some(0));
        assert_eq!(at("2026-01-01 10:00:00-05:30").1, Some(-(5 * 3600 + 1800)));
        assert_eq!(at("2026-01-01 10:00:00+0800").1, Some(8 * 3600));
        assert_eq!(at("2026-01-05").1, None);
        assert_eq!(at("2026-01-01 10:00:00+08").0, "2026-01-01 10:00:00");
    }

    #[test]
    fn anything_else_is_not_a_date() {
        for text in [
            "",
            "garbage",
            "2026-13-01",
            "2026-02-30",
            "2026-01-01 25:00",
            "2026-01-01 10:00+ab",
            "10:00",
            "infinity",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
