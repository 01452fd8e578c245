//! Cancel requests that reach a statement while its rows are streaming.
//!
//! pgwire races a CancelRequest only with `do_query`, which returns a lazy row stream; the rows
//! (and so nearly all of DataFusion's work) are computed afterwards, as pgwire sends them, when
//! pgwire no longer listens for the cancel. Here every connection also has a cancel signal,
//! found by the (pid, secret key) the client was given at start-up; the row stream
//! (statement::Session::execute) ends with 57014 when it fires, which drops the stream and stops the
//! execution. A cancel while no statement runs is ignored, as PostgreSQL does.

use pgwire::api::cancel::{CancelHandler, DefaultCancelHandler};
use pgwire::api::ClientInfo;
use pgwire::messages::cancel::CancelRequest;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::watch;

type Key = (i32, Vec<u8>);

/// Every live connection's signal, by the key its client would cancel with.
#[derive(Default)]
pub struct CancelRegistry {
    signals: Mutex<HashMap<Key, Weak<watch::Sender<u64>>>>,
}

/// One connection's signal: a counter bumped by each cancel request.
pub struct ConnectionCancel {
    signal: Arc<watch::Sender<u64>>,
    registered: AtomicBool,
    registry: Arc<CancelRegistry>,
}

impl ConnectionCancel {
    /// `signal` is the session's (pg_cancel_backend bumps it too).
    pub fn new(registry: Arc<CancelRegistry>, signal: Arc<watch::Sender<u64>>) -> Self {
        ConnectionCancel {
            signal,
            registered: AtomicBool::new(false),
            registry,
        }
    }

    /// A receiver that sees only cancels sent after this call (the statement starting now).
    pub fn for_statement<C: ClientInfo + ?Sized>(&self, client: &C) -> watch::Receiver<u64> {
        if !self.registered.swap(true, Ordering::AcqRel) {
            // Statements run after start-up, when the client has been given its key.
            let (pid, secret) = client.pid_and_secret_key();
            {
                let mut signals = self
                    .registry
                    .signals
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                // Connections that ended leave dead entries; drop them as new ones arrive.
                signals.retain(|_, s| s.strong_count() > 0);
                signals.insert(
                    (pid, secret.to_bytes().to_vec()),
                    Arc::downgrade(&self.signal),
                );
            }
        }
        self.signal.subscribe()
    }
}

/// pgwire's handler (cancels during `do_query`) plus the streaming signal.
pub struct Cancels {
    pub registry: Arc<CancelRegistry>,
    pub default: DefaultCancelHandler,
}

#[async_trait::async_trait]
impl CancelHandler for Cancels {
    async fn on_cancel_request(&self, request: CancelRequest) {
        let key = (request.pid, request.secret_key.to_bytes().to_vec());
        let signal = self
            .registry
            .signals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .and_then(Weak::upgrade);
        if let Some(signal) = signal {
            signal.send_modify(|n| *n += 1);
        }
        self.default.on_cancel_request(request).await;
    }
}
