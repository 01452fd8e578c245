//! Who a PostgreSQL client is. Without `[[users]]` in the config nobody is asked (loopback
//! only, see serve); with them, every connection authenticates with SCRAM-SHA-256 (pgwire's
//! SASL handler) and runs as its user's role: operator or analyst.
//!
//! The config holds passwords; the server keeps only SCRAM's salted password, computed at
//! start with a random salt per user.

use crate::catalog::server_facts::Connection;
use crate::config::UserConfig;
use crate::error::sqlstate;
use crate::error::Result;
use crate::identity::{Actor, Role};
use crate::statement::Session;
use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::auth::noop::NoopStartupHandler;
use pgwire::api::auth::sasl::scram::{gen_salted_password, ScramAuth, SCRAM_ITERATIONS};
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::{
    AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler,
};
use pgwire::api::{
    ClientInfo, ConnectionManager, PgWireConnectionState, PidSecretKeyGenerator,
    RandomPidSecretKeyGenerator, METADATA_USER,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::BuildHasher;
use std::hash::RandomState;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};

/// The configured users, ready for SCRAM.
#[derive(Debug, Default)]
pub struct Users {
    scram: HashMap<String, (Vec<u8>, Vec<u8>, Role)>,
    decoy: Decoy,
}

/// What an unknown user is challenged with, so the exchange runs to its end and fails exactly
/// as a wrong password does (PostgreSQL's mock authentication): a salt that is the same for a
/// name every time (keyed by a secret drawn at start) and a salted password nobody knows.
#[derive(Debug)]
struct Decoy {
    keys: (RandomState, RandomState),
    salted: Vec<u8>,
}

impl Default for Decoy {
    fn default() -> Decoy {
        let secret: [u8; 32] = rand::random();
        let salt: [u8; 16] = rand::random();
        Decoy {
            keys: (RandomState::new(), RandomState::new()),
            salted: gen_salted_password(&hex(&secret), &salt, SCRAM_ITERATIONS),
        }
    }
}

impl Decoy {
    fn salt(&self, user: &str) -> Vec<u8> {
        let mut salt = self.keys.0.hash_one(user).to_le_bytes().to_vec();
        salt.extend_from_slice(&self.keys.1.hash_one(user).to_le_bytes());
        salt
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Users {
    pub fn from_config(users: &[UserConfig]) -> Result<Users> {
        let mut scram = HashMap::new();
        for u in users {
            let Some(password) = &u.password else {
                continue;
            };
            let salt: [u8; 16] = rand::random();
            let salted = gen_salted_password(password, &salt, SCRAM_ITERATIONS);
            scram.insert(u.name.clone(), (salt.to_vec(), salted, u.role()?));
        }
        Ok(Users {
            scram,
            decoy: Decoy::default(),
        })
    }

    pub fn role_of(&self, user: &str) -> Option<Role> {
        self.scram.get(user).map(|(_, _, r)| *r)
    }
}

#[async_trait]
impl AuthSource for Users {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let user = login.user().unwrap_or_default();
        match self.scram.get(user) {
            Some((salt, salted, _)) => Ok(Password::new(Some(salt.clone()), salted.clone())),
            None => Ok(Password::new(
                Some(self.decoy.salt(user)),
                self.decoy.salted.clone(),
            )),
        }
    }
}

/// Every connection's pid and cancel key, from one counter: pgwire's SCRAM handler otherwise
/// counts from 100000 in each handler, and cip makes one per connection — every logged-in
/// client was pid 100000 (pg_backend_pid, pg_stat_activity, pg_cancel_backend).
static PIDS: LazyLock<Arc<RandomPidSecretKeyGenerator>> = LazyLock::new(Arc::default);

/// Without users: anyone on loopback, as an operator.
pub struct Open {
    pub connections: Arc<ConnectionManager>,
}

impl NoopStartupHandler for Open {
    fn connection_manager(&self) -> Option<Arc<ConnectionManager>> {
        Some(self.connections.clone())
    }

    fn pid_secret_key_generator(&self) -> &dyn PidSecretKeyGenerator {
        PIDS.as_ref()
    }
}

/// The startup of one connection: authentication (when configured), then the session's actor.
pub struct Startup {
    open: Option<Open>,
    sasl: Option<SASLAuthStartupHandler<DefaultServerParameterProvider>>,
    users: Arc<Users>,
    session: Arc<Session>,
    tls_required: bool,
    started: Arc<AtomicBool>,
    /// The address the server accepted the connection on (inet_server_addr).
    server_addr: Option<std::net::SocketAddr>,
}

impl Startup {
    pub fn new(
        users: Arc<Users>,
        connections: Arc<ConnectionManager>,
        session: Arc<Session>,
    ) -> Startup {
        if users.scram.is_empty() {
            return Startup {
                open: Some(Open { connections }),
                sasl: None,
                users,
                session,
                tls_required: false,
                started: Arc::default(),
                server_addr: None,
            };
        }
        let scram = ScramAuth::new(users.clone());
        let sasl = SASLAuthStartupHandler::new(Arc::new(DefaultServerParameterProvider::default()))
            .with_scram(scram)
            .with_connection_manager(connections)
            .with_pid_secret_key_generator(PIDS.clone());
        Startup {
            open: None,
            sasl: Some(sasl),
            users,
            session,
            tls_required: false,
            started: Arc::default(),
            server_addr: None,
        }
    }

    /// Set once the connection is ready for queries (for the authentication timeout).
    pub fn started(&self) -> Arc<AtomicBool> {
        self.started.clone()
    }

    /// Refuse a startup that did not come over TLS.
    pub fn with_tls_required(mut self, required: bool) -> Startup {
        self.tls_required = required;
        self
    }

    pub fn with_server_addr(mut self, addr: Option<std::net::SocketAddr>) -> Startup {
        self.server_addr = addr;
        self
    }
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if self.tls_required
            && !client.is_secure()
            && matches!(message, PgWireFrontendMessage::Startup(_))
        {
            return Err(fatal(
                sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
                "this server accepts only TLS connections (server.tls_required): connect with \
                 sslmode=require",
            ));
        }
        if let PgWireFrontendMessage::Startup(startup) = &message {
            if startup.parameters.get("user").is_none_or(|u| u.is_empty()) {
                return Err(fatal(
                    sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
                    "no PostgreSQL user name specified in startup packet",
                ));
            }
        }
        let was_ready = matches!(client.state(), PgWireConnectionState::ReadyForQuery);
        let done = match (&self.sasl, &self.open) {
            (Some(sasl), _) => sasl.on_startup(client, message).await,
            (None, Some(open)) => open.on_startup(client, message).await,
            (None, None) => return Err(PgWireError::InvalidStartupMessage),
        };
        if let Err(e) = done {
            // SCRAM names whatever the client put in its first message (libpq sends ""); a
            // failure names the user the client logged in as, whatever the cause.
            return Err(match e {
                PgWireError::InvalidPassword(_) => {
                    let user = client.metadata().get(METADATA_USER).cloned();
                    fatal(
                        sqlstate::INVALID_PASSWORD,
                        &format!(
                            "password authentication failed for user \"{}\"",
                            user.unwrap_or_default()
                        ),
                    )
                }
                other => other,
            });
        }
        if !was_ready && matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            self.started.store(true, Ordering::Release);
            let user = client
                .metadata()
                .get(METADATA_USER)
                .cloned()
                .unwrap_or_else(|| "unknown".into());
            let role = match &self.sasl {
                Some(_) => self.users.role_of(&user).unwrap_or(Role::Analyst),
                None => Role::Operator,
            };
            self.session.set_user(Actor::new(user, role));
            if let Some(server) = self.server_addr {
                self.session.set_connection(Connection {
                    pid: client.pid_and_secret_key().0,
                    client: client.socket_addr(),
                    server,
                    secure: client.is_secure(),
                });
            }
            // Parameters the client sent at startup (pgjdbc: TimeZone, DateStyle,
            // extra_float_digits; psql: application_name) start the session's values.
            for (name, value) in client.metadata() {
                if crate::settings::pg::canonical(name).is_some() {
                    if let Err(e) = self.session.settings().set(name, Some(value)) {
                        tracing::debug!("startup parameter {name}={value} ignored: {e}");
                    }
                }
            }
            // pgwire announced its own defaults at startup; these are the session's values.
            let _ = self.session.take_reported();
            for (name, value) in self.session.settings().reported() {
                let status = pgwire::messages::startup::ParameterStatus::new(name, value);
                client
                    .feed(PgWireBackendMessage::ParameterStatus(status))
                    .await?;
            }
            futures::SinkExt::flush(client).await?;
        }
        Ok(())
    }
}

/// An error that ends the connection at startup.
fn fatal(code: &str, message: &str) -> PgWireError {
    PgWireError::UserError(Box::new(pgwire::error::ErrorInfo::new(
        "FATAL".into(),
        code.into(),
        message.into(),
    )))
}
