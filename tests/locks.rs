//! pg_locks lists the advisory locks each session holds and waits for, as PostgreSQL 15 lists
//! them (values below are what PostgreSQL answered to the same calls), and forgets them when
//! they are released or their session ends.

use crate::pgwire::Server;
use std::time::Duration;

const LOCKS: &str = "SELECT locktype, classid, objid, objsubid, pid, mode, granted, \
     database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
     FROM pg_locks ORDER BY classid, objid, granted DESC";

type Row = (String, i64, i64, i16, i32, String, bool, bool);

async fn locks(c: &tokio_postgres::Client) -> Vec<Row> {
    c.query(LOCKS, &[])
        .await
        .expect("pg_locks")
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
                r.get(7),
            )
        })
        .collect()
}

async fn pid(c: &tokio_postgres::Client) -> i32 {
    c.query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0)
}

fn row(key: (i64, i64, i16), pid: i32, mode: &str, granted: bool) -> Row {
    let (classid, objid, sub) = key;
    let advisory = "advisory".to_string();
    (
        advisory,
        classid,
        objid,
        sub,
        pid,
        mode.into(),
        granted,
        true,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_locks_shows_who_holds_and_who_waits_for_an_advisory_lock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let a = server.connect().await;
    let b = std::sync::Arc::new(server.connect().await);
    let (pid_a, pid_b) = (pid(&a).await, pid(&b).await);
    assert!(locks(&a).await.is_empty(), "no lock yet");

    a.batch_execute(
        "SELECT pg_advisory_lock(-1); SELECT pg_advisory_lock(-1); \
         SELECT pg_advisory_lock_shared(-5, 7); SELECT pg_advisory_lock(4294967298)",
    )
    .await
    .expect("locks taken");
    // Held twice, listed once; a bigint split in halves, a pair of integers as they are.
    let held = vec![
        row((1, 2, 1), pid_a, "ExclusiveLock", true),
        row((4294967291, 7, 2), pid_a, "ShareLock", true),
        row((4294967295, 4294967295, 1), pid_a, "ExclusiveLock", true),
    ];
    assert_eq!(locks(&b).await, held);

    // b waits for a's lock: listed, not granted.
    let waiter = b.clone();
    let waiting =
        tokio::spawn(async move { waiter.batch_execute("SELECT pg_advisory_lock(-1)").await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut expected = held.clone();
    expected.push(row(
        (4294967295, 4294967295, 1),
        pid_b,
        "ExclusiveLock",
        false,
    ));
    assert_eq!(locks(&a).await, expected);

    // a lets go of -1 (held twice): b gets it.
    a.batch_execute("SELECT pg_advisory_unlock(-1); SELECT pg_advisory_unlock(-1)")
        .await
        .expect("unlocked");
    tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("b got the lock")
        .expect("task")
        .expect("lock");
    let mut expected = held[..2].to_vec();
    expected.push(row(
        (4294967295, 4294967295, 1),
        pid_b,
        "ExclusiveLock",
        true,
    ));
    assert_eq!(locks(&a).await, expected);

    // A session's end releases its locks.
    drop(b);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(locks(&a).await, held[..2].to_vec());
    // Read as a filter, the way applications check a job's lock.
    let holders: i64 = a
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 7 \
             AND objsubid = 2 AND granted",
            &[],
        )
        .await
        .expect("filter")
        .get(0);
    assert_eq!(holders, 1);
}
