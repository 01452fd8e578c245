//! The default tier ladder a new data directory starts with (rule version 1). It is data: an
//! operator changes it with SQL, adding rows under a new version (see README, "Tiers").
//!
//! Thresholds are over the rolling 12 months up to the evaluation date, in yuan and
//! visit-days, sized for a KTV / bar chain where a room night is ¥300–2,000.
//!
//! The churn bounds are on churn_risk = 100 × P(no visit in the next 90 days) (member_churn):
//! silver to diamond ask for at least a 30%, 40%, 50% and 60% chance of a visit within 90
//! days. (They were 80 / 70 / 60 / 50 on the former figure, 100 × (1 − P(alive)), which
//! most active members kept under 5.)

use crate::warehouse::tables::table_def;
use datafusion::arrow::array::{
    ArrayRef, Decimal128Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use std::sync::Arc;

struct Rung {
    tier: &'static str,
    rank: i32,
    min_spend: Option<i64>,
    min_visits: Option<i32>,
    max_churn_risk: Option<f64>,
    keep_spend: Option<i64>,
    keep_visits: Option<i32>,
    keep_days: Option<i32>,
    points: i64,
    rewards: &'static str,
}

const LADDER: [Rung; 5] = [
    Rung {
        tier: "basic",
        rank: 1,
        min_spend: None,
        min_visits: None,
        max_churn_risk: None,
        keep_spend: None,
        keep_visits: None,
        keep_days: None,
        points: 0,
        rewards: "{}",
    },
    Rung {
        tier: "silver",
        rank: 2,
        min_spend: Some(2_000),
        min_visits: Some(3),
        max_churn_risk: Some(70.0),
        keep_spend: Some(1_000),
        keep_visits: Some(2),
        keep_days: Some(365),
        points: 200,
        rewards: r#"{"coupons":["¥50 off a bill over ¥300"]}"#,
    },
    Rung {
        tier: "gold",
        rank: 3,
        min_spend: Some(8_000),
        min_visits: Some(8),
        max_churn_risk: Some(60.0),
        keep_spend: Some(4_000),
        keep_visits: Some(4),
        keep_days: Some(365),
        points: 800,
        rewards: r#"{"coupons":["¥100 off a bill over ¥600"],"gifts":["fruit platter"],"discount":0.05}"#,
    },
    Rung {
        tier: "platinum",
        rank: 4,
        min_spend: Some(25_000),
        min_visits: Some(16),
        max_churn_risk: Some(50.0),
        keep_spend: Some(12_000),
        keep_visits: Some(8),
        keep_days: Some(365),
        points: 2_500,
        rewards: r#"{"coupons":["free room hour","free room hour"],"gifts":["bottle of house wine"],"discount":0.08}"#,
    },
    Rung {
        tier: "diamond",
        rank: 5,
        min_spend: Some(60_000),
        min_visits: Some(30),
        max_churn_risk: Some(40.0),
        keep_spend: Some(30_000),
        keep_visits: Some(15),
        keep_days: Some(365),
        points: 6_000,
        rewards: r#"{"gifts":["champagne tower","birthday party package"],"discount":0.12,"priority_booking":true}"#,
    },
];

/// 2000-01-01 00:00: version 1 is in force for any as-of date, so back-tests find it.
const SINCE_2000_MICROS: i64 = 946_684_800_000_000;

/// The default ladder as rows of `tier_rules`.
pub fn default_ladder() -> datafusion::common::Result<RecordBatch> {
    let def = table_def("tier_rules").ok_or_else(|| {
        datafusion::common::DataFusionError::Internal("no tier_rules table".into())
    })?;
    let money = |f: fn(&Rung) -> Option<i64>| -> datafusion::common::Result<ArrayRef> {
        let cents: Vec<Option<i128>> = LADDER
            .iter()
            .map(|r| f(r).map(|y| y as i128 * 100))
            .collect();
        Ok(Arc::new(
            Decimal128Array::from(cents).with_precision_and_scale(12, 2)?,
        ))
    };
    let int = |f: fn(&Rung) -> Option<i32>| -> ArrayRef {
        Arc::new(Int32Array::from(LADDER.iter().map(f).collect::<Vec<_>>()))
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(
            LADDER.iter().map(|r| r.tier).collect::<Vec<_>>(),
        )),
        Arc::new(Int32Array::from(
            LADDER.iter().map(|r| r.rank).collect::<Vec<_>>(),
        )),
        money(|r| r.min_spend)?,
        int(|r| r.min_visits),
        Arc::new(Float64Array::from(
            LADDER.iter().map(|r| r.max_churn_risk).collect::<Vec<_>>(),
        )),
        money(|r| r.keep_spend)?,
        int(|r| r.keep_visits),
        int(|r| r.keep_days),
        Arc::new(Int64Array::from(
            LADDER.iter().map(|r| r.points).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            LADDER.iter().map(|r| r.rewards).collect::<Vec<_>>(),
        )),
        Arc::new(Int32Array::from(vec![1; LADDER.len()])),
        Arc::new(TimestampMicrosecondArray::from(vec![
            SINCE_2000_MICROS;
            LADDER.len()
        ])),
    ];
    Ok(RecordBatch::try_new(def.schema, columns)?)
}
