//! Long load on one `cip serve`: does its memory stay flat (issue 22)?
//!
//! CIP_SOAK_CLIENTS (64) clients for CIP_SOAK_MINUTES (30) against a generated chain of
//! CIP_SOAK_MEMBERS (20,000) members, each mixing, in turn: point lookups of a member (half
//! the clients over the extended protocol with a prepared statement, half over the simple
//! one), single-row INSERTs of visits, COPY FROM STDIN of ten visits, and a scan of the
//! customer_segments view. Every minute it prints throughput, p50 / p99 latency, errors and
//! the server's RSS; at the end, whether RSS after the first five minutes grew by more than
//! 10%. CIP_SOAK_WITHOUT=writes (or =scans) replaces the INSERTs and COPYs (or the view
//! scans) by lookups, to tell which part of the mix memory follows. Not run in CI. Run:
//! `bash benches/run.sh soak` (or `cargo bench --profile dev --bench soak` for a quicker look
//! at a debug build's memory).

#[path = "common/run.rs"]
mod run;
// The PostgreSQL half of the wire bench's servers is not used here.
#[allow(dead_code)]
#[path = "wire/servers.rs"]
mod servers;

use run::setting;

use futures::SinkExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_postgres::Client;

/// What the clients did in the current minute.
#[derive(Default)]
struct Minute {
    latencies: Mutex<Vec<f64>>,
    errors: AtomicU64,
    /// SQLSTATEs of the errors (or "connection" for a broken one), for the log.
    codes: Mutex<std::collections::BTreeMap<String, u64>>,
}

/// A figure of the server's /proc/PID/status line `key` (VmRSS in KiB, Threads).
fn status(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let clients = setting("CIP_SOAK_CLIENTS", 64);
    let minutes = setting("CIP_SOAK_MINUTES", 30);
    let members = setting("CIP_SOAK_MEMBERS", 20_000) as u32;
    let root = servers::shared_tempdir();
    let data = root.path().join("cip");
    servers::generate(&data, members);
    let cip = servers::Cip::serve(&data);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let current = Arc::new(Mutex::new(Arc::new(Minute::default())));
    runtime.block_on(async {
        let mut connected = Vec::new();
        for _ in 0..clients {
            connected.push(servers::connect(cip.port, "cip").await);
        }
        // Counted from when every client is connected, so the last minute is under full load.
        let deadline = Instant::now() + Duration::from_secs(minutes * 60) + Duration::from_secs(2);
        let mut tasks = Vec::new();
        for (id, client) in (0..).zip(connected) {
            let current = current.clone();
            tasks.push(tokio::spawn(async move {
                work(client, id, members, deadline, current).await
            }));
        }
        println!("minute | ops/s | p50 ms | p99 ms | errors | RSS MiB | threads");
        let mut rss = Vec::new();
        for minute in 1..=minutes {
            tokio::time::sleep(Duration::from_secs(60)).await;
            let done = std::mem::take(&mut *current.lock().expect("lock"));
            let mut l = done.latencies.lock().expect("lock").clone();
            l.sort_by(f64::total_cmp);
            let at = |q: f64| l.get(((l.len() as f64 * q) as usize).min(l.len().saturating_sub(1)));
            let now = status(cip.pid(), "VmRSS:") / 1024;
            rss.push(now);
            println!(
                "{minute:6} | {:5.0} | {:6.1} | {:6.1} | {:6} | {now} | {} {:?}",
                l.len() as f64 / 60.0,
                at(0.5).copied().unwrap_or(0.0) * 1e3,
                at(0.99).copied().unwrap_or(0.0) * 1e3,
                done.errors.load(Ordering::Relaxed),
                status(cip.pid(), "Threads:"),
                done.codes.lock().expect("lock"),
            );
        }
        for t in tasks {
            let _ = t.await;
        }
        if let (Some(&settled), Some(&last)) = (rss.get(4), rss.last()) {
            let growth = (last as f64 / settled.max(1) as f64 - 1.0) * 100.0;
            println!(
                "RSS after minute 5: {settled} MiB, at the end: {last} MiB ({growth:+.1}%): {}",
                if growth <= 10.0 { "flat" } else { "GROWING" }
            );
        }
    });
}

async fn work(
    client: Client,
    id: u64,
    members: u32,
    deadline: Instant,
    current: Arc<Mutex<Arc<Minute>>>,
) {
    let lookup = client
        .prepare("SELECT * FROM members WHERE member_id = $1")
        .await
        .expect("prepare");
    let without = std::env::var("CIP_SOAK_WITHOUT").unwrap_or_default();
    let mut n: u64 = 0;
    while Instant::now() < deadline {
        n += 1;
        let member = format!("M{:08}", 1 + (id * 7919 + n * 104_729) % u64::from(members));
        let visit = format!("S{id}-{n}");
        let t = Instant::now();
        let done = match n % 20 {
            0 if without == "scans" => lookup_once(&client, &lookup, id, &member).await,
            1..=4 if without == "writes" => lookup_once(&client, &lookup, id, &member).await,
            0 => client
                .simple_query("SELECT segment_id, count(*) FROM customer_segments GROUP BY 1")
                .await
                .map(drop),
            1..=3 => client
                .execute(
                    "INSERT INTO visits (visit_id, member_id, store_id, started_at, amount) \
                     VALUES ($1, $2, 'S001', TIMESTAMP '2026-11-30 21:00:00', 88.00)",
                    &[&visit, &member],
                )
                .await
                .map(drop),
            4 => copy_visits(&client, &visit, &member).await,
            _ => lookup_once(&client, &lookup, id, &member).await,
        };
        let minute = current.lock().expect("lock").clone();
        match done {
            Ok(()) => minute
                .latencies
                .lock()
                .expect("lock")
                .push(t.elapsed().as_secs_f64()),
            Err(e) => {
                minute.errors.fetch_add(1, Ordering::Relaxed);
                let code = e.code().map_or("connection", |c| c.code()).to_string();
                *minute.codes.lock().expect("lock").entry(code).or_default() += 1;
            }
        }
    }
}

/// One member's row: prepared over the extended protocol by even clients, simple by odd ones.
async fn lookup_once(
    client: &Client,
    lookup: &tokio_postgres::Statement,
    id: u64,
    member: &str,
) -> Result<(), tokio_postgres::Error> {
    if id.is_multiple_of(2) {
        client.query(lookup, &[&member]).await.map(drop)
    } else {
        client
            .simple_query(&format!(
                "SELECT * FROM members WHERE member_id = '{member}'"
            ))
            .await
            .map(drop)
    }
}

async fn copy_visits(
    client: &Client,
    prefix: &str,
    member: &str,
) -> Result<(), tokio_postgres::Error> {
    let sink = client
        .copy_in("COPY visits (visit_id, member_id, store_id, amount) FROM STDIN (FORMAT csv)")
        .await?;
    let rows: String = (0..10)
        .map(|i| format!("{prefix}-c{i},{member},S002,12.50\n"))
        .collect();
    let mut sink = Box::pin(sink);
    sink.send(bytes::Bytes::from(rows)).await?;
    sink.as_mut().finish().await.map(drop)
}
