//! Who runs a session's statements: recorded by the statements that write on someone's
//! behalf (upgrades, launches), and checked by those an analyst may not run.
//!
//! Kept as a typed extension of the session's config, not a `cip.*` setting, so a client
//! cannot change it with SET.

use crate::error::sqlstate;
use datafusion::catalog::Session;
use datafusion::common::Result;
use datafusion::prelude::SessionContext;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The data directory's owner (`cip sql`, `cip score`) and the scheduler.
    Owner,
    /// Reads and writes.
    Operator,
    /// Reads only: writes and side-effecting functions get 42501.
    Analyst,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub role: Role,
}

impl Actor {
    pub fn new(name: impl Into<String>, role: Role) -> Self {
        Actor {
            name: name.into(),
            role,
        }
    }

    /// The local user running `cip sql` / `cip score`.
    pub fn local_owner() -> Self {
        let name = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| "owner".into());
        Actor::new(name, Role::Owner)
    }

    /// Who runs statements in this session; the owner when nobody was set (or the session
    /// is not one of the engine's).
    pub fn of(state: &dyn Session) -> Actor {
        Actor::of_config(state.config())
    }

    /// `of` for the session of `config`.
    pub fn of_config(config: &datafusion::prelude::SessionConfig) -> Actor {
        config
            .get_extension::<Actor>()
            .map(|a| (*a).clone())
            .unwrap_or_else(Actor::local_owner)
    }

    /// Makes `self` the session's actor.
    pub fn install(self, ctx: &SessionContext) {
        ctx.state_ref()
            .write()
            .config_mut()
            .set_extension(Arc::new(self));
    }

    /// Refuses `what` (a write or a side-effecting function) to a read-only role.
    pub fn require_write(&self, what: &str) -> Result<()> {
        match self.role {
            Role::Analyst => Err(crate::error::to_df(crate::error::CipError::invalid(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!(
                    "permission denied: {what} needs the operator role; {} is an analyst",
                    self.name
                ),
            ))),
            Role::Owner | Role::Operator => Ok(()),
        }
    }
}
