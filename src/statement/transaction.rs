//! Transaction blocks as PostgreSQL's protocol and clients see them: BEGIN / START TRANSACTION
//! (with their modes), COMMIT / END, ROLLBACK / ABORT, savepoints, the failed state after an
//! error, and READ ONLY blocks.
//!
//! A block holds a storage transaction (storage/txn.rs) in the session's `TxnSlot`: its writes
//! are seen by its own statements only, and by everyone — durably, all or none — at COMMIT
//! (Session::commit runs it). ROLLBACK and ROLLBACK TO a savepoint discard them. The block's
//! changes to the saved views and schemas wait here the same way (`catalog`), and commit with
//! its rows.

use super::outcome::Done;
use super::parse::Parsed;
use crate::catalog::user_views::Change;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::storage::{Txn, TxnSlot};
use datafusion::sql::sqlparser::ast::{Set, Statement, TransactionAccessMode, TransactionMode};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStatus {
    Idle,
    /// Inside BEGIN … COMMIT.
    Block,
    /// Inside a block after an error: only ROLLBACK (or ROLLBACK TO a savepoint) helps.
    Failed,
}

#[derive(Debug, Default)]
pub struct Transaction {
    status: Option<TxStatus>,
    read_only: bool,
    savepoints: Vec<String>,
    /// The block's storage transaction; shared with the session's DataFusion context.
    slot: Arc<TxnSlot>,
    /// The block's changes to the saved views and schemas, in order; and how many there were
    /// at each savepoint.
    catalog: Vec<Change>,
    catalog_at: Vec<usize>,
    /// Moves whenever `catalog` changes, so the session re-applies what it sees.
    catalog_version: u64,
    /// Moves whenever the block's table DDL may have changed what the session sees: at the
    /// DDL, and at the end (or a ROLLBACK TO) of a block that ran some.
    tables_version: u64,
    table_ddl: bool,
}

pub use crate::notices::Notice;

/// PostgreSQL's warning for COMMIT or ROLLBACK outside a block (the statement still succeeds).
fn no_transaction_warning() -> Notice {
    (
        "WARNING",
        sqlstate::NO_ACTIVE_SQL_TRANSACTION,
        "there is no transaction in progress".into(),
    )
}

impl Transaction {
    pub fn status(&self) -> TxStatus {
        self.status.unwrap_or(TxStatus::Idle)
    }

    /// A statement failed: a block becomes failed.
    pub fn failed(&mut self) {
        if self.status() == TxStatus::Block {
            self.status = Some(TxStatus::Failed);
        }
    }

    /// Runs `f` on the block's storage transaction; None outside a block.
    pub fn with_txn<R>(&self, f: impl FnOnce(&mut Txn) -> R) -> Option<R> {
        self.slot.lock().as_mut().map(f)
    }

    /// The slot the session's tables find the block's transaction in.
    pub fn slot(&self) -> Arc<TxnSlot> {
        self.slot.clone()
    }

    /// Refuses what cannot run in the current state: anything but ending the block while it
    /// is failed (25P02), and writes inside a READ ONLY block (25006).
    pub fn check(&self, parsed: &Parsed) -> Result<()> {
        let Parsed::Sql(statement) = parsed else {
            return self.check_failed(false);
        };
        let ends = matches!(
            **statement,
            Statement::Commit { .. } | Statement::Rollback { .. }
        );
        self.check_failed(ends)?;
        if self.status() == TxStatus::Idle {
            return Ok(());
        }
        let Some(kind) = write_kind(statement) else {
            return Ok(());
        };
        if self.read_only {
            return Err(CipError::invalid(
                sqlstate::READ_ONLY_SQL_TRANSACTION,
                format!("cannot execute {kind} in a read-only transaction"),
            ));
        }
        Ok(())
    }

    fn check_failed(&self, ends_block: bool) -> Result<()> {
        if self.status() == TxStatus::Failed && !ends_block {
            return Err(CipError::invalid(
                sqlstate::IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            ));
        }
        Ok(())
    }

    /// Takes the block's storage transaction and its catalog changes out, for COMMIT to
    /// commit (None when the block is failed or empty: there is nothing to commit).
    pub fn take_for_commit(&mut self) -> Option<(Txn, Vec<Change>)> {
        if self.status() != TxStatus::Block {
            return None;
        }
        let txn = self.slot.lock().take()?;
        let changes = std::mem::take(&mut self.catalog);
        // Only a block that changed views makes the session look again (a failed COMMIT
        // takes them away; a good one moves the saved set's generation anyway).
        if !changes.is_empty() {
            self.catalog_version += 1;
        }
        self.tables_undone();
        self.table_ddl = false;
        Some((txn, changes))
    }

    /// Keeps a change to the saved views for COMMIT (inside a block only).
    pub fn change_catalog(&mut self, change: Change) {
        self.catalog.push(change);
        self.catalog_version += 1;
    }

    /// Table DDL ran (in the block's storage transaction, or in one of its own).
    pub fn note_table_ddl(&mut self) {
        self.tables_version += 1;
        self.table_ddl |= self.status() != TxStatus::Idle;
    }

    pub fn tables_version(&self) -> u64 {
        self.tables_version
    }

    /// The block's table DDL may be undone: the session looks again.
    fn tables_undone(&mut self) {
        if self.table_ddl {
            self.tables_version += 1;
        }
    }

    /// The block's catalog changes so far, and their version.
    pub fn catalog(&self) -> (&[Change], u64) {
        (&self.catalog, self.catalog_version)
    }

    fn truncate_catalog(&mut self, len: usize) {
        if self.catalog.len() > len {
            self.catalog.truncate(len);
            self.catalog_version += 1;
        }
    }

    /// A COMMIT that failed ends the block, as in PostgreSQL: nothing of it stays.
    pub fn abort(&mut self) {
        self.end();
    }

    /// Runs a transaction-control statement; None for any other statement. `begin` opens the
    /// storage transaction of a new block.
    pub fn control(
        &mut self,
        statement: &Statement,
        notices: &mut Vec<Notice>,
        begin: &dyn Fn() -> Txn,
    ) -> Option<Result<Done>> {
        let status = self.status();
        Some(match statement {
            Statement::StartTransaction { modes, .. } => {
                if status == TxStatus::Idle {
                    self.status = Some(TxStatus::Block);
                    self.read_only = read_only(modes).unwrap_or(false);
                    self.savepoints.clear();
                    *self.slot.lock() = Some(begin());
                } else {
                    notices.push((
                        "WARNING",
                        sqlstate::ACTIVE_SQL_TRANSACTION,
                        "there is already a transaction in progress".into(),
                    ));
                }
                Ok(Done::new("BEGIN"))
            }
            Statement::Set(Set::SetTransaction { modes, .. }) => {
                if let Some(ro) = read_only(modes) {
                    if status != TxStatus::Idle {
                        self.read_only = ro;
                    }
                }
                Ok(Done::new("SET"))
            }
            Statement::Commit { .. } => {
                let tag = if status == TxStatus::Failed {
                    "ROLLBACK"
                } else {
                    "COMMIT"
                };
                if status == TxStatus::Idle {
                    notices.push(no_transaction_warning());
                }
                self.end();
                Ok(Done::new(tag))
            }
            Statement::Rollback {
                savepoint: Some(name),
                ..
            } => self.rollback_to(&name.value),
            Statement::Rollback { .. } => {
                if status == TxStatus::Idle {
                    notices.push(no_transaction_warning());
                }
                self.end();
                Ok(Done::new("ROLLBACK"))
            }
            Statement::Savepoint { name } => self.in_block("SAVEPOINT").map(|()| {
                self.savepoints.push(name.value.clone());
                self.catalog_at.push(self.catalog.len());
                if let Some(txn) = self.slot.lock().as_mut() {
                    txn.savepoint();
                }
                Done::new("SAVEPOINT")
            }),
            Statement::ReleaseSavepoint { name } => {
                self.in_block("RELEASE SAVEPOINT").and_then(|()| {
                    let at = self.find(&name.value)?;
                    self.savepoints.truncate(at);
                    self.catalog_at.truncate(at);
                    if let Some(txn) = self.slot.lock().as_mut() {
                        txn.release(at);
                    }
                    Ok(Done::new("RELEASE"))
                })
            }
            _ => return None,
        })
    }

    /// Leaves the block; a storage transaction still in the slot is rolled back.
    fn end(&mut self) {
        self.status = Some(TxStatus::Idle);
        self.read_only = false;
        self.savepoints.clear();
        self.catalog_at.clear();
        self.truncate_catalog(0);
        self.tables_undone();
        self.table_ddl = false;
        self.slot.lock().take();
    }

    fn in_block(&self, what: &str) -> Result<()> {
        match self.status() {
            TxStatus::Idle => Err(CipError::invalid(
                sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                format!("{what} can only be used in transaction blocks"),
            )),
            _ => Ok(()),
        }
    }

    fn find(&self, name: &str) -> Result<usize> {
        self.savepoints
            .iter()
            .rposition(|s| s == name)
            .ok_or_else(|| {
                CipError::invalid(
                    sqlstate::INVALID_SAVEPOINT_SPECIFICATION,
                    format!("savepoint \"{name}\" does not exist"),
                )
            })
    }

    /// ROLLBACK TO SAVEPOINT: the block is usable again, the savepoint stays, later ones go.
    fn rollback_to(&mut self, name: &str) -> Result<Done> {
        self.in_block("ROLLBACK TO SAVEPOINT")?;
        let at = self.find(name)?;
        self.savepoints.truncate(at + 1);
        self.catalog_at.truncate(at + 1);
        if let Some(&len) = self.catalog_at.get(at) {
            self.truncate_catalog(len);
        }
        self.tables_undone();
        if let Some(txn) = self.slot.lock().as_mut() {
            txn.rollback_to(at);
        }
        self.status = Some(TxStatus::Block);
        Ok(Done::new("ROLLBACK"))
    }
}

fn read_only(modes: &[TransactionMode]) -> Option<bool> {
    modes.iter().rev().find_map(|m| match m {
        TransactionMode::AccessMode(TransactionAccessMode::ReadOnly) => Some(true),
        TransactionMode::AccessMode(TransactionAccessMode::ReadWrite) => Some(false),
        _ => None,
    })
}

/// Whether `statement` begins, ends or marks a block (it reads no table).
pub fn is_control(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::StartTransaction { .. }
            | Statement::Commit { .. }
            | Statement::Rollback { .. }
            | Statement::Savepoint { .. }
            | Statement::ReleaseSavepoint { .. }
            | Statement::Set(Set::SetTransaction { .. })
    )
}

/// The kind of write a statement is, for the refusals above.
fn write_kind(statement: &Statement) -> Option<&'static str> {
    match statement {
        Statement::Insert(_) => Some("INSERT"),
        Statement::Update { .. } => Some("UPDATE"),
        Statement::Delete(_) => Some("DELETE"),
        Statement::Truncate { .. } => Some("TRUNCATE"),
        Statement::Merge { .. } => Some("MERGE"),
        Statement::Copy { to: false, .. } => Some("COPY FROM"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(s: &str) -> Parsed {
        super::super::parse::parse(s)
            .expect("parses")
            .pop()
            .expect("one statement")
    }

    fn run(tx: &mut Transaction, s: &str) -> Result<Done> {
        let parsed = sql(s);
        tx.check(&parsed)?;
        let Parsed::Sql(st) = &parsed else {
            panic!("not a control statement")
        };
        let dir = std::env::temp_dir();
        tx.control(st, &mut Vec::new(), &|| Txn::begin(&dir))
            .expect("a control statement")
    }

    #[test]
    fn rollback_to_savepoint_leaves_the_block_usable() {
        let mut tx = Transaction::default();
        run(&mut tx, "BEGIN ISOLATION LEVEL SERIALIZABLE").expect("begin");
        run(&mut tx, "SAVEPOINT a").expect("savepoint");
        tx.failed();
        assert_eq!(tx.status(), TxStatus::Failed);
        assert_eq!(
            tx.check(&sql("SELECT 1")).expect_err("failed").sqlstate(),
            "25P02"
        );
        run(&mut tx, "ROLLBACK TO SAVEPOINT a").expect("rollback to");
        assert_eq!(tx.status(), TxStatus::Block);
        assert!(tx.check(&sql("SELECT 1")).is_ok());
        assert_eq!(
            run(&mut tx, "RELEASE nope")
                .expect_err("no such")
                .sqlstate(),
            "3B001"
        );
        assert_eq!(run(&mut tx, "COMMIT").expect("commit").tag, "COMMIT");
        assert_eq!(tx.status(), TxStatus::Idle);
        assert_eq!(
            run(&mut tx, "SAVEPOINT b").expect_err("outside").sqlstate(),
            "25P01"
        );
    }

    #[test]
    fn writes_in_read_only_blocks_are_refused() {
        let mut tx = Transaction::default();
        let insert = sql("INSERT INTO t VALUES (1)");
        assert!(tx.check(&insert).is_ok());
        run(&mut tx, "START TRANSACTION READ ONLY").expect("begin");
        assert_eq!(tx.check(&insert).expect_err("ro").sqlstate(), "25006");
        run(&mut tx, "ROLLBACK").expect("rollback");
        run(&mut tx, "BEGIN").expect("begin");
        assert!(tx.check(&insert).is_ok());
        assert!(
            tx.slot().lock().is_some(),
            "a block holds a storage transaction"
        );
        tx.failed();
        assert_eq!(run(&mut tx, "COMMIT").expect("commit").tag, "ROLLBACK");
        assert!(tx.slot().lock().is_none(), "the block's writes are gone");
    }
}
