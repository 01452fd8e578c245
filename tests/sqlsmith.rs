//! sqlsmith, a random query generator nobody here wrote, against `cip serve`: it reads the
//! catalog as PostgreSQL tools do (pg_type, information_schema.tables, pg_attribute,
//! pg_operator, pg_proc with `::regtype`, `format('%I.%I', …)`) and then sends random queries
//! over every relation, operator and function it found, with a 1 s statement_timeout. CI runs
//! it for a minute; `CIP_SQLSMITH_SECONDS=600` is the ten-minute run by hand. The server must
//! answer afterwards and no connection may break (sqlsmith prints `C` for a broken one).

use crate::common;
use crate::pgwire::Server;
use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

fn seconds() -> u64 {
    std::env::var("CIP_SQLSMITH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlsmith_never_takes_the_server_down() {
    let dir = tempfile::tempdir().expect("tempdir");
    common::generate(dir.path(), 500, 31);
    let server = Server::start(dir.path());
    let target = format!(
        "--target=host=127.0.0.1 port={} user=cip dbname=cip",
        server.port
    );
    let mut child = Command::new("sqlsmith")
        .args([target.as_str(), "--verbose", "--seed=7"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sqlsmith (.ci/run installs the Debian package)");
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    tokio::time::sleep(Duration::from_secs(seconds())).await;
    let finished_early = child.try_wait().expect("sqlsmith's status");
    let _ = child.kill();
    let _ = child.wait();
    let log = reader.join().expect("sqlsmith's output");
    assert!(
        finished_early.is_none(),
        "sqlsmith stopped by itself ({finished_early:?}):\n{}",
        log.chars().take(3000).collect::<String>()
    );
    assert!(
        log.contains("Generating indexes...done."),
        "sqlsmith could not read the catalog:\n{}",
        log.chars().take(3000).collect::<String>()
    );
    // One character per query: . answered, e error, S syntax error, t timeout, C broken.
    let mut outcomes: BTreeMap<char, usize> = BTreeMap::new();
    for line in log.lines() {
        if !line.is_empty() && line.chars().all(|c| ".eStC".contains(c)) {
            for c in line.chars() {
                *outcomes.entry(c).or_default() += 1;
            }
        }
    }
    let queries: usize = outcomes.values().sum();
    eprintln!(
        "sqlsmith: {queries} queries in {} s: {outcomes:?}",
        seconds()
    );
    // The error messages of sqlsmith's last report, most frequent first.
    if let Some(at) = log.rfind("queries: ") {
        for line in log[at..].lines().filter(|l| l.contains("ERROR")).take(15) {
            eprintln!("  {line}");
        }
    }
    assert!(queries > 100, "sqlsmith sent only {queries} queries");
    assert_eq!(outcomes.get(&'C'), None, "connections broke");
    assert!(
        outcomes.get(&'.').copied().unwrap_or(0) > 0,
        "no query was answered"
    );
    let c = server.connect().await;
    let row = c
        .query_one("SELECT 42", &[])
        .await
        .expect("still answering");
    assert_eq!(row.get::<_, i64>(0), 42);
}
