//! The command line (see README and ../shared/DESIGN.md, "Command line").

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "cip",
    version,
    about = "Customer intelligence & promotion engine"
)]
pub struct Cli {
    /// TOML configuration file: the one home of every setting.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Data directory (overrides the config's data_dir; default ./data).
    #[arg(long, global = true)]
    pub data: Option<PathBuf>,
    /// Run `sql` and `score` on an Apache DataFusion Ballista cluster (df://HOST:PORT, the
    /// scheduler's address) over the warehouse's committed Parquet; writes stay local.
    #[arg(long, global = true, value_name = "df://HOST:PORT")]
    pub cluster: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a realistic synthetic venue chain into a new data directory.
    Generate {
        #[arg(long, default_value_t = 100_000)]
        members: u64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
        /// Number of stores in the chain.
        #[arg(long, default_value_t = 12)]
        stores: u32,
        /// The last day of the generated history (YYYY-MM-DD); default today.
        #[arg(long)]
        until: Option<String>,
        /// The kind of venue: ktv, beer_bar, lounge or pub_usd (prices, rhythm, mix).
        #[arg(long, default_value = "ktv")]
        venue: String,
        /// Multiplies every amount (e.g. 0.1 for the same chain priced in another currency).
        #[arg(long, default_value_t = 1.0)]
        price_scale: f64,
    },
    /// Load a CSV (with header) or Parquet file into a table, all or nothing.
    Load {
        table: String,
        file: PathBuf,
        /// Replace rows with the same key instead of adding them (e.g. a daily CRM sync).
        #[arg(long)]
        upsert: bool,
    },
    /// Run SQL: -c "…", -f FILE, or a script on standard input.
    Sql {
        #[arg(short = 'c', long = "command")]
        command: Option<String>,
        #[arg(short = 'f', long = "file")]
        file: Option<PathBuf>,
    },
    /// Serve the data directory.
    Serve {
        /// PostgreSQL wire protocol address (default from config: 127.0.0.1:5433).
        #[arg(long)]
        listen: Option<String>,
        /// Also serve the HTTP API on this address (e.g. 127.0.0.1:8080).
        #[arg(long)]
        http: Option<String>,
    },
    /// Generate a demo chain into the data directory if it is empty, then serve it.
    Demo {
        #[arg(long, default_value_t = 100_000)]
        members: u64,
        #[arg(long)]
        listen: Option<String>,
        /// Also serve the HTTP API on this address (e.g. 127.0.0.1:8080).
        #[arg(long)]
        http: Option<String>,
    },
    /// Move every table's write-ahead log into Parquet, so other tools see every row.
    Checkpoint,
    /// Score every active member (segment, tags, model figures) into a Parquet file and/or
    /// the warehouse's member_scores snapshot, as of a date.
    #[command(group(clap::ArgGroup::new("target").required(true).multiple(true).args(["out", "into_warehouse"])))]
    Score {
        /// Write the scores to this Parquet file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Store them as the table member_scores (the snapshot lookups answer from).
        #[arg(long)]
        into_warehouse: bool,
        /// The as-of business date (YYYY-MM-DD); default today.
        #[arg(long)]
        as_of: Option<String>,
        /// Hide the progress bar (it is also hidden when stderr is not a terminal).
        #[arg(long)]
        quiet: bool,
    },
    /// Start a process of a Ballista cluster with cip's functions compiled in.
    Cluster {
        #[command(subcommand)]
        role: ClusterRole,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClusterRole {
    /// Ballista's scheduler: plans statements and hands their tasks to executors.
    Scheduler {
        /// Its gRPC address.
        #[arg(long, default_value = "127.0.0.1:50050")]
        bind: std::net::SocketAddr,
    },
    /// A Ballista executor: runs tasks; it must read the warehouse at the same paths.
    Executor {
        /// The scheduler's address (HOST:PORT).
        #[arg(long, default_value = "127.0.0.1:50050")]
        scheduler: String,
        /// Its Arrow Flight address (where other executors and clients fetch results).
        #[arg(long, default_value = "127.0.0.1:50051")]
        bind: std::net::SocketAddr,
        /// Its gRPC address; default the port after --bind's.
        #[arg(long)]
        grpc_bind: Option<std::net::SocketAddr>,
        /// Where it keeps intermediate (shuffle) files.
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// Tasks it runs at once (default: every core).
        #[arg(long, default_value_t = 0)]
        concurrent_tasks: usize,
    },
}
