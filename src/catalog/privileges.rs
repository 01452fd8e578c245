//! PostgreSQL's access privilege inquiry functions — `has_table_privilege`,
//! `has_any_column_privilege`, `has_column_privilege`, `has_schema_privilege`,
//! `has_database_privilege`, `has_function_privilege` and `pg_has_role` — answered from cip's
//! roles. datafusion-pg-catalog answered true to everything (three were missing), so an
//! analyst's Metabase, DBeaver or pgAdmin offered edits that then failed with 42501.
//!
//! What the roles may do (identity.rs, statement/own_schema.rs): an operator or the owner is
//! a superuser and holds every privilege; an analyst reads every table and view, writes none,
//! creates only in the schema named after them (and their own schema, temporary objects),
//! connects, and executes functions (a side-effecting one still refuses them when run).
//! As in PostgreSQL the user is the session's unless given first (a name or an OID), the
//! privilege text may list several (true if any is held, `WITH GRANT OPTION` allowed), an
//! unknown privilege is 22023 and an unknown user 42704; NULL anywhere gives NULL.

use super::role_rows;
use super::roles::ConfiguredRoles;
use crate::error::sqlstate;
use crate::settings::pg::PgSettings;
use cip_udfs::error::sql_error;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{plan_err, DataFusionError, Result};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::prelude::SessionContext;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Object {
    Table,
    AnyColumn,
    Column,
    Schema,
    Database,
    Function,
    Role,
}

/// (function, object, how many arguments name the object, the privileges it knows).
const FUNCTIONS: &[(&str, Object, usize, &[&str])] = &[
    (
        "has_table_privilege",
        Object::Table,
        1,
        &[
            "SELECT",
            "INSERT",
            "UPDATE",
            "DELETE",
            "TRUNCATE",
            "REFERENCES",
            "TRIGGER",
        ],
    ),
    (
        "has_any_column_privilege",
        Object::AnyColumn,
        1,
        &["SELECT", "INSERT", "UPDATE", "REFERENCES"],
    ),
    (
        "has_column_privilege",
        Object::Column,
        2,
        &["SELECT", "INSERT", "UPDATE", "REFERENCES"],
    ),
    (
        "has_schema_privilege",
        Object::Schema,
        1,
        &["CREATE", "USAGE"],
    ),
    (
        "has_database_privilege",
        Object::Database,
        1,
        &["CREATE", "CONNECT", "TEMPORARY", "TEMP"],
    ),
    ("has_function_privilege", Object::Function, 1, &["EXECUTE"]),
    ("pg_has_role", Object::Role, 1, &["MEMBER", "USAGE", "SET"]),
];

/// Registers the functions over the server's roles (replacing datafusion-pg-catalog's).
pub fn register(ctx: &SessionContext, roles: &ConfiguredRoles) {
    for (name, object, naming, known) in FUNCTIONS {
        ctx.register_udf(ScalarUDF::new_from_impl(Privilege {
            name,
            object: *object,
            naming: *naming,
            known,
            roles: roles.clone(),
            signature: Signature::user_defined(Volatility::Stable),
            doc: documentation(name, *object, *naming),
        }));
    }
}

fn documentation(name: &str, object: Object, naming: usize) -> Documentation {
    let what = match object {
        Object::Table => "table or view",
        Object::AnyColumn => "table (any of its columns)",
        Object::Column => "column",
        Object::Schema => "schema",
        Object::Database => "database",
        Object::Function => "function",
        Object::Role => "role",
    };
    let target = if naming == 2 { "table, column" } else { what };
    let mut doc = Documentation::builder(
        super::SECTION,
        format!(
            "Whether the user (the session's unless given first, by name or OID) holds the \
             privilege on the {what}, from cip's roles: operators hold every privilege, \
             analysts read, connect and execute but write nothing and create only in the \
             schema named after them. The privilege may list several (true if any is held). \
             NULL for NULL; 22023 for an unknown privilege, 42704 for an unknown user."
        ),
        format!("{name}([user,] {target}, privilege)"),
    )
    .with_sql_example(format!(
        "SELECT {name}({}'{}')",
        match object {
            Object::Table | Object::AnyColumn => "'members', ",
            Object::Column => "'members', 'tier', ",
            Object::Schema => "'public', ",
            Object::Database => "'cip', ",
            Object::Function => "'abs(integer)', ",
            Object::Role => "'cip', ",
        },
        match object {
            Object::Schema | Object::Database => "CREATE",
            Object::Function => "EXECUTE",
            Object::Role => "MEMBER",
            _ => "SELECT",
        }
    ))
    .with_argument("user", "Optional: a role's name or OID.")
    .with_argument(what, format!("The {what}, by name or OID."));
    if object == Object::Column {
        doc = doc.with_argument("column", "The column, by name or number.");
    }
    doc.with_argument("privilege", "The privilege(s), comma-separated.")
        .build()
}

#[derive(Debug)]
struct Privilege {
    name: &'static str,
    object: Object,
    naming: usize,
    known: &'static [&'static str],
    roles: ConfiguredRoles,
    signature: Signature,
    doc: Documentation,
}

impl PartialEq for Privilege {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Privilege {}

impl std::hash::Hash for Privilege {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

/// A user the inquiry is about: their name and whether they are a superuser.
struct Who {
    name: String,
    superuser: bool,
}

fn unknown_role(what: String) -> DataFusionError {
    sql_error(sqlstate::UNDEFINED_OBJECT, what)
}

impl Privilege {
    /// The session's user.
    fn session_user(config: &ConfigOptions) -> Who {
        let settings = config.extensions.get::<PgSettings>();
        let get = |n: &str| settings.and_then(|s| s.get(n));
        Who {
            name: get("session_authorization").unwrap_or_default(),
            superuser: get("is_superuser").as_deref() != Some("off"),
        }
    }

    /// The user named (or numbered) by `v`; predefined roles are not superusers.
    fn named(&self, by_oid: &HashMap<i64, String>, v: Named) -> Result<Who> {
        let name = match v {
            Named::Text(name) => name,
            Named::Oid(oid) => by_oid
                .get(&oid)
                .cloned()
                .ok_or_else(|| unknown_role(format!("role with OID {oid} does not exist")))?,
        };
        if let Some(r) = self.roles.list().iter().find(|r| r.name == name) {
            return Ok(Who {
                superuser: r.is_superuser,
                name,
            });
        }
        if by_oid.values().any(|n| *n == name) {
            return Ok(Who {
                name,
                superuser: false,
            });
        }
        Err(unknown_role(format!("role \"{name}\" does not exist")))
    }

    /// The privileges `text` lists, checked against the object's kind.
    fn privileges(&self, text: &str) -> Result<Vec<String>> {
        text.split(',')
            .map(|p| {
                let p = p.trim().to_ascii_uppercase();
                let p = p
                    .strip_suffix("WITH GRANT OPTION")
                    .map_or(p.as_str(), str::trim_end);
                if self.known.contains(&p) {
                    Ok(p.to_string())
                } else {
                    Err(sql_error(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        format!("unrecognized privilege type: \"{}\"", text.trim()),
                    ))
                }
            })
            .collect()
    }

    /// Whether an analyst `who` holds `privilege` on the object named `object` (its text, or
    /// None for an OID).
    fn analyst_holds(&self, who: &Who, object: Option<&str>, privilege: &str) -> bool {
        match (self.object, privilege) {
            (Object::Table | Object::AnyColumn | Object::Column, p) => p == "SELECT",
            (Object::Schema, "USAGE") => true,
            (Object::Schema, _) => object == Some(who.name.as_str()),
            (Object::Database, _) | (Object::Function, _) => true,
            (Object::Role, _) => object == Some(who.name.as_str()),
        }
    }
}

/// A user or an object given by name or by OID.
enum Named {
    Text(String),
    Oid(i64),
}

fn named_at(column: &ArrayRef, i: usize) -> Option<Named> {
    if column.is_null(i) {
        return None;
    }
    Some(match column.data_type() {
        DataType::Utf8 => Named::Text(column.as_string::<i32>().value(i).to_string()),
        _ => Named::Oid(column.as_primitive::<Int64Type>().value(i)),
    })
}

impl ScalarUDFImpl for Privilege {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Names as text, OIDs and column numbers as bigint.
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let least = self.naming + 1;
        if args.len() != least && args.len() != least + 1 {
            return plan_err!(
                "function {}() takes {least} or {} arguments",
                self.name,
                least + 1
            );
        }
        args.iter()
            .map(|t| match t {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
                    Ok(DataType::Utf8)
                }
                t if t.is_integer() => Ok(DataType::Int64),
                t => plan_err!("function {}() takes names or OIDs, not {t}", self.name),
            })
            .collect()
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let columns: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.to_array(n))
            .collect::<Result<_>>()?;
        let with_user = columns.len() == self.naming + 2;
        let by_oid = role_rows::names(&self.roles);
        let session = Self::session_user(&args.config_options);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            if columns.iter().any(|c| c.is_null(i)) {
                out.push(None);
                continue;
            }
            let who = match with_user {
                true => match named_at(&columns[0], i) {
                    Some(v) => self.named(&by_oid, v)?,
                    None => {
                        out.push(None);
                        continue;
                    }
                },
                false => Who {
                    name: session.name.clone(),
                    superuser: session.superuser,
                },
            };
            let object_at = usize::from(with_user);
            let object = match named_at(&columns[object_at], i) {
                Some(Named::Text(t)) => Some(t),
                Some(Named::Oid(oid)) if self.object == Object::Role => by_oid.get(&oid).cloned(),
                _ => None,
            };
            let privilege_column = cast(&columns[columns.len() - 1], &DataType::Utf8)?;
            let privileges = self.privileges(privilege_column.as_string::<i32>().value(i))?;
            if self.object == Object::Role {
                if let Some(role) = &object {
                    self.named(&by_oid, Named::Text(role.clone()))?;
                }
            }
            let holds = who.superuser
                || privileges
                    .iter()
                    .any(|p| self.analyst_holds(&who, object.as_deref(), p));
            out.push(Some(holds));
        }
        Ok(ColumnarValue::Array(Arc::new(BooleanArray::from(out))))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}
