//! pg_catalog relations cip answers itself, in front of datafusion-pg-catalog's schema: those
//! whose columns it types differently from PostgreSQL in a way clients trip over. Each is
//! listed with the reason; every other relation is datafusion-pg-catalog's.
//!
//! - `pg_statistic_ext`: psql's `\d+` asks `'d' = any(stxkind)`, and stxkind is text there,
//!   not `"char"[]`. cip keeps no extended statistics, so the table is empty either way; here
//!   it has PostgreSQL's column types.
//! - `pg_db_role_setting`: psql's `\drds` joins `array_to_string(setconfig, …)`, and
//!   setconfig is text there, not `text[]`. Empty either way (no `ALTER ROLE … SET`).
//! - `pg_constraint`, `pg_index`, `pg_class` and `pg_indexes` (which datafusion-pg-catalog
//!   lacks): with the tables' primary keys and their indexes (key_rows.rs); `pg_attrdef` and
//!   `pg_attribute` with the columns' defaults (defaults.rs).
//! - `pg_proc`: PostgreSQL's built-ins and cip's functions (pg_proc.rs).
//! - `pg_authid`, `pg_roles`, `pg_user`: the configured users and PostgreSQL's predefined
//!   roles, with the OIDs the owner columns use (role_rows.rs).
//! - `pg_stat_activity`: the server's client sessions (activity.rs); `pg_locks`: their
//!   advisory locks (locks_view.rs) and whether they are encrypted (`pg_stat_ssl`,
//!   ssl_view.rs); `pg_timezone_names`: the zones cip knows (timezone_names.rs).
//! - `pg_settings`: the session's parameters (settings_view.rs); datafusion-pg-catalog's has
//!   one row.
//!
//! Every relation's `name` columns are typed as PostgreSQL's `name` (name_type.rs).

use super::key_rows;
use super::pg_proc;
use super::stable_oids::StableOids;
use super::weak_list::WeakCatalogList;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::common::Result;
use datafusion::datasource::MemTable;
use std::sync::Arc;

#[derive(Debug)]
pub struct PgCatalog {
    inner: Arc<StableOids>,
    list: WeakCatalogList,
    functions: pg_proc::OwnRows,
    roles: super::roles::ConfiguredRoles,
    backends: Arc<super::activity::Backends>,
    ids: Arc<super::object_ids::ObjectIds>,
}

impl PgCatalog {
    pub fn new(
        inner: Arc<StableOids>,
        list: WeakCatalogList,
        functions: pg_proc::OwnRows,
        roles: super::roles::ConfiguredRoles,
        backends: Arc<super::activity::Backends>,
        ids: Arc<super::object_ids::ObjectIds>,
    ) -> PgCatalog {
        PgCatalog {
            inner,
            list,
            functions,
            roles,
            backends,
            ids,
        }
    }
}

/// The relations answered from the server's state rather than a table of PostgreSQL's shape.
const LIVE: &[&str] = &[
    "pg_authid",
    "pg_roles",
    "pg_user",
    "pg_stat_activity",
    "pg_locks",
    "pg_stat_ssl",
    "pg_timezone_names",
];

fn oid(name: &str) -> Field {
    Field::new(name, DataType::Int32, true)
}

fn text(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn text_array(name: &str) -> Field {
    let item = Arc::new(Field::new("item", DataType::Utf8, true));
    Field::new(name, DataType::List(item), true)
}

fn pg_statistic_ext() -> SchemaRef {
    Arc::new(Schema::new(vec![
        oid("oid"),
        oid("stxrelid"),
        text("stxname"),
        oid("stxnamespace"),
        oid("stxowner"),
        Field::new("stxstattarget", DataType::Int32, true),
        // int2vector: space-separated text, as datafusion-pg-catalog keeps the others.
        text("stxkeys"),
        text_array("stxkind"),
        text("stxexprs"),
    ]))
}

/// No per-role or per-database settings (ALTER ROLE … SET is not supported).
fn pg_db_role_setting() -> SchemaRef {
    Arc::new(Schema::new(vec![
        oid("setdatabase"),
        oid("setrole"),
        text_array("setconfig"),
    ]))
}

/// The relations answered here, each an empty table of PostgreSQL's shape.
fn own(name: &str) -> Option<SchemaRef> {
    match name {
        "pg_statistic_ext" => Some(pg_statistic_ext()),
        "pg_db_role_setting" => Some(pg_db_role_setting()),
        _ => None,
    }
}

#[async_trait::async_trait]
impl SchemaProvider for PgCatalog {
    fn table_names(&self) -> Vec<String> {
        let mut names = self.inner.table_names();
        names.push("pg_indexes".into());
        for own in LIVE {
            if !names.iter().any(|n| n == own) {
                names.push(own.to_string());
            }
        }
        names
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let lower = name.to_ascii_lowercase();
        let table = self.relation(name, &lower).await?;
        Ok(table.map(|t| super::name_type::typed(&lower, t)))
    }

    fn table_exist(&self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        own(&lower).is_some()
            || lower == "pg_indexes"
            || LIVE.contains(&lower.as_str())
            || self.inner.table_exist(name)
    }
}

impl PgCatalog {
    /// The OID of the database, "cip", as pg_database numbers it.
    fn database_oid(&self) -> i32 {
        let database = super::object_ids::Object::Database("cip".into());
        let oid = self.ids.of([database.clone()]).get(&database).copied();
        oid.unwrap_or(0)
    }

    /// The relation `name` (`lower` in lower case), its columns as its source types them.
    async fn relation(&self, name: &str, lower: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if let Some(schema) = own(lower) {
            return Ok(Some(Arc::new(MemTable::try_new(schema, vec![vec![]])?)));
        }
        if lower == "pg_proc" {
            return Ok(Some(Arc::new(pg_proc::Functions::new(
                self.functions.clone(),
            )?)));
        }
        if super::role_rows::NAMES.contains(&lower) {
            let rows = super::role_rows::relation(lower, &self.roles)?;
            return Ok(Some(Arc::new(rows)));
        }
        if lower == "pg_stat_activity" {
            let roles = self.roles.clone();
            return Ok(Some(Arc::new(super::activity::view(
                self.backends.clone(),
                (self.database_oid(), "cip".into()),
                Arc::new(move |n| super::role_rows::oid_of(&roles, n)),
            ))));
        }
        if lower == "pg_locks" {
            let locks = super::locks_view::view(self.backends.clone(), self.database_oid());
            return Ok(Some(Arc::new(locks)));
        }
        if lower == "pg_stat_ssl" {
            return Ok(Some(Arc::new(super::ssl_view::view(self.backends.clone()))));
        }
        if lower == "pg_timezone_names" {
            return Ok(Some(Arc::new(super::timezone_names::view())));
        }
        if lower == "pg_settings" {
            return Ok(Some(Arc::new(super::settings_view::view())));
        }
        if key_rows::NAMES.contains(&lower) {
            let keyed = key_rows::KeyedRelation::new(lower, &self.inner, &self.list).await?;
            return Ok(Some(Arc::new(keyed)));
        }
        self.inner.table(name).await
    }
}
