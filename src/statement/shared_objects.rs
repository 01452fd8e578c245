//! What one session made that every session must see: the views and schemas users saved
//! (catalog/user_views.rs) and the tables created at run time (storage's created tables).
//! Each session compares the generations of both with what it last applied, at the start of
//! every statement, and catches up: a CREATE on one connection is seen by the next statement
//! of every other.

use super::session::Session;
use crate::error::Result;
use datafusion::catalog::MemorySchemaProvider;
use datafusion::common::TableReference;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::Ident;
use std::sync::Arc;

#[derive(Debug, Default)]
pub(crate) struct Synced {
    views_seen: u64,
    views: Vec<String>,
    schemas: Vec<String>,
    tables_seen: u64,
    tables: Vec<String>,
}

/// The session's name of a stored table: `schema.table`, or `table` in public.
pub(super) fn reference(stored: &str) -> TableReference {
    match stored.split_once('.') {
        Some((schema, table)) => TableReference::partial(schema, table),
        None => TableReference::bare(stored),
    }
}

/// The store's name of `schema.object`: the inverse of `reference`.
pub(super) fn stored_name(schema: &str, object: &str) -> String {
    if schema == "public" {
        object.to_string()
    } else {
        format!("{schema}.{object}")
    }
}

/// Registers the stored table `name` in the session (its schema made if missing), in place of
/// whatever the session held under that name.
pub(super) fn register_stored(
    ctx: &SessionContext,
    name: &str,
    table: Arc<crate::storage::Table>,
) -> Result<()> {
    let r = reference(name);
    if let Some(schema) = r.schema() {
        ensure_schema(ctx, schema)?;
    }
    // Registering over an existing name is an error: this session may hold it.
    ctx.deregister_table(r.clone())?;
    ctx.register_table(r, Arc::new(crate::warehouse::Guarded::new(table)))?;
    Ok(())
}

/// Removes `r` from the session; nothing to do when its schema is gone (DROP SCHEMA …
/// CASCADE took the schema and its names together).
pub(super) fn deregister(ctx: &SessionContext, r: TableReference) -> Result<()> {
    let schema = r.schema().unwrap_or("public");
    if ctx
        .catalog("cip")
        .is_some_and(|c| c.schema(schema).is_some())
    {
        ctx.deregister_table(r)?;
    }
    Ok(())
}

/// Makes `schema` exist in the session's catalog (a table or view may be created in it).
fn ensure_schema(ctx: &SessionContext, schema: &str) -> Result<()> {
    if let Some(catalog) = ctx.catalog("cip") {
        if catalog.schema(schema).is_none() {
            catalog.register_schema(schema, Arc::new(MemorySchemaProvider::new()))?;
        }
    }
    Ok(())
}

impl Session {
    /// Catches up with views, schemas and tables other sessions created or dropped. A saved
    /// view that no longer plans (what it read was dropped) is skipped with a warning.
    pub(super) async fn sync_shared_objects(&self) -> Result<()> {
        let mut synced = self.synced.lock().await;
        let store = &self.engine.store;
        let ctx = self.ctx();
        if store.generation() != synced.tables_seen {
            let seen = store.generation();
            let now: Vec<String> = store
                .tables()
                .iter()
                .map(|t| t.name().to_string())
                .filter(|n| store.created_at_run_time(n))
                .collect();
            for gone in synced.tables.iter().filter(|n| !now.contains(n)) {
                deregister(ctx, reference(gone))?;
            }
            for name in &now {
                register_stored(ctx, name, store.table(name)?)?;
            }
            synced.tables = now;
            synced.tables_seen = seen;
        }
        let saved = &self.engine.user_views;
        if saved.generation() == synced.views_seen {
            return Ok(());
        }
        let (generation, now) = saved.snapshot();
        let names: Vec<String> = now.views.iter().map(|v| v.name.clone()).collect();
        for gone in synced.views.iter().filter(|n| !names.contains(n)) {
            deregister(ctx, TableReference::from(gone.as_str()))?;
        }
        // A schema another session dropped (with CASCADE, its contents went first).
        if let Some(catalog) = ctx.catalog("cip") {
            for gone in synced.schemas.iter().filter(|s| !now.schemas.contains(s)) {
                catalog.deregister_schema(gone, true)?;
            }
        }
        for schema in &now.schemas {
            let sql = format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                Ident::with_quote('"', schema)
            );
            ctx.sql(&sql).await?.collect().await?;
        }
        // In saved order, then again for those that failed while any succeeded: a view may
        // build on one saved after it (one replaced later moves to the end).
        let mut waiting: Vec<_> = now.views.iter().collect();
        loop {
            let mut failed = Vec::new();
            for v in &waiting {
                let made = async { ctx.sql(&v.sql).await?.collect().await };
                if let Err(e) = made.await {
                    failed.push((*v, e));
                }
            }
            if failed.is_empty() || failed.len() == waiting.len() {
                for (v, e) in failed {
                    tracing::warn!("saved view {} could not be re-created: {e}", v.name);
                }
                break;
            }
            waiting = failed.into_iter().map(|(v, _)| v).collect();
        }
        synced.views = names;
        synced.schemas = now.schemas.clone();
        synced.views_seen = generation;
        Ok(())
    }
}
