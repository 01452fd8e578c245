//! A session: one client's DataFusion context (settings, catalog, views), its transaction
//! state, cursors and PostgreSQL parameters. Every statement of every door enters here.

use super::cursor::Cursor;
use super::outcome::Outcome;
use super::parse::Parsed;
use super::prepare::Prepared;
use super::runtime;
use super::transaction::{Notice, Transaction, TxStatus};
use crate::catalog::activity::Between;
use crate::engine::Engine;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::identity::{Actor, Role};
use crate::settings::pg::PgSettings;
use crate::statement_stop::StatementStop;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;
use tokio::time::Instant;

/// What can end a statement early besides its own end: a cancel request from the client
/// (each change of the counter is one) and the session's statement_timeout.
#[derive(Default, Clone)]
pub struct Limits {
    pub cancel: Option<watch::Receiver<u64>>,
}

pub struct Session {
    ctx: SessionContext,
    pub(super) engine: Arc<Engine>,
    settings: PgSettings,
    state: Mutex<State>,
    /// Which saved views and created tables this session has (shared_objects.rs).
    pub(super) synced: tokio::sync::Mutex<super::shared_objects::Synced>,
    activity: Arc<super::idle::Activity>,
    /// The session's advisory locks (released when it ends).
    pub(super) locks: Arc<crate::catalog::advisory_locks::SessionLocks>,
    /// A client's session (else the server's own or a script's): its `cip.*` defaults.
    client: bool,
    /// Its client's connection, once started up (pg_backend_pid, inet_client_addr, …).
    connection: Arc<crate::catalog::server_facts::ConnectionFacts>,
    /// What pg_stat_activity shows of it (client sessions only).
    backend: Arc<crate::catalog::activity::Backend>,
    /// Its transaction's id (txid_current).
    xact_ids: Arc<crate::catalog::xact_ids::XactIds>,
}

#[derive(Default)]
pub(super) struct State {
    pub tx: Transaction,
    pub cursors: HashMap<String, Cursor>,
    pub notices: Vec<Notice>,
}

impl Session {
    /// A client's session on the engine (its memory bounded by
    /// engine.statement_memory_limit), run by the local owner until `set_user` says otherwise.
    pub async fn open(engine: Arc<Engine>) -> Result<Arc<Session>> {
        let ctx = engine.client_session().await?;
        Self::on(engine, ctx, true)
    }

    /// A session for the server's own work (the scheduler's jobs, the dispatcher, `cip sql`),
    /// which may use the whole pool.
    pub async fn open_internal(engine: Arc<Engine>) -> Result<Arc<Session>> {
        let ctx = engine.session().await?;
        Self::on(engine, ctx, false)
    }

    fn on(engine: Arc<Engine>, ctx: SessionContext, client: bool) -> Result<Arc<Session>> {
        let owner = Actor::local_owner();
        let settings = PgSettings::new(&engine.config.time.timezone, &owner.name, true);
        ctx.state_ref()
            .write()
            .config_mut()
            .options_mut()
            .extensions
            .insert(settings.clone());
        owner.install(&ctx);
        let locks = Arc::new(engine.advisory.session());
        crate::catalog::advisory_functions::register(&ctx, &locks);
        let connection = Arc::default();
        crate::catalog::server_facts::register(&ctx, &connection);
        let xact_ids = Arc::default();
        crate::catalog::xact_ids::register(&ctx, &xact_ids);
        let backend = Arc::new(crate::catalog::activity::Backend::new(
            connection.clone(),
            settings.clone(),
            locks.clone(),
        ));
        if client {
            engine.backends.add(&backend);
        }
        let state = State::default();
        // The tables find the block's transaction here (storage/provider.rs).
        ctx.state_ref()
            .write()
            .config_mut()
            .set_extension(state.tx.slot());
        // … RETURNING reads the rows its write kept here (returning.rs).
        ctx.state_ref()
            .write()
            .config_mut()
            .set_extension(Arc::new(crate::storage::StoredRows::default()));
        // … INSERT … ON CONFLICT leaves its action for its write here (on_conflict.rs).
        ctx.state_ref()
            .write()
            .config_mut()
            .set_extension(Arc::new(crate::storage::ConflictSlot::default()));
        // … and what a statement raises while it executes (notices.rs).
        let raised = Arc::new(crate::notices::Raised::default());
        ctx.state_ref()
            .write()
            .config_mut()
            .set_extension(raised.clone());
        crate::catalog::backend_signals::register(
            &ctx,
            &engine.backends,
            &backend,
            &settings,
            &raised,
        );
        Ok(Arc::new(Session {
            ctx,
            engine,
            settings,
            state: Mutex::new(state),
            synced: Default::default(),
            activity: Arc::default(),
            locks,
            client,
            connection,
            backend,
            xact_ids,
        }))
    }

    /// From now on the session runs as `actor` (after a client authenticated).
    pub fn set_user(&self, actor: Actor) {
        let superuser = actor.role != Role::Analyst;
        let fresh = PgSettings::new(&self.engine.config.time.timezone, &actor.name, superuser);
        self.settings.adopt_defaults(&fresh);
        actor.install(&self.ctx);
    }

    /// The connection this session serves, as its client started up.
    pub fn set_connection(&self, connection: crate::catalog::server_facts::Connection) {
        self.connection.set(connection);
    }

    /// Resolves once another session ends this one (pg_terminate_backend).
    pub async fn terminated(self: Arc<Self>) -> &'static str {
        self.backend.signals().terminated().await;
        "terminating connection due to administrator command"
    }

    /// The signal this session's statements stop on (a cancel request, pg_cancel_backend).
    pub fn cancel_signal(&self) -> Arc<tokio::sync::watch::Sender<u64>> {
        self.backend.signals().cancel.clone()
    }

    /// What RESET restores a `cip.*` setting to in this session.
    pub(super) fn cip_defaults(&self) -> crate::settings::CipOptions {
        match self.client {
            true => self.engine.client_options(),
            false => self.engine.default_options(),
        }
    }

    pub fn ctx(&self) -> &SessionContext {
        &self.ctx
    }

    pub fn settings(&self) -> &PgSettings {
        &self.settings
    }

    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A statement failed after it returned (while its rows streamed): a block fails.
    pub fn failed(&self) {
        self.state().tx.failed();
        crate::metrics::ERRORS.add(1);
    }

    pub fn status(&self) -> TxStatus {
        self.state().tx.status()
    }

    /// Notices raised since the last call (warnings of transaction control, a fit answered
    /// from an earlier day, …).
    pub fn take_notices(&self) -> Vec<Notice> {
        let mut notices = std::mem::take(&mut self.state().notices);
        let raised = self.extension::<crate::notices::Raised>();
        notices.extend(raised.map(|r| r.take()).unwrap_or_default());
        notices
    }

    /// The session's `T` in its configuration, read in place (`ctx().state()` would copy the
    /// whole session state).
    pub(super) fn extension<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.ctx.state_ref().read().config().get_extension::<T>()
    }

    /// Who runs this session's statements (Actor::of without copying the session state).
    pub(super) fn actor(&self) -> Actor {
        Actor::of_config(self.ctx.state_ref().read().config())
    }

    /// Reported parameters (TimeZone, DateStyle, …) that changed since the last call.
    pub fn take_reported(&self) -> Vec<(String, String)> {
        self.settings.take_changed()
    }

    pub(super) fn activity(&self) -> &super::idle::Activity {
        &self.activity
    }

    pub(super) fn cursor_schema(&self, name: &str) -> Option<SchemaRef> {
        self.state().cursors.get(name).map(|c| c.schema.clone())
    }

    /// The statements of `sql` (on the statement runtime: parsing recurses).
    pub async fn parse(&self, sql: &str) -> Result<Vec<Parsed>> {
        let text = sql.to_string();
        let what = abbreviate(sql);
        let parsed = runtime::run(what.clone(), async move { super::parse::parse(&text) }).await;
        if let Err(e) = &parsed {
            self.statement_failed(e, &what);
        }
        parsed
    }

    /// Plans `parsed` without acting: what Parse and Describe need.
    pub async fn prepare(self: &Arc<Self>, parsed: Parsed) -> Result<Prepared> {
        self.prepare_declared(parsed, vec![]).await
    }

    /// Plans `parsed` with the parameter types its client declared (PostgreSQL's type names
    /// by position; None where it left one to the server).
    pub async fn prepare_declared(
        self: &Arc<Self>,
        parsed: Parsed,
        declared: Vec<Option<String>>,
    ) -> Result<Prepared> {
        let me = self.clone();
        let what = parsed.to_string();
        let prepared = runtime::run(what.clone(), async move {
            me.prepare_here(parsed, &declared).await
        })
        .await;
        if let Err(e) = &prepared {
            self.statement_failed(e, &what);
        }
        prepared
    }

    /// Runs a prepared statement with its parameters' values.
    pub async fn execute(
        self: &Arc<Self>,
        prepared: Arc<Prepared>,
        params: Vec<ScalarValue>,
        limits: Limits,
    ) -> Result<Outcome> {
        let what = prepared.parsed.to_string();
        let deadline = self
            .settings
            .statement_timeout()
            .map(|t| Instant::now() + t);
        if let Some(stop) = StatementStop::of(&self.ctx) {
            // Without a client to cancel, a receiver whose sender is gone never fires.
            let cancel = limits.cancel.clone().unwrap_or_else(|| watch::channel(0).1);
            stop.arm(cancel, deadline);
        }
        crate::metrics::QUERIES.add(1);
        self.xact_ids
            .statement_starts(self.status() != TxStatus::Idle);
        let busy = self.activity.begin();
        let running = self.backend.running(&what);
        let me = self.clone();
        let run = runtime::run(what.clone(), async move {
            me.execute_here(&prepared, params).await
        });
        let outcome = bounded(run, deadline, limits.cancel.clone()).await;
        let done = match outcome {
            Ok(Outcome::Rows(mut rows)) => {
                let pool = self.ctx.runtime_env().memory_pool.clone();
                let stream = runtime::batches_on_runtime(what, rows.stream, &pool);
                let stream = super::execute::limit_stream(stream, deadline, limits.cancel);
                // Streaming rows is not idle: the clock starts when the stream is done.
                rows.stream = Box::pin(RecordBatchStreamAdapter::new(
                    stream.schema(),
                    stream.map(move |b| {
                        let _ = (&busy, &running);
                        b
                    }),
                ));
                Ok(Outcome::Rows(rows))
            }
            Ok(other) => Ok(other),
            Err(e) => {
                self.statement_failed(&e, &what);
                Err(e)
            }
        };
        self.backend.between(match self.status() {
            TxStatus::Idle => Between::Idle,
            TxStatus::Block => Between::InBlock,
            TxStatus::Failed => Between::Aborted,
        });
        done
    }

    /// A statement failed: its block fails, the error is counted, and an internal error
    /// (XX000: a defect of cip's, not the user's) is logged with the statement that met it.
    fn statement_failed(&self, e: &CipError, what: &str) {
        self.state().tx.failed();
        crate::metrics::ERRORS.add(1);
        if e.sqlstate() == sqlstate::INTERNAL_ERROR {
            tracing::error!(statement = %abbreviate(what), "internal error: {e}");
        }
    }

    /// Prepares and runs one statement without parameters.
    pub async fn run(self: &Arc<Self>, parsed: Parsed, limits: Limits) -> Result<Outcome> {
        let prepared = Arc::new(self.prepare(parsed).await?);
        self.execute(prepared, vec![], limits).await
    }

    /// Runs one statement of `sql` with positional parameters and collects its rows (the
    /// HTTP API and the scheduler: internal SQL takes values as parameters).
    pub async fn query(
        self: &Arc<Self>,
        sql: &str,
        params: Vec<ScalarValue>,
    ) -> Result<Vec<RecordBatch>> {
        let mut parsed = self.parse(sql).await?;
        if parsed.len() != 1 {
            return Err(CipError::invalid(
                sqlstate::SYNTAX_ERROR,
                format!("expected one statement, got {}", parsed.len()),
            ));
        }
        let prepared = Arc::new(self.prepare(parsed.remove(0)).await?);
        match self.execute(prepared, params, Limits::default()).await? {
            Outcome::Rows(rows) => {
                let mut stream = rows.stream;
                let mut batches = Vec::new();
                while let Some(b) = stream.next().await {
                    batches.push(b?);
                }
                Ok(batches)
            }
            _ => Ok(vec![]),
        }
    }
}

/// The start of a statement, for log lines.
fn abbreviate(sql: &str) -> String {
    const MAX: usize = 200;
    let sql = sql.trim();
    match sql.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &sql[..i]),
        None => sql.to_string(),
    }
}

/// `run`, ended with 57014 at the deadline or at a cancel request.
async fn bounded<T>(
    run: impl std::future::Future<Output = Result<T>>,
    deadline: Option<Instant>,
    cancel: Option<watch::Receiver<u64>>,
) -> Result<T> {
    let timer = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    let canceled = async {
        match cancel {
            Some(mut c) => {
                if c.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        r = run => r,
        _ = timer => Err(super::execute::canceled("statement timeout")),
        _ = canceled => Err(super::execute::canceled("user request")),
    }
}
