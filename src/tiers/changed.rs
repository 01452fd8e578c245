//! The scheduler's upgrade run evaluates only the members whose figures may have changed since
//! the last run rather than the whole population every minute: the same following of changed
//! rows as the scored snapshot's catch-up (scores/catch_up.rs). A member's row of
//! upgrade_evaluation depends only on their own rows (members, visits, order items, tier
//! history), the rules and the day's fits; when storage can tell which rows were added or
//! removed since the last run on the same business day (appends, inserts, across flushes of
//! the log and restarts; this process's own updates and deletes), the members those rows name
//! are the only ones whose evaluation can differ. Anything else — another day (the 365-day
//! window moved), an update or delete another process made, new rules or fits — evaluates
//! everyone.
//!
//! What was last evaluated is kept per data directory, in this process and in
//! `_upgrade_run.json` beside the tables, so a restart follows on from the last run; a run
//! inside a transaction block neither uses nor records it (its writes may yet be rolled back).

use crate::error::to_df;
use crate::scores::{
    changes_since, fit_the_day, inputs, settings_of, versions, Basis, CatchUp, MAX_MEMBERS,
};
use crate::settings::CipOptions;
use crate::storage::{Store, TableVersion};
use datafusion::common::Result;
use datafusion::prelude::SessionContext;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

const HISTORY: &str = "upgrade_history";

/// Where the last run's basis is kept, beside the tables.
const FILE: &str = "_upgrade_run.json";

/// What the last upgrade run over everyone (or over the changed members) evaluated from.
static LAST: Mutex<BTreeMap<PathBuf, Basis>> = Mutex::new(BTreeMap::new());

/// Which members a run must evaluate.
pub enum Scope {
    Everyone,
    Members(Vec<String>),
}

/// The members the next upgrade run must evaluate in the session `ctx` (on today's date), and
/// what to record once it has written its changes.
pub async fn scope(ctx: &SessionContext, store: &Arc<Store>) -> Result<(Scope, Basis)> {
    let options = CipOptions::of(ctx.state().config_options());
    // The day's fits first: one stored by this run would send the next one to everyone.
    fit_the_day(ctx).await?;
    let plan = ctx.sql("SELECT * FROM upgrade_evaluation").await?;
    let names = inputs(plan.logical_plan(), store);
    let as_of = options.as_of_date()?.to_string();
    let settings = settings_of(&options, store).map_err(to_df)?;
    let remembered = LAST
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&store.root)
        .cloned();
    let last = remembered.or_else(|| stored(store));
    let store = store.clone();
    crate::statement::runtime::blocking("upgrade run scope", move || {
        let tables = versions(&store, &names)?;
        let now = Basis {
            as_of,
            settings,
            tables,
        };
        let scope = match last {
            Some(last)
                if last.as_of == now.as_of
                    && last.settings == now.settings
                    && last.tables.keys().eq(now.tables.keys()) =>
            {
                match changes_since(&store, &last, None)? {
                    CatchUp::Current => Scope::Members(Vec::new()),
                    CatchUp::Members(members, _) if members.len() <= MAX_MEMBERS => {
                        Scope::Members(members.into_iter().collect())
                    }
                    CatchUp::Members(..) => Scope::Everyone,
                    CatchUp::Full => Scope::Everyone,
                }
            }
            _ => Scope::Everyone,
        };
        Ok((scope, now))
    })
    .await
    .map_err(to_df)
}

/// Records that a run evaluated everything `basis` describes. `written`: upgrade_history's
/// versions just before and after the run's own commit — the members it moved are at their
/// target now, so its rows need no evaluation next time; they are taken as seen when that
/// commit is the only change since the basis (one manifest step, the same log), else the
/// next run sees the table changed.
pub fn record(store: &Store, mut basis: Basis, written: Option<(TableVersion, TableVersion)>) {
    if let Some((before, after)) = written {
        let history = basis.tables.get_mut(HISTORY);
        if let Some(seen) = history.filter(|v| **v == before) {
            if after.manifest == before.manifest + 1 && after.log_bytes == before.log_bytes {
                *seen = after;
            }
        }
    }
    match serde_json::to_vec_pretty(&basis) {
        Ok(bytes) => {
            if let Err(e) = crate::storage::fsutil::write_atomic(&store.root.join(FILE), &bytes) {
                tracing::warn!("the upgrade run could not record what it evaluated: {e}");
            }
        }
        Err(e) => tracing::warn!("the upgrade run could not record what it evaluated: {e}"),
    }
    LAST.lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(store.root.clone(), basis);
}

/// What the last run of any process recorded; None when there is none to read (then
/// everyone is evaluated, which is always right).
fn stored(store: &Store) -> Option<Basis> {
    let bytes = std::fs::read(store.root.join(FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}
