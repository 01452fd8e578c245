//! cip's functions and settings in every Ballista process.
//!
//! A plan travels between client, scheduler and executors with its functions named, not
//! carried: each process must know cip's functions by those names, and `cip.*` settings must
//! parse where the plan is planned again. Ballista's client upgrade replaces a session's
//! scalar and aggregate functions with its defaults, so the client registers cip's after it
//! (client.rs) — the trap the Ballista docs warn of.

use datafusion::common::Result;
use datafusion::execution::session_state::SessionState;
use datafusion::execution::FunctionRegistry;
use datafusion::prelude::{SessionConfig, SessionContext};
use std::sync::Arc;

/// Ballista's session settings with cip's `cip.*` options known.
pub fn session_config() -> SessionConfig {
    use ballista_core::extension::SessionConfigExt;
    SessionConfig::new_with_ballista().with_option_extension(crate::settings::CipOptions::default())
}

/// The scheduler's session (and the executors' function registry): Ballista's default one,
/// with cip's functions.
pub fn session_state(config: SessionConfig) -> Result<SessionState> {
    let mut state = ballista_core::utils::default_session_builder(config)?;
    register(&mut state)?;
    Ok(state)
}

/// Registers cip's scalar functions, model fits and `current_setting` (the views read
/// `cip.*` settings with it) in `registry`.
pub fn register(registry: &mut dyn FunctionRegistry) -> Result<()> {
    cip_udfs::register_all(registry)?;
    registry.register_udf(Arc::new(crate::catalog::current_setting()))?;
    Ok(())
}

/// Registers cip's functions in a client context upgraded for Ballista.
pub fn register_in(ctx: &SessionContext) -> Result<()> {
    register(&mut *ctx.state_ref().write())
}
