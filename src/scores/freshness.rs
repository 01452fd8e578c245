//! What the stored snapshot was computed from: the business date and settings, and the
//! versions of every table the live view reads (and of the fits and the snapshot itself). The
//! refresh records it in `_member_scores.json` beside the tables (a file, so another
//! process's refresh is seen at once); every scan of member_scores compares it with the
//! tables' versions now (catch_up.rs).

use crate::error::{CipError, Result};
use crate::settings::CipOptions;
use crate::storage::{Store, TableVersion};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::DataFusionError;
use datafusion::logical_expr::LogicalPlan;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const FILE: &str = "_member_scores.json";

/// What a refresh computed its rows from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Basis {
    /// YYYY-MM-DD.
    pub as_of: String,
    /// The session settings a score depends on besides the date.
    pub settings: String,
    /// Every stored table the live view reads, and member_scores itself, at their versions.
    pub tables: BTreeMap<String, TableVersion>,
}

/// The settings of `options` that change a member's figures (timezone and cut-off move visits
/// between days; the churn horizon changes churn_risk), and the snapshot's width: a snapshot
/// written before member_scores gained a column (fit_as_of) is read with it NULL, so it is
/// rewritten rather than answered from.
pub fn settings_of(options: &CipOptions, store: &Store) -> Result<String> {
    let columns = store.table(super::TABLE)?.def.schema.fields().len();
    Ok(format!(
        "timezone={} day_cutoff={} churn_horizon_days={} columns={columns}",
        options.timezone, options.day_cutoff, options.churn_horizon_days
    ))
}

fn path(store: &Store) -> PathBuf {
    store.root.join(FILE)
}

/// The recorded basis of the snapshot, if a refresh completed.
pub fn recorded(store: &Store) -> Result<Option<Basis>> {
    read(&path(store))
}

fn read(path: &Path) -> Result<Option<Basis>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CipError::io(format!("read {}", path.display()), e)),
    }
}

pub fn record(store: &Store, basis: &Basis) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(basis)
        .map_err(|e| DataFusionError::Internal(format!("encode {FILE}: {e}")))?;
    crate::storage::fsutil::write_atomic(&path(store), &bytes)
}

/// Forgets the basis (before a refresh rewrites the table: a crash half-way must not leave a
/// basis that names the new version of a table as the old one's).
pub fn forget(store: &Store) -> Result<()> {
    match std::fs::remove_file(path(store)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CipError::io(format!("remove {}", path(store).display()), e)),
    }
}

/// The stored tables `plan` reads, through any views it reads.
pub fn tables_read(plan: &LogicalPlan, store: &Store) -> Vec<String> {
    let mut names = Vec::new();
    collect(plan, store, &mut names);
    names.sort();
    names.dedup();
    names
}

fn collect(plan: &LogicalPlan, store: &Store, names: &mut Vec<String>) {
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            match scan.source.get_logical_plan() {
                Some(view) => collect(&view, store, names),
                None => {
                    let name = scan.table_name.table();
                    if store.table(name).is_ok() {
                        names.push(name.to_string());
                    }
                }
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
}

/// Makes the day's fits of the session `ctx` (the population's makes the others) so that
/// versions read afterwards include them: a fit stored while rows are computed would make the
/// next comparison start over.
pub async fn fit_the_day(
    ctx: &datafusion::prelude::SessionContext,
) -> datafusion::common::Result<()> {
    ctx.sql("SELECT count(*) FROM model_fit('population')")
        .await?
        .collect()
        .await?;
    Ok(())
}

/// The stored tables `plan` reads, and the fits: the views read those through model_fit(),
/// not a scan the plan shows, and a fit of the day stored later changes everyone's figures.
pub fn inputs(plan: &LogicalPlan, store: &Store) -> Vec<String> {
    let mut names = tables_read(plan, store);
    if store.table(super::catch_up::FITS).is_ok() {
        names.push(super::catch_up::FITS.to_string());
    }
    names
}

/// The versions of `names` now.
pub fn versions(store: &Store, names: &[String]) -> Result<BTreeMap<String, TableVersion>> {
    names
        .iter()
        .map(|n| Ok((n.clone(), store.table(n)?.version()?)))
        .collect()
}
