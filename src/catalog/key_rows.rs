//! pg_constraint with a row per primary key and foreign key (keys.rs), pg_index, pg_class and
//! pg_indexes with a row per index (indexes.rs), and
//! pg_attrdef / pg_attribute with the columns' defaults (defaults.rs) and declared types
//! (attribute_types.rs), pg_description with COMMENT ON's of tables and saved views
//! (descriptions.rs), built when the relation
//! is scanned, not when it is named: datafusion-pg-catalog's pg_class
//! names every relation of the catalog (these too) while it lists them, so building rows then
//! would list pg_class from inside its own listing.

use super::attribute_types;
use super::defaults;
use super::descriptions;
use super::indexes;
use super::keys::{self, ForeignKey, Key};
use super::stable_oids::StableOids;
use super::user_views::UserViews;
use super::weak_list::WeakCatalogList;
use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{SchemaProvider, Session, TableProvider};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::datasource::{MemTable, TableType};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use std::sync::Arc;

/// The relations listed here.
pub const NAMES: &[&str] = &[
    "pg_constraint",
    "pg_index",
    "pg_class",
    "pg_indexes",
    "pg_attribute",
    "pg_attrdef",
    "pg_description",
];

#[derive(Debug)]
pub struct KeyedRelation {
    name: String,
    /// datafusion-pg-catalog's relation, whose rows come first (None for pg_indexes).
    inner: Option<Arc<dyn TableProvider>>,
    schema: SchemaRef,
    list: WeakCatalogList,
    pg: Arc<StableOids>,
}

impl KeyedRelation {
    /// `name` (one of NAMES) over `pg`, datafusion-pg-catalog's schema.
    pub async fn new(
        name: &str,
        pg: &Arc<StableOids>,
        list: &WeakCatalogList,
    ) -> Result<KeyedRelation> {
        let inner = match name {
            "pg_indexes" => None,
            _ => pg.table(name).await?,
        };
        let schema = match &inner {
            Some(t) => t.schema(),
            None => pg_indexes(),
        };
        Ok(KeyedRelation {
            name: name.to_string(),
            inner,
            schema,
            list: list.clone(),
            pg: pg.clone(),
        })
    }

    async fn rows(&self, views: Option<&UserViews>) -> Result<MemTable> {
        // The relation's own rows and the tables' and schemas' OIDs, from one read of the
        // session's numbering.
        let names = [self.name.as_str(), "pg_class", "pg_namespace"];
        let [mut batches, class, namespace]: [Vec<RecordBatch>; 3] = self
            .pg
            .read(&names)
            .await?
            .try_into()
            .map_err(|_| DataFusionError::Internal("one read per relation named".into()))?;
        let relations = keys::relations(&self.list, &class, &namespace).await?;
        match self.name.as_str() {
            "pg_attribute" => {
                let found = defaults::declared(&relations);
                batches = batches
                    .iter()
                    .map(|b| defaults::with_defaults_flagged(b, &found))
                    .map(|b| attribute_types::with_declared_types(&b?, &relations))
                    .collect::<Result<_>>()?;
            }
            "pg_description" => {
                let pg_class = keys::catalog_relation_oid(&class, &namespace, "pg_class")?;
                // The saved views' descriptions: read only for this relation.
                let saved = views.map(|v| v.snapshot().1).unwrap_or_default();
                let found = descriptions::declared(&relations, &saved, pg_class.unwrap_or(1259));
                batches.push(keys::rows(
                    &self.schema,
                    &found,
                    descriptions::description_value,
                )?);
            }
            "pg_attrdef" => {
                let found = defaults::declared(&relations);
                batches.push(keys::rows(&self.schema, &found, defaults::attrdef_value)?);
            }
            "pg_constraint" => {
                let keys = keys::declared(&relations);
                let foreign = keys::foreign(&relations, &keys);
                batches.push(keys::rows(&self.schema, &keys, constraint_value)?);
                batches.push(keys::rows(&self.schema, &foreign, foreign_value)?);
            }
            name => {
                let keys = keys::declared(&relations);
                let all = indexes::all(&relations, &keys);
                if name == "pg_class" {
                    let foreign = keys::foreign(&relations, &keys);
                    batches = batches
                        .iter()
                        .map(|b| keys::with_indexes_flagged(b, &all))
                        .map(|b| keys::with_triggers_flagged(&b?, &foreign))
                        .collect::<Result<_>>()?;
                }
                let value = match name {
                    "pg_index" => indexes::index_value,
                    "pg_class" => indexes::index_class_value,
                    _ => indexes::indexes_value,
                };
                batches.push(keys::rows(&self.schema, &all, value)?);
                if name == "pg_class" {
                    let pg_catalog = keys::namespace_oids(&namespace)?.get("pg_catalog").copied();
                    batches = batches
                        .iter()
                        .map(super::role_rows::owned)
                        .map(|b| match pg_catalog {
                            Some(ns) => super::system_kinds::with_system_kinds(&b?, ns),
                            None => b,
                        })
                        .collect::<Result<_>>()?;
                }
            }
        }
        MemTable::try_new(self.schema.clone(), vec![batches])
    }
}

#[async_trait]
impl TableProvider for KeyedRelation {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        match &self.inner {
            Some(t) => t.table_type(),
            None => TableType::View,
        }
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let views = state.config().get_extension::<UserViews>();
        self.rows(views.as_deref())
            .await?
            .scan(state, projection, filters, limit)
            .await
    }
}

fn pg_indexes() -> SchemaRef {
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    Arc::new(Schema::new(vec![
        text("schemaname"),
        text("tablename"),
        text("indexname"),
        text("tablespace"),
        text("indexdef"),
    ]))
}

pub(super) fn int(v: i32) -> Option<ScalarValue> {
    Some(ScalarValue::Int32(Some(v)))
}

pub(super) fn utf8(v: impl Into<String>) -> Option<ScalarValue> {
    Some(ScalarValue::Utf8(Some(v.into())))
}

pub(super) fn boolean(v: bool) -> Option<ScalarValue> {
    Some(ScalarValue::Boolean(Some(v)))
}

/// The columns' attnums joined by `sep`.
fn attnums(columns: &[(i16, String)], sep: &str) -> String {
    let n: Vec<String> = columns.iter().map(|(a, _)| a.to_string()).collect();
    n.join(sep)
}

/// The columns' attnums as Arrow's text of a list, as datafusion-pg-catalog keeps the array
/// columns (pg_constraint.conkey, confkey).
fn listed(columns: &[(i16, String)]) -> Option<ScalarValue> {
    utf8(format!("[{}]", attnums(columns, ", ")))
}

fn constraint_value(k: &Key, column: &str) -> Option<ScalarValue> {
    match column {
        "oid" => int(k.constraint_oid()),
        "conname" => utf8(k.index_name()),
        "connamespace" => int(k.namespace_oid),
        "contype" => utf8("p"),
        "condeferrable" | "condeferred" | "conislocal" => boolean(column == "conislocal"),
        "convalidated" | "connoinherit" => boolean(true),
        "conrelid" => int(k.table_oid),
        "conindid" => int(k.index_oid()),
        "contypid" | "conparentid" | "confrelid" | "coninhcount" => int(0),
        "confupdtype" | "confdeltype" | "confmatchtype" => utf8(" "),
        "conkey" => listed(&k.columns),
        _ => None,
    }
}

/// A foreign key's pg_constraint row: NO ACTION on update and delete, MATCH SIMPLE, backed
/// by the parent's primary key index (pgjdbc's getImportedKeys joins on conindid).
fn foreign_value(f: &ForeignKey, column: &str) -> Option<ScalarValue> {
    match column {
        "oid" => int(f.oid),
        "conname" => utf8(f.name()),
        "connamespace" => int(f.namespace_oid),
        "contype" => utf8("f"),
        "condeferrable" | "condeferred" | "conislocal" => boolean(column == "conislocal"),
        "convalidated" | "connoinherit" => boolean(true),
        "conrelid" => int(f.table_oid),
        "confrelid" => int(f.parent.table_oid),
        "conindid" => int(f.parent.index_oid()),
        "contypid" | "conparentid" | "coninhcount" => int(0),
        "confupdtype" | "confdeltype" => utf8("a"),
        "confmatchtype" => utf8("s"),
        "conkey" => listed(&f.columns),
        "confkey" => listed(&f.parent.columns),
        _ => None,
    }
}
