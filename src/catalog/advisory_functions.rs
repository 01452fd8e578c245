//! The advisory-lock functions of PostgreSQL over the server's lock table (advisory_locks.rs):
//! `pg_advisory_lock`, `pg_try_advisory_lock`, `pg_advisory_unlock`, their `_shared` and
//! `_xact` forms, and `pg_advisory_unlock_all`. Each session registers its own instances,
//! bound to its side of the table. The forms that wait are asynchronous functions: a waiting
//! statement holds no thread, and cancelling it (or statement_timeout) ends the wait.

use super::advisory_locks::{Key, Mode, Refused, Scope, SessionLocks};
use crate::error::{sqlstate, to_df, CipError};
use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Int32Array, Int64Array, NullArray};
use datafusion::arrow::compute::{cast_with_options, CastOptions};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::async_udf::{AsyncScalarUDF, AsyncScalarUDFImpl};
use datafusion::logical_expr::{
    ColumnarValue, DocSection, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, TypeSignature, Volatility,
};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// Casts that fail rather than turn a key out of range into NULL.
const EXACT: CastOptions = CastOptions {
    safe: false,
    format_options: datafusion::arrow::util::display::FormatOptions::new(),
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    /// Waits until the lock is free.
    Lock,
    /// Takes it if free: true, else false.
    Try,
    /// Releases one hold: true, or false when not held.
    Unlock,
    UnlockAll,
}

/// (name, what it does, its mode and scope).
const FUNCTIONS: &[(&str, Op, Mode, Scope)] = &[
    (
        "pg_advisory_lock",
        Op::Lock,
        Mode::Exclusive,
        Scope::Session,
    ),
    (
        "pg_advisory_lock_shared",
        Op::Lock,
        Mode::Shared,
        Scope::Session,
    ),
    (
        "pg_advisory_xact_lock",
        Op::Lock,
        Mode::Exclusive,
        Scope::Transaction,
    ),
    (
        "pg_advisory_xact_lock_shared",
        Op::Lock,
        Mode::Shared,
        Scope::Transaction,
    ),
    (
        "pg_try_advisory_lock",
        Op::Try,
        Mode::Exclusive,
        Scope::Session,
    ),
    (
        "pg_try_advisory_lock_shared",
        Op::Try,
        Mode::Shared,
        Scope::Session,
    ),
    (
        "pg_try_advisory_xact_lock",
        Op::Try,
        Mode::Exclusive,
        Scope::Transaction,
    ),
    (
        "pg_try_advisory_xact_lock_shared",
        Op::Try,
        Mode::Shared,
        Scope::Transaction,
    ),
    (
        "pg_advisory_unlock",
        Op::Unlock,
        Mode::Exclusive,
        Scope::Session,
    ),
    (
        "pg_advisory_unlock_shared",
        Op::Unlock,
        Mode::Shared,
        Scope::Session,
    ),
    (
        "pg_advisory_unlock_all",
        Op::UnlockAll,
        Mode::Exclusive,
        Scope::Session,
    ),
];

/// Registers the functions in a session, bound to `locks`.
pub fn register(ctx: &SessionContext, locks: &Arc<SessionLocks>) {
    for (name, op, mode, scope) in FUNCTIONS {
        let f = Advisory::new(name, *op, *mode, *scope, locks.clone());
        match op {
            Op::Lock => ctx.register_udf(AsyncScalarUDF::new(Arc::new(f)).into_scalar_udf()),
            _ => ctx.register_udf(ScalarUDF::new_from_impl(f)),
        }
    }
}

#[derive(Debug)]
struct Advisory {
    name: &'static str,
    op: Op,
    mode: Mode,
    scope: Scope,
    signature: Signature,
    locks: Arc<SessionLocks>,
    doc: Documentation,
}

impl PartialEq for Advisory {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.locks.id == other.locks.id
    }
}

impl Eq for Advisory {}

impl std::hash::Hash for Advisory {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.locks.id.hash(state);
    }
}

const SECTION: DocSection = DocSection {
    include: true,
    label: "Advisory locks",
    description: Some("PostgreSQL's application-defined locks, held by a session or transaction."),
};

impl Advisory {
    fn new(name: &'static str, op: Op, mode: Mode, scope: Scope, locks: Arc<SessionLocks>) -> Self {
        let signature = match op {
            Op::UnlockAll => Signature::nullary(Volatility::Volatile),
            _ => {
                let ints = vec![
                    DataType::Int64,
                    DataType::Int32,
                    DataType::Int16,
                    DataType::Int8,
                    DataType::UInt32,
                    DataType::UInt16,
                    DataType::UInt8,
                ];
                Signature::one_of(
                    vec![
                        TypeSignature::Uniform(1, ints.clone()),
                        TypeSignature::Uniform(2, ints),
                    ],
                    Volatility::Volatile,
                )
            }
        };
        let (what, returns) = match op {
            Op::Lock => (
                "Takes the lock, waiting while another session holds it",
                "NULL",
            ),
            Op::Try => (
                "Takes the lock if no other session holds it",
                "whether it did",
            ),
            Op::Unlock => (
                "Releases one session-level hold of the lock",
                "false if none",
            ),
            Op::UnlockAll => ("Releases every session-level advisory lock", "NULL"),
        };
        let held = match (mode, scope) {
            (Mode::Exclusive, Scope::Session) => "exclusive, until unlocked or the session ends",
            (Mode::Shared, Scope::Session) => "shared, until unlocked or the session ends",
            (Mode::Exclusive, Scope::Transaction) => "exclusive, until the transaction ends",
            (Mode::Shared, Scope::Transaction) => "shared, until the transaction ends",
        };
        let syntax = match op {
            Op::UnlockAll => format!("{name}()"),
            _ => format!("{name}(key bigint) | {name}(key1 int, key2 int)"),
        };
        let mut doc = Documentation::builder(
            SECTION,
            format!("{what} ({held}); returns {returns}. NULL keys take no lock."),
            syntax,
        )
        .with_sql_example(match op {
            Op::UnlockAll => format!("SELECT {name}()"),
            _ => format!("SELECT {name}(42)"),
        });
        if op != Op::UnlockAll {
            doc = doc
                .with_argument("key", "A bigint naming the lock.")
                .with_argument(
                    "key1, key2",
                    "Two integers naming the lock (another key space).",
                );
        }
        Advisory {
            name,
            op,
            mode,
            scope,
            signature,
            locks,
            doc: doc.build(),
        }
    }

    /// The key of each row; None where an argument is NULL.
    fn keys(&self, args: &ScalarFunctionArgs) -> Result<Vec<Option<Key>>> {
        let n = args.number_rows;
        let arrays: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.to_array(n))
            .collect::<Result<_>>()?;
        let not_integer = |e| {
            to_df(CipError::invalid(
                sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                format!("{}: a key is out of range: {e}", self.name),
            ))
        };
        match arrays.as_slice() {
            [one] => {
                let one = cast_with_options(one, &DataType::Int64, &EXACT).map_err(not_integer)?;
                let one = one.as_any().downcast_ref::<Int64Array>();
                Ok((0..n)
                    .map(|i| one.filter(|a| a.is_valid(i)).map(|a| Key::One(a.value(i))))
                    .collect())
            }
            [a, b] => {
                let a = cast_with_options(a, &DataType::Int32, &EXACT).map_err(not_integer)?;
                let b = cast_with_options(b, &DataType::Int32, &EXACT).map_err(not_integer)?;
                let (a, b) = (
                    a.as_any().downcast_ref::<Int32Array>(),
                    b.as_any().downcast_ref::<Int32Array>(),
                );
                Ok((0..n)
                    .map(|i| match (a, b) {
                        (Some(a), Some(b)) if a.is_valid(i) && b.is_valid(i) => {
                            Some(Key::Two(a.value(i), b.value(i)))
                        }
                        _ => None,
                    })
                    .collect())
            }
            _ => Ok(vec![None; n]),
        }
    }
}

impl ScalarUDFImpl for Advisory {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(match self.op {
            Op::Try | Op::Unlock => DataType::Boolean,
            Op::Lock | Op::UnlockAll => DataType::Null,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let locks = &self.locks;
        let out: ArrayRef = match self.op {
            Op::UnlockAll => {
                locks.unlock_all();
                Arc::new(NullArray::new(n))
            }
            Op::Try => Arc::new(
                self.keys(&args)?
                    .into_iter()
                    .map(|k| k.map(|k| locks.try_lock(k, self.mode, self.scope)))
                    .collect::<BooleanArray>(),
            ),
            Op::Unlock => Arc::new(
                self.keys(&args)?
                    .into_iter()
                    .map(|k| k.map(|k| locks.unlock(k, self.mode)))
                    .collect::<BooleanArray>(),
            ),
            Op::Lock => {
                return Err(to_df(CipError::Corrupt(format!(
                    "{} runs asynchronously",
                    self.name
                ))))
            }
        };
        Ok(ColumnarValue::Array(out))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}

#[async_trait]
impl AsyncScalarUDFImpl for Advisory {
    async fn invoke_async_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        for key in self.keys(&args)?.into_iter().flatten() {
            if let Err(Refused::Deadlock) = self.locks.lock(key, self.mode, self.scope).await {
                return Err(to_df(CipError::invalid(
                    sqlstate::DEADLOCK_DETECTED,
                    format!(
                        "deadlock detected: {} waits for a lock held by a session that waits \
                         for one this session holds",
                        self.name
                    ),
                )));
            }
        }
        Ok(ColumnarValue::Array(Arc::new(NullArray::new(n))))
    }
}
