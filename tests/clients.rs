//! The clients analysts and back ends use, each driven by its own program against a real
//! `cip serve` on generated data: Python (psycopg 3, SQLAlchemy 2, pandas, asyncpg, polars
//! with connectorx and ADBC), Java (pgjdbc) and Node (`pg`, pg-copy-streams). The programs
//! live in tests/clients/ and check their own results; .ci/run installs the clients. A
//! missing client fails the test with a hint: a test that skipped itself would prove nothing.

use crate::common;
use crate::pgwire::Server;
use std::path::{Path, PathBuf};
use std::process::Command;

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Generates a small chain, serves it, runs `program args… PORT` and checks it passed.
fn run_against_server(seed: u32, program: &str, args: &[&str], done: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    common::generate(dir.path(), 2000, seed);
    let server = Server::start(dir.path());
    let out = Command::new(program)
        .args(args)
        .arg(server.port.to_string())
        .current_dir(clients_dir())
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e} (.ci/run installs the test clients)"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success() && stdout.contains(done),
        "{program} {args:?} failed:\n{stdout}\n{stderr}"
    );
}

#[test]
fn python_psycopg_sqlalchemy_and_pandas() {
    run_against_server(21, "python3", &["python_clients.py"], "python clients: ok");
}

#[test]
fn java_pgjdbc_metadata_and_prepared_statements() {
    let jar = std::env::var("CIP_PGJDBC_JAR")
        .unwrap_or_else(|_| "/usr/share/java/postgresql.jar".to_string());
    assert!(
        Path::new(&jar).exists(),
        "{jar} is missing: install libpostgresql-jdbc-java (.ci/run does) or set CIP_PGJDBC_JAR"
    );
    run_against_server(22, "java", &["-cp", &jar, "JdbcClient.java"], "pgjdbc: ok");
}

#[test]
fn node_pg_parameters_and_copy_stream() {
    assert!(
        clients_dir().join("node/node_modules/pg").exists(),
        "node_modules missing: run `npm ci --prefix tests/clients/node` (.ci/run does)"
    );
    run_against_server(23, "node", &["node/client.js"], "node pg: ok");
}

#[test]
fn python_asyncpg_arrays_cursor_pool_and_advisory_locks() {
    run_against_server(24, "python3", &["asyncpg_client.py"], "asyncpg: ok");
}

#[test]
fn polars_connectorx_and_adbc_with_its_catalog_listing() {
    run_against_server(25, "python3", &["polars_client.py"], "adbc get_objects:");
}
