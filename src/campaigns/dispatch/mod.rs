//! The dispatcher inside `cip serve`: sends queued campaign messages through their channel's
//! gateway ([channels.NAME], channel.rs) and logs each step in message_attempts.
//!
//! A message is logged 'sending' (durably) before its call and 'sent' — together with its
//! 'sent' tracking row, in one commit — only when the gateway accepts it. A crash in between
//! leaves it 'sending'; the next pass sends it again with the same Idempotency-Key (its
//! message_id), so a gateway that honours the key delivers it once and nothing is lost.
//! Failures worth retrying (timeouts, 429, 5xx) are logged 'failed' and retried after a
//! backoff; after max_attempts, or on any other refusal, the message is 'dead' with the last
//! error. Consent and the frequency cap are checked again right before sending; quiet hours
//! hold messages until they end. One dispatcher acts at a time per data directory (a lock).

mod channel;
mod pending;

pub use channel::{signature, verify};

use self::channel::{backoff, Channel, Delivery, Outgoing};
use self::pending::Pending;
use super::messages::attempt_rows;
use super::tracking::Rows;
use crate::engine::Engine;
use crate::error::{CipError, Result};
use crate::storage::local_now_micros;
use chrono::Timelike;
use datafusion::arrow::array::RecordBatch;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

static DISPATCHING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Calls in flight at once on one channel (the rate limit spaces their starts), and the
/// messages logged 'sending' together.
const IN_FLIGHT: usize = 32;
/// Messages taken per pass: a pass's 'sending' and 'sent' steps are one append each.
const PASS: usize = 500;
/// How often an idle dispatcher looks again without being woken (consent or quiet hours may
/// have changed).
const IDLE: Duration = Duration::from_secs(5);

/// Starts the dispatcher when a channel is configured.
pub fn start(engine: Arc<Engine>) -> Result<Option<tokio::task::JoinHandle<()>>> {
    if engine.config.channels.is_empty() {
        return Ok(None);
    }
    let mut channels = HashMap::new();
    for (name, config) in &engine.config.channels {
        channels.insert(name.clone(), Channel::new(name, config)?);
        tracing::info!(channel = %name, kind = %config.kind, rate = config.rate_per_second, quiet_hours = %config.quiet_hours, "dispatching");
    }
    Ok(Some(tokio::spawn(run(engine, channels))))
}

async fn run(engine: Arc<Engine>, channels: HashMap<String, Channel>) {
    let mut wake = engine.changes.watch("message_outbox");
    let mut retry_at: HashMap<String, Instant> = HashMap::new();
    loop {
        let wait = match pass(&engine, &channels, &mut retry_at).await {
            Ok(Pass { acted: true, .. }) => continue,
            Ok(Pass { next, .. }) => next.unwrap_or(IDLE).min(IDLE),
            Err(e) => {
                tracing::warn!("dispatch failed: {e} (SQLSTATE {})", e.sqlstate());
                IDLE
            }
        };
        match &mut wake {
            Some(rx) => {
                let _ = tokio::time::timeout(wait, rx.changed()).await;
            }
            None => tokio::time::sleep(wait).await,
        }
    }
}

struct Pass {
    /// Whether anything was sent or given up (then the next pass comes at once).
    acted: bool,
    /// When a held message (backoff, quiet hours) is due.
    next: Option<Duration>,
}

/// One pass: takes the due messages, checks them again, sends them.
async fn pass(
    engine: &Arc<Engine>,
    channels: &HashMap<String, Channel>,
    retry_at: &mut HashMap<String, Instant>,
) -> Result<Pass> {
    let store = engine.store.clone();
    let dir = store.table("message_outbox")?.dir.clone();
    let _held = crate::warehouse::exclusive(&DISPATCHING, dir.join("_dispatch.lock"))
        .await
        .map_err(CipError::from)?;
    let tz = engine.config.timezone()?;
    let campaigns = &engine.config.campaigns;
    let now_local = local_now_micros(tz);
    let since = now_local - i64::from(campaigns.cap_days) * 86_400_000_000;
    let minute = chrono::Utc::now().with_timezone(&tz);
    let minute = minute.hour() * 60 + minute.minute();
    let pending = pending::load(engine, since, PASS).await?;
    let (mut next, now) = (None::<Duration>, Instant::now());
    let mut later = |d: Duration| next = Some(next.map_or(d, |n: Duration| n.min(d)));
    let mut dead: Vec<(&Pending, String)> = Vec::new();
    let mut due: HashMap<&str, Vec<&Pending>> = HashMap::new();
    let mut counted: HashMap<&str, i64> = HashMap::new();
    for p in &pending {
        let Some(ch) = channels.get(&p.channel) else {
            continue; // pending::load reads configured channels only
        };
        if ch.quiet_at(minute) {
            later(Duration::from_secs(30));
            continue;
        }
        if let Some(at) = retry_at.get(&p.message_id).filter(|at| **at > now) {
            later(*at - now);
            continue;
        }
        let sent = counted
            .entry(p.member_id.as_str())
            .or_insert(p.sent_recently);
        if !p.consent {
            dead.push((p, "no marketing consent at send time".into()));
        } else if *sent >= i64::from(campaigns.cap_messages) {
            dead.push((p, "frequency cap reached at send time".into()));
        } else {
            *sent += 1;
            due.entry(ch.name.as_str()).or_default().push(p);
        }
    }
    let mut acted = !dead.is_empty();
    let mut log = Log::default();
    for (p, why) in dead {
        log.step(p, "dead", p.attempts, Some(why));
    }
    log.commit(engine).await?;
    for (name, batch) in due {
        let ch = &channels[name];
        acted = true;
        // 'sending' is logged per chunk, just before its calls: a crash then leaves only the
        // chunk in flight to be sent again.
        for chunk in batch.chunks(IN_FLIGHT) {
            send(engine, ch, chunk, retry_at).await?;
        }
    }
    Ok(Pass { acted, next })
}

/// Sends `batch` over `ch`: 'sending' logged first, then each outcome.
async fn send(
    engine: &Arc<Engine>,
    ch: &Channel,
    batch: &[&Pending],
    retry_at: &mut HashMap<String, Instant>,
) -> Result<()> {
    let mut log = Log::default();
    for p in batch {
        log.step(p, "sending", p.attempt(), None);
    }
    log.commit(engine).await?;
    let public = engine.public_url();
    let outgoing: Vec<Outgoing> = batch.iter().map(|p| p.outgoing(&public)).collect();
    let results: Vec<Delivery> = if ch.is_file() {
        let refs: Vec<&Outgoing> = outgoing.iter().collect();
        let written = ch.write_lines(&refs);
        outgoing
            .iter()
            .map(|_| match &written {
                Ok(()) => Delivery::Accepted,
                Err(e) => Delivery::Retry(e.to_string()),
            })
            .collect()
    } else {
        // Owned messages: each call's future holds its own (spawned tasks need no borrow).
        let calls: Vec<_> = outgoing
            .into_iter()
            .map(|m| async move {
                ch.pace().await;
                ch.post(&m).await
            })
            .collect();
        futures::stream::iter(calls)
            .buffered(IN_FLIGHT)
            .collect()
            .await
    };
    let tz = engine.config.timezone()?;
    let mut log = Log::default();
    let (mut accepted, mut failed) = (0usize, 0usize);
    for (p, result) in batch.iter().zip(results) {
        let attempt = p.attempt();
        match result {
            Delivery::Accepted => {
                accepted += 1;
                retry_at.remove(&p.message_id);
                log.step(p, "sent", attempt, None);
                let cents = Some((p.message_cost * 100.0).round() as i128);
                log.tracking.push(
                    &p.campaign_id,
                    &p.member_id,
                    "sent",
                    Some(0),
                    cents,
                    local_now_micros(tz),
                );
            }
            Delivery::Retry(e) if attempt < ch.config.max_attempts as i32 => {
                failed += 1;
                retry_at.insert(p.message_id.clone(), Instant::now() + backoff(attempt));
                log.step(p, "failed", attempt, Some(e));
            }
            Delivery::Retry(e) | Delivery::Refused(e) => {
                failed += 1;
                retry_at.remove(&p.message_id);
                log.step(p, "dead", attempt, Some(e));
            }
        }
    }
    log.commit(engine).await?;
    crate::metrics::MESSAGES_SENT.add(accepted as u64);
    tracing::info!(channel = %ch.name, accepted, failed, "messages dispatched");
    Ok(())
}

/// Steps and tracking rows gathered for one commit.
#[derive(Default)]
struct Log {
    ids: Vec<String>,
    status: Vec<&'static str>,
    attempts: Vec<i32>,
    errors: Vec<Option<String>>,
    tracking: Rows,
}

impl Log {
    fn step(&mut self, p: &Pending, status: &'static str, attempt: i32, error: Option<String>) {
        self.ids.push(p.message_id.clone());
        self.status.push(status);
        self.attempts.push(attempt);
        self.errors.push(error);
    }

    /// message_attempts rows, one batch per status (in the order first seen).
    fn batches(&self, engine: &Engine, now: i64) -> Result<Vec<RecordBatch>> {
        let schema = engine.store.table("message_attempts")?.def.schema.clone();
        let mut out = Vec::new();
        let mut statuses: Vec<&str> = Vec::new();
        for s in &self.status {
            if !statuses.contains(s) {
                statuses.push(s);
            }
        }
        for status in statuses {
            let pick: Vec<usize> = (0..self.ids.len())
                .filter(|i| self.status[*i] == status)
                .collect();
            let ids: Vec<&str> = pick.iter().map(|i| self.ids[*i].as_str()).collect();
            let attempts: Vec<i32> = pick.iter().map(|i| self.attempts[*i]).collect();
            let errors: Vec<Option<String>> =
                pick.iter().map(|i| self.errors[*i].clone()).collect();
            out.push(
                attempt_rows(schema.clone(), &ids, status, &attempts, &errors, now)
                    .map_err(CipError::from)?,
            );
        }
        Ok(out)
    }

    /// Appends the steps and tracking rows in one commit.
    async fn commit(self, engine: &Arc<Engine>) -> Result<()> {
        if self.ids.is_empty() {
            return Ok(());
        }
        let now = local_now_micros(engine.config.timezone()?);
        let mut writes: Vec<(&'static str, RecordBatch)> = self
            .batches(engine, now)?
            .into_iter()
            .map(|b| ("message_attempts", b))
            .collect();
        if !self.tracking.is_empty() {
            writes.push((
                "campaign_tracking",
                self.tracking.batch(&engine.store).map_err(CipError::from)?,
            ));
        }
        let store = engine.store.clone();
        tokio::task::spawn_blocking(move || store.append_all(None, &writes))
            .await
            .map_err(|e| CipError::Corrupt(format!("dispatch log append failed: {e}")))?
    }
}
