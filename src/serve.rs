//! `cip serve` and `cip demo`.

use crate::config::Config;
use crate::engine::Engine;
use crate::error::{CipError, Result};
use std::sync::Arc;

/// Serves the data directory until Ctrl-C / SIGTERM, then checkpoints the logs into Parquet.
pub async fn serve(config: Config) -> Result<()> {
    let engine = Arc::new(Engine::open(config).await?);
    if engine.config.server.build_scores {
        if engine.config.scheduler.enabled {
            // Conversions owed since the last run (downtime, a loaded history) first: appended
            // just after the snapshot, they would make it stale at once, and a backlog names
            // too many members to catch up, so a full refresh would follow (1M generated
            // members: 92,260 conversions, 27 s of it right after listening).
            crate::campaigns::attribution::run(&engine, "before the snapshot").await;
        }
        crate::scores::ensure_current(&engine).await?;
    }
    let addr = engine.config.server.listen.clone();
    let server = crate::pg::serve(engine.clone(), &addr);
    let http = async {
        match engine.config.server.http.clone() {
            Some(a) => crate::http::serve(engine.clone(), &a).await,
            None => std::future::pending().await,
        }
    };
    let mut jobs = crate::scheduler::start(engine.clone())?;
    jobs.extend(crate::campaigns::dispatch::start(engine.clone())?);
    if engine.config.scheduler.enabled {
        jobs.push(tokio::spawn(crate::campaigns::attribution::watch(
            engine.clone(),
        )));
        if engine.config.server.build_scores {
            jobs.push(tokio::spawn(crate::scores::watch(engine.clone())));
        }
    }
    let outcome = tokio::select! {
        r = server => r,
        r = http => r,
        _ = shutdown_signal() => {
            tracing::info!("shutting down: checkpointing the write-ahead logs");
            Ok(())
        }
    };
    for job in &jobs {
        job.abort();
    }
    outcome?;
    let store = engine.store.clone();
    tokio::task::spawn_blocking(move || store.shutdown())
        .await
        .map_err(|e| CipError::Corrupt(format!("checkpoint failed: {e}")))??;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Generates a demo chain into the data directory when it holds no data yet, then serves.
pub async fn demo(config: Config, members: u64) -> Result<()> {
    let dir = config.data_dir.clone();
    let empty = !dir.join("_cip.json").exists() && crate::storage::holds_no_data(&dir)?;
    if empty {
        eprintln!(
            "generating a demo chain of {members} members into {} ...",
            dir.display()
        );
        let opts = crate::generate::GenOptions {
            members,
            seed: 42,
            stores: 12,
            until: chrono::Local::now().date_naive(),
            progress: true,
            venue: crate::generate::Venue::default(),
        };
        let tz = config.timezone()?;
        let out = dir.clone();
        // generate refuses a folder with files; the committed data/README.md is moved aside.
        let readme = dir.join("README.md");
        let kept = std::fs::read(&readme).ok();
        if kept.is_some() {
            let _ = std::fs::remove_file(&readme);
        }
        let r = tokio::task::spawn_blocking(move || crate::generate::generate(&out, &opts, tz))
            .await
            .map_err(|e| CipError::Corrupt(format!("generator failed: {e}")));
        if let Some(bytes) = kept {
            let _ = std::fs::write(&readme, bytes);
        }
        r??;
    }
    eprintln!(
        "serving {} — connect with:\n  psql -h {} -p {} -U cip cip\n  cargo run --profile demo -- sql -c \"SELECT count(*) FROM members\"  (from another shell)",
        dir.display(),
        host_of(&config.server.listen),
        port_of(&config.server.listen)
    );
    serve(config).await
}

fn host_of(addr: &str) -> &str {
    addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr)
}

fn port_of(addr: &str) -> &str {
    addr.rsplit_once(':').map(|(_, p)| p).unwrap_or("5433")
}
