//! Tier upgrades through the front door: many clients running execute_upgrades() at once,
//! and the scheduler inside `cip serve` upgrading a newly eligible member by itself.

use crate::common;
use crate::pgwire::Server;
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

fn config_file(dir: &Path, text: &str) -> String {
    let path = dir.join("cip.toml");
    std::fs::write(&path, text).expect("write config");
    path.to_str().expect("utf-8 path").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_clients_upgrade_and_reward_each_member_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    common::generate(&data, 3000, 5);
    let cfg = config_file(dir.path(), "[scheduler]\nenabled = false\n");
    let server = Server::start_with(&data, &["--config", &cfg]);

    let probe = server.connect().await;
    let eligible: i64 = probe
        .query_one(
            "SELECT count(*) FROM upgrade_evaluation WHERE eligible",
            &[],
        )
        .await
        .expect("evaluate")
        .get(0);
    assert!(
        eligible > 0,
        "the data set has no eligible member to upgrade"
    );

    let mut runs = Vec::new();
    for i in 0..16 {
        let client = server.connect().await;
        runs.push(tokio::spawn(async move {
            // Half through the extended protocol (prepared), half through simple queries.
            if i % 2 == 0 {
                client
                    .query(
                        "SELECT member_id, from_tier, to_tier FROM execute_upgrades()",
                        &[],
                    )
                    .await
                    .expect("execute_upgrades")
                    .iter()
                    .map(|r| {
                        (
                            r.get::<_, String>(0),
                            r.get::<_, String>(1),
                            r.get::<_, String>(2),
                        )
                    })
                    .collect::<Vec<_>>()
            } else {
                client
                    .simple_query("SELECT member_id, from_tier, to_tier FROM execute_upgrades()")
                    .await
                    .expect("execute_upgrades")
                    .iter()
                    .filter_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(r) => Some((
                            r.get(0).unwrap_or_default().to_string(),
                            r.get(1).unwrap_or_default().to_string(),
                            r.get(2).unwrap_or_default().to_string(),
                        )),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
            }
        }));
    }
    let mut returned = Vec::new();
    for r in runs {
        returned.extend(r.await.expect("client task"));
    }

    // Every upgrade was reported by exactly one client, and written exactly once.
    let distinct: HashSet<_> = returned.iter().cloned().collect();
    assert_eq!(
        distinct.len(),
        returned.len(),
        "an upgrade was returned twice"
    );
    let rows = probe
        .query(
            "SELECT member_id, from_tier, to_tier, count(*) FROM upgrade_history \
             GROUP BY member_id, from_tier, to_tier HAVING count(*) > 1",
            &[],
        )
        .await
        .expect("duplicates");
    assert!(rows.is_empty(), "{} double upgrades", rows.len());
    let written: i64 = probe
        .query_one("SELECT count(*) FROM upgrade_history", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(written as usize, returned.len());
    let upgraded: i64 = probe
        .query_one("SELECT count(DISTINCT member_id) FROM upgrade_history", &[])
        .await
        .expect("members")
        .get(0);
    assert_eq!(upgraded, eligible, "every eligible member upgraded");

    // Rewards: one grant per upgrade, the rule's points, reflected in the balance.
    let check = probe
        .query_one(
            "SELECT sum(h.reward_points), \
                    sum(CASE WHEN h.reward_points = r.reward_points THEN 1 ELSE 0 END), count(*), \
                    (SELECT sum(reward_points) FROM member_points) \
             FROM upgrade_history h JOIN tier_rules r ON r.tier = h.to_tier AND r.version = h.rule_version",
            &[],
        )
        .await
        .expect("rewards");
    let (granted, matching, n, balance): (i64, i64, i64, i64) =
        (check.get(0), check.get(1), check.get(2), check.get(3));
    assert_eq!(matching, n, "every upgrade carries its tier's points");
    assert_eq!(granted, balance, "the balance reflects every grant once");

    let left: i64 = probe
        .query_one(
            "SELECT count(*) FROM upgrade_evaluation WHERE eligible",
            &[],
        )
        .await
        .expect("evaluate again")
        .get(0);
    assert_eq!(left, 0, "nobody is left eligible");
    let by: String = probe
        .query_one("SELECT min(executed_by) FROM upgrade_history", &[])
        .await
        .expect("executed_by")
        .get(0);
    assert_eq!(by, "cip", "each row records the connection's user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_upgrades_a_newly_eligible_member_within_one_interval() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let interval = Duration::from_secs(3);
    let cfg = config_file(
        dir.path(),
        "[scheduler]\n[[scheduler.jobs]]\nname = \"upgrades\"\n\
         statement = \"SELECT * FROM execute_upgrades()\"\nevery = \"3s\"\n",
    );
    let server = Server::start_with(&data, &["--config", &cfg]);
    let client = server.connect().await;
    client
        .batch_execute(
            "INSERT INTO members (member_id, name, tier, status, registered_at) \
             VALUES ('S1', 'sched', 'basic', 'active', TIMESTAMP '2025-01-01 20:00:00');
             INSERT INTO visits (visit_id, member_id, store_id, started_at, amount) VALUES
              ('s1', 'S1', 'S001', CAST(now() AS TIMESTAMP) - INTERVAL '30 days', 800.00),
              ('s2', 'S1', 'S001', CAST(now() AS TIMESTAMP) - INTERVAL '20 days', 800.00),
              ('s3', 'S1', 'S001', CAST(now() AS TIMESTAMP) - INTERVAL '10 days', 800.00)",
        )
        .await
        .expect("make S1 eligible for silver");
    let eligible: bool = client
        .query_one(
            "SELECT eligible FROM upgrade_evaluation WHERE member_id = 'S1'",
            &[],
        )
        .await
        .expect("evaluate")
        .get(0);
    assert!(eligible);
    let since = Instant::now();
    // One interval, plus time for the run itself on a loaded CI machine.
    let deadline = interval + Duration::from_secs(10);
    let row = loop {
        let rows = client
            .query(
                "SELECT to_tier, executed_by FROM upgrade_history WHERE member_id = 'S1'",
                &[],
            )
            .await
            .expect("history");
        if let Some(r) = rows.first() {
            break (r.get::<_, String>(0), r.get::<_, String>(1));
        }
        assert!(
            since.elapsed() < deadline,
            "no scheduled upgrade within {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(row, ("silver".to_string(), "scheduler".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prepared_execute_upgrades_takes_its_member_as_a_parameter_and_acts_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let cfg = config_file(dir.path(), "[scheduler]\nenabled = false\n");
    let server = Server::start_with(&data, &["--config", &cfg]);
    let client = server.connect().await;
    client
        .batch_execute(
            "INSERT INTO members (member_id, name, tier, status, registered_at) VALUES
              ('P1', 'one', 'basic', 'active', TIMESTAMP '2025-01-01 20:00:00'),
              ('P2', 'two', 'basic', 'active', TIMESTAMP '2025-01-01 20:00:00');
             INSERT INTO visits (visit_id, member_id, store_id, started_at, amount) VALUES
              ('p11', 'P1', 'S001', CAST(now() AS TIMESTAMP) - INTERVAL '30 days', 800.00),
              ('p12', 'P1', 'S001', CAST(now() AS TIMESTAMP) - INTERVAL '20 days', 800.00),
              ('p13', 'P1', 'S001', CAST(now() AS TIMESTAMP) - INTERVAL '10 days', 800.00),
              ('p21', 'P2', 'S001', CAST(now() AS TIMESTAMP) - INTERVAL '30 days', 800.00),
              ('p22', 'P2', 'S001', CAST(now() AS TIMESTAMP) - INTERVAL '20 days', 800.00),
              ('p23', 'P2', 'S001', CAST(now() AS TIMESTAMP) - INTERVAL '10 days', 800.00)",
        )
        .await
        .expect("two eligible members");

    // Parse + Describe: the driver learns one text parameter, and nothing happens yet.
    let stmt = client
        .prepare("SELECT member_id, from_tier, to_tier, message FROM execute_upgrades($1)")
        .await
        .expect("prepare");
    assert_eq!(stmt.params(), &[tokio_postgres::types::Type::TEXT]);
    client
        .simple_query("EXPLAIN SELECT * FROM execute_upgrades('P2')")
        .await
        .expect("explain");
    let none: i64 = client
        .query_one("SELECT count(*) FROM upgrade_history", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(none, 0, "prepare, describe and EXPLAIN do not act");

    let rows = client.query(&stmt, &[&"P1"]).await.expect("execute P1");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, String>(0), "P1");
    assert_eq!(rows[0].get::<_, String>(2), "silver");
    assert!(rows[0]
        .get::<_, String>(3)
        .starts_with("upgraded from basic to silver"));
    // The same prepared statement again: P1 is done; P2 was never touched.
    assert!(client
        .query(&stmt, &[&"P1"])
        .await
        .expect("again")
        .is_empty());
    let tiers = client
        .query(
            "SELECT member_id, current_tier FROM upgrade_evaluation ORDER BY member_id",
            &[],
        )
        .await
        .expect("evaluate");
    let tiers: Vec<(String, String)> = tiers.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        tiers,
        vec![
            ("P1".into(), "silver".into()),
            ("P2".into(), "basic".into())
        ]
    );

    let err = client
        .query(&stmt, &[&"nobody"])
        .await
        .expect_err("unknown member");
    assert_eq!(err.code().map(|c| c.code()), Some("22023"), "{err:?}");
    // The connection is still usable.
    let one = client.query(&stmt, &[&"P2"]).await.expect("execute P2");
    assert_eq!(one.len(), 1);
}

/// What the upgrade run (over everyone) evaluated, from its log line.
fn upgrade_run(dir: &Path) -> String {
    let out = std::process::Command::new(common::cip_bin())
        .arg("--data")
        .arg(dir)
        .args(["sql", "-c", "SELECT count(*) FROM execute_upgrades()"])
        .env("CIP_LOG", "info")
        .output()
        .expect("run cip");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let log = common::stderr(&out);
    let line = log.lines().find(|l| l.contains("tier run done"));
    let evaluated = line.and_then(|l| l.split("evaluated=\"").nth(1));
    evaluated
        .and_then(|e| e.split('"').next())
        .unwrap_or_else(|| panic!("no tier run in {log}"))
        .to_string()
}

/// The upgrade run keeps what it evaluated beside the tables (`_upgrade_run.json`), so a run
/// in a new process — the scheduler after a restart — evaluates only the members whose rows
/// changed since the last run; what it cannot follow (a delete another process made) sends
/// it to everyone.
#[test]
fn a_new_process_evaluates_only_the_members_changed_since_the_last_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    common::generate(dir.path(), 300, 5);
    assert_eq!(upgrade_run(dir.path()), "everyone");
    assert_eq!(upgrade_run(dir.path()), "0 members");
    common::sql(
        dir.path(),
        "INSERT INTO visits (visit_id, member_id, store_id, started_at, amount) \
         SELECT 'run-1', member_id, store_id, now(), 50.00 FROM members \
         WHERE status = 'active' ORDER BY member_id LIMIT 1",
    );
    assert_eq!(upgrade_run(dir.path()), "1 members");
    common::sql(dir.path(), "DELETE FROM visits WHERE visit_id = 'run-1'");
    assert_eq!(upgrade_run(dir.path()), "everyone");
    assert_eq!(upgrade_run(dir.path()), "0 members");
}
