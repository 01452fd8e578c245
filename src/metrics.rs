//! Process-wide counters, exposed in Prometheus text format at `GET /metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

pub struct Counter {
    pub name: &'static str,
    pub help: &'static str,
    value: AtomicU64,
}

impl Counter {
    const fn new(name: &'static str, help: &'static str) -> Self {
        Counter {
            name,
            help,
            value: AtomicU64::new(0),
        }
    }

    pub fn add(&self, n: u64) {
        self.value.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }
}

pub static QUERIES: Counter =
    Counter::new("cip_queries_total", "Statements run (pgwire and HTTP).");
pub static ERRORS: Counter =
    Counter::new("cip_errors_total", "Statements and requests that failed.");
pub static CONNECTIONS: Counter =
    Counter::new("cip_connections_total", "PostgreSQL connections accepted.");
pub static HTTP_REQUESTS: Counter = Counter::new("cip_http_requests_total", "HTTP API requests.");
pub static UPGRADES: Counter = Counter::new("cip_upgrades_total", "Tier upgrades written.");
pub static LAUNCHES: Counter = Counter::new("cip_campaign_launches_total", "Campaigns launched.");
pub static EVENTS: Counter = Counter::new(
    "cip_tracking_events_total",
    "Campaign tracking events ingested.",
);

pub static MESSAGES_SENT: Counter = Counter::new(
    "cip_messages_sent_total",
    "Campaign messages a delivery gateway accepted.",
);

pub static KEY_READS: Counter = Counter::new(
    "cip_key_reads_total",
    "Queries for one key answered by a read of that key instead of a planned scan.",
);

const ALL: [&Counter; 9] = [
    &QUERIES,
    &ERRORS,
    &CONNECTIONS,
    &HTTP_REQUESTS,
    &UPGRADES,
    &LAUNCHES,
    &EVENTS,
    &MESSAGES_SENT,
    &KEY_READS,
];

/// Every counter in Prometheus' text exposition format.
pub fn render() -> String {
    let mut out = String::new();
    for c in ALL {
        out.push_str(&format!(
            "# HELP {} {}\n# TYPE {} counter\n{} {}\n",
            c.name,
            c.help,
            c.name,
            c.name,
            c.get()
        ));
    }
    out
}
