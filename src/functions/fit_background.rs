//! A new business day's model fits, made in the background for clients of `cip serve`
//! (cip.fit_fallback): a query on today's date that finds no fit of today stored, but an
//! earlier one, answers with the earlier one at once — model_fit's `fit_as_of` and a NOTICE
//! say so — and starts today's fit, which the next queries then use. The fit of a large chain
//! takes tens of seconds; no client waits for it, and it runs once however many ask.
//!
//! Without an earlier fit (a new data directory), or on a date the session set, the query
//! fits as before: there is nothing to answer with, or the caller asked for that day's.

use super::model_fit::{fit_row, model_name};
use crate::settings::CipOptions;
use datafusion::execution::session_state::SessionState;
use datafusion::prelude::SessionContext;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// The fits being made in the background: (model, day).
static PENDING: Mutex<BTreeSet<(usize, chrono::NaiveDate)>> = Mutex::new(BTreeSet::new());

/// Whether a session with `options` waits for a missing fit of its day (else it may use an
/// earlier one).
pub(super) fn may_wait(options: &CipOptions) -> bool {
    !options.fit_fallback || options.as_of.0.is_some()
}

/// `state` as a session of its own that fits rather than falls back, on `as_of` (the day the
/// fit is for, even if the business day turns meanwhile).
pub(crate) fn waiting(mut state: SessionState, as_of: chrono::NaiveDate) -> SessionState {
    if let Some(o) = state
        .config_mut()
        .options_mut()
        .extensions
        .get_mut::<CipOptions>()
    {
        o.fit_fallback = false;
        o.as_of = crate::settings::AsOf(Some(as_of));
    }
    state
}

/// Answers model `index` on `as_of` with the fit of the earlier day `used`: says so to the
/// session of `state`, and makes the fit of `as_of` in the background unless that is under
/// way already.
pub(super) fn start(
    state: SessionState,
    index: usize,
    as_of: chrono::NaiveDate,
    used: chrono::NaiveDate,
) {
    crate::notices::Raised::notice(
        state.config(),
        format!(
            "the model fits of {as_of} are being made in the background; this statement uses \
             those of {used} (model_fit(…).fit_as_of and customer_segments.fit_as_of say which; \
             SET cip.fit_fallback = off to wait for them instead)"
        ),
    );
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let key = (index, as_of);
    if !PENDING
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key)
    {
        return;
    }
    let mut state = waiting(state, as_of);
    // Its own transaction slot and RETURNING rows: the fit is stored when made, never with
    // the client's block (which may yet roll back).
    state
        .config_mut()
        .set_extension(Arc::new(crate::storage::TxnSlot::default()));
    state
        .config_mut()
        .set_extension(Arc::new(crate::storage::StoredRows::default()));
    let model = model_name(index);
    runtime.spawn(async move {
        tracing::info!(model, %as_of, "fitting in the background");
        let ctx = SessionContext::new_with_state(state);
        if let Err(e) = fit_row(&ctx, &ctx, index).await {
            tracing::warn!(model, %as_of, "background fit failed: {e}");
        }
        PENDING
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
    });
}
