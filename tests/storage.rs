//! Storage guarantees beyond single statements: erasure, format versions, loads, upserts,
//! two processes on one directory, views seeing new rows, the memory limit.

use crate::common;
use std::path::Path;

fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)
            .expect("read dir")
            .filter_map(|e| e.ok())
        {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    hits.push(p.display().to_string());
                }
            }
        }
    }
    hits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erased_member_leaves_no_bytes_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = common::config(dir.path());
    cfg.storage.flush_rows = 50; // the member's rows end up in parts and in the log
    let engine = cip::engine::Engine::open(cfg).await.expect("open");
    let ctx = engine.session().await.expect("session");
    for i in 0..120 {
        let who = if i % 3 == 0 {
            "ERASE-ME-7731"
        } else {
            "KEEP-ME"
        };
        common::rows(&ctx, &format!(
            "INSERT INTO visits (visit_id, member_id, store_id, started_at, amount) VALUES ('V{i}', '{who}', 'S1', TIMESTAMP '2026-02-01 20:00:00', 10.00)"
        )).await;
    }
    assert!(!files_containing(dir.path(), b"ERASE-ME-7731").is_empty());
    common::rows(&ctx, "DELETE FROM visits WHERE member_id = 'ERASE-ME-7731'").await;
    let left = files_containing(dir.path(), b"ERASE-ME-7731");
    assert!(left.is_empty(), "erased rows still on disk in {left:?}");
    let c = common::rows(
        &ctx,
        "SELECT count(*) FROM visits WHERE member_id = 'KEEP-ME'",
    )
    .await;
    assert_eq!(common::count(&c), 80);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_format_and_foreign_folders_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(common::engine(dir.path()).await);
    std::fs::write(
        dir.path().join("_cip.json"),
        r#"{"format_version": 99, "created_by": "cip 9.0"}"#,
    )
    .expect("write");
    let err = cip::engine::Engine::open(common::config(dir.path()))
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("newer cip"), "{err}");

    let foreign = tempfile::tempdir().expect("tempdir");
    std::fs::write(foreign.path().join("notes.txt"), "hello").expect("write");
    let err = cip::engine::Engine::open(common::config(foreign.path()))
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("not a cip data directory"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_view_file_stops_start_up_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queries = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        queries.path().join("01_fine.sql"),
        "CREATE OR REPLACE VIEW fine AS SELECT 1 AS x",
    )
    .expect("write");
    std::fs::write(
        queries.path().join("02_broken.sql"),
        "CREATE OR REPLACE VIEW broken AS SELEC nothing FROM",
    )
    .expect("write");
    let mut cfg = common::config(dir.path());
    cfg.queries_dir = queries.path().to_path_buf();
    let err = cip::engine::Engine::open(cfg)
        .await
        .err()
        .expect("start-up fails");
    assert!(err.to_string().contains("02_broken.sql"), "{err}");

    // A contract view that can leave a member without a segment, or lacks a column, is
    // refused too: here the repository's segments view without its fallback to 'regular'
    // for a member no rule takes.
    let original = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("queries/06_customer_segments_live.sql"),
    )
    .expect("read view");
    let no_else = original.replace(
        "coalesce(s.segment_ids[s.rule_at], 'regular')",
        "s.segment_ids[s.rule_at]",
    );
    assert_ne!(no_else, original, "the view has a fallback to remove");
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
    for edited in [no_else, original.replace("reason", "why")] {
        let q = tempfile::tempdir().expect("tempdir");
        for e in std::fs::read_dir(&repo)
            .expect("queries")
            .filter_map(|e| e.ok())
        {
            let name = e.file_name();
            if name.to_string_lossy().starts_with("06_")
                || !name.to_string_lossy().ends_with(".sql")
            {
                continue;
            }
            std::fs::copy(e.path(), q.path().join(&name)).expect("copy");
        }
        std::fs::write(q.path().join("06_customer_segments_live.sql"), &edited).expect("write");
        let mut cfg = common::config(dir.path());
        cfg.queries_dir = q.path().to_path_buf();
        let err = cip::engine::Engine::open(cfg)
            .await
            .err()
            .expect("start-up fails");
        let msg = err.to_string();
        assert!(msg.contains("06_customer_segments_live.sql"), "{msg}");
        assert!(
            msg.contains("segment_id can be NULL") || msg.contains("column reason"),
            "{msg}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_and_old_sessions_see_the_latest_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = common::engine(dir.path()).await;
    let old = engine.session().await.expect("session");
    // Plan once, so any caching of the view's plan would show.
    assert!(common::rows(&old, "SELECT * FROM member_behavior_live")
        .await
        .is_empty());
    let writer = engine.session().await.expect("session");
    common::rows(&writer, "INSERT INTO visits (visit_id, member_id, store_id, started_at, amount) VALUES ('V1', 'M1', 'S1', TIMESTAMP '2026-02-01 20:00:00', 10.00)").await;
    let r = common::rows(
        &old,
        "SELECT member_id, total_spending FROM member_behavior_live",
    )
    .await;
    assert_eq!(r, vec![vec!["M1".to_string(), "10.00".to_string()]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_is_all_or_nothing_and_upsert_replaces_by_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let good = dir.path().join("members.csv");
    std::fs::write(
        &good,
        "member_id,name,phone,tier,status,registered_at,points,marketing_consent\n\
M1,王伟,13812345678,basic,active,2026-01-02 20:00:00,10,true\n\
M2,李娜,13912345678,silver,active,2026-01-03 20:00:00,20,false\n",
    )
    .expect("write");
    let o = common::cip(&data, &["load", "members", good.to_str().expect("path")]);
    assert!(o.status.success(), "{}", common::stderr(&o));

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "member_id,name,points\nM3,ok,1\nM4,bad,lots\n").expect("write");
    let o = common::cip(&data, &["load", "members", bad.to_str().expect("path")]);
    assert!(!o.status.success());
    let err = common::stderr(&o);
    assert!(
        err.contains("line 3") && err.contains("\"points\"") && err.contains("22P02"),
        "{err}"
    );

    let unknown = dir.path().join("unknown.csv");
    std::fs::write(&unknown, "member_id,shoe_size\nM5,42\n").expect("write");
    let o = common::cip(&data, &["load", "members", unknown.to_str().expect("path")]);
    assert!(!o.status.success() && common::stderr(&o).contains("shoe_size"));

    // A plain load of an existing key is refused; an upsert replaces it.
    let sync = dir.path().join("sync.csv");
    std::fs::write(
        &sync,
        "member_id,name,tier,points\nM2,李娜,gold,500\nM6,新人,basic,0\n",
    )
    .expect("write");
    let o = common::cip(&data, &["load", "members", sync.to_str().expect("path")]);
    assert!(
        !o.status.success() && common::stderr(&o).contains("23505"),
        "{}",
        common::stderr(&o)
    );
    let o = common::cip(
        &data,
        &["load", "--upsert", "members", sync.to_str().expect("path")],
    );
    assert!(o.status.success(), "{}", common::stderr(&o));

    let o = common::cip(
        &data,
        &[
            "sql",
            "-c",
            "SELECT member_id, tier, points FROM members ORDER BY member_id",
        ],
    );
    let out = common::stdout(&o);
    assert!(out.contains("| M1        | basic | 10     |"), "{out}");
    assert!(out.contains("| M2        | gold  | 500    |"), "{out}");
    assert!(out.contains("| M6        | basic | 0      |"), "{out}");
    assert!(out.contains("(3 rows)"), "{out}");
    assert!(
        !out.contains("M3") && !out.contains("M4"),
        "half of a bad file was loaded: {out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_writing_one_directory_lose_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    drop(common::engine(&data).await);
    let csv = dir.path().join("visits.csv");
    let mut text = String::from("visit_id,member_id,store_id,started_at,amount\n");
    for i in 0..5000 {
        text.push_str(&format!("L{i},M{},S1,2026-03-01 21:00:00,12.50\n", i % 100));
    }
    std::fs::write(&csv, text).expect("write");
    let script: String = (0..300)
        .map(|i| {
            format!(
                "INSERT INTO visits (visit_id, member_id, amount) VALUES ('S{i}', 'M1', 1.00);\n"
            )
        })
        .collect();
    let script_path = dir.path().join("inserts.sql");
    std::fs::write(&script_path, script).expect("write");
    let sql = std::process::Command::new(common::cip_bin())
        .arg("--data")
        .arg(&data)
        .args(["sql", "-f"])
        .arg(&script_path)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn sql");
    let loads: Vec<_> = (0..3)
        .map(|_| {
            let (data, csv) = (data.clone(), csv.clone());
            std::thread::spawn(move || {
                common::cip(&data, &["load", "visits", csv.to_str().expect("path")])
            })
        })
        .collect();
    let sql = sql.wait_with_output().expect("sql");
    assert!(sql.status.success());
    for l in loads {
        let o = l.join().expect("load thread");
        assert!(o.status.success(), "{}", common::stderr(&o));
    }
    let o = common::cip(&data, &["sql", "-c", "SELECT count(*) AS n FROM visits"]);
    assert!(
        common::stdout(&o).contains("| 15300 |"),
        "{}",
        common::stdout(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_over_the_memory_limit_fails_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = common::config(dir.path());
    cfg.engine.memory_limit = "2MiB".into();
    let engine = cip::engine::Engine::open(cfg).await.expect("open");
    let ctx = engine.session().await.expect("session");
    let err = ctx
        .sql("SELECT v % 1000 AS k, array_agg(repeat('x', 100) || v) AS a FROM generate_series(1, 300000) AS t(v) GROUP BY 1")
        .await
        .expect("plan")
        .collect()
        .await
        .expect_err("over the limit");
    let state = cip::error::datafusion_sqlstate(&err);
    assert_eq!(state, "53200", "{err}");
    // The engine keeps serving.
    assert_eq!(
        common::rows(&ctx, "SELECT 1").await,
        vec![vec!["1".to_string()]]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_parquet_opens_in_duckdb_and_pyarrow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let o = std::process::Command::new(common::cip_bin())
        .args(["generate", "--members", "500", "--seed", "3", "--out"])
        .arg(&data)
        .output()
        .expect("generate");
    assert!(o.status.success(), "{}", common::stderr(&o));
    // A DELETE rewrites parts; a few inserts go to the log, which a checkpoint flushes.
    common::cip(&data, &["sql", "-c", "DELETE FROM visits WHERE member_id = 'M00000001'; INSERT INTO visits (visit_id, member_id, amount) VALUES ('X1', 'M1', 1.25)"]);
    let o = common::cip(&data, &["checkpoint"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let o = common::cip(
        &data,
        &[
            "sql",
            "-c",
            "SELECT count(*) AS n, sum(amount) AS s FROM visits",
        ],
    );
    let ours = common::stdout(&o);
    let script = format!(
        "import duckdb, pyarrow.parquet as pq, glob\n\
         n, s = duckdb.sql(\"SELECT count(*), sum(amount) FROM read_parquet('{0}/visits/*.parquet')\").fetchall()[0]\n\
         t = sum(pq.read_table(f).num_rows for f in glob.glob('{0}/members/*.parquet'))\n\
         print(n, s, t)",
        data.display()
    );
    let py = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("python3");
    assert!(
        py.status.success(),
        "DuckDB / pyarrow could not read the files (.ci/run installs them): {}",
        common::stderr(&py)
    );
    let theirs = common::stdout(&py);
    let mut it = theirs.split_whitespace();
    let (n, s, members) = (
        it.next().expect("n"),
        it.next().expect("s"),
        it.next().expect("t"),
    );
    assert!(
        ours.contains(&format!("| {n} ")) && ours.contains(&format!(" {s} ")),
        "cip: {ours} duckdb: {theirs}"
    );
    assert_eq!(members, "500");
}
