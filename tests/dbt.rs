//! dbt, as an analyst runs it: the project in tests/dbt (a seed, a view, a table and an
//! incremental model, dbt's generic tests and a custom one) through dbt-postgres against a real
//! `cip serve`: `dbt seed`, `dbt run`, `dbt test`, `dbt docs generate`, then new visits and a
//! second run that takes the incremental path. What dbt built is checked from another
//! connection and again after a restart. .ci/run installs dbt in its own virtualenv.

use crate::common;
use crate::pgwire::Server;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The dbt executable: `CIP_DBT`, else the virtualenv .ci/run makes, else `dbt` on PATH.
fn dbt_bin() -> PathBuf {
    if let Ok(bin) = std::env::var("CIP_DBT") {
        return PathBuf::from(bin);
    }
    let venv = std::env::var("HOME")
        .map(|h| Path::new(&h).join(".cache/cip-dbt/bin/dbt"))
        .unwrap_or_default();
    if venv.exists() {
        venv
    } else {
        PathBuf::from("dbt")
    }
}

/// Copies the project so dbt's target/ and logs/ stay out of the source tree.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read project") {
        let entry = entry.expect("entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).expect("copy");
        }
    }
}

fn dbt(project: &Path, port: u16, args: &[&str]) -> String {
    let out = Command::new(dbt_bin())
        .args(args)
        .args(["--no-version-check", "--no-use-colors"])
        .arg("--project-dir")
        .arg(project)
        .arg("--profiles-dir")
        .arg(project)
        .env("CIP_PORT", port.to_string())
        // No internet here; dbt would otherwise try to send usage statistics.
        .env("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        .output()
        .unwrap_or_else(|e| panic!("run dbt: {e} (.ci/run installs dbt-postgres)"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("dbt {args:?}:\n{stdout}");
    if !out.status.success() {
        let log = std::fs::read_to_string(project.join("logs/dbt.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(60).collect();
        panic!(
            "dbt {args:?} failed:\n{stdout}\n{stderr}\n-- end of logs/dbt.log:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    stdout
}

async fn one_number(client: &tokio_postgres::Client, sql: &str) -> i64 {
    let row = client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    row.get(0)
}

/// What the project built, read from a connection dbt never used.
async fn check_built(server: &Server) {
    let client = server.connect().await;
    let members_with_orders = one_number(
        &client,
        "SELECT count(DISTINCT member_id) FROM public.order_items",
    )
    .await;
    let drink_share = one_number(
        &client,
        "SELECT count(*) FROM cip.analytics.member_drink_share",
    )
    .await;
    assert_eq!(drink_share, members_with_orders);
    let days = one_number(
        &client,
        "SELECT count(DISTINCT (store_id, cast(date_trunc('day', started_at) AS date))) \
         FROM visits",
    )
    .await;
    let kept = one_number(&client, "SELECT count(*) FROM analytics.daily_store_visits").await;
    assert_eq!(kept, days, "one row per store and day with visits");
    let mismatched = one_number(
        &client,
        "SELECT count(*) FROM analytics.daily_store_visits d \
         JOIN (SELECT store_id, cast(date_trunc('day', started_at) AS date) AS visit_day, \
                      count(*) AS visits FROM visits GROUP BY 1, 2) v \
           ON v.store_id = d.store_id AND v.visit_day = d.visit_day \
         WHERE v.visits <> d.visits",
    )
    .await;
    assert_eq!(
        mismatched, 0,
        "the incremental model counts what visits hold"
    );
    let views = one_number(
        &client,
        "SELECT count(*) FROM pg_views WHERE schemaname = 'analytics' \
         AND viewname = 'stg_order_items'",
    )
    .await;
    assert_eq!(views, 1, "the view model is listed in pg_views");
    let seeded = one_number(&client, "SELECT count(*) FROM analytics.category_groups").await;
    assert_eq!(seeded, 6);
    // The model's `indexes` config: two indexes on the table swapped in, none left behind on
    // the backup dbt dropped.
    let indexed = one_number(
        &client,
        "SELECT count(*) FROM pg_indexes WHERE schemaname = 'analytics' \
         AND tablename = 'member_drink_share' AND (indexdef LIKE '%USING btree (member_id)' \
         OR indexdef LIKE '%USING brin (spend, drink_share)')",
    )
    .await;
    assert_eq!(indexed, 2, "the model's two indexes");
    let all = one_number(
        &client,
        "SELECT count(*) FROM pg_indexes WHERE schemaname = 'analytics'",
    )
    .await;
    assert_eq!(all, 2, "no index of a dropped intermediate table");
    // persist_docs: the model's and a column's descriptions, as COMMENT ON left them.
    let described = client
        .query_one(
            "SELECT obj_description('analytics.member_drink_share'::regclass, 'pg_class'), \
             col_description('analytics.member_drink_share'::regclass, 3)",
            &[],
        )
        .await
        .expect("descriptions");
    let (table, spend): (Option<String>, Option<String>) = (described.get(0), described.get(1));
    assert_eq!(
        (table.as_deref(), spend.as_deref()),
        (
            Some("Spend per member and the share of it on drinks."),
            Some("What the member's order lines came to.")
        )
    );
    // And on the view model: its description and category_group's (the fourth column).
    let described = client
        .query_one(
            "SELECT obj_description('analytics.stg_order_items'::regclass, 'pg_class'), \
             col_description('analytics.stg_order_items'::regclass, 4)",
            &[],
        )
        .await
        .expect("view descriptions");
    let (view, group): (Option<String>, Option<String>) = (described.get(0), described.get(1));
    assert_eq!(
        (view.as_deref(), group.as_deref()),
        (
            Some("Order lines with their category group."),
            Some("drinks, rooms, food or other (from the category_groups seed)")
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dbt_seed_run_test_docs_and_incremental_run() {
    let data = tempfile::tempdir().expect("tempdir");
    common::generate(data.path(), 1500, 31);
    let work = tempfile::tempdir().expect("tempdir");
    let project = work.path().join("project");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dbt"),
        &project,
    );
    let server = Server::start(data.path());
    let port = server.port;
    let p = project.clone();
    let run = move |args: &'static [&'static str]| {
        let p = p.clone();
        tokio::task::spawn_blocking(move || dbt(&p, port, args))
    };
    run(&["seed"]).await.expect("seed");
    let first = run(&["run"]).await.expect("run");
    assert!(first.contains("Completed successfully"), "{first}");
    run(&["test"]).await.expect("test");
    run(&["docs", "generate"]).await.expect("docs");
    let catalog = std::fs::read_to_string(project.join("target/catalog.json")).expect("catalog");
    for node in [
        "model.cip_analytics.member_drink_share",
        "model.cip_analytics.stg_order_items",
        "seed.cip_analytics.category_groups",
    ] {
        assert!(catalog.contains(node), "docs catalog lacks {node}");
    }
    assert!(
        catalog.contains("drink_share"),
        "docs catalog lists columns"
    );
    check_built(&server).await;

    // New visits on the day after the newest: the second run takes the incremental path
    // (delete the days it re-reads, insert them again) and dbt's tests still hold.
    let client = server.connect().await;
    client
        .batch_execute(
            "INSERT INTO visits (visit_id, member_id, store_id, started_at, amount) \
             SELECT 'dbt-' || member_id, member_id, store_id, \
                    (SELECT max(started_at) FROM visits) + INTERVAL '1 day', 88.00 \
             FROM members ORDER BY member_id LIMIT 25",
        )
        .await
        .expect("new visits");
    // The table and view models are replaced this time (dbt's rename to a backup, rename
    // into place, drop of the backup).
    let again = run(&["run"]).await.expect("second run");
    assert!(
        again.contains("INSERT 0"),
        "the incremental model inserted: {again}"
    );
    run(&["test"])
        .await
        .expect("test after the incremental run");
    check_built(&server).await;

    // The model gains a column: dbt adds it to the table (on_schema_change:
    // append_new_columns) and fills it for the days it re-reads; older days keep NULL.
    let grown = run(&["run", "--vars", "{with_members: true}"])
        .await
        .expect("run with a new column");
    assert!(grown.contains("Completed successfully"), "{grown}");
    let filled = one_number(
        &client,
        "SELECT count(*) FROM analytics.daily_store_visits WHERE members > 0",
    )
    .await;
    let newest = one_number(
        &client,
        "SELECT count(*) FROM analytics.daily_store_visits \
         WHERE visit_day = (SELECT max(visit_day) FROM analytics.daily_store_visits)",
    )
    .await;
    assert!(
        filled > 0 && filled == newest,
        "{filled} of {newest} filled"
    );
    check_built(&server).await;

    drop(client);
    drop(server);
    let server = Server::start(data.path());
    check_built(&server).await;
}
