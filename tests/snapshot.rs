//! member_scores, the stored snapshot (issue 20), over pgwire on a generated chain: `cip serve`
//! builds it before accepting connections; it holds the live view's figures for every member;
//! a lookup reads its Parquet part; a write to a table the view reads sends the answers back
//! to the live computation until the next refresh, and `cip score --into-warehouse` from
//! another process is seen at once.

use crate::common;
use crate::pgwire::Server;
use tokio_postgres::Client;

async fn plan(c: &Client, sql: &str) -> String {
    let rows = c
        .simple_query(&format!("EXPLAIN {sql}"))
        .await
        .expect("explain");
    rows.iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                (0..r.len())
                    .filter_map(|i| r.get(i))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `sql` reads the snapshot's Parquet parts alone (not the live view's plan, nor the
/// union of both that answers while the snapshot catches up with new rows).
async fn from_snapshot(c: &Client, sql: &str) -> bool {
    let plan = plan(c, sql).await;
    plan.contains("member_scores/part-") && !plan.contains("UnionExec")
}

/// Waits (at most a minute) until `sql` reads the snapshot.
async fn until_from_snapshot(c: &Client, sql: &str) {
    let started = std::time::Instant::now();
    while !from_snapshot(c, sql).await {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the snapshot did not catch up within a minute"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn count(c: &Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.expect(sql).get(0)
}

/// Members whose row in `relation` differs from the one its live view computes now: text
/// and integer columns exactly, figures within 1e-9 (relative) — an aggregate's sum over
/// partitions may add in another order on another run.
async fn differing(c: &Client, relation: &str) -> i64 {
    let live = format!("{relation}_live");
    let columns: Vec<(String, String)> = c
        .query(
            "SELECT column_name, data_type FROM information_schema.columns \
             WHERE table_name = $1 ORDER BY ordinal_position",
            &[&live],
        )
        .await
        .expect("columns")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(columns.len() > 20, "{columns:?}");
    let differs: Vec<String> = columns
        .iter()
        .filter(|(name, _)| name != "member_id")
        .map(|(name, ty)| {
            if ty == "Float64" || ty == "double precision" {
                format!(
                    "(s.{name} IS NULL) <> (l.{name} IS NULL) OR \
                     abs(s.{name} - l.{name}) > 1e-9 * greatest(1.0, abs(l.{name}))"
                )
            } else {
                format!("s.{name} IS DISTINCT FROM l.{name}")
            }
        })
        .collect();
    let sql = format!(
        "SELECT count(*) FROM {relation} s FULL JOIN {live} l ON s.member_id = l.member_id \
         WHERE s.member_id IS NULL OR l.member_id IS NULL OR {}",
        differs.join(" OR ")
    );
    count(c, &sql).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_snapshot_equals_the_live_view_and_follows_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    common::generate(dir.path(), 3000, 17);
    // The snapshot in parts of 500 members (no compaction of them here): a catch-up rewrites
    // only the parts holding the members it rescores.
    let cfg_dir = tempfile::tempdir().expect("tempdir");
    let cfg = cfg_dir.path().join("cip.toml");
    std::fs::write(
        &cfg,
        "[storage]\npoint_read_part_rows = 500\nmax_parts = 64\n",
    )
    .expect("config");
    let converted = "SELECT count(*) FROM campaign_tracking WHERE status = 'converted'";
    let generated = shown_number(&common::sql(dir.path(), converted)).expect("a count");
    let server = Server::start_with(dir.path(), &["--config", cfg.to_str().expect("path")]);
    let c = server.connect().await;
    // The conversions the generated history owes are attributed before the snapshot is built
    // (appended after it, they would make it stale the moment the server listens).
    assert!(count(&c, converted).await > generated, "{generated}");
    let parts = snapshot_parts(dir.path());
    assert!(parts.len() >= 5, "{parts:?}");
    let m: String = c
        .query_one("SELECT min(member_id) FROM member_scores", &[])
        .await
        .expect("a member")
        .get(0);
    let lookup = &format!("SELECT * FROM member_scores WHERE member_id = '{m}'");
    assert!(
        from_snapshot(&c, lookup).await,
        "{}",
        plan(&c, lookup).await
    );
    let members = count(&c, "SELECT count(*) FROM member_scores").await;
    let active = count(&c, "SELECT count(*) FROM members WHERE status = 'active'").await;
    assert_eq!(members, active);
    assert!(members > 2500, "{members}");
    assert_eq!(differing(&c, "member_scores").await, 0);
    assert_eq!(differing(&c, "customer_segments").await, 0);
    let dated = "SELECT count(*) FROM member_scores WHERE as_of IS DISTINCT FROM cip_as_of()";
    assert_eq!(count(&c, dated).await, 0);
    // customer_segments (what the HTTP API's per-member endpoint reads) and customer_tags
    // read the snapshot too.
    let segment = &format!("SELECT * FROM customer_segments WHERE member_id = '{m}'");
    assert!(from_snapshot(&c, segment).await);
    assert!(from_snapshot(&c, "SELECT * FROM customer_tags").await);

    // A visit now: the member's figures follow at once (computed live until the server's
    // watcher has rescored the member), and the snapshot is current again moments later,
    // without a refresh of everyone.
    c.batch_execute(&format!(
        "INSERT INTO visits (visit_id, member_id, store_id, started_at, amount) \
         VALUES ('snapshot-test', '{m}', 'S001', now(), 321.00)"
    ))
    .await
    .expect("insert visit");
    // Another member's lookup reads the snapshot alone, caught up or not: the new row does
    // not name them.
    let other: String = c
        .query_one("SELECT max(member_id) FROM member_scores", &[])
        .await
        .expect("a member")
        .get(0);
    let other_lookup = format!("SELECT * FROM member_scores WHERE member_id = '{other}'");
    assert!(from_snapshot(&c, &other_lookup).await);
    let recency: Option<i64> = c
        .query_one(
            &format!("SELECT recency_days FROM member_scores WHERE member_id = '{m}'"),
            &[],
        )
        .await
        .expect("lookup")
        .get(0);
    assert_eq!(recency, Some(0));
    until_from_snapshot(&c, lookup).await;
    assert!(from_snapshot(&c, segment).await);
    assert_eq!(differing(&c, "member_scores").await, 0);
    assert_eq!(differing(&c, "customer_segments").await, 0);

    // A burst: a new member, visits and order items of forty others, a tracking event.
    c.batch_execute(
        "INSERT INTO members (member_id, name, phone, store_id, tier, status, registered_at, points, marketing_consent) \
         VALUES ('SNAP-NEW', '新', '13900000000', 'S001', 'basic', 'active', now(), 0, true); \
         INSERT INTO visits (visit_id, member_id, store_id, started_at, amount) \
         SELECT 'burst-' || member_id, member_id, 'S001', now(), 88.00 \
         FROM (SELECT member_id FROM members WHERE status = 'active' ORDER BY member_id DESC LIMIT 40); \
         INSERT INTO order_items (visit_id, member_id, category, item, quantity, amount) \
         SELECT 'burst-' || member_id, member_id, 'beer', '啤酒', 4, 88.00 \
         FROM (SELECT member_id FROM members WHERE status = 'active' ORDER BY member_id DESC LIMIT 40);",
    )
    .await
    .expect("burst");
    until_from_snapshot(&c, lookup).await;
    assert_eq!(differing(&c, "member_scores").await, 0);
    assert_eq!(differing(&c, "customer_segments").await, 0);
    assert_eq!(
        count(&c, "SELECT count(*) FROM member_scores").await,
        active + 1
    );

    // An UPDATE and a DELETE through the server are followed as well: the catch-up rescores
    // only the members they name, before and after. The refresh is sent with the write, ahead
    // of the watcher (which waits 100 ms for a burst), so it is the one that catches up.
    let burst_member: String = c
        .query_one(
            "SELECT min(member_id) FROM visits WHERE visit_id LIKE 'burst-%'",
            &[],
        )
        .await
        .expect("a burst visit")
        .get(0);
    let client = &c;
    let rescored = |write: String| async move {
        let out = client
            .simple_query(&format!(
                "{write}; SELECT members FROM refresh_member_scores(true)"
            ))
            .await
            .expect("write and catch up");
        let n: Vec<i64> = out
            .iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0)?.parse().ok(),
                _ => None,
            })
            .collect();
        assert_eq!(n.len(), 1, "{write}: {n:?}");
        n[0]
    };
    let moved = format!(
        "UPDATE visits SET amount = 1999.00, member_id = '{m}' \
         WHERE visit_id = 'burst-{burst_member}'"
    );
    assert_eq!(rescored(moved).await, 2);
    until_from_snapshot(&c, lookup).await;
    assert_eq!(differing(&c, "member_scores").await, 0);
    // One member's catch-up reads and rewrites only the parts whose member_id range holds
    // them: the refresh's parts of other members and the earlier catch-ups' parts (the
    // burst's, the conversions'...) of ranges without them stay as they are.
    let before = snapshot_parts(dir.path());
    let gone = "DELETE FROM visits WHERE visit_id = 'snapshot-test'".to_string();
    assert_eq!(rescored(gone).await, 1);
    let after = snapshot_parts(dir.path());
    let kept = before.iter().filter(|p| after.contains(p)).count();
    assert!(
        before.len() >= 6 && kept + 3 >= before.len(),
        "{before:?} {after:?}"
    );
    until_from_snapshot(&c, lookup).await;
    assert_eq!(differing(&c, "member_scores").await, 0);
    assert_eq!(differing(&c, "customer_segments").await, 0);

    // A refresh stores it; lookups read the snapshot again, with the visit. Scored in five
    // ranges of member_id one after another (what a large chain's pool needs), the rows are
    // the live view's for every member, each member once.
    c.batch_execute("SET cip.score_ranges = 5")
        .await
        .expect("set");
    let refreshed = count(&c, "SELECT members FROM refresh_member_scores()").await;
    c.batch_execute("RESET cip.score_ranges")
        .await
        .expect("reset");
    assert_eq!(refreshed, active + 1);
    assert_eq!(
        count(&c, "SELECT count(DISTINCT member_id) FROM member_scores").await,
        active + 1
    );
    assert!(from_snapshot(&c, lookup).await);
    let recency: Option<i64> = c
        .query_one(
            "SELECT recency_days FROM member_scores WHERE member_id = $1",
            &[&m],
        )
        .await
        .expect("lookup")
        .get(0);
    assert_eq!(recency, Some(0));
    assert_eq!(differing(&c, "member_scores").await, 0);
    assert_eq!(differing(&c, "customer_segments").await, 0);

    // Another process stores the scores as of another date; a session on that date reads
    // them, one on today computes live.
    let out = common::cip(
        dir.path(),
        &[
            "score",
            "--into-warehouse",
            "--as-of",
            "2026-10-31",
            "--quiet",
        ],
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stdout(&out).contains(&format!(
            "scored {active} members into the table member_scores"
        )),
        "{}",
        common::stdout(&out)
    );
    assert!(!from_snapshot(&c, lookup).await);
    c.batch_execute("SET cip.as_of = '2026-10-31'")
        .await
        .expect("set");
    assert!(from_snapshot(&c, lookup).await);
    assert_eq!(differing(&c, "member_scores").await, 0);
    assert_eq!(differing(&c, "customer_segments").await, 0);
}

/// The names of member_scores' part files.
fn snapshot_parts(data: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(data.join("member_scores"))
        .expect("member_scores' folder")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("part-") && n.ends_with(".parquet"))
        .collect();
    names.sort();
    names
}

/// The number the one-column result `out` of `cip sql` shows (None for no row).
fn shown_number(out: &str) -> Option<i64> {
    out.lines()
        .filter_map(|l| l.trim().trim_matches('|').trim().parse().ok())
        .next()
}

/// A checkpoint (what `cip serve` does when it stops) moves every log into Parquet without
/// changing a row: the next catch-up still follows the rows appended before it, rescoring
/// only the member they name instead of everyone; a DELETE another process made is not
/// followed (what it removed is told only by the process that made it).
#[test]
fn after_a_checkpoint_the_snapshot_catches_up_with_the_appended_rows_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    common::generate(dir.path(), 400, 11);
    let refresh = "SELECT members FROM refresh_member_scores(true)";
    let everyone = shown_number(&common::sql(dir.path(), refresh)).expect("a full refresh");
    assert!(everyone > 100, "{everyone} members scored");
    assert_eq!(shown_number(&common::sql(dir.path(), refresh)), None);
    common::sql(
        dir.path(),
        "INSERT INTO visits (visit_id, member_id, store_id, started_at, amount) \
         SELECT 'after-1', member_id, store_id, now(), 123.00 FROM members \
         WHERE status = 'active' ORDER BY member_id LIMIT 1",
    );
    let out = common::cip(dir.path(), &["checkpoint"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(shown_number(&common::sql(dir.path(), refresh)), Some(1));
    let differing = "SELECT count(*) FROM (SELECT member_id, recency_days, frequency, monetary \
         FROM member_scores_live EXCEPT SELECT member_id, recency_days, frequency, monetary \
         FROM member_scores_stored)";
    let stored = "CREATE VIEW member_scores_stored AS SELECT * FROM member_scores";
    common::sql(dir.path(), stored);
    assert_eq!(shown_number(&common::sql(dir.path(), differing)), Some(0));
    common::sql(dir.path(), "DELETE FROM visits WHERE visit_id = 'after-1'");
    assert_eq!(
        shown_number(&common::sql(dir.path(), refresh)),
        Some(everyone)
    );
}
