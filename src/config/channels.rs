//! Delivery channels (`[channels.NAME]`): where the dispatcher sends campaign messages.
//! With none configured for a campaign's channel, launch records its messages as sent at once.

use crate::error::{CipError, Result};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChannelConfig {
    /// "webhook" (an HTTP POST per message) or "file" (JSON lines appended to `path`).
    pub kind: String,
    /// webhook: the gateway's URL (http or https).
    pub url: Option<String>,
    /// webhook: the key of the body's HMAC-SHA256 in `X-Cip-Signature`; also accepted on
    /// receipts the gateway posts back.
    pub secret: Option<String>,
    /// file: the JSONL file messages are appended to.
    pub path: Option<PathBuf>,
    /// Messages per second at most.
    pub rate_per_second: f64,
    /// Attempts before a message is `dead`.
    pub max_attempts: u32,
    /// Local time in which nothing is sent, "HH:MM-HH:MM" (may wrap midnight), or "off".
    pub quiet_hours: String,
    /// How long one call may take before it counts as failed (and is retried), e.g. "10s".
    pub timeout: String,
}

impl Default for ChannelConfig {
    fn default() -> Self {
        ChannelConfig {
            kind: "webhook".into(),
            url: None,
            secret: None,
            path: None,
            rate_per_second: 50.0,
            max_attempts: 5,
            quiet_hours: "02:00-10:00".into(),
            timeout: "10s".into(),
        }
    }
}

/// Quiet hours as minutes after local midnight: [start, end), wrapping midnight when end <= start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: u32,
    pub end: u32,
}

impl QuietHours {
    /// Whether `minute` (after local midnight) falls in the quiet hours.
    pub fn holds(&self, minute: u32) -> bool {
        if self.start <= self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        }
    }
}

fn hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

impl ChannelConfig {
    pub fn validate(&self, name: &str) -> Result<()> {
        let bad = |m: String| Err(CipError::Config(format!("channels.{name}: {m}")));
        match self.kind.as_str() {
            "webhook" => {
                let url = self.url.as_deref().unwrap_or("");
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return bad(format!("url {url:?} must be an http:// or https:// URL"));
                }
                if self.secret.as_deref().is_none_or(|s| s.len() < 16) {
                    return bad("a webhook needs a secret of at least 16 characters".into());
                }
            }
            "file" => {
                if self.path.is_none() {
                    return bad("a file channel needs a path".into());
                }
            }
            other => return bad(format!("kind {other:?} is not \"webhook\" or \"file\"")),
        }
        if !(self.rate_per_second.is_finite() && self.rate_per_second > 0.0) {
            return bad("rate_per_second must be > 0".into());
        }
        if self.max_attempts == 0 {
            return bad("max_attempts must be at least 1".into());
        }
        self.quiet_hours(name)?;
        self.timeout(name)?;
        Ok(())
    }

    /// None when quiet hours are "off".
    pub fn quiet_hours(&self, name: &str) -> Result<Option<QuietHours>> {
        let q = self.quiet_hours.trim();
        if q.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let parsed = q
            .split_once('-')
            .and_then(|(a, b)| {
                Some(QuietHours {
                    start: hhmm(a)?,
                    end: hhmm(b)?,
                })
            })
            .filter(|h| h.start != h.end);
        parsed.map(Some).ok_or_else(|| {
            CipError::Config(format!(
                "channels.{name}: quiet_hours = {q:?}: expected \"HH:MM-HH:MM\" or \"off\""
            ))
        })
    }

    pub fn timeout(&self, name: &str) -> Result<std::time::Duration> {
        super::parse_interval(&self.timeout).ok_or_else(|| {
            CipError::Config(format!(
                "channels.{name}: timeout = {:?}: expected a duration like \"10s\"",
                self.timeout
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_wrap_midnight() {
        let c = ChannelConfig {
            quiet_hours: "22:00-06:30".into(),
            ..ChannelConfig::default()
        };
        let q = c.quiet_hours("sms").unwrap().unwrap();
        assert!(q.holds(23 * 60) && q.holds(0) && q.holds(6 * 60 + 29));
        assert!(!q.holds(6 * 60 + 30) && !q.holds(12 * 60));
        let day = ChannelConfig::default()
            .quiet_hours("sms")
            .unwrap()
            .unwrap();
        assert!(day.holds(2 * 60) && !day.holds(10 * 60) && !day.holds(60));
        for bad in ["25:00-01:00", "02:00", "02:00-02:00", "x"] {
            let c = ChannelConfig {
                quiet_hours: bad.into(),
                ..ChannelConfig::default()
            };
            assert!(c.quiet_hours("sms").is_err(), "{bad}");
        }
    }
}
