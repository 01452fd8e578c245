//! `CREATE EXTERNAL TABLE` (DataFusion's statement for reading files in place) is a door to
//! every file the server's user can read — raw Parquet under the data directory too, where an
//! analyst's masks do not apply. It is refused unless an operator configured directories for it
//! (`[engine] external_table_dirs`), and then only for operators and only inside those
//! directories, never inside the data directory.

use crate::config::Config;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::identity::{Actor, Role};
use datafusion::logical_expr::{DdlStatement, LogicalPlan};
use datafusion::prelude::SessionContext;
use std::path::{Path, PathBuf};

fn refused(why: String) -> CipError {
    CipError::invalid(sqlstate::INSUFFICIENT_PRIVILEGE, why)
}

/// Refuses `plan` when it reads files the session may not read.
pub fn check(plan: &LogicalPlan, ctx: &SessionContext, config: &Config) -> Result<()> {
    let LogicalPlan::Ddl(DdlStatement::CreateExternalTable(cmd)) = plan else {
        return Ok(());
    };
    if config.engine.external_table_dirs.is_empty() {
        return Err(refused(
            "CREATE EXTERNAL TABLE is not enabled on this server: an operator may allow \
             directories with [engine] external_table_dirs"
                .into(),
        ));
    }
    let actor = Actor::of(&ctx.state());
    if actor.role == Role::Analyst {
        return Err(refused(format!(
            "permission denied: CREATE EXTERNAL TABLE needs the operator role; {} is an analyst",
            actor.name
        )));
    }
    for location in &cmd.locations {
        allowed(location, config)?;
    }
    Ok(())
}

/// Whether one location is inside the configured directories and outside the data directory.
fn allowed(location: &str, config: &Config) -> Result<()> {
    let location = location.strip_prefix("file://").unwrap_or(location);
    if location.contains("://") {
        return Err(refused(format!("{location}: only local files may be read")));
    }
    let path = real(Path::new(location))?;
    let data = real(&config.data_dir).ok();
    if data.as_ref().is_some_and(|d| path.starts_with(d)) {
        return Err(refused(format!(
            "{location} is inside the data directory: read its tables with SQL instead"
        )));
    }
    let inside = config
        .engine
        .external_table_dirs
        .iter()
        .filter_map(|d| real(d).ok())
        .any(|d| path.starts_with(&d));
    if !inside {
        return Err(refused(format!(
            "{location} is outside [engine] external_table_dirs"
        )));
    }
    Ok(())
}

/// The path with links and `..` resolved (relative paths from the server's directory).
fn real(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(|e| {
        CipError::invalid(sqlstate::UNDEFINED_FILE, format!("{}: {e}", path.display()))
    })
}
