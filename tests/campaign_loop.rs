//! The campaign loop end to end, through the front doors: launch over pgwire, delivery to a
//! local SMS gateway that fails a fifth of its calls (500) and sometimes answers too late,
//! receipts and a click over HTTP, a visit becoming exactly one conversion, the figures in
//! campaign_performance — and SIGKILL of the server mid-dispatch, 20 times, losing no message
//! and getting none accepted twice.

use crate::common;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use std::collections::HashMap;
use std::path::Path;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "gateway-secret-0123456789";
const OPS: &str = "ops-token-0123456789";

/// What the gateway saw.
#[derive(Default)]
struct Seen {
    calls: usize,
    failed: usize,
    /// messageId → its body, when first accepted (the gateway delivers it then, once).
    accepted: HashMap<String, serde_json::Value>,
    /// Calls for a message already accepted (answered 200, not delivered again).
    repeats: usize,
    /// Calls accepted but answered after the client's timeout.
    late: usize,
    bad_signatures: usize,
    key_mismatches: usize,
}

type Gateway = Arc<Mutex<Seen>>;

/// An SMS gateway honouring Idempotency-Key: a retry of an accepted message is answered 200
/// and not sent again. One call in five fails with 500; one in twenty is accepted but
/// answered after the client's 1 s timeout.
async fn gateway_call(State(g): State<Gateway>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET.as_bytes());
    let sig = headers
        .get("x-cip-signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
        .map(str::to_string)
        .unwrap_or_default();
    let expected: String = ring::hmac::sign(&key, &body)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let id = value["messageId"].as_str().unwrap_or("").to_string();
    let idem = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let roll: f64 = rand::random();
    let late = {
        let mut s = g.lock().unwrap();
        s.calls += 1;
        if sig != expected {
            s.bad_signatures += 1;
            return StatusCode::UNAUTHORIZED;
        }
        if idem != id {
            s.key_mismatches += 1;
        }
        if roll < 0.2 {
            s.failed += 1;
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
        match s.accepted.entry(idem) {
            std::collections::hash_map::Entry::Occupied(_) => s.repeats += 1,
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(value.clone());
            }
        }
        let late = roll > 0.95;
        if late {
            s.late += 1;
        }
        late
    };
    if late {
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    StatusCode::OK
}

async fn start_gateway() -> (Gateway, u16) {
    let g: Gateway = Arc::default();
    let app = axum::Router::new()
        .route("/send", axum::routing::post(gateway_call))
        .with_state(g.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("gateway listen");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (g, port)
}

struct Cip {
    child: Child,
    http: u16,
    pg: u16,
}

impl Drop for Cip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cip serve` on `data` delivering to the gateway on `port`.
fn serve(dir: &Path, port: u16, quiet_hours: &str, rate: u32, cap: u32) -> Cip {
    let cfg = dir.join("cip.toml");
    std::fs::write(
        &cfg,
        format!(
            "[scheduler]\njobs = [{{ name = \"conversions\", statement = \"SELECT * FROM attribute_conversions()\", every = \"1m\" }}]\n\n\
             [campaigns]\nchannel = \"sms\"\ncontrol_share = 0.2\ncap_messages = {cap}\n\n\
             [channels.sms]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{port}/send\"\n\
             secret = \"{SECRET}\"\nrate_per_second = {rate}\nmax_attempts = 12\n\
             quiet_hours = \"{quiet_hours}\"\ntimeout = \"1s\"\n\n\
             [[users]]\nname = \"ops\"\nrole = \"operator\"\npassword = \"ops-secret-1\"\ntoken = \"{OPS}\"\n"
        ),
    )
    .expect("config");
    let (child, http, pg) = common::serve_http(&dir.join("data"), &cfg);
    Cip { child, http, pg }
}

async fn pg(c: &Cip) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user=ops password=ops-secret-1 dbname=cip",
            c.pg
        ),
        tokio_postgres::NoTls,
    )
    .await
    .expect("pg login");
    tokio::spawn(conn);
    client
}

async fn count(db: &tokio_postgres::Client, sql: &str) -> i64 {
    db.query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

/// How long the slowest message can take to reach 'sent' or 'dead' with `max_attempts = 12`:
/// the waits between attempts (backoff: 1 s doubling to 30 s, so 1+2+4+8+16+30×6 = 211 s at
/// most) and each attempt's 1 s timeout, plus margin. A quarter of calls fail (500 or too
/// late), so a message failing six or seven times running — 120 s of backoff — happens in a
/// few percent of runs of a few hundred messages; a tighter bound made the test flaky.
const RETRY_SCHEDULE: Duration = Duration::from_secs(211 + 12 + 60);

/// Waits until no message is queued, sending or failed (all sent or dead).
async fn drained(db: &tokio_postgres::Client, within: Duration) {
    let start = Instant::now();
    loop {
        let open = count(
            db,
            "SELECT count(*) FROM campaign_messages WHERE status IN ('queued', 'sending', 'failed')",
        )
        .await;
        if open == 0 {
            return;
        }
        assert!(
            start.elapsed() < within,
            "{open} messages still open after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Every message sent exactly once: delivered by the gateway (which honours its key), one
/// 'sent' step, one 'sent' tracking row; none dead, none delivered that is not a message.
async fn exactly_once(db: &tokio_postgres::Client, g: &Gateway) -> usize {
    let rows = db
        .query(
            "SELECT message_id, status, coalesce(last_error, '') FROM campaign_messages",
            &[],
        )
        .await
        .expect("messages");
    {
        let seen = g.lock().unwrap();
        assert_eq!(seen.bad_signatures, 0, "every call is signed");
        assert_eq!(seen.key_mismatches, 0, "Idempotency-Key is the messageId");
        for r in &rows {
            let (id, status, error): (String, String, String) = (r.get(0), r.get(1), r.get(2));
            assert_eq!(status, "sent", "{id}: {error}");
            assert!(seen.accepted.contains_key(&id), "{id} delivered");
        }
        assert_eq!(
            seen.accepted.len(),
            rows.len(),
            "nothing delivered that is not a message"
        );
    }
    let doubles = count(
        db,
        "SELECT count(*) FROM (SELECT campaign_id, member_id FROM campaign_tracking \
         WHERE status = 'sent' GROUP BY 1, 2 HAVING count(*) > 1) d",
    )
    .await;
    assert_eq!(doubles, 0, "one 'sent' tracking row per message");
    let sent_steps = count(
        db,
        "SELECT count(*) FROM message_attempts WHERE status = 'sent'",
    )
    .await;
    assert_eq!(
        sent_steps as usize,
        rows.len(),
        "one 'sent' step per message"
    );
    rows.len()
}

async fn launch(db: &tokio_postgres::Client, segment: &str, kind: &str) -> (String, i64) {
    let r = db
        .query_one(
            "SELECT campaign_id, queued FROM launch_campaign($1, $2)",
            &[&segment, &kind],
        )
        .await
        .expect("launch");
    (r.get(0), r.get(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_is_delivered_tracked_and_converted() {
    let dir = tempfile::tempdir().expect("tempdir");
    common::generate(&dir.path().join("data"), 2000, 11);
    let (g, port) = start_gateway().await;
    let cip = serve(dir.path(), port, "off", 400, 1);
    let db = pg(&cip).await;
    let started = Instant::now();
    let (campaign, queued) = launch(&db, "regular", "discount").await;
    assert!(queued > 50, "{queued} messages queued");
    drained(&db, RETRY_SCHEDULE).await;
    let sent = exactly_once(&db, &g).await;
    eprintln!(
        "{sent} messages through a gateway failing 20% of calls in {:.1?} ({} calls)",
        started.elapsed(),
        g.lock().unwrap().calls
    );
    assert_eq!(sent as i64, queued);
    {
        // Without crashes, a message is offered again after acceptance only when the answer
        // came too late (the gateway's key keeps it single).
        let seen = g.lock().unwrap();
        assert!(
            seen.repeats <= seen.late,
            "{} repeats, {} late",
            seen.repeats,
            seen.late
        );
    }

    // Who got one: exactly the consenting treatment members; nobody in the holdout.
    let expected = count(
        &db,
        &format!(
            "SELECT count(*) FROM campaign_audience a JOIN members m ON m.member_id = a.member_id \
             WHERE a.campaign_id = '{campaign}' AND a.arm = 'treatment' AND m.marketing_consent"
        ),
    )
    .await;
    assert_eq!(sent as i64, expected);
    let holdout_messaged = count(
        &db,
        &format!(
            "SELECT count(*) FROM campaign_messages x JOIN campaign_audience a \
             ON a.campaign_id = x.campaign_id AND a.member_id = x.member_id \
             WHERE a.arm = 'holdout' OR x.campaign_id <> '{campaign}'"
        ),
    )
    .await;
    assert_eq!(holdout_messaged, 0);

    // Personal: a wine lover's message is about wine, a beer lover's about beer.
    for (tag, category, word) in [
        ("wine_lover", "wine", "红酒洋酒"),
        ("beer_lover", "beer", "啤酒"),
    ] {
        let rows = db
            .query(
                "SELECT x.offer_category, x.content FROM campaign_messages x \
                 JOIN member_scores s ON s.member_id = x.member_id \
                 WHERE array_length(s.preference_tags, 1) = 1 AND s.preference_tags[1] = $1",
                &[&tag],
            )
            .await
            .expect("personal messages");
        assert!(!rows.is_empty(), "some {tag} got a message");
        for r in &rows {
            let (c, text): (Option<String>, String) = (r.get(0), r.get(1));
            assert_eq!(c.as_deref(), Some(category), "{text}");
            assert!(text.contains(word) && text.contains("/t/"), "{text}");
        }
    }
    // The cap (1 message a week): the next launch to the segment reaches only members the
    // first did not message (its holdout, now drawn into the treatment), nobody twice.
    let (_, again) = launch(&db, "regular", "discount").await;
    assert!(again > 0);
    let twice = count(
        &db,
        "SELECT count(*) FROM (SELECT member_id FROM campaign_messages GROUP BY member_id \
         HAVING count(*) > 1) t",
    )
    .await;
    assert_eq!(twice, 0, "capped");

    // Receipts signed by the gateway; a repeat is a duplicate.
    let http = reqwest::Client::new();
    let ids: Vec<String> = db
        .query(
            &format!("SELECT message_id FROM campaign_messages WHERE campaign_id = '{campaign}' ORDER BY message_id LIMIT 3"),
            &[],
        )
        .await
        .expect("ids")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let receipts = serde_json::json!([
        {"messageId": ids[0], "status": "delivered"},
        {"messageId": ids[1], "status": "delivered"},
        {"messageId": ids[0], "status": "delivered"},
        {"messageId": ids[0], "status": "opened", "at": "2026-12-01T21:00:00+08:00"}
    ])
    .to_string();
    let signed = |body: &str| {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET.as_bytes());
        let tag: String = ring::hmac::sign(&key, body.as_bytes())
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha256={tag}")
    };
    let url = format!("http://127.0.0.1:{}/api/ai-ops/customer/track", cip.http);
    let r = http
        .post(&url)
        .header("X-Cip-Signature", signed(&receipts))
        .header("Content-Type", "application/json")
        .body(receipts.clone())
        .send()
        .await
        .expect("track");
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = serde_json::from_str(&r.text().await.expect("body")).expect("json");
    assert_eq!(
        (v["recorded"].as_u64(), v["duplicates"].as_u64()),
        (Some(3), Some(1)),
        "{v}"
    );
    let forged = http
        .post(&url)
        .header("X-Cip-Signature", signed("something else"))
        .body(receipts)
        .send()
        .await
        .expect("forged");
    assert_eq!(forged.status(), 401);
    for (body, status) in [
        (r#"{"messageId": "nope", "status": "bounced"}"#, 422),
        (r#"{"messageId": "nope", "status": "opened"}"#, 404),
    ] {
        let r = http
            .post(&url)
            .bearer_auth(OPS)
            .body(body)
            .send()
            .await
            .expect("track");
        assert_eq!(r.status(), status, "{body}");
    }

    // A click: 302 to the landing page, recorded once however often clicked.
    let token: String = db
        .query_one(
            &format!(
                "SELECT tracking_token FROM campaign_messages WHERE message_id = '{}'",
                ids[2]
            ),
            &[],
        )
        .await
        .expect("token")
        .get(0);
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for _ in 0..2 {
        let r = no_redirects
            .get(format!("http://127.0.0.1:{}/t/{token}", cip.http))
            .send()
            .await
            .expect("click");
        assert_eq!(r.status(), 302);
        let to = r.headers()["location"]
            .to_str()
            .expect("location")
            .to_string();
        assert!(to.ends_with(&format!("/t/{token}/offer")), "{to}");
        let page = http.get(&to).send().await.expect("page");
        assert_eq!(page.status(), 200);
        assert!(page.text().await.expect("html").contains("会员专享"));
    }
    // The campaign's own landing page, once set, is where the link leads.
    db.execute(
        &format!(
            "UPDATE campaigns SET landing_url = 'https://example.com/offers' WHERE campaign_id = '{campaign}'"
        ),
        &[],
    )
    .await
    .expect("landing_url");
    let r = no_redirects
        .get(format!("http://127.0.0.1:{}/t/{token}", cip.http))
        .send()
        .await
        .expect("click");
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "https://example.com/offers");
    let missing = no_redirects
        .get(format!(
            "http://127.0.0.1:{}/t/{}",
            cip.http,
            "0".repeat(32)
        ))
        .send()
        .await
        .expect("unknown link");
    assert_eq!(missing.status(), 404);

    // A visit after the message is one conversion, within moments; a second visit adds none;
    // a holdout member's visit adds none.
    let member: String = db
        .query_one(
            &format!(
                "SELECT member_id FROM campaign_messages WHERE message_id = '{}'",
                ids[1]
            ),
            &[],
        )
        .await
        .expect("member")
        .get(0);
    let holdout: String = db
        .query_one(
            &format!("SELECT member_id FROM campaign_audience WHERE campaign_id = '{campaign}' AND arm = 'holdout' LIMIT 1"),
            &[],
        )
        .await
        .expect("holdout member")
        .get(0);
    let visited = Instant::now();
    for (i, who) in [&member, &member, &holdout].iter().enumerate() {
        db.execute(
            "INSERT INTO visits (visit_id, member_id, store_id, started_at, amount) \
             VALUES ($1, $2, 'S01', now(), 420.00)",
            &[&format!("LOOP-{i}"), who],
        )
        .await
        .expect("visit");
    }
    let conversions = format!(
        "SELECT count(*) FROM campaign_tracking WHERE campaign_id = '{campaign}' AND status = 'converted'"
    );
    while count(&db, &conversions).await == 0 {
        assert!(visited.elapsed() < Duration::from_secs(20), "no conversion");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("visit to conversion row: {:.0?}", visited.elapsed());
    let _ = db
        .query("SELECT * FROM attribute_conversions()", &[])
        .await
        .expect("rerun");
    assert_eq!(count(&db, &conversions).await, 1, "one conversion");
    let perf = db
        .query_one(
            &format!(
                "SELECT delivered, opened, clicked, converted, CAST(revenue AS VARCHAR), \
                 incremental_roi IS NOT NULL FROM campaign_performance \
                 WHERE campaign_id = '{campaign}' AND variant = 'all'"
            ),
            &[],
        )
        .await
        .expect("performance");
    assert_eq!(
        (
            perf.get::<_, i64>(0),
            perf.get::<_, i64>(1),
            perf.get::<_, i64>(2),
            perf.get::<_, i64>(3)
        ),
        (2, 1, 1, 1)
    );
    assert_eq!(perf.get::<_, String>(4), "420.00");
    assert!(
        perf.get::<_, bool>(5),
        "incremental ROI measured against the holdout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_dispatch_loses_nothing_and_sends_nothing_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    common::generate(&dir.path().join("data"), 2000, 12);
    let (g, port) = start_gateway().await;

    // Quiet hours around now: nothing leaves.
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
    let from = (now - chrono::Duration::hours(1)).format("%H:%M");
    let to = (now + chrono::Duration::hours(1)).format("%H:%M");
    let quiet = serve(dir.path(), port, &format!("{from}-{to}"), 150, 100);
    let db = pg(&quiet).await;
    let (_, queued) = launch(&db, "regular", "discount").await;
    assert!(queued > 50);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(g.lock().unwrap().calls, 0, "quiet hours hold every message");
    let still = count(
        &db,
        "SELECT count(*) FROM campaign_messages WHERE status = 'queued'",
    )
    .await;
    assert_eq!(still, queued);
    drop(db);
    drop(quiet);

    let mut kills = 0;
    let mut campaigns = 1;
    while kills < 20 {
        let cip = serve(dir.path(), port, "off", 150, 100);
        let db = pg(&cip).await;
        let open = "SELECT count(*) FROM campaign_messages WHERE status IN ('queued', 'sending', 'failed')";
        if count(&db, open).await == 0 {
            launch(&db, "loyal", "points_multiplier").await;
            campaigns += 1;
        }
        // Kill it while it sends: after the gateway has taken a few more messages.
        let before = g.lock().unwrap().calls;
        let wait = Instant::now();
        let target = before + 5 + (rand::random::<u32>() % 40) as usize;
        while g.lock().unwrap().calls < target && wait.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut cip = cip;
        unsafe {
            libc::kill(cip.child.id() as i32, libc::SIGKILL);
        }
        let _ = cip.child.wait();
        kills += 1;
    }
    let cip = serve(dir.path(), port, "off", 1000, 100);
    let db = pg(&cip).await;
    drained(&db, RETRY_SCHEDULE).await;
    let sent = exactly_once(&db, &g).await;
    let seen = g.lock().unwrap();
    eprintln!(
        "{kills} SIGKILLs mid-dispatch over {campaigns} campaigns: {sent} messages, each delivered once \
         ({} calls, {} failed with 500, {} answered late, {} offered again after acceptance)",
        seen.calls, seen.failed, seen.late, seen.repeats
    );
}
