//! Keeps the snapshot current as rows change: after an append to, or an update or delete of,
//! any table the live view reads, it waits a moment for the rest of a burst, then runs
//! `refresh_member_scores(true)`, which rescores only the members the changed rows name
//! (catch_up.rs; everyone when storage cannot tell, e.g. a change another process made). A
//! new business day is left to the scheduler's periodic run of the same statement.

use super::LIVE;
use crate::engine::Engine;
use std::sync::Arc;
use std::time::{Duration, Instant};

const STATEMENT: &str = "SELECT * FROM refresh_member_scores(true)";

/// Runs until the server stops (its task is aborted).
pub async fn watch(engine: Arc<Engine>) {
    let names = match inputs(&engine).await {
        Ok(names) => names,
        Err(e) => {
            tracing::warn!("member_scores will not follow new rows: {e}");
            return;
        }
    };
    let mut receivers: Vec<_> = names
        .iter()
        .flat_map(|n| [engine.changes.watch(n), engine.changes.watch_rewrites(n)])
        .flatten()
        .collect();
    if receivers.is_empty() {
        return;
    }
    loop {
        let (changed, _, rest) =
            futures::future::select_all(receivers.iter_mut().map(|r| Box::pin(r.changed()))).await;
        drop(rest);
        if changed.is_err() {
            return;
        }
        // Let a burst of inserts (a POS batch) land before one catch-up reads them all.
        tokio::time::sleep(Duration::from_millis(100)).await;
        for r in receivers.iter_mut() {
            r.borrow_and_update();
        }
        let started = Instant::now();
        if let Err(e) = crate::scheduler::run_once(&engine, STATEMENT).await {
            tracing::warn!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "member_scores catch-up failed: {e} (SQLSTATE {})",
                e.sqlstate()
            );
        }
    }
}

/// The stored tables the live view reads.
async fn inputs(engine: &Engine) -> crate::error::Result<Vec<String>> {
    let ctx = engine.session().await?;
    let df = ctx.sql(&format!("SELECT * FROM {LIVE}")).await?;
    Ok(super::freshness::tables_read(
        df.logical_plan(),
        &engine.store,
    ))
}
