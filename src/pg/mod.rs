//! The PostgreSQL wire protocol front end.
//!
//! Built on datafusion-postgres (pgwire handlers, parameter type inference, pg_catalog via
//! datafusion-pg-catalog, Arrow encoding via arrow-pg). Unlike its stock `serve`, every
//! connection gets its own handlers around its own `SessionContext` from the engine, so
//! settings on one connection never leak into another, and errors keep their SQLSTATE.

mod auth;
mod cancel;
mod catalog_rewrite;
mod compat_functions;
mod copy;
mod copy_format;
mod copy_out;
mod deallocate;
mod errors;
mod function_params;
mod hooks;
mod params;
mod pg_proc;
mod reset;
mod timeout;
mod tls;

use crate::engine::Engine;
use crate::error::{CipError, Result};
use datafusion_postgres::auth::AuthManager;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::setup_pg_catalog;
use datafusion_postgres::{DfSessionService, QueryHook};
use pgwire::api::auth::StartupHandler;
use pgwire::api::cancel::{CancelHandler, DefaultCancelHandler};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::{ConnectionManager, ErrorHandler, PgWireServerHandlers};
use std::sync::Arc;
use tokio::net::TcpListener;

/// The stock simple-query handler, with statement_timeout applied while rows are computed.
struct Simple {
    inner: Arc<DfSessionService>,
    cancel: Arc<cancel::ConnectionCancel>,
}

#[async_trait::async_trait]
impl SimpleQueryHandler for Simple {
    async fn do_query<C>(
        &self,
        client: &mut C,
        query: &str,
    ) -> pgwire::error::PgWireResult<Vec<pgwire::api::results::Response>>
    where
        C: pgwire::api::ClientInfo
            + pgwire::api::ClientPortalStore
            + futures::Sink<pgwire::messages::PgWireBackendMessage>
            + Unpin
            + Send
            + Sync,
        C::PortalStore: pgwire::api::store::PortalStore,
        C::Error: std::fmt::Debug,
        pgwire::error::PgWireError:
            From<<C as futures::Sink<pgwire::messages::PgWireBackendMessage>>::Error>,
    {
        let deadline = timeout::deadline(client);
        let cancel = self.cancel.for_statement(client, deadline);
        let responses = crate::executor::entered(SimpleQueryHandler::do_query(
            self.inner.as_ref(),
            client,
            query,
        ))
        .await?;
        Ok(responses
            .into_iter()
            .map(|r| {
                let limits = timeout::Limits {
                    deadline,
                    cancel: cancel.clone(),
                };
                timeout::bounded(r, limits)
            })
            .collect())
    }
}

/// The handlers of one connection.
struct Connection {
    service: Arc<DfSessionService>,
    ctx: Arc<datafusion::prelude::SessionContext>,
    copy: Arc<copy::CopyReceiver>,
    startup: Arc<auth::Startup>,
    cancels: Arc<cancel::Cancels>,
    cancel: Arc<cancel::ConnectionCancel>,
}

impl PgWireServerHandlers for Connection {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        Arc::new(Simple {
            inner: self.service.clone(),
            cancel: self.cancel.clone(),
        })
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        Arc::new(params::NumericParams {
            inner: self.service.clone(),
            ctx: self.ctx.clone(),
            cancel: self.cancel.clone(),
        })
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
        self.copy.clone()
    }
}

/// A session for one connection: the engine's session plus pg_catalog.
async fn connection_session(engine: &Engine) -> Result<datafusion::prelude::SessionContext> {
    let ctx = engine.session().await?;
    setup_pg_catalog(&ctx, "cip", Arc::new(AuthManager::default()))
        .map_err(|e| CipError::DataFusion(*e))?;
    compat_functions::register(&ctx);
    pg_proc::register(&ctx).await?;
    Ok(ctx)
}

fn query_hooks(engine: &Engine, copy_state: copy::CopyState) -> Vec<Arc<dyn QueryHook>> {
    use datafusion_postgres::hooks::{cursor, set_show, transactions};
    vec![
        Arc::new(hooks::CountingHook),
        Arc::new(hooks::ShowFunctionsHook),
        Arc::new(catalog_rewrite::CatalogSubqueryHook),
        Arc::new(deallocate::DeallocateHook),
        Arc::new(function_params::FunctionParamsHook),
        Arc::new(hooks::NoWritesInTransactionHook),
        Arc::new(copy::CopyFromHook {
            store: engine.store.clone(),
            state: copy_state,
        }),
        Arc::new(copy_out::CopyToHook),
        Arc::new(hooks::CommandTagHook),
        Arc::new(hooks::CipSettingsHook),
        Arc::new(reset::ResetHook {
            defaults: engine.default_options(),
        }),
        Arc::new(cursor::CursorStatementHook),
        Arc::new(set_show::SetShowHook),
        Arc::new(transactions::TransactionStatementHook),
    ]
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
                refuse(&mut socket, "53300", message).await
            });
            continue;
        };
        crate::metrics::CONNECTIONS.add(1);
        let engine = engine.clone();
        let connections = connections.clone();
        let users = users.clone();
        let tls = tls.clone();
        let cancel_registry = cancel_registry.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let ctx = match connection_session(&engine).await {
                Ok(ctx) => ctx,
                Err(e) => {
                    tracing::error!("cannot open a session for {peer}: {e}");
                    let message = format!("cannot open a session: {e}");
                    refuse(&mut socket, e.sqlstate(), &message).await;
                    return;
                }
            };
            let copy_state = copy::CopyState::default();
            let ctx = Arc::new(ctx);
            let stop = crate::statement_stop::StatementStop::of(&ctx);
            let handlers = Connection {
                ctx: ctx.clone(),
                service: Arc::new(DfSessionService::new_with_hooks(
                    ctx.clone(),
                    query_hooks(&engine, copy_state.clone()),
                )),
                copy: Arc::new(copy::CopyReceiver { state: copy_state }),
                startup: Arc::new(
                    auth::Startup::new(users.clone(), connections.clone(), ctx)
                        .with_tls_required(tls_required),
                ),
                cancels: Arc::new(cancel::Cancels {
                    registry: cancel_registry.clone(),
                    default: DefaultCancelHandler::new(connections),
                }),
                cancel: Arc::new(cancel::ConnectionCancel::new(cancel_registry, stop)),
            };
            if let Err(e) = pgwire::tokio::process_socket(socket, tls, handlers).await {
                tracing::debug!("connection from {peer} ended: {e}");
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
