//! A query for one member — `SELECT … FROM customer_segments WHERE member_id = $1`, what the
//! HTTP API and a CRM screen ask — is answered by a read of that key in the snapshot instead
//! of a planned scan (src/statement/point_lookup.rs), with the rows the plan gives; a
//! transaction block, a member with rows the snapshot has not caught up with, or another
//! shape of query is planned as before. `cip_key_reads_total` on /metrics counts the reads.

use crate::common;
use std::io::{Read, Write};
use tokio_postgres::{Client, SimpleQueryMessage};

/// The rows of `sql` over the simple protocol, as text.
async fn text_rows(c: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    c.simple_query(sql)
        .await
        .expect(sql)
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect()
}

/// cip_key_reads_total from the HTTP API's /metrics.
fn key_reads(http: u16) -> u64 {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", http)).expect("connect http");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .expect("request");
    let mut body = String::new();
    s.read_to_string(&mut body).expect("response");
    body.lines()
        .find_map(|l| l.strip_prefix("cip_key_reads_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no cip_key_reads_total in {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_by_key_reads_the_key_and_answers_as_the_plan_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    common::generate(&data, 2000, 23);
    let cfg = dir.path().join("cip.toml");
    // Snapshot parts of 300 members: a key is in one of several parts.
    std::fs::write(
        &cfg,
        "[scheduler]\nenabled = false\n\n[storage]\npoint_read_part_rows = 300\n",
    )
    .expect("config");
    let (mut child, http, pg) = common::serve_http(&data, &cfg);
    let (c, conn) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={pg} user=cip dbname=cip"),
        tokio_postgres::NoTls,
    )
    .await
    .expect("connect");
    tokio::spawn(conn);

    let all: Vec<String> = c
        .query(
            "SELECT member_id FROM member_scores ORDER BY member_id",
            &[],
        )
        .await
        .expect("members")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(all.len() > 1500, "{}", all.len());
    let mut asked: Vec<String> = all.iter().step_by(97).cloned().collect();
    asked.push(all[all.len() - 1].clone());
    asked.extend(["M", "ZZZ", "", "M0000000'"].map(String::from));

    // The same query over the simple protocol, read by key and planned (`AND true` is not
    // the shape a key read answers): every column equal, absent members no row.
    let before = key_reads(http);
    for m in &asked {
        let m = m.replace('\'', "''");
        let by_key = text_rows(
            &c,
            &format!("SELECT * FROM customer_segments WHERE member_id = '{m}'"),
        )
        .await;
        let planned = text_rows(
            &c,
            &format!("SELECT * FROM customer_segments WHERE member_id = '{m}' AND true"),
        )
        .await;
        assert_eq!(by_key, planned, "{m}");
        assert!(by_key.len() <= 1, "{m}: {by_key:?}");
        assert_eq!(by_key.len(), usize::from(all.contains(&m)), "{m}");
    }
    assert_eq!(key_reads(http) - before, asked.len() as u64);

    // Prepared with a parameter, the key on either side, columns renamed, the table itself.
    let before = key_reads(http);
    let lookup = c
        .prepare("SELECT member_id AS id, segment_name, r_score FROM customer_segments WHERE $1 = member_id")
        .await
        .expect("prepare");
    for m in asked.iter().take(10) {
        let row = c.query_opt(&lookup, &[m]).await.expect("lookup");
        let planned = text_rows(
            &c,
            &format!(
                "SELECT member_id, segment_name, r_score FROM customer_segments \
                 WHERE member_id = '{m}' AND true"
            ),
        )
        .await;
        let row = row.expect("a row");
        assert_eq!(lookup.columns()[0].name(), "id");
        let got = vec![
            Some(row.get::<_, String>(0)),
            Some(row.get::<_, String>(1)),
            Some(row.get::<_, i64>(2).to_string()),
        ];
        assert_eq!(vec![got], planned, "{m}");
    }
    let none: Option<String> = None;
    let null_key = c.query(&lookup, &[&none]).await.expect("NULL key");
    assert!(null_key.is_empty());
    // Under an alias and a LIMIT (what a CRM screen sends).
    let aliased = c
        .query_one(
            "SELECT s.member_id, s.segment_name FROM customer_segments AS s \
             WHERE s.member_id = $1 LIMIT 1",
            &[&all[5]],
        )
        .await
        .expect("aliased");
    assert_eq!(aliased.get::<_, String>(0), all[5]);
    let none_shown = c
        .query(
            "SELECT member_id FROM customer_segments WHERE member_id = $1 LIMIT 0",
            &[&all[5]],
        )
        .await
        .expect("limit 0");
    assert!(none_shown.is_empty());
    let as_of = c
        .query_one(
            "SELECT as_of FROM member_scores WHERE member_id = $1",
            &[&all[0]],
        )
        .await
        .expect("member_scores by key");
    assert!(as_of.get::<_, Option<chrono::NaiveDate>>(0).is_some());
    assert_eq!(key_reads(http) - before, 14);

    // Planned, not read by key: inside a transaction block (the block's own view of the
    // tables), and a member whose visit the snapshot has not caught up with yet (computed
    // live): the visit shows at once.
    let before = key_reads(http);
    c.batch_execute("BEGIN").await.expect("begin");
    let in_block = c.query_opt(&lookup, &[&all[1]]).await.expect("in block");
    c.batch_execute("COMMIT").await.expect("commit");
    assert!(in_block.is_some());
    assert_eq!(key_reads(http), before);
    let m = &all[2];
    c.batch_execute(&format!(
        "INSERT INTO visits (visit_id, member_id, store_id, started_at, amount) \
         VALUES ('key-read-test', '{m}', 'S001', now(), 99.00)"
    ))
    .await
    .expect("insert visit");
    let recency: Option<i64> = c
        .query_one(
            "SELECT recency_days FROM customer_segments WHERE member_id = $1",
            &[m],
        )
        .await
        .expect("after a visit")
        .get(0);
    assert_eq!(recency, Some(0));
    let _ = child.kill();
    let _ = child.wait();
}
