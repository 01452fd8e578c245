//! sqlsmith, a random query generator nobody here wrote, against `cip serve`: it reads the
//! catalog as PostgreSQL tools do (pg_type, information_schema.tables, pg_attribute,
//! pg_operator, pg_proc with `::regtype`, `format('%I.%I', …)`) and then sends random queries
//! over every relation, operator and function it found, with a 1 s statement_timeout. CI runs
//! it for a minute once the catalog is read (longer, up to five minutes, until 100 queries have
//! gone through); `CIP_SQLSMITH_SECONDS=600` is the ten-minute run by hand. The server must
//! answer afterwards and no connection may break (sqlsmith prints `C` for a broken one).

use crate::common;
use crate::pgwire::Server;
use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CATALOG_BOUND: Duration = Duration::from_secs(600);
const MIN_QUERIES: usize = 100;

fn seconds() -> u64 {
    std::env::var("CIP_SQLSMITH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
}

/// One character per query: . answered, e error, S syntax error, t timeout, C broken.
fn count(log: &str) -> BTreeMap<char, usize> {
    let mut outcomes: BTreeMap<char, usize> = BTreeMap::new();
    for line in log.lines() {
        if !line.is_empty() && line.chars().all(|c| ".eStC".contains(c)) {
            for c in line.chars() {
                *outcomes.entry(c).or_default() += 1;
            }
        }
    }
    outcomes
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
    let log = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&log);
    let reader = std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut chunk) {
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&chunk[..n]).into_owned();
            sink.lock().expect("log").push_str(&text);
        }
    });
    let snapshot = || log.lock().expect("log").clone();
    // Reading the catalog is slow in a debug build under a loaded machine (CI runs the whole
    // suite beside it), so the query window starts when sqlsmith says it is done, and the
    // catalog load has a bound of its own.
    let loading = Instant::now();
    while !snapshot().contains("Generating indexes...done.") {
        let exited = child.try_wait().expect("sqlsmith's status");
        if exited.is_some() || loading.elapsed() > CATALOG_BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "sqlsmith could not read the catalog in {:?} ({exited:?}):\n{}",
                loading.elapsed(),
                snapshot().chars().take(3000).collect::<String>()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("sqlsmith read the catalog in {:?}", loading.elapsed());
    // Then at least the window, longer (up to five windows) if a loaded machine let fewer
    // than MIN_QUERIES through in it.
    let window = Instant::now();
    let mut finished_early = None;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        finished_early = finished_early.or(child.try_wait().expect("sqlsmith's status"));
        let elapsed = window.elapsed();
        let enough = count(&snapshot()).values().sum::<usize>() > MIN_QUERIES;
        if finished_early.is_some()
            || (elapsed >= Duration::from_secs(seconds()) && enough)
            || elapsed >= Duration::from_secs(5 * seconds())
        {
            break;
        }
    }
    let elapsed = window.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    let log = snapshot();
    assert!(
        finished_early.is_none(),
        "sqlsmith stopped by itself ({finished_early:?}):\n{}",
        log.chars().take(3000).collect::<String>()
    );
    let outcomes = count(&log);
    let queries: usize = outcomes.values().sum();
    eprintln!("sqlsmith: {queries} queries in {elapsed:?}: {outcomes:?}");
    // The error messages of sqlsmith's last report, most frequent first.
    if let Some(at) = log.rfind("queries: ") {
        for line in log[at..].lines().filter(|l| l.contains("ERROR")).take(15) {
            eprintln!("  {line}");
        }
    }
    assert!(
        queries > MIN_QUERIES,
        "sqlsmith sent only {queries} queries in {elapsed:?}"
    );
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
