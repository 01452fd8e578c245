//! The warehouse: cip's tables on top of storage — which tables exist (tables.rs), what a new
//! warehouse starts with (the default tier ladder), what an append tells /metrics, and who may
//! read and write what (policy.rs, mask.rs). Storage below knows none of it.

mod mask;
mod policy;
pub mod tables;

pub use policy::Guarded;

use crate::error::Result;
use crate::storage::{AppendHook, Store, StoreOptions};
use std::path::Path;
use std::sync::Arc;

/// Opens (creating if needed) the warehouse in `root`.
pub fn open(root: &Path, mut opts: StoreOptions) -> Result<Store> {
    opts.on_append = Some(AppendHook(Arc::new(|table: &str, rows: u64| {
        if table == "campaign_tracking" {
            crate::metrics::EVENTS.add(rows);
        }
    })));
    let store = Store::open(root, opts, tables::all_tables())?;
    if store.created("tier_rules") {
        // A new warehouse starts with the default ladder (rule version 1).
        store
            .table("tier_rules")?
            .append(&[crate::tiers::default_ladder()?])?;
    }
    Ok(store)
}
