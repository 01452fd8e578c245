//! What a session can ask about its server and its own connection, as PostgreSQL's session
//! and system information functions answer: `pg_backend_pid()` (the process id the client was
//! given at start-up, the one its cancel requests name), `inet_client_addr()` /
//! `inet_client_port()` / `inet_server_addr()` / `inet_server_port()` (NULL off the wire, as
//! PostgreSQL's over a Unix socket), `pg_postmaster_start_time()` and `pg_conf_load_time()`,
//! and the fixed facts of a server that is never a standby and has no JIT, triggers or row
//! security: `pg_is_in_recovery()`, `pg_jit_available()`, `pg_trigger_depth()`,
//! `row_security_active(table)`. Monitoring tools and IDEs (DataGrip, pgAdmin, DBeaver's
//! dashboards) ask these on connect. Each session registers its own instances, bound to its
//! connection's facts.

use datafusion::arrow::array::{Array, BooleanArray};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, DocSection, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// When this process started serving: the first engine opened in it.
static STARTED: LazyLock<SystemTime> = LazyLock::new(SystemTime::now);

/// Fixes the server's start time (called as the engine opens, before any session asks).
pub fn mark_start() {
    LazyLock::force(&STARTED);
}

/// The connection a session serves, once its client has started up.
#[derive(Debug, Clone, Copy)]
pub struct Connection {
    /// The process id the client was given (BackendKeyData).
    pub pid: i32,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Whether the client speaks over TLS (pg_stat_ssl).
    pub secure: bool,
}

/// A session's connection facts: empty for the server's own sessions and `cip sql`.
#[derive(Debug, Default)]
pub struct ConnectionFacts(OnceLock<Connection>);

impl ConnectionFacts {
    /// Records the connection; a second call keeps the first (start-up happens once).
    pub fn set(&self, connection: Connection) {
        let _ = self.0.set(connection);
    }

    pub fn get(&self) -> Option<&Connection> {
        self.0.get()
    }

    /// The backend's pid: the connection's, or off the wire cip's own process id.
    pub fn pid(&self) -> i32 {
        self.get()
            .map_or_else(|| std::process::id() as i32, |c| c.pid)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Fact {
    BackendPid,
    ClientAddr,
    ClientPort,
    ServerAddr,
    ServerPort,
    StartTime,
    ConfLoadTime,
    InRecovery,
    JitAvailable,
    TriggerDepth,
    RowSecurityActive,
}

/// (name, fact, what it answers).
const FACTS: &[(&str, Fact, &str)] = &[
    (
        "pg_backend_pid",
        Fact::BackendPid,
        "The process id this connection was given at start-up (the one a cancel request \
         names); cip's own process id off the wire.",
    ),
    (
        "inet_client_addr",
        Fact::ClientAddr,
        "The client's address, as text; NULL off the wire.",
    ),
    (
        "inet_client_port",
        Fact::ClientPort,
        "The client's port; NULL off the wire.",
    ),
    (
        "inet_server_addr",
        Fact::ServerAddr,
        "The address the server accepted this connection on, as text; NULL off the wire.",
    ),
    (
        "inet_server_port",
        Fact::ServerPort,
        "The port the server accepted this connection on; NULL off the wire.",
    ),
    (
        "pg_postmaster_start_time",
        Fact::StartTime,
        "When the server started.",
    ),
    (
        "pg_conf_load_time",
        Fact::ConfLoadTime,
        "When the server read its configuration (at start: cip reads it once).",
    ),
    (
        "pg_is_in_recovery",
        Fact::InRecovery,
        "Whether the server is a standby replaying another's log: never, for cip.",
    ),
    (
        "pg_jit_available",
        Fact::JitAvailable,
        "Whether PostgreSQL's JIT compilation is available: no (DataFusion compiles none).",
    ),
    (
        "pg_trigger_depth",
        Fact::TriggerDepth,
        "How deeply nested in triggers the statement runs: 0 (cip has no triggers).",
    ),
    (
        "row_security_active",
        Fact::RowSecurityActive,
        "Whether row-level security applies to the table for this user: never (cip has no \
         row security policies); NULL for NULL.",
    ),
];

const SECTION: DocSection = DocSection {
    include: true,
    label: "Session and server information",
    description: Some("What a session can ask about its connection and the server."),
};

/// Registers the functions in a session, bound to its connection's facts.
pub fn register(ctx: &SessionContext, facts: &Arc<ConnectionFacts>) {
    for (name, fact, what) in FACTS {
        ctx.register_udf(ScalarUDF::new_from_impl(Info::new(
            name,
            *fact,
            what,
            facts.clone(),
        )));
    }
}

#[derive(Debug)]
struct Info {
    name: &'static str,
    fact: Fact,
    signature: Signature,
    facts: Arc<ConnectionFacts>,
    doc: Documentation,
}

impl PartialEq for Info {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.facts, &other.facts)
    }
}

impl Eq for Info {}

impl std::hash::Hash for Info {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        Arc::as_ptr(&self.facts).hash(state);
    }
}

impl Info {
    fn new(name: &'static str, fact: Fact, what: &str, facts: Arc<ConnectionFacts>) -> Self {
        let (signature, syntax, example) = match fact {
            Fact::RowSecurityActive => (
                Signature::any(1, Volatility::Stable),
                format!("{name}(table)"),
                format!("SELECT {name}('members')"),
            ),
            _ => (
                Signature::nullary(Volatility::Stable),
                format!("{name}()"),
                format!("SELECT {name}()"),
            ),
        };
        let mut doc = Documentation::builder(SECTION, what, syntax).with_sql_example(example);
        if fact == Fact::RowSecurityActive {
            doc = doc.with_argument("table", "The table, by name or OID.");
        }
        Info {
            name,
            fact,
            signature,
            facts,
            doc: doc.build(),
        }
    }

    fn value(&self) -> ScalarValue {
        let connection = self.facts.get();
        let address = |a: fn(&Connection) -> SocketAddr| {
            ScalarValue::Utf8(connection.map(|c| a(c).ip().to_string()))
        };
        let port = |a: fn(&Connection) -> SocketAddr| {
            ScalarValue::Int32(connection.map(|c| i32::from(a(c).port())))
        };
        match self.fact {
            Fact::BackendPid => ScalarValue::Int32(Some(self.facts.pid())),
            Fact::ClientAddr => address(|c| c.client),
            Fact::ClientPort => port(|c| c.client),
            Fact::ServerAddr => address(|c| c.server),
            Fact::ServerPort => port(|c| c.server),
            Fact::StartTime | Fact::ConfLoadTime => {
                let micros = STARTED
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_micros() as i64);
                ScalarValue::TimestampMicrosecond(Some(micros), Some("+00:00".into()))
            }
            Fact::InRecovery | Fact::JitAvailable | Fact::RowSecurityActive => {
                ScalarValue::Boolean(Some(false))
            }
            Fact::TriggerDepth => ScalarValue::Int32(Some(0)),
        }
    }
}

impl ScalarUDFImpl for Info {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(match self.fact {
            Fact::BackendPid | Fact::ClientPort | Fact::ServerPort | Fact::TriggerDepth => {
                DataType::Int32
            }
            Fact::ClientAddr | Fact::ServerAddr => DataType::Utf8,
            Fact::StartTime | Fact::ConfLoadTime => {
                DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
            }
            Fact::InRecovery | Fact::JitAvailable | Fact::RowSecurityActive => DataType::Boolean,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let value = self.value();
        match (self.fact, args.args.first()) {
            // Strict, as PostgreSQL's: a NULL table gives NULL.
            (Fact::RowSecurityActive, Some(table)) => {
                // Logical nulls: an untyped NULL is a NullArray, which has no null buffer.
                let tables = table.to_array(args.number_rows)?;
                let nulls = tables.logical_nulls();
                let out: BooleanArray = (0..tables.len())
                    .map(|i| {
                        nulls
                            .as_ref()
                            .is_none_or(|n| n.is_valid(i))
                            .then_some(false)
                    })
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(out)))
            }
            _ => Ok(ColumnarValue::Scalar(value)),
        }
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_off_the_wire_are_the_process_and_null() {
        let info = |fact| {
            let (name, _, what) = FACTS.iter().find(|(_, f, _)| *f == fact).copied().unwrap();
            Info::new(name, fact, what, Arc::default())
        };
        assert_eq!(
            info(Fact::BackendPid).value(),
            ScalarValue::Int32(Some(std::process::id() as i32))
        );
        assert_eq!(info(Fact::ClientAddr).value(), ScalarValue::Utf8(None));
        assert_eq!(info(Fact::ServerPort).value(), ScalarValue::Int32(None));
    }

    #[test]
    fn facts_on_the_wire_are_the_connections() {
        let facts = Arc::new(ConnectionFacts::default());
        facts.set(Connection {
            pid: 77,
            client: "127.0.0.1:50001".parse().unwrap(),
            server: "127.0.0.1:5433".parse().unwrap(),
            secure: false,
        });
        let info = |fact| Info::new("f", fact, "", facts.clone());
        assert_eq!(info(Fact::BackendPid).value(), ScalarValue::Int32(Some(77)));
        assert_eq!(
            info(Fact::ClientAddr).value(),
            ScalarValue::Utf8(Some("127.0.0.1".into()))
        );
        assert_eq!(
            info(Fact::ClientPort).value(),
            ScalarValue::Int32(Some(50001))
        );
        assert_eq!(
            info(Fact::ServerPort).value(),
            ScalarValue::Int32(Some(5433))
        );
    }
}
