//! pg_catalog's views that datafusion-pg-catalog gets wrong, defined over pg_class as
//! PostgreSQL defines them: `pg_views` (an empty table there) and `pg_tables` (every relation,
//! views included, with a column misnamed `hasindex`). dbt lists a schema's relations with
//! both and treats what pg_tables says as tables; Metabase and DBeaver read them too.
//! They are DataFusion views planned once per session over the live catalog tables.

use crate::error::Result;
use datafusion::catalog::SchemaProvider;
use datafusion::datasource::ViewTable;
use datafusion::prelude::SessionContext;
use std::sync::Arc;

const VIEWS: &[(&str, &str)] = &[
    (
        "pg_views",
        "SELECT n.nspname AS schemaname, c.relname AS viewname, \
                pg_get_userbyid(c.relowner) AS viewowner, v.definition AS definition \
         FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN information_schema.views v \
           ON v.table_schema = n.nspname AND v.table_name = c.relname \
         WHERE c.relkind = 'v'",
    ),
    (
        "pg_tables",
        "SELECT n.nspname AS schemaname, c.relname AS tablename, \
                pg_get_userbyid(c.relowner) AS tableowner, \
                CAST(NULL AS VARCHAR) AS tablespace, false AS hasindexes, false AS hasrules, \
                false AS hastriggers, false AS rowsecurity \
         FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p')",
    ),
];

/// Registers the views in `pg_catalog` (whose provider keeps them in front of its own).
pub async fn register(ctx: &SessionContext, pg_catalog: &Arc<dyn SchemaProvider>) -> Result<()> {
    for (name, sql) in VIEWS {
        let plan = ctx.state().create_logical_plan(sql).await?;
        pg_catalog.register_table(
            name.to_string(),
            Arc::new(ViewTable::new(plan, Some(sql.to_string()))),
        )?;
    }
    Ok(())
}
