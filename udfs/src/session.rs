//! cip's per-session settings (`SET cip.as_of = …`), kept in DataFusion's config as the `cip`
//! extension so every session has its own and every function sees its session's values.

use chrono::{NaiveDate, NaiveTime};
use datafusion::common::config::{ConfigExtension, ConfigField, ConfigOptions, Visit};
use datafusion::common::{extensions_options, DataFusionError, Result};

/// The business date every time-dependent view is computed as of; `today` by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AsOf(pub Option<NaiveDate>);

impl ConfigField for AsOf {
    fn visit<V: Visit>(&self, v: &mut V, key: &str, description: &'static str) {
        match self.0 {
            Some(d) => v.some(key, d, description),
            None => v.some(key, "today", description),
        }
    }

    fn set(&mut self, _key: &str, value: &str) -> Result<()> {
        let value = value.trim().trim_matches('\'');
        if value.is_empty()
            || value.eq_ignore_ascii_case("today")
            || value.eq_ignore_ascii_case("default")
        {
            self.0 = None;
            return Ok(());
        }
        let date = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
            DataFusionError::Configuration(format!(
                "invalid value for cip.as_of: {value:?} (expected a date YYYY-MM-DD, or 'today')"
            ))
        })?;
        self.0 = Some(date);
        Ok(())
    }

    fn reset(&mut self, _key: &str) -> Result<()> {
        self.0 = None;
        Ok(())
    }
}

extensions_options! {
    /// cip's per-session settings.
    pub struct CipOptions {
        /// The business date views are computed as of (YYYY-MM-DD); default: today.
        pub as_of: AsOf, default = AsOf::default()
        /// IANA time zone of the venues; timestamps are stored as local wall-clock time.
        pub timezone: String, default = "Asia/Shanghai".to_string()
        /// When the business day turns over (HH:MM): a visit before it belongs to the day before.
        pub day_cutoff: String, default = "06:00".to_string()
        /// Sort by packed integer keys where a sort's columns fit in 128 bits (off: always
        /// DataFusion's comparator sort; for comparing the two).
        pub key_sort: bool, default = true
        /// Days ahead churn_risk looks: 100 × P(no visit in this many days) (Pareto/NBD).
        pub churn_horizon_days: u32, default = 90
        /// On today's date (cip.as_of unset) with no model fit stored for it yet: answer with
        /// the latest earlier fit, say so in a NOTICE, and fit today's in the background
        /// rather than inside the query. On for clients of `cip serve`; off: wait for the fit.
        pub fit_fallback: bool, default = false
        /// Score everyone (refresh_member_scores(), `cip score`) in this many ranges of
        /// member_id, one after another; 0: as many as keep a range within the memory pool.
        pub score_ranges: u32, default = 0
    }
}

impl ConfigExtension for CipOptions {
    const PREFIX: &'static str = "cip";
}

impl CipOptions {
    /// The session's options, or the defaults in a context that never registered them.
    pub fn of(config: &ConfigOptions) -> CipOptions {
        config
            .extensions
            .get::<CipOptions>()
            .cloned()
            .unwrap_or_default()
    }

    pub fn tz(&self) -> Result<chrono_tz::Tz> {
        self.timezone.parse().map_err(|_| {
            DataFusionError::Configuration(format!(
                "invalid value for cip.timezone: {:?} (expected an IANA name like Asia/Shanghai)",
                self.timezone
            ))
        })
    }

    pub fn cutoff(&self) -> Result<NaiveTime> {
        NaiveTime::parse_from_str(&self.day_cutoff, "%H:%M").map_err(|_| {
            DataFusionError::Configuration(format!(
                "invalid value for cip.day_cutoff: {:?} (expected HH:MM)",
                self.day_cutoff
            ))
        })
    }

    /// The as-of business date in force: the set one, else the business day of now.
    pub fn as_of_date(&self) -> Result<NaiveDate> {
        if let Some(d) = self.as_of.0 {
            return Ok(d);
        }
        let now = chrono::Utc::now().with_timezone(&self.tz()?).naive_local();
        Ok(business_day(now, self.cutoff()?))
    }
}

/// The business day of a local wall-clock time: the calendar day of (time - cutoff).
pub fn business_day(local: chrono::NaiveDateTime, cutoff: NaiveTime) -> NaiveDate {
    (local - cutoff.signed_duration_since(NaiveTime::MIN)).date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_visit_belongs_to_the_evening_before() {
        let cutoff = NaiveTime::from_hms_opt(6, 0, 0).expect("time");
        let at = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("ts");
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        assert_eq!(
            business_day(at("2026-10-31 01:00"), cutoff),
            d("2026-10-30")
        );
        assert_eq!(
            business_day(at("2026-10-31 06:00"), cutoff),
            d("2026-10-31")
        );
        assert_eq!(
            business_day(at("2026-10-31 23:59"), cutoff),
            d("2026-10-31")
        );
    }
}
