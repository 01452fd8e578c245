//! Every index of the session's tables as the catalog lists it: each primary key's unique
//! index (keys.rs) and the indexes CREATE INDEX declared (storage's `TableDef::indexes`), as
//! rows of pg_index, pg_class (relkind 'i') and pg_indexes, whose `indexdef` is what
//! `pg_get_indexdef` answers. psql's `\d` / `\di`, pgjdbc's getIndexInfo, SQLAlchemy's
//! get_indexes, Sequelize's showIndex and dbt read these.

use super::key_rows::{boolean, int, utf8};
use super::keys::{Key, Relation, FIRST_OBJECT_OID};
use datafusion::common::ScalarValue;

/// Declared indexes' OIDs: past the foreign keys' range (keys.rs), below the column
/// defaults' (defaults.rs), INDEXES_PER_TABLE per table in the order the table keeps them.
const INDEX_OID_BASE: i32 = 1_160_000_000;
pub const INDEXES_PER_TABLE: usize = 32;

/// PostgreSQL's pg_am OIDs of the access methods an index may name.
const METHODS: &[(&str, i32)] = &[("btree", 403), ("hash", 405), ("brin", 3580)];

/// indoption's bits (PostgreSQL's INDOPTION_DESC, INDOPTION_NULLS_FIRST).
const DESC: i16 = 1;
const NULLS_FIRST: i16 = 2;

#[derive(Debug, Clone)]
pub struct Index {
    pub schema: String,
    pub table: String,
    pub table_oid: i32,
    pub namespace_oid: i32,
    pub oid: i32,
    pub name: String,
    /// (attnum, name, indoption) of each column, in index order.
    pub columns: Vec<(i16, String, i16)>,
    pub unique: bool,
    pub primary: bool,
    pub method: String,
}

impl Index {
    fn of_key(k: &Key) -> Index {
        Index {
            schema: k.schema.clone(),
            table: k.table.clone(),
            table_oid: k.table_oid,
            namespace_oid: k.namespace_oid,
            oid: k.index_oid(),
            name: k.index_name(),
            columns: k.columns.iter().map(|(a, c)| (*a, c.clone(), 0)).collect(),
            unique: true,
            primary: true,
            method: "btree".into(),
        }
    }

    /// What `pg_get_indexdef` gives: PostgreSQL's spelling, ASC and the default NULLS order
    /// left out.
    pub fn definition(&self) -> String {
        let q = super::quoting::quote_ident;
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|(_, c, option)| {
                let desc = option & DESC != 0;
                let nulls_first = option & NULLS_FIRST != 0;
                let mut text = q(c);
                if desc {
                    text.push_str(" DESC");
                }
                match (desc, nulls_first) {
                    (false, true) => text.push_str(" NULLS FIRST"),
                    (true, false) => text.push_str(" NULLS LAST"),
                    _ => {}
                }
                text
            })
            .collect();
        format!(
            "CREATE {}INDEX {} ON {}.{} USING {} ({})",
            if self.unique { "UNIQUE " } else { "" },
            q(&self.name),
            q(&self.schema),
            q(&self.table),
            self.method,
            columns.join(", ")
        )
    }

    fn method_oid(&self) -> i32 {
        METHODS
            .iter()
            .find(|(m, _)| *m == self.method)
            .map_or(403, |(_, oid)| *oid)
    }
}

/// Whether cip keeps indexes of access method `method`.
pub fn is_method(method: &str) -> bool {
    METHODS.iter().any(|(m, _)| *m == method)
}

/// The indexes of `relations`: the primary keys' (`keys`), then each table's declared ones
/// (the first INDEXES_PER_TABLE; CREATE INDEX makes no more).
pub fn all(relations: &[Relation], keys: &[Key]) -> Vec<Index> {
    let mut out: Vec<Index> = keys.iter().map(Index::of_key).collect();
    for r in relations {
        let Some(def) = crate::warehouse::stored_definition(&r.provider) else {
            continue;
        };
        let slots = (r.table_oid - FIRST_OBJECT_OID).max(0) as usize * INDEXES_PER_TABLE;
        for (k, index) in def.indexes.iter().take(INDEXES_PER_TABLE).enumerate() {
            let columns = index
                .columns
                .iter()
                .filter_map(|c| {
                    let attnum = i16::try_from(def.schema.index_of(&c.name).ok()? + 1).ok()?;
                    let option = if c.descending { DESC } else { 0 }
                        | if c.nulls_first { NULLS_FIRST } else { 0 };
                    Some((attnum, c.name.clone(), option))
                })
                .collect();
            out.push(Index {
                schema: r.schema.clone(),
                table: r.table.clone(),
                table_oid: r.table_oid,
                namespace_oid: r.namespace_oid,
                oid: INDEX_OID_BASE.saturating_add(i32::try_from(slots + k).unwrap_or(i32::MAX)),
                name: index.name.clone(),
                columns,
                unique: index.unique,
                primary: false,
                method: index.method.clone(),
            });
        }
    }
    out
}

/// One value per column, joined as an int2vector's / oidvector's text.
fn vector(i: &Index, value: impl Fn(&(i16, String, i16)) -> String) -> Option<ScalarValue> {
    let values: Vec<String> = i.columns.iter().map(value).collect();
    utf8(values.join(" "))
}

pub fn index_value(i: &Index, column: &str) -> Option<ScalarValue> {
    match column {
        "indexrelid" => int(i.oid),
        "indrelid" => int(i.table_oid),
        "indnatts" | "indnkeyatts" => int(i.columns.len() as i32),
        "indisunique" => boolean(i.unique),
        "indisprimary" => boolean(i.primary),
        "indimmediate" | "indisvalid" | "indisready" | "indislive" => boolean(true),
        "indnullsnotdistinct"
        | "indisexclusion"
        | "indisclustered"
        | "indcheckxmin"
        | "indisreplident" => boolean(false),
        "indkey" => vector(i, |(a, _, _)| a.to_string()),
        "indoption" => vector(i, |(_, _, o)| o.to_string()),
        "indcollation" | "indclass" => vector(i, |_| "0".into()),
        _ => None,
    }
}

/// The index as a pg_class row.
pub fn index_class_value(i: &Index, column: &str) -> Option<ScalarValue> {
    match column {
        "oid" | "relfilenode" => int(i.oid),
        "relname" => utf8(i.name.clone()),
        "relnamespace" => int(i.namespace_oid),
        "relam" => int(i.method_oid()),
        "relkind" => utf8("i"),
        "relpersistence" => utf8("p"),
        "relreplident" => utf8("n"),
        "relnatts" => int(i.columns.len() as i32),
        "relpages" => int(1),
        "reltuples" => Some(ScalarValue::Float64(Some(0.0))),
        "relispopulated" => boolean(true),
        "reloftype" | "relrewrite" | "relpartbound" => None,
        c if c.starts_with("relhas") || c.starts_with("relis") || c.starts_with("relrow") => {
            boolean(false)
        }
        c if c.starts_with("relforce") => boolean(false),
        _ => int(0),
    }
}

pub fn indexes_value(i: &Index, column: &str) -> Option<ScalarValue> {
    match column {
        "schemaname" => utf8(i.schema.clone()),
        "tablename" => utf8(i.table.clone()),
        "indexname" => utf8(i.name.clone()),
        "indexdef" => utf8(i.definition()),
        _ => None,
    }
}
