//! Whether the statement running in a session should give up: a cancel request arrived or its
//! statement_timeout passed. Long computations inside one DataFusion poll (a model fit's
//! optimiser loop) cannot be interrupted by dropping the stream, so they ask this between
//! iterations (cip-udfs' FitStop). Each session has one, as a typed config extension the
//! engine installs and the pgwire connection arms for every statement.

use datafusion::prelude::SessionContext;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio::time::Instant;

#[derive(Default)]
pub struct StatementStop {
    current: Mutex<Option<Armed>>,
}

struct Armed {
    cancel: watch::Receiver<u64>,
    deadline: Option<Instant>,
}

impl StatementStop {
    /// The session's, if it has one (every engine session does).
    pub fn of(ctx: &SessionContext) -> Option<Arc<StatementStop>> {
        ctx.state().config().get_extension::<StatementStop>()
    }

    /// From now on, `should_stop` follows this statement's cancel signal and deadline.
    pub fn arm(&self, cancel: watch::Receiver<u64>, deadline: Option<Instant>) {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        *current = Some(Armed { cancel, deadline });
    }

    pub fn should_stop(&self) -> bool {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current.as_ref().is_some_and(|a| {
            a.cancel.has_changed().unwrap_or(false)
                || a.deadline.is_some_and(|d| Instant::now() >= d)
        })
    }

    /// The check handed to the model fits.
    pub fn fit_stop(self: &Arc<Self>) -> cip_udfs::FitStop {
        let me = self.clone();
        cip_udfs::FitStop(Arc::new(move || me.should_stop()))
    }
}
