//! Engine-level SQL functions: what identifies the server to clients. The domain functions
//! live in the `cip-udfs` crate.

mod version;

use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;

/// Registers the engine's functions in a session (replacing DataFusion's `version()`).
pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::from(version::PgVersion::new()));
}
