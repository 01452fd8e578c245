//! Transaction blocks over pgwire: writes are private until COMMIT, then all or nothing across
//! tables; ROLLBACK and ROLLBACK TO discard; a block reads one snapshot; a block that rewrote
//! a table someone else changed meanwhile fails with 40001; readers never lose a file to a
//! concurrent rewrite.

use crate::pgwire::{code, Server};
use tokio_postgres::Client;

async fn count(c: &Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.expect(sql).get(0)
}

async fn members(c: &Client) -> i64 {
    count(c, "SELECT count(*) FROM members").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_is_private_until_commit_then_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let a = server.connect().await;
    let b = server.connect().await;
    // Simple protocol, two tables, the block's own statements see its writes.
    a.batch_execute(
        "BEGIN; \
         INSERT INTO members (member_id, points) VALUES ('T1', 10), ('T2', 20); \
         INSERT INTO visits (visit_id, member_id, amount) VALUES ('V1', 'T1', 12.5)",
    )
    .await
    .expect("writes in a block");
    assert_eq!(members(&a).await, 2, "the block sees its own rows");
    assert_eq!(members(&b).await, 0, "others do not");
    a.batch_execute("UPDATE members SET points = points + 1 WHERE member_id = 'T1'")
        .await
        .expect("update in a block");
    a.batch_execute("DELETE FROM members WHERE member_id = 'T2'")
        .await
        .expect("delete in a block");
    assert_eq!(
        count(&a, "SELECT points FROM members WHERE member_id = 'T1'").await,
        11
    );
    assert_eq!(count(&b, "SELECT count(*) FROM visits").await, 0);
    a.batch_execute("COMMIT").await.expect("commit");
    assert_eq!(members(&b).await, 1);
    assert_eq!(
        count(&b, "SELECT points FROM members WHERE member_id = 'T1'").await,
        11
    );
    assert_eq!(count(&b, "SELECT count(*) FROM visits").await, 1);

    // Extended protocol with parameters, as drivers with autocommit off do it; ROLLBACK
    // leaves nothing.
    let mut a = a;
    let tx = a.transaction().await.expect("begin");
    tx.execute(
        "INSERT INTO members (member_id, points) VALUES ($1, $2)",
        &[&"T3", &Some(3i64)],
    )
    .await
    .expect("insert with parameters");
    tx.execute("DELETE FROM visits", &[]).await.expect("delete");
    tx.rollback().await.expect("rollback");
    assert_eq!(members(&b).await, 1);
    assert_eq!(count(&b, "SELECT count(*) FROM visits").await, 1);

    // ROLLBACK TO a savepoint discards what came after it, and the block goes on.
    let mut tx = a.transaction().await.expect("begin");
    tx.execute("INSERT INTO members (member_id) VALUES ('S1')", &[])
        .await
        .expect("before the savepoint");
    {
        let sp = tx.savepoint("sp").await.expect("savepoint");
        sp.execute("INSERT INTO members (member_id) VALUES ('S2')", &[])
            .await
            .expect("in the savepoint");
        let e = sp
            .execute("INSERT INTO members (member_id) VALUES ('S1')", &[])
            .await
            .expect_err("duplicate key");
        assert_eq!(code(&e), "23505", "{e:?}");
        sp.rollback().await.expect("rollback to savepoint");
    }
    tx.execute("INSERT INTO members (member_id) VALUES ('S3')", &[])
        .await
        .expect("block usable after ROLLBACK TO");
    tx.commit().await.expect("commit");
    let ids: Vec<String> = b
        .query("SELECT member_id FROM members ORDER BY member_id", &[])
        .await
        .expect("select")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, ["S1", "S3", "T1"]);

    // READ ONLY blocks refuse writes with 25006; a failed block's COMMIT rolls back.
    a.batch_execute("START TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .expect("begin read only");
    let e = a
        .batch_execute("INSERT INTO members (member_id) VALUES ('R1')")
        .await
        .expect_err("read only");
    assert_eq!(code(&e), "25006", "{e:?}");
    let rows = a.simple_query("COMMIT").await.expect("commit");
    let tag = rows.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::CommandComplete(_) => Some(()),
        _ => None,
    });
    assert!(tag.is_some());
    assert_eq!(members(&b).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_reads_one_snapshot_and_conflicts_fail_with_40001() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let a = server.connect().await;
    let b = server.connect().await;
    b.batch_execute("INSERT INTO members (member_id, points) VALUES ('M1', 1), ('M2', 2)")
        .await
        .expect("seed");
    a.batch_execute("BEGIN").await.expect("begin");
    assert_eq!(members(&a).await, 2);
    b.batch_execute("INSERT INTO members (member_id) VALUES ('M3')")
        .await
        .expect("autocommit insert beside the block");
    assert_eq!(members(&a).await, 2, "the block keeps its snapshot");
    assert_eq!(members(&b).await, 3);
    // An append-only block commits beside others' writes.
    a.batch_execute("INSERT INTO members (member_id) VALUES ('M4'); COMMIT")
        .await
        .expect("append-only commit");
    assert_eq!(members(&b).await, 4);

    // One snapshot for every table, taken at the block's first statement: a table the block
    // had not read yet is read as it was then too.
    a.batch_execute("BEGIN").await.expect("begin");
    assert_eq!(members(&a).await, 4);
    b.batch_execute("INSERT INTO visits (visit_id, member_id, amount) VALUES ('S1', 'M1', 1)")
        .await
        .expect("a visit beside the block");
    let visits = "SELECT count(*) FROM visits WHERE visit_id = 'S1'";
    assert_eq!(
        count(&a, visits).await,
        0,
        "the block's snapshot predates it"
    );
    a.batch_execute("COMMIT").await.expect("commit");
    assert_eq!(count(&a, visits).await, 1);

    // A block that rewrote a table someone changed since its snapshot cannot commit.
    a.batch_execute("BEGIN; UPDATE members SET points = 100 WHERE member_id = 'M1'")
        .await
        .expect("update in a block");
    b.batch_execute("UPDATE members SET points = 7 WHERE member_id = 'M2'")
        .await
        .expect("concurrent autocommit update");
    let e = a.batch_execute("COMMIT").await.expect_err("conflict");
    assert_eq!(code(&e), "40001", "{e:?}");
    assert_eq!(
        count(&b, "SELECT points FROM members WHERE member_id = 'M1'").await,
        1,
        "nothing of the failed block is kept"
    );
    assert_eq!(
        count(&b, "SELECT points FROM members WHERE member_id = 'M2'").await,
        7
    );
    // The connection is usable and out of the block.
    a.batch_execute("UPDATE members SET points = 100 WHERE member_id = 'M1'")
        .await
        .expect("autocommit after the failed commit");
    assert_eq!(
        count(&b, "SELECT points FROM members WHERE member_id = 'M1'").await,
        100
    );
}

/// Readers of a table never fail while others rewrite, flush and compact it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_keep_their_snapshot_under_concurrent_rewrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let w = server.connect().await;
    let values: Vec<String> = (0..2_000).map(|i| format!("('R{i}', {i})")).collect();
    w.batch_execute(&format!(
        "INSERT INTO members (member_id, points) VALUES {}",
        values.join(", ")
    ))
    .await
    .expect("seed");
    let writer = tokio::spawn(async move {
        for i in 0..60 {
            let sql = if i % 3 == 0 {
                format!("DELETE FROM members WHERE member_id = 'R{i}'")
            } else {
                format!(
                    "UPDATE members SET points = points + 1 WHERE member_id = 'R{}'",
                    i + 100
                )
            };
            w.batch_execute(&sql).await.expect("rewrite");
            w.batch_execute(&format!("INSERT INTO members (member_id) VALUES ('N{i}')"))
                .await
                .expect("insert");
        }
    });
    let mut readers = Vec::new();
    for _ in 0..3 {
        let r = server.connect().await;
        readers.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (0u32, Vec::new());
            for _ in 0..120 {
                match r
                    .query_one("SELECT count(*), sum(points) FROM members", &[])
                    .await
                {
                    Ok(_) => ok += 1,
                    Err(e) => failed.push(format!("{e:?}")),
                }
            }
            (ok, failed)
        }));
    }
    writer.await.expect("writer");
    let mut reads = 0;
    for r in readers {
        let (ok, failed) = r.await.expect("reader");
        assert!(failed.is_empty(), "failed reads: {failed:?}");
        reads += ok;
    }
    assert_eq!(reads, 360);
}

/// How many kills a kill test makes: CIP_KILL_TRIALS, else `default`.
pub fn kill_trials(default: u64) -> u64 {
    std::env::var("CIP_KILL_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Starts the server on `dir` `trials` times; each time a client commits `block(trial, k)` for
/// k = 0, 1, … until the server is SIGKILLed at a moment drawn from `seed` (50–450 ms after
/// start: before, during and after commits). Returns the commits acknowledged.
pub async fn commits_under_kills(
    dir: &std::path::Path,
    trials: u64,
    mut seed: u64,
    block: fn(u64, u64) -> String,
) -> i64 {
    let mut acknowledged_total = 0;
    for trial in 0..trials {
        let server = Server::start(dir);
        let c = server.connect().await;
        let client = tokio::spawn(async move {
            let mut acknowledged = 0i64;
            for k in 0.. {
                if c.batch_execute(&block(trial, k)).await.is_err() {
                    break;
                }
                acknowledged += 1;
            }
            acknowledged
        });
        // xorshift: a different moment each trial, the same trials each run.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(std::time::Duration::from_millis(50 + seed % 400)).await;
        drop(server); // SIGKILL
        acknowledged_total += client.await.expect("client");
    }
    acknowledged_total
}

/// SIGKILL at random moments while clients commit blocks that append to two tables and
/// rewrite a third row: after each restart every block is wholly there or wholly absent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_keeps_each_block_whole() {
    let trials = kill_trials(100);
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let server = Server::start(dir.path());
        let c = server.connect().await;
        c.batch_execute("INSERT INTO members (member_id, points) VALUES ('COUNTER', 0)")
            .await
            .expect("seed the counter");
    }
    let committed_total =
        commits_under_kills(dir.path(), trials, 0x9e37_79b9_7f4a_7c15, |trial, k| {
            let id = format!("K{trial}-{k}");
            format!(
                "BEGIN; \
             INSERT INTO members (member_id, points) VALUES ('{id}', 1); \
             INSERT INTO visits (visit_id, member_id, amount) VALUES ('{id}', '{id}', 1); \
             UPDATE members SET points = points + 1 WHERE member_id = 'COUNTER'; \
             COMMIT"
            )
        })
        .await;
    let interrupted = trials;
    let server = Server::start(dir.path());
    let c = server.connect().await;
    let blocks = count(&c, "SELECT count(*) FROM members WHERE member_id LIKE 'K%'").await;
    let visits = count(&c, "SELECT count(*) FROM visits WHERE visit_id LIKE 'K%'").await;
    let orphans = count(
        &c,
        "SELECT count(*) FROM members m FULL JOIN visits v ON v.visit_id = m.member_id \
         WHERE (m.member_id LIKE 'K%' OR v.visit_id LIKE 'K%') \
           AND (m.member_id IS NULL OR v.visit_id IS NULL)",
    )
    .await;
    let counter = count(&c, "SELECT points FROM members WHERE member_id = 'COUNTER'").await;
    eprintln!(
        "kill trials: {interrupted} kills, {committed_total} acknowledged commits, {blocks} blocks \
         present, {orphans} partial"
    );
    assert_eq!(orphans, 0, "a block is partly there");
    assert_eq!(blocks, visits);
    assert_eq!(
        counter, blocks,
        "the rewrite of each block is there exactly with its rows"
    );
    assert!(
        blocks >= committed_total,
        "an acknowledged commit was lost: {blocks} present, {committed_total} acknowledged"
    );
    assert!(
        blocks <= committed_total + trials as i64,
        "more blocks than were sent"
    );
}

/// SIGKILL at random moments of launch_campaign: after each restart every campaign row has
/// its audience (the campaign, its audience and its messages are one commit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_launch_leaves_no_orphan_campaign() {
    let dir = tempfile::tempdir().expect("tempdir");
    crate::common::generate(dir.path(), 600, 17);
    let launch = "SELECT * FROM launch_campaign('churn_risk', 'retention')";
    // How long one launch takes here, so the kills land before, during and after the commit.
    let took = {
        let server = Server::start(dir.path());
        let c = server.connect().await;
        let started = std::time::Instant::now();
        c.simple_query(launch).await.expect("a launch");
        started.elapsed().as_millis() as u64
    };
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let (mut acknowledged, mut campaigns) = (1i64, 0i64);
    for _ in 0..20 {
        let server = Server::start(dir.path());
        let c = server.connect().await;
        let client = tokio::spawn(async move { c.simple_query(launch).await.is_ok() });
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(std::time::Duration::from_millis(
            seed % (took + took / 4 + 1),
        ))
        .await;
        drop(server); // SIGKILL
        if client.await.expect("client") {
            acknowledged += 1;
        }
        let server = Server::start(dir.path());
        let c = server.connect().await;
        let orphans = count(
            &c,
            "SELECT count(*) FROM campaigns c \
             LEFT JOIN (SELECT DISTINCT campaign_id FROM campaign_audience) a \
               ON a.campaign_id = c.campaign_id \
             WHERE a.campaign_id IS NULL",
        )
        .await;
        assert_eq!(orphans, 0, "a campaign without its audience");
        campaigns = count(&c, "SELECT count(*) FROM campaigns").await;
    }
    eprintln!("launch kills: 20, one launch {took} ms, {acknowledged} acknowledged, {campaigns} campaigns");
    assert!(campaigns >= acknowledged, "an acknowledged launch was lost");
}

/// A client that walks away inside a block is disconnected after
/// idle_in_transaction_session_timeout, and its writes are rolled back; idle outside a block is
/// left alone (idle_session_timeout is 0 by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_in_transaction_ends_the_connection_and_its_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let a = server.connect().await;
    let b = server.connect().await;
    a.batch_execute(
        "SET idle_in_transaction_session_timeout = '500ms'; \
         SELECT 1; \
         BEGIN; INSERT INTO members (member_id) VALUES ('IDLE')",
    )
    .await
    .expect("a block");
    b.batch_execute("SET idle_in_transaction_session_timeout = '500ms'")
        .await
        .expect("set");
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let e = a.batch_execute("COMMIT").await.expect_err("closed");
    assert!(e.is_closed() || e.as_db_error().is_none(), "{e:?}");
    assert_eq!(
        members(&b).await,
        0,
        "the idle block's insert was rolled back"
    );
}

/// A block's rows that name a parent row are checked again at COMMIT: a campaign deleted
/// after the block checked its tracking event fails the commit with 23503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_deleted_meanwhile_fails_the_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let a = server.connect().await;
    let b = server.connect().await;
    a.batch_execute("INSERT INTO campaigns (campaign_id, name) VALUES ('C1', 'one')")
        .await
        .expect("a campaign");
    a.batch_execute(
        "BEGIN; \
         INSERT INTO campaigns (campaign_id, name) VALUES ('C2', 'two'); \
         INSERT INTO campaign_tracking (campaign_id, member_id, status) \
           VALUES ('C1', 'M1', 'sent'), ('C2', 'M1', 'sent')",
    )
    .await
    .expect("events naming a committed and a pending campaign");
    b.batch_execute("DELETE FROM campaigns WHERE campaign_id = 'C1'")
        .await
        .expect("the parent goes");
    let e = a.batch_execute("COMMIT").await.expect_err("orphan event");
    assert_eq!(code(&e), "23503", "{e:?}");
    assert_eq!(count(&b, "SELECT count(*) FROM campaign_tracking").await, 0);
    assert_eq!(count(&b, "SELECT count(*) FROM campaigns").await, 0);
}
