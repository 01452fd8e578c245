//! PostgreSQL's transaction id functions: `txid_current()` / `pg_current_xact_id()` (the
//! transaction's id, assigned at the first call) and `txid_current_if_assigned()` /
//! `pg_current_xact_id_if_assigned()` (NULL until then). Replication and ETL tools, and
//! scripts that mark a batch, read them. One id per transaction: a block keeps its id from
//! the first call to COMMIT / ROLLBACK; outside a block each statement is a transaction of its
//! own. Ids rise across the server's sessions; they start from the clock at start-up, so a
//! restarted server's ids stay above the last run's unless it gave out more than a thousand a
//! second on average. cip has no row versions, so no xmin / age(xid) to compare them with.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, DocSection, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

/// The next id of the server: milliseconds since 2020 at start-up.
static NEXT: LazyLock<AtomicI64> = LazyLock::new(|| {
    let since_2020 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
        - 1_577_836_800_000;
    AtomicI64::new(since_2020.max(1_000))
});

/// A session's current transaction id, if assigned.
#[derive(Debug, Default)]
pub struct XactIds(Mutex<Option<i64>>);

impl XactIds {
    /// A statement starts; outside a block it is a new transaction.
    pub fn statement_starts(&self, in_block: bool) {
        if !in_block {
            *self.lock() = None;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<i64>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn current(&self, assign: bool) -> Option<i64> {
        let mut id = self.lock();
        if id.is_none() && assign {
            *id = Some(NEXT.fetch_add(1, Ordering::Relaxed));
        }
        *id
    }
}

const SECTION: DocSection = DocSection {
    include: true,
    label: "Transaction ids",
    description: Some("The id of the session's current transaction."),
};

/// (name, assigns an id when there is none).
const FUNCTIONS: &[(&str, bool)] = &[
    ("txid_current", true),
    ("pg_current_xact_id", true),
    ("txid_current_if_assigned", false),
    ("pg_current_xact_id_if_assigned", false),
];

/// Registers the functions in a session, bound to its transaction's id.
pub fn register(ctx: &SessionContext, ids: &Arc<XactIds>) {
    for (name, assign) in FUNCTIONS {
        let what = if *assign {
            "The current transaction's id, assigned at the first call: the same for every \
             statement of a block, new for each statement outside one, rising across sessions."
        } else {
            "The current transaction's id if one was assigned (by txid_current() or \
             pg_current_xact_id()), else NULL."
        };
        ctx.register_udf(ScalarUDF::new_from_impl(XactId {
            name,
            assign: *assign,
            ids: ids.clone(),
            signature: Signature::nullary(Volatility::Volatile),
            doc: Documentation::builder(SECTION, what, format!("{name}()"))
                .with_sql_example(format!("SELECT {name}()"))
                .build(),
        }));
    }
}

#[derive(Debug)]
struct XactId {
    name: &'static str,
    assign: bool,
    ids: Arc<XactIds>,
    signature: Signature,
    doc: Documentation,
}

impl PartialEq for XactId {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.ids, &other.ids)
    }
}

impl Eq for XactId {}

impl std::hash::Hash for XactId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        Arc::as_ptr(&self.ids).hash(state);
    }
}

impl ScalarUDFImpl for XactId {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::Int64(
            self.ids.current(self.assign),
        )))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_id_per_transaction_rising() {
        let ids = XactIds::default();
        ids.statement_starts(false);
        assert_eq!(ids.current(false), None);
        let first = ids.current(true).expect("assigned");
        assert_eq!(ids.current(false), Some(first));
        // Inside a block the id stays; a new statement outside one is a new transaction.
        ids.statement_starts(true);
        assert_eq!(ids.current(true), Some(first));
        ids.statement_starts(false);
        assert_eq!(ids.current(false), None);
        assert!(ids.current(true).expect("next") > first);
    }
}
