//! cip's functions in `pg_catalog.pg_proc`, so psql's `\df` / `\sf`, `'name'::regproc` and
//! JDBC's getFunctions see them beside SHOW FUNCTIONS / cip_functions. datafusion-pg-catalog's
//! pg_proc is PostgreSQL's own built-ins; the relation the catalog answers (`Functions`) is
//! those rows and one row per cip function in the public schema, and
//! `pg_get_function_arguments` / `pg_get_function_identity_arguments` /
//! `pg_get_function_result` / `pg_get_functiondef` describe cip's rows (and the first three
//! the built-ins', function_arguments.rs).

use async_trait::async_trait;
use datafusion::arrow::array::{Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::datasource::{MemTable, TableType};
use datafusion::logical_expr::{create_udf, ColumnarValue, Expr, Volatility};
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// cip's rows of pg_proc, filled once the session's functions are known (`register`).
pub type OwnRows = Arc<OnceLock<Arc<MemTable>>>;

/// OIDs of cip's functions start here, far above the dynamic ones of tables and views.
const FIRST_OID: i32 = 1_000_000;

struct Function {
    oid: i32,
    name: String,
    kind: String,
    arguments: String,
    result: String,
    /// The result's type OID, when known.
    result_oid: Option<i32>,
    /// Each argument's name and type OID (`any` when the signature does not say).
    parameters: Vec<(String, i32)>,
    /// How many trailing arguments may be left out (`[, c]` in the syntax).
    optional: usize,
}

/// PostgreSQL's `any` pseudo-type: an argument whose type the signature leaves open.
const ANY: i32 = 2276;

/// Lists the session's functions in `own` (pg_proc's cip rows) and registers the describing
/// functions on `ctx`.
pub async fn register(ctx: &SessionContext, own: &OwnRows) -> Result<()> {
    let functions = cip_functions(ctx).await?;
    // The built-ins' schema: its NOT NULL columns get their type's empty value in cip's rows.
    let schema = super::proc_arrays::builtins()?.schema();
    // A session lists its functions once; a second call keeps the first list.
    let _ = own.set(Arc::new(proc_rows(
        &schema,
        &functions,
        super::object_ids::PUBLIC_OID,
    )?));
    // cip's functions, then PostgreSQL's built-ins (function_arguments.rs).
    let describe =
        |pick: fn(&Function) -> String,
         builtin: fn(&super::function_arguments::Described) -> String| {
            let builtins = super::function_arguments::builtins();
            Arc::new(
                builtins
                    .iter()
                    .map(|(oid, d)| (*oid, builtin(d)))
                    .chain(functions.iter().map(|f| (f.oid, pick(f))))
                    .collect::<HashMap<i32, String>>(),
            )
        };
    ctx.register_udf(lookup_udf(
        "pg_get_function_arguments",
        describe(|f| f.arguments.clone(), |d| d.arguments.clone()),
    ));
    ctx.register_udf(lookup_udf(
        "pg_get_function_identity_arguments",
        describe(|f| f.arguments.clone(), |d| d.identity.clone()),
    ));
    ctx.register_udf(lookup_udf(
        "pg_get_function_result",
        describe(|f| f.result.clone(), |d| d.result.clone()),
    ));
    let definitions = functions.iter().map(|f| (f.oid, definition(f))).collect();
    ctx.register_udf(lookup_udf("pg_get_functiondef", Arc::new(definitions)));
    Ok(())
}

/// What `pg_get_functiondef` gives (psql's `\sf`): PostgreSQL's layout for a function
/// built into the server, whose body is its own name; '' for an aggregate, which
/// PostgreSQL refuses to define this way.
fn definition(f: &Function) -> String {
    if f.kind == "aggregate" {
        return String::new();
    }
    let volatility = if f.kind == "table" {
        "VOLATILE"
    } else {
        "STABLE"
    };
    format!(
        "CREATE OR REPLACE FUNCTION public.{}({})\n RETURNS {}\n LANGUAGE internal\n {volatility}\n\
         AS $function${}$function$\n",
        super::quoting::quote_ident(&f.name),
        f.arguments,
        f.result,
        f.name
    )
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
            let (required, optional) = split_optional(&arguments);
            let mut types = vec![ANY; required.len() + optional.len()];
            let (result, result_oid) = match kind.as_str() {
                "table" => ("SETOF record".to_string(), Some(2249)),
                "aggregate" => ("record".to_string(), Some(2249)),
                _ => match scalar_signature(ctx, name, required.len()) {
                    Some((arguments, result)) => {
                        if arguments.len() == types.len() {
                            types = arguments;
                        }
                        (result.name().to_string(), Some(result.oid() as i32))
                    }
                    None => ("any".to_string(), None),
                },
            };
            listed.push(Function {
                oid: 0,
                name: name.to_string(),
                kind,
                arguments,
                result,
                result_oid,
                optional: optional.len(),
                parameters: required.into_iter().chain(optional).zip(types).collect(),
            });
        }
    }
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    for (i, f) in listed.iter_mut().enumerate() {
        f.oid = FIRST_OID + i as i32;
    }
    Ok(listed)
}

/// "a, b [, c]" -> the required argument names and the optional ones.
fn split_optional(arguments: &str) -> (Vec<String>, Vec<String>) {
    let names = |s: &str| -> Vec<String> {
        s.split(',')
            .map(|a| a.trim_matches(|c: char| c.is_whitespace() || c == '[' || c == ']'))
            .filter(|a| !a.is_empty())
            // An argument written as its choices ('bgnbd' | …) has no name: '' as in
            // PostgreSQL's proargnames.
            .map(
                |a| match a.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    true => a.to_string(),
                    false => String::new(),
                },
            )
            .collect()
    };
    match arguments.split_once('[') {
        Some((required, optional)) => (names(required), names(optional)),
        None => (names(arguments), Vec::new()),
    }
}

/// A scalar function's PostgreSQL argument types (when its signature lists exact ones) and
/// result type: the result asked of the function with those types, else with `arity`
/// numbers or texts (a return type rarely depends on more than that).
fn scalar_signature(
    ctx: &SessionContext,
    name: &str,
    arity: usize,
) -> Option<(Vec<i32>, pgwire::api::Type)> {
    use datafusion::logical_expr::TypeSignature;
    use datafusion_postgres::arrow_pg::datatypes::into_pg_type;
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
    let arguments = exact
        .iter()
        .flatten()
        .map(|t| into_pg_type(t).ok().map(|t| t.oid() as i32))
        .collect::<Option<Vec<i32>>>()
        .unwrap_or_default();
    let candidates = exact
        .into_iter()
        .chain([vec![DataType::Float64; arity], vec![DataType::Utf8; arity]]);
    let data_type = candidates
        .into_iter()
        .find_map(|args| udf.return_type(&args).ok())?;
    Some((arguments, into_pg_type(&data_type).ok()?))
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
                "prorettype" => ScalarValue::Int32(Some(f.result_oid.unwrap_or(2283))),
                "pronargs" => ScalarValue::Int16(Some(f.parameters.len() as i16)),
                "pronargdefaults" => ScalarValue::Int16(Some(f.optional as i16)),
                // An oidvector: the argument types, space-separated.
                "proargtypes" => text(
                    &f.parameters
                        .iter()
                        .map(|(_, t)| t.to_string())
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                "proargnames" => ScalarValue::List(ScalarValue::new_list_nullable(
                    &f.parameters
                        .iter()
                        .map(|(n, _)| text(n))
                        .collect::<Vec<_>>(),
                    &DataType::Utf8,
                )),
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

/// pg_proc as the catalog answers it: PostgreSQL's built-ins, then cip's functions.
#[derive(Debug)]
pub struct Functions {
    builtins: Arc<MemTable>,
    own: OwnRows,
    schema: SchemaRef,
}

impl Functions {
    pub fn new(own: OwnRows) -> Result<Functions> {
        let builtins = super::proc_arrays::builtins()?;
        // cip's rows leave some columns NULL, so the union is nullable throughout.
        let fields: Vec<Field> = builtins
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect();
        Ok(Functions {
            builtins,
            own,
            schema: Arc::new(Schema::new(fields)),
        })
    }
}

#[async_trait]
impl TableProvider for Functions {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let mut plans = vec![
            self.builtins
                .scan(state, projection, filters, limit)
                .await?,
        ];
        if let Some(own) = self.own.get() {
            plans.push(own.scan(state, projection, filters, limit).await?);
        }
        UnionExec::try_new(plans)
    }
}

/// `name(oid)`: the text for one of cip's functions, NULL for any other oid. The OID may
/// come as a literal (an Int64 here: psql's `\sf` passes the number it looked up).
fn lookup_udf(name: &str, texts: Arc<HashMap<i32, String>>) -> datafusion::logical_expr::ScalarUDF {
    create_udf(
        name,
        vec![DataType::Int64],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(move |args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let Some(oids) = arrays[0].as_any().downcast_ref::<Int64Array>() else {
                return exec_err!("expected an oid");
            };
            let out: StringArray = oids
                .iter()
                .map(|o| {
                    let o = i32::try_from(o?).ok()?;
                    texts.get(&o).cloned()
                })
                .collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}
