//! Which tables were appended to: a counter per table that the background work (the
//! dispatcher, conversion attribution) waits on instead of polling the data directory.

use std::collections::HashMap;
use tokio::sync::watch;

pub struct Changes {
    counters: HashMap<&'static str, watch::Sender<u64>>,
}

impl Changes {
    /// A counter for each table of the warehouse.
    pub fn new() -> Changes {
        let counters = super::tables::table_names()
            .into_iter()
            .map(|t| (t, watch::Sender::new(0)))
            .collect();
        Changes { counters }
    }

    /// Rows were appended to `table` durably.
    pub fn appended(&self, table: &str) {
        if let Some(tx) = self.counters.get(table) {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// A receiver that sees every later append to `table`; None for a table created at run time.
    pub fn watch(&self, table: &str) -> Option<watch::Receiver<u64>> {
        self.counters.get(table).map(|tx| tx.subscribe())
    }
}

impl Default for Changes {
    fn default() -> Self {
        Changes::new()
    }
}
