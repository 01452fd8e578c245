//! What a domain module (functions, tiers, campaigns) gets to register its SQL functions in a
//! new session; the engine calls every module's `register` from one list (engine.rs).

use crate::config::Config;
use crate::storage::Store;
use datafusion::prelude::SessionContext;
use std::sync::Arc;

pub struct Registrar<'a> {
    pub ctx: &'a SessionContext,
    pub store: &'a Arc<Store>,
    pub config: &'a Config,
    /// What members' tracking links start with (Engine::public_url).
    pub public_url: String,
}
