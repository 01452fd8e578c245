//! INSERT … ON CONFLICT from several connections at once: an upsert reads the stored row and
//! writes the merged one under the table's write lock, so concurrent increments lose none and
//! a key two connections both propose new is inserted once, never refused with 23505. Blocks
//! that merged into a row someone else changed meanwhile fail their commit with 40001.

use crate::pgwire::{code, Server};

const UPSERT: &str =
    "INSERT INTO counters (k, n) VALUES ($1, 1) ON CONFLICT (k) DO UPDATE SET n = counters.n + 1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_upserts_lose_no_increment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let admin = server.connect().await;
    admin
        .batch_execute("CREATE TABLE counters (k text PRIMARY KEY, n bigint NOT NULL)")
        .await
        .expect("create");
    let mut writers = Vec::new();
    for w in 0..4 {
        let c = server.connect().await;
        writers.push(tokio::spawn(async move {
            let upsert = c.prepare(UPSERT).await.expect("prepare");
            for i in 0..40 {
                let key = format!("k{}", (i + w) % 5);
                let n = c.execute(&upsert, &[&key]).await.expect("upsert");
                assert_eq!(n, 1, "one row inserted or updated");
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    let rows = admin
        .query("SELECT k, n FROM counters ORDER BY k", &[])
        .await
        .expect("read");
    let counts: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(counts.len(), 5, "{counts:?}");
    assert_eq!(counts.iter().map(|c| c.1).sum::<i64>(), 160, "{counts:?}");

    // Two blocks merging into the same row: the later commit is refused and changes nothing.
    let a = server.connect().await;
    let b = server.connect().await;
    a.batch_execute("BEGIN").await.expect("begin a");
    b.batch_execute("BEGIN").await.expect("begin b");
    a.execute(UPSERT, &[&"k0"]).await.expect("a merges");
    b.execute(UPSERT, &[&"k0"]).await.expect("b merges");
    a.batch_execute("COMMIT").await.expect("a commits");
    let refused = b.batch_execute("COMMIT").await.expect_err("b conflicts");
    assert_eq!(code(&refused), "40001", "{refused:?}");
    let n: i64 = admin
        .query_one("SELECT n FROM counters WHERE k = 'k0'", &[])
        .await
        .expect("k0")
        .get(0);
    assert_eq!(n, counts[0].1 + 1);
}
