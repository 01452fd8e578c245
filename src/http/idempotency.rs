//! `Idempotency-Key` on the POSTs that change state: a retried request with the same key (same
//! caller, same endpoint) gets the first answer and changes nothing; the same key with a
//! different body is refused (422). Answers are stored in the `api_requests` table, so a retry
//! after a restart is answered too; a retry that arrives while the first request is running
//! waits for it. Failed requests are not stored: they may be retried with the same key.

use super::error::ApiError;
use super::state::AppState;
use crate::error::sqlstate;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use datafusion::arrow::array::{Int32Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;

/// Runs `work` once per Idempotency-Key (or every time without one).
pub async fn once<F>(
    app: &Arc<AppState>,
    headers: &HeaderMap,
    endpoint: &str,
    body: &Bytes,
    work: F,
) -> Result<(StatusCode, Json<Value>), ApiError>
where
    F: Future<Output = Result<(StatusCode, Value), ApiError>>,
{
    let Some(key) = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
    else {
        let (status, value) = work.await?;
        return Ok((status, Json(value)));
    };
    if key.len() > 200 {
        return Err(ApiError::bad_request(
            "Idempotency-Key is longer than 200 characters",
        ));
    }
    let caller = app.actor(headers)?.name;
    let fingerprint = format!("{:016x}", cip_udfs::fnv1a(body));
    let slot = {
        let mut slots = app.answers.lock().map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                sqlstate::INTERNAL_ERROR,
                "idempotency slots poisoned",
            )
        })?;
        slots
            .entry(format!("{caller}\u{0}{endpoint}\u{0}{key}"))
            .or_default()
            .clone()
    };
    let _turn = slot.lock().await;
    if let Some((seen, status, value)) = stored(app, &caller, endpoint, key).await? {
        if seen != fingerprint {
            return Err(ApiError::unprocessable(
                "this Idempotency-Key was used for a different request",
            ));
        }
        return Ok((status, Json(value)));
    }
    let (status, value) = work.await?;
    store(app, &caller, endpoint, key, &fingerprint, status, &value).await?;
    Ok((status, Json(value)))
}

async fn stored(
    app: &AppState,
    caller: &str,
    endpoint: &str,
    key: &str,
) -> Result<Option<(String, StatusCode, Value)>, ApiError> {
    let session = crate::statement::Session::open(app.engine.clone()).await?;
    let rows = super::rows::query(
        &session,
        "SELECT fingerprint, status, answer FROM api_requests \
         WHERE caller = $1 AND endpoint = $2 AND idempotency_key = $3 ORDER BY created_at LIMIT 1",
        vec![
            super::rows::text(caller),
            super::rows::text(endpoint),
            super::rows::text(key),
        ],
    )
    .await?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(None);
    };
    let fingerprint = row
        .get("fingerprint")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let status = row
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::OK);
    let answer = row
        .get("answer")
        .and_then(Value::as_str)
        .and_then(|a| serde_json::from_str(a).ok())
        .unwrap_or(Value::Null);
    Ok(Some((fingerprint.to_string(), status, answer)))
}

async fn store(
    app: &AppState,
    caller: &str,
    endpoint: &str,
    key: &str,
    fingerprint: &str,
    status: StatusCode,
    value: &Value,
) -> Result<(), ApiError> {
    let table = app.engine.store.table("api_requests")?;
    let batch = RecordBatch::try_new(
        table.def.schema.clone(),
        vec![
            Arc::new(StringArray::from(vec![caller])),
            Arc::new(StringArray::from(vec![endpoint])),
            Arc::new(StringArray::from(vec![key])),
            Arc::new(StringArray::from(vec![fingerprint])),
            Arc::new(Int32Array::from(vec![i32::from(status.as_u16())])),
            Arc::new(StringArray::from(vec![value.to_string()])),
            Arc::new(TimestampMicrosecondArray::from(vec![None::<i64>])),
        ],
    )
    .map_err(|e| ApiError::from(crate::error::CipError::from(e)))?;
    table.append_async(vec![batch]).await?;
    Ok(())
}
