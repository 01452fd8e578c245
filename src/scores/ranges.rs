//! Scoring everyone in ranges of member_id, one after another, so the memory a scoring needs
//! follows the size of a range rather than the population's.
//!
//! A member's row depends only on their own rows and the day's fits (the population's figures
//! are stored fits, not windows over everyone), so scoring the members of each range alone
//! gives the same rows as scoring all at once. The filter on member_id reaches every scan of
//! the views; what a range costs in memory — the hash tables of the joins and aggregations,
//! which cannot all spill — grows with the input rows of its members. Ranges in ascending
//! order, each sorted, give all the rows sorted by member_id.

use crate::storage::Store;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::execution::memory_pool::MemoryLimit;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::{col, lit, Expr};
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use std::sync::Arc;

/// Memory a range may take per row its members have in the tables read (visits, order items,
/// tracking events…): the joins' and aggregations' hash tables with their keys, and batches
/// in flight that the pool does not count. Measured (2026-12-06, generated chains): all of
/// 1,000,000 members, 33.5M input rows, peaked at 1.75 GB RSS (~52 bytes a row); at 10M
/// members in one pass the joins' build sides alone (which cannot spill) outgrew a 4 GiB
/// pool. Set high, so a range stays well inside its share of the pool.
const BYTES_PER_INPUT_ROW: u64 = 128;

/// Members sampled per range to place the boundaries.
const SAMPLES_PER_RANGE: usize = 1_000;

/// Members with member_id in [lo, hi); None is unbounded.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    pub lo: Option<String>,
    pub hi: Option<String>,
}

impl Range {
    pub const ALL: Range = Range { lo: None, hi: None };

    /// The filter selecting this range's members; None for everyone.
    pub fn filter(&self) -> Option<Expr> {
        let lo = self
            .lo
            .as_ref()
            .map(|v| col("member_id").gt_eq(lit(v.clone())));
        let hi = self
            .hi
            .as_ref()
            .map(|v| col("member_id").lt(lit(v.clone())));
        match (lo, hi) {
            (Some(a), Some(b)) => Some(a.and(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The ranges scoring everyone takes in this session: as many as keep each range's share of
/// the rows of `names` (the tables member_scores_live reads) within half the memory pool.
pub async fn for_scoring(
    ctx: &SessionContext,
    store: Arc<Store>,
    names: Vec<String>,
) -> crate::error::Result<Vec<Range>> {
    // The manifests are files: read off the async threads.
    let (input_rows, members) = crate::statement::runtime::blocking("member_scores", move || {
        let members = store.table("members")?.snapshot()?.rows() as usize;
        Ok((rows_of(&store, &names)?, members))
    })
    .await?;
    Ok(split(ctx, needed(&ctx.state(), input_rows), members).await?)
}

/// The rows the tables `names` hold now but member_scores's own, which a scoring writes rather
/// than reads.
fn rows_of(store: &Store, names: &[String]) -> crate::error::Result<u64> {
    names
        .iter()
        .filter(|n| n.as_str() != super::TABLE)
        .map(|n| Ok(store.table(n)?.snapshot()?.rows()))
        .sum()
}

/// How many ranges scoring `input_rows` rows takes within the session's memory pool: one when
/// the pool has no known limit.
/// `SET cip.score_ranges = N` says how many instead.
fn needed(state: &SessionState, input_rows: u64) -> usize {
    let set = crate::settings::CipOptions::of(state.config_options()).score_ranges;
    if set > 0 {
        return set as usize;
    }
    let MemoryLimit::Finite(pool) = state.runtime_env().memory_pool.memory_limit() else {
        return 1;
    };
    // A range may take half the pool: the other half is for the statements of others.
    let per_range = (pool as u64 / 2).max(1);
    input_rows
        .saturating_mul(BYTES_PER_INPUT_ROW)
        .div_ceil(per_range)
        .max(1) as usize
}

/// `n` ranges holding about equally many of the `members` (the table's row count, which sets
/// the sampling stride): boundaries at the quantiles of a systematic sample of member_id
/// (every k-th as the rows come), so placing them costs one scan of one column and memory for
/// the sample only.
async fn split(ctx: &SessionContext, n: usize, members: usize) -> Result<Vec<Range>> {
    if n <= 1 {
        return Ok(vec![Range::ALL]);
    }
    let stride = (members / (n * SAMPLES_PER_RANGE)).max(1);
    let mut stream = ctx
        .sql("SELECT member_id FROM members")
        .await?
        .execute_stream()
        .await?;
    let (mut sample, mut seen) = (Vec::new(), 0usize);
    while let Some(batch) = stream.next().await {
        let ids = cast(batch?.column(0), &DataType::Utf8)?;
        let ids = ids.as_string::<i32>();
        for i in 0..ids.len() {
            if ids.is_valid(i) && seen % stride == 0 {
                sample.push(ids.value(i).to_string());
            }
            seen += 1;
        }
    }
    Ok(from_sample(sample, n))
}

/// The ranges cut at the sample's quantiles (repeated boundaries merged).
fn from_sample(mut sample: Vec<String>, n: usize) -> Vec<Range> {
    sample.sort_unstable();
    let mut cuts: Vec<String> = (1..n)
        .filter_map(|k| sample.get(k * sample.len() / n).cloned())
        .collect();
    cuts.dedup();
    let mut ranges = Vec::with_capacity(cuts.len() + 1);
    let mut lo = None;
    for cut in cuts {
        ranges.push(Range {
            lo: lo.take(),
            hi: Some(cut.clone()),
        });
        lo = Some(cut);
    }
    ranges.push(Range { lo, hi: None });
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("M{i:05}")).collect()
    }

    #[test]
    fn ranges_cover_every_member_once_in_order() {
        let ranges = from_sample(ids(1000), 4);
        assert_eq!(ranges.len(), 4);
        assert_eq!(ranges[0].lo, None);
        assert_eq!(ranges[3].hi, None);
        for w in ranges.windows(2) {
            assert_eq!(w[0].hi, w[1].lo, "adjacent, no gap or overlap");
        }
        let inside = |r: &Range, id: &str| {
            r.lo.as_deref().is_none_or(|lo| id >= lo) && r.hi.as_deref().is_none_or(|hi| id < hi)
        };
        for id in ids(1000).iter().chain([&"A".to_string(), &"Z".to_string()]) {
            assert_eq!(ranges.iter().filter(|r| inside(r, id)).count(), 1, "{id}");
        }
    }

    #[test]
    fn few_distinct_ids_give_fewer_ranges() {
        let ranges = from_sample(vec!["M1".into(); 50], 4);
        assert_eq!(ranges.len(), 2);
        assert_eq!(from_sample(vec![], 4), vec![Range::ALL]);
        assert_eq!(Range::ALL.filter(), None);
    }
}
