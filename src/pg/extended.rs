//! The extended query protocol: Parse plans without acting (statement::prepare), Describe
//! answers from that plan, Bind checks the parameters, Execute runs the statement with them,
//! Sync reports the session's transaction state.

use super::handler::Handler;
use super::respond::{fields, format_options, query_response, tag, user_error};
use crate::error::sqlstate;
use crate::error::CipError;
use crate::statement::{Outcome, Prepared, Session};
use datafusion_postgres::arrow_pg::datatypes::into_pg_type;
use futures::{Sink, SinkExt, StreamExt};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::ExtendedQueryHandler;
use pgwire::api::results::{CopyResponse, FieldInfo, Response};
use pgwire::api::stmt::QueryParser;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, Type, DEFAULT_NAME};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::copy::CopyData;
use pgwire::messages::extendedquery::{Bind, BindComplete, Execute, Sync as PgSync};
use pgwire::messages::response::ReadyForQuery;
use pgwire::messages::PgWireBackendMessage;
use std::fmt::Debug;
use std::sync::Arc;

/// Parses and prepares the statement of a Parse message.
pub struct Parser {
    pub session: Arc<Session>,
}

#[async_trait::async_trait]
impl QueryParser for Parser {
    type Statement = Arc<Prepared>;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Self::Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let mut parsed = self.session.parse(sql).await.map_err(|e| user_error(&e))?;
        if parsed.len() > 1 {
            let e = CipError::invalid(
                sqlstate::SYNTAX_ERROR,
                "cannot insert multiple commands into a prepared statement",
            );
            return Err(user_error(&e));
        }
        let Some(parsed) = parsed.pop() else {
            return Ok(None);
        };
        let declared = types
            .iter()
            .map(|t| t.as_ref().map(|t| t.name().to_string()))
            .collect();
        let prepared = self
            .session
            .prepare_declared(parsed, declared)
            .await
            .map_err(|e| user_error(&e))?;
        Ok(Some(Arc::new(prepared)))
    }

    fn get_parameter_types(&self, stmt: &Self::Statement) -> PgWireResult<Vec<Type>> {
        // A parameter the plan does not type is text, as PostgreSQL resolves unknown ones.
        Ok(stmt
            .params()
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if let Some(written) = stmt.written_type(i + 1).and_then(super::params::written) {
                    return written;
                }
                match t {
                    Some(t) => into_pg_type(t).unwrap_or(Type::TEXT),
                    None => Type::TEXT,
                }
            })
            .collect())
    }

    fn get_result_schema(
        &self,
        stmt: &Self::Statement,
        column_format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        match stmt.columns() {
            Some(schema) => fields(
                schema,
                column_format.unwrap_or(&Format::UnifiedText),
                format_options(&self.session),
            ),
            None => Ok(vec![]),
        }
    }
}

#[async_trait::async_trait]
impl ExtendedQueryHandler for Handler {
    type Statement = Arc<Prepared>;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        Arc::new(Parser {
            session: self.session.clone(),
        })
    }

    async fn on_bind<C>(&self, client: &mut C, message: Bind) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        use pgwire::api::store::Entry;
        let statement_name = message.statement_name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal_name = message.portal_name.as_deref().unwrap_or(DEFAULT_NAME);
        let (statement, required) = match client.portal_store().get_statement(statement_name) {
            Some(Entry::Value(s)) => {
                let required = s.statement.params().len().max(s.parameter_types.len());
                (Some(s), required)
            }
            Some(Entry::Empty) => (None, 0),
            None => return Err(PgWireError::StatementNotFound(statement_name.to_owned())),
        };
        if message.parameters.len() != required {
            let e = CipError::invalid(
                sqlstate::PROTOCOL_VIOLATION,
                format!(
                    "bind message supplies {} parameters, but prepared statement \"{statement_name}\" requires {required}",
                    message.parameters.len()
                ),
            );
            return Err(user_error(&e));
        }
        match statement {
            Some(s) => {
                let portal = Portal::try_new(&message, s)?;
                client.portal_store().put_portal(Arc::new(portal));
            }
            None => client.portal_store().put_empty_portal(portal_name),
        }
        client
            .send(PgWireBackendMessage::BindComplete(BindComplete::new()))
            .await?;
        Ok(())
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.execute_portal(client, message).await
    }

    async fn on_sync<C>(&self, client: &mut C, _message: PgSync) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        client.portal_store().rm_portal(DEFAULT_NAME);
        // What the statements raised while their rows streamed (a fit answered from an
        // earlier day): before ReadyForQuery, as PostgreSQL sends it before the statement ends.
        self.send_side_messages(client).await?;
        let status = self.transaction_status();
        client.set_transaction_status(status);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        client.flush().await?;
        Ok(())
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let prepared = portal.statement.statement.clone();
        if let Some(done) = super::protocol_objects::handle(client, &prepared.parsed).await {
            let done = done.map_err(|e| {
                self.session.failed();
                user_error(&e)
            })?;
            return Ok(Response::Execution(tag(&done)));
        }
        let described = |i: usize| {
            let written = prepared.written_type(i + 1)?;
            super::params::written(written)
        };
        let params = super::params::decode(portal, prepared.params(), &described).map_err(|e| {
            self.session.failed();
            user_error(&e)
        })?;
        let what = prepared.parsed.to_string();
        let limits = self.limits(client);
        let outcome = self.session.execute(prepared, params, limits).await;
        self.send_side_messages(client).await?;
        let outcome = outcome.map_err(|e| user_error(&e))?;
        Ok(match outcome {
            Outcome::Empty => Response::EmptyQuery,
            Outcome::Done(done) => Response::Execution(tag(&done)),
            Outcome::Rows(rows) => Response::Query(
                query_response(&self.session, rows, &portal.result_column_format, what).await?,
            ),
            Outcome::CopyIn(copy) => {
                let columns = copy.columns();
                let format = i8::from(copy.binary());
                *self.copy() = Some(copy);
                Response::CopyIn(CopyResponse::new(format, columns, futures::stream::empty()))
            }
            Outcome::CopyOut(out) => {
                let session = self.session.clone();
                let format = i8::from(out.binary);
                let data = out.data.map(move |chunk| match chunk {
                    Ok(chunk) => Ok(CopyData::new(chunk.bytes.into())),
                    Err(e) => {
                        session.failed();
                        Err(user_error(&e))
                    }
                });
                Response::CopyOut(CopyResponse::new(format, out.columns, data))
            }
        })
    }
}
