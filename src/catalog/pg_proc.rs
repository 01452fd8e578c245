//! cip's functions in `pg_catalog.pg_proc`, so psql's `\df` (and JDBC's getFunctions) list
//! them beside SHOW FUNCTIONS / cip_functions. datafusion-pg-catalog's pg_proc is PostgreSQL's
//! own built-ins; catalog queries read it joined with `cip_pg_proc()` (catalog_rewrite), a
//! table function holding one row per cip function in the public schema, and
//! `pg_get_function_arguments` / `pg_get_function_result` describe those rows.

use datafusion::arrow::array::{Array, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{TableFunctionImpl, TableProvider};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{create_udf, ColumnarValue, Expr, Volatility};
use datafusion::prelude::SessionContext;
use std::collections::HashMap;
use std::sync::Arc;

/// OIDs of cip's functions start here, far above the dynamic ones of tables and views.
const FIRST_OID: i32 = 1_000_000;

struct Function {
    oid: i32,
    name: String,
    kind: String,
    arguments: String,
    result: String,
}

/// Registers `cip_pg_proc()` and the two describing functions on `ctx`.
pub async fn register(ctx: &SessionContext) -> Result<()> {
    let functions = cip_functions(ctx).await?;
    let public = ctx
        .sql("SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'public'")
        .await?
        .collect()
        .await?
        .first()
        .and_then(|b| b.column(0).as_any().downcast_ref::<Int32Array>().cloned())
        .filter(|a| !a.is_empty())
        .map(|a| a.value(0))
        .unwrap_or(2200);
    let schema = ctx.table_provider("pg_catalog.pg_proc").await?.schema();
    let rows = Arc::new(proc_rows(&schema, &functions, public)?);
    ctx.register_udtf("cip_pg_proc", Arc::new(ProcRows(rows)));
    let describe = |pick: fn(&Function) -> String| {
        Arc::new(
            functions
                .iter()
                .map(|f| (f.oid, pick(f)))
                .collect::<HashMap<i32, String>>(),
        )
    };
    ctx.register_udf(lookup_udf(
        "pg_get_function_arguments",
        describe(|f| f.arguments.clone()),
    ));
    ctx.register_udf(lookup_udf(
        "pg_get_function_result",
        describe(|f| f.result.clone()),
    ));
    Ok(())
}

async fn cip_functions(ctx: &SessionContext) -> Result<Vec<Function>> {
    let batches = ctx
        // No ORDER BY: a sort reserves memory from the pool, and opening a session must not
        // depend on the pool's size. The rows are ordered here instead.
        .sql("SELECT name, kind, syntax FROM cip_functions")
        .await?
        .collect()
        .await?;
    let mut listed = Vec::new();
    for b in &batches {
        let col = |i: usize| b.column(i).as_any().downcast_ref::<StringArray>().cloned();
        let (Some(names), Some(kinds), Some(syntax)) = (col(0), col(1), col(2)) else {
            return exec_err!("cip_functions has unexpected column types");
        };
        for i in 0..b.num_rows() {
            let syntax = syntax.value(i);
            // "name(a, b [, c])" -> "a, b [, c]"
            let arguments = syntax
                .split_once('(')
                .and_then(|(_, rest)| rest.rsplit_once(')'))
                .map(|(args, _)| args.to_string())
                .unwrap_or_default();
            let kind = kinds.value(i).to_string();
            let name = names.value(i);
            let result = match kind.as_str() {
                "table" => "SETOF record".to_string(),
                "aggregate" => "record".to_string(),
                _ => {
                    let required = arguments.split('[').next().unwrap_or_default();
                    let arity = required.split(',').filter(|a| !a.trim().is_empty()).count();
                    scalar_result(ctx, name, arity).unwrap_or_else(|| "any".to_string())
                }
            };
            listed.push(Function {
                oid: 0,
                name: name.to_string(),
                kind,
                arguments,
                result,
            });
        }
    }
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    for (i, f) in listed.iter_mut().enumerate() {
        f.oid = FIRST_OID + i as i32;
    }
    Ok(listed)
}

/// The PostgreSQL name of a scalar function's return type: asked of the function with its
/// exact argument types when the signature lists them, else with `arity` numbers or texts
/// (a return type rarely depends on more than that).
fn scalar_result(ctx: &SessionContext, name: &str, arity: usize) -> Option<String> {
    use datafusion::logical_expr::TypeSignature;
    let udf = ctx.state().scalar_functions().get(name).cloned()?;
    let exact = match &udf.signature().type_signature {
        TypeSignature::Exact(types) => Some(types.clone()),
        TypeSignature::OneOf(options) => options.iter().find_map(|o| match o {
            TypeSignature::Exact(types) => Some(types.clone()),
            _ => None,
        }),
        TypeSignature::Nullary => Some(Vec::new()),
        _ => None,
    };
    let candidates = exact
        .into_iter()
        .chain([vec![DataType::Float64; arity], vec![DataType::Utf8; arity]]);
    let data_type = candidates
        .into_iter()
        .find_map(|args| udf.return_type(&args).ok())?;
    let pg = datafusion_postgres::arrow_pg::datatypes::into_pg_type(&data_type).ok()?;
    Some(pg.name().to_string())
}

/// One pg_proc row per function: the columns psql and drivers read are filled, the rest
/// hold their type's empty value (pg_proc's columns are NOT NULL).
fn proc_rows(schema: &Arc<Schema>, functions: &[Function], public: i32) -> Result<MemTable> {
    let mut columns = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let values = functions.iter().map(|f| {
            let text = |s: &str| ScalarValue::Utf8(Some(s.to_string()));
            match field.name().as_str() {
                "oid" => ScalarValue::Int32(Some(f.oid)),
                "proname" | "prosrc" => text(&f.name),
                "pronamespace" => ScalarValue::Int32(Some(public)),
                "proowner" => ScalarValue::Int32(Some(10)),
                "prolang" => ScalarValue::Int32(Some(12)),
                "prokind" => text(if f.kind == "aggregate" { "a" } else { "f" }),
                "proretset" => ScalarValue::Boolean(Some(f.kind == "table")),
                "provolatile" => text(if f.kind == "table" { "v" } else { "s" }),
                "proparallel" => text("s"),
                "prorettype" => {
                    ScalarValue::Int32(Some(if f.kind == "table" { 2249 } else { 2283 }))
                }
                _ => empty_value(field.data_type(), field.is_nullable()),
            }
        });
        columns.push(ScalarValue::iter_to_array(values.collect::<Vec<_>>())?);
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    MemTable::try_new(schema, vec![vec![batch]])
}

fn empty_value(data_type: &DataType, nullable: bool) -> ScalarValue {
    if nullable {
        return ScalarValue::try_from(data_type).unwrap_or(ScalarValue::Null);
    }
    match data_type {
        DataType::Int16 => ScalarValue::Int16(Some(0)),
        DataType::Int32 => ScalarValue::Int32(Some(0)),
        DataType::Int64 => ScalarValue::Int64(Some(0)),
        DataType::Float32 => ScalarValue::Float32(Some(0.0)),
        DataType::Float64 => ScalarValue::Float64(Some(0.0)),
        DataType::Boolean => ScalarValue::Boolean(Some(false)),
        DataType::Utf8 => ScalarValue::Utf8(Some(String::new())),
        other => ScalarValue::try_from(other).unwrap_or(ScalarValue::Null),
    }
}

#[derive(Debug)]
struct ProcRows(Arc<MemTable>);

impl TableFunctionImpl for ProcRows {
    fn call(&self, args: &[Expr]) -> Result<Arc<dyn TableProvider>> {
        if !args.is_empty() {
            return exec_err!("cip_pg_proc() takes no arguments");
        }
        Ok(self.0.clone())
    }
}

/// `name(oid)`: the text for one of cip's functions, NULL for any other oid.
fn lookup_udf(name: &str, texts: Arc<HashMap<i32, String>>) -> datafusion::logical_expr::ScalarUDF {
    create_udf(
        name,
        vec![DataType::Int32],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(move |args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let Some(oids) = arrays[0].as_any().downcast_ref::<Int32Array>() else {
                return exec_err!("expected an oid");
            };
            let out: StringArray = oids
                .iter()
                .map(|o| o.and_then(|o| texts.get(&o).cloned()))
                .collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}
