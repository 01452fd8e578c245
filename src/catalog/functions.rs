//! Catalog functions PostgreSQL drivers call while connecting or reflecting that
//! datafusion-pg-catalog does not provide: psycopg's type lookup (`to_regtype`), SQLAlchemy's
//! reflection (`json_build_object`, `pg_get_serial_sequence`, `pg_get_indexdef`,
//! `pg_collation_is_visible`) and
//! psql's `\df` (`pg_function_is_visible`). Registered on every session.

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Int32Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::{
    create_udf, ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    TypeSignature, Volatility,
};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// Registers the functions below on one session.
pub fn register(ctx: &SessionContext) {
    ctx.register_udf(to_regtype());
    ctx.register_udf(pg_size_pretty());
    ctx.register_udf(super::regtype_array::udf());
    ctx.register_udf(super::pg_typeof::udf());
    super::settings_functions::register(ctx);
    ctx.register_udf(ScalarUDF::from(JsonBuildObject::new()));
    // cip has no sequences (serial columns fill from the table's counter) nor shared objects
    // to describe. pg_get_indexdef, obj_description and col_description calls become lookups
    // in pg_indexes and pg_description (statement/rules/definitions.rs); the NULL here
    // answers only what that rule does not see.
    for name in [
        "pg_get_serial_sequence",
        "pg_get_indexdef",
        "col_description",
        "obj_description",
        "shobj_description",
        "pg_get_function_sqlbody",
        // No triggers (pg_trigger is empty): psql asks for the table's triggers when
        // relhastriggers is set, which it is for the tables of a foreign key.
        "pg_get_triggerdef",
        // Describes an object of pg_depend; psql's `\dx+` asks it of an extension's members
        // (no extension here has any).
        "pg_describe_object",
    ] {
        ctx.register_udf(constant_udf(name, ScalarValue::Utf8(None)));
    }
    // Tables live in the data directory, PostgreSQL's default tablespace, whose location it
    // gives as '' (psql's `\db`).
    ctx.register_udf(constant_udf(
        "pg_tablespace_location",
        ScalarValue::Utf8(Some(String::new())),
    ));
    // Sizes on disk are not tracked per relation (a table is Parquet parts and a log).
    for name in [
        "pg_table_size",
        "pg_database_size",
        "pg_tablespace_size",
        "pg_indexes_size",
    ] {
        ctx.register_udf(constant_udf(name, ScalarValue::Int64(None)));
    }
    for name in [
        "pg_collation_is_visible",
        "pg_function_is_visible",
        "pg_type_is_visible",
        "pg_operator_is_visible",
        "pg_opclass_is_visible",
        "pg_opfamily_is_visible",
        "pg_conversion_is_visible",
        "pg_ts_config_is_visible",
        "pg_ts_dict_is_visible",
        "pg_ts_parser_is_visible",
        "pg_ts_template_is_visible",
        "pg_statistics_obj_is_visible",
    ] {
        // One schema on the search path: everything that exists is visible.
        ctx.register_udf(constant_udf(name, ScalarValue::Boolean(Some(true))));
    }
    // cip has no temporary schemas at all, so none belongs to another session (dbt's docs),
    // and no publications (psql's `\d+` asks with the table's OID as a quoted literal).
    for name in ["pg_is_other_temp_schema", "pg_relation_is_publishable"] {
        ctx.register_udf(constant_udf(name, ScalarValue::Boolean(Some(false))));
    }
    // …and so the session's own temporary schema is OID 0, "none" (ADBC's get_objects).
    ctx.register_udf(constant_udf(
        "pg_my_temp_schema",
        ScalarValue::Int32(Some(0)),
    ));
    // The database is UTF8 (pg_database's encoding 6), and so is every client: cip accepts
    // no other client_encoding.
    for name in ["getdatabaseencoding", "pg_client_encoding"] {
        ctx.register_udf(constant_udf(name, ScalarValue::Utf8(Some("UTF8".into()))));
    }
}

/// Built-in type OIDs (fixed in PostgreSQL, and those of datafusion-pg-catalog's pg_type) by
/// every name `to_regtype` accepts for them.
const TYPE_OIDS: &[(&str, i32)] = &[
    ("bool", 16),
    ("boolean", 16),
    ("bytea", 17),
    ("char", 18),
    ("name", 19),
    ("int8", 20),
    ("bigint", 20),
    ("int2", 21),
    ("smallint", 21),
    ("int4", 23),
    ("int", 23),
    ("integer", 23),
    ("text", 25),
    ("oid", 26),
    ("json", 114),
    ("xml", 142),
    ("float4", 700),
    ("real", 700),
    ("float8", 701),
    ("double precision", 701),
    ("bpchar", 1042),
    ("character", 1042),
    ("varchar", 1043),
    ("character varying", 1043),
    ("date", 1082),
    ("time", 1083),
    ("time without time zone", 1083),
    ("timestamp", 1114),
    ("timestamp without time zone", 1114),
    ("timestamptz", 1184),
    ("timestamp with time zone", 1184),
    ("interval", 1186),
    ("numeric", 1700),
    ("decimal", 1700),
    ("uuid", 2950),
    ("jsonb", 3802),
    ("text[]", 1009),
    ("_text", 1009),
    ("int4[]", 1007),
    ("_int4", 1007),
    ("int8[]", 1016),
    ("_int8", 1016),
    ("varchar[]", 1015),
    ("_varchar", 1015),
];

/// `to_regtype(name)`: the type's OID, or NULL for a type that does not exist (psycopg and
/// SQLAlchemy ask for `hstore`; NULL tells them it is not installed).
fn regtype_of(name: &str) -> Option<i32> {
    let name = name.trim().trim_start_matches("pg_catalog.").to_lowercase();
    TYPE_OIDS
        .iter()
        .find(|(n, _)| *n == name.trim_matches('"'))
        .map(|(_, oid)| *oid)
}

fn to_regtype() -> ScalarUDF {
    create_udf(
        "to_regtype",
        vec![DataType::Utf8],
        DataType::Int32,
        Volatility::Stable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let Some(names) = arrays[0].as_any().downcast_ref::<StringArray>() else {
                return exec_err!("to_regtype expects a text argument");
            };
            let oids: Int32Array = names.iter().map(|n| n.and_then(regtype_of)).collect();
            Ok(ColumnarValue::Array(Arc::new(oids) as ArrayRef))
        }),
    )
}

/// `pg_size_pretty(bytes)` as PostgreSQL writes it: bytes below 10 kB, then kB, MB, GB, TB,
/// PB, each step dividing by 1024 and rounding half away from zero.
fn size_pretty(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if bytes.unsigned_abs() < 10 * 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64;
    for unit in UNITS {
        value = (value / 1024.0).round();
        if value.abs() < 10.0 * 1024.0 || unit == "PB" {
            return format!("{value:.0} {unit}");
        }
    }
    format!("{value:.0} PB")
}

fn pg_size_pretty() -> ScalarUDF {
    create_udf(
        "pg_size_pretty",
        vec![DataType::Int64],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let Some(sizes) = arrays[0]
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>()
            else {
                return exec_err!("pg_size_pretty expects a bigint");
            };
            let out: StringArray = sizes.iter().map(|s| s.map(size_pretty)).collect();
            Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
        }),
    )
}

/// A function whose answer is the same for any arguments.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Constant {
    name: String,
    value: ScalarValue,
    signature: Signature,
}

fn constant_udf(name: &str, value: ScalarValue) -> ScalarUDF {
    ScalarUDF::from(Constant {
        name: name.to_string(),
        value,
        signature: Signature::new(
            TypeSignature::OneOf(vec![TypeSignature::Nullary, TypeSignature::VariadicAny]),
            Volatility::Immutable,
        ),
    })
}

impl ScalarUDFImpl for Constant {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.value.data_type())
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(self.value.clone()))
    }
}

/// `json_build_object(key, value, …)` as text JSON.
#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonBuildObject {
    signature: Signature,
}

impl JsonBuildObject {
    fn new() -> Self {
        JsonBuildObject {
            signature: Signature::new(
                TypeSignature::OneOf(vec![TypeSignature::Nullary, TypeSignature::VariadicAny]),
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for JsonBuildObject {
    fn name(&self) -> &str {
        "json_build_object"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if !args.args.len().is_multiple_of(2) {
            return exec_err!("json_build_object: argument list must have even number of elements");
        }
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let mut out = Vec::with_capacity(rows);
        for row in 0..rows {
            let mut object = serde_json::Map::new();
            for pair in arrays.chunks(2) {
                let key = ScalarValue::try_from_array(&pair[0], row)?;
                if key.is_null() {
                    return exec_err!("json_build_object: argument 1 cannot be null");
                }
                let key = match key {
                    ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) => s,
                    other => other.to_string(),
                };
                object.insert(key, json_value(&pair[1], row)?);
            }
            out.push(Some(serde_json::Value::Object(object).to_string()));
        }
        Ok(ColumnarValue::Array(Arc::new(StringArray::from(out))))
    }
}

/// One cell as JSON: numbers and booleans as such, NULL as null, lists as arrays, anything
/// else as its text.
fn json_value(array: &ArrayRef, row: usize) -> Result<serde_json::Value> {
    use serde_json::Value;
    if array.is_null(row) {
        return Ok(Value::Null);
    }
    if let Some(b) = array.as_any().downcast_ref::<BooleanArray>() {
        return Ok(Value::Bool(b.value(row)));
    }
    let scalar = ScalarValue::try_from_array(array, row)?;
    Ok(match scalar {
        ScalarValue::Int8(Some(v)) => Value::from(v),
        ScalarValue::Int16(Some(v)) => Value::from(v),
        ScalarValue::Int32(Some(v)) => Value::from(v),
        ScalarValue::Int64(Some(v)) => Value::from(v),
        ScalarValue::UInt32(Some(v)) => Value::from(v),
        ScalarValue::UInt64(Some(v)) => Value::from(v),
        ScalarValue::Float64(Some(v)) => Value::from(v),
        ScalarValue::Float32(Some(v)) => Value::from(v),
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) => Value::String(s),
        ScalarValue::Utf8View(Some(s)) => Value::String(s),
        ScalarValue::List(list) => {
            let values = list.value(0);
            let items = (0..values.len())
                .map(|i| json_value(&values, i))
                .collect::<Result<Vec<_>>>()?;
            Value::Array(items)
        }
        other => Value::String(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regtype_names_and_aliases() {
        assert_eq!(regtype_of("integer"), Some(23));
        assert_eq!(regtype_of("pg_catalog.text"), Some(25));
        assert_eq!(regtype_of("Character Varying"), Some(1043));
        assert_eq!(regtype_of("hstore"), None);
    }

    #[test]
    fn sizes_read_as_postgresql_writes_them() {
        assert_eq!(size_pretty(0), "0 bytes");
        assert_eq!(size_pretty(10239), "10239 bytes");
        assert_eq!(size_pretty(10240), "10 kB");
        assert_eq!(size_pretty(1_000_000), "977 kB");
        assert_eq!(size_pretty(123_456_789), "118 MB");
    }
}
