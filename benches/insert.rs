//! Insert throughput: single-row INSERT statements (each durable: one fsync'd log frame) and
//! batched INSERTs (1,000 rows a statement), through a cip session, against DuckDB doing the
//! same on the same machine in the same run (python3 + the duckdb package, see
//! benches/README.md). Prints rows/s and the ratios.
//!
//! Run: `bash benches/run.sh insert` (or `cargo bench --bench insert`).

use std::time::Instant;

const SINGLE: usize = 5_000;
const BATCHES: usize = 200;
const BATCH_ROWS: usize = 1_000;

fn row(i: usize) -> String {
    format!(
        "('B{i:08}', 'M{:07}', 'S001', TIMESTAMP '2026-05-01 21:00:00', {}.50)",
        i % 100_000,
        i % 900 + 10
    )
}

async fn cip_rates() -> (f64, f64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = cip::config::Config {
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    let engine = cip::engine::Engine::open(config).await.expect("engine");
    let ctx = engine.session().await.expect("session");
    let insert = "INSERT INTO visits (visit_id, member_id, store_id, started_at, amount) VALUES ";
    let t = Instant::now();
    for i in 0..SINGLE {
        ctx.sql(&format!("{insert}{}", row(i)))
            .await
            .expect("plan")
            .collect()
            .await
            .expect("insert");
    }
    let single = SINGLE as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for b in 0..BATCHES {
        let values: Vec<String> = (0..BATCH_ROWS)
            .map(|i| row(SINGLE + b * BATCH_ROWS + i))
            .collect();
        ctx.sql(&format!("{insert}{}", values.join(",")))
            .await
            .expect("plan")
            .collect()
            .await
            .expect("insert");
    }
    let batched = (BATCHES * BATCH_ROWS) as f64 / t.elapsed().as_secs_f64();
    (single, batched)
}

fn duckdb_rates() -> Option<(f64, f64)> {
    let script = format!(
        r#"
import duckdb, tempfile, time, os
d = tempfile.mkdtemp()
con = duckdb.connect(os.path.join(d, "bench.duckdb"))
con.execute("CREATE TABLE visits (visit_id TEXT, member_id TEXT, store_id TEXT, started_at TIMESTAMP, amount DECIMAL(10,2))")
def row(i):
    return f"('B{{i:08}}', 'M{{i % 100000:07}}', 'S001', TIMESTAMP '2026-05-01 21:00:00', {{i % 900 + 10}}.50)"
ins = "INSERT INTO visits VALUES "
t = time.time()
for i in range({SINGLE}):
    con.execute(ins + row(i))
single = {SINGLE} / (time.time() - t)
t = time.time()
for b in range({BATCHES}):
    con.execute(ins + ",".join(row({SINGLE} + b * {BATCH_ROWS} + i) for i in range({BATCH_ROWS})))
batched = {BATCHES} * {BATCH_ROWS} / (time.time() - t)
print(single, batched)
"#
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "duckdb comparison skipped: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text
        .split_whitespace()
        .filter_map(|v| v.parse::<f64>().ok());
    Some((it.next()?, it.next()?))
}

fn main() {
    // `cargo test --benches` runs bench targets with --bench absent; do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (single, batched) = rt.block_on(cip_rates());
    println!("cip    single-row INSERT (durable, fsync each): {single:>12.0} rows/s");
    println!("cip    batched INSERT ({BATCH_ROWS} rows/statement):   {batched:>12.0} rows/s");
    match duckdb_rates() {
        Some((ds, db)) => {
            println!("duckdb single-row INSERT (autocommit):        {ds:>12.0} rows/s");
            println!("duckdb batched INSERT ({BATCH_ROWS} rows/statement):   {db:>12.0} rows/s");
            println!(
                "ratio cip/duckdb: single-row {:.2}x, batched {:.2}x",
                single / ds,
                batched / db
            );
        }
        None => println!("duckdb not available: run benches/run.sh to install it"),
    }
}
