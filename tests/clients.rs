//! The clients analysts and back ends use, each driven by its own program against a real
//! `cip serve` on generated data: Python (psycopg 3, SQLAlchemy 2 and 1.4, pandas, asyncpg, polars
//! with connectorx and ADBC, pgcli in a terminal, Grafana's SQL with its macros expanded),
//! Java (pgjdbc) and Node (`pg`, pg-copy-streams, postgres.js, knex). The programs live in tests/clients/ and check their own
//! results; .ci/run installs the clients. A missing client fails the test with a hint: a test
//! that skipped itself would prove nothing.

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

/// Every inspector method under SQLAlchemy 2.x (the test clients' Python) and 1.4 (its own
/// virtualenv, `CIP_SQLALCHEMY14`: what Superset pins), with Superset's dataset calls.
#[test]
fn sqlalchemy_inspectors_1_4_and_2_with_supersets_calls() {
    run_against_server(
        23,
        "python3",
        &["sqlalchemy_inspector.py"],
        "sqlalchemy inspector: ok",
    );
    let python = std::env::var("CIP_SQLALCHEMY14")
        .expect("CIP_SQLALCHEMY14 names the Python of SQLAlchemy 1.4's virtualenv (.ci/run)");
    run_against_server(
        24,
        &python,
        &["sqlalchemy_inspector.py"],
        "sqlalchemy inspector: ok",
    );
}

#[test]
fn grafana_query_builder_and_macros_over_text_and_binary_drivers() {
    run_against_server(28, "python3", &["grafana_client.py"], "grafana: ok");
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
    node_program("client.js", "pg", "node pg: ok", 23);
}

fn node_program(script: &str, package: &str, done: &str, seed: u32) {
    assert!(
        clients_dir()
            .join("node/node_modules")
            .join(package)
            .exists(),
        "node_modules missing: run `npm ci --prefix tests/clients/node` (.ci/run does)"
    );
    run_against_server(seed, "node", &[&format!("node/{script}")], done);
}

#[test]
fn node_postgres_js_types_cursor_transactions_and_copy() {
    node_program("postgres_js.js", "postgres", "postgres.js: ok", 26);
}

#[test]
fn node_knex_builder_schema_introspection_and_transactions() {
    node_program("knex_client.js", "knex", "knex: ok", 27);
}

/// Sequelize's connect (SET TIME ZONE INTERVAL …), its information_schema introspection
/// (describeTable's primary keys, foreign-key references), finders, createTable and writes.
#[test]
fn node_sequelize_introspection_finders_and_writes() {
    node_program("sequelize_client.js", "sequelize", "sequelize: ok", 28);
}

#[test]
fn pgcli_completion_special_commands_and_terminal() {
    run_against_server(28, "python3", &["pgcli_client.py"], "pgcli: ok");
}

#[test]
fn python_asyncpg_arrays_cursor_pool_and_advisory_locks() {
    run_against_server(24, "python3", &["asyncpg_client.py"], "asyncpg: ok");
}

#[test]
fn polars_connectorx_and_adbc_with_its_catalog_listing() {
    run_against_server(25, "python3", &["polars_client.py"], "adbc get_objects:");
}
