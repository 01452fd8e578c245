//! One connection's statement handling: its session, its cancel signal and the COPY it may be
//! receiving. The simple protocol (simple.rs), the extended one (extended.rs) and COPY's
//! sub-protocol (copy.rs) are this one type's trait implementations.

use super::cancel::ConnectionCancel;
use super::respond::error_info;
use crate::error::CipError;
use crate::statement::{CopyIn, Limits, Session, TxStatus};
use futures::{Sink, SinkExt};
use pgwire::api::ClientInfo;
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::response::{NoticeResponse, TransactionStatus};
use pgwire::messages::startup::ParameterStatus;
use pgwire::messages::PgWireBackendMessage;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

pub struct Handler {
    pub session: Arc<Session>,
    pub cancel: Arc<ConnectionCancel>,
    /// The COPY FROM STDIN in progress, fed by CopyData messages.
    pub copy: Mutex<Option<CopyIn>>,
}

impl Handler {
    /// This statement's limits: cancel requests that arrive from now on.
    pub fn limits<C: ClientInfo + ?Sized>(&self, client: &C) -> Limits {
        Limits {
            cancel: Some(self.cancel.for_statement(client)),
        }
    }

    pub fn copy(&self) -> std::sync::MutexGuard<'_, Option<CopyIn>> {
        self.copy.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The transaction state the client is told in ReadyForQuery.
    pub fn transaction_status(&self) -> TransactionStatus {
        match self.session.status() {
            TxStatus::Idle => TransactionStatus::Idle,
            TxStatus::Block => TransactionStatus::Transaction,
            TxStatus::Failed => TransactionStatus::Error,
        }
    }

    /// Sends what the last statement raised besides its result: notices and the reported
    /// parameters (TimeZone, DateStyle, …) it changed.
    pub async fn send_side_messages<C>(&self, client: &mut C) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        for (severity, code, message) in self.session.take_notices() {
            let info = pgwire::error::ErrorInfo::new(severity.into(), code.into(), message);
            client
                .feed(PgWireBackendMessage::NoticeResponse(NoticeResponse::from(
                    info,
                )))
                .await?;
        }
        for (name, value) in self.session.take_reported() {
            client
                .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                    name, value,
                )))
                .await?;
        }
        Ok(())
    }

    /// Sends an error as an ErrorResponse.
    pub async fn send_error<C>(&self, client: &mut C, e: &CipError) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        client
            .feed(PgWireBackendMessage::ErrorResponse(error_info(e).into()))
            .await?;
        Ok(())
    }
}
