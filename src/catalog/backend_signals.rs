//! PostgreSQL's `pg_cancel_backend(pid)` and `pg_terminate_backend(pid [, timeout])`: one
//! session stops another's statement, or ends its connection — what pgAdmin's dashboard and
//! DBeaver's session manager offer beside pg_stat_activity. A backend's signals are the ones
//! its connection obeys: the cancel counter its statements watch (the one a CancelRequest
//! bumps) and a terminate flag the connection's task waits on. As in PostgreSQL a user may
//! signal its own sessions; an operator (superuser) any; an analyst not an operator's.

use super::activity::{Backend, Backends};
use crate::error::sqlstate;
use crate::notices::Raised;
use crate::settings::pg::PgSettings;
use async_trait::async_trait;
use cip_udfs::error::sql_error;
use datafusion::arrow::array::{ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::types::{logical_int32, logical_int64, NativeType};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::async_udf::{AsyncScalarUDF, AsyncScalarUDFImpl};
use datafusion::logical_expr::{
    Coercion, ColumnarValue, DocSection, Documentation, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, TypeSignature, TypeSignatureClass, Volatility,
};
use datafusion::prelude::SessionContext;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::watch;

/// What another session can ask of a backend.
#[derive(Debug)]
pub struct Signals {
    /// Bumped to cancel the running statement (statements watch it from their start).
    pub cancel: Arc<watch::Sender<u64>>,
    terminate: watch::Sender<bool>,
}

impl Default for Signals {
    fn default() -> Self {
        Signals {
            cancel: Arc::new(watch::channel(0).0),
            terminate: watch::channel(false).0,
        }
    }
}

impl Signals {
    fn cancel(&self) {
        self.cancel.send_modify(|n| *n += 1);
    }

    fn terminate(&self) {
        self.terminate.send_replace(true);
        self.cancel();
    }

    /// Resolves once the backend is told to end.
    pub async fn terminated(&self) {
        let mut told = self.terminate.subscribe();
        // An Err means the sender is gone, which cannot happen while `self` lives.
        let _ = told.wait_for(|t| *t).await;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Cancel,
    Terminate,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Cancel => "pg_cancel_backend",
            Kind::Terminate => "pg_terminate_backend",
        }
    }
}

const SECTION: DocSection = DocSection {
    include: true,
    label: "Server signalling",
    description: Some("Stopping another session's statement or connection."),
};

/// Registers both functions in a session, acting as its user.
pub fn register(
    ctx: &SessionContext,
    backends: &Arc<Backends>,
    own: &Arc<Backend>,
    caller: &PgSettings,
    raised: &Arc<Raised>,
) {
    for kind in [Kind::Cancel, Kind::Terminate] {
        let mut f = Signal::new(kind, backends, caller, raised);
        f.own = Arc::downgrade(own);
        match kind {
            Kind::Cancel => ctx.register_udf(ScalarUDF::new_from_impl(f)),
            // It may wait for the connection to end.
            Kind::Terminate => ctx.register_udf(AsyncScalarUDF::new(Arc::new(f)).into_scalar_udf()),
        }
    }
}

#[derive(Debug)]
struct Signal {
    kind: Kind,
    signature: Signature,
    backends: Weak<Backends>,
    /// The calling session's own backend.
    own: Weak<Backend>,
    caller: PgSettings,
    raised: Arc<Raised>,
    doc: Documentation,
}

impl PartialEq for Signal {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && Arc::ptr_eq(&self.raised, &other.raised)
    }
}

impl Eq for Signal {}

impl std::hash::Hash for Signal {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        Arc::as_ptr(&self.raised).hash(state);
    }
}

impl Signal {
    fn new(
        kind: Kind,
        backends: &Arc<Backends>,
        caller: &PgSettings,
        raised: &Arc<Raised>,
    ) -> Self {
        // Any integer, made PostgreSQL's types: a pid integer, a timeout bigint (what a `$n`
        // there is described as).
        let int = |logical, native| {
            Coercion::new_implicit(
                TypeSignatureClass::Native(logical),
                vec![TypeSignatureClass::Integer],
                native,
            )
        };
        let pid = int(logical_int32(), NativeType::Int32);
        let mut forms = vec![TypeSignature::Coercible(vec![pid.clone()])];
        if kind == Kind::Terminate {
            let timeout = int(logical_int64(), NativeType::Int64);
            forms.push(TypeSignature::Coercible(vec![pid, timeout]));
        }
        let signature = Signature::one_of(forms, Volatility::Volatile);
        let doc = match kind {
            Kind::Cancel => Documentation::builder(
                SECTION,
                "Cancels the statement the session with this pid is running, as a cancel \
                 request from its client would: true when the session exists (and was told), \
                 false with a WARNING otherwise. Users may cancel their own sessions, operators \
                 any; 42501 otherwise. NULL for NULL.",
                "pg_cancel_backend(pid)",
            )
            .with_sql_example(
                "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE state = 'active' \
                 AND pid <> pg_backend_pid()",
            )
            .with_argument("pid", "A session's pid, as pg_stat_activity lists it."),
            Kind::Terminate => Documentation::builder(
                SECTION,
                "Ends the connection of the session with this pid (its running statement \
                 is cancelled, its block rolled back): true when the session exists, false \
                 with a WARNING otherwise. With a timeout (ms) > 0, waits until the session \
                 has ended and answers false with a WARNING if it has not by then. Users \
                 may end their own sessions, operators any; 42501 otherwise.",
                "pg_terminate_backend(pid [, timeout])",
            )
            .with_sql_example(
                "SELECT pg_terminate_backend(pid, 1000) FROM pg_stat_activity \
                 WHERE state = 'idle in transaction'",
            )
            .with_argument("pid", "A session's pid, as pg_stat_activity lists it.")
            .with_argument(
                "timeout",
                "Milliseconds to wait for it to end; 0 (the default) waits not.",
            ),
        };
        Signal {
            kind,
            signature,
            backends: Arc::downgrade(backends),
            own: Weak::new(),
            caller: caller.clone(),
            raised: raised.clone(),
            doc: doc.build(),
        }
    }

    /// PostgreSQL's refusal when the caller may not signal `target`.
    fn check(&self, target: &Backend) -> Result<()> {
        let on = |s: Option<String>| s.as_deref() == Some("on");
        if on(self.caller.get("is_superuser")) {
            return Ok(());
        }
        let (what, whose) = match self.kind {
            Kind::Cancel => ("cancel superuser query", "whose query is being canceled"),
            Kind::Terminate => (
                "terminate superuser process",
                "whose process is being terminated",
            ),
        };
        let refuse = |message: String| Err(sql_error(sqlstate::INSUFFICIENT_PRIVILEGE, message));
        if target.superuser() {
            return refuse(format!("must be a superuser to {what}"));
        }
        if target.user() != self.caller.get("session_authorization") {
            return refuse(format!(
                "must be a member of the role {whose} or member of pg_signal_backend"
            ));
        }
        Ok(())
    }

    /// Signals the session `pid`: whether it exists.
    fn signal(&self, pid: i32) -> Result<Option<Arc<Backend>>> {
        let found = self.backends.upgrade().and_then(|b| b.by_pid(pid));
        let Some(target) = found else {
            self.raised
                .warning(format!("PID {pid} is not a PostgreSQL backend process"));
            return Ok(None);
        };
        self.check(&target)?;
        match self.kind {
            Kind::Cancel => target.signals().cancel(),
            Kind::Terminate => target.signals().terminate(),
        }
        // Its own statement is cancelled here and now, as PostgreSQL's is at its next
        // interrupt check: a one-row answer could otherwise finish before the signal is seen.
        let own = self.own.upgrade().is_some_and(|o| Arc::ptr_eq(&o, &target));
        if own && self.kind == Kind::Cancel {
            return Err(sql_error(
                sqlstate::QUERY_CANCELED,
                "canceling statement due to user request",
            ));
        }
        Ok(Some(target))
    }

    fn pids(args: &[ColumnarValue], n: usize) -> Result<Vec<Option<i64>>> {
        let Some(pids) = args.first() else {
            return exec_err!("a pid is required");
        };
        let pids = cast(&pids.to_array(n)?, &DataType::Int64)?;
        Ok(pids.as_primitive::<Int64Type>().iter().collect())
    }

    fn answer(out: Vec<Option<bool>>) -> ColumnarValue {
        ColumnarValue::Array(Arc::new(BooleanArray::from(out)) as ArrayRef)
    }
}

/// A pid as PostgreSQL's int4 argument; out of range is no backend.
fn pid_of(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(0)
}

impl ScalarUDFImpl for Signal {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let pids = Self::pids(&args.args, args.number_rows)?;
        let mut out = Vec::with_capacity(pids.len());
        for pid in pids {
            out.push(match pid {
                Some(pid) => Some(self.signal(pid_of(pid))?.is_some()),
                None => None,
            });
        }
        Ok(Self::answer(out))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}

#[async_trait]
impl AsyncScalarUDFImpl for Signal {
    async fn invoke_async_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let pids = Self::pids(&args.args, n)?;
        let timeouts: Vec<Option<i64>> = match args.args.get(1) {
            Some(t) => {
                let t = cast(&t.to_array(n)?, &DataType::Int64)?;
                t.as_primitive::<Int64Type>().iter().collect()
            }
            None => vec![Some(0); n],
        };
        let mut out = Vec::with_capacity(n);
        for (pid, timeout) in pids.into_iter().zip(timeouts) {
            let (Some(pid), Some(timeout)) = (pid, timeout) else {
                out.push(None);
                continue;
            };
            if timeout < 0 {
                return Err(sql_error(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    "\"timeout\" must not be negative",
                ));
            }
            // Only a weak handle is kept while waiting: the session must be free to end.
            let Some(target) = self.signal(pid_of(pid))?.map(|t| Arc::downgrade(&t)) else {
                out.push(Some(false));
                continue;
            };
            out.push(Some(timeout == 0 || self.ended(target, pid, timeout).await));
        }
        Ok(Self::answer(out))
    }
}

impl Signal {
    /// Waits up to `ms` for `target`'s connection to end: whether it did (else a WARNING).
    async fn ended(&self, target: Weak<Backend>, pid: i64, ms: i64) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ms as u64);
        while target.strong_count() > 0 {
            if tokio::time::Instant::now() >= deadline {
                self.raised.warning(format!(
                    "backend with PID {pid} did not terminate within {ms} milliseconds"
                ));
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }
}
