//! The warehouse: cip's tables on top of storage — which tables exist (tables.rs), what a new
//! warehouse starts with (the default tier ladder), what an append tells /metrics, and who may
//! read and write what (policy.rs, mask.rs). Storage below knows none of it.

mod campaign_tables;
mod changes;
mod exclusive;
mod mask;
mod policy;
mod score_table;
pub mod tables;

pub use campaign_tables::ATTEMPT_STATUSES;
pub use changes::Changes;
pub use exclusive::{as_of_today, exclusive, Exclusive};
pub use policy::{stored_definition, Guarded};

use crate::error::Result;
use crate::storage::{AppendHook, Store, StoreOptions};
use datafusion::arrow::record_batch::RecordBatch;
use std::path::Path;
use std::sync::Arc;

/// What a table that did not exist starts with: (table, its first rows).
pub type Seed = (
    &'static str,
    fn() -> datafusion::common::Result<RecordBatch>,
);

/// Opens (creating if needed) the warehouse in `root`; a table created now gets its seed.
/// Appends and rewrites are counted in `changes`.
pub fn open(
    root: &Path,
    mut opts: StoreOptions,
    seeds: &[Seed],
    changes: Arc<Changes>,
) -> Result<Store> {
    let rewrites = changes.clone();
    opts.on_append = Some(AppendHook(Arc::new(move |table: &str, rows: u64| {
        if table == "campaign_tracking" {
            crate::metrics::EVENTS.add(rows);
        }
        changes.appended(table);
    })));
    opts.on_rewrite = Some(AppendHook(Arc::new(move |table: &str, _| {
        rewrites.rewritten(table);
    })));
    let store = Store::open(root, opts, tables::all_tables())?;
    for (table, rows) in seeds {
        if store.created(table) {
            store.table(table)?.append(&[rows()?])?;
        }
    }
    Ok(store)
}
