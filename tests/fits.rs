//! A new business day's model fits are made in the background (issue 20): a client of
//! `cip serve` on today's date, with no fit of today stored but an earlier one, is answered at
//! once with the earlier fit — a NOTICE and the fit_as_of columns say so — while the server
//! fits today's; `SET cip.fit_fallback = off` and a date the session sets fit in the query.

use crate::common;
use crate::pgwire::Server;
use futures::StreamExt;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_postgres::{AsyncMessage, Client, NoTls};

/// A client whose server notices arrive on the returned channel.
async fn connect(server: &Server) -> (Client, UnboundedReceiver<String>) {
    let (client, mut conn) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={} user=cip dbname=cip", server.port),
        NoTls,
    )
    .await
    .expect("connect");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut messages = futures::stream::poll_fn(move |cx| conn.poll_message(cx));
    tokio::spawn(async move {
        while let Some(Ok(m)) = messages.next().await {
            if let AsyncMessage::Notice(n) = m {
                let _ = tx.send(n.message().to_string());
            }
        }
    });
    (client, rx)
}

/// The notices that arrived so far.
fn drained(rx: &mut UnboundedReceiver<String>) -> Vec<String> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

/// The distinct fit_as_of of customer_segments, as text.
async fn segments_fit_days(c: &Client) -> Vec<String> {
    c.query(
        "SELECT DISTINCT CAST(fit_as_of AS TEXT) FROM customer_segments ORDER BY 1",
        &[],
    )
    .await
    .expect("customer_segments")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

async fn fallback(c: &Client) -> String {
    c.query_one("SHOW cip.fit_fallback", &[])
        .await
        .expect("show")
        .get(0)
}

async fn fit_day(c: &Client, model: &str) -> String {
    c.query_one(
        &format!("SELECT CAST(fit_as_of AS TEXT) FROM model_fit('{model}')"),
        &[],
    )
    .await
    .expect("model_fit")
    .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_days_fits_are_made_in_the_background() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    common::generate(&data, 1500, 23);
    // No scheduler: the fits below are made by the queries' background fits alone.
    let cfg = dir.path().join("cip.toml");
    std::fs::write(&cfg, "[scheduler]\nenabled = false\n").expect("config");
    let server = Server::start_with(&data, &["--config", cfg.to_str().expect("path")]);
    let (c, mut notices) = connect(&server).await;
    let today: String = c
        .query_one("SELECT CAST(cip_as_of() AS TEXT)", &[])
        .await
        .expect("as of")
        .get(0);
    let day = chrono::NaiveDate::parse_from_str(&today, "%Y-%m-%d").expect("date");
    let yesterday = (day - chrono::Duration::days(1)).to_string();
    // The server fitted today's at start-up; a session-set date fits in the query, even for a
    // client: yesterday's fits are stored.
    assert_eq!(fit_day(&c, "population").await, today);
    c.batch_execute(&format!("SET cip.as_of = '{yesterday}'"))
        .await
        .expect("set as_of");
    assert_eq!(fit_day(&c, "population").await, yesterday);
    assert!(drained(&mut notices).is_empty());
    c.batch_execute("RESET cip.as_of; DELETE FROM model_fits WHERE as_of = cip_as_of()")
        .await
        .expect("forget today's fits");

    // As on a new business day: answered with yesterday's fits at once, and told so.
    assert_eq!(segments_fit_days(&c).await, vec![yesterday.clone()]);
    let said = drained(&mut notices);
    assert!(
        said.iter()
            .any(|n| n.contains("being made in the background")
                && n.contains(&today)
                && n.contains(&yesterday)),
        "{said:?}"
    );
    let members: i64 = c
        .query_one("SELECT count(*) FROM customer_segments", &[])
        .await
        .expect("count")
        .get(0);
    assert!(members > 1000, "{members}");

    // Today's fits land without anyone waiting for them; then the answers use them.
    let started = std::time::Instant::now();
    while fit_day(&c, "population").await != today {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(300),
            "today's fit was not made in the background within five minutes"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let stored: i64 = c
        .query_one(
            "SELECT count(*) FROM model_fits WHERE as_of = cip_as_of() \
             AND model IN ('mbgnbd', 'pnbd', 'gamma_gamma', 'population')",
            &[],
        )
        .await
        .expect("fits")
        .get(0);
    assert_eq!(stored, 4);
    drained(&mut notices);
    assert_eq!(segments_fit_days(&c).await, vec![today.clone()]);
    assert!(drained(&mut notices).is_empty());

    // A client that would rather wait: the query fits, in PostgreSQL's spelling of off.
    c.batch_execute("SET cip.fit_fallback = off; DELETE FROM model_fits WHERE as_of = cip_as_of()")
        .await
        .expect("wait for fits");
    assert_eq!(segments_fit_days(&c).await, vec![today.clone()]);
    assert!(drained(&mut notices).is_empty());
    assert_eq!(fallback(&c).await, "false");
    // RESET gives a client its default back.
    c.batch_execute("RESET cip.fit_fallback")
        .await
        .expect("reset");
    assert_eq!(fallback(&c).await, "true");
}
