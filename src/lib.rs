//! cip — customer intelligence & promotion engine.
//!
//! ```text
//!  clients ──▶ serve ──▶ engine: DataFusion SessionContext per session ◀── cip-udfs, queries/
//!                           │
//!                           ▼
//!                  storage: tables as Parquet parts + fsync'd write-ahead log + manifest
//! ```
//!
//! `storage` owns durability (see its module docs), `engine` builds sessions, `statement` is
//! the one way in for a statement (pgwire, `cip sql`, HTTP, scheduler), `catalog` the
//! PostgreSQL catalog every session sees, `views` loads queries/, `generate` writes demo
//! data, `load` imports files, `sql` runs scripts.

pub mod allocator;
pub mod analyzer;
pub mod bind_functions;
pub mod campaigns;
pub mod catalog;
pub mod cli;
pub mod cluster;
pub mod column_types;
pub mod compact_views;
pub mod config;
pub mod deferred;
pub mod engine;
pub mod error;
pub mod functions;
pub mod generate;
pub mod http;
pub mod identity;
pub mod keysort;
pub mod load;
pub mod metrics;
pub mod notices;
pub mod pg;
pub mod registrar;
pub mod scheduler;
pub mod score;
pub mod scores;
pub mod segments;
pub mod serve;
pub mod session_memory;
pub mod settings;
pub mod share_pool;
pub mod sql;
pub mod statement;
pub mod statement_stop;
pub mod storage;
pub mod text_columns;
pub mod tiers;
pub mod views;
pub mod warehouse;
