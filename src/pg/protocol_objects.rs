//! Statements about the protocol's own objects: `DEALLOCATE name` of a statement prepared by
//! a Parse message (psycopg names its statements "_pg3_0" and drops them with a simple-query
//! DEALLOCATE), and the portals `DISCARD ALL` closes. PostgreSQL keeps SQL PREPAREd and
//! protocol statements in one namespace; so does cip, by looking here first.

use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::statement::cursor::{Direction, Fetch};
use crate::statement::{Done, Parsed, Prepared};
use datafusion::sql::sqlparser::ast::{DiscardObject, Statement};
use pgwire::api::portal::{Portal, PortalExecutionState};
use pgwire::api::store::MemPortalStore;
use pgwire::api::store::PortalStore;
use pgwire::api::ClientPortalStore;
use std::sync::Arc;

/// Answers the statement when it is about protocol objects only; None to run it as usual.
pub async fn handle<C>(client: &C, parsed: &Parsed) -> Option<Result<Done>>
where
    C: ClientPortalStore,
    C::PortalStore: PortalStore,
{
    let store = client.portal_store();
    let statement = match parsed {
        Parsed::Sql(statement) => statement,
        Parsed::Fetch(f) if f.move_only => {
            // The server's store holds our prepared statements (extended.rs).
            let store = store
                .as_any()
                .downcast_ref::<MemPortalStore<Arc<Prepared>>>()?;
            let portal = store.get_portal(&f.cursor)?.value()?.clone();
            return Some(move_portal(&portal, f).await);
        }
        _ => return None,
    };
    match statement.as_ref() {
        Statement::Deallocate { name, .. } if store.get_statement(&name.value).is_some() => {
            store.rm_statement(&name.value);
            Some(Ok(Done::new("DEALLOCATE")))
        }
        Statement::Discard {
            object_type: DiscardObject::ALL,
        } => {
            store.clear_portals();
            None
        }
        _ => None,
    }
}

/// MOVE forward over a protocol portal: its next rows are read and dropped.
async fn move_portal(portal: &Portal<Arc<Prepared>>, f: &Fetch) -> Result<Done> {
    let n = match f.direction {
        Direction::Relative(n) if n >= 0 => n,
        _ => {
            return Err(CipError::invalid(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!(
                    "{f}: a protocol portal moves forward only (DECLARE a SCROLL cursor to \
                     move back)"
                ),
            ))
        }
    };
    let max_rows = if n == i64::MAX { 0 } else { n as usize };
    if n == 0 {
        return Ok(Done::with_rows("MOVE", 0));
    }
    let mut state = portal.state.lock().await;
    if matches!(*state, PortalExecutionState::Initial) {
        return Err(CipError::invalid(
            sqlstate::INVALID_CURSOR_STATE,
            format!(
                "{f}: {} (a portal moves after its first Execute)",
                pgwire::error::PgWireError::PortalNotStarted
            ),
        ));
    }
    let mut moved = 0u64;
    while max_rows == 0 || moved < max_rows as u64 {
        match super::portal_rows::next_row(&mut state).await {
            Some(row) => {
                row.map_err(|e| CipError::invalid(sqlstate::INTERNAL_ERROR, e.to_string()))?;
                moved += 1;
            }
            None => break,
        }
    }
    Ok(Done::with_rows("MOVE", moved))
}
