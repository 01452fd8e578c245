//! What a side-effecting run holds while it acts, and the session it acts in.

use datafusion::common::Result;
use datafusion::execution::session_state::SessionState;

/// Held by a side-effecting run from reading the state it acts on to committing its writes:
/// one run at a time in this process (`mutex`) and across processes (a file lock).
pub struct Exclusive {
    _mutex: tokio::sync::MutexGuard<'static, ()>,
    _file: crate::storage::lock::TableLock,
}

/// Waits for the mutex, then for the file lock `lock_file` (off the async threads).
pub async fn exclusive(
    mutex: &'static tokio::sync::Mutex<()>,
    lock_file: std::path::PathBuf,
) -> Result<Exclusive> {
    let guard = mutex.lock().await;
    let file = tokio::task::spawn_blocking(move || {
        crate::storage::lock::TableLock::acquire_file(&lock_file)
    })
    .await
    .map_err(|e| datafusion::common::DataFusionError::External(Box::new(e)))?
    .map_err(crate::error::to_df)?;
    Ok(Exclusive {
        _mutex: guard,
        _file: file,
    })
}

/// The calling session, reading as of today: writes act on the present, whatever the
/// session's cip.as_of says.
pub fn as_of_today(mut state: SessionState) -> Result<datafusion::prelude::SessionContext> {
    state.config_mut().options_mut().set("cip.as_of", "today")?;
    // … with today's model fits, made now if need be, never the earlier day's a client's
    // query may use meanwhile (functions/fit_background.rs).
    state
        .config_mut()
        .options_mut()
        .set("cip.fit_fallback", "false")?;
    Ok(datafusion::prelude::SessionContext::new_with_state(state))
}
