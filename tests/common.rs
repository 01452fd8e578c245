//! Helpers shared by the integration tests.

use cip::config::Config;
use cip::engine::Engine;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub fn cip_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cip"))
}

/// Runs `cip --data DIR args…` and returns its output.
pub fn cip(data: &Path, args: &[&str]) -> Output {
    Command::new(cip_bin())
        .arg("--data")
        .arg(data)
        .args(args)
        .env("CIP_LOG", "warn")
        .output()
        .expect("run cip")
}

/// Runs `cip --data DIR sql -c SQL` and returns what it printed, failing on an error.
pub fn sql(data: &Path, sql: &str) -> String {
    let o = cip(data, &["sql", "-c", sql]);
    assert!(o.status.success(), "{sql}: {}", stderr(&o));
    stdout(&o)
}

/// `cip generate --members N --seed S --until 2026-10-31 --out DIR`, failing on an error.
pub fn generate(out: &Path, members: u32, seed: u32) {
    generate_venue(out, members, seed, "ktv", 1.0)
}

/// A generated chain of a kind of venue (`cip generate --venue`), priced × `price_scale`.
pub fn generate_venue(out: &Path, members: u32, seed: u32, venue: &str, price_scale: f64) {
    let o = Command::new(cip_bin())
        .args([
            "generate",
            "--members",
            &members.to_string(),
            "--seed",
            &seed.to_string(),
            "--venue",
            venue,
            "--price-scale",
            &price_scale.to_string(),
        ])
        .args(["--until", "2026-10-31", "--out"])
        .arg(out)
        .env("CIP_LOG", "warn")
        .output()
        .expect("run cip generate");
    assert!(o.status.success(), "generate: {}", stderr(&o));
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A config for a test: its own data directory, the repository's queries/.
pub fn config(data: &Path) -> Config {
    Config {
        data_dir: data.to_path_buf(),
        queries_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("queries"),
        ..Config::default()
    }
}

pub async fn engine(data: &Path) -> Engine {
    Engine::open(config(data)).await.expect("open engine")
}

/// Runs one query in a session and returns the rows as text.
pub async fn rows(ctx: &datafusion::prelude::SessionContext, sql: &str) -> Vec<Vec<String>> {
    let batches = ctx
        .sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    to_text(&batches)
}

pub fn to_text(batches: &[datafusion::arrow::record_batch::RecordBatch]) -> Vec<Vec<String>> {
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let opts = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for b in batches {
        let fmts: Vec<_> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).expect("formatter"))
            .collect();
        for r in 0..b.num_rows() {
            out.push(fmts.iter().map(|f| f.value(r).to_string()).collect());
        }
    }
    out
}

pub fn count(ctx_rows: &[Vec<String>]) -> i64 {
    ctx_rows[0][0].parse().expect("a count")
}

/// `cip --config CFG --data DATA serve` with pgwire and HTTP on ports it picks: (the process,
/// HTTP port, PostgreSQL port). Its stderr is drained (and echoed when CIP_TEST_LOG is set).
pub fn serve_http(data: &Path, cfg: &Path) -> (Child, u16, u16) {
    let mut child = Command::new(cip_bin())
        .arg("--config")
        .arg(cfg)
        .arg("--data")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .env(
            "CIP_LOG",
            std::env::var("CIP_TEST_LOG").unwrap_or("warn".into()),
        )
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn cip serve");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let (mut http, mut pg) = (None, None);
    while http.is_none() || pg.is_none() {
        let line = lines
            .next()
            .expect("cip serve exited")
            .expect("read stderr");
        let port = |addr: &str| addr.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
        if let Some(a) = line.strip_prefix("listening: http://") {
            http = port(a);
        } else if let Some(a) = line.strip_prefix("listening: postgresql://") {
            pg = port(a);
        }
    }
    let echo = std::env::var("CIP_TEST_LOG").is_ok();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if echo {
                eprintln!("[cip] {line}");
            }
        }
    });
    (child, http.expect("http port"), pg.expect("pg port"))
}
