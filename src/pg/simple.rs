//! The simple query protocol: a Query message of one or more statements, each answered in
//! turn (RowDescription and DataRows, or a command tag), stopping at the first error as
//! PostgreSQL does; then ReadyForQuery with the session's transaction state.
//!
//! pgwire's default loop is replaced because it collects every statement's response before
//! sending any, answers a failed statement only by dropping the rest, and keeps its own
//! transaction state, which cannot leave a failed block by ROLLBACK TO SAVEPOINT.

use super::handler::Handler;
use super::respond::{fields, format_options, tag};
use crate::error::sqlstate;
use crate::error::CipError;
use crate::statement::{Outcome, Parsed};
use futures::{Sink, SinkExt, StreamExt};
use pgwire::api::portal::Format;
use pgwire::api::query::SimpleQueryHandler;
use pgwire::api::results::{Response, Tag};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireConnectionState};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::copy::{CopyData, CopyDone, CopyInResponse, CopyOutResponse};
use pgwire::messages::data::{FieldDescription, RowDescription};
use pgwire::messages::response::{CommandComplete, EmptyQueryResponse, ReadyForQuery};
use pgwire::messages::simplequery::Query;
use pgwire::messages::PgWireBackendMessage;
use std::fmt::Debug;
use std::sync::Arc;

/// What one statement left for the loop to do next.
enum Next {
    Continue,
    /// An error was sent: the rest of the query is skipped.
    Stop,
    /// COPY FROM STDIN started: the client sends data; ReadyForQuery comes after it.
    CopyIn,
}

#[async_trait::async_trait]
impl SimpleQueryHandler for Handler {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        let mut copy_in = false;
        match self.session.parse(&query.query).await {
            Err(e) => self.send_error(client, &e).await?,
            Ok(statements) if statements.is_empty() => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
            }
            Ok(statements) => {
                for parsed in statements {
                    match self.one(client, parsed).await? {
                        Next::Continue => {}
                        Next::Stop => break,
                        Next::CopyIn => {
                            copy_in = true;
                            break;
                        }
                    }
                }
            }
        }
        self.send_side_messages(client).await?;
        if copy_in {
            client.set_state(PgWireConnectionState::CopyInProgress(false));
            client.flush().await?;
            return Ok(());
        }
        client.set_state(PgWireConnectionState::ReadyForQuery);
        let status = self.transaction_status();
        client.set_transaction_status(status);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        Ok(())
    }

    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // on_query above answers every Query message itself.
        Err(PgWireError::NotReadyForQuery)
    }
}

impl Handler {
    /// Runs one statement of a Query message and sends its answer.
    async fn one<C>(&self, client: &mut C, parsed: Parsed) -> PgWireResult<Next>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Some(done) = super::protocol_objects::handle(client, &parsed).await {
            let done = match done {
                Ok(done) => done,
                Err(e) => {
                    self.session.failed();
                    self.send_error(client, &e).await?;
                    return Ok(Next::Stop);
                }
            };
            client
                .feed(PgWireBackendMessage::CommandComplete(tag(&done).into()))
                .await?;
            return Ok(Next::Continue);
        }
        let what = parsed.to_string();
        let limits = self.limits(client);
        let outcome = match self.session.run(parsed, limits).await {
            Ok(outcome) => outcome,
            Err(e) => {
                self.send_error(client, &e).await?;
                return Ok(Next::Stop);
            }
        };
        self.send_side_messages(client).await?;
        match outcome {
            Outcome::Empty => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
            }
            Outcome::Done(done) => {
                client
                    .feed(PgWireBackendMessage::CommandComplete(tag(&done).into()))
                    .await?;
            }
            Outcome::Rows(rows) => {
                let options = format_options(&self.session);
                let described = match fields(&rows.schema, &Format::UnifiedText, options) {
                    Ok(f) => Arc::new(f),
                    Err(e) => {
                        let e = CipError::invalid(sqlstate::INTERNAL_ERROR, e.to_string());
                        self.send_error(client, &e).await?;
                        return Ok(Next::Stop);
                    }
                };
                let names =
                    match super::respond::text_names(&self.session, &rows.schema, &described).await
                    {
                        Ok(names) => names,
                        Err(e) => {
                            self.send_error(client, &e).await?;
                            return Ok(Next::Stop);
                        }
                    };
                client
                    .feed(PgWireBackendMessage::RowDescription(RowDescription::new(
                        described.iter().map(FieldDescription::from).collect(),
                    )))
                    .await?;
                let word = rows.tag;
                let zones = super::respond::zones(&self.session);
                let mut data = super::respond::data_rows(rows, described, names, zones, what);
                let mut n = 0usize;
                while let Some(row) = data.next().await {
                    match row {
                        Ok(row) => {
                            client.feed(PgWireBackendMessage::DataRow(row)).await?;
                            n += 1;
                        }
                        Err(e) => {
                            self.session.failed();
                            client
                                .feed(PgWireBackendMessage::ErrorResponse(error_of(e)))
                                .await?;
                            return Ok(Next::Stop);
                        }
                    }
                }
                let done: CommandComplete = Tag::new(word).with_rows(n).into();
                client
                    .feed(PgWireBackendMessage::CommandComplete(done))
                    .await?;
            }
            Outcome::CopyOut(out) => {
                let format = i8::from(out.binary);
                let formats = vec![i16::from(out.binary); out.columns];
                client
                    .feed(PgWireBackendMessage::CopyOutResponse(CopyOutResponse::new(
                        format,
                        out.columns as i16,
                        formats,
                    )))
                    .await?;
                let mut data = out.data;
                let mut n = 0usize;
                while let Some(chunk) = data.next().await {
                    match chunk {
                        Ok(chunk) => {
                            client
                                .feed(PgWireBackendMessage::CopyData(CopyData::new(
                                    chunk.bytes.into(),
                                )))
                                .await?;
                            n += chunk.rows as usize;
                        }
                        Err(e) => {
                            self.session.failed();
                            self.send_error(client, &e).await?;
                            return Ok(Next::Stop);
                        }
                    }
                }
                client
                    .feed(PgWireBackendMessage::CopyDone(CopyDone::new()))
                    .await?;
                let done: CommandComplete = Tag::new("COPY").with_rows(n).into();
                client
                    .feed(PgWireBackendMessage::CommandComplete(done))
                    .await?;
            }
            Outcome::CopyIn(copy) => {
                let columns = copy.columns();
                let binary = copy.binary();
                *self.copy() = Some(copy);
                client
                    .feed(PgWireBackendMessage::CopyInResponse(CopyInResponse::new(
                        i8::from(binary),
                        columns as i16,
                        vec![i16::from(binary); columns],
                    )))
                    .await?;
                return Ok(Next::CopyIn);
            }
        }
        Ok(Next::Continue)
    }
}

/// A row that failed while streaming, as an ErrorResponse.
fn error_of(e: PgWireError) -> pgwire::messages::response::ErrorResponse {
    match e {
        PgWireError::UserError(info) => (*info).into(),
        other => pgwire::error::ErrorInfo::new(
            "ERROR".into(),
            sqlstate::INTERNAL_ERROR.into(),
            other.to_string(),
        )
        .into(),
    }
}
