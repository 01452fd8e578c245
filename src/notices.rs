//! Notices a statement raises while it executes — a model fit answered from an earlier day
//! (functions/model_fit.rs) — kept in the session's config, where execution finds them, and
//! sent by the session with the statement's result (PostgreSQL's NoticeResponse).

use datafusion::prelude::SessionConfig;
use std::sync::Mutex;

/// A notice for the client: severity, SQLSTATE, text.
pub type Notice = (&'static str, &'static str, String);

#[derive(Debug, Default)]
pub struct Raised(Mutex<Vec<Notice>>);

impl Raised {
    /// Raises a NOTICE in the session of `config` (once per text until the session sends
    /// them); a session without the slot (a script's, a background job's) logs it instead.
    pub fn notice(config: &SessionConfig, message: String) {
        match config.get_extension::<Raised>() {
            Some(raised) => {
                let mut pending = raised.0.lock().unwrap_or_else(|p| p.into_inner());
                if !pending.iter().any(|(_, _, m)| *m == message) {
                    pending.push(("NOTICE", cip_udfs::sqlstate::SUCCESSFUL_COMPLETION, message));
                }
            }
            None => tracing::info!("{message}"),
        }
    }

    /// Raises a WARNING (SQLSTATE 01000) with the statement's result.
    pub fn warning(&self, message: String) {
        let mut pending = self.0.lock().unwrap_or_else(|p| p.into_inner());
        pending.push(("WARNING", "01000", message));
    }

    /// The notices raised since the last call.
    pub fn take(&self) -> Vec<Notice> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
