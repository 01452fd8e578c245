//! Users and roles over the wire: SCRAM-SHA-256 logins, the analyst role reads masked names
//! and phones and may not write or run side-effecting functions (42501) or define anything
//! but views in their own schema, and a server without users refuses to listen beyond
//! loopback.

use crate::common;
use crate::pgwire::Server;
use tokio_postgres::NoTls;

pub(crate) const CONFIG: &str = r#"
[scheduler]
enabled = false

[[users]]
name = "ops"
role = "operator"
password = "ops-secret-1"

[[users]]
name = "ana"
role = "analyst"
password = "ana-secret-1"
"#;

pub(crate) async fn login(
    port: u16,
    user: &str,
    password: &str,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user={user} password={password} dbname=cip"),
        NoTls,
    )
    .await?;
    tokio::spawn(conn);
    Ok(client)
}

pub(crate) fn code(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

/// Asserts that each statement is refused on `client` with SQLSTATE `expected`.
async fn refused(client: &tokio_postgres::Client, statements: &[&str], expected: &str) {
    for sql in statements {
        let e = client
            .simple_query(sql)
            .await
            .err()
            .unwrap_or_else(|| panic!("{sql} was allowed"));
        assert_eq!(code(&e), expected, "{sql}: {e:?}");
    }
}

/// Sends a startup packet with no user and returns the SQLSTATE of the answer.
fn startup_without_user(port: u16) -> String {
    use std::io::{Read, Write};
    let mut body = 196608i32.to_be_bytes().to_vec();
    body.extend_from_slice(b"database\0cip\0\0");
    let mut packet = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    packet.extend_from_slice(&body);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(&packet).expect("startup");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    assert_eq!(answer.first(), Some(&b'E'), "{answer:?}");
    // ErrorResponse fields: a type byte then a NUL-terminated string; C is the SQLSTATE.
    answer[5..]
        .split(|b| *b == 0)
        .find_map(|f| f.strip_prefix(b"C"))
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analysts_read_masked_data_and_cannot_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let cfg = dir.path().join("cip.toml");
    std::fs::write(&cfg, CONFIG).expect("config");
    let server = Server::start_with(&data, &["--config", cfg.to_str().expect("path")]);

    let Err(bad) = login(server.port, "ana", "wrong-password").await else {
        panic!("login accepted");
    };
    assert_eq!(code(&bad), "28P01", "{bad:?}");
    let Err(nobody) = login(server.port, "mallory", "whatever-1").await else {
        panic!("login accepted");
    };
    assert_eq!(code(&nobody), "28P01", "{nobody:?}");
    // A wrong password and an unknown user fail alike: same code, same words, the name the
    // client gave (and both only after the whole SCRAM exchange).
    let message = |e: &tokio_postgres::Error| e.as_db_error().map(|d| d.message().to_string());
    assert_eq!(
        message(&bad).as_deref(),
        Some("password authentication failed for user \"ana\"")
    );
    assert_eq!(
        message(&nobody).as_deref(),
        Some("password authentication failed for user \"mallory\"")
    );
    assert_eq!(startup_without_user(server.port), "28000");

    let ops = login(server.port, "ops", "ops-secret-1")
        .await
        .expect("operator login");
    ops.batch_execute(
        "INSERT INTO members (member_id, name, phone, tier, status, marketing_consent) \
         VALUES ('M1', '王小明', '13812345678', 'basic', 'active', true);
         INSERT INTO campaigns (campaign_id, name) VALUES ('C1', 'one')",
    )
    .await
    .expect("operator writes");

    let ana = login(server.port, "ana", "ana-secret-1")
        .await
        .expect("analyst login");
    let row = ana
        .query_one(
            "SELECT name, phone FROM members WHERE member_id = 'M1'",
            &[],
        )
        .await
        .expect("analyst reads");
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, String>(1)),
        ("王**".to_string(), "138****5678".to_string())
    );
    // Filters see the masked value too: the raw phone cannot be probed.
    let n: i64 = ana
        .query_one(
            "SELECT count(*) FROM members WHERE phone = '13812345678'",
            &[],
        )
        .await
        .expect("filter")
        .get(0);
    assert_eq!(n, 0);
    let raw: String = ops
        .query_one("SELECT phone FROM members WHERE member_id = 'M1'", &[])
        .await
        .expect("operator reads")
        .get(0);
    assert_eq!(raw, "13812345678");

    // Reading views is allowed; writing is not.
    ana.query("SELECT * FROM upgrade_evaluation", &[])
        .await
        .expect("analyst evaluates");
    refused(
        &ana,
        &[
            "INSERT INTO members (member_id, name) VALUES ('M2', 'x')",
            "UPDATE members SET tier = 'gold' WHERE member_id = 'M1'",
            "DELETE FROM members WHERE member_id = 'M1'",
            "SELECT * FROM execute_upgrades()",
            "SELECT * FROM review_tiers()",
            "SELECT * FROM refresh_member_behavior()",
            "SELECT * FROM launch_campaign('new', 'coupon')",
            "INSERT INTO campaign_tracking (campaign_id, member_id, status) VALUES ('C1', 'M1', 'sent')",
        ],
        "42501",
    )
    .await;
    // Knobs that govern the server's resources are the operator's; the session's own
    // settings are anyone's.
    refused(
        &ana,
        &[
            "SET datafusion.execution.target_partitions = 1000",
            "SET datafusion.execution.batch_size = 2000000000",
            "SET datafusion.sql_parser.recursion_limit = 100000",
            "RESET datafusion.execution.batch_size",
        ],
        "42501",
    )
    .await;
    ana.batch_execute(
        "SET cip.as_of = '2026-10-31'; SET datafusion.explain.format = 'indent'; \
         SET TimeZone = 'UTC'",
    )
    .await
    .expect("the session's own settings");
    ops.batch_execute("SET datafusion.execution.batch_size = 4096")
        .await
        .expect("an operator tunes a session");
    // …but not the spill-file size the engine fixes (src/engine.rs): nobody may.
    refused(
        &ops,
        &[
            "SET datafusion.execution.max_spill_file_size_bytes = 134217728",
            "RESET datafusion.execution.max_spill_file_size_bytes",
        ],
        "55P02",
    )
    .await;
    let Err(e) = ana
        .copy_in::<_, &'static [u8]>("COPY members (member_id, name) FROM STDIN (FORMAT csv)")
        .await
    else {
        panic!("COPY FROM allowed");
    };
    assert_eq!(code(&e), "42501", "{e:?}");
    let still: i64 = ops
        .query_one("SELECT count(*) FROM members", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(still, 1, "nothing written by the analyst");

    // An analyst defines views in the schema named after them, and nothing else. (A new
    // connection: tokio-postgres closes one whose COPY was refused.)
    let ana = login(server.port, "ana", "ana-secret-1")
        .await
        .expect("analyst login");
    for sql in [
        "CREATE VIEW mine AS SELECT 1 AS one",
        "CREATE SCHEMA reports",
        "CREATE TABLE ana_copy AS SELECT * FROM members",
        "CREATE SCHEMA IF NOT EXISTS ana; CREATE TABLE ana.t AS SELECT 1 AS one",
        "CREATE INDEX ON members (phone)",
        "DROP INDEX members_pkey",
        "ALTER INDEX members_pkey RENAME TO m",
        "COMMENT ON TABLE members IS 'x'",
    ] {
        let e = ana.batch_execute(sql).await.expect_err(sql);
        assert_eq!(code(&e), "42501", "{sql}: {e:?}");
    }
    ana.batch_execute(
        "CREATE SCHEMA IF NOT EXISTS ana;          CREATE VIEW ana.named AS SELECT member_id, name FROM members;          CREATE OR REPLACE VIEW ana.named__tmp AS SELECT member_id, name, tier FROM members;          DROP VIEW ana.named;          ALTER TABLE ana.named__tmp RENAME TO named;          CREATE TEMP TABLE scratch AS SELECT member_id FROM members",
    )
    .await
    .expect("the analyst's own views");
    let masked: String = ana
        .query_one("SELECT name FROM ana.named", &[])
        .await
        .expect("own view")
        .get(0);
    assert_eq!(masked, "王**");
    // Others read it with their own rights; only its schema's analyst or an operator drops it.
    let raw: String = ops
        .query_one("SELECT name FROM ana.named", &[])
        .await
        .expect("operator reads the analyst's view")
        .get(0);
    assert_eq!(raw, "王小明");
    ops.batch_execute("CREATE SCHEMA shared; CREATE VIEW shared.v AS SELECT 1 AS one")
        .await
        .expect("operator defines views anywhere");
    let e = ana
        .batch_execute("DROP VIEW shared.v")
        .await
        .expect_err("another schema's view");
    assert_eq!(code(&e), "42501", "{e:?}");
    // The analyst describes a view of their own (dbt's persist_docs), not another's.
    ana.batch_execute(
        "COMMENT ON VIEW ana.named IS 'names by member'; \
         COMMENT ON COLUMN ana.named.tier IS 'their tier'",
    )
    .await
    .expect("describe an own view");
    let said: String = ops
        .query_one("SELECT obj_description('ana.named'::regclass)", &[])
        .await
        .expect("description")
        .get(0);
    assert_eq!(said, "names by member");
    let e = ana
        .batch_execute("COMMENT ON VIEW shared.v IS 'x'")
        .await
        .expect_err("another schema's view");
    assert_eq!(code(&e), "42501", "{e:?}");
}

/// pg_roles, pg_authid and pg_user list the configured users with the OIDs the catalog's owner
/// columns use: the owner (the first operator) is 10, as PostgreSQL's bootstrap superuser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_lists_the_configured_users_under_one_set_of_oids() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let cfg = dir.path().join("cip.toml");
    std::fs::write(&cfg, CONFIG).expect("config");
    let server = Server::start_with(&data, &["--config", cfg.to_str().expect("path")]);
    let ana = login(server.port, "ana", "ana-secret-1")
        .await
        .expect("analyst logs in");
    let listed = |sql: &'static str| {
        let ana = &ana;
        async move {
            let rows = ana.query(sql, &[]).await.expect(sql);
            rows.iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| r.get::<_, Option<String>>(i).unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        listed(
            "SELECT rolname::text, oid::text, rolsuper::text, rolcanlogin::text              FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY oid"
        )
        .await,
        ["ops|10|true|true", "ana|1300000000|false|true"]
    );
    assert_eq!(
        listed("SELECT usename::text, usesysid::text, usesuper::text FROM pg_user ORDER BY 2")
            .await,
        ["ops|10|true", "ana|1300000000|false"]
    );
    // The same roles in pg_authid, with PostgreSQL's predefined ones in all three.
    assert_eq!(
        listed(
            "SELECT count(*)::text FROM pg_authid a JOIN pg_roles r ON r.oid = a.oid              AND r.rolname = a.rolname"
        )
        .await,
        ["16"]
    );
    assert_eq!(
        listed("SELECT 'pg_monitor'::regrole::oid::text, to_regrole('ana')::oid::text").await,
        ["3373|1300000000"]
    );
    // Owner columns join to the owner's role; pg_get_userbyid names any role by its OID.
    assert_eq!(
        listed(
            "SELECT DISTINCT r.rolname::text FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner \
             UNION ALL SELECT r.rolname::text FROM pg_namespace n \
             JOIN pg_roles r ON r.oid = n.nspowner WHERE n.nspname = 'public'"
        )
        .await,
        ["ops", "ops"]
    );
    assert_eq!(
        listed(
            "SELECT pg_get_userbyid(10), pg_get_userbyid(1300000000), pg_get_userbyid(0), \
             session_user::text"
        )
        .await,
        ["ops|ana|unknown (OID=0)|ana"]
    );
}

#[test]
fn without_users_the_server_refuses_to_listen_beyond_loopback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(common::cip_bin())
        .arg("--data")
        .arg(dir.path())
        .args(["serve", "--listen", "0.0.0.0:0"])
        .env("CIP_LOG", "warn")
        .output()
        .expect("run cip serve");
    assert!(!out.status.success());
    let err = common::stderr(&out);
    assert!(err.contains("without authentication"), "{err}");
}
