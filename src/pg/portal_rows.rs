//! Execute of the extended protocol, sending rows as they are computed.
//!
//! pgwire's own Execute gathers a portal's rows into a vector before sending the first (its
//! `Portal::fetch`), so a large result through a driver that uses the extended protocol —
//! psycopg, pgjdbc, node `pg`, asyncpg — held the whole result in the server's memory and sent
//! nothing until the end. Here rows go to the connection's sink one at a time; the sink
//! flushes past its buffer's boundary and waits for the socket, so a slow reader holds back the
//! statement instead of growing the server. A row limit (Execute's max_rows) suspends the portal
//! with the rest of its stream kept for the next Execute, as PostgreSQL's portals do.

use super::handler::Handler;
use crate::statement::Prepared;
use futures::{Sink, SinkExt, StreamExt};
use pgwire::api::copy::{send_copy_both_response, send_copy_in_response};
use pgwire::api::portal::{Portal, PortalExecutionState};
use pgwire::api::query::ExtendedQueryHandler;
use pgwire::api::results::CopyResponse;
use pgwire::api::results::{Response, Tag};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireConnectionState, DEFAULT_NAME};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::extendedquery::{Execute, PortalSuspended};
use pgwire::messages::response::EmptyQueryResponse;
use pgwire::messages::PgWireBackendMessage;
use std::fmt::Debug;
use std::sync::Arc;

impl Handler {
    /// Answers an Execute message: runs the portal's statement the first time, then sends up to
    /// `max_rows` of its rows (0: all of them).
    pub async fn execute_portal<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Arc<Prepared>>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal = match client.portal_store().get_portal(name) {
            Some(Entry::Value(portal)) => portal,
            Some(Entry::Empty) => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
                return Ok(());
            }
            None => return Err(PgWireError::PortalNotFound(name.to_owned())),
        };
        client.set_state(PgWireConnectionState::QueryInProgress);
        // Zero or less asks for every row, as in PostgreSQL.
        let max_rows = usize::try_from(message.max_rows).unwrap_or(0);
        let sent = self.run_portal(client, &portal, max_rows).await;
        // COPY FROM STDIN leaves the connection taking CopyData; anything else is ready again,
        // also after an error (pgwire then waits for Sync).
        if !matches!(client.state(), PgWireConnectionState::CopyInProgress(_)) {
            client.set_state(PgWireConnectionState::ReadyForQuery);
        }
        sent
    }

    async fn run_portal<C>(
        &self,
        client: &mut C,
        portal: &Portal<Arc<Prepared>>,
        max_rows: usize,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Arc<Prepared>>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let initial = matches!(*portal.state.lock().await, PortalExecutionState::Initial);
        if initial {
            match self.do_query(client, portal, max_rows).await? {
                Response::Query(rows) => portal.start(rows).await,
                Response::EmptyQuery => {
                    return Ok(client
                        .feed(PgWireBackendMessage::EmptyQueryResponse(
                            EmptyQueryResponse::new(),
                        ))
                        .await?)
                }
                Response::Execution(tag)
                | Response::TransactionStart(tag)
                | Response::TransactionEnd(tag) => {
                    return Ok(client
                        .feed(PgWireBackendMessage::CommandComplete(tag.into()))
                        .await?)
                }
                Response::Error(e) => {
                    return Ok(client
                        .feed(PgWireBackendMessage::ErrorResponse((*e).into()))
                        .await?)
                }
                Response::CopyIn(copy) => {
                    client.set_state(PgWireConnectionState::CopyInProgress(true));
                    return send_copy_in_response(client, copy).await;
                }
                Response::CopyOut(copy) => return send_copy_out(client, copy).await,
                Response::CopyBoth(copy) => {
                    client.set_state(PgWireConnectionState::CopyInProgress(true));
                    return send_copy_both_response(client, copy).await;
                }
            }
        }
        let sent = send_rows(client, portal, max_rows).await;
        if sent.is_err() {
            self.session.failed();
        }
        sent
    }
}

/// Sends the next `max_rows` rows of a started portal (0: all), then PortalSuspended if rows
/// remain or CommandComplete if not. A finished portal answers with no rows, as PostgreSQL's
/// does when executed again.
async fn send_rows<C>(
    client: &mut C,
    portal: &Portal<Arc<Prepared>>,
    max_rows: usize,
) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let mut state = portal.state.lock().await;
    let word = match &*state {
        PortalExecutionState::Suspended(response) => response.command_tag().to_owned(),
        _ => "SELECT".to_owned(),
    };
    let mut sent = 0usize;
    while max_rows == 0 || sent < max_rows {
        match next_row(&mut state).await {
            Some(row) => {
                client.feed(PgWireBackendMessage::DataRow(row?)).await?;
                sent += 1;
            }
            None => {
                let done = Tag::new(&word).with_rows(sent);
                return Ok(client
                    .feed(PgWireBackendMessage::CommandComplete(done.into()))
                    .await?);
            }
        }
    }
    Ok(client
        .feed(PgWireBackendMessage::PortalSuspended(PortalSuspended::new()))
        .await?)
}

/// The next row of a started portal's stream; None once it has no more (the portal is then
/// finished) or when it was never started. Execute and MOVE both take rows one at a time
/// here, so neither gathers a result (pgwire's `Portal::fetch` collects its page first).
pub(super) async fn next_row(
    state: &mut PortalExecutionState,
) -> Option<PgWireResult<pgwire::messages::data::DataRow>> {
    let PortalExecutionState::Suspended(response) = state else {
        return None;
    };
    let row = response.data_rows().next().await;
    if row.is_none() {
        *state = PortalExecutionState::Finished;
    }
    row
}

/// CopyOutResponse, the data, then CopyDone and CommandComplete. A failure mid-way ends the
/// copy with the error alone (the caller sends it as an ErrorResponse), as PostgreSQL does:
/// pgwire's own version sends a CopyFail first, which only a client may send — tokio-postgres
/// then fails with "unknown message tag 102" and drops the connection.
async fn send_copy_out<C>(client: &mut C, copy: CopyResponse) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let column_formats = copy.column_formats();
    let CopyResponse {
        format,
        columns,
        mut data_stream,
        ..
    } = copy;
    client
        .send(PgWireBackendMessage::CopyOutResponse(
            pgwire::messages::copy::CopyOutResponse::new(format, columns as i16, column_formats),
        ))
        .await?;
    let mut rows = 0;
    while let Some(data) = data_stream.next().await {
        let data = data?;
        if !data.data.is_empty() {
            // The binary format's trailer is not a row.
            if data.data.as_ref() != [0xFF, 0xFF] {
                rows += 1;
            }
            client.feed(PgWireBackendMessage::CopyData(data)).await?;
        }
    }
    client
        .feed(PgWireBackendMessage::CopyDone(
            pgwire::messages::copy::CopyDone::new(),
        ))
        .await?;
    Ok(client
        .send(PgWireBackendMessage::CommandComplete(
            Tag::new("COPY").with_rows(rows).into(),
        ))
        .await?)
}
