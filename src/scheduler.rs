//! The scheduler inside `cip serve`: runs configured statements periodically, each in its
//! own session as the actor "scheduler", logging every run with its row count and duration.
//!
//! By default: `execute_upgrades()` every minute, `refresh_member_behavior()` and the
//! retention review `review_tiers()` daily (config: `[scheduler]`). A job first runs one
//! interval after the server starts, then every interval after its previous run ended, so
//! runs of one job never overlap; a failed run is logged and the next one comes as usual.

use crate::config::JobConfig;
use crate::engine::Engine;
use crate::error::Result;
use crate::identity::{Actor, Role};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Starts every configured job; they run until the returned tasks are aborted.
pub fn start(engine: Arc<Engine>) -> Result<Vec<tokio::task::JoinHandle<()>>> {
    let scheduler = &engine.config.scheduler;
    if !scheduler.enabled {
        return Ok(vec![]);
    }
    let mut tasks = Vec::new();
    for job in &scheduler.jobs {
        let every = job.interval()?;
        tracing::info!(job = %job.name, every = ?every, statement = %job.statement, "scheduled");
        tasks.push(tokio::spawn(run_job(engine.clone(), job.clone(), every)));
    }
    Ok(tasks)
}

async fn run_job(engine: Arc<Engine>, job: JobConfig, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let started = Instant::now();
        match run_once(&engine, &job.statement).await {
            Ok(rows) => tracing::info!(
                job = %job.name,
                rows,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "scheduled run done"
            ),
            Err(e) => tracing::warn!(
                job = %job.name,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "scheduled run failed: {e} (SQLSTATE {})",
                e.sqlstate()
            ),
        }
    }
}

/// Runs `statement` once as the scheduler, through a session like any client's (on the
/// statement runtime: a 3 s upgrade run does not hold up the connections); the number of
/// rows it returned.
pub async fn run_once(engine: &Arc<Engine>, statement: &str) -> Result<u64> {
    let session = crate::statement::Session::open_internal(engine.clone()).await?;
    session.set_user(Actor::new("scheduler", Role::Owner));
    let batches = session.query(statement, vec![]).await?;
    Ok(batches.iter().map(|b| b.num_rows() as u64).sum())
}
