//! A statement whose repartition spills under a small memory pool ends — with its rows or
//! with 53200 — and never parks every thread. DataFusion 55.2's RepartitionExec deadlocks
//! when two input tasks spill into one output partition's spill pool at once and leave two
//! files open (apache/datafusion#24883, fixed after 55.2); the engine keeps one batch per
//! spill file so that no file stays open (src/engine.rs).

use crate::common;
use datafusion::error::DataFusionError;
use std::time::Duration;

/// Two partitions feeding a hash repartition of many small batches: several input tasks
/// spill into each output partition's pool while the pool is full.
const GROUPED: &str = "SELECT g, count(DISTINCT t) AS n FROM (\
     SELECT v % 13 AS g, \
       arrow_cast(CASE WHEN v % 29 = 0 THEN NULL ELSE md5(CAST(v % 337 AS VARCHAR)) END, \
         'Utf8View') AS t \
     FROM generate_series(1, 40000) AS s(v)) AS e GROUP BY g";

/// What one run of GROUPED gave: its row count and whether a repartition spilled, or None
/// when the pool refused it outright (a legitimate answer to a pool this small).
async fn run_once() -> Option<(usize, bool)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::config(dir.path());
    config.engine.memory_limit = "4MiB".into();
    config.engine.target_partitions = 2;
    let engine = cip::engine::Engine::open(config).await.expect("engine");
    let ctx = engine.session().await.expect("session");
    common::rows(&ctx, "SET datafusion.execution.batch_size = 64").await;
    let analyzed = match ctx.sql(&format!("EXPLAIN ANALYZE {GROUPED}")).await {
        Ok(df) => df.collect().await,
        Err(e) => Err(e),
    };
    let batches = match analyzed {
        Ok(b) => b,
        Err(e) if matches!(e.find_root(), DataFusionError::ResourcesExhausted(_)) => return None,
        Err(e) => panic!("{GROUPED}: {e}"),
    };
    let text = common::to_text(&batches)
        .into_iter()
        .map(|r| r.join(" "))
        .collect::<Vec<_>>()
        .join("\n");
    let spilled = text
        .lines()
        .filter(|l| l.contains("RepartitionExec"))
        .any(|l| !l.contains("spill_count=0") && l.contains("spill_count="));
    let rows = common::rows(&ctx, GROUPED).await.len();
    Some((rows, spilled))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_spilling_repartition_finishes() {
    let mut spilled = 0;
    for attempt in 0..8 {
        // A hang detector, not a timing: a healthy run takes well under a second.
        match tokio::time::timeout(Duration::from_secs(60), run_once()).await {
            Err(_) => panic!("attempt {attempt}: the grouped count never finished (deadlock)"),
            Ok(None) => {}
            Ok(Some((rows, did_spill))) => {
                assert_eq!(rows, 13, "attempt {attempt}");
                spilled += usize::from(did_spill);
            }
        }
    }
    // Without a spill this test would prove nothing: the pool must stay small enough.
    assert!(spilled > 0, "no attempt spilled in a repartition");
}
