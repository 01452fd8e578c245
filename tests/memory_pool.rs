//! The server's memory pool (src/share_pool.rs): an operator spills when others hold the
//! memory, not because many operators are registered. Ranking members by figures aggregated
//! from their visits (RFM quintiles) spilled its aggregation and handed its sorts to
//! DataFusion's under DataFusion's fair pool, far from filling it.

use crate::common;
use cip::share_pool::PoolKind;
use datafusion::error::DataFusionError;

/// 160,000 members' figures from 480,000 visits, ranked: an aggregation under a key sort,
/// in four partitions (partial and final aggregations, repartition channels: a dozen
/// consumers registered that may spill).
const RANKED: &str = "WITH f AS (SELECT k, count(*) AS c, max(v) AS m \
     FROM (SELECT concat('M', lpad(CAST(v / 3 AS VARCHAR), 8, '0')) AS k, v \
           FROM generate_series(0, 479999) AS g(v)) s GROUP BY k) \
     SELECT count(*) AS n, sum(r) AS checksum FROM \
     (SELECT ntile(5) OVER (ORDER BY c, m DESC, k) * (m % 7) AS r FROM f) w";

/// The rows and EXPLAIN ANALYZE of RANKED under `pool` of `limit`, or the error.
async fn ranked(
    pool: PoolKind,
    limit: &str,
) -> Result<(Vec<Vec<String>>, String), DataFusionError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::config(dir.path());
    config.engine.memory_limit = limit.into();
    config.engine.memory_pool = pool;
    config.engine.target_partitions = 4;
    let engine = cip::engine::Engine::open(config).await.expect("engine");
    let ctx = engine.session().await.expect("session");
    let rows = common::to_text(&ctx.sql(RANKED).await?.collect().await?);
    let plan = ctx.sql(&format!("EXPLAIN ANALYZE {RANKED}")).await?;
    let text = common::to_text(&plan.collect().await?)
        .into_iter()
        .map(|r| r.join(" "))
        .collect::<Vec<_>>()
        .join("\n");
    Ok((rows, text))
}

/// Whether any line of `plan` naming `operator` has `metric` other than 0.
fn nonzero(plan: &str, operator: &str, metric: &str) -> bool {
    let lines: Vec<&str> = plan.lines().filter(|l| l.contains(operator)).collect();
    assert!(!lines.is_empty(), "no {operator}: {plan}");
    lines
        .iter()
        .any(|l| l.contains(&format!("{metric}=")) && !l.contains(&format!("{metric}=0")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_spill_only_when_the_memory_is_held() {
    let (rows, plan) = ranked(PoolKind::Share, "48MiB").await.expect("share pool");
    assert_eq!(rows[0][0], "160000");
    let aggregate = "AggregateExec: mode=FinalPartitioned";
    assert!(!nonzero(&plan, aggregate, "spill_count"), "{plan}");
    assert!(!nonzero(&plan, "KeySortExec", "fell_back"), "{plan}");

    // The control: DataFusion's fair pool of the same size spills the aggregation and hands
    // the sorts over, with the same answer — or, depending on which consumers are registered
    // when a sort asks (under load, CI saw it), cannot finish at all.
    match ranked(PoolKind::Fair, "48MiB").await {
        Ok((fair_rows, fair_plan)) => {
            assert_eq!(fair_rows, rows);
            assert!(nonzero(&fair_plan, aggregate, "spill_count"), "{fair_plan}");
            assert!(
                nonzero(&fair_plan, "KeySortExec", "fell_back"),
                "{fair_plan}"
            );
        }
        Err(e) => assert!(
            matches!(e.find_root(), DataFusionError::ResourcesExhausted(_)),
            "the fair pool of 48 MiB: {e}"
        ),
    }
}
