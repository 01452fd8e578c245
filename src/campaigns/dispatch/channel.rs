//! One delivery channel: how a message leaves cip (a signed webhook call or a JSON line in a
//! file), how fast, and when not at all (quiet hours).

use crate::config::{ChannelConfig, QuietHours};
use crate::error::{CipError, Result};
use serde_json::json;
use std::io::Write;
use std::time::Duration;
use tokio::time::Instant;

/// What a message carries to a gateway.
pub struct Outgoing {
    pub message_id: String,
    pub campaign_id: String,
    pub member_id: String,
    pub phone: Option<String>,
    pub channel: String,
    pub content: String,
    pub tracking_url: String,
}

impl Outgoing {
    pub fn body(&self) -> String {
        json!({
            "messageId": self.message_id,
            "campaignId": self.campaign_id,
            "memberId": self.member_id,
            "phone": self.phone,
            "channel": self.channel,
            "content": self.content,
            "trackingUrl": self.tracking_url,
        })
        .to_string()
    }
}

/// How one attempt ended.
#[derive(Debug)]
pub enum Delivery {
    Accepted,
    /// Worth another attempt: a timeout, a connection failure, 429 or 5xx.
    Retry(String),
    /// Not worth another: any other answer.
    Refused(String),
}

pub struct Channel {
    pub name: String,
    pub config: ChannelConfig,
    pub quiet: Option<QuietHours>,
    client: reqwest::Client,
    /// When the next message may go: rate_per_second spaced evenly.
    next_slot: tokio::sync::Mutex<Instant>,
    gap: Duration,
}

/// `X-Cip-Signature`'s value for `body`: sha256= and the HMAC-SHA256 in lowercase hex.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Whether `header` is `signature(secret, body)`, compared in constant time.
pub fn verify(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Some(tag) = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    ring::hmac::verify(&key, body, &tag).is_ok()
}

impl Channel {
    pub fn new(name: &str, config: &ChannelConfig) -> Result<Channel> {
        let timeout = config.timeout(name)?;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("cip/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CipError::Config(format!("channels.{name}: {e}")))?;
        Ok(Channel {
            name: name.to_string(),
            quiet: config.quiet_hours(name)?,
            config: config.clone(),
            client,
            next_slot: tokio::sync::Mutex::new(Instant::now()),
            gap: Duration::from_secs_f64(1.0 / config.rate_per_second),
        })
    }

    /// Waits for this message's turn under the rate limit.
    pub async fn pace(&self) {
        let at = {
            let mut next = self.next_slot.lock().await;
            let at = (*next).max(Instant::now());
            *next = at + self.gap;
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// Sends one message over a webhook (a file channel writes in `write_lines`).
    pub async fn post(&self, m: &Outgoing) -> Delivery {
        let (Some(url), Some(secret)) = (&self.config.url, &self.config.secret) else {
            return Delivery::Refused(format!("channel {} has no url or secret", self.name));
        };
        let body = m.body();
        let sent = self
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .header("X-Cip-Signature", signature(secret, body.as_bytes()))
            .header("Idempotency-Key", &m.message_id)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Delivery::Accepted,
            Ok(r) => {
                let status = r.status();
                let text: String = r
                    .text()
                    .await
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect();
                let what = format!("HTTP {status}: {text}");
                if status.as_u16() == 429 || status.is_server_error() {
                    Delivery::Retry(what)
                } else {
                    Delivery::Refused(what)
                }
            }
            Err(e) if e.is_timeout() => Delivery::Retry(format!("timed out: {e}")),
            Err(e) => Delivery::Retry(format!("{e}")),
        }
    }

    /// Appends the messages to the channel's file as JSON lines, made durable together. A
    /// crash before their 'sent' is logged writes them again: each line carries its
    /// messageId for the uploader to de-duplicate by.
    pub fn write_lines(&self, messages: &[&Outgoing]) -> Result<()> {
        let path = self.config.path.as_ref().ok_or_else(|| {
            CipError::Config(format!(
                "channels.{}: a file channel needs a path",
                self.name
            ))
        })?;
        let mut text = String::new();
        for m in messages {
            text.push_str(&m.body());
            text.push('\n');
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| CipError::io(format!("open {}", path.display()), e))?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_data())
            .map_err(|e| CipError::io(format!("write {}", path.display()), e))
    }

    pub fn is_file(&self) -> bool {
        self.config.kind == "file"
    }

    /// Whether nothing may be sent now (local minute after midnight).
    pub fn quiet_at(&self, minute: u32) -> bool {
        self.quiet.is_some_and(|q| q.holds(minute))
    }
}

/// Wait before attempt `attempt + 1` after `attempt` failed: 1 s doubling, capped at 30 s,
/// with jitter (between half and all of it), so retries of many messages spread out.
pub fn backoff(attempt: i32) -> Duration {
    let base = (1u64 << attempt.clamp(1, 6).saturating_sub(1)).min(30) as f64;
    let jitter = 0.5 + rand::random::<f64>() * 0.5;
    Duration::from_secs_f64(base * jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_differ_by_body() {
        let s = signature("0123456789abcdef", b"{\"a\":1}");
        assert!(s.starts_with("sha256=") && s.len() == 7 + 64);
        assert!(verify("0123456789abcdef", b"{\"a\":1}", &s));
        assert!(!verify("0123456789abcdef", b"{\"a\":2}", &s));
        assert!(!verify("another secret!!", b"{\"a\":1}", &s));
        assert!(!verify("0123456789abcdef", b"{\"a\":1}", "sha256=zz"));
    }

    #[test]
    fn backoff_doubles_to_thirty_seconds() {
        for (attempt, cap) in [
            (1, 1.0),
            (2, 2.0),
            (3, 4.0),
            (5, 16.0),
            (6, 30.0),
            (40, 30.0),
        ] {
            let d = backoff(attempt).as_secs_f64();
            assert!(d >= cap / 2.0 && d <= cap, "attempt {attempt}: {d}");
        }
    }
}
