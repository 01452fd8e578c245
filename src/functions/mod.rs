//! Engine-level SQL functions: what identifies the server to clients, and the table
//! functions that read or write tables (model fits, refreshes). The pure domain functions
//! live in the `cip-udfs` crate.

mod bounded_values;
mod catalog;
pub use catalog::show_functions_sql;
pub use version::PG_COMPAT_VERSION;
pub(crate) mod fit_background;
pub(crate) mod model_fit;
pub(crate) mod refresh;
mod version;

use datafusion::logical_expr::ScalarUDF;

/// Registers the engine's functions in a session (replacing DataFusion's `version()`).
pub fn register(r: &crate::registrar::Registrar) -> crate::error::Result<()> {
    let (ctx, store) = (r.ctx, r.store);
    ctx.register_udf(ScalarUDF::from(version::PgVersion::new()));
    bounded_values::register(ctx);
    ctx.register_udtf("model_fit", std::sync::Arc::new(model_fit::ModelFit));
    ctx.register_udtf(
        "refresh_member_behavior",
        std::sync::Arc::new(refresh::RefreshMemberBehavior {
            store: store.clone(),
        }),
    );
    ctx.register_udtf(catalog::DOCS, std::sync::Arc::new(catalog::FunctionDocs));
    ctx.register_table("cip_functions", std::sync::Arc::new(catalog::view()?))?;
    Ok(())
}
