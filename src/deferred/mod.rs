//! Acting when executed, never when planned, described or EXPLAINed: the one mechanism behind
//! UPDATE / DELETE / TRUNCATE (storage's DML plans), the engine's table functions with side
//! effects (model fits, refreshes, upgrades, launches) and the key sort's hand-over.
//!
//! - exec.rs: `ActExec`, the execution plan that acts (or opens a stream) in `execute`;
//! - table.rs: `DeferredTable`, a table function's provider whose scan is an ActExec.
//!
//! What such a run holds while it acts is the warehouse's (warehouse/exclusive.rs).

mod exec;
mod table;

pub use exec::{Act, ActExec, Open};
pub use table::{unbound, Action, DeferredTable};
