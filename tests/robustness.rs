//! Nothing a client sends ends the server: every catalog relation read whole, statements that
//! once overflowed a stack (pg_roles, a 2,000-term sum, 10,000 OR-ed terms), and thousands of
//! generated random statements over the real tables, views and functions — NULL, NaN, huge,
//! empty and unicode values, nested subqueries, deep parentheses, garbage. After each the
//! server must still answer; the error classes are printed (XX000 is a bug, not a user error).

use crate::pgwire::Server;
use std::collections::BTreeMap;
use tokio_postgres::{Client, SimpleQueryMessage};

/// Random statements per run (CIP_FUZZ_STATEMENTS overrides, e.g. for a longer run by hand).
const STATEMENTS: usize = 10_000;

/// xorshift64*: reproducible from the seed printed on failure.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

struct Relation {
    name: String,
    columns: Vec<String>,
}

const VALUES: &[&str] = &[
    "NULL",
    "0",
    "1",
    "-1",
    "9223372036854775807",
    "-9223372036854775808",
    "1e308",
    "'NaN'::double precision",
    "'Infinity'::double precision",
    "0.1",
    "''",
    "'x'",
    "'a''b'",
    "'中文 🎉 ü'",
    "repeat('x', 1000)",
    "true",
    "false",
    "DATE '2026-10-31'",
    "TIMESTAMP '2026-10-31 01:30:00'",
    "CAST(NULL AS bigint)",
    "ARRAY[1, 2, NULL]",
    "'{a,b}'::text[]",
    "'[1,2]'",
];

const BINARY: &[&str] = &[
    "+",
    "-",
    "*",
    "/",
    "%",
    "||",
    "=",
    "<>",
    "<",
    ">=",
    "AND",
    "OR",
    "LIKE",
    "IS DISTINCT FROM",
];

const FUNCTIONS: &[&str] = &[
    "abs",
    "coalesce",
    "length",
    "upper",
    "lower",
    "round",
    "sqrt",
    "ln",
    "nullif",
    "greatest",
    "least",
    "md5",
    "trim",
    "substr",
    "concat",
    "to_char",
    "date_trunc",
    "extract_epoch",
    "business_date",
    "mask_phone",
    "mask_name",
    "ab_bucket",
    "array_length",
    "cardinality",
    "to_timestamp",
    "current_setting",
    "pg_typeof",
    "format_type",
    "quote_ident",
    "version",
];

struct Gen<'a> {
    rng: Rng,
    relations: &'a [Relation],
}

impl Gen<'_> {
    fn value(&mut self) -> String {
        self.rng.pick(VALUES).to_string()
    }

    fn expr(&mut self, columns: &[String], depth: usize) -> String {
        if depth == 0 || self.rng.chance(25) {
            return if !columns.is_empty() && self.rng.chance(50) {
                self.rng.pick(columns).clone()
            } else {
                self.value()
            };
        }
        let d = depth - 1;
        match self.rng.below(11) {
            0 => format!("-({})", self.expr(columns, d)),
            1 => format!("NOT ({})", self.expr(columns, d)),
            2 | 3 => {
                let op = self.rng.pick(BINARY);
                format!("({} {op} {})", self.expr(columns, d), self.expr(columns, d))
            }
            4 | 5 => {
                let f = self.rng.pick(FUNCTIONS);
                let n = self.rng.below(3) + usize::from(self.rng.chance(80));
                let args: Vec<String> = (0..n).map(|_| self.expr(columns, d)).collect();
                format!("{f}({})", args.join(", "))
            }
            6 => {
                let t = self.rng.pick(&[
                    "bigint",
                    "int",
                    "double precision",
                    "text",
                    "numeric(10,2)",
                    "boolean",
                    "date",
                    "timestamp",
                    "varchar(3)",
                    "smallint",
                ]);
                format!("CAST({} AS {t})", self.expr(columns, d))
            }
            7 => format!(
                "CASE WHEN {} THEN {} ELSE {} END",
                self.expr(columns, d),
                self.expr(columns, d),
                self.expr(columns, d)
            ),
            8 => {
                let r = self.rng.pick(self.relations);
                let c = self.rng.pick(&r.columns).clone();
                let agg = self.rng.pick(&["max", "min", "count", "sum", "avg"]);
                format!("(SELECT {agg}({c}) FROM {})", r.name)
            }
            9 => {
                let n = self.rng.below(120);
                format!(
                    "{}{}{}",
                    "(".repeat(n),
                    self.expr(columns, d),
                    ")".repeat(n)
                )
            }
            _ => format!(
                "{} IN ({}, {})",
                self.expr(columns, d),
                self.value(),
                self.value()
            ),
        }
    }

    /// A statement over one of the views of queries/ (their columns unknown: `*` and count).
    fn over_a_view(&mut self) -> String {
        let view = self.rng.pick(&[
            "customer_segments",
            "customer_tags",
            "segment_summary",
            "upgrade_evaluation",
            "campaign_proposals",
            "member_features",
        ]);
        let filter = self.expr(&[], 2);
        format!(
            "SELECT *, {filter} FROM {view} WHERE {} LIMIT 5",
            self.expr(&[], 2)
        )
    }

    fn statement(&mut self) -> String {
        match self.rng.below(20) {
            0 => {
                // Garbage: random tokens.
                let words = [
                    "SELECT", "FROM", "(", ")", ",", "'", "WHERE", "1", "members", ";", "ORDER",
                    "BY",
                ];
                (0..self.rng.below(12) + 1)
                    .map(|_| *self.rng.pick(&words))
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            1 => format!("SELECT {}", self.expr(&[], 6)),
            2 => {
                // Long chains are their own test (planning them is quadratic in DataFusion).
                let terms = self.rng.below(300) + 1;
                let op = self.rng.pick(&["+", "OR", "||", "*"]);
                format!("SELECT {}", vec!["1"; terms].join(&format!(" {op} ")))
            }
            _ => {
                let r = self.rng.pick(self.relations);
                let columns = r.columns.clone();
                let n = self.rng.below(3) + 1;
                let exprs: Vec<String> = (0..n).map(|_| self.expr(&columns, 4)).collect();
                let mut sql = format!("SELECT {} FROM {} t", exprs.join(", "), r.name);
                if self.rng.chance(50) {
                    sql.push_str(&format!(" WHERE {}", self.expr(&columns, 3)));
                }
                if self.rng.chance(20) {
                    sql.push_str(&format!(" GROUP BY {}", self.rng.pick(&columns)));
                }
                if self.rng.chance(30) {
                    sql.push_str(" ORDER BY 1");
                }
                sql.push_str(&format!(" LIMIT {}", self.rng.below(20)));
                sql
            }
        }
    }
}

/// The warehouse's tables' columns, in order: (table, column, PostgreSQL type name).
pub async fn base_table_columns(c: &Client) -> Vec<(String, String, String)> {
    c.query(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c \
         JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
         ORDER BY c.table_name, c.ordinal_position",
        &[],
    )
    .await
    .expect("columns")
    .iter()
    .map(|row| (row.get(0), row.get(1), row.get(2)))
    .collect()
}

/// The SQLSTATE of a failed statement, or "ok".
async fn outcome(client: &Client, sql: &str) -> Result<String, String> {
    match client.simple_query(sql).await {
        Ok(messages) => {
            let _ = messages
                .iter()
                .filter(|m| matches!(m, SimpleQueryMessage::Row(_)))
                .count();
            Ok("ok".into())
        }
        Err(e) => match e.as_db_error() {
            Some(db) => Ok(db.code().code().to_string()),
            None => Err(format!("{sql}: the connection broke: {e}")),
        },
    }
}

async fn alive(client: &Client, after: &str) {
    let rows = client
        .simple_query("SELECT 42")
        .await
        .unwrap_or_else(|e| panic!("the server stopped answering after {after:?}: {e}"));
    assert!(rows.iter().any(|m| matches!(m, SimpleQueryMessage::Row(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_that_once_overflowed_the_stack_are_answered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    let n: i64 = c
        .query_one("SELECT count(*) FROM pg_catalog.pg_roles", &[])
        .await
        .expect("pg_roles")
        .get(0);
    assert!(n >= 1);
    let sum = format!("SELECT {}", vec!["1"; 2_000].join("+"));
    let total: i64 = c.query_one(&sum, &[]).await.expect("sum").get(0);
    assert_eq!(total, 2_000);
    let ors: Vec<String> = (0..10_000)
        .map(|i| format!("member_id = 'M{i:08}'"))
        .collect();
    let or_sql = format!("SELECT count(*) FROM members WHERE {}", ors.join(" OR "));
    c.simple_query(&or_sql).await.expect("10,000 OR-ed terms");
    // Deeper than the bound: refused with PostgreSQL's code, the connection goes on.
    let deep = format!("SELECT {}", vec!["1"; 12_500].join("+"));
    let e = c.simple_query(&deep).await.expect_err("too deep");
    assert_eq!(e.code().map(|c| c.code()), Some("54001"));
    let nested = format!("SELECT {}1{}", "(".repeat(600), ")".repeat(600));
    let e = c.simple_query(&nested).await.expect_err("too nested");
    assert_eq!(e.code().map(|c| c.code()), Some("54001"));
    alive(&c, "deep statements").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_catalog_relation_reads_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    let relations = c
        .query(
            "SELECT table_schema, table_name FROM information_schema.tables \
             WHERE table_schema IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
            &[],
        )
        .await
        .expect("list the catalogs");
    assert!(
        relations.len() > 50,
        "{} catalog relations",
        relations.len()
    );
    let mut failed = Vec::new();
    for r in &relations {
        let (schema, name): (String, String) = (r.get(0), r.get(1));
        let sql = format!("SELECT * FROM {schema}.{name}");
        match c.simple_query(&sql).await {
            Ok(_) => {}
            Err(e) if e.as_db_error().is_some() => failed.push(format!("{sql}: {e}")),
            Err(e) => panic!("{sql} broke the connection: {e}"),
        }
        alive(&c, &sql).await;
    }
    assert!(
        failed.is_empty(),
        "{} relations failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_statements_never_take_the_server_down() {
    let dir = tempfile::tempdir().expect("tempdir");
    crate::common::generate(dir.path(), 200, 11);
    let server = Server::start(dir.path());
    let c = server.connect().await;
    // Tables only: the views compute the models, which a debug build does slowly (the views
    // get their own share below).
    let mut relations: Vec<Relation> = Vec::new();
    for (table, column, _) in base_table_columns(&c).await {
        match relations.last_mut() {
            Some(r) if r.name == table => r.columns.push(format!("t.{column}")),
            _ => relations.push(Relation {
                name: table,
                columns: vec![format!("t.{column}")],
            }),
        }
    }
    let seed = std::env::var("CIP_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_c1b0_u64);
    let count = std::env::var("CIP_FUZZ_STATEMENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(STATEMENTS);
    let mut generator = Gen {
        rng: Rng(seed),
        relations: &relations,
    };
    let mut classes: BTreeMap<String, usize> = BTreeMap::new();
    let mut internal = Vec::new();
    for i in 0..count {
        let sql = if i % 50 == 0 {
            generator.over_a_view()
        } else {
            generator.statement()
        };
        let code = outcome(&c, &sql)
            .await
            .unwrap_or_else(|e| panic!("statement {i} (seed {seed:#x}): {e}"));
        if code == "XX000" {
            internal.push(sql.chars().take(300).collect::<String>());
        }
        *classes
            .entry(code.get(..2).unwrap_or("??").to_string())
            .or_default() += 1;
        if i % 100 == 0 {
            alive(&c, &sql).await;
        }
    }
    alive(&c, "the last statement").await;
    eprintln!("{count} random statements (seed {seed:#x}), by SQLSTATE class: {classes:?}");
    for s in internal.iter().take(20) {
        eprintln!("XX000: {s}");
    }
    // Plain mistakes get PostgreSQL's classes (42804, 42883, 42703, …); XX000 is for bugs.
    assert!(
        internal.len() * 100 < count,
        "{} of {count} statements were internal errors (XX000)",
        internal.len()
    );
}
