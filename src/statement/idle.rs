//! How long a session has waited for its client: PostgreSQL's
//! idle_in_transaction_session_timeout and idle_session_timeout. An open block pins the table
//! versions it read (storage/pin.rs), so a client that walks away inside one would otherwise
//! keep replaced files on disk for good.

use super::session::Session;
use super::transaction::TxStatus;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Statements running (a result still streaming counts) and when the last one ended.
#[derive(Debug)]
pub(super) struct Activity {
    busy: AtomicUsize,
    since: Mutex<Instant>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            busy: AtomicUsize::new(0),
            since: Mutex::new(Instant::now()),
        }
    }
}

/// Held while a statement runs or its rows stream; its drop starts the idle clock.
pub struct Busy(Arc<Activity>);

impl Activity {
    pub(super) fn begin(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::SeqCst);
        Busy(self.clone())
    }

    /// How long the session has been waiting for its client; None while a statement runs.
    fn idle_for(&self) -> Option<Duration> {
        if self.busy.load(Ordering::SeqCst) > 0 {
            return None;
        }
        Some(
            self.since
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .elapsed(),
        )
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        *self.0.since.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Session {
    /// Why the connection must close now, if it has been idle past its timeout: PostgreSQL's
    /// message for it.
    pub fn idle_expired(&self) -> Option<&'static str> {
        let idle = self.activity().idle_for()?;
        let (limit, why) = match self.status() {
            TxStatus::Idle => (
                self.settings().duration("idle_session_timeout")?,
                "terminating connection due to idle-session timeout",
            ),
            TxStatus::Block | TxStatus::Failed => (
                self.settings()
                    .duration("idle_in_transaction_session_timeout")?,
                "terminating connection due to idle-in-transaction timeout",
            ),
        };
        (idle >= limit).then_some(why)
    }

    /// Resolves when the session has been idle past its timeout (checked every 250 ms).
    pub async fn idle_timeout(self: Arc<Self>) -> &'static str {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if let Some(why) = self.idle_expired() {
                return why;
            }
        }
    }
}
