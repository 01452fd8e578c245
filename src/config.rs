//! Every setting of cip, with one home: a TOML file (`cip --config FILE`), defaults below.
//! Command-line flags (`--data`, `--listen`) override the file for one run.

mod channels;
pub use channels::{ChannelConfig, QuietHours};

use crate::error::{CipError, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The data directory (one folder per table).
    pub data_dir: PathBuf,
    /// Where the view files are; when the folder does not exist, the views built into the
    /// binary are used.
    pub queries_dir: PathBuf,
    pub server: ServerConfig,
    pub engine: EngineConfig,
    pub time: TimeConfig,
    pub storage: StorageConfig,
    pub scheduler: SchedulerConfig,
    pub campaigns: CampaignConfig,
    pub models: ModelsConfig,
    /// Where campaign messages are delivered, by channel name (config/channels.rs).
    pub channels: std::collections::BTreeMap<String, ChannelConfig>,
    /// Who may connect. None: no authentication, which is allowed on loopback only.
    pub users: Vec<UserConfig>,
}

/// A user: SCRAM-SHA-256 password for PostgreSQL clients, bearer token for the HTTP API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub name: String,
    /// "operator" (read and write) or "analyst" (read only, members' names and phones masked).
    pub role: String,
    pub password: Option<String>,
    pub token: Option<String>,
}

impl UserConfig {
    pub fn role(&self) -> Result<crate::identity::Role> {
        match self.role.as_str() {
            "operator" => Ok(crate::identity::Role::Operator),
            "analyst" => Ok(crate::identity::Role::Analyst),
            other => Err(CipError::Config(format!(
                "user {:?}: role {other:?} is not \"operator\" or \"analyst\"",
                self.name
            ))),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// PostgreSQL wire protocol address.
    pub listen: String,
    /// HTTP API address; none by default.
    pub http: Option<String>,
    /// Connections served at once; one more is refused with SQLSTATE 53300.
    pub max_connections: usize,
    /// Listen beyond loopback without `[[users]]` (anyone could connect): refused unless set.
    pub allow_unauthenticated_remote: bool,
    /// PEM certificate chain for TLS on the PostgreSQL port (with `tls_key`); clients that ask
    /// for TLS (sslmode=require and up) get it.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Refuse connections that did not negotiate TLS (FATAL 28000).
    pub tls_required: bool,
    /// The address members' tracking links start with, e.g. "https://cip.example.com";
    /// by default http:// and the `http` address.
    pub public_url: Option<String>,
    /// A connection that has not completed its startup and login by then is closed
    /// (PostgreSQL's authentication_timeout), e.g. "10s".
    pub authentication_timeout: String,
    /// Build the member_scores snapshot before accepting connections when it does not answer
    /// for today (src/scores); off, the first day's lookups compute live until a refresh.
    pub build_scores: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Memory for query execution, e.g. "4GiB"; past it, operators spill or the query fails.
    pub memory_limit: String,
    /// What one client session's statements may hold of that memory at once, e.g. "1GiB";
    /// a quarter of memory_limit when not given.
    pub statement_memory_limit: Option<String>,
    /// Where spill files go; the system temp folder by default.
    pub spill_dir: Option<PathBuf>,
    /// How the memory is shared among operators: "share" (the default: DataFusion's fair rule
    /// plus memory nobody holds, up to half the pool for operators that spill,
    /// src/share_pool.rs), "fair" (DataFusion's FairSpillPool) or "greedy" (first come,
    /// first served).
    pub memory_pool: crate::share_pool::PoolKind,
    /// What is kept in memory of Parquet files' footers and page indexes, e.g. "256MiB": a
    /// lookup in a large snapshot reads its page index from here, not from disk (DataFusion
    /// keeps 50 MB; the page index of ten million members' snapshot is about that).
    pub metadata_cache: String,
    /// Parallelism of a query; 0 means one per core.
    pub target_partitions: usize,
    /// Sessions' default for `cip.key_sort` (full sorts by packed integer keys, src/keysort).
    pub key_sort: bool,
    /// Directories whose files `CREATE EXTERNAL TABLE` may read (operators only; never the
    /// data directory). Empty by default: the statement is refused.
    pub external_table_dirs: Vec<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimeConfig {
    /// The venues' timezone (IANA name).
    pub timezone: String,
    /// When a business day starts: a 01:00 visit belongs to the evening before.
    pub day_cutoff: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Logged rows that trigger a flush into a Parquet part.
    pub flush_rows: usize,
    /// Parts per table beyond which small parts are merged.
    pub max_parts: usize,
    /// The most rows a part of a table read by points (member_scores) holds, so a catch-up
    /// of a few members rewrites a part of this size, not the whole snapshot. 131,072: at
    /// ten million members a catch-up of one member took 0.50-0.63 s (262,144: 0.45-1.18 s)
    /// and lookups kept their speed (65,536: 0.26-0.52 s, 32 clients ~15% slower).
    pub point_read_part_rows: u64,
}

/// How launch_campaign() picks and messages an audience.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CampaignConfig {
    /// Share of the audience kept as holdout (never messaged), in [0, 1).
    pub control_share: f64,
    /// A/B variants, assigned by a stable hash of (campaign, member).
    pub variants: Vec<String>,
    /// The default channel, and what one message costs on each channel (yuan).
    pub channel: String,
    pub message_cost: std::collections::BTreeMap<String, f64>,
    /// Frequency cap across all campaigns: at most `cap_messages` per member per `cap_days`.
    pub cap_messages: u32,
    pub cap_days: u32,
    /// Days after launch in which the holdout comparison counts visits, and after a message
    /// in which a member's first visit is its conversion.
    pub attribution_days: u32,
    /// Where a message's tracking link leads when its campaign names none; a built-in page
    /// when neither does.
    pub landing_url: Option<String>,
}

impl Default for CampaignConfig {
    fn default() -> Self {
        CampaignConfig {
            control_share: 0.10,
            variants: vec!["A".into(), "B".into()],
            channel: "sms".into(),
            message_cost: [("sms", 0.05), ("wechat", 0.01), ("app", 0.0)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            cap_messages: 2,
            cap_days: 7,
            attribution_days: 14,
            landing_url: None,
        }
    }
}

impl CampaignConfig {
    fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(CipError::Config(format!("campaigns: {m}")));
        if !(0.0..1.0).contains(&self.control_share) {
            return bad(format!(
                "control_share = {} must be in [0, 1)",
                self.control_share
            ));
        }
        if self.variants.is_empty() || self.variants.iter().any(|v| v.trim().is_empty()) {
            return bad("variants must name at least one variant".into());
        }
        if !self.message_cost.contains_key(&self.channel) {
            return bad(format!("channel {:?} has no message_cost", self.channel));
        }
        if self
            .message_cost
            .values()
            .any(|c| !c.is_finite() || *c < 0.0)
        {
            return bad("message_cost values must be >= 0".into());
        }
        if self.cap_days == 0 || self.attribution_days == 0 {
            return bad("cap_days and attribution_days must be at least 1".into());
        }
        Ok(())
    }
}

/// Statements `cip serve` runs periodically (see src/scheduler.rs).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchedulerConfig {
    pub enabled: bool,
    /// Replaces the default jobs when given.
    pub jobs: Vec<JobConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    /// Shown in the log of each run.
    pub name: String,
    pub statement: String,
    /// e.g. "30s", "1m", "6h", "1d".
    pub every: String,
}

impl ServerConfig {
    pub fn authentication_timeout(&self) -> Result<std::time::Duration> {
        parse_interval(&self.authentication_timeout).ok_or_else(|| {
            CipError::Config(format!(
                "server.authentication_timeout = {:?}: expected a duration like \"10s\" or \"1m\"",
                self.authentication_timeout
            ))
        })
    }
}

impl JobConfig {
    fn new(name: &str, statement: &str, every: &str) -> Self {
        JobConfig {
            name: name.into(),
            statement: statement.into(),
            every: every.into(),
        }
    }

    pub fn interval(&self) -> Result<std::time::Duration> {
        parse_interval(&self.every).ok_or_else(|| {
            CipError::Config(format!(
                "scheduler job {:?}: every = {:?}: expected a duration like \"30s\", \"1m\", \"6h\" or \"1d\" (at least 1s)",
                self.name, self.every
            ))
        })
    }
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            enabled: true,
            jobs: vec![
                JobConfig::new("upgrades", "SELECT * FROM execute_upgrades()", "1m"),
                JobConfig::new("conversions", "SELECT * FROM attribute_conversions()", "1m"),
                JobConfig::new(
                    "refresh_member_behavior",
                    "SELECT * FROM refresh_member_behavior()",
                    "1d",
                ),
                JobConfig::new("retention_review", "SELECT * FROM review_tiers()", "1d"),
                // Rebuilds the snapshot when it no longer answers: a new business day, or
                // writes to what it reads (else lookups compute every member live).
                JobConfig::new(
                    "refresh_member_scores",
                    "SELECT * FROM refresh_member_scores(true)",
                    "5m",
                ),
            ],
        }
    }
}

pub(crate) fn parse_interval(s: &str) -> Option<std::time::Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "s" | "sec" | "secs" => n,
        "m" | "min" | "mins" => n.checked_mul(60)?,
        "h" | "hour" | "hours" => n.checked_mul(3600)?,
        "d" | "day" | "days" => n.checked_mul(86_400)?,
        _ => return None,
    };
    (secs >= 1).then(|| std::time::Duration::from_secs(secs))
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            queries_dir: PathBuf::from("queries"),
            server: ServerConfig::default(),
            engine: EngineConfig::default(),
            time: TimeConfig::default(),
            storage: StorageConfig::default(),
            scheduler: SchedulerConfig::default(),
            campaigns: CampaignConfig::default(),
            models: ModelsConfig::default(),
            channels: Default::default(),
            users: Vec::new(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:5433".into(),
            http: None,
            max_connections: 100,
            allow_unauthenticated_remote: false,
            tls_cert: None,
            tls_key: None,
            tls_required: false,
            public_url: None,
            authentication_timeout: "10s".into(),
            build_scores: true,
        }
    }
}

/// The customer-base models' settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelsConfig {
    /// churn_risk = 100 × P(no visit in this many days); sessions' default for
    /// cip.churn_horizon_days.
    pub churn_horizon_days: u32,
    /// Clients of `cip serve` never wait for a new business day's model fits: the server
    /// makes them in the background while their queries use the latest earlier fit and say
    /// so (a NOTICE, the fit_as_of column). Off: a client's query fits, as scripts do.
    pub background_fits: bool,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        ModelsConfig {
            churn_horizon_days: 90,
            background_fits: true,
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            memory_limit: "4GiB".into(),
            statement_memory_limit: None,
            spill_dir: None,
            memory_pool: crate::share_pool::PoolKind::Share,
            metadata_cache: "256MiB".into(),
            target_partitions: 0,
            key_sort: true,
            external_table_dirs: vec![],
        }
    }
}

impl Default for TimeConfig {
    fn default() -> Self {
        TimeConfig {
            timezone: "Asia/Shanghai".into(),
            day_cutoff: "06:00".into(),
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            flush_rows: 20_000,
            max_parts: 16,
            point_read_part_rows: 128 * 1024,
        }
    }
}

impl Config {
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let cfg: Config = match path {
            None => Config::default(),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| CipError::io(format!("read config {}", p.display()), e))?;
                toml::from_str(&text)
                    .map_err(|e| CipError::Config(format!("{}: {e}", p.display())))?
            }
        };
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<()> {
        self.statement_memory_limit_bytes()?;
        self.metadata_cache_bytes()?;
        self.timezone()?;
        self.day_cutoff_minutes()?;
        if self.server.max_connections == 0 {
            return Err(CipError::Config(
                "server.max_connections must be at least 1".into(),
            ));
        }
        self.campaigns.validate()?;
        for (name, channel) in &self.channels {
            channel.validate(name)?;
        }
        if self.models.churn_horizon_days == 0 {
            return Err(CipError::Config(
                "models.churn_horizon_days must be at least 1".into(),
            ));
        }
        self.server.authentication_timeout()?;
        let mut names = std::collections::HashSet::new();
        for u in &self.users {
            u.role()?;
            if u.name.trim().is_empty() || !names.insert(u.name.as_str()) {
                return Err(CipError::Config(format!(
                    "users: name {:?} is empty or repeated",
                    u.name
                )));
            }
            if u.password.as_deref().is_some_and(|p| p.len() < 8)
                || u.token.as_deref().is_some_and(|t| t.len() < 16)
            {
                return Err(CipError::Config(format!(
                    "user {:?}: a password needs at least 8 characters, a token at least 16",
                    u.name
                )));
            }
        }
        for job in &self.scheduler.jobs {
            job.interval()?;
            if job.statement.trim().is_empty() {
                return Err(CipError::Config(format!(
                    "scheduler job {:?} has no statement",
                    job.name
                )));
            }
        }
        if self.storage.flush_rows == 0
            || self.storage.max_parts < 2
            || self.storage.point_read_part_rows == 0
        {
            return Err(CipError::Config(
                "storage.flush_rows and storage.point_read_part_rows must be > 0, storage.max_parts >= 2"
                    .into(),
            ));
        }
        Ok(())
    }

    pub fn memory_limit_bytes(&self) -> Result<usize> {
        parse_bytes(&self.engine.memory_limit).ok_or_else(|| {
            CipError::Config(format!(
                "engine.memory_limit = {:?}: expected a size like \"4GiB\", \"512MiB\" or bytes",
                self.engine.memory_limit
            ))
        })
    }

    pub fn metadata_cache_bytes(&self) -> Result<usize> {
        parse_bytes(&self.engine.metadata_cache).ok_or_else(|| {
            CipError::Config(format!(
                "engine.metadata_cache = {:?}: expected a size like \"256MiB\" or bytes",
                self.engine.metadata_cache
            ))
        })
    }

    /// A client session's share of the pool (engine.statement_memory_limit), never more than
    /// the pool.
    pub fn statement_memory_limit_bytes(&self) -> Result<usize> {
        let pool = self.memory_limit_bytes()?;
        let Some(given) = &self.engine.statement_memory_limit else {
            return Ok(pool / 4);
        };
        let bytes = parse_bytes(given).filter(|b| *b > 0).ok_or_else(|| {
            CipError::Config(format!(
                "engine.statement_memory_limit = {given:?}: expected a size like \"1GiB\""
            ))
        })?;
        Ok(bytes.min(pool))
    }

    pub fn timezone(&self) -> Result<chrono_tz::Tz> {
        self.time.timezone.parse().map_err(|_| {
            CipError::Config(format!(
                "time.timezone = {:?} is not an IANA timezone (e.g. \"Asia/Shanghai\")",
                self.time.timezone
            ))
        })
    }

    /// The business-day cut-off as minutes after midnight.
    pub fn day_cutoff_minutes(&self) -> Result<u32> {
        let bad = || {
            CipError::Config(format!(
                "time.day_cutoff = {:?}: expected HH:MM between 00:00 and 12:00",
                self.time.day_cutoff
            ))
        };
        let (h, m) = self.time.day_cutoff.split_once(':').ok_or_else(bad)?;
        let h: u32 = h.trim().parse().map_err(|_| bad())?;
        let m: u32 = m.trim().parse().map_err(|_| bad())?;
        if h > 12 || m > 59 || (h == 12 && m > 0) {
            return Err(bad());
        }
        Ok(h * 60 + m)
    }
}

fn parse_bytes(s: &str) -> Option<usize> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let num: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0_f64.powi(4),
        _ => return None,
    };
    let bytes = num * mult;
    (bytes >= 1.0 && bytes.is_finite()).then_some(bytes as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_cutoff() {
        assert_eq!(parse_bytes("4GiB"), Some(4 << 30));
        assert_eq!(parse_bytes("512 MiB"), Some(512 << 20));
        assert_eq!(parse_bytes("lots"), None);
        let mut c = Config::default();
        assert_eq!(c.day_cutoff_minutes().ok(), Some(360));
        c.time.day_cutoff = "25:00".into();
        assert!(c.validate().is_err());
        let mut c = Config::default();
        assert_eq!(c.metadata_cache_bytes().ok(), Some(256 << 20));
        c.engine.metadata_cache = "roomy".into();
        assert!(c.validate().is_err());
    }

    #[test]
    fn scheduler_intervals() {
        assert_eq!(
            parse_interval("90s"),
            Some(std::time::Duration::from_secs(90))
        );
        assert_eq!(
            parse_interval("1d"),
            Some(std::time::Duration::from_secs(86_400))
        );
        assert_eq!(parse_interval("0s"), None);
        assert_eq!(parse_interval("soon"), None);
        let mut c = Config::default();
        assert!(c.validate().is_ok());
        c.scheduler.jobs[0].every = "1 fortnight".into();
        assert!(c.validate().is_err());
    }

    #[test]
    fn memory_pool_kinds() {
        let c: Config = toml::from_str("[engine]\nmemory_pool = \"fair\"").expect("fair");
        assert_eq!(c.engine.memory_pool, crate::share_pool::PoolKind::Fair);
        assert_eq!(
            Config::default().engine.memory_pool,
            crate::share_pool::PoolKind::Share
        );
        let e = toml::from_str::<Config>("[engine]\nmemory_pool = \"roomy\"")
            .expect_err("unknown kind");
        assert!(e.to_string().contains("share"), "{e}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let r: std::result::Result<Config, _> = toml::from_str("memory = 1");
        assert!(r.is_err());
    }
}
