//! PostgreSQL's own run-time parameters (GUCs) as a session sees them: `SET`, `SHOW`,
//! `RESET`, `current_setting()` and `set_config()` all read and write one table per session,
//! with PostgreSQL's names, defaults and value forms. Parameters PostgreSQL reports to the
//! client when they change (TimeZone, DateStyle, …) are queued for a ParameterStatus.
//!
//! The table lives in the session's DataFusion config as an extension, so the
//! `current_setting` / `set_config` functions reach it. Unlike other config extensions it is
//! shared by every clone of the session's state: DataFusion clones the state for each
//! statement, and a `set_config()` inside a statement must change the session, as in
//! PostgreSQL.

use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::common::config::{ConfigEntry, ConfigExtension, ExtensionOptions};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The PostgreSQL version whose behaviour clients may assume (version(), server_version).
pub const PG_COMPAT_VERSION: &str = "16.6";

/// A parameter: its name as PostgreSQL spells it, its default, and whether PostgreSQL
/// reports its changes to the client (GUC_REPORT) or refuses to change it (read-only).
struct Param {
    name: &'static str,
    default: &'static str,
    reported: bool,
    read_only: bool,
    description: &'static str,
}

const fn p(name: &'static str, default: &'static str, description: &'static str) -> Param {
    Param {
        name,
        default,
        reported: false,
        read_only: false,
        description,
    }
}

const fn reported(p: Param) -> Param {
    Param {
        reported: true,
        ..p
    }
}

const fn fixed(p: Param) -> Param {
    Param {
        read_only: true,
        ..p
    }
}

/// The parameters drivers and tools set or read. "" defaults are filled per session
/// (TimeZone from the config, the server version, the user).
const PARAMS: &[Param] = &[
    reported(p(
        "application_name",
        "",
        "Sets the application name to be reported.",
    )),
    reported(p(
        "client_encoding",
        "UTF8",
        "Sets the client's character set encoding.",
    )),
    reported(p(
        "DateStyle",
        "ISO, MDY",
        "Sets the display format for date and time values.",
    )),
    reported(p(
        "IntervalStyle",
        "postgres",
        "Sets the display format for interval values.",
    )),
    reported(p(
        "TimeZone",
        "",
        "Sets the time zone for displaying and interpreting time stamps.",
    )),
    reported(p(
        "default_transaction_read_only",
        "off",
        "Sets the default read-only status of new transactions.",
    )),
    reported(p(
        "standard_conforming_strings",
        "on",
        "Causes '...' strings to treat backslashes literally.",
    )),
    reported(fixed(p(
        "integer_datetimes",
        "on",
        "Shows whether datetimes are integer based.",
    ))),
    reported(fixed(p(
        "is_superuser",
        "",
        "Shows whether the current user is a superuser.",
    ))),
    reported(fixed(p(
        "server_encoding",
        "UTF8",
        "Shows the server (database) character set encoding.",
    ))),
    reported(fixed(p("server_version", "", "Shows the server version."))),
    reported(fixed(p(
        "session_authorization",
        "",
        "Sets the session user name.",
    ))),
    reported(fixed(p(
        "in_hot_standby",
        "off",
        "Shows whether hot standby is currently active.",
    ))),
    fixed(p(
        "server_version_num",
        "",
        "Shows the server version as an integer.",
    )),
    fixed(p(
        "max_identifier_length",
        "63",
        "Shows the maximum identifier length.",
    )),
    fixed(p(
        "max_index_keys",
        "32",
        "Shows the maximum number of index keys.",
    )),
    fixed(p("block_size", "8192", "Shows the size of a disk block.")),
    fixed(p("lc_collate", "C", "Shows the collation order locale.")),
    fixed(p(
        "lc_ctype",
        "C",
        "Shows the character classification and case conversion locale.",
    )),
    p(
        "lc_messages",
        "C",
        "Sets the language in which messages are displayed.",
    ),
    p(
        "lc_monetary",
        "C",
        "Sets the locale for formatting monetary amounts.",
    ),
    p("lc_numeric", "C", "Sets the locale for formatting numbers."),
    p(
        "lc_time",
        "C",
        "Sets the locale for formatting date and time values.",
    ),
    p(
        "search_path",
        "\"$user\", public",
        "Sets the schema search order for names that are not schema-qualified.",
    ),
    p(
        "statement_timeout",
        "0",
        "Sets the maximum allowed duration of any statement.",
    ),
    p(
        "lock_timeout",
        "0",
        "Sets the maximum allowed duration of any wait for a lock.",
    ),
    p(
        "idle_in_transaction_session_timeout",
        "0",
        "Sets the maximum allowed idle time between queries, when in a transaction.",
    ),
    p(
        "idle_session_timeout",
        "0",
        "Sets the maximum allowed idle time between queries, when not in a transaction.",
    ),
    p(
        "extra_float_digits",
        "1",
        "Sets the number of digits displayed for floating-point values.",
    ),
    p("bytea_output", "hex", "Sets the output format for bytea."),
    p(
        "client_min_messages",
        "notice",
        "Sets the message levels that are sent to the client.",
    ),
    p(
        "default_transaction_isolation",
        "read committed",
        "Sets the transaction isolation level of each new transaction.",
    ),
    p(
        "transaction_isolation",
        "read committed",
        "Sets the current transaction's isolation level.",
    ),
    p(
        "transaction_read_only",
        "off",
        "Sets the current transaction's read-only status.",
    ),
    p(
        "default_table_access_method",
        "heap",
        "Sets the default table access method for new tables.",
    ),
    p(
        "timezone_abbreviations",
        "Default",
        "Selects a file of time zone abbreviations.",
    ),
    p("row_security", "on", "Enable row security."),
    p(
        "synchronous_commit",
        "on",
        "Sets the current transaction's synchronization level.",
    ),
    p("jit", "off", "Allow JIT compilation."),
    p(
        "work_mem",
        "4MB",
        "Sets the maximum memory to be used for query workspaces (advisory in cip).",
    ),
    p("geqo", "on", "Enables genetic query optimization."),
    p(
        "enable_seqscan",
        "on",
        "Enables the planner's use of sequential-scan plans.",
    ),
    p(
        "max_parallel_workers_per_gather",
        "2",
        "Sets the maximum number of parallel processes per executor node.",
    ),
];

fn find(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// The canonical spelling of a PostgreSQL parameter, if it is one.
pub fn canonical(name: &str) -> Option<&'static str> {
    find(name).map(|p| p.name)
}

/// A parameter as pg_settings lists it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub name: String,
    pub setting: String,
    pub description: String,
    /// Fixed for the server's life (PostgreSQL's `internal` context).
    pub read_only: bool,
    /// Set in this session (source `session`), not its default.
    pub set: bool,
    /// The value RESET gives back.
    pub reset: String,
}

/// One session's parameters (see the module docs for why clones share them).
#[derive(Debug, Clone, Default)]
pub struct PgSettings {
    values: Arc<Mutex<Values>>,
}

#[derive(Debug, Default)]
struct Values {
    set: BTreeMap<String, String>,
    defaults: BTreeMap<String, String>,
    /// Reported parameters that changed since the client was last told.
    changed: Vec<String>,
}

impl PgSettings {
    /// A session's table: `timezone` (the config's), the version, the user and their role.
    pub fn new(timezone: &str, user: &str, superuser: bool) -> PgSettings {
        let s = PgSettings::default();
        {
            let mut v = s.lock();
            let version = PG_COMPAT_VERSION;
            for (name, value) in [
                ("TimeZone", timezone.to_string()),
                ("server_version", version.to_string()),
                ("server_version_num", version_num(version)),
                ("session_authorization", user.to_string()),
                (
                    "is_superuser",
                    if superuser { "on" } else { "off" }.to_string(),
                ),
            ] {
                v.defaults.insert(name.to_string(), value);
            }
        }
        s
    }

    /// Takes `other`'s per-session defaults (the user and role, after authentication).
    pub fn adopt_defaults(&self, other: &PgSettings) {
        let defaults = other.lock().defaults.clone();
        self.lock().defaults = defaults;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Values> {
        self.values.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value of `name` (any case); None when it is neither a parameter nor a custom
    /// (dotted) one that was set.
    pub fn get(&self, name: &str) -> Option<String> {
        let v = self.lock();
        match find(name) {
            Some(p) => Some(
                v.set
                    .get(p.name)
                    .or_else(|| v.defaults.get(p.name))
                    .cloned()
                    .unwrap_or_else(|| p.default.to_string()),
            ),
            None => v.set.get(&name.to_ascii_lowercase()).cloned(),
        }
    }

    /// Sets `name` (None: back to its default). Unknown names are 42704 unless dotted
    /// (`myapp.user_id`, PostgreSQL's custom parameters); read-only ones are 55P02.
    pub fn set(&self, name: &str, value: Option<&str>) -> Result<()> {
        let mut v = self.lock();
        let (key, param) = match find(name) {
            Some(p) => (p.name.to_string(), Some(p)),
            None if name.contains('.') => (name.to_ascii_lowercase(), None),
            None => return Err(unknown(name)),
        };
        if let Some(p) = param {
            if p.read_only {
                return Err(CipError::invalid(
                    sqlstate::CANT_CHANGE_RUNTIME_PARAM,
                    format!("parameter \"{}\" cannot be changed", p.name),
                ));
            }
        }
        match value {
            Some(value) => {
                let value = match param {
                    Some(p) => normalise(p.name, value)?,
                    None => value.to_string(),
                };
                v.set.insert(key.clone(), value);
            }
            None => {
                v.set.remove(&key);
            }
        }
        if param.is_some_and(|p| p.reported) {
            v.changed.push(key);
        }
        Ok(())
    }

    /// Every parameter back to its default.
    pub fn reset_all(&self) {
        let mut v = self.lock();
        let reported: Vec<String> = v
            .set
            .keys()
            .filter(|k| find(k).is_some_and(|p| p.reported))
            .cloned()
            .collect();
        v.set.clear();
        v.changed.extend(reported);
    }

    /// Reported parameters that changed since the last call, with their values now.
    pub fn take_changed(&self) -> Vec<(String, String)> {
        let names: Vec<String> = std::mem::take(&mut self.lock().changed);
        let mut out: Vec<(String, String)> = Vec::new();
        for name in names {
            if out.iter().any(|(n, _)| *n == name) {
                continue;
            }
            let value = self.get(&name).unwrap_or_default();
            out.push((name, value));
        }
        out
    }

    /// Every reported parameter with its value (what a client is told at startup).
    pub fn reported(&self) -> Vec<(String, String)> {
        PARAMS
            .iter()
            .filter(|p| p.reported)
            .map(|p| (p.name.to_string(), self.get(p.name).unwrap_or_default()))
            .collect()
    }

    /// Every parameter: name, value, description (SHOW ALL).
    pub fn all(&self) -> Vec<(String, String, String)> {
        self.listed()
            .into_iter()
            .map(|l| (l.name, l.setting, l.description))
            .collect()
    }

    /// Every parameter as pg_settings lists it (sorted by name).
    pub fn listed(&self) -> Vec<Listed> {
        let v = self.lock();
        let mut out: Vec<Listed> = PARAMS
            .iter()
            .map(|p| {
                let reset = v
                    .defaults
                    .get(p.name)
                    .cloned()
                    .unwrap_or_else(|| p.default.to_string());
                Listed {
                    name: p.name.to_string(),
                    setting: v.set.get(p.name).cloned().unwrap_or_else(|| reset.clone()),
                    description: p.description.to_string(),
                    read_only: p.read_only,
                    set: v.set.contains_key(p.name),
                    reset,
                }
            })
            .collect();
        out.extend(
            v.set
                .iter()
                .filter(|(k, _)| find(k).is_none())
                .map(|(k, value)| Listed {
                    name: k.clone(),
                    setting: value.clone(),
                    description: String::new(),
                    read_only: false,
                    set: true,
                    reset: String::new(),
                }),
        );
        out.sort_by_key(|l| l.name.to_ascii_lowercase());
        out
    }

    /// The session's statement_timeout, if one is set.
    pub fn statement_timeout(&self) -> Option<std::time::Duration> {
        let ms = parse_millis(&self.get("statement_timeout")?).ok()?;
        (ms > 0).then(|| std::time::Duration::from_millis(ms))
    }

    /// A duration-valued parameter (milliseconds, or with a unit); None when 0 or unset.
    pub fn duration(&self, name: &str) -> Option<std::time::Duration> {
        let ms = parse_millis(&self.get(name)?).ok()?;
        (ms > 0).then(|| std::time::Duration::from_millis(ms))
    }

    /// The session's table, from a config that has one.
    pub fn of(config: &datafusion::common::config::ConfigOptions) -> Option<&PgSettings> {
        config.extensions.get::<PgSettings>()
    }
}

pub fn unknown(name: &str) -> CipError {
    CipError::invalid(
        sqlstate::UNDEFINED_OBJECT,
        format!("unrecognized configuration parameter \"{name}\""),
    )
}

/// "16.6" → "160006", as PostgreSQL spells its version for programs.
pub fn version_num(version: &str) -> String {
    let mut parts = version.split('.');
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(16);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    format!("{}", major * 10_000 + minor)
}

/// A value in the form PostgreSQL shows it, or 22023 when the parameter cannot take it.
fn normalise(name: &str, value: &str) -> Result<String> {
    let bad = |why: &str| {
        CipError::invalid(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("invalid value for parameter \"{name}\": \"{value}\"{why}"),
        )
    };
    Ok(match name {
        "statement_timeout"
        | "lock_timeout"
        | "idle_in_transaction_session_timeout"
        | "idle_session_timeout" => show_millis(parse_millis(value).map_err(|e| bad(&e))?),
        "TimeZone" => super::time_zone::shown(value).ok_or_else(|| bad(": not a time zone"))?,
        "client_encoding" => {
            let v = value.to_ascii_uppercase().replace('-', "");
            if v != "UTF8" && v != "UNICODE" {
                return Err(CipError::invalid(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!("cip speaks UTF8 only; client_encoding {value:?} is not supported"),
                ));
            }
            "UTF8".to_string()
        }
        "standard_conforming_strings" => {
            if !matches!(value.to_ascii_lowercase().as_str(), "on" | "true" | "1") {
                return Err(CipError::invalid(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "standard_conforming_strings is always on in cip",
                ));
            }
            "on".to_string()
        }
        "extra_float_digits" => match value.trim().parse::<i32>() {
            Ok(n) if (-15..=3).contains(&n) => n.to_string(),
            _ => return Err(bad(": must be an integer from -15 to 3")),
        },
        "default_transaction_read_only"
        | "transaction_read_only"
        | "jit"
        | "geqo"
        | "row_security"
        | "enable_seqscan" => match boolean(value) {
            Some(true) => "on".to_string(),
            Some(false) => "off".to_string(),
            None => return Err(bad(": must be on or off")),
        },
        _ => value.to_string(),
    })
}

/// A boolean as PostgreSQL's settings spell it: on, off, true, false, yes, no, 1, 0.
pub fn boolean(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Some(true),
        "off" | "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// A duration setting's value in milliseconds: a bare number is milliseconds, or a number
/// with ms, s, min, h or d.
pub fn parse_millis(value: &str) -> std::result::Result<u64, String> {
    let v = value.trim().trim_matches('\'').trim();
    let split = v
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| ": not a duration (e.g. 5000, 5s, 1min)".to_string())?;
    let scale = match unit.trim() {
        "" | "ms" => 1.0,
        "s" => 1e3,
        "min" => 60e3,
        "h" => 3_600e3,
        "d" => 86_400e3,
        _ => return Err(": unit must be ms, s, min, h or d".to_string()),
    };
    let ms = n * scale;
    if !(0.0..=(i32::MAX as f64)).contains(&ms) {
        return Err(": out of range".to_string());
    }
    Ok(ms.round() as u64)
}

/// Milliseconds as PostgreSQL shows them: 0, 250ms, 5s, 2min, 1h, 1d.
fn show_millis(ms: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "min"),
        (1_000, "s"),
    ];
    if ms == 0 {
        return "0".to_string();
    }
    for (size, unit) in UNITS {
        if ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

impl ExtensionOptions for PgSettings {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }

    fn cloned(&self) -> Box<dyn ExtensionOptions> {
        // Shared on purpose: see the module docs.
        Box::new(self.clone())
    }

    fn set(&mut self, key: &str, value: &str) -> datafusion::common::Result<()> {
        PgSettings::set(self, key, Some(value)).map_err(crate::error::to_df)
    }

    fn entries(&self) -> Vec<ConfigEntry> {
        // Listed by SHOW ALL and pg_settings, not by DataFusion's information_schema.
        vec![]
    }
}

impl ConfigExtension for PgSettings {
    const PREFIX: &'static str = "pg";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_take_postgres_forms() {
        let s = PgSettings::new("Asia/Shanghai", "cip", true);
        assert_eq!(s.get("timezone").as_deref(), Some("Asia/Shanghai"));
        s.set("statement_timeout", Some("5000")).expect("ms");
        assert_eq!(s.get("STATEMENT_TIMEOUT").as_deref(), Some("5s"));
        assert_eq!(
            s.statement_timeout(),
            Some(std::time::Duration::from_secs(5))
        );
        s.set("statement_timeout", Some("1min")).expect("min");
        assert_eq!(s.get("statement_timeout").as_deref(), Some("1min"));
        assert_eq!(
            s.set("statement_timeout", Some("soon"))
                .expect_err("bad")
                .sqlstate(),
            "22023"
        );
        assert_eq!(
            s.set("nonsense", Some("1"))
                .expect_err("unknown")
                .sqlstate(),
            "42704"
        );
        assert_eq!(
            s.set("server_version", Some("1"))
                .expect_err("fixed")
                .sqlstate(),
            "55P02"
        );
        s.set("myapp.user_id", Some("42")).expect("custom");
        assert_eq!(s.get("MyApp.User_Id").as_deref(), Some("42"));
        s.set("TimeZone", Some("utc")).expect("utc");
        s.set("DateStyle", Some("ISO, DMY")).expect("datestyle");
        let changed = s.take_changed();
        assert_eq!(
            changed,
            vec![
                ("TimeZone".to_string(), "UTC".to_string()),
                ("DateStyle".to_string(), "ISO, DMY".to_string())
            ]
        );
        assert!(s.take_changed().is_empty());
        s.reset_all();
        assert_eq!(s.get("TimeZone").as_deref(), Some("Asia/Shanghai"));
        assert_eq!(version_num("16.6"), "160006");
    }
}
