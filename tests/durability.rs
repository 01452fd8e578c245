//! Acknowledged writes survive SIGKILL: a writer process is killed at random points (often in
//! the middle of a flush or a compaction, which small settings make frequent), and every row
//! it acknowledged is there after restart, in files a Parquet reader opens.

use crate::common;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn write_config(dir: &Path, flush_rows: usize, max_parts: usize) -> std::path::PathBuf {
    let cfg = dir.join("cip.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = {:?}\nqueries_dir = {:?}\n[storage]\nflush_rows = {flush_rows}\nmax_parts = {max_parts}\n",
            dir.join("data"),
            Path::new(env!("CARGO_MANIFEST_DIR")).join("queries")
        ),
    )
    .expect("write config");
    cfg
}

/// Runs `cip sql` on a script of single-row INSERTs; kills it with SIGKILL once `kill_after`
/// acknowledgements were read (or when it ends). Returns the acknowledged visit ids.
fn run_and_kill(cfg: &Path, ids: &[String], kill_after: usize) -> Vec<String> {
    let mut child = Command::new(common::cip_bin())
        .args(["--config"])
        .arg(cfg)
        .arg("sql")
        .env("CIP_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn cip sql");
    let mut script = String::new();
    for id in ids {
        script.push_str(&format!(
            "INSERT INTO visits (visit_id, member_id, store_id, started_at, amount) \
             VALUES ('{id}', 'M-{id}', 'S001', TIMESTAMP '2026-05-01 21:00:00', 88.80);\n"
        ));
    }
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(script.as_bytes());
    });
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line == "INSERT 0 1" && tx.send(()).is_err() {
                break;
            }
        }
    });
    let mut acked = 0usize;
    while acked < kill_after {
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(()) => acked += 1,
            Err(_) => break,
        }
    }
    child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
    let _ = child.wait();
    let _ = writer.join();
    let _ = reader.join();
    // Acknowledgements printed before the kill count too.
    while rx.try_recv().is_ok() {
        acked += 1;
    }
    ids[..acked.min(ids.len())].to_vec()
}

fn read_all_parts(data: &Path) -> usize {
    let mut files = 0;
    for table in std::fs::read_dir(data)
        .expect("data dir")
        .filter_map(|e| e.ok())
    {
        if !table.path().is_dir() {
            continue;
        }
        for f in std::fs::read_dir(table.path())
            .expect("table dir")
            .filter_map(|e| e.ok())
        {
            let p = f.path();
            assert!(
                !p.to_string_lossy().ends_with(".tmp"),
                "a temp file was left after restart: {}",
                p.display()
            );
            if p.extension().is_some_and(|e| e == "parquet") {
                let file = std::fs::File::open(&p).expect("open part");
                let reader = datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .unwrap_or_else(|e| panic!("{} is not readable Parquet: {e}", p.display()))
                    .build()
                    .expect("reader");
                for b in reader {
                    b.unwrap_or_else(|e| panic!("{} has an unreadable batch: {e}", p.display()));
                }
                files += 1;
            }
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_loses_no_acknowledged_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_config(dir.path(), 37, 3);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut acked: Vec<String> = Vec::new();
    let mut attempted = 0usize;
    for round in 0..8 {
        let ids: Vec<String> = (0..300).map(|i| format!("R{round}-{i:04}")).collect();
        let kill_after = rng.random_range(1..300);
        acked.extend(run_and_kill(&cfg, &ids, kill_after));
        attempted += ids.len();
    }
    assert!(!acked.is_empty() && acked.len() < attempted);
    let engine = common::engine(&dir.path().join("data")).await;
    let ctx = engine.session().await.expect("session");
    let present: HashSet<String> = common::rows(&ctx, "SELECT visit_id FROM visits")
        .await
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let lost: Vec<&String> = acked.iter().filter(|id| !present.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged rows lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    // At most the one statement in flight per kill may have landed unacknowledged.
    assert!(
        present.len() <= acked.len() + 8,
        "{} rows present, {} acknowledged",
        present.len(),
        acked.len()
    );
    // No half rows: every present row is whole.
    let whole = common::rows(
        &ctx,
        "SELECT count(*) FROM visits WHERE member_id = 'M-' || visit_id AND amount = 88.80",
    )
    .await;
    assert_eq!(common::count(&whole) as usize, present.len());
    drop(ctx);
    drop(engine);
    let parts = read_all_parts(&dir.path().join("data"));
    println!("sigkill: {} acknowledged of {attempted} attempted, all present; {parts} Parquet parts readable", acked.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_thousand_single_row_inserts_stay_few_files_and_survive_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The defaults: flush every 20,000 logged rows, compact beyond 16 parts.
    let cfg = write_config(dir.path(), 20_000, 16);
    let n = 100_000;
    let ids: Vec<String> = (0..n).map(|i| format!("V{i:06}")).collect();
    let started = std::time::Instant::now();
    let acked = run_and_kill(&cfg, &ids, n);
    let elapsed = started.elapsed();
    assert_eq!(
        acked.len(),
        n,
        "every insert was acknowledged before the kill"
    );
    let engine = common::engine(&dir.path().join("data")).await;
    let ctx = engine.session().await.expect("session");
    let c = common::rows(
        &ctx,
        "SELECT count(*), count(DISTINCT visit_id) FROM visits",
    )
    .await;
    assert_eq!(c[0], vec![n.to_string(), n.to_string()]);
    let visits = dir.path().join("data/visits");
    let parts = std::fs::read_dir(&visits)
        .expect("visits dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".parquet"))
        .count();
    assert!(
        parts <= 17,
        "{parts} Parquet files for {n} single-row inserts"
    );
    println!(
        "100k single-row inserts: {:.0} inserts/s through `cip sql` (debug build), {parts} Parquet parts",
        n as f64 / elapsed.as_secs_f64()
    );
}
