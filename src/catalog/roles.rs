//! The roles pg_catalog lists (pg_roles, psql's `\du`, pgjdbc's getTablePrivileges): the
//! configured users, or the one open superuser when none are configured.
//!
//! datafusion-pg-catalog 0.19 implements its context trait for `Arc<T>` by calling the same
//! method on the `Arc` again, so handing it an `Arc<AuthManager>` (as cip did) recursed until
//! the stack overflowed and the process aborted on `SELECT * FROM pg_roles`. This provider is a
//! plain value, so the blanket impl is never involved.

use crate::config::UserConfig;
use crate::identity::Role as CipRole;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::context::{
    PgCatalogContextProvider, Role,
};
use std::sync::Arc;

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
