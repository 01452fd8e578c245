//! Campaign tracking through the front door: an event inserted by a client is in
//! campaign_performance on the very next query.

use crate::pgwire::Server;
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracking_event_shows_in_performance_on_the_next_query() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let writer = server.connect().await;
    let reader = server.connect().await;
    writer
        .batch_execute(
            "INSERT INTO campaigns (campaign_id, name, segment_id, campaign_type, offer, offer_cost) \
             VALUES ('E1', 'Event test', 'regular', 'discount', '10% off', 20.00);
             INSERT INTO campaign_tracking (campaign_id, member_id, status, revenue, cost) VALUES
              ('E1', 'M1', 'sent', 0, 0.05), ('E1', 'M2', 'sent', 0, 0.05)",
        )
        .await
        .expect("campaign and messages");
    let converted = |c: &tokio_postgres::Row| (c.get::<_, i64>(0), c.get::<_, String>(1));
    let before = reader
        .query_one(
            "SELECT converted, CAST(revenue AS VARCHAR) FROM campaign_performance \
             WHERE campaign_id = $1 AND variant = 'all'",
            &[&"E1"],
        )
        .await
        .expect("performance");
    assert_eq!(converted(&before), (0, "0.00".to_string()));

    let inserted = Instant::now();
    writer
        .execute(
            "INSERT INTO campaign_tracking (campaign_id, member_id, status, revenue) VALUES ($1, $2, 'converted', 388.00)",
            &[&"E1", &"M1"],
        )
        .await
        .expect("event");
    let after = reader
        .query_one(
            "SELECT converted, CAST(revenue AS VARCHAR) FROM campaign_performance \
             WHERE campaign_id = $1 AND variant = 'all'",
            &[&"E1"],
        )
        .await
        .expect("performance again");
    let seen = inserted.elapsed();
    assert_eq!(converted(&after), (1, "388.00".to_string()));
    eprintln!("tracking event visible in campaign_performance {seen:?} after its INSERT was sent");

    // A repeated event counts once; an unknown status is refused with 23514.
    writer
        .execute(
            "INSERT INTO campaign_tracking (campaign_id, member_id, status, revenue) VALUES ('E1', 'M1', 'converted', 388.00)",
            &[],
        )
        .await
        .expect("repeat");
    let again = reader
        .query_one(
            "SELECT converted, CAST(revenue AS VARCHAR) FROM campaign_performance WHERE campaign_id = 'E1' AND variant = 'all'",
            &[],
        )
        .await
        .expect("performance after repeat");
    assert_eq!(converted(&again), (1, "388.00".to_string()));
    let err = writer
        .execute(
            "INSERT INTO campaign_tracking (campaign_id, member_id, status) VALUES ('E1', 'M1', 'bounced')",
            &[],
        )
        .await
        .expect_err("unknown status");
    assert_eq!(err.code().map(|c| c.code()), Some("23514"), "{err:?}");
}
