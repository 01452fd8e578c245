//! The seed's six endpoints, each the same SQL an analyst would run (DESIGN.md, "The seed's
//! operations, in SQL").

use super::error::ApiError;
use super::rows::{query, text};
use super::state::AppState;
use crate::statement::Session;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

type Reply = Result<(StatusCode, Json<Value>), ApiError>;

use crate::campaigns::{SEGMENTS, TYPES};

/// The JSON object of a POST body.
fn body(bytes: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(ApiError::bad_request("the body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!(
            "the body is not valid JSON: {e}"
        ))),
    }
}

/// A required non-empty string field.
fn field(o: &Map<String, Value>, name: &str) -> Result<String, ApiError> {
    match o.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(ApiError::bad_request(format!("{name} is required")))
        }
        Some(_) => Err(ApiError::bad_request(format!("{name} must be a string"))),
    }
}

fn optional(o: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        _ => field(o, name).map(Some),
    }
}

async fn member_exists(ctx: &Arc<Session>, member: &str) -> Result<(), ApiError> {
    let rows = query(
        ctx,
        "SELECT member_id FROM members WHERE member_id = $1",
        vec![text(member)],
    )
    .await?;
    if rows.is_empty() {
        return Err(ApiError::not_found(format!("no member {member:?}")));
    }
    Ok(())
}

/// GET /api/ai-ops/customer/segment[?memberId=]
pub async fn segment(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    let (ctx, _) = app.session(&headers).await?;
    if let Some(member) = q.get("memberId") {
        member_exists(&ctx, member).await?;
        let mut rows = query(
            &ctx,
            "SELECT * FROM customer_segments WHERE member_id = $1",
            vec![text(member)],
        )
        .await?;
        let row = rows
            .pop()
            .ok_or_else(|| ApiError::not_found(format!("member {member:?} is not active")))?;
        return Ok((StatusCode::OK, Json(Value::Object(row))));
    }
    let rows = query(
        &ctx,
        "SELECT * FROM segment_summary ORDER BY position",
        vec![],
    )
    .await?;
    Ok((StatusCode::OK, Json(json!({ "segments": rows }))))
}

/// POST /api/ai-ops/customer/tags {memberId}
pub async fn tags(State(app): State<Arc<AppState>>, headers: HeaderMap, bytes: Bytes) -> Reply {
    let member = field(&body(&bytes)?, "memberId")?;
    let (ctx, _) = app.session(&headers).await?;
    member_exists(&ctx, &member).await?;
    let mut rows = query(
        &ctx,
        "SELECT * FROM customer_tags WHERE member_id = $1",
        vec![text(&member)],
    )
    .await?;
    let row = rows
        .pop()
        .ok_or_else(|| ApiError::not_found(format!("member {member:?} is not active")))?;
    Ok((StatusCode::OK, Json(Value::Object(row))))
}

/// POST /api/ai-ops/customer/upgrade/evaluate {memberId}
pub async fn evaluate(State(app): State<Arc<AppState>>, headers: HeaderMap, bytes: Bytes) -> Reply {
    let member = field(&body(&bytes)?, "memberId")?;
    let (ctx, _) = app.session(&headers).await?;
    member_exists(&ctx, &member).await?;
    let mut rows = query(
        &ctx,
        "SELECT member_id, current_tier, next_tier, progress, eligible, missing, target_tier, \
         spend_12m, visits_12m, churn_risk, rule_version FROM upgrade_evaluation WHERE member_id = $1",
        vec![text(&member)],
    )
    .await?;
    let row = rows
        .pop()
        .ok_or_else(|| ApiError::not_found(format!("member {member:?} is not evaluated")))?;
    Ok((StatusCode::OK, Json(Value::Object(row))))
}

/// POST /api/ai-ops/customer/upgrade/execute {memberId}
pub async fn execute(State(app): State<Arc<AppState>>, headers: HeaderMap, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let member = field(&request, "memberId")?;
    let app2 = app.clone();
    let headers2 = headers.clone();
    super::idempotency::once(&app, &headers, "upgrade/execute", &bytes, async move {
        let (ctx, _) = app2.session(&headers2).await?;
        member_exists(&ctx, &member).await?;
        let steps = query(
            &ctx,
            "SELECT * FROM execute_upgrades($1)",
            vec![text(&member)],
        )
        .await?;
        if steps.is_empty() {
            let eval = query(
                &ctx,
                "SELECT current_tier, missing FROM upgrade_evaluation WHERE member_id = $1",
                vec![text(&member)],
            )
            .await?;
            let e = eval.first().cloned().unwrap_or_default();
            let message = e
                .get("missing")
                .and_then(Value::as_str)
                .unwrap_or("not eligible for an upgrade")
                .to_string();
            return Ok((
                StatusCode::OK,
                json!({"memberId": member, "upgraded": false, "currentTier": e.get("currentTier"),
                       "upgrades": [], "message": message}),
            ));
        }
        let message = steps
            .iter()
            .filter_map(|s| s.get("message").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("; ");
        Ok((
            StatusCode::OK,
            json!({"memberId": member, "upgraded": true,
                   "fromTier": steps.first().and_then(|s| s.get("fromTier")),
                   "toTier": steps.last().and_then(|s| s.get("toTier")),
                   "upgrades": steps, "message": message}),
        ))
    })
    .await
}

/// POST /api/ai-ops/customer/campaign {segmentId, campaignType?, launch?}
pub async fn campaign(State(app): State<Arc<AppState>>, headers: HeaderMap, bytes: Bytes) -> Reply {
    let request = body(&bytes)?;
    let segment = field(&request, "segmentId")?;
    let kind = optional(&request, "campaignType")?;
    let launch = match request.get("launch") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::bad_request("launch must be true or false")),
    };
    if !SEGMENTS.contains(&segment.as_str()) {
        return Err(ApiError::unprocessable(format!(
            "unknown segmentId {segment:?} (expected one of {})",
            SEGMENTS.join(", ")
        )));
    }
    if let Some(k) = &kind {
        if !TYPES.contains(&k.as_str()) {
            return Err(ApiError::unprocessable(format!(
                "unknown campaignType {k:?} (expected one of {})",
                TYPES.join(", ")
            )));
        }
    }
    let work = {
        let (app, headers) = (app.clone(), headers.clone());
        async move {
            let (ctx, _) = app.session(&headers).await?;
            let mut params = vec![text(&segment)];
            let mut sql = "SELECT * FROM campaign_proposals WHERE segment_id = $1".to_string();
            if let Some(k) = &kind {
                sql.push_str(" AND campaign_type = $2");
                params.push(text(k));
            }
            sql.push_str(" ORDER BY expected_roi DESC, campaign_type LIMIT 1");
            let mut rows = query(&ctx, &sql, params).await?;
            let mut proposal = rows.pop().ok_or_else(|| {
                ApiError::unprocessable(format!(
                    "no proposal for segment {segment:?}{}",
                    kind.as_deref()
                        .map(|k| format!(" and type {k:?}"))
                        .unwrap_or_default()
                ))
            })?;
            if launch {
                let chosen = proposal
                    .get("campaignType")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let launched = query(
                    &ctx,
                    "SELECT * FROM launch_campaign($1, $2)",
                    vec![text(&segment), text(&chosen)],
                )
                .await?;
                let row = launched.into_iter().next().unwrap_or_default();
                proposal.insert("launched".into(), Value::Object(row));
            }
            Ok((StatusCode::OK, Value::Object(proposal)))
        }
    };
    if launch {
        super::idempotency::once(&app, &headers, "campaign", &bytes, work).await
    } else {
        let (status, value) = work.await?;
        Ok((status, Json(value)))
    }
}

/// GET /api/ai-ops/customer/performance?campaignId=
pub async fn performance(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    let campaign = q
        .get("campaignId")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request("campaignId is required"))?;
    let (ctx, _) = app.session(&headers).await?;
    let known = query(
        &ctx,
        "SELECT campaign_id FROM campaigns WHERE campaign_id = $1",
        vec![text(&campaign)],
    )
    .await?;
    if known.is_empty() {
        return Err(ApiError::not_found(format!("no campaign {campaign:?}")));
    }
    let rows = query(
        &ctx,
        "SELECT * FROM campaign_performance WHERE campaign_id = $1 ORDER BY variant",
        vec![text(&campaign)],
    )
    .await?;
    let (all, variants): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .partition(|r| r.get("variant").and_then(Value::as_str) == Some("all"));
    let mut out = match all.into_iter().next() {
        Some(r) => shape(r),
        None => {
            let mut m = Map::new();
            for k in ["sent", "delivered", "opened", "clicked", "converted"] {
                m.insert(k.into(), json!(0));
            }
            m.insert("campaignId".into(), json!(campaign));
            m
        }
    };
    out.insert(
        "variants".into(),
        Value::Array(
            variants
                .into_iter()
                .map(|v| Value::Object(shape(v)))
                .collect(),
        ),
    );
    Ok((StatusCode::OK, Json(Value::Object(out))))
}

/// Funnel fields at the top, the holdout comparison under `lift`.
fn shape(row: Map<String, Value>) -> Map<String, Value> {
    const FUNNEL: [&str; 13] = [
        "campaignId",
        "variant",
        "sent",
        "delivered",
        "opened",
        "clicked",
        "converted",
        "revenue",
        "cost",
        "roi",
        "responseRate",
        "conversionRate",
        "srm",
    ];
    let mut top = Map::new();
    let mut lift = Map::new();
    for (k, v) in row {
        if FUNNEL.contains(&k.as_str()) {
            top.insert(k, v);
        } else {
            lift.insert(k, v);
        }
    }
    top.insert("lift".into(), Value::Object(lift));
    top
}

/// GET /healthz: the engine is open (the server starts listening only after it is).
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ready"}))
}

/// GET /metrics
pub async fn metrics() -> ([(axum::http::HeaderName, &'static str); 1], String) {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        crate::metrics::render(),
    )
}

/// GET /api/openapi.json
pub async fn openapi() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        super::OPENAPI,
    )
}
