//! `pg_stat_activity`: one row per client connection of this server, as PostgreSQL's — its
//! pid, user, application_name, addresses, when it started, what it runs or last ran and
//! whether it is active, idle or idle in a block. pgAdmin's dashboard, DBeaver's session
//! manager and Grafana's PostgreSQL dashboards read it; datafusion-pg-catalog had no such
//! relation. Sessions register a Backend here and report their statements; the relation is
//! built from the live list each time a statement reads it.

use super::server_facts::ConnectionFacts;
use crate::settings::pg::PgSettings;
use datafusion::arrow::array::TimestampMicrosecondArray;
use datafusion::arrow::array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::common::Result;
use datafusion::datasource::MemTable;
use std::sync::{Arc, Mutex, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

/// The transaction state a session is in between statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Between {
    Idle,
    InBlock,
    Aborted,
}

#[derive(Debug)]
struct Now {
    query: String,
    query_start: Option<SystemTime>,
    state_change: SystemTime,
    running: usize,
    between: Between,
    xact_start: Option<SystemTime>,
}

/// One client session as pg_stat_activity shows it.
#[derive(Debug)]
pub struct Backend {
    connection: Arc<ConnectionFacts>,
    signals: super::backend_signals::Signals,
    settings: PgSettings,
    locks: Arc<super::advisory_locks::SessionLocks>,
    started: SystemTime,
    now: Mutex<Now>,
}

/// Held while a statement runs or its rows stream: the backend is active until it drops.
pub struct Running(Arc<Backend>);

impl Drop for Running {
    fn drop(&mut self) {
        let mut now = self.0.lock();
        now.running = now.running.saturating_sub(1);
        if now.running == 0 {
            now.state_change = SystemTime::now();
        }
    }
}

impl Backend {
    pub fn new(
        connection: Arc<ConnectionFacts>,
        settings: PgSettings,
        locks: Arc<super::advisory_locks::SessionLocks>,
    ) -> Backend {
        let started = SystemTime::now();
        Backend {
            connection,
            signals: Default::default(),
            settings,
            locks,
            started,
            now: Mutex::new(Now {
                query: String::new(),
                query_start: None,
                state_change: started,
                running: 0,
                between: Between::Idle,
                xact_start: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Now> {
        self.now.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn pid(&self) -> i32 {
        self.connection.pid()
    }

    /// The user the session runs as.
    pub fn user(&self) -> Option<String> {
        self.settings.get("session_authorization")
    }

    pub fn superuser(&self) -> bool {
        self.settings.get("is_superuser").as_deref() == Some("on")
    }

    /// Whether its client speaks over TLS; None for a session without a connection.
    pub fn secure(&self) -> Option<bool> {
        self.connection.get().map(|c| c.secure)
    }

    /// The advisory locks it holds and waits for (pg_locks).
    pub fn locks(&self) -> Vec<super::advisory_locks::Shown> {
        self.locks.shown()
    }

    /// What other sessions can ask of it (pg_cancel_backend, pg_terminate_backend).
    pub fn signals(&self) -> &super::backend_signals::Signals {
        &self.signals
    }

    /// `query` starts now; the backend is active while the guard lives.
    pub fn running(self: &Arc<Self>, query: &str) -> Running {
        let mut now = self.lock();
        let at = SystemTime::now();
        now.query = query.to_string();
        now.query_start = Some(at);
        now.state_change = at;
        now.running += 1;
        Running(self.clone())
    }

    /// The transaction state after a statement (a block's start is its xact_start).
    pub fn between(&self, between: Between) {
        let mut now = self.lock();
        match (now.between, between) {
            (Between::Idle, Between::InBlock | Between::Aborted) => {
                now.xact_start = now.query_start;
            }
            (_, Between::Idle) => now.xact_start = None,
            _ => {}
        }
        now.between = between;
    }
}

/// Every client session of the server.
#[derive(Debug, Default)]
pub struct Backends {
    list: Mutex<Vec<Weak<Backend>>>,
}

impl Backends {
    pub fn add(&self, backend: &Arc<Backend>) {
        let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        // Sessions that ended leave dead entries; drop them as new ones arrive.
        list.retain(|b| b.strong_count() > 0);
        list.push(Arc::downgrade(backend));
    }

    /// The client session with this pid, if it is still connected.
    pub fn by_pid(&self, pid: i32) -> Option<Arc<Backend>> {
        self.live().into_iter().find(|b| b.pid() == pid)
    }

    pub fn live(&self) -> Vec<Arc<Backend>> {
        let list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        list.iter().filter_map(Weak::upgrade).collect()
    }
}

fn micros(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

fn timestamps(values: impl Iterator<Item = Option<SystemTime>>) -> ArrayRef {
    let values: TimestampMicrosecondArray = values.map(|t| t.map(micros)).collect();
    Arc::new(values.with_timezone("UTC"))
}

fn texts<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(values.collect::<StringArray>())
}

/// PostgreSQL 15's columns of pg_stat_activity, in its order.
fn schema() -> SchemaRef {
    let ts = || DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let fields = [
        ("datid", DataType::Int32),
        ("datname", DataType::Utf8),
        ("pid", DataType::Int32),
        ("leader_pid", DataType::Int32),
        ("usesysid", DataType::Int32),
        ("usename", DataType::Utf8),
        ("application_name", DataType::Utf8),
        ("client_addr", DataType::Utf8),
        ("client_hostname", DataType::Utf8),
        ("client_port", DataType::Int32),
        ("backend_start", ts()),
        ("xact_start", ts()),
        ("query_start", ts()),
        ("state_change", ts()),
        ("wait_event_type", DataType::Utf8),
        ("wait_event", DataType::Utf8),
        ("state", DataType::Utf8),
        ("backend_xid", DataType::Utf8),
        ("backend_xmin", DataType::Utf8),
        ("query_id", DataType::Int64),
        ("query", DataType::Utf8),
        ("backend_type", DataType::Utf8),
    ];
    Arc::new(Schema::new(
        fields
            .into_iter()
            .map(|(name, t)| Field::new(name, t, true))
            .collect::<Vec<_>>(),
    ))
}

/// One row as the relation shows it.
struct Shown {
    pid: i32,
    user: Option<String>,
    application: Option<String>,
    client: Option<(String, i32)>,
    started: SystemTime,
    xact_start: Option<SystemTime>,
    query_start: Option<SystemTime>,
    state_change: SystemTime,
    state: &'static str,
    query: String,
}

fn shown(b: &Backend) -> Shown {
    let now = b.lock();
    let state = match (now.running > 0, now.between) {
        (true, _) => "active",
        (false, Between::Idle) => "idle",
        (false, Between::InBlock) => "idle in transaction",
        (false, Between::Aborted) => "idle in transaction (aborted)",
    };
    let connection = b.connection.get();
    Shown {
        pid: b.connection.pid(),
        user: b.settings.get("session_authorization"),
        application: b.settings.get("application_name"),
        client: connection.map(|c| (c.client.ip().to_string(), i32::from(c.client.port()))),
        started: b.started,
        // Outside a block a running statement is its own transaction.
        xact_start: now
            .xact_start
            .or(now.query_start.filter(|_| now.running > 0)),
        query_start: now.query_start,
        state_change: now.state_change,
        state,
        query: now.query.clone(),
    }
}

/// A user's role OID by name.
pub type RoleOid = Arc<dyn Fn(&str) -> Option<i32> + Send + Sync>;

/// pg_stat_activity, read when a statement scans it: by then the reading statement has
/// started, so its own row is active and shows it, as in PostgreSQL. `database` is the
/// database's OID and name.
pub fn view(
    backends: Arc<Backends>,
    database: (i32, String),
    role_oid: RoleOid,
) -> super::live_view::LiveView {
    super::live_view::LiveView::new("pg_stat_activity", schema(), move |_| {
        relation(&backends, (database.0, &database.1), |n| role_oid(n))
    })
}

/// The relation's rows now.
fn relation(
    backends: &Backends,
    database: (i32, &str),
    role_oid: impl Fn(&str) -> Option<i32>,
) -> Result<MemTable> {
    let rows: Vec<Shown> = backends.live().iter().map(|b| shown(b)).collect();
    let n = rows.len();
    let ints = |f: &dyn Fn(&Shown) -> Option<i32>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<Int32Array>())
    };
    let nulls = || -> ArrayRef { Arc::new(StringArray::new_null(n)) };
    let columns: Vec<ArrayRef> = vec![
        ints(&|_| Some(database.0)),
        texts(rows.iter().map(|_| Some(database.1))),
        ints(&|r| Some(r.pid)),
        ints(&|_| None),
        ints(&|r| r.user.as_deref().and_then(&role_oid)),
        texts(rows.iter().map(|r| r.user.as_deref())),
        texts(rows.iter().map(|r| r.application.as_deref())),
        texts(rows.iter().map(|r| r.client.as_ref().map(|c| c.0.as_str()))),
        nulls(),
        ints(&|r| r.client.as_ref().map(|c| c.1)),
        timestamps(rows.iter().map(|r| Some(r.started))),
        timestamps(rows.iter().map(|r| r.xact_start)),
        timestamps(rows.iter().map(|r| r.query_start)),
        timestamps(rows.iter().map(|r| Some(r.state_change))),
        nulls(),
        nulls(),
        texts(rows.iter().map(|r| Some(r.state))),
        nulls(),
        nulls(),
        Arc::new(Int64Array::new_null(n)),
        texts(rows.iter().map(|r| Some(r.query.as_str()))),
        texts(rows.iter().map(|_| Some("client backend"))),
    ];
    let schema = schema();
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    MemTable::try_new(schema, vec![vec![batch]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(backends: &Backends) -> Vec<String> {
        backends
            .live()
            .iter()
            .map(|b| shown(b).state.to_string())
            .collect()
    }

    #[test]
    fn a_backend_is_active_while_it_runs_and_listed_while_it_lives() {
        let backends = Backends::default();
        let settings = PgSettings::new("UTC", "ana", false);
        let locks =
            Arc::new(Arc::new(super::super::advisory_locks::AdvisoryLocks::default()).session());
        let b = Arc::new(Backend::new(Arc::default(), settings, locks));
        backends.add(&b);
        assert_eq!(state(&backends), ["idle"]);
        let running = b.running("SELECT 1");
        assert_eq!(state(&backends), ["active"]);
        drop(running);
        b.between(Between::InBlock);
        assert_eq!(state(&backends), ["idle in transaction"]);
        assert!(shown(&b).xact_start.is_some());
        assert_eq!(shown(&b).query, "SELECT 1");
        b.between(Between::Idle);
        assert!(shown(&b).xact_start.is_none());
        drop(b);
        assert!(state(&backends).is_empty());
        use datafusion::catalog::TableProvider;
        let table = relation(&backends, (1, "cip"), |_| None).expect("relation");
        assert_eq!(table.schema().fields().len(), 22);
    }
}
