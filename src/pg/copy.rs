//! COPY's sub-protocol: CopyData messages feed the connection's COPY FROM STDIN (started by
//! the statement, statement/copy.rs), CopyDone checks and appends them in one durable write,
//! CopyFail discards them.

use super::handler::Handler;
use super::respond::user_error;
use crate::error::sqlstate;
use crate::error::CipError;
use futures::{Sink, SinkExt};
use pgwire::api::copy::CopyHandler;
use pgwire::api::results::Tag;
use pgwire::api::ClientInfo;
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail};
use pgwire::messages::PgWireBackendMessage;
use std::fmt::Debug;

fn no_copy(what: &str) -> PgWireError {
    user_error(&CipError::invalid(
        sqlstate::PROTOCOL_VIOLATION,
        format!("COPY {what} without a COPY in progress"),
    ))
}

#[async_trait::async_trait]
impl CopyHandler for Handler {
    async fn on_copy_data<C>(&self, _client: &mut C, data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut copy = self.copy();
        let Some(c) = copy.as_mut() else {
            return Err(no_copy("data"));
        };
        if let Err(e) = c.feed(&data.data) {
            *copy = None;
            self.session.failed();
            return Err(user_error(&e));
        }
        Ok(())
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let Some(copy) = self.copy().take() else {
            return Err(no_copy("done"));
        };
        let rows = copy.finish().await.map_err(|e| {
            self.session.failed();
            user_error(&e)
        })?;
        client
            .send(PgWireBackendMessage::CommandComplete(
                Tag::new("COPY").with_rows(rows as usize).into(),
            ))
            .await?;
        Ok(())
    }

    async fn on_copy_fail<C>(&self, _client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.copy().take();
        self.session.failed();
        user_error(&CipError::invalid(
            sqlstate::QUERY_CANCELED,
            format!("COPY from stdin failed: {}", fail.message),
        ))
    }
}
