//! The messages waiting to be sent, with what the last check before sending needs.

use super::channel::Outgoing;
use crate::engine::Engine;
use crate::error::Result;
use crate::identity::{Actor, Role};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type};
use datafusion::common::ScalarValue;
use std::sync::Arc;

pub struct Pending {
    pub message_id: String,
    pub campaign_id: String,
    pub member_id: String,
    pub channel: String,
    pub content: String,
    pub tracking_token: String,
    pub attempts: i32,
    /// queued, sending (a crash interrupted its call), or failed.
    pub status: String,
    pub phone: Option<String>,
    /// The member's marketing consent now.
    pub consent: bool,
    /// Messages sent to the member within the cap window.
    pub sent_recently: i64,
    pub message_cost: f64,
}

impl Pending {
    /// The number of the attempt about to be made. A call a crash interrupted may or may
    /// not have reached the gateway: resending it keeps its number, so crashes never use up
    /// a message's attempts.
    pub fn attempt(&self) -> i32 {
        if self.status == "sending" {
            self.attempts.max(1)
        } else {
            self.attempts + 1
        }
    }

    pub fn outgoing(&self, public_url: &str) -> Outgoing {
        Outgoing {
            message_id: self.message_id.clone(),
            campaign_id: self.campaign_id.clone(),
            member_id: self.member_id.clone(),
            phone: self.phone.clone(),
            channel: self.channel.clone(),
            content: self.content.clone(),
            tracking_url: format!("{public_url}/t/{}", self.tracking_token),
        }
    }
}

/// Oldest first; 'sending' ones are those a crash interrupted.
const SQL: &str = "
SELECT m.message_id, m.campaign_id, m.member_id, m.channel, m.content, m.tracking_token,
       coalesce(m.attempts, 0), mem.phone, coalesce(mem.marketing_consent, false),
       coalesce(r.sent, 0), CAST(coalesce(c.message_cost, 0) AS DOUBLE), m.status
FROM campaign_messages m
JOIN campaigns c ON c.campaign_id = m.campaign_id
LEFT JOIN members mem ON mem.member_id = m.member_id
LEFT JOIN (SELECT member_id, count(*) AS sent FROM campaign_tracking
           WHERE status = 'sent' AND created_at > $1 GROUP BY member_id) r
       ON r.member_id = m.member_id
WHERE m.status IN ('queued', 'sending', 'failed') AND m.channel IN ({channels})
ORDER BY m.created_at, m.message_id
LIMIT $2";

/// Up to `limit` messages waiting on a configured channel, read as the dispatcher (messages
/// of a channel not configured wait, and never crowd the others out); `since` starts the cap
/// window.
pub async fn load(engine: &Arc<Engine>, since: i64, limit: usize) -> Result<Vec<Pending>> {
    let channels: Vec<String> = engine
        .config
        .channels
        .keys()
        .map(|name| format!("'{}'", name.replace('\'', "''")))
        .collect();
    let sql = SQL.replace("{channels}", &channels.join(", "));
    let session = crate::statement::Session::open_internal(engine.clone()).await?;
    session.set_user(Actor::new("dispatcher", Role::Owner));
    let batches = session
        .query(
            &sql,
            vec![
                ScalarValue::TimestampMicrosecond(Some(since), None),
                ScalarValue::Int64(Some(limit as i64)),
            ],
        )
        .await?;
    let mut out = Vec::new();
    for b in &batches {
        read(b, &mut out)?;
    }
    Ok(out)
}

fn read(b: &RecordBatch, out: &mut Vec<Pending>) -> Result<()> {
    let text = |i: usize| cast(b.column(i), &DataType::Utf8);
    let cols: Vec<_> = [0, 1, 2, 3, 4, 5, 7, 11]
        .into_iter()
        .map(text)
        .collect::<std::result::Result<_, _>>()?;
    let s = |c: usize, i: usize| {
        let a = cols[c].as_string::<i32>();
        a.is_valid(i).then(|| a.value(i).to_string())
    };
    let attempts = cast(b.column(6), &DataType::Int32)?;
    let consent = cast(b.column(8), &DataType::Boolean)?;
    let sent = cast(b.column(9), &DataType::Int64)?;
    let cost = cast(b.column(10), &DataType::Float64)?;
    let (attempts, consent, sent, cost) = (
        attempts.as_primitive::<Int32Type>(),
        consent.as_boolean(),
        sent.as_primitive::<Int64Type>(),
        cost.as_primitive::<Float64Type>(),
    );
    for i in 0..b.num_rows() {
        out.push(Pending {
            message_id: s(0, i).unwrap_or_default(),
            campaign_id: s(1, i).unwrap_or_default(),
            member_id: s(2, i).unwrap_or_default(),
            channel: s(3, i).unwrap_or_default(),
            content: s(4, i).unwrap_or_default(),
            tracking_token: s(5, i).unwrap_or_default(),
            attempts: attempts.value(i),
            status: s(7, i).unwrap_or_default(),
            phone: s(6, i),
            consent: consent.is_valid(i) && consent.value(i),
            sent_recently: sent.value(i),
            message_cost: cost.value(i),
        });
    }
    Ok(())
}
