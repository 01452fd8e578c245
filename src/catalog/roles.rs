//! The roles pg_catalog lists (pg_roles, psql's `\du`, pgjdbc's getTablePrivileges): the
//! configured users, or the one open superuser when none are configured.
//!
//! datafusion-pg-catalog 0.19 implements its context trait for `Arc<T>` by calling the same
//! method on the `Arc` again, so handing it an `Arc<AuthManager>` (as cip did) recursed until
//! the stack overflowed and the process aborted on `SELECT * FROM pg_roles`. This provider is a
//! plain value, so the blanket impl is never involved.

use crate::config::UserConfig;
use crate::identity::Role as CipRole;
use datafusion::arrow::array::{AsArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::datatypes::Int64Type;
use datafusion::common::Result as DfResult;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::context::{
    PgCatalogContextProvider, Role,
};
use std::sync::{Arc, LazyLock};

/// The name of the one role of a server without configured users (README: `psql -U cip`).
pub const OPEN_ROLE: &str = "cip";

#[derive(Debug, Clone)]
pub struct ConfiguredRoles {
    roles: Arc<Vec<Role>>,
}

impl ConfiguredRoles {
    pub fn from_config(users: &[UserConfig]) -> crate::error::Result<Self> {
        let mut roles = Vec::new();
        for u in users {
            let operator = u.role()? == CipRole::Operator;
            roles.push(role(&u.name, operator));
        }
        if roles.is_empty() {
            roles.push(role(OPEN_ROLE, true));
        }
        Ok(ConfiguredRoles {
            roles: Arc::new(roles),
        })
    }
}

fn role(name: &str, operator: bool) -> Role {
    Role {
        name: name.to_string(),
        is_superuser: operator,
        can_login: true,
        can_create_db: false,
        can_create_role: false,
        can_create_user: false,
        can_replication: false,
        grants: vec![],
        inherited_roles: vec![],
    }
}

#[async_trait::async_trait]
impl PgCatalogContextProvider for ConfiguredRoles {
    async fn roles(&self) -> Vec<String> {
        self.roles.iter().map(|r| r.name.clone()).collect()
    }

    async fn role(&self, name: &str) -> Option<Role> {
        self.roles.iter().find(|r| r.name == name).cloned()
    }
}

impl ConfiguredRoles {
    /// The configured roles, in configuration order.
    pub fn list(&self) -> &[Role] {
        &self.roles
    }

    /// The role that owns every object: the first operator (superuser), else the first role.
    pub fn owner(&self) -> String {
        self.roles
            .iter()
            .find(|r| r.is_superuser)
            .or_else(|| self.roles.first())
            .map(|r| r.name.clone())
            .unwrap_or_else(|| OPEN_ROLE.to_string())
    }
}

/// `pg_get_userbyid(oid)`: the name of the role with that OID (role_rows.rs: the owner of
/// every object is 10), or PostgreSQL's `unknown (OID=n)`. datafusion-pg-catalog's answered
/// 'postgres', a role that does not exist here, and took only 32-bit OIDs, so psql's `\dn`
/// (nspowner is a bigint there) failed to plan.
#[derive(Debug)]
struct UserById {
    roles: ConfiguredRoles,
    signature: Signature,
}

impl PartialEq for UserById {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.roles.roles, &other.roles.roles)
    }
}

impl Eq for UserById {}

impl std::hash::Hash for UserById {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.roles.roles).hash(state);
    }
}

pub fn user_by_id(roles: &ConfiguredRoles) -> ScalarUDF {
    ScalarUDF::from(UserById {
        roles: roles.clone(),
        signature: Signature::any(1, Volatility::Stable),
    })
}

impl ScalarUDFImpl for UserById {
    fn name(&self) -> &str {
        "pg_get_userbyid"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let oids = args.args[0].to_array(args.number_rows)?;
        // An untyped NULL is a NullArray: the cast keeps it all NULL.
        let oids = datafusion::arrow::compute::cast(&oids, &DataType::Int64)?;
        let oids = oids.as_primitive::<Int64Type>();
        // Listed once per batch, not once per row.
        let known = super::role_rows::names(&self.roles);
        let names: StringArray = oids
            .iter()
            .map(|oid| {
                oid.map(|oid| {
                    known
                        .get(&oid)
                        .cloned()
                        .unwrap_or_else(|| format!("unknown (OID={oid})"))
                })
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(names)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&USER_BY_ID_DOC)
    }
}

static USER_BY_ID_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "The name of the role with this OID, as PostgreSQL's pg_get_userbyid: every object in \
         cip is owned by one role, OID 10 (the first configured operator, or `cip`); other \
         configured users and PostgreSQL's predefined roles by their pg_roles OIDs; \
         `unknown (OID=n)` for any other; NULL gives NULL.",
        "pg_get_userbyid(oid)",
    )
    .with_sql_example("SELECT pg_get_userbyid(relowner) FROM pg_catalog.pg_class LIMIT 1;")
    .with_argument("oid", "a role's OID (any integer type)")
    .build()
});
