//! `format_type(type_oid, typemod)`: a type's name as PostgreSQL prints it. datafusion-pg-catalog's
//! names about forty types and answers `oid(2205)` for the rest of its own pg_type — psql's
//! `\gdesc` of a regclass column said `oid(2205)`, `aclitem[]` was `oid(1034)`, and a regtype
//! of such a type printed that. PostgreSQL's rule: the SQL-standard spellings for the types
//! that have one (datafusion-pg-catalog's, with their type modifiers), an array as its
//! element's name and `[]`, any other type its pg_type name; NULL for a NULL OID and `???`
//! for an OID no type has.

use super::quoting::quote_ident;
use datafusion::arrow::array::{Array, AsArray, Int32Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int32Type};
use datafusion::common::{exec_err, Result};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    TypeSignature, Volatility,
};
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::format_type::create_format_type_udf;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, OnceLock};

/// The types PostgreSQL names by their SQL-standard spelling (format_type_extended's cases);
/// datafusion-pg-catalog's format_type spells them, type modifiers included.
const STANDARD: &[i32] = &[
    16, 18, 20, 21, 23, 700, 701, 1042, 1043, 1083, 1114, 1184, 1186, 1266, 1560, 1562, 1700,
];

/// PostgreSQL's built-in types: OID → (name, element OID, 0 when not an array).
fn types() -> &'static HashMap<i32, (String, i32)> {
    static TYPES: OnceLock<HashMap<i32, (String, i32)>> = OnceLock::new();
    TYPES.get_or_init(|| built_in().unwrap_or_default())
}

fn built_in() -> Option<HashMap<i32, (String, i32)>> {
    let table = super::static_tables().ok()?.pg_type.clone();
    let mut out = HashMap::new();
    for b in table.data() {
        let column =
            |name: &str, t: &DataType| b.column_by_name(name).and_then(|c| cast(c, t).ok());
        let (Some(oids), Some(names), Some(elems), Some(categories)) = (
            column("oid", &DataType::Int32),
            column("typname", &DataType::Utf8),
            column("typelem", &DataType::Int32),
            column("typcategory", &DataType::Utf8),
        ) else {
            return None;
        };
        let (oids, names, elems, categories) = (
            oids.as_primitive::<Int32Type>(),
            names.as_string::<i32>(),
            elems.as_primitive::<Int32Type>(),
            categories.as_string::<i32>(),
        );
        for row in 0..b.num_rows() {
            if oids.is_null(row) || names.is_null(row) {
                continue;
            }
            // A true array type (category A, named _element) prints as its element's;
            // int2vector and oidvector also have an element but print as themselves.
            let array = !categories.is_null(row)
                && categories.value(row) == "A"
                && names.value(row).starts_with('_');
            let elem = if array && !elems.is_null(row) {
                elems.value(row)
            } else {
                0
            };
            out.insert(oids.value(row), (names.value(row).to_string(), elem));
        }
    }
    Some(out)
}

/// The name of type `oid` with `typmod` (-1 for none), as PostgreSQL's format_type prints it.
pub fn name(oid: i32, typmod: i32) -> String {
    known(oid, typmod).unwrap_or_else(|| "???".to_string())
}

/// The name of type `oid`, or None when no built-in type has that OID.
pub fn known(oid: i32, typmod: i32) -> Option<String> {
    if STANDARD.contains(&oid) {
        return Some(standard(oid, typmod));
    }
    let (typname, elem) = types().get(&oid)?;
    Some(match *elem {
        0 => quote_ident(typname),
        elem => format!("{}[]", name(elem, typmod)),
    })
}

/// datafusion-pg-catalog's spelling of a SQL-standard type. Without a type modifier (nearly
/// every call: regtype output, pg_typeof, argument lists of every pg_proc row) it is read from
/// a table built once; the upstream function is called only for a modifier.
fn standard(oid: i32, typmod: i32) -> String {
    static PLAIN: LazyLock<HashMap<i32, String>> = LazyLock::new(|| {
        STANDARD
            .iter()
            .map(|&oid| (oid, upstream(oid, -1)))
            .collect()
    });
    match PLAIN.get(&oid) {
        Some(name) if typmod < 0 => name.clone(),
        _ => upstream(oid, typmod),
    }
}

fn upstream(oid: i32, typmod: i32) -> String {
    static UDF: LazyLock<ScalarUDF> = LazyLock::new(create_format_type_udf);
    static CONFIG: LazyLock<Arc<ConfigOptions>> = LazyLock::new(Default::default);
    let args = vec![
        ColumnarValue::Array(Arc::new(Int32Array::from(vec![oid]))),
        ColumnarValue::Array(Arc::new(Int32Array::from(vec![typmod]))),
    ];
    let named = UDF.invoke_with_args(ScalarFunctionArgs {
        args,
        arg_fields: vec![
            Arc::new(Field::new("oid", DataType::Int32, true)),
            Arc::new(Field::new("typemod", DataType::Int32, true)),
        ],
        number_rows: 1,
        return_field: Arc::new(Field::new("format_type", DataType::Utf8, true)),
        config_options: CONFIG.clone(),
    });
    named
        .and_then(|v| v.to_array(1))
        .ok()
        .and_then(|a| cast(&a, &DataType::Utf8).ok())
        .filter(|a| !a.is_null(0))
        .map(|a| a.as_string::<i32>().value(0).to_string())
        .unwrap_or_else(|| "???".to_string())
}

pub fn udf() -> ScalarUDF {
    let int = [DataType::Int32, DataType::Int64];
    let mut forms = Vec::new();
    for a in &int {
        for b in &int {
            forms.push(TypeSignature::Exact(vec![a.clone(), b.clone()]));
        }
    }
    ScalarUDF::from(FormatType {
        signature: Signature::one_of(forms, Volatility::Stable),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct FormatType {
    signature: Signature,
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "The name of the type with this OID, as PostgreSQL prints it: the SQL-standard \
         spelling with the type modifier where the type has one, `element[]` for an array, \
         else the type's pg_type name; NULL for a NULL OID, `???` for an OID no type has.",
        "format_type(type_oid, typemod)",
    )
    .with_sql_example(
        "SELECT format_type(1043, 36), format_type(2205, NULL); -- character varying(32), regclass",
    )
    .with_argument("type_oid", "A type's OID (pg_type.oid).")
    .with_argument(
        "typemod",
        "The type modifier (pg_attribute.atttypmod), or NULL for none.",
    )
    .build()
});

impl ScalarUDFImpl for FormatType {
    fn name(&self) -> &str {
        "format_type"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [oids, typmods] = args.args.as_slice() else {
            return exec_err!("format_type takes two arguments: type_oid, typemod");
        };
        let n = args.number_rows;
        let oids = cast(&oids.to_array(n)?, &DataType::Int32)?;
        let typmods = cast(&typmods.to_array(n)?, &DataType::Int32)?;
        let (oids, typmods) = (
            oids.as_primitive::<Int32Type>(),
            typmods.as_primitive::<Int32Type>(),
        );
        let names: StringArray = (0..n)
            .map(|i| {
                let typmod = if typmods.is_null(i) {
                    -1
                } else {
                    typmods.value(i)
                };
                (!oids.is_null(i)).then(|| name(oids.value(i), typmod))
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(names)))
    }
}

pub fn register(ctx: &datafusion::prelude::SessionContext) {
    ctx.register_udf(udf());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_named_as_postgresql_names_them() {
        assert_eq!(name(23, -1), "integer");
        assert_eq!(name(1043, 36), "character varying(32)");
        assert_eq!(name(1007, -1), "integer[]");
        assert_eq!(name(2205, -1), "regclass");
        assert_eq!(name(1034, -1), "aclitem[]");
        assert_eq!(name(22, -1), "int2vector");
        assert_eq!(name(18, -1), "\"char\"");
        assert_eq!(name(999_999, -1), "???");
    }
}
