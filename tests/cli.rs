//! The command line end to end: generate, sql, and the demo data's shape.

use crate::common;

#[test]
fn generate_is_deterministic_and_served_as_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for d in [&a, &b] {
        common::generate(d, 3000, 11);
    }
    let q = "SELECT count(*) AS n, sum(points) AS p, count(DISTINCT store_id) AS s FROM members";
    let (oa, ob) = (
        common::cip(&a, &["sql", "-c", q]),
        common::cip(&b, &["sql", "-c", q]),
    );
    assert!(oa.status.success(), "{}", common::stderr(&oa));
    assert_eq!(common::stdout(&oa), common::stdout(&ob));
    assert!(
        common::stdout(&oa).contains("| 3000 |"),
        "{}",
        common::stdout(&oa)
    );
    assert!(a.join("archetypes.parquet").exists());

    // A realistic chain: about ten visits per member, mostly in the evening, items adding up
    // to their visits, every category sold.
    let out = common::sql(&a, "
        SELECT CAST(count(*) AS DOUBLE) / 3000 BETWEEN 7 AND 13 AS visits_per_member,
               avg(CASE WHEN extract(hour FROM started_at) >= 19 OR extract(hour FROM started_at) < 3 THEN 1.0 ELSE 0.0 END) > 0.85 AS evening
        FROM visits");
    assert!(out.contains("| true              | true    |"), "{out}");
    let out = common::sql(
        &a,
        "
        SELECT count(*) AS mismatched FROM (
          SELECT v.visit_id, v.amount, sum(i.amount) AS items
          FROM visits v JOIN order_items i ON i.visit_id = v.visit_id
          GROUP BY v.visit_id, v.amount) WHERE amount <> items",
    );
    assert!(out.contains("| 0          |"), "{out}");
    let out = common::sql(&a, "SELECT count(DISTINCT category) AS c FROM order_items");
    assert!(out.contains("| 6 |"), "{out}");

    // generate refuses to write into a folder with data.
    let o = std::process::Command::new(common::cip_bin())
        .args(["generate", "--members", "10", "--out"])
        .arg(&a)
        .output()
        .expect("generate");
    assert!(!o.status.success() && common::stderr(&o).contains("not empty"));
}

#[test]
fn sql_errors_exit_non_zero_with_sqlstate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = common::cip(dir.path(), &["sql", "-c", "SELECT * FROM nowhere"]);
    assert!(!o.status.success());
    assert!(
        common::stderr(&o).contains("42P01"),
        "{}",
        common::stderr(&o)
    );
}

#[test]
fn score_writes_every_active_member_to_parquet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    common::generate(&data, 600, 5);
    let out = dir.path().join("scores.parquet");
    let o = common::cip(
        &data,
        &[
            "score",
            "--out",
            out.to_str().expect("utf-8 path"),
            "--as-of",
            "2026-10-31",
        ],
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(
        common::stdout(&o).starts_with("scored "),
        "{}",
        common::stdout(&o)
    );
    assert!(!dir.path().join("scores.parquet.partial").exists());
    // Reading a file in place needs a directory an operator allowed: refused by default,
    // and never inside the data directory.
    let read = format!(
        "CREATE EXTERNAL TABLE s STORED AS PARQUET LOCATION '{}'",
        out.display()
    );
    let o = common::cip(&data, &["sql", "-c", &read]);
    assert!(
        common::stderr(&o).contains("42501"),
        "{}",
        common::stderr(&o)
    );
    let config = dir.path().join("cip.toml");
    std::fs::write(
        &config,
        format!(
            "[engine]\nexternal_table_dirs = [{:?}]\n",
            dir.path().display().to_string()
        ),
    )
    .expect("config");
    let config = config.to_str().expect("utf-8 path");
    let raw = format!(
        "CREATE EXTERNAL TABLE raw STORED AS PARQUET LOCATION '{}'",
        data.join("members").display()
    );
    let o = common::cip(&data, &["--config", config, "sql", "-c", &raw]);
    assert!(
        common::stderr(&o).contains("inside the data directory"),
        "{}",
        common::stderr(&o)
    );
    let o = common::cip(
        &data,
        &[
            "--config",
            config,
            "sql",
            "-c",
            &format!(
            "CREATE EXTERNAL TABLE s STORED AS PARQUET LOCATION '{}'; \
             SELECT (SELECT count(*) FROM members WHERE status = 'active') = count(*) AS all_there, \
                    count(DISTINCT member_id) = count(*) AS once, \
                    bool_and(cardinality(value_tags) > 0) AS tagged, \
                    bool_and(p_alive BETWEEN 0 AND 1 OR p_alive IS NULL) AS probabilities \
             FROM s",
            out.display()
            ),
        ],
    );
    assert!(o.status.success(), "{}", common::stderr(&o));
    let check = common::stdout(&o);
    assert!(
        check.contains("| true      | true | true   | true          |"),
        "{check}"
    );
    // A bad date is refused with the setting's message and no file.
    let bad = dir.path().join("bad.parquet");
    let o = common::cip(
        &data,
        &[
            "score",
            "--out",
            bad.to_str().expect("utf-8 path"),
            "--as-of",
            "31/10/2026",
        ],
    );
    assert!(!o.status.success());
    assert!(
        common::stderr(&o).contains("cip.as_of"),
        "{}",
        common::stderr(&o)
    );
    assert!(!bad.exists());
}
