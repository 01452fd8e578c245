//! Customer intelligence on generated data with known archetypes: segment accuracy against
//! the generator's truth and tag coverage, printed so the figures can be quoted.

use crate::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_recover_the_generators_archetypes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    common::generate(&data, 20000, 11);
    let engine = common::engine(&data).await;
    let ctx = engine.session().await.expect("session");
    common::rows(&ctx, "SET cip.as_of = '2026-10-31'").await;
    let truth = data.join("archetypes.parquet");
    common::rows(
        &ctx,
        &format!(
            "CREATE EXTERNAL TABLE truth STORED AS PARQUET LOCATION '{}'",
            truth.display()
        ),
    )
    .await;
    let confusion = common::rows(
        &ctx,
        "SELECT t.archetype, s.segment_id, count(*) FROM customer_segments s \
         JOIN truth t USING (member_id) GROUP BY 1, 2 ORDER BY 1, 3 DESC",
    )
    .await;
    for r in &confusion {
        println!("archetype {:<10} -> segment {:<10} {:>6}", r[0], r[1], r[2]);
    }
    let acc = common::rows(
        &ctx,
        "SELECT avg(CASE WHEN t.archetype = s.segment_id THEN 1.0 ELSE 0.0 END), count(*) \
         FROM customer_segments s JOIN truth t USING (member_id)",
    )
    .await;
    let accuracy: f64 = acc[0][0].parse().expect("accuracy");
    println!(
        "segment accuracy {accuracy:.4} over {} active members",
        acc[0][1]
    );
    assert!(accuracy >= 0.90, "segment accuracy {accuracy} below 0.90");

    let cov = common::rows(
        &ctx,
        "SELECT avg(CASE WHEN cardinality(behavior_tags) > 0 THEN 1.0 ELSE 0.0 END), \
                avg(CASE WHEN cardinality(value_tags) > 0 THEN 1.0 ELSE 0.0 END), \
                avg(CASE WHEN cardinality(preference_tags) > 0 THEN 1.0 ELSE 0.0 END), count(*) \
         FROM customer_tags",
    )
    .await;
    let behavior: f64 = cov[0][0].parse().expect("coverage");
    let value: f64 = cov[0][1].parse().expect("coverage");
    println!(
        "tag coverage: behaviour {behavior:.4}, value {value:.4}, preference {} over {} members",
        cov[0][2], cov[0][3]
    );
    assert!(behavior >= 0.95, "behaviour tag coverage {behavior}");
    assert!(value >= 0.95, "value tag coverage {value}");

    // Every active member is in exactly one segment, and only the six ids occur.
    let one = common::rows(
        &ctx,
        "SELECT count(*) = count(DISTINCT member_id), \
                (SELECT count(*) FROM members WHERE status = 'active') = count(*), \
                bool_and(segment_id IN ('vip','loyal','potential','regular','churn_risk','new')) \
         FROM customer_segments",
    )
    .await;
    assert_eq!(one[0], vec!["true", "true", "true"]);
}
