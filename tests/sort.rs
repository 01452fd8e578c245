//! Full sorts by packed integer keys (src/keysort): the same rows in the same order as
//! DataFusion's own sort (`SET cip.key_sort = false`), for ORDER BY and for the sorts under
//! window functions, including the fallbacks: keys wider than 128 bits, and a memory pool too
//! small to hold the rows.

use crate::common;
use datafusion::prelude::SessionContext;

/// 60,000 rows: an integer with ties, text with NULLs and uneven length, a double with NaN,
/// ±0 and infinities, a timestamp, and `v`, unique.
const ROWS: &str = "(SELECT v, v % 37 AS a, \
     CASE WHEN v % 11 = 0 THEN NULL ELSE concat('M', CAST(v * 7 % 1009 AS VARCHAR)) END AS t, \
     CASE v % 13 WHEN 0 THEN CAST('NaN' AS DOUBLE) WHEN 1 THEN -0.0 WHEN 2 THEN 0.0 \
       WHEN 3 THEN CAST('-Infinity' AS DOUBLE) WHEN 4 THEN NULL \
       ELSE CAST(v * 7919 % 1000 AS DOUBLE) / 8.0 - 40 END AS f, \
     to_timestamp_seconds(1767225600 + v * 7 % 5003 * 60) AS ts, \
     CAST(v * 2654435761 % 1000003 AS DOUBLE) / 7.0 AS w1, \
     CAST(v * 40503 % 999983 AS DOUBLE) / 3.0 AS w2, \
     CAST(v * 69069 % 1000033 AS DOUBLE) / 9.0 AS w3 \
     FROM generate_series(1, 60000) AS g(v)) AS src";

/// A session of an engine over a fresh data directory, its config changed by `change`.
async fn session(
    change: impl FnOnce(&mut cip::config::Config),
) -> (tempfile::TempDir, SessionContext) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::config(dir.path());
    change(&mut config);
    let engine = cip::engine::Engine::open(config).await.expect("engine");
    let ctx = engine.session().await.expect("session");
    (dir, ctx)
}

async fn both_ways(ctx: &SessionContext, query: &str) -> Vec<Vec<String>> {
    common::rows(ctx, "SET cip.key_sort = true").await;
    let keyed = common::rows(ctx, query).await;
    common::rows(ctx, "SET cip.key_sort = false").await;
    let usual = common::rows(ctx, query).await;
    common::rows(ctx, "SET cip.key_sort = true").await;
    assert_eq!(keyed.len(), usual.len(), "{query}");
    for (i, (k, u)) in keyed.iter().zip(&usual).enumerate() {
        assert_eq!(k, u, "row {i} of {query}");
    }
    keyed
}

/// The text of EXPLAIN ANALYZE (or EXPLAIN) for a query.
async fn plan(ctx: &SessionContext, explain: &str) -> String {
    common::rows(ctx, explain)
        .await
        .into_iter()
        .map(|r| r.join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn key_sort_orders_rows_as_datafusion_does() {
    let (_dir, ctx) = session(|_| {}).await;
    let order_by = format!(
        "SELECT a, t, f, ts FROM {ROWS} ORDER BY a, t DESC NULLS FIRST, f NULLS FIRST, ts DESC"
    );
    let rows = both_ways(&ctx, &order_by).await;
    assert_eq!(rows.len(), 60_000);
    assert_eq!(rows[0][0], "0");
    assert_eq!(rows[0][1], "NULL", "NULLS FIRST within DESC");
    both_ways(&ctx, &format!("SELECT t, f FROM {ROWS} ORDER BY f DESC, t")).await;
    // A window sort, as the RFM quintiles: ties on `a` broken by text, then by v.
    let ntile = format!(
        "SELECT v, ntile(5) OVER (ORDER BY a, t, v) AS q, \
         rank() OVER (ORDER BY f DESC NULLS LAST, v) AS r FROM {ROWS} ORDER BY v"
    );
    both_ways(&ctx, &ntile).await;
    let analyzed = plan(&ctx, &format!("EXPLAIN ANALYZE {order_by}")).await;
    assert!(analyzed.contains("KeySortExec"), "{analyzed}");
    assert!(
        analyzed.contains("fell_back=0"),
        "sorted by keys: {analyzed}"
    );
    assert!(!analyzed.contains("fell_back=1"), "{analyzed}");
    assert!(!analyzed.contains("fell_back=2"), "{analyzed}");
    common::rows(&ctx, "SET cip.key_sort = false").await;
    let explained = plan(&ctx, &format!("EXPLAIN {order_by}")).await;
    assert!(!explained.contains("KeySortExec"), "{explained}");
    assert!(explained.contains("SortExec"), "{explained}");
    common::rows(&ctx, "SET cip.key_sort = true").await;
    // No rows: nothing to hand over.
    let empty = format!("SELECT a, t FROM {ROWS} WHERE v < 0 ORDER BY a, t");
    assert!(both_ways(&ctx, &empty).await.is_empty());
    let analyzed = plan(&ctx, &format!("EXPLAIN ANALYZE {empty}")).await;
    assert!(!analyzed.contains("fell_back=1"), "{analyzed}");
    // A LIMIT keeps DataFusion's TopK.
    let top = plan(
        &ctx,
        &format!("EXPLAIN SELECT v FROM {ROWS} ORDER BY a, v LIMIT 3"),
    )
    .await;
    assert!(!top.contains("KeySortExec"), "{top}");
}

#[tokio::test]
async fn key_sort_hands_over_wide_keys() {
    let (_dir, ctx) = session(|_| {}).await;
    // Three doubles of ~57 varying bits each do not pack into 128 bits.
    let wide = format!("SELECT w1, w2, w3 FROM {ROWS} ORDER BY w1 DESC, w2, w3");
    both_ways(&ctx, &wide).await;
    let analyzed = plan(&ctx, &format!("EXPLAIN ANALYZE {wide}")).await;
    // Every partition's sort was handed over (one or two, as the plan splits the rows).
    assert!(analyzed.contains("KeySortExec"), "{analyzed}");
    assert!(analyzed.contains("fell_back="), "{analyzed}");
    assert!(!analyzed.contains("fell_back=0"), "{analyzed}");
    let line = analyzed
        .lines()
        .find(|l| l.contains("KeySortExec"))
        .unwrap_or_default();
    assert!(
        !line.contains("output_rows=0"),
        "rows the hand-over sorted count: {line}"
    );
}

#[tokio::test]
async fn key_sort_hands_over_when_memory_runs_short() {
    let (_dir, ctx) = session(|c| {
        c.engine.memory_limit = "12MiB".into();
        c.engine.target_partitions = 1;
    })
    .await;
    let big = "(SELECT v, concat('member-', CAST(v * 7 % 300007 AS VARCHAR), '-', \
        repeat('x', CAST(v % 40 AS INT))) AS t FROM generate_series(1, 300000) AS g(v)) AS big";
    let query = format!("SELECT t, v FROM {big} ORDER BY t, v");
    let rows = both_ways(&ctx, &query).await;
    assert_eq!(rows.len(), 300_000);
    let analyzed = plan(&ctx, &format!("EXPLAIN ANALYZE {query}")).await;
    assert!(analyzed.contains("fell_back=1"), "{analyzed}");
    assert!(
        !analyzed.contains("spill_count=0"),
        "the usual sort spilled: {analyzed}"
    );
}

#[tokio::test]
async fn key_sort_default_comes_from_the_config() {
    let (_dir, ctx) = session(|c| c.engine.key_sort = false).await;
    let query = format!("EXPLAIN SELECT v FROM {ROWS} ORDER BY a, t");
    assert!(!plan(&ctx, &query).await.contains("KeySortExec"));
    common::rows(&ctx, "SET cip.key_sort = true").await;
    assert!(plan(&ctx, &query).await.contains("KeySortExec"));
}

#[tokio::test]
async fn text_a_sort_or_a_join_holds_is_compacted_first() {
    let (_dir, ctx) = session(|_| {}).await;
    // Text read from Parquet is a string view: the sort reads it through CompactViewsExec
    // (src/compact_views.rs), and so does a join's build side; plain strings need none.
    let views = "(SELECT v, arrow_cast(concat('member-', CAST(v AS VARCHAR)), 'Utf8View') AS t \
        FROM generate_series(1, 1000) AS g(v)) AS src";
    let sorted = plan(&ctx, &format!("EXPLAIN SELECT t FROM {views} ORDER BY t")).await;
    assert!(sorted.contains("CompactViewsExec"), "{sorted}");
    let plain = plan(&ctx, &format!("EXPLAIN SELECT v FROM {ROWS} ORDER BY v")).await;
    assert!(!plain.contains("CompactViewsExec"), "{plain}");
    let rows = both_ways(&ctx, &format!("SELECT t FROM {views} ORDER BY t")).await;
    assert_eq!(rows.len(), 1000);
    assert_eq!(rows[0], vec!["member-1".to_string()]);
}

/// The sorts of a plan take their share of a fair pool only once rows reach them: an
/// aggregation under three ntile windows (RFM quintiles) gets the pool to itself while it runs,
/// instead of a share cut by sorts that have nothing to hold yet.
#[tokio::test]
async fn waiting_sorts_leave_the_pool_to_the_aggregation_under_them() {
    let (_dir, ctx) = session(|c| {
        c.engine.memory_limit = "40MiB".into();
        c.engine.memory_pool = cip::share_pool::PoolKind::Fair;
        c.engine.target_partitions = 1;
    })
    .await;
    let query = "WITH f AS (SELECT k, count(*) AS c, max(v) AS m \
        FROM (SELECT concat('M', lpad(CAST(v % 150000 AS VARCHAR), 8, '0')) AS k, v \
              FROM generate_series(1, 300000) AS g(v)) s GROUP BY k) \
        SELECT count(*) AS n, sum(r * 100 + q * 10 + p) AS checksum FROM \
        (SELECT ntile(5) OVER (ORDER BY c, k) AS r, ntile(5) OVER (ORDER BY m, k) AS q, \
                ntile(5) OVER (ORDER BY k) AS p FROM f) w";
    let rows = both_ways(&ctx, query).await;
    assert_eq!(rows[0][0], "150000");
    let analyzed = plan(&ctx, &format!("EXPLAIN ANALYZE {query}")).await;
    let aggregate = analyzed
        .lines()
        .find(|l| l.contains("AggregateExec") && l.contains("gby=[k"))
        .unwrap_or_else(|| panic!("no aggregation by k: {analyzed}"));
    assert!(
        aggregate.contains("spill_count=0"),
        "the aggregation spilled: {aggregate}"
    );
}
