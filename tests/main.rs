//! cip's integration tests: one test binary (CI builds and links it once), one module per
//! concern.

mod bi_tools;
mod campaign_loop;
mod campaigns;
mod cancel;
mod cli;
mod clients;
mod common;
mod dbt;
mod ddl;
mod durability;
mod http;
mod intelligence;
mod memory_abuse;
mod mistakes;
mod pgwire;
mod psql;
mod resources;
mod robustness;
mod roles;
mod slt;
mod sort;
mod storage;
mod tls;
mod transactions;
mod upgrades;
