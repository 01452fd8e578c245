//! The text form of the reg* types — what PostgreSQL's regclassout, regtypeout, regprocout
//! and regnamespaceout print. DataFusion has no such types: a cast to regclass is an Int32
//! OID, so `SELECT 23::regtype` printed 23 and `conrelid::regclass` outside a catalog query
//! printed the number. A result column that is such a cast is described as that type
//! (names.rs tags it); for each one read as text (`cip sql`, pgwire's text format) the OIDs
//! become the objects' names, looked up once per statement from the session's own catalog.
//! pgwire's binary format keeps the OID, as PostgreSQL's regclasssend does. An OID nothing has
//! prints as the number and 0 as '-', as PostgreSQL prints them.

use super::{Rows, Session};
use crate::catalog::quoting::quote_ident;
use crate::error::Result;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;

/// The field tag naming the reg* type a result column was cast to (names.rs). Only those are
/// printed by name: datafusion-pg-catalog tags some of its own OID columns with a reg* kind
/// (pg_type.typrelid, pg_attribute.atttypid) where PostgreSQL's are plain oids that drivers
/// read as numbers (ADBC's connect, pgjdbc's getBestRowIdentifier).
pub const REG_CAST_KEY: &str = "cip.reg_cast";

/// The reg* types printed by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Class,
    Proc,
    Procedure,
    Type,
    Namespace,
    Role,
}

impl Kind {
    fn of(tag: &str) -> Option<Self> {
        Some(match tag {
            "regclass" => Self::Class,
            "regproc" => Self::Proc,
            "regprocedure" => Self::Procedure,
            "regtype" => Self::Type,
            "regnamespace" => Self::Namespace,
            "regrole" => Self::Role,
            _ => return None,
        })
    }
}

/// The names of the objects of each reg* type a result shows as text, by OID.
#[derive(Debug, Default)]
pub struct RegNames {
    /// Per column: the names its OIDs print as, or None for a column left as it is.
    columns: Vec<Option<Names>>,
}

/// Where a column's names come from.
#[derive(Debug, Clone)]
enum Names {
    /// Listed from the session's catalog once per statement (relations, functions, schemas).
    Listed(Arc<HashMap<i32, String>>),
    /// Types: PostgreSQL's built-in pg_type, named by format_type without a query.
    Types,
}

impl Names {
    fn of(&self, oid: i32) -> Option<String> {
        match self {
            Self::Listed(names) => names.get(&oid).cloned(),
            Self::Types => crate::catalog::format_type::known(oid, -1),
        }
    }
}

/// The query naming every object of a listed reg* type: (oid, schema, name); a schema is given
/// only where the printed name is qualified when the schema is not on the search path. Types
/// are not listed (Names::Types).
fn listing(kind: Kind) -> Option<&'static str> {
    Some(match kind {
        Kind::Class => {
            "SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        }
        Kind::Procedure => {
            "SELECT p.oid, n.nspname, p.proname, p.proargtypes FROM pg_catalog.pg_proc p \
             JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
        }
        Kind::Proc => {
            "SELECT p.oid, n.nspname, p.proname FROM pg_catalog.pg_proc p \
             JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
        }
        Kind::Namespace => "SELECT oid, CAST(NULL AS TEXT), nspname FROM pg_catalog.pg_namespace",
        Kind::Role => "SELECT oid, CAST(NULL AS TEXT), rolname FROM pg_catalog.pg_roles",
        Kind::Type => return None,
    })
}

/// The printed name: quoted where needed, qualified when the schema is not one cip searches
/// (`public`, `pg_catalog`).
fn printed(schema: Option<&str>, name: &str) -> String {
    let quoted = quote_ident(name);
    match schema {
        Some(s) if !matches!(s, "public" | "pg_catalog") => {
            format!("{}.{quoted}", quote_ident(s))
        }
        _ => quoted,
    }
}

impl RegNames {
    /// The names the reg* columns of `schema` need where `as_text(i)` says column i is read as
    /// text; None when there are none.
    pub async fn for_columns(
        session: &Session,
        schema: &SchemaRef,
        as_text: impl Fn(usize) -> bool,
    ) -> Result<Option<Self>> {
        let mut by_kind: HashMap<Kind, Names> = HashMap::new();
        let mut columns = Vec::with_capacity(schema.fields().len());
        for (i, f) in schema.fields().iter().enumerate() {
            let kind = f
                .metadata()
                .get(REG_CAST_KEY)
                .and_then(|tag| Kind::of(tag))
                .filter(|_| f.data_type() == &DataType::Int32 && as_text(i));
            let Some(kind) = kind else {
                columns.push(None);
                continue;
            };
            let names = match by_kind.get(&kind) {
                Some(names) => names.clone(),
                None => {
                    let names = match kind {
                        Kind::Type => Names::Types,
                        _ => Names::Listed(Arc::new(names_of(session, kind).await?)),
                    };
                    by_kind.insert(kind, names.clone());
                    names
                }
            };
            columns.push(Some(names));
        }
        Ok((!by_kind.is_empty()).then_some(Self { columns }))
    }

    /// `schema` with each named column as text.
    fn shown_schema(&self, schema: &Schema) -> SchemaRef {
        let fields: Vec<Arc<Field>> = schema
            .fields()
            .iter()
            .enumerate()
            .map(
                |(i, f)| match self.columns.get(i).and_then(Option::as_ref) {
                    Some(_) if f.data_type() == &DataType::Int32 => {
                        Arc::new(Field::new(f.name(), DataType::Utf8, true))
                    }
                    _ => f.clone(),
                },
            )
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// `batch` with each named column's OIDs replaced by their printed names.
    pub fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let schema = self.shown_schema(&batch.schema());
        let arrays = batch
            .columns()
            .iter()
            .zip(schema.fields())
            .enumerate()
            .map(|(i, (array, field))| {
                match (
                    self.columns.get(i).and_then(Option::as_ref),
                    field.data_type(),
                ) {
                    (Some(names), DataType::Utf8) if array.data_type() == &DataType::Int32 => {
                        Arc::new(shown(array, names)) as ArrayRef
                    }
                    _ => array.clone(),
                }
            })
            .collect();
        Ok(RecordBatch::try_new(schema, arrays)?)
    }
}

fn shown(array: &ArrayRef, names: &Names) -> StringArray {
    array
        .as_primitive::<Int32Type>()
        .iter()
        .map(|oid| {
            oid.map(|oid| match names.of(oid) {
                Some(name) => name,
                None if oid == 0 => "-".to_string(),
                // PostgreSQL's OIDs are unsigned.
                None => (oid as u32).to_string(),
            })
        })
        .collect()
}

/// pg_proc.proargtypes' OIDs ("23 25") as PostgreSQL lists them in a regprocedure.
fn argument_types(oids: &str) -> String {
    oids.split_whitespace()
        .map(|oid| match oid.parse::<i32>() {
            Ok(oid) => crate::catalog::format_type::name(oid, -1),
            Err(_) => oid.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

async fn names_of(session: &Session, kind: Kind) -> Result<HashMap<i32, String>> {
    let mut out = HashMap::new();
    let Some(listing) = listing(kind) else {
        return Ok(out);
    };
    let batches = session.ctx().sql(listing).await?.collect().await?;
    for b in &batches {
        // Read through casts: the catalog's text columns may be any of Arrow's string types.
        let oids = cast(b.column(0), &DataType::Int32)?;
        let schemas = cast(b.column(1), &DataType::Utf8)?;
        let names = cast(b.column(2), &DataType::Utf8)?;
        let (oids, schemas, names) = (
            oids.as_primitive::<Int32Type>(),
            schemas.as_string::<i32>(),
            names.as_string::<i32>(),
        );
        // A regprocedure is printed with its argument types: `abs(integer)`.
        let args = match b.columns().get(3) {
            Some(c) => Some(cast(c, &DataType::Utf8)?),
            None => None,
        };
        let args = args.as_ref().map(|a| a.as_string::<i32>());
        for row in 0..b.num_rows() {
            if oids.is_null(row) || names.is_null(row) {
                continue;
            }
            let schema = (!schemas.is_null(row)).then(|| schemas.value(row));
            let mut name = printed(schema, names.value(row));
            if let Some(args) = args {
                let listed = if args.is_null(row) {
                    ""
                } else {
                    args.value(row)
                };
                name = format!("{name}({})", argument_types(listed));
            }
            out.entry(oids.value(row)).or_insert(name);
        }
    }
    Ok(out)
}

impl Session {
    /// `rows` as text reads them: reg* columns by name (`cip sql`, the slt harness's direct
    /// mode; pgwire chooses per column, by format).
    pub async fn printed(&self, rows: Rows) -> Result<Rows> {
        let Some(names) = RegNames::for_columns(self, &rows.schema, |_| true).await? else {
            return Ok(rows);
        };
        let schema = names.shown_schema(&rows.stream.schema());
        let stream = rows.stream.map(move |b| {
            b.and_then(|b| {
                names
                    .apply(b)
                    .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))
            })
        });
        Ok(Rows {
            schema: rows.schema,
            stream: Box::pin(RecordBatchStreamAdapter::new(schema, stream)),
            tag: rows.tag,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int32Array;

    #[test]
    fn oids_print_as_names_and_others_as_postgresql_does() {
        let names = Names::Listed(Arc::new(HashMap::from([(16482, "members".to_string())])));
        let array: ArrayRef = Arc::new(Int32Array::from(vec![
            Some(16482),
            Some(0),
            Some(99),
            None,
            Some(-1),
        ]));
        let out = shown(&array, &names);
        let got: Vec<Option<&str>> = out.iter().collect();
        assert_eq!(
            got,
            [
                Some("members"),
                Some("-"),
                Some("99"),
                None,
                Some("4294967295")
            ]
        );
    }

    #[test]
    fn types_are_named_without_a_query() {
        let array: ArrayRef = Arc::new(Int32Array::from(vec![Some(23), Some(1007), Some(999_999)]));
        let out = shown(&array, &Names::Types);
        let got: Vec<Option<&str>> = out.iter().collect();
        assert_eq!(got, [Some("integer"), Some("integer[]"), Some("999999")]);
    }

    #[test]
    fn procedures_list_their_argument_types() {
        assert_eq!(argument_types("23 701"), "integer,double precision");
        assert_eq!(argument_types(""), "");
    }

    #[test]
    fn names_outside_the_search_path_are_qualified_and_quoted() {
        assert_eq!(printed(Some("public"), "members"), "members");
        assert_eq!(
            printed(Some("mart"), "Top Spenders"),
            "mart.\"Top Spenders\""
        );
        assert_eq!(printed(None, "Odd"), "\"Odd\"");
    }
}
