//! The default segment rules a new data directory starts with (`segment_rules` version 1).
//! They are data: an operator changes them with SQL under a new version (README, "Segments");
//! customer_segments (queries/06_customer_segments.sql) evaluates whatever is in force.
//!
//! Every bound is relative — a multiple of the median established member's figure, or of
//! the member's own rhythm — so the same rules hold for a chain priced in yuan or dollars, a
//! weekly beer bar or a monthly lounge. They follow the seed's definitions on two axes,
//! value and frequency:
//!
//! | segment | seed | rule |
//! |---|---|---|
//! | new | 新客户 | registered or first visit within 45 days, or no visit yet |
//! | churn_risk | 流失风险: was active, recently stopped | silent for 3 of their own gaps between visits and at least the median member's gap |
//! | vip | high value, high frequency | 2× the median spend per visit, 1.5× the median visit rate |
//! | potential | strong spending, low frequency | 2× the median spend per visit |
//! | loyal | mid-high value, high frequency | at least the median visit rate and the median spend per month |
//!
//! The multiples were chosen once, as round numbers, and measured on four differently shaped
//! generated chains and CDNOW (tests/segments.rs); no bound is fitted to one chain. P(alive)
//! is not a default bound (a rule may use `max_p_alive`): silence against the member's own
//! rhythm separated lapsed members better on every chain tried.
//! | regular | medium / low spend and frequency | everyone else |

use crate::warehouse::tables::table_def;
use datafusion::arrow::array::{
    ArrayRef, Float64Array, Int32Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use std::sync::Arc;

/// One rule; None is "no bound".
struct Rule {
    segment: &'static str,
    max_tenure_days: Option<i32>,
    min_spend_per_visit: Option<f64>,
    min_visits_per_month: Option<f64>,
    min_spend_per_month: Option<f64>,
    min_silence_rhythms: Option<f64>,
    min_silence_median_gaps: Option<f64>,
    max_p_alive: Option<f64>,
    description: &'static str,
}

const NONE: Rule = Rule {
    segment: "regular",
    max_tenure_days: None,
    min_spend_per_visit: None,
    min_visits_per_month: None,
    min_spend_per_month: None,
    min_silence_rhythms: None,
    min_silence_median_gaps: None,
    max_p_alive: None,
    description: "",
};

/// In precedence order: the first that holds wins.
const RULES: [Rule; 6] = [
    Rule {
        segment: "new",
        max_tenure_days: Some(45),
        description: "新客户: registered or first visit within 45 days, or no visit yet",
        ..NONE
    },
    Rule {
        segment: "churn_risk",
        min_silence_rhythms: Some(3.0),
        min_silence_median_gaps: Some(1.0),
        description: "流失风险客户: was active and stopped: silent for 3 of their own gaps between visits and at least the median member's gap",
        ..NONE
    },
    Rule {
        segment: "vip",
        min_spend_per_visit: Some(2.0),
        min_visits_per_month: Some(1.5),
        description: "VIP客户: high value and high frequency: at least 2x the median spend per visit and 1.5x the median visits per month",
        ..NONE
    },
    Rule {
        segment: "potential",
        min_spend_per_visit: Some(2.0),
        description: "潜力客户: strong spending, lower frequency: at least 2x the median spend per visit",
        ..NONE
    },
    Rule {
        segment: "loyal",
        min_visits_per_month: Some(1.0),
        min_spend_per_month: Some(1.0),
        description: "忠诚客户: mid-high value and high frequency: at least the median visits per month and the median spend per month",
        ..NONE
    },
    Rule {
        segment: "regular",
        description: "普通客户: medium or low spend and frequency: everyone no other rule takes",
        ..NONE
    },
];

/// 1900-01-01 00:00: version 1 is in force for any as-of date, so back-tests of old data
/// (CDNOW is from 1997) find it.
const SINCE_1900_MICROS: i64 = -2_208_988_800_000_000;

/// The default rules as rows of `segment_rules`.
pub fn default_rules() -> datafusion::common::Result<RecordBatch> {
    let def = table_def("segment_rules").ok_or_else(|| {
        datafusion::common::DataFusionError::Internal("no segment_rules table".into())
    })?;
    let float = |f: fn(&Rule) -> Option<f64>| -> ArrayRef {
        Arc::new(Float64Array::from(RULES.iter().map(f).collect::<Vec<_>>()))
    };
    let n = RULES.len();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(
            RULES.iter().map(|r| r.segment).collect::<Vec<_>>(),
        )),
        Arc::new(Int32Array::from((1..=n as i32).collect::<Vec<_>>())),
        Arc::new(Int32Array::from(
            RULES.iter().map(|r| r.max_tenure_days).collect::<Vec<_>>(),
        )),
        float(|r| r.min_spend_per_visit),
        float(|_| None),
        float(|r| r.min_visits_per_month),
        float(|_| None),
        float(|r| r.min_spend_per_month),
        float(|r| r.min_silence_rhythms),
        float(|r| r.min_silence_median_gaps),
        float(|r| r.max_p_alive),
        Arc::new(StringArray::from(
            RULES.iter().map(|r| r.description).collect::<Vec<_>>(),
        )),
        Arc::new(Int32Array::from(vec![1; n])),
        Arc::new(TimestampMicrosecondArray::from(vec![SINCE_1900_MICROS; n])),
    ];
    Ok(RecordBatch::try_new(def.schema, columns)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_rules_fit_their_table() {
        let b = super::default_rules().expect("rules");
        assert_eq!(b.num_rows(), 6);
    }
}
