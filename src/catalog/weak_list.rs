//! The session's catalog list as pg_catalog sees it: held weakly. pg_catalog is a schema
//! inside that same list, so datafusion-pg-catalog's strong handle made a reference cycle and
//! every connection's catalog — tables, views and their plans, ~8.8 MiB — outlived it.
//! Upgraded per call; once the session is gone there is nothing left to list.

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::CatalogProviderList;
use datafusion::datasource::TableType;
use datafusion::error::DataFusionError;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::catalog_info::CatalogInfo;
use std::sync::{Arc, Weak};

type Answer<T> = Result<T, DataFusionError>;

#[derive(Debug, Clone)]
pub struct WeakCatalogList(Weak<dyn CatalogProviderList>);

impl WeakCatalogList {
    pub fn new(list: &Arc<dyn CatalogProviderList>) -> WeakCatalogList {
        WeakCatalogList(Arc::downgrade(list))
    }

    pub fn upgrade(&self) -> Option<Arc<dyn CatalogProviderList>> {
        self.0.upgrade()
    }
}

#[async_trait]
impl CatalogInfo for WeakCatalogList {
    async fn catalog_names(&self) -> Answer<Vec<String>> {
        match self.upgrade() {
            Some(l) => CatalogInfo::catalog_names(&l).await,
            None => Ok(Vec::new()),
        }
    }

    async fn schema_names(&self, catalog: &str) -> Answer<Option<Vec<String>>> {
        match self.upgrade() {
            Some(l) => CatalogInfo::schema_names(&l, catalog).await,
            None => Ok(None),
        }
    }

    async fn table_names(&self, catalog: &str, schema: &str) -> Answer<Option<Vec<String>>> {
        match self.upgrade() {
            Some(l) => CatalogInfo::table_names(&l, catalog, schema).await,
            None => Ok(None),
        }
    }

    async fn table_schema(
        &self,
        catalog: &str,
        schema: &str,
        table: &str,
    ) -> Answer<Option<SchemaRef>> {
        match self.upgrade() {
            Some(l) => CatalogInfo::table_schema(&l, catalog, schema, table).await,
            None => Ok(None),
        }
    }

    async fn table_type(
        &self,
        catalog: &str,
        schema: &str,
        table: &str,
    ) -> Answer<Option<TableType>> {
        match self.upgrade() {
            Some(l) => CatalogInfo::table_type(&l, catalog, schema, table).await,
            None => Ok(None),
        }
    }
}
