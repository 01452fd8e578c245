//! `SET statement_timeout` enforced while a statement runs, not only while it is planned:
//! datafusion-postgres bounds planning; rows are computed as pgwire pulls them from the
//! response stream, so that stream gets the deadline too. At the deadline the stream ends with
//! 57014 and is dropped, which stops DataFusion's execution; the connection stays usable.

use futures::StreamExt;
use pgwire::api::results::{QueryResponse, Response};
use pgwire::api::ClientInfo;
use pgwire::error::{ErrorInfo, PgWireError};
use std::time::Duration;

/// The connection's statement_timeout (set by datafusion-postgres's SET hook), if any.
pub fn statement_timeout<C: ClientInfo + ?Sized>(client: &C) -> Option<Duration> {
    client
        .metadata()
        .get("statement_timeout_ms")
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
}

fn canceled() -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        "57014".into(),
        "canceling statement due to statement timeout".into(),
    )))
}

/// `response` whose rows stop with 57014 at `deadline`.
pub fn bounded(response: Response, deadline: tokio::time::Instant) -> Response {
    let Response::Query(mut query) = response else {
        return response;
    };
    let rows = std::mem::replace(query.data_rows(), Box::pin(futures::stream::empty()));
    let limited = futures::stream::unfold(Some(rows), move |state| async move {
        let mut rows = state?;
        match tokio::time::timeout_at(deadline, rows.next()).await {
            Ok(Some(row)) => Some((row, Some(rows))),
            Ok(None) => None,
            Err(_) => {
                crate::metrics::ERRORS.add(1);
                Some((Err(canceled()), None))
            }
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
