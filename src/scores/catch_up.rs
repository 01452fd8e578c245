//! Bringing the snapshot up to date for the members whose rows arrived since its refresh,
//! instead of scoring everyone again. Exact because a member's row depends only on their own
//! rows and the day's fits (customer_segments_live scores against model_fit('population')):
//! rescoring the members the new rows name gives the rows a full refresh would.
//!
//! Storage tells which rows were added or removed since the recorded versions
//! (Table::changes_since: appends, a transaction's inserts, loads — across flushes of the log
//! and a restart — and this process's own updates and deletes); the members those rows name,
//! before and after a change, are rescored. When it cannot tell (an update or delete another
//! process made, older than the steps it keeps), or on a change of the rules, of a fit of the
//! day or of the snapshot itself, another date or settings: the snapshot is built again.

use super::freshness::{self, Basis};
use super::TABLE;
use crate::error::Result;
use crate::settings::CipOptions;
use crate::storage::{PartScope, Rewrite, Store, TableVersion};
use chrono::NaiveDate;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{col, in_list, lit, Expr};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The stored fits (model_fit()), which the basis records beside the tables the plan reads.
pub const FITS: &str = "model_fits";

/// Beyond this many members one statement naming them all costs more than scoring everyone:
/// a refresh or a scan of the whole table then starts over, while a lookup of a few members
/// still reads the snapshot for all but those the new rows name.
pub const MAX_MEMBERS: usize = 10_000;

/// Beyond this many the plan no longer names them (everyone): a load of a whole chain's
/// history must not hold a set of every member in memory until the refresh that follows.
const MAX_NAMED: usize = 1_000_000;

/// What it takes to make the recorded snapshot answer for a date and settings again.
#[derive(Debug, PartialEq)]
pub enum CatchUp {
    /// It answers already.
    Current,
    /// Rescore these members, then record the tables at these versions.
    Members(BTreeSet<String>, BTreeMap<String, TableVersion>),
    /// Score everyone.
    Full,
}

/// `plan` for a session with `options`, off the statement threads.
pub async fn plan_for(store: &Arc<Store>, options: &CipOptions) -> Result<Arc<CatchUp>> {
    let (as_of, settings) = (
        options.as_of_date()?,
        freshness::settings_of(options, store)?,
    );
    let store = store.clone();
    crate::statement::runtime::blocking("member_scores freshness", move || {
        plan(&store, as_of, &settings)
    })
    .await
}

/// The last plan made, and what it was made from: every scan of member_scores asks, and
/// reading the rows changed since the snapshot (a batch job's hundred thousand) for each
/// lookup would cost more than the lookup. Per store (a process may open more than one).
type Made = (Basis, BTreeMap<String, TableVersion>, Arc<CatchUp>);
static LAST: Mutex<BTreeMap<PathBuf, Made>> = Mutex::new(BTreeMap::new());

/// Compares the recorded basis with the tables now (reads files: call off the statement
/// threads).
pub fn plan(store: &Store, as_of: NaiveDate, settings: &str) -> Result<Arc<CatchUp>> {
    let Some(basis) = freshness::recorded(store)? else {
        return Ok(Arc::new(CatchUp::Full));
    };
    if basis.as_of != as_of.to_string() || basis.settings != settings {
        return Ok(Arc::new(CatchUp::Full));
    }
    let names: Vec<String> = basis.tables.keys().cloned().collect();
    let now = freshness::versions(store, &names)?;
    let last = LAST
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&store.root)
        .cloned();
    if let Some((was, then, made)) = last {
        if was == basis && then == now {
            return Ok(made);
        }
    }
    // Keyed by the versions read before the rows: a write meanwhile only adds members to
    // rescore, and rescoring a member whose rows did not change gives the same row.
    let made = Arc::new(changes_at(store, &basis, Some(TABLE), now.clone())?);
    LAST.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(store.root.clone(), (basis, now, made.clone()));
    Ok(made)
}

/// What changed in the tables `basis` records since it was recorded: nothing, new rows naming
/// these members (with the tables' versions now), or anything else — so everyone. A change
/// to `own` (the table the basis was written with) is anything else too.
pub fn changes_since(store: &Store, basis: &Basis, own: Option<&str>) -> Result<CatchUp> {
    let names: Vec<String> = basis.tables.keys().cloned().collect();
    // The versions before reading the rows: a later append is caught by the next plan.
    let now = freshness::versions(store, &names)?;
    changes_at(store, basis, own, now)
}

/// changes_since with the tables' versions `now`, read before their rows.
fn changes_at(
    store: &Store,
    basis: &Basis,
    own: Option<&str>,
    now: BTreeMap<String, TableVersion>,
) -> Result<CatchUp> {
    if now == basis.tables {
        return Ok(CatchUp::Current);
    }
    let mut members = BTreeSet::new();
    for (name, was) in &basis.tables {
        if now.get(name) == Some(was) {
            continue;
        }
        if Some(name.as_str()) == own {
            return Ok(CatchUp::Full);
        }
        let table = store.table(name)?;
        let Some(changes) = table.changes_since(*was)? else {
            return Ok(CatchUp::Full);
        };
        let now_rows = table.snapshot()?.rows();
        let before = (now_rows + count(&changes.removed)).saturating_sub(count(&changes.added));
        if name == "visits" && (before == 0) != (now_rows == 0) {
            // The first visits, or none left: member_features falls back to member_behavior
            // for everyone, or stops.
            return Ok(CatchUp::Full);
        }
        let rows = changes.added.iter().chain(&changes.removed);
        if !members_named(name, rows, basis, &mut members)? || members.len() > MAX_NAMED {
            return Ok(CatchUp::Full);
        }
    }
    Ok(CatchUp::Members(members, now))
}

/// Adds the members `rows` (added to or removed from `table`) name; false when the rows may
/// change other members' figures too.
fn members_named<'a>(
    table: &str,
    rows: impl Iterator<Item = &'a RecordBatch>,
    basis: &Basis,
    members: &mut BTreeSet<String>,
) -> Result<bool> {
    for b in rows {
        if let Some(ids) = b.column_by_name("member_id") {
            let ids = cast(ids, &DataType::Utf8)?;
            let ids = ids.as_string::<i32>();
            members.extend(ids.iter().flatten().map(str::to_string));
        } else if table == FITS {
            // A fit for another date changes nothing here; one for this date changes everyone.
            let Some(dates) = b.column_by_name("as_of") else {
                return Ok(false);
            };
            let dates = cast(dates, &DataType::Utf8)?;
            if dates
                .as_string::<i32>()
                .iter()
                .any(|d| d == Some(&basis.as_of))
            {
                return Ok(false);
            }
        } else {
            return Ok(false);
        }
    }
    Ok(true)
}

fn count(rows: &[RecordBatch]) -> u64 {
    rows.iter().map(|b| b.num_rows() as u64).sum()
}

/// `member_id IN (members)`, or NOT IN with `negated`.
pub fn named(members: &BTreeSet<String>, negated: bool) -> Expr {
    let list = members.iter().map(|m| lit(m.as_str())).collect();
    in_list(col("member_id"), list, negated)
}

/// Replaces the snapshot's rows of `members` with `rows` in one commit, and records the
/// basis; returns nothing but errors.
pub fn store(
    store: &Store,
    members: &BTreeSet<String>,
    rows: &[RecordBatch],
    mut basis: Basis,
) -> Result<()> {
    let table = store.table(TABLE)?;
    let mut drop_members = |b: &RecordBatch| -> Result<Rewrite> {
        let Some(ids) = b.column_by_name("member_id") else {
            return Ok(Rewrite::Keep);
        };
        let ids = cast(ids, &DataType::Utf8)?;
        let ids = ids.as_string::<i32>();
        let gone: BooleanArray = (0..ids.len())
            .map(|i| Some(ids.is_valid(i) && members.contains(ids.value(i))))
            .collect();
        Ok(Rewrite::Remove(gone))
    };
    // Only the parts whose member_id range holds a member to drop are read and rewritten:
    // the snapshot's parts are capped in rows (storage's point-read layout) and sorted.
    let mut may_hold = |least: &ArrayRef, greatest: &ArrayRef| -> Result<bool> {
        let (least, greatest) = (
            cast(least, &DataType::Utf8)?,
            cast(greatest, &DataType::Utf8)?,
        );
        let (least, greatest) = (least.as_string::<i32>(), greatest.as_string::<i32>());
        Ok((0..least.len()).any(|i| {
            !least.is_valid(i)
                || !greatest.is_valid(i)
                || members
                    .range::<str, _>((
                        Bound::Included(least.value(i)),
                        Bound::Included(greatest.value(i)),
                    ))
                    .next()
                    .is_some()
        }))
    };
    let mut scope = PartScope {
        column: "member_id",
        may_change: &mut may_hold,
    };
    freshness::forget(store)?;
    table.rewrite_in(&mut scope, &mut drop_members, rows)?;
    basis.tables.insert(TABLE.to_string(), table.version()?);
    freshness::record(store, &basis)
}

#[cfg(test)]
#[path = "catch_up_tests.rs"]
mod tests;
