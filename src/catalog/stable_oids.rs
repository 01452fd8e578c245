//! datafusion-pg-catalog's pg_database, pg_namespace, pg_class and pg_attribute with the OIDs
//! every connection agrees on (object_ids.rs) in place of the session's own numbering. The
//! session's rows name each object (datname, nspname, relname in its namespace), which gives
//! its process-wide OID; every column holding one of those OIDs is rewritten. Everything cip
//! builds on these relations (keys, defaults, reg* lookups) reads them through here.

use super::keys::rows_named as rows;
use super::object_ids::{Object, ObjectIds};
use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int32Array, RecordBatch};
use datafusion::arrow::compute::{cast, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, Int32Type, SchemaRef};
use datafusion::catalog::{SchemaProvider, Session, TableProvider};
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::{MemTable, TableType};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use std::collections::HashMap;
use std::sync::Arc;

/// The relations rewritten, each with the columns that hold an object's OID.
const REWRITTEN: &[(&str, &[&str])] = &[
    ("pg_database", &["oid"]),
    ("pg_namespace", &["oid"]),
    ("pg_class", &["oid", "relnamespace", "relfilenode"]),
    ("pg_attribute", &["attrelid"]),
];

/// datafusion-pg-catalog's schema, those four relations rewritten.
#[derive(Debug)]
pub struct StableOids {
    inner: Arc<dyn SchemaProvider>,
    ids: Arc<ObjectIds>,
}

impl StableOids {
    pub fn new(inner: Arc<dyn SchemaProvider>, ids: Arc<ObjectIds>) -> StableOids {
        StableOids { inner, ids }
    }

    /// The rows of each of `names` from one read of the session's numbering: a scan of a
    /// rewritten relation reads pg_database, pg_namespace and pg_class, so a caller wanting
    /// several reads them once here rather than once per relation.
    pub async fn read(&self, names: &[&str]) -> Result<Vec<Vec<RecordBatch>>> {
        read(&self.inner, &self.ids, names).await
    }
}

#[async_trait]
impl SchemaProvider for StableOids {
    fn table_names(&self) -> Vec<String> {
        self.inner.table_names()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let lower = name.to_ascii_lowercase();
        if !REWRITTEN.iter().any(|(n, _)| *n == lower) {
            return self.inner.table(name).await;
        }
        let Some(table) = self.inner.table(name).await? else {
            return Ok(None);
        };
        Ok(Some(Arc::new(Renumbered {
            name: lower,
            table,
            pg: self.inner.clone(),
            ids: self.ids.clone(),
        })))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.inner.table_exist(name)
    }
}

#[derive(Debug)]
struct Renumbered {
    name: String,
    table: Arc<dyn TableProvider>,
    pg: Arc<dyn SchemaProvider>,
    ids: Arc<ObjectIds>,
}

fn int_column(b: &RecordBatch, name: &str) -> Result<Int32Array> {
    let c = cast(
        b.column_by_name(name).ok_or_else(|| missing(name))?,
        &DataType::Int32,
    )?;
    Ok(c.as_primitive::<Int32Type>().clone())
}

fn text_column(b: &RecordBatch, name: &str) -> Result<ArrayRef> {
    Ok(cast(
        b.column_by_name(name).ok_or_else(|| missing(name))?,
        &DataType::Utf8,
    )?)
}

fn missing(name: &str) -> DataFusionError {
    DataFusionError::Internal(format!("pg_catalog relation without column {name}"))
}

/// (session OID, name) of each row of `batches`.
fn named(batches: &[RecordBatch], name: &str) -> Result<Vec<(i32, String)>> {
    let mut out = Vec::new();
    for b in batches {
        let (oid, text) = (int_column(b, "oid")?, text_column(b, name)?);
        let text = text.as_string::<i32>();
        for r in 0..b.num_rows() {
            if oid.is_valid(r) && text.is_valid(r) {
                out.push((oid.value(r), text.value(r).to_string()));
            }
        }
    }
    Ok(out)
}

/// One read of the session's pg_database, pg_namespace and pg_class, and its OID → the
/// process-wide one for every object they list. The rows are kept: a later read may number
/// differently (datafusion-pg-catalog's pg_class forgets the `postgres` database it lists in
/// pg_database, which the next read numbers anew).
struct SessionRows {
    stable: HashMap<i32, i32>,
    by_name: HashMap<&'static str, Vec<RecordBatch>>,
}

async fn session_rows(pg: &Arc<dyn SchemaProvider>, ids: &ObjectIds) -> Result<SessionRows> {
    let database = rows(pg, "pg_database").await?;
    let namespace = rows(pg, "pg_namespace").await?;
    let mut objects: Vec<(i32, Object)> = Vec::new();
    for (oid, name) in named(&database, "datname")? {
        objects.push((oid, Object::Database(name)));
    }
    let schemas: HashMap<i32, String> = named(&namespace, "nspname")?.into_iter().collect();
    for (oid, name) in &schemas {
        objects.push((*oid, Object::Schema(name.clone())));
    }
    let class = rows(pg, "pg_class").await?;
    for b in &class {
        let (oid, ns) = (int_column(b, "oid")?, int_column(b, "relnamespace")?);
        let relname = text_column(b, "relname")?;
        let relname = relname.as_string::<i32>();
        for r in 0..b.num_rows() {
            if !(oid.is_valid(r) && ns.is_valid(r) && relname.is_valid(r)) {
                continue;
            }
            if let Some(schema) = schemas.get(&ns.value(r)) {
                let object = Object::Relation(schema.clone(), relname.value(r).to_string());
                objects.push((oid.value(r), object));
            }
        }
    }
    let numbered = ids.of(objects.iter().map(|(_, o)| o.clone()));
    let stable = objects
        .into_iter()
        .filter_map(|(local, o)| Some((local, *numbered.get(&o)?)))
        .collect();
    let by_name = HashMap::from([
        ("pg_database", database),
        ("pg_namespace", namespace),
        ("pg_class", class),
    ]);
    Ok(SessionRows { stable, by_name })
}

/// `names`' rows (a relation `pg` lacks has none), those of the rewritten relations
/// renumbered through one read of the session's numbering.
async fn read(
    pg: &Arc<dyn SchemaProvider>,
    ids: &ObjectIds,
    names: &[&str],
) -> Result<Vec<Vec<RecordBatch>>> {
    let session = session_rows(pg, ids).await?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let Some((_, columns)) = REWRITTEN.iter().find(|(n, _)| n == name) else {
            out.push(rows(pg, name).await?);
            continue;
        };
        let batches = match session.by_name.get(name) {
            Some(read) => read.clone(),
            None => rows(pg, name).await?,
        };
        let renumbered = batches
            .iter()
            .map(|b| renumber(b, columns, &session.stable))
            .collect::<Result<Vec<_>>>()?;
        out.push(renumbered);
    }
    Ok(out)
}

/// `batch` with `columns` renumbered through `map`; a row naming an OID the map lacks (an
/// object created or dropped between the reads) is left out rather than shown with the
/// session's number, which could be another object's here.
fn renumber(batch: &RecordBatch, columns: &[&str], map: &HashMap<i32, i32>) -> Result<RecordBatch> {
    let mut keep = vec![true; batch.num_rows()];
    let mut arrays = batch.columns().to_vec();
    for name in columns {
        let Ok(i) = batch.schema().index_of(name) else {
            return Err(missing(name));
        };
        let old = int_column(batch, name)?;
        let new: Int32Array = (0..old.len())
            .map(|r| {
                if old.is_null(r) {
                    return None;
                }
                let mapped = map.get(&old.value(r)).copied();
                keep[r] &= mapped.is_some();
                // The row is dropped below; a value keeps a NOT NULL column whole till then.
                Some(mapped.unwrap_or(0))
            })
            .collect();
        arrays[i] = cast(&new, batch.schema().field(i).data_type())?;
    }
    let renumbered = RecordBatch::try_new(batch.schema(), arrays)?;
    Ok(filter_record_batch(&renumbered, &BooleanArray::from(keep))?)
}

#[async_trait]
impl TableProvider for Renumbered {
    fn schema(&self) -> SchemaRef {
        self.table.schema()
    }

    fn table_type(&self) -> TableType {
        self.table.table_type()
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let batches = read(&self.pg, &self.ids, &[self.name.as_str()]).await?;
        MemTable::try_new(self.schema(), batches)?
            .scan(state, projection, filters, limit)
            .await
    }
}
