//! Who a launch reaches: the segment's members with what their message needs (consent, the
//! messages already on their way to them, name, tier, the category of their offer).

use crate::error::{to_df, CipError};
use datafusion::arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::prelude::SessionContext;

pub struct Member {
    pub member_id: String,
    pub consent: bool,
    /// Messages of any campaign sent or on their way to the member within the cap window.
    pub recent: i64,
    pub name: Option<String>,
    pub tier: Option<String>,
    /// The category behind the member's strongest preference tag (beer, wine, package, snack).
    pub category: Option<String>,
}

/// The segment's members as of today, with their figures. The frequency cap counts every
/// message sent (its 'sent' tracking row, whoever wrote it) and every message still on its way
/// (queued, being sent, or failed and to be retried); a dead message does not count.
const SQL: &str = "
WITH tagged AS (
    SELECT member_id,
           CASE tag WHEN 'beer_lover' THEN 'beer' WHEN 'wine_lover' THEN 'wine'
                    WHEN 'package_buyer' THEN 'package' WHEN 'snack_lover' THEN 'snack' END AS category
    FROM (SELECT member_id, unnest(preference_tags) AS tag FROM member_scores WHERE segment_id = $1) u
),
spend AS (
    SELECT member_id, CASE WHEN category = 'spirits' THEN 'wine' ELSE category END AS category,
           sum(amount) AS amount
    FROM order_items GROUP BY 1, 2
),
pref AS (
    SELECT member_id, category FROM (
        SELECT t.member_id, t.category,
               row_number() OVER (PARTITION BY t.member_id
                                  ORDER BY coalesce(s.amount, 0) DESC, t.category) AS rn
        FROM tagged t
        LEFT JOIN spend s ON s.member_id = t.member_id AND s.category = t.category
        WHERE t.category IS NOT NULL) r
    WHERE rn = 1
),
recent AS (
    SELECT member_id, count(*) AS recent FROM (
        SELECT member_id FROM campaign_tracking WHERE status = 'sent' AND created_at > $2
        UNION ALL
        SELECT member_id FROM campaign_messages
        WHERE status IN ('queued', 'sending', 'failed') AND created_at > $2
    ) x
    GROUP BY member_id
)
SELECT s.member_id, coalesce(m.marketing_consent, false), coalesce(r.recent, 0),
       m.name, m.tier, p.category
FROM member_scores s
JOIN members m ON m.member_id = s.member_id
LEFT JOIN recent r ON r.member_id = s.member_id
LEFT JOIN pref p ON p.member_id = s.member_id
WHERE s.segment_id = $1
ORDER BY s.member_id";

/// The segment's members, ordered by member id; `since` starts the frequency cap's window.
pub async fn audience(ctx: &SessionContext, segment: &str, since: i64) -> Result<Vec<Member>> {
    let rows = ctx
        .sql(SQL)
        .await?
        .with_param_values(vec![
            ScalarValue::from(segment),
            ScalarValue::TimestampMicrosecond(Some(since), None),
        ])?
        .collect()
        .await?;
    let mut out = Vec::new();
    for b in &rows {
        read(b, &mut out)?;
    }
    Ok(out)
}

fn read(b: &RecordBatch, out: &mut Vec<Member>) -> Result<()> {
    let text = |i: usize| cast(b.column(i), &DataType::Utf8);
    let (ids, names, tiers, cats) = (text(0)?, text(3)?, text(4)?, text(5)?);
    let (ids, names, tiers, cats) = (
        ids.as_string::<i32>(),
        names.as_string::<i32>(),
        tiers.as_string::<i32>(),
        cats.as_string::<i32>(),
    );
    let consent = cast(b.column(1), &DataType::Boolean)?;
    let consent = consent
        .as_any()
        .downcast_ref::<BooleanArray>()
        .ok_or_else(|| to_df(CipError::Corrupt("consent is not boolean".into())))?;
    let recent = cast(b.column(2), &DataType::Int64)?;
    let recent = recent.as_primitive::<Int64Type>();
    let opt = |a: &datafusion::arrow::array::StringArray, i: usize| {
        a.is_valid(i).then(|| a.value(i).to_string())
    };
    for i in 0..b.num_rows() {
        out.push(Member {
            member_id: ids.value(i).to_string(),
            consent: consent.value(i),
            recent: recent.value(i),
            name: opt(names, i),
            tier: opt(tiers, i),
            category: opt(cats, i),
        });
    }
    Ok(())
}

/// The category most of the audience prefers: the offer of members who have none.
pub fn common_category(members: &[Member]) -> Option<String> {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for m in members {
        if let Some(c) = &m.category {
            *counts.entry(c.as_str()).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(c, _)| c.to_string())
}
