//! The primary keys of the session's tables, listed where PostgreSQL lists them: a `p` row in
//! pg_constraint, its unique index in pg_index and pg_class (the table's `relhasindex` true),
//! and the index's definition in pg_indexes (which `pg_get_indexdef` reads). SQLAlchemy's
//! `get_pk_constraint` (1.4 reads pg_index.indkey, 2.x pg_constraint.conkey), pgjdbc's
//! `getPrimaryKeys` and psql's "Indexes:" all read these. A key is listed when the table
//! provider declares one (`TableProvider::constraints`), as cip's enforced keys are; OIDs
//! are the table's from pg_class plus a fixed offset, so every catalog query of a session
//! agrees on them.

use super::weak_list::WeakCatalogList;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int32Type, SchemaRef};
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::common::{Constraint, Result, ScalarValue};
use datafusion::execution::SessionStateBuilder;
use datafusion::physical_plan::collect;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Index OIDs are the table's plus this; constraint OIDs plus the second. Tables' OIDs are
/// handed out from 16384 up, one per object, so neither range meets them.
const INDEX_OID_OFFSET: i32 = 1_000_000_000;
const CONSTRAINT_OID_OFFSET: i32 = 1_100_000_000;

/// One table's primary key, as the catalog lists it.
#[derive(Debug, Clone)]
pub struct Key {
    pub schema: String,
    pub table: String,
    pub table_oid: i32,
    pub namespace_oid: i32,
    /// (attnum, name) of each key column, in key order.
    pub columns: Vec<(i16, String)>,
}

impl Key {
    pub fn index_name(&self) -> String {
        format!("{}_pkey", self.table)
    }

    pub fn index_oid(&self) -> i32 {
        self.table_oid.saturating_add(INDEX_OID_OFFSET)
    }

    pub fn constraint_oid(&self) -> i32 {
        self.table_oid.saturating_add(CONSTRAINT_OID_OFFSET)
    }
}

/// Every row of a pg_catalog relation.
pub async fn rows_of(provider: &Arc<dyn TableProvider>) -> Result<Vec<RecordBatch>> {
    let state = SessionStateBuilder::new().build();
    let plan = provider.scan(&state, None, &[], None).await?;
    collect(plan, state.task_ctx()).await
}

/// The OID `class` and `namespace` (pg_class's and pg_namespace's rows) give pg_catalog's
/// relation `name` — what `'pg_catalog.<name>'::regclass` answers.
pub fn catalog_relation_oid(
    class: &[RecordBatch],
    namespace: &[RecordBatch],
    name: &str,
) -> Result<Option<i32>> {
    let Some(&ns) = namespace_oids(namespace)?.get("pg_catalog") else {
        return Ok(None);
    };
    Ok(relation_oids(class)?.get(&(name.to_string(), ns)).copied())
}

/// (name, namespace OID) → OID of every relation in `class` (pg_class's rows).
fn relation_oids(class: &[RecordBatch]) -> Result<HashMap<(String, i32), i32>> {
    let mut relations = HashMap::new();
    for b in class {
        let oid = cast(b.column(0), &DataType::Int32)?;
        let name = cast(b.column(1), &DataType::Utf8)?;
        let ns = cast(b.column(2), &DataType::Int32)?;
        let (oid, name, ns) = (
            oid.as_primitive::<Int32Type>(),
            name.as_string::<i32>(),
            ns.as_primitive::<Int32Type>(),
        );
        for r in 0..b.num_rows() {
            relations.insert((name.value(r).to_string(), ns.value(r)), oid.value(r));
        }
    }
    Ok(relations)
}

/// Name → OID of every namespace in `namespace` (pg_namespace's rows).
pub fn namespace_oids(namespace: &[RecordBatch]) -> Result<HashMap<String, i32>> {
    let mut namespaces = HashMap::new();
    for b in namespace {
        let oid = cast(b.column(0), &DataType::Int32)?;
        let name = cast(b.column(1), &DataType::Utf8)?;
        let (oid, name) = (oid.as_primitive::<Int32Type>(), name.as_string::<i32>());
        for r in 0..b.num_rows() {
            namespaces.insert(name.value(r).to_string(), oid.value(r));
        }
    }
    Ok(namespaces)
}

/// Every row of `pg`'s relation `name`, or none when `pg` has no such relation.
pub async fn rows_named(pg: &Arc<dyn SchemaProvider>, name: &str) -> Result<Vec<RecordBatch>> {
    match pg.table(name).await? {
        Some(t) => rows_of(&t).await,
        None => Ok(Vec::new()),
    }
}

/// A table or view of catalog "cip" with the OIDs pg_class and pg_namespace give it.
pub struct Relation {
    pub schema: String,
    pub table: String,
    pub table_oid: i32,
    pub namespace_oid: i32,
    pub provider: Arc<dyn TableProvider>,
}

/// The relations of catalog "cip" outside the catalogs' own schemas, with their OIDs as
/// `class` and `namespace` (pg_class's and pg_namespace's rows) give them.
pub async fn relations(
    list: &WeakCatalogList,
    class: &[RecordBatch],
    namespace: &[RecordBatch],
) -> Result<Vec<Relation>> {
    let Some(catalog) = list.upgrade().and_then(|l| l.catalog("cip")) else {
        return Ok(Vec::new());
    };
    let oids = relation_oids(class)?;
    let namespaces = namespace_oids(namespace)?;
    let mut relations = Vec::new();
    for schema in catalog.schema_names() {
        if schema == "pg_catalog" || schema == "information_schema" {
            continue;
        }
        let (Some(provider), Some(&ns)) = (catalog.schema(&schema), namespaces.get(&schema)) else {
            continue;
        };
        for table in provider.table_names() {
            let Some(t) = provider.table(&table).await? else {
                continue;
            };
            let Some(&table_oid) = oids.get(&(table.clone(), ns)) else {
                continue;
            };
            relations.push(Relation {
                schema: schema.clone(),
                table,
                table_oid,
                namespace_oid: ns,
                provider: t,
            });
        }
    }
    Ok(relations)
}

/// The primary keys of `relations`: those whose provider declares one.
pub fn declared(relations: &[Relation]) -> Vec<Key> {
    relations
        .iter()
        .filter_map(|r| {
            let key = r.provider.constraints()?.iter().find_map(|c| match c {
                Constraint::PrimaryKey(columns) => Some(columns.clone()),
                Constraint::Unique(_) => None,
            })?;
            let fields = r.provider.schema();
            let columns = key
                .iter()
                .filter_map(|&i| {
                    let attnum = i16::try_from(i + 1).ok()?;
                    Some((attnum, fields.fields().get(i)?.name().clone()))
                })
                .collect();
            Some(Key {
                schema: r.schema.clone(),
                table: r.table.clone(),
                table_oid: r.table_oid,
                namespace_oid: r.namespace_oid,
                columns,
            })
        })
        .collect()
}

/// Foreign-key constraint OIDs: past the primary keys' (CONSTRAINT_OID_OFFSET + table), below
/// the column defaults' (defaults.rs), FOREIGN_KEYS_PER_TABLE per table.
const FOREIGN_OID_BASE: i32 = 1_150_000_000;
const FOREIGN_KEYS_PER_TABLE: usize = 16;
/// The first OID handed to a table or view (PostgreSQL's FirstNormalObjectId).
pub const FIRST_OBJECT_OID: i32 = 16_384;

/// A foreign key cip enforces (storage's `TableDef::references`): the column's non-NULL
/// values must be keys of the parent table.
#[derive(Debug, Clone)]
pub struct ForeignKey {
    pub oid: i32,
    pub table: String,
    pub table_oid: i32,
    pub namespace_oid: i32,
    /// (attnum, name) of the referencing columns.
    pub columns: Vec<(i16, String)>,
    /// The referenced table's primary key.
    pub parent: Key,
}

impl ForeignKey {
    pub fn name(&self) -> String {
        let columns: Vec<&str> = self.columns.iter().map(|(_, c)| c.as_str()).collect();
        format!("{}_{}_fkey", self.table, columns.join("_"))
    }
}

/// The foreign keys of `relations` whose parent is one of `keys`' tables in the same schema
/// (the first FOREIGN_KEYS_PER_TABLE of a table; cip's tables have one at most).
pub fn foreign(relations: &[Relation], keys: &[Key]) -> Vec<ForeignKey> {
    let mut out = Vec::new();
    for r in relations {
        let Some(def) = crate::warehouse::stored_definition(&r.provider) else {
            continue;
        };
        for (k, (column, parent)) in def
            .references
            .iter()
            .take(FOREIGN_KEYS_PER_TABLE)
            .enumerate()
        {
            let parent = keys
                .iter()
                .find(|p| p.table == *parent && p.schema == r.schema);
            let attnum = def
                .schema
                .index_of(column)
                .ok()
                .and_then(|i| i16::try_from(i + 1).ok());
            let (Some(parent), Some(attnum)) = (parent, attnum) else {
                continue;
            };
            let slot =
                (r.table_oid - FIRST_OBJECT_OID).max(0) as usize * FOREIGN_KEYS_PER_TABLE + k;
            out.push(ForeignKey {
                oid: FOREIGN_OID_BASE.saturating_add(i32::try_from(slot).unwrap_or(i32::MAX)),
                table: r.table.clone(),
                table_oid: r.table_oid,
                namespace_oid: r.namespace_oid,
                columns: vec![(attnum, column.to_string())],
                parent: parent.clone(),
            });
        }
    }
    out
}

/// Rows of `schema` for `items` (keys, defaults): each column's value from
/// `value(item, column)`, NULL where it gives none.
pub fn rows<T>(
    schema: &SchemaRef,
    keys: &[T],
    value: impl Fn(&T, &str) -> Option<ScalarValue>,
) -> Result<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let values: Vec<ScalarValue> = keys
                .iter()
                .map(|k| value(k, f.name()).unwrap_or(ScalarValue::Null))
                .collect();
            let array = if values.is_empty() {
                datafusion::arrow::array::new_empty_array(f.data_type())
            } else {
                ScalarValue::iter_to_array(values)?
            };
            Ok(cast(&array, f.data_type())?)
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// pg_class's rows with `relhasindex` true for the tables with an index.
pub fn with_indexes_flagged(
    batch: &RecordBatch,
    indexes: &[super::indexes::Index],
) -> Result<RecordBatch> {
    let keyed: HashSet<Vec<i32>> = indexes.iter().map(|i| vec![i.table_oid]).collect();
    flagged(batch, "relhasindex", &["oid"], &keyed)
}

/// pg_class's rows with `relhastriggers` true for the tables at either end of a foreign key:
/// PostgreSQL enforces one with triggers on both, and psql lists a table's foreign keys (and
/// what references it) only when the flag is set.
pub fn with_triggers_flagged(batch: &RecordBatch, foreign: &[ForeignKey]) -> Result<RecordBatch> {
    let ends: HashSet<Vec<i32>> = foreign
        .iter()
        .flat_map(|f| [vec![f.table_oid], vec![f.parent.table_oid]])
        .collect();
    flagged(batch, "relhastriggers", &["oid"], &ends)
}

/// `batch` with its boolean column `flag` also true in the rows whose `columns` (integers)
/// hold one of `rows`; the batch as it is when it lacks one of the columns.
pub fn flagged(
    batch: &RecordBatch,
    flag: &str,
    columns: &[&str],
    rows: &HashSet<Vec<i32>>,
) -> Result<RecordBatch> {
    let schema = batch.schema();
    let Ok(flag_at) = schema.index_of(flag) else {
        return Ok(batch.clone());
    };
    let mut values = Vec::with_capacity(columns.len());
    for c in columns {
        let Ok(at) = schema.index_of(c) else {
            return Ok(batch.clone());
        };
        values.push(cast(batch.column(at), &DataType::Int32)?);
    }
    let flags = batch.column(flag_at).as_boolean();
    let marked: BooleanArray = (0..batch.num_rows())
        .map(|r| {
            let row: Vec<i32> = values
                .iter()
                .map(|v| v.as_primitive::<Int32Type>().value(r))
                .collect();
            Some(rows.contains(&row) || (flags.is_valid(r) && flags.value(r)))
        })
        .collect();
    let mut out = batch.columns().to_vec();
    out[flag_at] = Arc::new(marked);
    Ok(RecordBatch::try_new(schema, out)?)
}
