//! The analytical views against DuckDB running the same SQL on the same Parquet files, in the
//! same run: campaign_members (each member's way down a campaign's funnel), campaign_performance
//! (the funnel per campaign and variant, the holdout comparison) and customer_tags (read from
//! the member_scores snapshot). DuckDB is given the view files of queries/ as they are, with
//! three things cip has and DuckDB lacks written as macros: business_date (ts minus the day
//! cut-off, as a date), cip_as_of() (the bench's as-of date) and normal_cdf (Abramowitz &
//! Stegun 7.1.26, |error| < 1.5e-7); and the aggregate `min_by(x, y)`, which DuckDB spells
//! `arg_min_null` (its own min_by skips rows whose x is NULL). Both sides collect every row;
//! each prints a checksum of what it got.
//!
//! Data: `CIP_BENCH_DATA=DIR` uses a chain already there (checkpointed first, so DuckDB sees
//! every row); otherwise `cip generate` writes `CIP_BENCH_MEMBERS` members (default 1,000,000)
//! and `cip score --into-warehouse` stores the snapshot. The as-of date is the snapshot's.
//!
//! Run: `bash benches/run.sh views`.

#[path = "common/run.rs"]
mod run;

use datafusion::arrow::array::RecordBatch;
use run::{cip, python};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const UNTIL: &str = "2026-10-31";
const RUNS: usize = 5;

/// The views timed, each with the query whose rows are collected and the checksum query
/// both sides run over the same view.
const VIEWS: [(&str, &str); 3] = [
    (
        "campaign_members",
        "SELECT count(*), sum(CASE WHEN sent THEN 1 ELSE 0 END), \
         sum(CASE WHEN converted THEN 1 ELSE 0 END), CAST(sum(revenue) AS DOUBLE), \
         CAST(sum(cost) AS DOUBLE) FROM campaign_members",
    ),
    (
        "campaign_performance",
        "SELECT count(*), sum(sent), sum(converted), CAST(sum(revenue) AS DOUBLE), \
         sum(treatment_members), sum(holdout_members), round(sum(visit_lift), 9), \
         round(sum(p_value), 6) FROM campaign_performance",
    ),
    (
        "customer_tags",
        "SELECT count(*), sum(cardinality(behavior_tags)), sum(cardinality(preference_tags)), \
         sum(cardinality(value_tags)) FROM customer_tags",
    ),
];

/// The chain to run on, and the snapshot's as-of date.
fn chain(dir: &Path) -> (PathBuf, String) {
    let data = match std::env::var_os("CIP_BENCH_DATA") {
        Some(d) => {
            let data = PathBuf::from(d);
            cip(&data, &["checkpoint"]);
            data
        }
        None => {
            let data = dir.join("chain");
            let members = std::env::var("CIP_BENCH_MEMBERS").unwrap_or("1000000".into());
            let t = Instant::now();
            cip(
                &data,
                &[
                    "generate",
                    "--members",
                    &members,
                    "--seed",
                    "3",
                    "--until",
                    UNTIL,
                    "--out",
                    &data.to_string_lossy(),
                ],
            );
            cip(&data, &["checkpoint"]);
            cip(
                &data,
                &["score", "--into-warehouse", "--as-of", UNTIL, "--quiet"],
            );
            println!(
                "generated and scored {members} members in {:.0} s",
                t.elapsed().as_secs_f64()
            );
            data
        }
    };
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("_member_scores.json"))
            .expect("no member_scores snapshot: run cip score --into-warehouse"),
    )
    .expect("snapshot metadata");
    let as_of = meta["as_of"].as_str().expect("as_of").to_string();
    (data, as_of)
}

async fn collect(ctx: &datafusion::prelude::SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql)
        .await
        .expect("plan")
        .collect()
        .await
        .expect("run")
}

/// cip's best time of `RUNS` for each view, and the checksums.
async fn cip_times(data: &Path, as_of: &str) -> Vec<(f64, String)> {
    let config = cip::config::Config {
        data_dir: data.to_path_buf(),
        ..Default::default()
    };
    let engine = cip::engine::Engine::open(config).await.expect("engine");
    let ctx = engine.session().await.expect("session");
    collect(&ctx, &format!("SET cip.as_of = '{as_of}'")).await;
    let mut out = Vec::new();
    for (view, check) in VIEWS {
        let mut best = f64::MAX;
        for _ in 0..RUNS {
            let t = Instant::now();
            collect(&ctx, &format!("SELECT * FROM {view}")).await;
            best = best.min(t.elapsed().as_secs_f64());
        }
        let sums =
            datafusion::arrow::util::pretty::pretty_format_batches(&collect(&ctx, check).await)
                .expect("format")
                .to_string();
        let line = sums.lines().nth(3).unwrap_or_default();
        let cells: Vec<&str> = line
            .split('|')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        let line = cells.join(" | ");
        out.push((best, line));
    }
    out
}

/// DuckDB's best times and checksums, one line per view.
fn duckdb_times(data: &Path, as_of: &str) -> Vec<(f64, String)> {
    let cutoff = cip::config::Config::default()
        .day_cutoff_minutes()
        .expect("cutoff");
    let views = [
        include_str!("../queries/16_campaign_members.sql").replace("min_by(", "arg_min_null("),
        include_str!("../queries/17_campaign_performance.sql").to_string(),
        include_str!("../queries/10_customer_tags.sql").to_string(),
    ];
    let checks: Vec<&str> = VIEWS.iter().map(|(_, c)| *c).collect();
    let names: Vec<&str> = VIEWS.iter().map(|(v, _)| *v).collect();
    let script = format!(
        r#"
import duckdb, json, os, time
data = {data}
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
for t in ["campaign_tracking", "campaign_audience", "campaigns", "visits", "member_scores"]:
    m = json.load(open(os.path.join(data, t, "_manifest.json")))
    wal = os.path.join(data, t, m.get("wal") or "")
    if m.get("wal") and os.path.exists(wal) and os.path.getsize(wal) > 0:
        print("WARNING: rows of", t, "in its log are not in Parquet")
    files = [os.path.join(data, t, f["name"]) for f in m["files"]]
    con.execute(f"CREATE VIEW {{t}} AS SELECT * FROM read_parquet({{files!r}})")
con.execute("CREATE MACRO business_date(ts) AS CAST(ts - INTERVAL {cutoff} MINUTE AS DATE)")
con.execute("CREATE MACRO cip_as_of() AS DATE '{as_of}'")
con.execute("CREATE MACRO erf_t(z, t) AS 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * exp(-z * z)")
con.execute("CREATE MACRO normal_cdf(x) AS CASE WHEN x >= 0 THEN 0.5 * (1 + erf_t(x / sqrt(2), 1 / (1 + 0.3275911 * x / sqrt(2)))) ELSE 0.5 * (1 - erf_t(-x / sqrt(2), 1 / (1 - 0.3275911 * x / sqrt(2)))) END")
for v in {views}:
    con.execute(v)
for name, check in zip({names}, {checks}):
    best = 1e9
    for _ in range({RUNS}):
        t = time.time()
        con.sql(f"SELECT * FROM {{name}}").to_arrow_table()
        best = min(best, time.time() - t)
    print(best, "|", " | ".join(str(x) for x in con.execute(check).fetchall()[0]))
"#,
        // JSON strings are Python string literals.
        data = serde_json::json!(data.display().to_string()),
        views = serde_json::json!(views),
        names = serde_json::json!(names),
        checks = serde_json::json!(checks),
    );
    let printed = python(&script);
    let lines: Vec<(f64, String)> = printed
        .lines()
        .filter_map(|l| {
            if l.starts_with("WARNING") {
                println!("{l}");
                return None;
            }
            let (t, sums) = l.split_once(" | ")?;
            Some((t.trim().parse().ok()?, sums.to_string()))
        })
        .collect();
    assert_eq!(lines.len(), VIEWS.len(), "DuckDB printed:\n{printed}");
    lines
}

#[tokio::main]
async fn main() {
    cip::allocator::tune();
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, as_of) = chain(dir.path());
    println!("data {}, as of {as_of}", data.display());
    let ours = cip_times(&data, &as_of).await;
    let theirs = duckdb_times(&data, &as_of);
    for (((view, _), (c, csum)), (d, dsum)) in VIEWS.iter().zip(&ours).zip(&theirs) {
        println!(
            "{view:<22} cip {c:>7.3} s  DuckDB {d:>7.3} s  cip takes {:.2}x DuckDB's time (best of {RUNS})",
            c / d
        );
        println!("  cip    {}", csum.trim());
        println!("  DuckDB {dsum}");
    }
}
