//! The PostgreSQL catalog a session sees: datafusion-pg-catalog's pg_catalog schema (with the
//! configured roles), the catalog functions drivers call that it lacks, and cip's own
//! functions listed in pg_proc. Every session has it, whatever door it came in by, so psql,
//! `cip sql` and the slt files see the same catalog.

pub mod activity;
pub mod advisory_functions;
pub mod advisory_locks;
pub mod at_time_zone;
mod attribute_types;
pub mod backend_signals;
pub mod declared_types;
mod defaults;
mod descriptions;
mod encodings;
pub mod expand_array;
mod format_pattern;
pub(crate) mod format_type;
mod function_arguments;
mod functions;
mod get_expr;
pub mod indexes;
mod integer_arguments;
mod key_rows;
mod keys;
pub mod like_escape;
mod live_view;
mod locks_view;
mod name_arrays;
pub(crate) mod name_type;
mod null_arrays;
pub mod object_ids;
pub mod object_names;
mod overrides;
mod pg_proc;
pub mod pg_typeof;
mod privileges;
mod proc_arrays;
pub(crate) mod quoting;
pub mod reg_found;
mod reg_functions;
pub mod regtype_array;
mod role_rows;
mod roles;
pub mod server_facts;
mod settings_functions;
mod settings_view;
mod sleep;
mod ssl_view;
mod stable_oids;
pub mod subscript;
pub mod system_kinds;
mod timezone_names;
pub use settings_functions::current_setting;
pub mod datetime_text;
pub mod user_views;
mod uuid_functions;
pub mod view_reads;
mod weak_list;
pub mod xact_ids;

pub use roles::OPEN_ROLE;

use crate::config::Config;
use crate::error::{CipError, Result};
use datafusion::prelude::SessionContext;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::{
    setup_pg_catalog, PgCatalogSchemaProvider, PgCatalogStaticTables,
};
use std::sync::{Arc, OnceLock};

/// Where the catalog functions cip adds are listed in the functions' documentation.
const SECTION: datafusion::logical_expr::DocSection = datafusion::logical_expr::DocSection {
    include: true,
    label: "Catalog functions",
    description: None,
};

/// pg_catalog's fixed tables (types, keywords, …), built once for every session.
fn static_tables() -> Result<Arc<PgCatalogStaticTables>> {
    static TABLES: OnceLock<Arc<PgCatalogStaticTables>> = OnceLock::new();
    if let Some(t) = TABLES.get() {
        return Ok(t.clone());
    }
    let built = Arc::new(PgCatalogStaticTables::try_new()?);
    Ok(TABLES.get_or_init(|| built).clone())
}

/// Installs the catalog in `ctx`.
pub async fn install(
    ctx: &SessionContext,
    config: &Config,
    ids: &Arc<object_ids::ObjectIds>,
    backends: &Arc<activity::Backends>,
) -> Result<()> {
    let roles = roles::ConfiguredRoles::from_config(&config.users)?;
    let before = integer_arguments::names(ctx);
    setup_pg_catalog(ctx, "cip", roles.clone()).map_err(|e| CipError::DataFusion(*e))?;
    integer_arguments::widen(ctx, &before);
    privileges::register(ctx, &roles);
    declared_types::install(ctx, &config.time.timezone);
    let catalog = ctx
        .catalog("cip")
        .ok_or_else(|| CipError::Corrupt("the session has no catalog \"cip\"".into()))?;
    // The same schema as setup_pg_catalog's, over a weak handle on the catalog list it lives
    // in (see weak_list), and the static tables every session shares.
    let list = ctx.state().catalog_list().clone();
    let weak = weak_list::WeakCatalogList::new(&list);
    ctx.register_udf(roles::user_by_id(&roles));
    let functions = pg_proc::OwnRows::default();
    let pg = PgCatalogSchemaProvider::try_new(weak.clone(), static_tables()?, roles.clone())?;
    let pg = stable_oids::StableOids::new(Arc::new(pg), ids.clone());
    catalog.register_schema(
        "pg_catalog",
        Arc::new(overrides::PgCatalog::new(
            Arc::new(pg),
            weak,
            functions.clone(),
            roles,
            backends.clone(),
            ids.clone(),
        )),
    )?;
    functions::register(ctx);
    quoting::register(ctx);
    format_type::register(ctx);
    uuid_functions::register(ctx);
    datetime_text::register(ctx);
    ctx.register_udaf(name_arrays::udaf());
    like_escape::register(ctx);
    sleep::register(ctx);
    at_time_zone::register(ctx, &config.time.timezone);
    expand_array::register(ctx);
    get_expr::register(ctx);
    subscript::register(ctx);
    reg_found::register(ctx);
    reg_functions::register(ctx);
    view_reads::register(ctx);
    ctx.register_udtf(
        crate::statement::system_columns::NAME,
        Arc::new(crate::statement::system_columns::SystemColumns),
    );
    encodings::register(ctx);
    null_arrays::register(ctx);
    pg_proc::register(ctx, &functions).await?;
    Ok(())
}
