//! The seed's HTTP API (`cip serve --http ADDR`), a thin layer over the same SQL as pgwire:
//! every endpoint runs a view or a statement in a session of the caller's role (bearer token
//! → `[[users]]`), so masking, 42501 and exactly-once apply as they do to SQL clients.

mod api;
mod error;
mod idempotency;
mod rows;
mod state;
mod track;

use crate::engine::Engine;
use crate::error::{CipError, Result};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

/// The OpenAPI document; tests/http.rs checks it lists exactly the routes below.
pub const OPENAPI: &str = include_str!("openapi.json");

/// (method, path) of every route, as in the OpenAPI document.
pub const ROUTES: [(&str, &str); 12] = [
    ("get", "/api/ai-ops/customer/segment"),
    ("post", "/api/ai-ops/customer/tags"),
    ("post", "/api/ai-ops/customer/campaign"),
    ("post", "/api/ai-ops/customer/upgrade/evaluate"),
    ("post", "/api/ai-ops/customer/upgrade/execute"),
    ("get", "/api/ai-ops/customer/performance"),
    ("post", "/api/ai-ops/customer/track"),
    ("get", "/t/{token}"),
    ("get", "/t/{token}/offer"),
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/api/openapi.json"),
];

pub fn router(engine: Arc<Engine>) -> Router {
    let app = Arc::new(state::AppState::new(engine));
    Router::new()
        .route("/api/ai-ops/customer/segment", get(api::segment))
        .route("/api/ai-ops/customer/tags", post(api::tags))
        .route("/api/ai-ops/customer/campaign", post(api::campaign))
        .route("/api/ai-ops/customer/upgrade/evaluate", post(api::evaluate))
        .route("/api/ai-ops/customer/upgrade/execute", post(api::execute))
        .route("/api/ai-ops/customer/performance", get(api::performance))
        .route("/api/ai-ops/customer/track", post(track::track))
        .route("/t/{token}", get(track::click))
        .route("/t/{token}/offer", get(track::offer))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::metrics))
        .route("/api/openapi.json", get(api::openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(not_allowed)
        .layer(axum::middleware::from_fn(count))
        .with_state(app)
}

async fn count(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    crate::metrics::HTTP_REQUESTS.add(1);
    next.run(req).await
}

async fn not_found() -> error::ApiError {
    error::ApiError::not_found("no such endpoint; see /api/openapi.json")
}

async fn not_allowed() -> error::ApiError {
    error::ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed here; see /api/openapi.json",
    )
}

/// Serves the API on `addr` until the future is dropped.
pub async fn serve(engine: Arc<Engine>, addr: &str) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CipError::io(format!("listen on {addr}"), e))?;
    let local = listener
        .local_addr()
        .map_err(|e| CipError::io("HTTP listener address", e))?;
    if engine.config.users.is_empty()
        && !local.ip().is_loopback()
        && !engine.config.server.allow_unauthenticated_remote
    {
        return Err(CipError::Config(format!(
            "refusing to serve HTTP on {local} without authentication: add [[users]] with tokens, \
             or set server.allow_unauthenticated_remote = true"
        )));
    }
    let _ = engine.http_bound.set(local);
    eprintln!("listening: http://{local}");
    axum::serve(listener, router(engine))
        .await
        .map_err(|e| CipError::io("HTTP server", e))
}
