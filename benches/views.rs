//! The analytical views against DuckDB running the same SQL on the same Parquet files, in the
//! same run: campaign_members (each member's way down a campaign's funnel), campaign_performance
//! (the funnel per campaign and variant, the holdout comparison) and customer_tags (read from
//! the member_scores snapshot). DuckDB is given the view files of queries/ as they are, with
//! three things cip has and DuckDB lacks written as macros: business_date (ts minus the day
//! cut-off, as a date), cip_as_of() (the bench's as-of date) and normal_cdf (Abramowitz &
//! Stegun 7.1.26, |error| < 1.5e-7); and the aggregate `min_by(x, y)`, which DuckDB spells
//! `arg_min_null` (its own min_by skips rows whose x is NULL). Both sides collect every row;
//! each prints a checksum of what it got. The two sides' runs alternate (`CIP_BENCH_RUNS`
//! pairs, default 5): on a shared VM the speed drifts by tens of percent over minutes, and a
//! block of one side's runs followed by a block of the other's measured the drift. Printed:
//! best against best, the median of the pairs' ratios, and each side's median CPU seconds.
//!
//! Data: `CIP_BENCH_DATA=DIR` uses a chain already there (checkpointed first, so DuckDB sees
//! every row); otherwise `cip generate` writes `CIP_BENCH_MEMBERS` members (default 1,000,000)
//! and `cip score --into-warehouse` stores the snapshot. The as-of date is the snapshot's.
//!
//! Run: `bash benches/run.sh views`.

#[path = "common/run.rs"]
mod run;

use datafusion::arrow::array::RecordBatch;
use run::{cip, setting};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const UNTIL: &str = "2026-10-31";

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

/// CPU seconds (user + system) this process has used so far, all threads.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut u = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// One timed run: wall and CPU seconds.
#[derive(Clone, Copy)]
struct Run {
    wall: f64,
    cpu: f64,
}

/// cip in this process: a session on the chain, as of the snapshot's day.
struct Cip {
    ctx: datafusion::prelude::SessionContext,
}

impl Cip {
    async fn open(data: &Path, as_of: &str) -> Self {
        let config = cip::config::Config {
            data_dir: data.to_path_buf(),
            ..Default::default()
        };
        let engine = cip::engine::Engine::open(config).await.expect("engine");
        let ctx = engine.session().await.expect("session");
        collect(&ctx, &format!("SET cip.as_of = '{as_of}'")).await;
        Cip { ctx }
    }

    async fn run(&self, view: &str) -> Run {
        let (t, c) = (Instant::now(), cpu_seconds());
        collect(&self.ctx, &format!("SELECT * FROM {view}")).await;
        Run {
            wall: t.elapsed().as_secs_f64(),
            cpu: cpu_seconds() - c,
        }
    }

    async fn checksum(&self, check: &str) -> String {
        let sums = datafusion::arrow::util::pretty::pretty_format_batches(
            &collect(&self.ctx, check).await,
        )
        .expect("format")
        .to_string();
        let line = sums.lines().nth(3).unwrap_or_default();
        let cells: Vec<&str> = line
            .split('|')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        cells.join(" | ")
    }
}

/// DuckDB in a Python process kept open, so its runs can alternate with cip's: it reads a
/// line "run VIEW" (answering "wall cpu" seconds) or "check VIEW" (answering the checksum).
struct Duck {
    child: Child,
    to: ChildStdin,
    from: BufReader<ChildStdout>,
}

impl Duck {
    fn start(data: &Path, as_of: &str) -> Self {
        let cutoff = cip::config::Config::default()
            .day_cutoff_minutes()
            .expect("cutoff");
        let views = [
            include_str!("../queries/16_campaign_members.sql").replace("min_by(", "arg_min_null("),
            include_str!("../queries/17_campaign_performance.sql").to_string(),
            include_str!("../queries/10_customer_tags.sql").to_string(),
        ];
        let checks: serde_json::Map<String, serde_json::Value> = VIEWS
            .iter()
            .map(|(v, c)| (v.to_string(), serde_json::json!(c)))
            .collect();
        let script = format!(
            r#"
import duckdb, json, os, resource, sys, time
data = {data}
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
for t in ["campaign_tracking", "campaign_audience", "campaigns", "visits", "member_scores"]:
    m = json.load(open(os.path.join(data, t, "_manifest.json")))
    wal = os.path.join(data, t, m.get("wal") or "")
    if m.get("wal") and os.path.exists(wal) and os.path.getsize(wal) > 0:
        print("WARNING: rows of", t, "in its log are not in Parquet", file=sys.stderr)
    files = [os.path.join(data, t, f["name"]) for f in m["files"]]
    con.execute(f"CREATE VIEW {{t}} AS SELECT * FROM read_parquet({{files!r}})")
con.execute("CREATE MACRO business_date(ts) AS CAST(ts - INTERVAL {cutoff} MINUTE AS DATE)")
con.execute("CREATE MACRO cip_as_of() AS DATE '{as_of}'")
con.execute("CREATE MACRO erf_t(z, t) AS 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * exp(-z * z)")
con.execute("CREATE MACRO normal_cdf(x) AS CASE WHEN x >= 0 THEN 0.5 * (1 + erf_t(x / sqrt(2), 1 / (1 + 0.3275911 * x / sqrt(2)))) ELSE 0.5 * (1 - erf_t(-x / sqrt(2), 1 / (1 - 0.3275911 * x / sqrt(2)))) END")
for v in {views}:
    con.execute(v)
checks = {checks}
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
print("ready", flush=True)
for line in sys.stdin:
    what, name = line.split()
    if what == "check":
        print(" | ".join(str(x) for x in con.execute(checks[name]).fetchall()[0]), flush=True)
        continue
    t, c = time.time(), cpu()
    con.sql(f"SELECT * FROM {{name}}").to_arrow_table()
    print(time.time() - t, cpu() - c, flush=True)
"#,
            // JSON strings are Python string literals.
            data = serde_json::json!(data.display().to_string()),
            views = serde_json::json!(views),
            checks = serde_json::Value::Object(checks),
        );
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let to = child.stdin.take().expect("stdin");
        let mut from = BufReader::new(child.stdout.take().expect("stdout"));
        let mut ready = String::new();
        from.read_line(&mut ready).expect("DuckDB's script");
        assert_eq!(ready.trim(), "ready", "DuckDB's script did not start");
        Duck { child, to, from }
    }

    /// DuckDB's answer to one line sent.
    fn ask(&mut self, line: &str) -> String {
        writeln!(self.to, "{line}").expect("to DuckDB");
        let mut answer = String::new();
        self.from.read_line(&mut answer).expect("from DuckDB");
        answer.trim().to_string()
    }

    /// One run of `view`.
    fn run(&mut self, view: &str) -> Run {
        let answer = self.ask(&format!("run {view}"));
        let parsed = answer.split_once(' ').and_then(|(wall, cpu)| {
            Some(Run {
                wall: wall.parse().ok()?,
                cpu: cpu.parse().ok()?,
            })
        });
        parsed.unwrap_or_else(|| panic!("DuckDB printed {answer:?} for {view}"))
    }

    /// DuckDB's checksum of `view`, asked once after its runs.
    fn checksum(&mut self, view: &str) -> String {
        self.ask(&format!("check {view}"))
    }
}

impl Drop for Duck {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Each view `runs` times on each side, the two alternating run by run (and which goes first
/// alternating too), so that the machine's drift over minutes falls on both alike.
async fn compare(cip: &Cip, duck: &mut Duck, runs: usize) {
    for (view, check) in VIEWS {
        let mut pairs: Vec<(Run, Run)> = Vec::new();
        for i in 0..runs {
            pairs.push(if i % 2 == 0 {
                let ours = cip.run(view).await;
                (ours, duck.run(view))
            } else {
                let theirs = duck.run(view);
                (cip.run(view).await, theirs)
            });
        }
        let best = |f: fn(&(Run, Run)) -> f64| pairs.iter().map(f).fold(f64::MAX, f64::min);
        let (c, d) = (best(|p| p.0.wall), best(|p| p.1.wall));
        let wall_ratio = median(pairs.iter().map(|(a, b)| a.wall / b.wall).collect());
        let (cc, dc) = (
            median(pairs.iter().map(|p| p.0.cpu).collect()),
            median(pairs.iter().map(|p| p.1.cpu).collect()),
        );
        println!(
            "{view:<22} cip {c:>7.3} s  DuckDB {d:>7.3} s  best of {runs}: {:.2}x; \
             median of the {runs} pairs' ratios {wall_ratio:.2}x; \
             CPU median cip {cc:.2} s DuckDB {dc:.2} s: {:.2}x",
            c / d,
            cc / dc
        );
        println!("  cip    {}", cip.checksum(check).await);
        println!("  DuckDB {}", duck.checksum(view));
    }
}

#[tokio::main]
async fn main() {
    cip::allocator::tune();
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, as_of) = chain(dir.path());
    println!("data {}, as of {as_of}", data.display());
    let cip = Cip::open(&data, &as_of).await;
    let mut duck = Duck::start(&data, &as_of);
    compare(
        &cip,
        &mut duck,
        setting("CIP_BENCH_RUNS", 5).max(1) as usize,
    )
    .await;
}
