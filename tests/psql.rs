//! psql, the client analysts use first: its catalog commands and \copy against `cip serve`.
//! (.ci/run installs postgresql-client when psql is missing.)

use crate::pgwire::Server;
use std::process::Command;

/// psql connected to the server on `port` as user cip, without ~/.psqlrc.
fn psql_to(port: u16) -> Command {
    let mut c = Command::new("psql");
    c.args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-U", "cip", "-d", "cip", "-X"])
        .env("PGCONNECT_TIMEOUT", "10");
    c
}

/// psql's exit status, standard output and standard error.
fn outcome(o: std::process::Output) -> (bool, String, String) {
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn psql(port: u16, args: &[&str]) -> (bool, String, String) {
    let o = psql_to(port)
        .args(["-v", "ON_ERROR_STOP=1"])
        .args(args)
        .output()
        .expect("psql is installed (.ci/run installs postgresql-client)");
    outcome(o)
}

/// `psql` started with `script` on its standard input (`-f -`), its output piped.
fn with_script(mut psql: Command, script: &str) -> std::process::Child {
    use std::io::Write;
    let mut child = psql
        .args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("psql is installed (.ci/run installs postgresql-client)");
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .expect("write the script");
    }
    child
}

#[test]
fn psql_lists_describes_queries_and_copies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let (ok, out, err) = psql(server.port, &["-c", "\\dt"]);
    assert!(ok, "{err}");
    for t in [
        "members",
        "visits",
        "order_items",
        "campaign_tracking",
        "upgrade_history",
    ] {
        assert!(out.contains(t), "\\dt lacks {t}: {out}");
    }
    let (ok, out, err) = psql(server.port, &["-c", "\\dv"]);
    assert!(ok && out.contains("member_behavior_live"), "{out}{err}");
    let (ok, out, err) = psql(server.port, &["-c", "\\d member_behavior_live"]);
    assert!(
        ok && out.contains("favorite_categories") && out.contains("churn_risk"),
        "{out}{err}"
    );
    // A table's enforced key, with its index, as psql lists them; and \di.
    let (ok, out, err) = psql(server.port, &["-c", "\\d tier_rules"]);
    assert!(
        ok && out.contains("\"tier_rules_pkey\" PRIMARY KEY, btree (tier, version)"),
        "{out}{err}"
    );
    // Foreign keys cip enforces, from both ends.
    let (ok, out, err) = psql(server.port, &["-c", "\\d campaign_tracking"]);
    assert!(
        ok && out.contains("\"campaign_tracking_campaign_id_fkey\" FOREIGN KEY (campaign_id) REFERENCES campaigns(campaign_id)"),
        "{out}{err}"
    );
    let (ok, out, err) = psql(server.port, &["-c", "\\d campaigns"]);
    assert!(
        ok && out
            .contains("TABLE \"message_outbox\" CONSTRAINT \"message_outbox_campaign_id_fkey\""),
        "{out}{err}"
    );
    let (ok, out, err) = psql(server.port, &["-c", "\\di"]);
    assert!(ok && out.contains("members_pkey"), "{out}{err}");
    // The "Default" column: a filled id as a serial's, the time filled at insert.
    let (ok, out, err) = psql(server.port, &["-c", "\\d upgrade_history"]);
    assert!(
        ok && out.contains("nextval('upgrade_history_id_seq'::regclass)") && out.contains("now()"),
        "{out}{err}"
    );

    let csv = dir.path().join("events.csv");
    std::fs::write(
        &csv,
        "campaign_id,member_id,status,revenue,cost\nC1,M1,sent,0,0.05\nC1,M1,converted,120.00,20\n",
    )
    .expect("write csv");
    let copy = format!(
        "\\copy campaign_tracking (campaign_id, member_id, status, revenue, cost) from '{}' with (format csv, header true)",
        csv.display()
    );
    let (ok, out, err) = psql(
        server.port,
        &[
            "-c",
            "INSERT INTO campaigns (campaign_id, name) VALUES ('C1', 'one')",
        ],
    );
    assert!(ok, "{out}{err}");
    let (ok, out, err) = psql(server.port, &["-c", &copy]);
    assert!(ok && out.contains("COPY 2"), "{out}{err}");
    let (ok, out, err) = psql(
        server.port,
        &[
            "-At",
            "-c",
            "SELECT count(*), sum(revenue) FROM campaign_tracking",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "2|120.00");
    // Out again: a CSV header is not a row; the binary format round-trips (numeric, text).
    let out_csv = dir.path().join("out.csv");
    let out_bin = dir.path().join("out.bin");
    let (ok, out, err) = psql(
        server.port,
        &[
            "-c",
            &format!(
                "\\copy (SELECT member_id, status FROM campaign_tracking) to '{}' with (format csv, header true)",
                out_csv.display()
            ),
            "-c",
            "CREATE TABLE bin_t AS SELECT campaign_id, member_id, status, revenue, cost FROM campaign_tracking",
            "-c",
            &format!("\\copy bin_t to '{}' with (format binary)", out_bin.display()),
            "-c",
            &format!("\\copy bin_t from '{}' with (format binary)", out_bin.display()),
        ],
    );
    assert!(ok, "{out}{err}");
    assert_eq!(out.matches("COPY 2").count(), 3, "{out}");
    let csv_out = std::fs::read_to_string(&out_csv).expect("csv out");
    assert_eq!(csv_out.lines().count(), 3, "{csv_out}");
    let bin = std::fs::read(&out_bin).expect("binary out");
    assert!(bin.starts_with(b"PGCOPY\n\xff\r\n\0"), "{bin:?}");
    let (ok, out, err) = psql(
        server.port,
        &[
            "-At",
            "-c",
            "SELECT count(*), sum(revenue), max(status) FROM bin_t",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "4|240.00|sent");
    // A mistake reports its SQLSTATE and psql exits non-zero.
    let (ok, _, err) = psql(
        server.port,
        &[
            "-v",
            "VERBOSITY=verbose",
            "-c",
            "\\set VERBOSITY verbose",
            "-c",
            "SELECT * FROM nowhere",
        ],
    );
    assert!(!ok && err.contains("42P01"), "{err}");
}

#[test]
fn psql_lists_functions_and_shows_view_definitions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    // \df lists cip's functions (from pg_proc, beside PostgreSQL's built-ins) with their
    // arguments and result types.
    let (ok, out, err) = psql(server.port, &["-c", "\\df"]);
    assert!(ok, "{err}");
    for f in [
        "execute_upgrades",
        "launch_campaign",
        "mbgnbd_fit",
        "yuan",
        "ab_bucket",
    ] {
        assert!(out.contains(f), "\\df lacks {f}: {out}");
    }
    let (ok, out, err) = psql(server.port, &["-c", "\\df mbgnbd_p_alive"]);
    assert!(
        ok && out.contains("float8") && out.contains("frequency, recency, t, params"),
        "{out}{err}"
    );
    // The verbose forms run too (sizes are not tracked per relation, so they are empty).
    for verbose in ["\\df+ yuan", "\\dt+", "\\dv+", "\\l+", "\\d+ members"] {
        let (ok, out, err) = psql(server.port, &["-c", verbose]);
        assert!(ok, "{verbose}: {out}{err}");
    }
    // \d+ of a view: its columns and its definition.
    let (ok, out, err) = psql(server.port, &["-c", "\\d+ segment_summary"]);
    assert!(
        ok && out.contains("customer_count") && out.contains("View definition"),
        "{out}{err}"
    );
    // Settings drivers read with current_setting; an unknown one is 42704, as in PostgreSQL.
    let (ok, out, err) = psql(
        server.port,
        &[
            "-At",
            "-c",
            "SELECT current_setting('cip.as_of'), current_setting('server_version')",
        ],
    );
    assert!(ok && out.trim() == "today|16.6", "{out}{err}");
    let (ok, _, err) = psql(
        server.port,
        &[
            "-c",
            "\\set VERBOSITY verbose",
            "-c",
            "SELECT current_setting('no_such')",
        ],
    );
    assert!(!ok && err.contains("42704"), "{err}");
}

/// psql run on a script from standard input (backslash commands that share a line with SQL,
/// like `\gset` and `\crosstabview`, cannot be given with -c).
fn psql_script(port: u16, script: &str) -> (bool, String, String) {
    let mut psql = psql_to(port);
    psql.args(["-v", "ON_ERROR_STOP=1"]);
    outcome(
        with_script(psql, script)
            .wait_with_output()
            .expect("psql ran"),
    )
}

#[test]
fn psql_meta_commands_and_features() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    // Roles, types, privileges, schemas, extensions: each lists what the catalog holds.
    let expected = [
        ("\\du", "cip"),
        ("\\dT", "List of data types"),
        ("\\dT+", "List of data types"),
        ("\\dp members", "members"),
        ("\\dn", "public"),
        ("\\dx", "List of installed extensions"),
        // tableoid joins (\dd, \dL), pg_tablespace_location, pg_char_to_encoding,
        // pg_describe_object, pg_user_mappings.
        ("\\dd", "Object descriptions"),
        ("\\dL", "List of languages"),
        ("\\db", "pg_default"),
        ("\\dO", "List of collations"),
        ("\\dx+", "Objects in extension"),
        ("\\deu", "List of user mappings"),
        // pg_db_role_setting.setconfig as text[]; pg_user from the configured users.
        ("\\drds", "Did not find any settings."),
        ("\\dg", "Superuser"),
        ("\\sv customer_segments", "CREATE OR REPLACE VIEW"),
        ("\\sf yuan", "CREATE OR REPLACE FUNCTION public.yuan("),
    ];
    for (command, wanted) in expected {
        let (ok, out, err) = psql(server.port, &["-c", command]);
        // An empty listing's "Did not find any …" goes to stderr.
        let shown = out.contains(wanted) || err.contains(wanted);
        assert!(ok && shown, "{command}: {out}{err}");
    }
    // \gset, \crosstabview, \errverbose, PREPARE / EXECUTE in one session.
    let script = "\
        SELECT 40 + 2 AS answer \\gset\n\
        \\echo answer=:answer\n\
        SELECT * FROM (VALUES ('gold', 'vip', 3), ('gold', 'loyal', 5), ('silver', 'vip', 7)) \
          AS v(tier, segment, n) ORDER BY 1, 2 \\crosstabview\n\
        PREPARE by_tier(text) AS SELECT count(*) AS n FROM members WHERE tier = $1;\n\
        EXECUTE by_tier('no such tier');\n\
        DEALLOCATE by_tier;\n\
        \\set ON_ERROR_STOP 0\n\
        SELECT * FROM nowhere;\n\
        \\errverbose\n";
    let (ok, out, err) = psql_script(server.port, script);
    assert!(ok, "{out}{err}");
    assert!(out.contains("answer=42"), "\\gset: {out}");
    assert!(
        out.contains("PREPARE") && out.contains("DEALLOCATE"),
        "{out}"
    );
    assert!(out.contains(" n \n---\n 0\n"), "EXECUTE: {out}");
    // \crosstabview: a row per tier, a column per segment, the empty cell left blank.
    let header = out.lines().find(|l| l.trim_start().starts_with("tier"));
    assert!(
        header.is_some_and(|h| h.contains("loyal") && h.contains("vip")),
        "\\crosstabview: {out}"
    );
    let gold = out.lines().find(|l| l.trim_start().starts_with("gold"));
    assert!(
        gold.is_some_and(|g| g.contains('3') && g.contains('5')),
        "\\crosstabview: {out}"
    );
    // Default verbosity leaves the SQLSTATE out; \errverbose repeats the error with it.
    assert!(err.contains("ERROR:  42P01:"), "\\errverbose: {err}");
    // \watch repeats the query until psql is interrupted.
    let mut psql = psql_to(server.port);
    psql.arg("-At");
    let child = with_script(psql, "SELECT 'tick' \\watch 0.2\n");
    std::thread::sleep(std::time::Duration::from_secs(2));
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let o = child.wait_with_output().expect("psql ends");
    let ticks = String::from_utf8_lossy(&o.stdout).matches("tick").count();
    assert!(ticks >= 2, "\\watch ran the query {ticks} times");
}
