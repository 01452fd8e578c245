//! Which tables were appended to, or rewritten (an update, a delete, an upsert): a counter
//! per table and kind that the background work (the dispatcher, conversion attribution, the
//! member_scores watcher) waits on instead of polling the data directory.

use std::collections::HashMap;
use tokio::sync::watch;

pub struct Changes {
    appends: HashMap<&'static str, watch::Sender<u64>>,
    rewrites: HashMap<&'static str, watch::Sender<u64>>,
}

fn counters() -> HashMap<&'static str, watch::Sender<u64>> {
    super::tables::table_names()
        .into_iter()
        .map(|t| (t, watch::Sender::new(0)))
        .collect()
}

fn bump(counters: &HashMap<&'static str, watch::Sender<u64>>, table: &str) {
    if let Some(tx) = counters.get(table) {
        tx.send_modify(|n| *n = n.wrapping_add(1));
    }
}

impl Changes {
    /// A counter of each kind for each table of the warehouse.
    pub fn new() -> Changes {
        Changes {
            appends: counters(),
            rewrites: counters(),
        }
    }

    /// Rows were appended to `table` durably.
    pub fn appended(&self, table: &str) {
        bump(&self.appends, table);
    }

    /// Rows of `table` were removed or changed durably.
    pub fn rewritten(&self, table: &str) {
        bump(&self.rewrites, table);
    }

    /// A receiver that sees every later append to `table`; None for a table created at run time.
    pub fn watch(&self, table: &str) -> Option<watch::Receiver<u64>> {
        self.appends.get(table).map(|tx| tx.subscribe())
    }

    /// A receiver that sees every later rewrite of `table`; None for a table created at run
    /// time.
    pub fn watch_rewrites(&self, table: &str) -> Option<watch::Receiver<u64>> {
        self.rewrites.get(table).map(|tx| tx.subscribe())
    }
}

impl Default for Changes {
    fn default() -> Self {
        Changes::new()
    }
}
