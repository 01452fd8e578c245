//! Customer intelligence on more than one shape of data: segment accuracy against the
//! generating archetype on four differently shaped chains (`cip generate --venue`), the same
//! chain priced ×0.1 and ×10, and the public CDNOW purchases. Figures are printed so the
//! confusion matrices can be quoted.

use crate::common;
use std::path::Path;

const SEGMENTS: &str = "('vip','loyal','potential','regular','churn_risk','new')";

/// A session on the data directory, as of the generator's last day, with the archetypes
/// readable as a table.
async fn session(data: &Path) -> (cip::engine::Engine, datafusion::prelude::SessionContext) {
    let engine = common::engine(data).await;
    let ctx = engine.session().await.expect("session");
    common::rows(&ctx, "SET cip.as_of = '2026-10-31'").await;
    let truth = data.join("archetypes.parquet");
    if truth.exists() {
        common::rows(
            &ctx,
            &format!(
                "CREATE EXTERNAL TABLE truth STORED AS PARQUET LOCATION '{}'",
                truth.display()
            ),
        )
        .await;
    }
    (engine, ctx)
}

/// Checks one generated chain: accuracy, every segment present, tag coverage per family.
async fn check_chain(venue: &str, members: u32) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    common::generate_venue(&data, members, 11, venue, 1.0);
    let (_engine, ctx) = session(&data).await;
    let confusion = common::rows(
        &ctx,
        "SELECT t.archetype, s.segment_id, count(*) FROM customer_segments s \
         JOIN truth t USING (member_id) GROUP BY 1, 2 ORDER BY 1, 3 DESC",
    )
    .await;
    for r in &confusion {
        println!(
            "{venue}: archetype {:<10} -> segment {:<10} {:>6}",
            r[0], r[1], r[2]
        );
    }
    let acc = common::rows(
        &ctx,
        "SELECT avg(CASE WHEN t.archetype = s.segment_id THEN 1.0 ELSE 0.0 END), count(*), \
                count(DISTINCT s.segment_id) \
         FROM customer_segments s JOIN truth t USING (member_id)",
    )
    .await;
    let accuracy: f64 = acc[0][0].parse().expect("accuracy");
    println!(
        "{venue}: segment accuracy {accuracy:.4} over {} active members",
        acc[0][1]
    );
    assert!(
        accuracy >= 0.90,
        "{venue}: segment accuracy {accuracy} below 0.90"
    );
    assert_eq!(acc[0][2], "6", "{venue}: every segment present");

    let cov = common::rows(
        &ctx,
        "SELECT avg(CASE WHEN cardinality(behavior_tags) > 0 THEN 1.0 ELSE 0.0 END), \
                avg(CASE WHEN cardinality(value_tags) > 0 THEN 1.0 ELSE 0.0 END), \
                avg(CASE WHEN cardinality(preference_tags) > 0 THEN 1.0 ELSE 0.0 END) \
         FROM customer_tags",
    )
    .await;
    let cov: Vec<f64> = cov[0]
        .iter()
        .map(|v| v.parse().expect("coverage"))
        .collect();
    println!(
        "{venue}: tag coverage behaviour {:.4}, value {:.4}, preference {:.4}",
        cov[0], cov[1], cov[2]
    );
    for (family, c) in ["behaviour", "value", "preference"].iter().zip(&cov) {
        assert!(*c >= 0.95, "{venue}: {family} tag coverage {c}");
    }

    // Every active member is in exactly one segment, and only the six ids occur.
    let one = common::rows(
        &ctx,
        &format!(
            "SELECT count(*) = count(DISTINCT member_id), \
                    (SELECT count(*) FROM members WHERE status = 'active') = count(*), \
                    bool_and(segment_id IN {SEGMENTS}) \
             FROM customer_segments"
        ),
    )
    .await;
    assert_eq!(one[0], vec!["true", "true", "true"], "{venue}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_recover_the_archetypes_of_a_ktv_chain() {
    check_chain("ktv", 8000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_recover_the_archetypes_of_a_weekly_beer_bar() {
    check_chain("beer_bar", 8000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_recover_the_archetypes_of_an_expensive_lounge() {
    check_chain("lounge", 8000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_recover_the_archetypes_of_a_pub_priced_in_dollars() {
    check_chain("pub_usd", 8000).await;
}

/// The same members and visits priced ×0.1 and ×10 fall in exactly the same segments: every
/// money bound is a multiple of the chain's own median.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pricing_the_chain_in_another_currency_changes_no_segment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut seen = Vec::new();
    for scale in [1.0, 0.1, 10.0] {
        let data = dir.path().join(format!("x{scale}"));
        common::generate_venue(&data, 3000, 5, "ktv", scale);
        let (_engine, ctx) = session(&data).await;
        let segments = common::rows(
            &ctx,
            "SELECT member_id, segment_id FROM customer_segments ORDER BY member_id",
        )
        .await;
        let spend = common::rows(&ctx, "SELECT sum(amount) FROM visits").await;
        println!("price x{scale}: total spend {}", spend[0][0]);
        seen.push(segments);
    }
    assert!(seen[0].len() > 2500, "{}", seen[0].len());
    let kinds: std::collections::HashSet<&str> = seen[0].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(kinds.len(), 6, "{kinds:?}");
    assert_eq!(seen[0], seen[1], "x0.1 changed segments");
    assert_eq!(seen[0], seen[2], "x10 changed segments");
}

/// CDNOW (tests/data, dollars, bought CDs in 1997-98): as of the end of its calibration
/// period the rules find at least four segments (nobody is new: everyone first bought in Q1
/// 1997), where yuan thresholds put everyone in two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdnow_shows_at_least_four_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let tx = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cdnow_sample_transactions.csv"),
    )
    .expect("cdnow transactions");
    let mut first: std::collections::BTreeMap<u32, String> = Default::default();
    let mut visits = String::from("visit_id,member_id,store_id,started_at,amount\n");
    for (i, line) in tx.lines().skip(1).enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let id: u32 = f[0].parse().expect("customer id");
        let day = f[1].to_string();
        let e = first.entry(id).or_insert_with(|| day.clone());
        if day < *e {
            *e = day.clone();
        }
        visits.push_str(&format!("T{i},C{id:05},S001,{day} 20:00:00,{}\n", f[3]));
    }
    let mut members = String::from("member_id,tier,status,registered_at\n");
    for (id, day) in &first {
        members.push_str(&format!("C{id:05},basic,active,{day} 12:00:00\n"));
    }
    let (m, v) = (
        dir.path().join("members.csv"),
        dir.path().join("visits.csv"),
    );
    std::fs::write(&m, members).expect("write");
    std::fs::write(&v, visits).expect("write");
    for (table, file) in [("members", &m), ("visits", &v)] {
        let o = common::cip(&data, &["load", table, &file.to_string_lossy()]);
        assert!(o.status.success(), "load {table}: {}", common::stderr(&o));
    }
    let (_engine, ctx) = session(&data).await;
    common::rows(&ctx, "SET cip.as_of = '1997-09-30'").await;
    let counts = common::rows(
        &ctx,
        "SELECT segment_id, count(*) FROM customer_segments GROUP BY 1 ORDER BY 2 DESC",
    )
    .await;
    for r in &counts {
        println!("CDNOW as of 1997-09-30: {:<10} {:>5}", r[0], r[1]);
    }
    assert!(counts.len() >= 4, "{counts:?}");
    let total: i64 = counts
        .iter()
        .map(|r| r[1].parse::<i64>().expect("count"))
        .sum();
    assert_eq!(total, 2357);
    // Behaviour and value tags cover everyone; CDNOW has no order items, so no preferences.
    let cov = common::rows(
        &ctx,
        "SELECT avg(CASE WHEN cardinality(behavior_tags) > 0 THEN 1.0 ELSE 0.0 END), \
                avg(CASE WHEN cardinality(value_tags) > 0 THEN 1.0 ELSE 0.0 END) \
         FROM customer_tags",
    )
    .await;
    println!(
        "CDNOW tag coverage: behaviour {}, value {}",
        cov[0][0], cov[0][1]
    );
    for c in &cov[0] {
        assert!(c.parse::<f64>().expect("coverage") >= 0.95, "{cov:?}");
    }
}
