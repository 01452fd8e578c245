//! Statements about the protocol's own objects: `DEALLOCATE name` of a statement prepared by
//! a Parse message (psycopg names its statements "_pg3_0" and drops them with a simple-query
//! DEALLOCATE), and the portals `DISCARD ALL` closes. PostgreSQL keeps SQL PREPAREd and
//! protocol statements in one namespace; so does cip, by looking here first.

use crate::statement::{Done, Parsed};
use datafusion::sql::sqlparser::ast::{DiscardObject, Statement};
use pgwire::api::store::PortalStore;
use pgwire::api::ClientPortalStore;

/// Answers the statement when it is about protocol objects only; None to run it as usual.
pub fn handle<C>(client: &C, parsed: &Parsed) -> Option<Done>
where
    C: ClientPortalStore,
    C::PortalStore: PortalStore,
{
    let Parsed::Sql(statement) = parsed else {
        return None;
    };
    let store = client.portal_store();
    match statement.as_ref() {
        Statement::Deallocate { name, .. } if store.get_statement(&name.value).is_some() => {
            store.rm_statement(&name.value);
            Some(Done::new("DEALLOCATE"))
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
