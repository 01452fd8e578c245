//! pg_authid, pg_roles and pg_user from the configured users, with OIDs the rest of the
//! catalog agrees with. datafusion-pg-catalog listed the configured users in pg_roles with
//! OID 0, its pg_authid held PostgreSQL's `postgres` and not them, and it had no pg_user, while
//! the catalog's owner columns (nspowner, proowner, datdba, typowner) say 10: a client joining
//! pg_roles on an owner column found nobody. Here the owner (the first operator) is OID 10,
//! PostgreSQL's bootstrap superuser, the other configured users follow from ROLE_OID_BASE, and
//! PostgreSQL 16's predefined roles (pg_monitor, …) are listed with their own OIDs, as
//! PostgreSQL lists them in all three (psql's `\du` hides names starting with `pg_`).

use super::roles::ConfiguredRoles;
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Int32Array, ListArray, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::common::Result;
use datafusion::datasource::MemTable;
use std::sync::Arc;

/// The owner's OID: PostgreSQL's bootstrap superuser, which owns its built-in objects.
pub const OWNER_OID: i32 = 10;

/// The other configured users' OIDs, in configuration order: past the key, index and default
/// ranges (keys.rs, indexes.rs, defaults.rs).
const ROLE_OID_BASE: i32 = 1_300_000_000;

/// PostgreSQL 16's predefined roles (the version cip reports), with their OIDs.
const PREDEFINED: &[(i32, &str)] = &[
    (3373, "pg_monitor"),
    (3374, "pg_read_all_settings"),
    (3375, "pg_read_all_stats"),
    (3377, "pg_stat_scan_tables"),
    (4200, "pg_signal_backend"),
    (4544, "pg_checkpoint"),
    (4550, "pg_use_reserved_connections"),
    (4569, "pg_read_server_files"),
    (4570, "pg_write_server_files"),
    (4571, "pg_execute_server_program"),
    (6171, "pg_database_owner"),
    (6181, "pg_read_all_data"),
    (6182, "pg_write_all_data"),
    (6304, "pg_create_subscription"),
];

/// The relations this file answers.
pub const NAMES: &[&str] = &["pg_authid", "pg_roles", "pg_user"];

/// One role as the three relations show it.
struct Row {
    oid: i32,
    name: String,
    superuser: bool,
    login: bool,
}

fn rows(roles: &ConfiguredRoles) -> Vec<Row> {
    let owner = roles.owner();
    let mut next = ROLE_OID_BASE;
    let mut out: Vec<Row> = roles
        .list()
        .iter()
        .map(|r| {
            let oid = match r.name == owner {
                true => OWNER_OID,
                false => {
                    next += 1;
                    next - 1
                }
            };
            Row {
                oid,
                name: r.name.clone(),
                superuser: r.is_superuser,
                login: r.can_login,
            }
        })
        .collect();
    out.extend(PREDEFINED.iter().map(|(oid, name)| Row {
        oid: *oid,
        name: name.to_string(),
        superuser: false,
        login: false,
    }));
    out.sort_by_key(|r| r.oid);
    out
}

/// The OID of the role named `name`.
pub fn oid_of(roles: &ConfiguredRoles, name: &str) -> Option<i32> {
    rows(roles)
        .into_iter()
        .find(|r| r.name == name)
        .map(|r| r.oid)
}

/// Every role's name by OID, configured or predefined.
pub fn names(roles: &ConfiguredRoles) -> std::collections::HashMap<i64, String> {
    rows(roles)
        .into_iter()
        .map(|r| (i64::from(r.oid), r.name))
        .collect()
}

fn boolean(name: &str) -> Field {
    Field::new(name, DataType::Boolean, true)
}

fn timestamptz(name: &str) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        true,
    )
}

fn text_array(name: &str) -> Field {
    let item = Arc::new(Field::new("item", DataType::Utf8, true));
    Field::new(name, DataType::List(item), true)
}

/// One column of a relation: its field and its values over the rows.
type Column = (Field, ArrayRef);

fn bools(name: &str, rows: &[Row], f: impl Fn(&Row) -> bool) -> Column {
    let values: BooleanArray = rows.iter().map(|r| Some(f(r))).collect();
    (boolean(name), Arc::new(values))
}

fn columns(relation: &str, rows: &[Row]) -> Vec<Column> {
    let n = rows.len();
    let oid = |name: &str| -> Column {
        let values: Int32Array = rows.iter().map(|r| Some(r.oid)).collect();
        (Field::new(name, DataType::Int32, true), Arc::new(values))
    };
    let name = |name: &str| -> Column {
        let values: StringArray = rows.iter().map(|r| Some(r.name.as_str())).collect();
        (Field::new(name, DataType::Utf8, true), Arc::new(values))
    };
    let nulls_text = |name: &str| -> Column {
        (
            Field::new(name, DataType::Utf8, true),
            Arc::new(StringArray::new_null(n)),
        )
    };
    let until = |name: &str| -> Column {
        let values = TimestampMicrosecondArray::new_null(n).with_timezone("UTC");
        (timestamptz(name), Arc::new(values))
    };
    let config = |name: &str| -> Column {
        let field = text_array(name);
        let DataType::List(item) = field.data_type().clone() else {
            unreachable!("text_array is a list")
        };
        (field, Arc::new(ListArray::new_null(item, n)))
    };
    let connlimit = || -> Column {
        let values = Int32Array::from(vec![-1; n]);
        (
            Field::new("rolconnlimit", DataType::Int32, true),
            Arc::new(values),
        )
    };
    match relation {
        "pg_user" => vec![
            name("usename"),
            oid("usesysid"),
            bools("usecreatedb", rows, |r| r.superuser),
            bools("usesuper", rows, |r| r.superuser),
            bools("userepl", rows, |_| false),
            bools("usebypassrls", rows, |_| false),
            // PostgreSQL shows '********' for a password it keeps; cip shows none.
            nulls_text("passwd"),
            until("valuntil"),
            config("useconfig"),
        ],
        "pg_roles" => [
            vec![name("rolname")],
            flags(rows),
            vec![
                connlimit(),
                nulls_text("rolpassword"),
                until("rolvaliduntil"),
                bools("rolbypassrls", rows, |_| false),
                config("rolconfig"),
                oid("oid"),
            ],
        ]
        .concat(),
        _ => [
            vec![oid("oid"), name("rolname")],
            flags(rows),
            vec![
                bools("rolbypassrls", rows, |_| false),
                connlimit(),
                nulls_text("rolpassword"),
                until("rolvaliduntil"),
            ],
        ]
        .concat(),
    }
}

/// The attributes pg_roles and pg_authid list in the same order.
fn flags(rows: &[Row]) -> Vec<Column> {
    vec![
        bools("rolsuper", rows, |r| r.superuser),
        bools("rolinherit", rows, |_| true),
        bools("rolcreaterole", rows, |r| r.superuser),
        bools("rolcreatedb", rows, |r| r.superuser),
        bools("rolcanlogin", rows, |r| r.login),
        bools("rolreplication", rows, |_| false),
    ]
}

/// The relation `relation` (one of NAMES) over the configured roles.
pub fn relation(relation: &str, roles: &ConfiguredRoles) -> Result<MemTable> {
    let mut rows = rows(roles);
    if relation == "pg_user" {
        rows.retain(|r| r.login);
    }
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) =
        columns(relation, &rows).into_iter().unzip();
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays)?;
    MemTable::try_new(schema, vec![vec![batch]])
}

/// `batch` (pg_class rows) owned by the owner: datafusion-pg-catalog says 0, which no role
/// has, where every other owner column of the catalog says 10.
pub fn owned(batch: &RecordBatch) -> Result<RecordBatch> {
    let schema = batch.schema();
    let Ok(at) = schema.index_of("relowner") else {
        return Ok(batch.clone());
    };
    let owners = datafusion::arrow::compute::cast(
        &Int32Array::from(vec![OWNER_OID; batch.num_rows()]),
        schema.field(at).data_type(),
    )?;
    let mut columns = batch.columns().to_vec();
    columns[at] = owners;
    Ok(RecordBatch::try_new(schema, columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UserConfig;
    use datafusion::catalog::TableProvider;

    fn user(name: &str, role: &str) -> UserConfig {
        toml::from_str(&format!(
            "name = \"{name}\"\npassword = \"x\"\nrole = \"{role}\""
        ))
        .expect("a user's configuration")
    }

    #[test]
    fn the_owner_is_ten_and_others_follow() {
        let roles =
            ConfiguredRoles::from_config(&[user("ana", "analyst"), user("ops", "operator")])
                .expect("roles");
        let names = names(&roles);
        assert_eq!(names.get(&10).map(String::as_str), Some("ops"));
        assert_eq!(names.get(&1_300_000_000).map(String::as_str), Some("ana"));
        assert_eq!(names.get(&3373).map(String::as_str), Some("pg_monitor"));
        assert_eq!(names.get(&0), None);
        let users = relation("pg_user", &roles).expect("pg_user");
        assert_eq!(users.schema().field(0).name(), "usename");
    }
}
