//! `SET statement_timeout` enforced while a statement runs, not only while it is planned:
//! datafusion-postgres bounds planning; rows are computed as pgwire pulls them from the
//! response stream, so that stream gets the deadline too. At the deadline the stream ends with
//! 57014 and is dropped, which stops DataFusion's execution; the connection stays usable.
//! A cancel request (cancel.rs) ends the stream the same way.

use futures::StreamExt;
use pgwire::api::results::{QueryResponse, Response};
use pgwire::api::ClientInfo;
use pgwire::error::PgWireError;
use std::time::Duration;

/// Where datafusion-postgres's SET hook keeps the connection's statement_timeout (ms).
pub const STATEMENT_TIMEOUT_KEY: &str = "statement_timeout_ms";

/// The connection's statement_timeout (set by datafusion-postgres's SET hook), if any.
pub fn statement_timeout<C: ClientInfo + ?Sized>(client: &C) -> Option<Duration> {
    client
        .metadata()
        .get(STATEMENT_TIMEOUT_KEY)
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
}

fn canceled(why: &str) -> PgWireError {
    crate::metrics::ERRORS.add(1);
    super::copy_format::user_error("57014", format!("canceling statement due to {why}"))
}

/// What can end a statement early: its deadline and the connection's cancel signal.
pub struct Limits {
    pub deadline: Option<tokio::time::Instant>,
    pub cancel: tokio::sync::watch::Receiver<u64>,
}

/// `response` whose rows stop with 57014 at the deadline or at a cancel request.
pub fn bounded(response: Response, limits: Limits) -> Response {
    let Response::Query(mut query) = response else {
        return response;
    };
    let rows = std::mem::replace(query.data_rows(), Box::pin(futures::stream::empty()));
    let rows = crate::executor::on_execution_runtime(rows);
    let Limits { deadline, cancel } = limits;
    let limited = futures::stream::unfold(Some((rows, cancel)), move |state| async move {
        let (mut rows, mut cancel) = state?;
        let timer = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            row = rows.next() => row.map(|row| (row, Some((rows, cancel)))),
            _ = timer => Some((Err(canceled("statement timeout")), None)),
            Ok(()) = cancel.changed() => Some((Err(canceled("user request")), None)),
        }
    });
    let mut out = QueryResponse::new(query.row_schema(), limited);
    out.set_command_tag(query.command_tag());
    Response::Query(out)
}

/// When a statement that started now must end, if the connection set a timeout.
pub fn deadline<C: ClientInfo + ?Sized>(client: &C) -> Option<tokio::time::Instant> {
    statement_timeout(client).map(|t| tokio::time::Instant::now() + t)
}
