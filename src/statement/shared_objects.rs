//! What one session made that every session must see: the views and schemas users saved
//! (catalog/user_views.rs) and the tables created at run time (storage's created tables).
//! Each session compares the generations of both with what it last applied, at the start of
//! every statement, and catches up: a CREATE on one connection is seen by the next statement
//! of every other. A block's own changes to the saved views and schemas are seen by its
//! statements only, laid over the saved set, until its COMMIT saves them.

use super::session::Session;
use crate::catalog::user_views::{Change, Saved};
use crate::error::Result;
use crate::storage::{Table, Txn};
use datafusion::catalog::MemorySchemaProvider;
use datafusion::common::TableReference;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::Ident;
use std::sync::Arc;

#[derive(Debug, Default)]
pub(crate) struct Synced {
    /// The saved set's generation and the block's catalog version last applied.
    views_seen: (u64, u64),
    views: Vec<String>,
    schemas: Vec<String>,
    /// The store's generation and the session's tables version last applied.
    tables_seen: (u64, u64),
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
pub(super) fn register_stored(ctx: &SessionContext, name: &str, table: Arc<Table>) -> Result<()> {
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

impl Synced {
    /// The session itself made what `change` names (its DDL ran in its context): should the
    /// block not commit, the next catch-up removes it.
    fn touch(&mut self, change: &Change) {
        let (list, name) = match change {
            Change::PutView { view: v, .. } | Change::RenameView { to: v, .. } => {
                (&mut self.views, &v.name)
            }
            Change::PutSchema(s) => (&mut self.schemas, s),
            Change::DropView(_) | Change::DropSchema(_) | Change::Describe { .. } => return,
        };
        if !list.contains(name) {
            list.push(name.clone());
        }
    }
}

impl Session {
    /// The table `name` as this session sees it: its block's DDL over the store's tables.
    pub(super) fn table_now(&self, name: &str) -> Option<Arc<Table>> {
        match self.state().tx.with_txn(|t| t.table_now(name)) {
            Some(table) => table,
            None => self.engine.store.table(name).ok(),
        }
    }

    /// Whether `name` is, as this session sees it, a table created with CREATE TABLE.
    pub(super) fn is_run_time(&self, name: &str) -> bool {
        let store = &self.engine.store;
        let in_block = self.state().tx.with_txn(|t| t.is_run_time(name));
        in_block.unwrap_or_else(|| store.created_at_run_time(name))
    }

    /// The tables created with CREATE TABLE as this session sees them.
    pub(super) fn run_time_tables(&self) -> Vec<(String, Arc<Table>)> {
        let store = &self.engine.store;
        let overlay = self
            .state()
            .tx
            .with_txn(|t| t.overlay())
            .unwrap_or_default();
        let mut now = Vec::new();
        for t in store.tables() {
            let name = t.name();
            if store.created_at_run_time(name) && !overlay.contains_key(name) {
                now.push((name.to_string(), t));
            }
        }
        for (name, t) in overlay {
            now.extend(t.map(|t| (name.to_string(), t)));
        }
        now
    }

    /// The names of the tables created with CREATE TABLE as this session sees them.
    pub(super) fn run_time_names(&self) -> Vec<String> {
        self.run_time_tables().into_iter().map(|(n, _)| n).collect()
    }

    /// Runs table DDL in the block's storage transaction (others see it at COMMIT), or outside
    /// a block in a transaction of its own, committed at once.
    pub(super) async fn table_ddl<R: Send + 'static>(
        &self,
        what: &'static str,
        f: impl FnOnce(&mut Txn) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let slot = self.state().tx.slot();
        let store = self.engine.store.clone();
        let done = super::runtime::blocking(what, move || {
            if let Some(txn) = slot.lock().as_mut() {
                return f(txn);
            }
            let mut txn = store.begin();
            let r = f(&mut txn)?;
            txn.commit()?;
            Ok(r)
        })
        .await;
        self.state().tx.note_table_ddl();
        done
    }

    /// A table this session made or renamed is registered now, and known to the catch-up,
    /// which takes it away again should the block not commit.
    pub(super) async fn registered(&self, name: &str, table: Arc<Table>) -> Result<()> {
        register_stored(self.ctx(), name, table)?;
        let mut synced = self.synced.lock().await;
        if !synced.tables.iter().any(|t| t == name) {
            synced.tables.push(name.to_string());
        }
        Ok(())
    }

    /// The saved views and schemas as this session sees them: with its block's changes.
    pub(super) fn saved_now(&self) -> Saved {
        let (_, shared) = self.engine.user_views.snapshot();
        shared.overlaid(self.state().tx.catalog().0)
    }

    pub(super) fn has_saved_view(&self, name: &str) -> bool {
        self.saved_now().view(name).is_some()
    }

    /// Saves changes to the views and schemas, which the statement already made in this
    /// session's context: at once outside a block; inside one, at its COMMIT.
    pub(super) async fn change_saved(&self, changes: Vec<Change>) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        if self.status() == super::TxStatus::Idle {
            return self.engine.user_views.apply_now(&changes);
        }
        let mut synced = self.synced.lock().await;
        let mut state = self.state();
        for change in changes {
            synced.touch(&change);
            state.tx.change_catalog(change);
        }
        // The context holds them already: nothing to re-create for this version.
        synced.views_seen.1 = state.tx.catalog().1;
        Ok(())
    }

    /// Catches up with views, schemas and tables other sessions created or dropped. A saved
    /// view that no longer plans (what it read was dropped) is skipped with a warning.
    pub(super) async fn sync_shared_objects(&self) -> Result<()> {
        let mut synced = self.synced.lock().await;
        let ctx = self.ctx();
        let seen = (
            self.engine.store.generation(),
            self.state().tx.tables_version(),
        );
        if seen != synced.tables_seen {
            let now = self.run_time_tables();
            let names: Vec<String> = now.iter().map(|(n, _)| n.clone()).collect();
            for gone in synced.tables.iter().filter(|n| !names.contains(n)) {
                deregister(ctx, reference(gone))?;
            }
            for (name, table) in now {
                register_stored(ctx, &name, table)?;
            }
            synced.tables = names;
            synced.tables_seen = seen;
        }
        let saved = &self.engine.user_views;
        if (saved.generation(), self.state().tx.catalog().1) == synced.views_seen {
            return Ok(());
        }
        let (generation, shared) = saved.snapshot();
        let (now, version) = {
            let state = self.state();
            let (changes, version) = state.tx.catalog();
            (shared.overlaid(changes), version)
        };
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
        synced.views_seen = (generation, version);
        Ok(())
    }
}
