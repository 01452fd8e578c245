//! The HTTP API over real HTTP: every endpoint, its errors, bearer tokens and roles,
//! Idempotency-Key, /healthz, /metrics and the OpenAPI document.

use crate::common;
use serde_json::{json, Value};
use std::process::Child;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const OPS: &str = "ops-token-0123456789";
const ANA: &str = "ana-token-0123456789";

struct Api {
    child: Child,
    http: u16,
    pg: u16,
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path) -> Api {
    common::generate(&dir.join("data"), 3000, 5);
    spawn(dir)
}

/// `cip serve` with pgwire and HTTP on the data directory under `dir`.
fn spawn(dir: &std::path::Path) -> Api {
    let data = dir.join("data");
    let cfg = dir.join("cip.toml");
    std::fs::write(
        &cfg,
        format!(
            "[scheduler]\nenabled = false\n\n[[users]]\nname = \"ops\"\nrole = \"operator\"\n\
             password = \"ops-secret-1\"\ntoken = \"{OPS}\"\n\n[[users]]\nname = \"ana\"\n\
             role = \"analyst\"\ntoken = \"{ANA}\"\n"
        ),
    )
    .expect("config");
    let (child, http, pg) = common::serve_http(&data, &cfg);
    Api { child, http, pg }
}

/// One HTTP/1.1 request; (status, body).
async fn call(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let body = body.unwrap_or("");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response");
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "chunked response: {head}"
    );
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, body.to_string())
}

async fn json_call(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let text = body.map(|b| b.to_string());
    let (status, out) = call(port, method, path, token, &[], text.as_deref()).await;
    let value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {out}"));
    (status, value)
}

async fn pg(api: &Api) -> tokio_postgres::Client {
    let (c, conn) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user=ops password=ops-secret-1 dbname=cip",
            api.pg
        ),
        tokio_postgres::NoTls,
    )
    .await
    .expect("pg login");
    tokio::spawn(conn);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_over_real_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let api = start(dir.path());
    let p = api.http;
    const C: &str = "/api/ai-ops/customer";

    // Health, metrics and the document need no token.
    let (s, v) = json_call(p, "GET", "/healthz", None, None).await;
    assert_eq!((s, v), (200, json!({"status": "ready"})));
    let (s, doc) = json_call(p, "GET", "/api/openapi.json", None, None).await;
    assert_eq!(s, 200);
    let mut documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .expect("operations")
                .keys()
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let mut routes: Vec<(String, String)> = cip::http::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    documented.sort();
    routes.sort();
    assert_eq!(
        documented, routes,
        "the OpenAPI document lists exactly the routes served"
    );

    // Tokens: none, or a wrong one → 401.
    for (method, path) in [
        ("GET", format!("{C}/segment")),
        ("POST", format!("{C}/tags")),
    ] {
        let (s, v) = json_call(
            p,
            method,
            &path,
            None,
            Some(json!({"memberId": "M00000001"})),
        )
        .await;
        assert_eq!(s, 401, "{path}: {v}");
        let (s, _) = json_call(
            p,
            method,
            &path,
            Some("nope-nope-nope-nope"),
            Some(json!({"memberId": "M00000001"})),
        )
        .await;
        assert_eq!(s, 401);
    }

    // segment
    let (s, v) = json_call(p, "GET", &format!("{C}/segment"), Some(ANA), None).await;
    assert_eq!(s, 200, "{v}");
    let segments = v["segments"].as_array().expect("segments");
    assert_eq!(segments.len(), 6);
    assert!(
        segments
            .iter()
            .all(|s| s["customerCount"].is_number() && s["segmentId"].is_string()),
        "{v}"
    );
    let client = pg(&api).await;
    let active: String = client
        .query_one("SELECT min(member_id) FROM customer_segments", &[])
        .await
        .expect("a member")
        .get(0);
    let (s, v) = json_call(
        p,
        "GET",
        &format!("{C}/segment?memberId={active}"),
        Some(ANA),
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["memberId"], json!(active));
    assert!(v["segmentId"].is_string() && v["reason"].is_string(), "{v}");
    let (s, v) = json_call(
        p,
        "GET",
        &format!("{C}/segment?memberId=nobody"),
        Some(ANA),
        None,
    )
    .await;
    assert_eq!(s, 404, "{v}");
    assert_eq!(v["error"]["status"], json!(404));

    // tags
    let (s, v) = json_call(
        p,
        "POST",
        &format!("{C}/tags"),
        Some(ANA),
        Some(json!({"memberId": active})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(
        v["behaviorTags"].is_array() && v["preferenceTags"].is_array() && v["valueTags"].is_array(),
        "{v}"
    );
    for (bad, want) in [
        (Some("{}"), 400),
        (Some("not json"), 400),
        (Some("[1]"), 400),
        (Some(r#"{"memberId": 5}"#), 400),
        (Some(r#"{"memberId": "nobody"}"#), 404),
    ] {
        let (s, out) = call(p, "POST", &format!("{C}/tags"), Some(ANA), &[], bad).await;
        assert_eq!(s, want, "{bad:?}: {out}");
        let e: Value = serde_json::from_str(&out).expect("a JSON error");
        assert!(e["error"]["message"].is_string(), "{out}");
    }

    // upgrade/evaluate and upgrade/execute
    let eligible: String = client
        .query_one(
            "SELECT min(member_id) FROM upgrade_evaluation WHERE eligible",
            &[],
        )
        .await
        .expect("an eligible member")
        .get(0);
    let (s, v) = json_call(
        p,
        "POST",
        &format!("{C}/upgrade/evaluate"),
        Some(ANA),
        Some(json!({"memberId": eligible})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["eligible"], json!(true));
    for k in ["currentTier", "nextTier", "progress", "missing"] {
        assert!(v.get(k).is_some(), "{k} missing in {v}");
    }
    let (s, v) = json_call(
        p,
        "POST",
        &format!("{C}/upgrade/execute"),
        Some(ANA),
        Some(json!({"memberId": eligible})),
    )
    .await;
    assert_eq!(s, 403, "the analyst may evaluate but not execute: {v}");
    assert_eq!(v["error"]["code"], json!("42501"));
    let body = json!({"memberId": eligible}).to_string();
    let key = [("Idempotency-Key", "retry-1")];
    let (s1, first) = call(
        p,
        "POST",
        &format!("{C}/upgrade/execute"),
        Some(OPS),
        &key,
        Some(&body),
    )
    .await;
    assert_eq!(s1, 200, "{first}");
    let first_v: Value = serde_json::from_str(&first).expect("json");
    assert_eq!(first_v["upgraded"], json!(true), "{first}");
    assert!(
        first_v["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("upgraded from")),
        "{first}"
    );
    let (s2, second) = call(
        p,
        "POST",
        &format!("{C}/upgrade/execute"),
        Some(OPS),
        &key,
        Some(&body),
    )
    .await;
    assert_eq!(
        (s2, &second),
        (200, &first),
        "a retry gets the first answer"
    );
    let rows: i64 = client
        .query_one(
            "SELECT count(*) FROM upgrade_history WHERE member_id = $1",
            &[&eligible],
        )
        .await
        .expect("history")
        .get(0);
    assert_eq!(
        rows as usize,
        first_v["upgrades"].as_array().map_or(0, |a| a.len())
    );
    let (s, out) = call(
        p,
        "POST",
        &format!("{C}/upgrade/execute"),
        Some(OPS),
        &key,
        Some(r#"{"memberId": "other"}"#),
    )
    .await;
    assert_eq!(s, 422, "same key, other request: {out}");
    let (s, v) = json_call(
        p,
        "POST",
        &format!("{C}/upgrade/execute"),
        Some(OPS),
        Some(json!({"memberId": eligible})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["upgraded"], json!(false), "nothing twice: {v}");
    assert!(v["message"].is_string(), "{v}");

    // campaign: proposal, errors, launch once
    let (s, v) = json_call(
        p,
        "POST",
        &format!("{C}/campaign"),
        Some(ANA),
        Some(json!({"segmentId": "potential"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(
        v["expectedROI"].is_number() && v["offer"].is_string() && v["audienceSize"].is_number(),
        "{v}"
    );
    for (bad, want) in [
        (json!({}), 400),
        (json!({"segmentId": "gold"}), 422),
        (json!({"segmentId": "regular", "campaignType": "spam"}), 422),
        (
            json!({"segmentId": "regular", "campaignType": "coupon"}),
            422,
        ),
        (json!({"segmentId": "regular", "launch": "yes"}), 400),
    ] {
        let (s, out) = json_call(
            p,
            "POST",
            &format!("{C}/campaign"),
            Some(OPS),
            Some(bad.clone()),
        )
        .await;
        assert_eq!(s, want, "{bad}: {out}");
    }
    let (s, v) = json_call(
        p,
        "POST",
        &format!("{C}/campaign"),
        Some(ANA),
        Some(json!({"segmentId": "regular", "launch": true})),
    )
    .await;
    assert_eq!(s, 403, "{v}");
    let launch =
        json!({"segmentId": "regular", "campaignType": "discount", "launch": true}).to_string();
    let key = [("Idempotency-Key", "launch-1")];
    let (s1, first) = call(
        p,
        "POST",
        &format!("{C}/campaign"),
        Some(OPS),
        &key,
        Some(&launch),
    )
    .await;
    assert_eq!(s1, 200, "{first}");
    let (s2, second) = call(
        p,
        "POST",
        &format!("{C}/campaign"),
        Some(OPS),
        &key,
        Some(&launch),
    )
    .await;
    assert_eq!((s2, &second), (200, &first));
    let launched: Value = serde_json::from_str(&first).expect("json");
    let campaign = launched["launched"]["campaignId"]
        .as_str()
        .expect("campaignId")
        .to_string();
    assert!(
        launched["launched"]["sent"].as_i64().is_some_and(|n| n > 0),
        "{first}"
    );
    let n: i64 = client
        .query_one(
            "SELECT count(*) FROM campaigns WHERE launched_by = 'ops'",
            &[],
        )
        .await
        .expect("campaigns")
        .get(0);
    assert_eq!(n, 1, "launched once");
    drop(client);

    // performance
    let (s, v) = json_call(
        p,
        "GET",
        &format!("{C}/performance?campaignId={campaign}"),
        Some(ANA),
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    for k in [
        "sent",
        "delivered",
        "opened",
        "clicked",
        "converted",
        "revenue",
        "cost",
        "roi",
        "responseRate",
        "conversionRate",
        "lift",
        "variants",
    ] {
        assert!(v.get(k).is_some(), "{k} missing in {v}");
    }
    assert_eq!(v["sent"], launched["launched"]["sent"]);
    let (s, v) = json_call(
        p,
        "GET",
        &format!("{C}/performance?campaignId=C0001"),
        Some(ANA),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert!(
        v["lift"]["pValue"].is_number() || v["lift"]["pValue"].is_null(),
        "{v}"
    );
    assert!(
        v["variants"].as_array().is_some_and(|a| !a.is_empty()),
        "{v}"
    );
    let (s, _) = json_call(p, "GET", &format!("{C}/performance"), Some(ANA), None).await;
    assert_eq!(s, 400);
    let (s, _) = json_call(
        p,
        "GET",
        &format!("{C}/performance?campaignId=NOPE"),
        Some(ANA),
        None,
    )
    .await;
    assert_eq!(s, 404);

    // Unknown paths and methods are JSON errors too.
    let (s, _) = json_call(p, "GET", "/api/nothing", Some(OPS), None).await;
    assert_eq!(s, 404);
    let (s, _) = json_call(p, "DELETE", &format!("{C}/tags"), Some(OPS), None).await;
    assert_eq!(s, 405);

    // Metrics count what happened.
    let (s, text) = call(p, "GET", "/metrics", None, &[], None).await;
    assert_eq!(s, 200);
    let value = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} missing in {text}"))
    };
    assert!(value("cip_upgrades_total") >= 1);
    assert_eq!(value("cip_campaign_launches_total"), 1);
    assert!(value("cip_tracking_events_total") >= 1);
    assert!(value("cip_http_requests_total") >= 20);
    assert!(value("cip_errors_total") >= 10);
    assert!(value("cip_connections_total") >= 1);
    assert!(value("cip_queries_total") >= 10);

    // Answers to Idempotency-Keys are durable: after a restart the retry still changes nothing.
    drop(api);
    let api = spawn(dir.path());
    let (s3, third) = call(
        api.http,
        "POST",
        &format!("{C}/campaign"),
        Some(OPS),
        &[("Idempotency-Key", "launch-1")],
        Some(&launch),
    )
    .await;
    assert_eq!((s3, &third), (200, &first));
    let n: i64 = pg(&api)
        .await
        .query_one(
            "SELECT count(*) FROM campaigns WHERE launched_by = 'ops'",
            &[],
        )
        .await
        .expect("campaigns")
        .get(0);
    assert_eq!(n, 1, "still launched once");
}
