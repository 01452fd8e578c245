//! Every connection numbers the catalog's objects alike: a pool's connections share caches
//! keyed by table OID (pgjdbc's field metadata, BI tools' schema caches). Before, each session
//! numbered them in the order it first met them.

use crate::pgwire::Server;
use tokio_postgres::Client;

/// (OID, name) of every database, schema and relation, and each relation's column count by
/// its OID, as `c` lists them.
async fn numbering(c: &Client) -> Vec<String> {
    let mut out = Vec::new();
    for sql in [
        "SELECT oid::bigint, datname FROM pg_catalog.pg_database ORDER BY 2",
        "SELECT oid::bigint, nspname FROM pg_catalog.pg_namespace ORDER BY 2",
        "SELECT c.oid::bigint, n.nspname || '.' || c.relname FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ORDER BY 2",
        "SELECT attrelid::bigint, CAST(count(*) AS VARCHAR) FROM pg_catalog.pg_attribute \
         GROUP BY 1 ORDER BY 1",
    ] {
        for row in c.query(sql, &[]).await.expect(sql) {
            out.push(format!(
                "{}: {}",
                row.get::<_, i64>(0),
                row.get::<_, String>(1)
            ));
        }
    }
    out
}

async fn oid_of(c: &Client, relation: &str) -> i64 {
    let sql = format!("SELECT '{relation}'::regclass::oid::bigint");
    c.query_one(&sql, &[]).await.expect(&sql).get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_connection_lists_the_same_oids() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    // Each connection first reads a different catalog relation: datafusion-pg-catalog numbers
    // objects in the order a session meets them.
    let firsts = [
        "SELECT count(*) FROM pg_catalog.pg_attribute",
        "SELECT count(*) FROM pg_catalog.pg_namespace",
        "SELECT count(*) FROM pg_catalog.pg_database",
        "SELECT count(*) FROM pg_catalog.pg_class",
        "SELECT count(*) FROM pg_catalog.pg_constraint",
    ];
    let mut clients = Vec::new();
    for first in firsts {
        let c = server.connect().await;
        c.simple_query(first).await.expect(first);
        clients.push(c);
    }
    let expected = numbering(&clients[0]).await;
    assert!(expected.iter().any(|r| r.ends_with(": public.members")));
    assert!(
        expected.contains(&"2200: public".to_string()),
        "{expected:?}"
    );
    assert!(
        expected.contains(&"11: pg_catalog".to_string()),
        "{expected:?}"
    );
    for c in &clients[1..] {
        assert_eq!(numbering(c).await, expected);
    }
    // A table created on one connection has one OID everywhere, also on a connection opened
    // before it existed, and the tables that were there keep theirs.
    let members = oid_of(&clients[1], "members").await;
    clients[2]
        .batch_execute("CREATE TABLE aa_first (id BIGINT PRIMARY KEY)")
        .await
        .expect("create table");
    let created = oid_of(&clients[3], "aa_first").await;
    let late = server.connect().await;
    for c in clients.iter().chain([&late]) {
        assert_eq!(oid_of(c, "aa_first").await, created);
        assert_eq!(oid_of(c, "members").await, members);
    }
    // The key's index and constraint rows name the same table OID on every connection.
    let keyed = "SELECT conrelid::bigint FROM pg_catalog.pg_constraint \
                 WHERE conname = 'aa_first_pkey'";
    for c in clients.iter().chain([&late]) {
        let row = c.query_one(keyed, &[]).await.expect(keyed);
        assert_eq!(row.get::<_, i64>(0), created);
    }
}

/// An OID column cast to another type is described, and sent, as that type: the column's
/// reg* tag used to survive the cast, so binary clients decoded text or int8 as an OID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oid_cast_is_described_as_its_new_type() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    let sql = "SELECT oid::text, oid::bigint, oid, relnamespace::int8 \
               FROM pg_catalog.pg_class WHERE relname = 'members'";
    let row = c.query_one(sql, &[]).await.expect(sql);
    let types: Vec<&str> = row.columns().iter().map(|c| c.type_().name()).collect();
    assert_eq!(types, ["text", "int8", "oid", "int8"]);
    let oid: u32 = row.get(2);
    assert_eq!(row.get::<_, String>(0), oid.to_string());
    assert_eq!(row.get::<_, i64>(1), i64::from(oid));
    assert_eq!(row.get::<_, i64>(3), 2200);
}

/// The catalog's identifiers are PostgreSQL's `name`, an aggregate of them `name[]` (node-pg
/// leaves a `name[]` a string, which Sequelize parses), and a cast makes text again; tokio-
/// postgres reads them in binary, so the element type on the wire must be name as well.
#[tokio::test]
async fn catalog_identifiers_are_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    // (DataFusion names a cast after what it casts, so each aggregate has its own query.)
    let of = |cast: &str| {
        format!(
            "SELECT c.relname{cast}, array_agg(a.attname{cast} ORDER BY a.attnum) \
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid \
             WHERE c.relname = 'tier_rules' AND a.attnum IN (1, 2) GROUP BY c.relname"
        )
    };
    for (cast, types) in [("", ["name", "_name"]), ("::text", ["text", "_text"])] {
        let sql = of(cast);
        let row = c.query_one(&sql, &[]).await.expect(&sql);
        let got: Vec<&str> = row.columns().iter().map(|c| c.type_().name()).collect();
        assert_eq!(got, types, "{sql}");
        assert_eq!(row.get::<_, String>(0), "tier_rules");
        assert_eq!(row.get::<_, Vec<String>>(1), ["tier", "rank"]);
    }
    // A user table's text column stays text, whatever it is called.
    let row = c
        .query_one("SELECT array_agg(name) FROM members", &[])
        .await
        .expect("members");
    assert_eq!(row.columns()[0].type_().name(), "_text");
}
