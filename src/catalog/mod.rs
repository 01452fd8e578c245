//! The PostgreSQL catalog a session sees: datafusion-pg-catalog's pg_catalog schema (with the
//! configured roles), the catalog functions drivers call that it lacks, and cip's own
//! functions listed in pg_proc. Every session has it, whatever door it came in by, so psql,
//! `cip sql` and the slt files see the same catalog.

mod functions;
mod overrides;
mod pg_proc;
mod roles;
mod settings_functions;

pub use roles::OPEN_ROLE;

use crate::config::Config;
use crate::error::{CipError, Result};
use datafusion::prelude::SessionContext;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::setup_pg_catalog;
use std::sync::Arc;

/// Installs the catalog in `ctx`.
pub async fn install(ctx: &SessionContext, config: &Config) -> Result<()> {
    let roles = roles::ConfiguredRoles::from_config(&config.users)?;
    setup_pg_catalog(ctx, "cip", roles).map_err(|e| CipError::DataFusion(*e))?;
    let catalog = ctx
        .catalog("cip")
        .ok_or_else(|| CipError::Corrupt("the session has no catalog \"cip\"".into()))?;
    if let Some(pg) = catalog.schema("pg_catalog") {
        catalog.register_schema("pg_catalog", Arc::new(overrides::PgCatalog::new(pg)))?;
    }
    functions::register(ctx);
    pg_proc::register(ctx).await?;
    Ok(())
}
