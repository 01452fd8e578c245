//! Date-times as a client reads them in text (results and COPY): PostgreSQL's form, with a
//! timestamptz in the session's TimeZone. Every expected value below is what PostgreSQL 15
//! answered to the same statement through psql.

use crate::pgwire::Server;
use futures::TryStreamExt;
use tokio_postgres::{Client, SimpleQueryMessage};

/// The first row of the last result of `sql` (simple protocol: every value as text).
async fn row(c: &Client, sql: &str) -> Vec<String> {
    let messages = c
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    let row = messages.iter().rev().find_map(|m| match m {
        SimpleQueryMessage::Row(r) => Some(r),
        _ => None,
    });
    let row = row.unwrap_or_else(|| panic!("{sql}: no row"));
    (0..row.len())
        .map(|i| row.get(i).unwrap_or("NULL").to_string())
        .collect()
}

async fn copy_out(c: &Client, sql: &str) -> String {
    let chunks: Vec<bytes::Bytes> = c
        .copy_out(sql)
        .await
        .expect("copy out")
        .try_collect()
        .await
        .expect("copy data");
    String::from_utf8(chunks.concat()).expect("utf8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn date_times_read_as_postgresql_writes_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    c.batch_execute("SET TimeZone = 'Asia/Shanghai'")
        .await
        .expect("set");
    assert_eq!(
        row(
            &c,
            "SELECT TIMESTAMP '2026-01-01 10:00:00', TIMESTAMP '2026-01-01 10:00:00.25', \
             TIMESTAMPTZ '2026-01-01 10:00:00+00', TIME '10:00:01.5', TIME '10:00:00'"
        )
        .await,
        [
            "2026-01-01 10:00:00",
            "2026-01-01 10:00:00.25",
            "2026-01-01 18:00:00+08",
            "10:00:01.5",
            "10:00:00"
        ]
    );
    // Another session zone: the same instant, written in it — as a value and as ::text.
    assert_eq!(
        row(
            &c,
            "SET TimeZone = 'UTC'; SELECT TIMESTAMPTZ '2026-01-01 10:00:00+08', \
             (TIMESTAMPTZ '2026-01-01 10:00:00+08')::text"
        )
        .await,
        ["2026-01-01 02:00:00+00", "2026-01-01 02:00:00+00"]
    );
    // PostgreSQL reads a number as hours east and another offset as POSIX's (west positive).
    for (zone, shown, written) in [
        ("+05", "<+05>-05", "2026-01-01 15:00:00+05"),
        ("8.5", "<+08:30>-08:30", "2026-01-01 18:30:00+08:30"),
        ("-5:30", "-5:30", "2026-01-01 15:30:00+05:30"),
        ("5:30", "5:30", "2026-01-01 04:30:00-05:30"),
    ] {
        let sql = format!(
            "SET TimeZone = '{zone}'; SHOW TimeZone; \
             SELECT TIMESTAMPTZ '2026-01-01 10:00:00+00', current_setting('TimeZone')"
        );
        assert_eq!(row(&c, &sql).await, [written, shown], "{zone}");
    }
    assert_eq!(
        row(
            &c,
            "SET TIME ZONE INTERVAL '+05:30' HOUR TO MINUTE; \
             SELECT TIMESTAMPTZ '2026-01-01 10:00:00+08'"
        )
        .await,
        ["2026-01-01 07:30:00+05:30"]
    );
    // Stored values, and the summer offset of a zone with daylight saving.
    c.batch_execute(
        "SET TimeZone = 'America/New_York'; \
         CREATE TABLE dt (k int, at timestamptz, ts timestamp, t time); \
         INSERT INTO dt VALUES (1, TIMESTAMPTZ '2026-07-01 10:00:00+08', \
         TIMESTAMP '2026-01-01 10:00:00.5', TIME '23:59:59.999999'), (2, NULL, NULL, NULL)",
    )
    .await
    .expect("table");
    assert_eq!(
        row(&c, "SELECT at, ts, t FROM dt WHERE k = 1").await,
        [
            "2026-06-30 22:00:00-04",
            "2026-01-01 10:00:00.5",
            "23:59:59.999999"
        ]
    );
    assert_eq!(
        row(&c, "SELECT at, ts, t FROM dt WHERE k = 2").await,
        ["NULL", "NULL", "NULL"]
    );
    assert_eq!(
        copy_out(
            &c,
            "COPY (SELECT TIMESTAMP '2026-01-01 10:00:00.5', \
             TIMESTAMPTZ '2026-01-01 10:00:00+08', TIME '10:00:00') TO STDOUT"
        )
        .await,
        "2026-01-01 10:00:00.5\t2025-12-31 21:00:00-05\t10:00:00\n"
    );
    assert_eq!(
        copy_out(
            &c,
            "COPY (SELECT ts, at FROM dt ORDER BY k) TO STDOUT (FORMAT csv)"
        )
        .await,
        "2026-01-01 10:00:00.5,2026-06-30 22:00:00-04\n,\n"
    );
    // Binary results carry the instant whatever the zone (tokio-postgres asks for binary).
    let at: std::time::SystemTime = c
        .query_one("SELECT at FROM dt WHERE k = 1", &[])
        .await
        .expect("binary")
        .get(0);
    let expected = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_782_871_200);
    assert_eq!(at, expected);
}

/// `business_date(ts) <= date` reaches the table as a range on ts (the session's cut-off
/// deciding where the day starts), and keeps the rows the function keeps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_date_comparisons_are_planned_as_ranges() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    c.batch_execute(
        "CREATE TABLE stays (id INT, at TIMESTAMP);
         INSERT INTO stays VALUES (1, '2026-10-31 05:59:59'), (2, '2026-10-31 06:00:00'),
           (3, '2026-11-01 05:00:00'), (4, '2026-11-01 06:00:00'), (5, NULL);",
    )
    .await
    .expect("table");
    let filter = "FROM stays WHERE business_date(at) <= DATE '2026-10-31'";
    let explained = c
        .simple_query(&format!("EXPLAIN SELECT id {filter}"))
        .await
        .expect("explain");
    let text: Vec<String> = explained
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r.get(1).unwrap_or("").to_string()),
            _ => None,
        })
        .collect();
    let text = text.join("\n");
    assert!(!text.contains("business_date"), "{text}");
    // 2026-11-01 06:00, the end of business day 2026-10-31, in µs since 1970
    assert!(text.contains("1793512800000000"), "{text}");
    assert_eq!(row(&c, &format!("SELECT count(*) {filter}")).await, ["3"]);
    c.batch_execute("SET cip.day_cutoff = '04:00'")
        .await
        .expect("set");
    assert_eq!(row(&c, &format!("SELECT count(*) {filter}")).await, ["2"]);
}
