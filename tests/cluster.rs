//! The same SQL on a Ballista cluster (issue 20, part 4): a scheduler and two executors as
//! separate `cip cluster` processes on ports the test picked; customer_segments,
//! customer_tags, campaign_performance and `cip score` give the local engine's rows.

use crate::common;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the cluster's processes when the test ends, however it ends.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Free ports, held open together so they differ, then released for the processes.
fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect()
}

fn spawn(args: &[String]) -> Child {
    Command::new(common::cip_bin())
        .args(args)
        .env(
            "CIP_LOG",
            std::env::var("CIP_TEST_LOG").unwrap_or("warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(if std::env::var("CIP_TEST_LOG").is_ok() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("spawn cip cluster")
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A scheduler and two executors; returns them and the scheduler's df:// URL.
fn start_cluster(work: &Path) -> (Processes, String) {
    let p = free_ports(5);
    let mut procs = Processes(vec![spawn(&[
        "cluster".into(),
        "scheduler".into(),
        "--bind".into(),
        format!("127.0.0.1:{}", p[0]),
    ])]);
    wait_for_port(p[0]);
    for (i, (flight, grpc)) in [(p[1], p[2]), (p[3], p[4])].into_iter().enumerate() {
        procs.0.push(spawn(&[
            "cluster".into(),
            "executor".into(),
            "--scheduler".into(),
            format!("127.0.0.1:{}", p[0]),
            "--bind".into(),
            format!("127.0.0.1:{flight}"),
            "--grpc-bind".into(),
            format!("127.0.0.1:{grpc}"),
            "--work-dir".into(),
            work.join(format!("executor{i}")).display().to_string(),
            "--concurrent-tasks".into(),
            "2".into(),
        ]));
        wait_for_port(flight);
        wait_for_port(grpc);
    }
    (procs, format!("df://127.0.0.1:{}", p[0]))
}

/// The cells of what `cip sql` printed (a psql-like table), row by row.
fn cells(printed: &str) -> Vec<Vec<String>> {
    printed
        .lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// Equal tables: text exactly, numbers to 1e-9 relative (sums may add in another order on
/// the cluster's partitions).
fn assert_same(what: &str, local: &[Vec<String>], cluster: &[Vec<String>]) {
    assert_eq!(local.len(), cluster.len(), "{what}: row counts differ");
    for (l, c) in local.iter().zip(cluster) {
        assert_eq!(l.len(), c.len(), "{what}: {l:?} against {c:?}");
        for (a, b) in l.iter().zip(c) {
            let same = match (a.parse::<f64>(), b.parse::<f64>()) {
                (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
                _ => a == b,
            };
            assert!(same, "{what}: {l:?} against {c:?}");
        }
    }
}

fn cluster_sql(data: &Path, url: &str, sql: &str) -> String {
    let o = common::cip(data, &["--cluster", url, "sql", "-c", sql]);
    assert!(o.status.success(), "{sql}: {}", common::stderr(&o));
    common::stdout(&o)
}

#[test]
fn cluster_runs_the_views_and_score_as_the_local_engine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    common::generate(&data, 1500, 31);
    let (_cluster, url) = start_cluster(dir.path());

    // The cluster first: the day's fits are made there (fit_<model> on the executors) and
    // stored locally, so the local engine below reads the same ones.
    let segments = "SELECT member_id, segment_id, segment_name, r_score, f_score, m_score, \
                    clv_rank, expected_clv, p_alive, reason FROM customer_segments \
                    ORDER BY member_id";
    let on_cluster = cluster_sql(&data, &url, segments);
    let stored = common::sql(
        &data,
        "SELECT count(*) AS fits FROM model_fits \
         WHERE model IN ('pnbd', 'mbgnbd', 'gamma_gamma', 'population')",
    );
    assert!(stored.contains("| 4    |"), "{stored}");
    let local = common::sql(&data, segments);
    let rows = cells(&local);
    assert!(rows.len() > 1000, "{local}");
    assert_same("customer_segments", &rows, &cells(&on_cluster));

    let tags = "SELECT member_id, behavior_tags, preference_tags, value_tags FROM customer_tags \
                ORDER BY member_id";
    assert_same(
        "customer_tags",
        &cells(&common::sql(&data, tags)),
        &cells(&cluster_sql(&data, &url, tags)),
    );

    // A view with uncorrelated scalar subqueries (each run once: ScalarSubqueryExec) plans and
    // runs there too.
    let campaigns = "SELECT * FROM campaign_performance ORDER BY campaign_id, variant";
    let local = cells(&common::sql(&data, campaigns));
    // the header and at least one campaign's rows
    assert!(local.len() > 2, "{local:?}");
    assert_same(
        "campaign_performance",
        &local,
        &cells(&cluster_sql(&data, &url, campaigns)),
    );

    // cip score: the same file either way.
    let (a, b) = (
        dir.path().join("local.parquet"),
        dir.path().join("cluster.parquet"),
    );
    let o = common::cip(
        &data,
        &["score", "--quiet", "--out", &a.display().to_string()],
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    let o = common::cip(
        &data,
        &[
            "--cluster",
            &url,
            "score",
            "--quiet",
            "--out",
            &b.display().to_string(),
        ],
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    let read = |f: &Path| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let ctx = datafusion::prelude::SessionContext::new();
            let df = ctx
                .read_parquet(f.display().to_string(), Default::default())
                .await
                .expect("read scores")
                .sort(vec![datafusion::prelude::col("member_id").sort(true, false)])
                .expect("sort");
            common::to_text(&df.collect().await.expect("collect"))
        })
    };
    let scored = read(&a);
    assert!(scored.len() > 1000);
    assert_same("cip score", &scored, &read(&b));

    // Writes stay local: refused with 0A000, nothing changed.
    let o = common::cip(
        &data,
        &["--cluster", &url, "sql", "-c", "DELETE FROM visits"],
    );
    assert!(!o.status.success());
    assert!(
        common::stderr(&o).contains("0A000"),
        "{}",
        common::stderr(&o)
    );
    assert!(!common::sql(&data, "SELECT count(*) AS n FROM visits").contains("| 0 |"));
    let o = common::cip(&data, &["--cluster", &url, "score", "--into-warehouse"]);
    assert!(!o.status.success() && common::stderr(&o).contains("0A000"));
}

#[test]
fn an_unreachable_cluster_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    common::generate(&data, 50, 3);
    let port = free_ports(1)[0];
    let o = common::cip(
        &data,
        &[
            "--cluster",
            &format!("df://127.0.0.1:{port}"),
            "sql",
            "-c",
            "SELECT count(*) FROM members",
        ],
    );
    assert!(!o.status.success());
    assert!(
        common::stderr(&o).contains("SQLSTATE"),
        "{}",
        common::stderr(&o)
    );
}
