//! The PostgreSQL wire protocol front end: pgwire's message handling around one
//! `statement::Session` per connection.
//!
//! What a statement means is decided in crate::statement, the one way in that `cip sql`, the
//! HTTP API and the scheduler use too; here are only PostgreSQL's protocol objects — the
//! simple and extended protocols (simple.rs, extended.rs), parameter formats (params.rs), row
//! encoding (respond.rs, by arrow-pg), COPY's sub-protocol (copy.rs), authentication, TLS and
//! cancel requests.

mod auth;
mod cancel;
mod copy;
mod errors;
mod extended;
mod handler;
mod params;
mod portal_rows;
mod protocol_objects;
mod respond;
mod simple;
mod tls;

use crate::engine::Engine;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::statement::Session;
use handler::Handler;
use pgwire::api::auth::StartupHandler;
use pgwire::api::cancel::{CancelHandler, DefaultCancelHandler};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::{ConnectionManager, ErrorHandler, PgWireServerHandlers};
use std::sync::Arc;
use tokio::net::TcpListener;

/// The handlers of one connection.
struct Connection {
    handler: Arc<Handler>,
    startup: Arc<auth::Startup>,
    cancels: Arc<cancel::Cancels>,
}

impl PgWireServerHandlers for Connection {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.handler.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.handler.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.startup.clone()
    }

    fn error_handler(&self) -> Arc<impl ErrorHandler> {
        Arc::new(errors::SqlStateErrors)
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        self.cancels.clone()
    }

    fn copy_handler(&self) -> Arc<impl pgwire::api::copy::CopyHandler> {
        self.handler.clone()
    }
}

/// Listens on `addr` and serves every connection until the future is dropped.
pub async fn serve(engine: Arc<Engine>, addr: &str) -> Result<()> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| CipError::io(format!("listen on {addr}"), e))?;
    let local = listener
        .local_addr()
        .map_err(|e| CipError::io("listener address", e))?;
    // A plain line (not a log record), so scripts and tests can find the port chosen for :0.
    eprintln!("listening: postgresql://{local}");
    let users = Arc::new(auth::Users::from_config(&engine.config.users)?);
    refuse_open_remote(&engine.config, &local)?;
    let tls = tls::acceptor(&engine.config.server)?;
    let tls_required = engine.config.server.tls_required;
    let startup_deadline = engine.config.server.authentication_timeout()?;
    let connections = Arc::new(ConnectionManager::new());
    let cancel_registry = Arc::new(cancel::CancelRegistry::default());
    let slots = Arc::new(tokio::sync::Semaphore::new(
        engine.config.server.max_connections,
    ));
    loop {
        let (mut socket, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!("refusing {peer}: server.max_connections reached");
            tokio::spawn(async move {
                let message = "sorry, too many clients already (server.max_connections)";
                refuse(&mut socket, sqlstate::TOO_MANY_CONNECTIONS, message).await
            });
            continue;
        };
        crate::metrics::CONNECTIONS.add(1);
        let server_addr = socket.local_addr().ok();
        let engine = engine.clone();
        let connections = connections.clone();
        let users = users.clone();
        let tls = tls.clone();
        let cancel_registry = cancel_registry.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let session = match Session::open(engine.clone()).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!("cannot open a session for {peer}: {e}");
                    let message = format!("cannot open a session: {e}");
                    refuse(&mut socket, e.sqlstate(), &message).await;
                    return;
                }
            };
            let idle_session = session.clone();
            let ended_session = session.clone();
            let startup = Arc::new(
                auth::Startup::new(users.clone(), connections.clone(), session.clone())
                    .with_tls_required(tls_required)
                    .with_server_addr(server_addr),
            );
            let started = startup.started();
            let handlers = Connection {
                handler: Arc::new(Handler {
                    session: session.clone(),
                    cancel: Arc::new(cancel::ConnectionCancel::new(
                        cancel_registry.clone(),
                        session.cancel_signal(),
                    )),
                    copy: std::sync::Mutex::new(None),
                }),
                startup: startup.clone(),
                cancels: Arc::new(cancel::Cancels {
                    registry: cancel_registry,
                    default: DefaultCancelHandler::new(connections),
                }),
            };
            // A socket that never completes its startup would hold a slot and a session for
            // good; past the deadline it is closed, as PostgreSQL's authentication_timeout does.
            let deadline = async {
                tokio::time::sleep(startup_deadline).await;
                if started.load(std::sync::atomic::Ordering::Acquire) {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                done = pgwire::tokio::process_socket(socket, tls, handlers) => {
                    if let Err(e) = done {
                        tracing::debug!("connection from {peer} ended: {e}");
                    }
                }
                () = deadline => {
                    tracing::info!("closing {peer}: no startup within {startup_deadline:?}");
                }
                // PostgreSQL sends a FATAL message first; closing is what clients act on.
                why = idle_session.idle_timeout() => {
                    tracing::info!("closing {peer}: {why}");
                }
                why = ended_session.terminated() => {
                    tracing::info!("closing {peer}: {why}");
                }
            }
        });
    }
}

/// Without users anyone who can reach the port is an operator: fine on loopback, refused
/// elsewhere unless `server.allow_unauthenticated_remote` says so.
fn refuse_open_remote(config: &crate::config::Config, local: &std::net::SocketAddr) -> Result<()> {
    if config.users.is_empty()
        && !local.ip().is_loopback()
        && !config.server.allow_unauthenticated_remote
    {
        return Err(CipError::Config(format!(
            "refusing to listen on {local} without authentication: add [[users]] to the config, \
             or set server.allow_unauthenticated_remote = true"
        )));
    }
    Ok(())
}

/// Refuses a connection the way PostgreSQL refuses one over its cap: a FATAL error message,
/// then close. libpq shows it whether it sent a startup or an SSL request first.
async fn refuse(socket: &mut tokio::net::TcpStream, code: &str, message: &str) {
    use tokio::io::AsyncWriteExt;
    let mut fields = Vec::new();
    for (tag, value) in [
        (b'S', "FATAL"),
        (b'V', "FATAL"),
        (b'C', code),
        (b'M', message),
    ] {
        fields.push(tag);
        fields.extend_from_slice(value.as_bytes());
        fields.push(0);
    }
    fields.push(0);
    let mut msg = vec![b'E'];
    msg.extend_from_slice(&((fields.len() + 4) as u32).to_be_bytes());
    msg.extend_from_slice(&fields);
    let _ = socket.write_all(&msg).await;
    let _ = socket.shutdown().await;
}
