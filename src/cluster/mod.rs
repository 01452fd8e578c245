//! Beyond one machine: the same views on an Apache DataFusion Ballista cluster.
//!
//! `cip cluster scheduler` and `cip cluster executor` start Ballista's scheduler and executors
//! with cip's functions compiled in (functions.rs); `cip --cluster df://ADDR sql|score` plans
//! there over the warehouse's committed Parquet (client.rs). What writes stays local: the
//! warehouse is checkpointed and read as Parquet, the day's model fits are stored by the local
//! engine (fits.rs), and a statement that would change anything is refused.

mod client;
mod fits;
mod functions;
mod series;
mod tables;

pub use client::{run_script, session};

use crate::error::{CipError, Result};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Where an executor listens and whom it serves.
pub struct ExecutorOptions {
    /// The scheduler's gRPC address (host:port).
    pub scheduler: String,
    /// The executor's Arrow Flight address.
    pub bind: SocketAddr,
    /// Its gRPC address; default the Flight port's next one.
    pub grpc_bind: Option<SocketAddr>,
    /// Where it keeps shuffle files; default a folder of the system's temporary directory.
    pub work_dir: Option<PathBuf>,
    /// How many tasks it runs at once; 0 for every core.
    pub concurrent_tasks: usize,
}

/// A failure of Ballista's own (a port taken, a scheduler out of reach).
fn cluster_error(what: &str, e: impl std::fmt::Display) -> CipError {
    CipError::invalid(
        crate::error::sqlstate::CONNECTION_FAILURE,
        format!("{what}: {e}"),
    )
}

/// Runs Ballista's scheduler on `bind` until the process is stopped.
pub async fn scheduler(bind: SocketAddr) -> Result<()> {
    use ballista_scheduler::cluster::BallistaCluster;
    use ballista_scheduler::config::SchedulerConfig;
    let config = SchedulerConfig {
        bind_host: bind.ip().to_string(),
        external_host: bind.ip().to_string(),
        bind_port: bind.port(),
        override_session_builder: Some(Arc::new(functions::session_state)),
        override_config_producer: Some(Arc::new(functions::session_config)),
        ..SchedulerConfig::default()
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| cluster_error("starting the scheduler", e))?;
    tracing::info!(%bind, "Ballista scheduler with cip's functions");
    ballista_scheduler::scheduler_process::start_server(cluster, bind, Arc::new(config))
        .await
        .map_err(|e| cluster_error("the scheduler stopped", e))
}

/// Runs a Ballista executor until the process is stopped (or the scheduler asks it to).
pub async fn executor(opts: ExecutorOptions) -> Result<()> {
    use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
    let (scheduler_host, scheduler_port) = split_address(&opts.scheduler)?;
    let grpc_port = match opts.grpc_bind {
        Some(g) if g.ip() != opts.bind.ip() => {
            return Err(CipError::invalid(
                crate::error::sqlstate::INVALID_PARAMETER_VALUE,
                "--grpc-bind must be on the same host as --bind",
            ))
        }
        Some(g) => g.port(),
        None => opts.bind.port().checked_add(1).ok_or_else(|| {
            CipError::invalid(
                crate::error::sqlstate::INVALID_PARAMETER_VALUE,
                "--bind's port is the last one; give --grpc-bind",
            )
        })?,
    };
    let work_dir = opts
        .work_dir
        .unwrap_or_else(|| std::env::temp_dir().join(format!("cip-executor-{}", opts.bind.port())));
    std::fs::create_dir_all(&work_dir)
        .map_err(|e| CipError::io(format!("create {}", work_dir.display()), e))?;
    let state = functions::session_state(functions::session_config()).map_err(CipError::from)?;
    let config = ExecutorProcessConfig {
        bind_host: opts.bind.ip().to_string(),
        external_host: Some(opts.bind.ip().to_string()),
        port: opts.bind.port(),
        grpc_port,
        scheduler_host,
        scheduler_port,
        work_dir: Some(work_dir.display().to_string()),
        vcores: opts.concurrent_tasks,
        override_function_registry: Some(Arc::new((&state).into())),
        override_config_producer: Some(Arc::new(functions::session_config)),
        ..ExecutorProcessConfig::default()
    };
    tracing::info!(bind = %opts.bind, grpc_port, scheduler = %opts.scheduler,
        "Ballista executor with cip's functions");
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| cluster_error("the executor stopped", e))
}

/// host and port of `host:port`.
fn split_address(address: &str) -> Result<(String, u16)> {
    let bad = || {
        CipError::invalid(
            crate::error::sqlstate::INVALID_PARAMETER_VALUE,
            format!("{address:?} is not host:port"),
        )
    };
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    let port = port.parse().map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.trim_matches(['[', ']']).to_string(), port))
}
