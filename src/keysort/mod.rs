//! Integer-key sorting for full sorts (ORDER BY without LIMIT, and the sorts under window
//! functions such as the RFM quintiles' `ntile(5) OVER (ORDER BY visits, member_id)`).
//!
//! DataFusion's SortExec compares rows column by column through per-column comparators;
//! when the first column ties (visit counts do, nearly always) each comparison falls through
//! to a string compare. `KeySortRule` replaces such a SortExec with `KeySortExec`, which
//! packs the sort columns into one integer per row (keys.rs), sorts those (order.rs), and
//! falls back to the SortExec it replaced when the key does not fit in 128 bits or memory runs
//! short (replay.rs). `SET cip.key_sort = false` turns it off for a session.

mod exec;
mod keys;
mod order;
mod parallel;
mod replay;
#[cfg(test)]
mod tests;

pub use exec::KeySortExec;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::Result;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct KeySortRule;

impl PhysicalOptimizerRule for KeySortRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if !cip_udfs::session::CipOptions::of(config).key_sort {
            return Ok(plan);
        }
        plan.transform_up(|node| {
            let Some(sort) = node.downcast_ref::<SortExec>() else {
                return Ok(Transformed::no(node));
            };
            if !replaceable(sort)? {
                return Ok(Transformed::no(node));
            }
            let keyed = KeySortExec::new(Arc::new(sort.clone()));
            Ok(Transformed::yes(Arc::new(keyed) as Arc<dyn ExecutionPlan>))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "key_sort"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// A full sort of unsorted input (TopK and partial sorts stay DataFusion's) whose every key
/// has an integer code.
fn replaceable(sort: &SortExec) -> Result<bool> {
    if sort.fetch().is_some() {
        return Ok(false);
    }
    let input = sort.input();
    let (prefix, _) = input
        .equivalence_properties()
        .extract_common_sort_prefix(sort.expr().clone())?;
    if !prefix.is_empty() {
        return Ok(false);
    }
    let schema = input.schema();
    for e in sort.expr().iter() {
        if !keys::supported(&e.expr.data_type(&schema)?) {
            return Ok(false);
        }
    }
    Ok(true)
}
