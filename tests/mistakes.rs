//! Plain user mistakes answered with PostgreSQL's SQLSTATEs (issue 22): a labelled corpus of
//! 2,000 wrong statements, generated over the warehouse's own tables and columns, each kind
//! with the code PostgreSQL gives it. A client tells a typo from a bug by the code: XX000 is
//! for cip's defects only.

use crate::pgwire::Server;
use std::collections::BTreeMap;
use tokio_postgres::{Client, SimpleQueryMessage};

const STATEMENTS: usize = 2_000;

struct Table {
    name: String,
    numbers: Vec<String>,
    texts: Vec<String>,
}

/// One kind of mistake: its statements over a table and the SQLSTATE PostgreSQL answers.
struct Kind {
    name: &'static str,
    code: &'static str,
    statements: fn(&Table, usize) -> Option<String>,
}

fn pick(items: &[String], i: usize) -> Option<&String> {
    (!items.is_empty()).then(|| &items[i % items.len()])
}

fn any_column(t: &Table, i: usize) -> Option<&String> {
    let all: Vec<&String> = t.numbers.iter().chain(&t.texts).collect();
    (!all.is_empty()).then(|| all[i % all.len()])
}

const KINDS: &[Kind] = &[
    Kind {
        name: "undefined table",
        code: "42P01",
        statements: |t, i| {
            let n = &t.name;
            Some(match i % 4 {
                0 => format!("SELECT * FROM {n}_gone"),
                1 => format!("SELECT count(*) FROM {n} a JOIN {n}_x{i} b ON true"),
                2 => format!("DELETE FROM {n}_old WHERE true"),
                _ => format!("INSERT INTO x{i}_{n} VALUES (1)"),
            })
        },
    },
    Kind {
        name: "undefined column",
        code: "42703",
        statements: |t, i| {
            let (n, c) = (&t.name, any_column(t, i)?);
            Some(match i % 4 {
                0 => format!("SELECT {c}_typo FROM {n}"),
                1 => format!("SELECT * FROM {n} WHERE {c}x = 1"),
                2 => format!("SELECT * FROM {n} ORDER BY x_{c}"),
                _ => format!("SELECT count(*) FROM {n} GROUP BY {c}{i}"),
            })
        },
    },
    Kind {
        name: "no such function for these arguments",
        code: "42883",
        statements: |t, i| {
            let n = &t.name;
            Some(match i % 4 {
                0 => format!("SELECT no_such_{i}({}) FROM {n}", any_column(t, i)?),
                1 => format!("SELECT lower({}, 1, 2) FROM {n}", any_column(t, i)?),
                2 => format!("SELECT sqrt({}) FROM {n}", pick(&t.texts, i)?),
                _ => format!("SELECT upper({}) FROM {n}", pick(&t.numbers, i)?),
            })
        },
    },
    Kind {
        name: "predicate not boolean",
        code: "42804",
        statements: |t, i| {
            let (n, c) = (&t.name, pick(&t.numbers, i)?);
            Some(match i % 3 {
                0 => format!("SELECT * FROM {n} WHERE {c}"),
                1 => format!("SELECT * FROM {n} WHERE {c} + {i}"),
                _ => format!("SELECT count(*) FROM {n} a JOIN {n} b ON a.{c}"),
            })
        },
    },
    Kind {
        name: "column outside GROUP BY",
        code: "42803",
        statements: |t, i| {
            let (n, c) = (&t.name, any_column(t, i)?);
            Some(match i % 2 {
                0 => format!("SELECT {c}, count(*) FROM {n}"),
                _ => format!("SELECT {c}, max({c}) FROM {n}"),
            })
        },
    },
    Kind {
        name: "ambiguous column",
        code: "42702",
        statements: |t, i| {
            let (n, c) = (&t.name, any_column(t, i)?);
            Some(format!("SELECT {c} FROM {n} a, {n} b LIMIT {i}"))
        },
    },
    Kind {
        name: "syntax error",
        code: "42601",
        statements: |t, i| {
            let (n, c) = (&t.name, any_column(t, i)?);
            Some(match i % 5 {
                0 => format!("SELECT {c} FROM {n} WHERE"),
                1 => format!("SELEC {c} FROM {n}"),
                2 => format!("SELECT ({c} FROM {n}"),
                3 => format!("SELECT {c} FROM {n} LIMIT"),
                // Not `SELECT c + FROM t`: sqlparser reads FROM there as a column name.
                _ => format!("SELECT {c} FROM {n} ORDER {c}"),
            })
        },
    },
    Kind {
        name: "division by zero",
        code: "22012",
        statements: |t, i| {
            let n = &t.name;
            Some(match i % 2 {
                0 => format!("SELECT {i} / (count(*) * 0) FROM {n}"),
                _ => format!("SELECT {i} % (count(*) - count(*)) FROM {n}"),
            })
        },
    },
    Kind {
        name: "invalid text for a type",
        code: "22P02",
        statements: |t, i| {
            let n = &t.name;
            Some(match i % 2 {
                0 => format!("SELECT CAST('{n}' AS INTEGER) FROM {n}"),
                _ => format!("SELECT count(*) FROM {n} WHERE '{i}x'::BIGINT > 0"),
            })
        },
    },
    // PostgreSQL's date and timestamp input reports its own code (22007), not 22P02.
    Kind {
        name: "invalid date or time",
        code: "22007",
        statements: |t, i| {
            let n = &t.name;
            Some(match i % 2 {
                0 => format!("SELECT DATE '{n}-{i}' FROM {n}"),
                _ => format!("SELECT count(*) FROM {n} WHERE TIMESTAMP '{i}:{n}' IS NULL"),
            })
        },
    },
];

async fn tables(c: &Client) -> Vec<Table> {
    let mut tables: Vec<Table> = Vec::new();
    for (table, column, ty) in crate::robustness::base_table_columns(c).await {
        if tables.last().is_none_or(|t| t.name != table) {
            tables.push(Table {
                name: table,
                numbers: vec![],
                texts: vec![],
            });
        }
        let t = tables.last_mut().expect("a table");
        match ty.as_str() {
            "integer" | "bigint" | "smallint" | "numeric" | "double precision" | "real" => {
                t.numbers.push(column)
            }
            "text" | "character varying" => t.texts.push(column),
            _ => {}
        }
    }
    tables
}

async fn sqlstate(c: &Client, sql: &str) -> String {
    match c.simple_query(sql).await {
        Ok(messages) => {
            let rows = messages
                .iter()
                .filter(|m| matches!(m, SimpleQueryMessage::Row(_)))
                .count();
            format!("ok ({rows} rows)")
        }
        Err(e) => match e.as_db_error() {
            Some(db) => db.code().code().to_string(),
            None => panic!("{sql}: the connection broke: {e}"),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_mistakes_get_postgresql_sqlstates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    let tables = tables(&c).await;
    assert!(tables.len() >= 8, "the warehouse's tables");
    let mut corpus = Vec::new();
    let mut i = 0;
    while corpus.len() < STATEMENTS {
        let kind = &KINDS[i % KINDS.len()];
        let table = &tables[(i / KINDS.len()) % tables.len()];
        if let Some(sql) = (kind.statements)(table, i / (KINDS.len() * tables.len()) + i) {
            corpus.push((kind, sql));
        }
        i += 1;
    }
    let mut wrong: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut internal = 0;
    for (kind, sql) in &corpus {
        let got = sqlstate(&c, sql).await;
        internal += usize::from(got == "XX000");
        if got != kind.code {
            wrong
                .entry(kind.name)
                .or_default()
                .push(format!("{sql} → {got} (expected {})", kind.code));
        }
    }
    let missed: usize = wrong.values().map(Vec::len).sum();
    for (kind, cases) in &wrong {
        eprintln!("{kind}: {} wrong, e.g.", cases.len());
        for case in cases.iter().take(3) {
            eprintln!("  {case}");
        }
    }
    assert!(internal * 100 < STATEMENTS, "{internal} internal errors");
    assert_eq!(
        missed, 0,
        "{missed} of {STATEMENTS} statements got another SQLSTATE"
    );
}
