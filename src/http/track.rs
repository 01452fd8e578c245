//! What comes back about campaign messages: gateways' receipts and apps' events
//! (`POST /api/ai-ops/customer/track`) and members' clicks on their tracking link
//! (`GET /t/{token}`, no authentication: the token is the secret), recorded once per message
//! and status (campaigns/tracking.rs).

use super::error::ApiError;
use super::state::AppState;
use crate::campaigns::tracking::{self, Event, Outcome, RETURNED};
use crate::error::sqlstate;
use crate::storage::local_now_micros;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

/// Who may post events: a gateway signing the body with its channel's secret
/// (`X-Cip-Signature: sha256=…`), or a user whose role writes (bearer token).
fn authorise(app: &AppState, headers: &HeaderMap, bytes: &Bytes) -> Result<(), ApiError> {
    if let Some(sig) = headers.get("x-cip-signature").and_then(|v| v.to_str().ok()) {
        let ok = app.engine.config.channels.values().any(|c| {
            c.secret
                .as_deref()
                .is_some_and(|s| crate::campaigns::dispatch::verify(s, bytes, sig))
        });
        return if ok {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
                "X-Cip-Signature does not match the body under any channel's secret",
            ))
        };
    }
    app.actor(headers)?
        .require_write("POST /api/ai-ops/customer/track")
        .map_err(|e| ApiError::from(crate::error::CipError::from(e)))
}

/// The venue's local time of an event's `at`: RFC 3339 with an offset, or a local
/// "YYYY-MM-DD HH:MM[:SS]" (a T may separate them).
fn local_time(at: &str, tz: chrono_tz::Tz) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(at) {
        return Some(
            t.with_timezone(&tz)
                .naive_local()
                .and_utc()
                .timestamp_micros(),
        );
    }
    let at = at.replace('T', " ");
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(&at, f).ok())
        .map(|t| t.and_utc().timestamp_micros())
}

fn event(v: &Value, tz: chrono_tz::Tz) -> Result<Event, ApiError> {
    let o = v
        .as_object()
        .ok_or_else(|| ApiError::bad_request("each event must be a JSON object"))?;
    let message_id = match o.get("messageId") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        _ => return Err(ApiError::bad_request("messageId (a string) is required")),
    };
    let status = match o.get("status") {
        Some(Value::String(s)) if RETURNED.contains(&s.as_str()) => s.clone(),
        _ => {
            return Err(ApiError::unprocessable(format!(
                "status must be one of {}",
                RETURNED.join(", ")
            )))
        }
    };
    let at = match o.get("at") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(local_time(s, tz).ok_or_else(|| {
            ApiError::unprocessable(format!("at {s:?} is not a timestamp (RFC 3339)"))
        })?),
        Some(_) => return Err(ApiError::unprocessable("at must be a string")),
    };
    let revenue = match o.get("revenue") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if status == "converted" => match n.as_f64() {
            Some(r) if r.is_finite() && (0.0..1e10).contains(&r) => Some(r),
            _ => {
                return Err(ApiError::unprocessable(
                    "revenue must be between 0 and 1e10",
                ))
            }
        },
        Some(_) => {
            return Err(ApiError::unprocessable(
                "revenue is a number, and only a conversion has one",
            ))
        }
    };
    Ok(Event {
        message_id,
        status,
        at,
        revenue,
    })
}

fn outcome(e: &Event, o: Outcome) -> Value {
    json!({
        "messageId": e.message_id,
        "status": e.status,
        "recorded": o == Outcome::Recorded,
        "duplicate": o == Outcome::Duplicate,
        "known": o != Outcome::UnknownMessage,
    })
}

/// POST /api/ai-ops/customer/track — one event object, or an array of them.
pub async fn track(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    authorise(&app, &headers, &bytes)?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    let tz = app.engine.config.timezone()?;
    let (items, single) = match &value {
        Value::Array(a) if a.len() <= 10_000 => (a.clone(), false),
        Value::Array(_) => return Err(ApiError::unprocessable("at most 10000 events per call")),
        other => (vec![other.clone()], true),
    };
    let events = items
        .iter()
        .map(|v| event(v, tz))
        .collect::<Result<Vec<_>, _>>()?;
    let ctx = app.engine.session().await?;
    let outcomes = tracking::record(&ctx, &app.engine.store, &events, local_now_micros(tz)).await?;
    if single {
        if outcomes[0] == Outcome::UnknownMessage {
            return Err(ApiError::not_found(format!(
                "no message {:?}",
                events[0].message_id
            )));
        }
        return Ok((StatusCode::OK, Json(outcome(&events[0], outcomes[0]))));
    }
    let count = |o: Outcome| outcomes.iter().filter(|x| **x == o).count();
    let results: Vec<Value> = events
        .iter()
        .zip(&outcomes)
        .map(|(e, o)| outcome(e, *o))
        .collect();
    Ok((
        StatusCode::OK,
        Json(json!({
            "recorded": count(Outcome::Recorded),
            "duplicates": count(Outcome::Duplicate),
            "unknown": count(Outcome::UnknownMessage),
            "results": results,
        })),
    ))
}

fn plausible_token(token: &str) -> bool {
    token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// GET /t/{token}: records the click (once) and sends the member on to the landing page.
pub async fn click(State(app): State<Arc<AppState>>, Path(token): Path<String>) -> Response {
    match record_click(&app, &token).await {
        // 302 Found, as SMS gateways' link checkers and old phones expect.
        Ok(Some(url)) => (StatusCode::FOUND, [(header::LOCATION, url)]).into_response(),
        Ok(None) => ApiError::not_found("this link is not known").into_response(),
        Err(e) => e.into_response(),
    }
}

async fn record_click(app: &AppState, token: &str) -> Result<Option<String>, ApiError> {
    if !plausible_token(token) {
        return Ok(None);
    }
    let ctx = app.engine.session().await?;
    let Some(m) = tracking::message(&ctx, "tracking_token", token).await? else {
        return Ok(None);
    };
    let tz = app.engine.config.timezone()?;
    let own = m.landing_url.filter(|u| !u.trim().is_empty());
    let click = Event {
        message_id: m.message_id,
        status: "clicked".into(),
        at: None,
        revenue: None,
    };
    tracking::record(&ctx, &app.engine.store, &[click], local_now_micros(tz)).await?;
    Ok(Some(
        match own.or_else(|| app.engine.config.campaigns.landing_url.clone()) {
            Some(url) => url,
            None => format!("{}/t/{token}/offer", app.engine.public_url()),
        },
    ))
}

/// GET /t/{token}/offer: the built-in landing page — the member's own message.
pub async fn offer(State(app): State<Arc<AppState>>, Path(token): Path<String>) -> Response {
    let found = async {
        if !plausible_token(&token) {
            return Ok(None);
        }
        let ctx = app.engine.session().await.map_err(ApiError::from)?;
        tracking::message(&ctx, "tracking_token", &token)
            .await
            .map_err(ApiError::from)
    };
    match found.await {
        Ok(Some(m)) => {
            let text = m.content.unwrap_or_default();
            let escaped = text
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;");
            let page = format!(
                "<!doctype html><html lang=\"zh\"><meta charset=\"utf-8\">\
                 <meta name=\"viewport\" content=\"width=device-width\"><title>会员优惠</title>\
                 <body style=\"font-family:sans-serif;max-width:32em;margin:2em auto\">\
                 <h1>会员专享优惠</h1><p>{escaped}</p><p>到店出示此页面即可使用。</p></body></html>"
            );
            ([(header::CACHE_CONTROL, "no-store")], Html(page)).into_response()
        }
        Ok(None) => ApiError::not_found("this link is not known").into_response(),
        Err(e) => e.into_response(),
    }
}
