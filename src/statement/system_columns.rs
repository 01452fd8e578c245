//! `cip_system_columns()`: the columns of the relations the statement rules define
//! (rules/system_views.rs: information_schema's standard views, pg_catalog's views cip
//! answers itself), in the shape of DataFusion's information_schema.columns, which lists only
//! the tables in the catalog. information_schema.columns adds these rows, so a client browsing
//! information_schema or pg_catalog (DBeaver with system objects shown, an IDE's completion)
//! finds their columns as in PostgreSQL.
//!
//! Each relation's columns are what `SELECT * FROM schema.relation` is planned to return
//! (after the rules, as a client's statement is), found once per process at the first read:
//! the definitions are compiled in, so they cannot change while it runs.

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringBuilder, UInt64Builder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{plan_err, Result};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::execution::SessionState;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::sql::parser::Statement as DfStatement;
use std::sync::Arc;
use tokio::sync::OnceCell;

pub const NAME: &str = "cip_system_columns";

static ROWS: OnceCell<RecordBatch> = OnceCell::const_new();

fn schema() -> SchemaRef {
    let text = |n: &str, null: bool| Field::new(n, DataType::Utf8, null);
    let number = |n: &str| Field::new(n, DataType::UInt64, true);
    Arc::new(Schema::new(vec![
        text("table_catalog", false),
        text("table_schema", false),
        text("table_name", false),
        text("column_name", false),
        Field::new("ordinal_position", DataType::UInt64, false),
        text("is_nullable", false),
        text("data_type", false),
        number("character_maximum_length"),
        number("numeric_precision"),
        number("numeric_scale"),
        text("interval_type", true),
    ]))
}

#[derive(Debug)]
pub struct SystemColumns;

impl TableFunctionImpl for SystemColumns {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        if !args.exprs().is_empty() {
            return plan_err!("type mismatch: {NAME}() takes no arguments");
        }
        Ok(Arc::new(Columns))
    }
}

#[derive(Debug)]
struct Columns;

#[async_trait::async_trait]
impl TableProvider for Columns {
    fn schema(&self) -> SchemaRef {
        schema()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(state) = state.as_any().downcast_ref::<SessionState>() else {
            return plan_err!("{NAME}() needs a session's state");
        };
        let rows = ROWS.get_or_try_init(|| rows(state)).await?;
        let exec =
            MemorySourceConfig::try_new_exec(&[vec![rows.clone()]], schema(), projection.cloned())?;
        Ok(exec)
    }
}

/// A row per column of each relation the rules define; one that does not plan is left out
/// (the catalog tests compare the listing with PostgreSQL's, so a gap shows there).
async fn rows(state: &SessionState) -> Result<RecordBatch> {
    let catalog = state.config().options().catalog.default_catalog.clone();
    let mut b = Builders::default();
    // DataFusion lists none of its own information_schema's columns; df_settings is the one
    // the rules leave as DataFusion's.
    let relations = super::rules::system_relations().chain([("information_schema", "df_settings")]);
    for (schema, relation) in relations {
        let sql = format!("SELECT * FROM \"{schema}\".\"{relation}\"");
        let Ok(Some(super::parse::Parsed::Sql(statement))) = super::parse::parse_one(&sql) else {
            continue;
        };
        let Ok(plan) = state
            .statement_to_plan(DfStatement::Statement(statement))
            .await
        else {
            continue;
        };
        for (i, field) in plan.schema().fields().iter().enumerate() {
            b.add(&catalog, schema, relation, i, field);
        }
    }
    b.finish()
}

#[derive(Default)]
struct Builders {
    text: [StringBuilder; 6],
    position: UInt64Builder,
    numbers: [UInt64Builder; 3],
    interval: StringBuilder,
}

impl Builders {
    fn add(&mut self, catalog: &str, schema: &str, relation: &str, i: usize, field: &Field) {
        let nullable = if field.is_nullable() { "YES" } else { "NO" };
        let values = [catalog, schema, relation, field.name(), nullable];
        for (builder, value) in self.text.iter_mut().zip(values) {
            builder.append_value(value);
        }
        self.text[5].append_value(field.data_type().to_string());
        self.position.append_value(i as u64);
        let (precision, scale) = match field.data_type() {
            DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => {
                (Some(u64::from(*p)), u64::try_from(*s).ok())
            }
            _ => (None, None),
        };
        self.numbers[0].append_null();
        self.numbers[1].append_option(precision);
        self.numbers[2].append_option(scale);
        self.interval.append_null();
    }

    fn finish(mut self) -> Result<RecordBatch> {
        let [catalog, schema_name, relation, name, nullable, data_type] = &mut self.text;
        let [length, precision, scale] = &mut self.numbers;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(catalog.finish()),
            Arc::new(schema_name.finish()),
            Arc::new(relation.finish()),
            Arc::new(name.finish()),
            Arc::new(self.position.finish()),
            Arc::new(nullable.finish()),
            Arc::new(data_type.finish()),
            Arc::new(length.finish()),
            Arc::new(precision.finish()),
            Arc::new(scale.finish()),
            Arc::new(self.interval.finish()),
        ];
        Ok(RecordBatch::try_new(schema(), columns)?)
    }
}
