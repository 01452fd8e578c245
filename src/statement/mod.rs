//! One way in for a statement.
//!
//! Every front door — pgwire (simple and extended protocol), `cip sql`, the slt harness, the
//! HTTP API and the scheduler — hands its SQL to a [`Session`]: text in, [`Outcome`]s out.
//!
//! ```text
//!  text ──parse──▶ Parsed ──prepare──▶ Prepared ──execute(params)──▶ Outcome
//!        (parse.rs:   (prepare.rs: plan or      (execute.rs: acts; rows stream
//!         depth bound, classify; describes      from the statement runtime)
//!         rules/)      without acting)
//! ```
//!
//! Everything from parsing to the last row runs on the statement runtime (runtime.rs): deep
//! stacks, panics caught as XX000. What only PostgreSQL's protocol has (portals, Describe,
//! binary formats, COPY's sub-protocol, ParameterStatus) stays in `crate::pg`.

mod alter;
mod alter_columns;
mod ambiguous_columns;
mod command;
mod comment;
mod copy;
pub mod copy_binary;
mod copy_text;
pub mod cursor;
mod ddl;
mod declared;
mod dependents;
mod dml;
mod execute;
mod external;
mod idle;
mod index;
mod index_rename;
mod insert_defaults;
pub mod names;
mod on_conflict;
mod on_conflict_merge;
mod outcome;
mod own_schema;
pub mod params;
pub mod parse;
mod point_lookup;
mod prepare;
pub mod reg_names;
mod rename;
pub(crate) mod result_memory;
mod returning;
pub mod rules;
pub mod runtime;
mod session;
mod shared_objects;
mod stored;
pub mod system_columns;
mod table_declared;
mod tag;
mod temporary;
pub mod transaction;
pub mod wire_rows;
pub mod wire_schema;
mod written_names;

pub use copy::{Chunk, CopyIn, CopyOut};
pub use copy_text::CopyFormat;
pub use outcome::{count_of, Done, Outcome, Rows};
pub use parse::Parsed;
pub use prepare::{Columns, Prepared};
pub use session::{Limits, Session};
pub use transaction::TxStatus;
