//! Who is calling (bearer tokens → users and roles) and the sessions requests run in.

use super::error::ApiError;
use crate::engine::Engine;
use crate::error::sqlstate;
use crate::identity::{Actor, Role};
use crate::statement::Session;
use axum::http::{HeaderMap, StatusCode};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct AppState {
    pub engine: Arc<Engine>,
    /// token → actor; empty when the config has no users (loopback only, everyone operator).
    tokens: HashMap<String, Actor>,
    open: bool,
    /// One mutex per (user, endpoint, Idempotency-Key): a concurrent retry waits for the
    /// first request instead of acting again (answers are stored in api_requests).
    pub answers: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl AppState {
    pub fn new(engine: Arc<Engine>) -> AppState {
        let users = &engine.config.users;
        let tokens = users
            .iter()
            .filter_map(|u| {
                let role = u.role().ok()?;
                Some((u.token.clone()?, Actor::new(u.name.clone(), role)))
            })
            .collect();
        let open = users.is_empty();
        AppState {
            engine,
            tokens,
            open,
            answers: Mutex::new(HashMap::new()),
        }
    }

    /// The caller, from `Authorization: Bearer <token>`.
    pub fn actor(&self, headers: &HeaderMap) -> Result<Actor, ApiError> {
        let token = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        match token {
            Some(t) => self.tokens.get(t).cloned().ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
                    "the bearer token is not valid",
                )
            }),
            None if self.open => Ok(Actor::new("http", Role::Operator)),
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
                "missing Authorization: Bearer <token>",
            )),
        }
    }

    /// A session running as the caller.
    pub async fn session(&self, headers: &HeaderMap) -> Result<(Arc<Session>, Actor), ApiError> {
        let actor = self.actor(headers)?;
        let session = Session::open(self.engine.clone()).await?;
        session.set_user(actor.clone());
        Ok((session, actor))
    }
}
