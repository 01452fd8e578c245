//! TLS on the PostgreSQL port (rustls, PEM paths in `[server]`), checked with libpq (psql):
//! a certificate verified against its CA with sslmode=verify-full, SCRAM over TLS, plain
//! connections refused with 28000 when `tls_required`, and clear start-up errors for bad
//! TLS settings. The certificate is made per test with the openssl command.

use crate::common;
use crate::pgwire::Server;
use std::path::Path;
use std::process::Command;

/// A self-signed certificate for 127.0.0.1 and its key, written into `dir`.
fn make_certificate(dir: &Path) -> (String, String) {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is installed");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let s = |p: &Path| p.to_str().expect("utf-8 path").to_string();
    (s(&cert), s(&key))
}

fn psql(conninfo: &str, sql: &str) -> (bool, String) {
    let o = Command::new("psql")
        .args([conninfo, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .env("PGPASSWORD", "tls-test-password")
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .expect("psql is installed");
    let text = format!("{}{}", common::stdout(&o), common::stderr(&o));
    (o.status.success(), text)
}

fn write_config(dir: &Path, body: &str) -> String {
    let path = dir.join("cip.toml");
    std::fs::write(&path, body).expect("write config");
    path.to_str().expect("utf-8 path").to_string()
}

#[test]
fn tls_with_a_verified_certificate_and_scram_and_plain_refused_when_required() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = make_certificate(dir.path());
    let cfg = write_config(
        dir.path(),
        &format!(
            "[server]\ntls_cert = \"{cert}\"\ntls_key = \"{key}\"\ntls_required = true\n\n\
             [[users]]\nname = \"ops\"\nrole = \"operator\"\npassword = \"tls-test-password\"\n"
        ),
    );
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &["--config", &cfg]);
    let base = format!("host=127.0.0.1 port={} user=ops dbname=cip", server.port);

    // libpq checks the chain and the host name against our CA, then logs in with SCRAM.
    let (ok, out) = psql(
        &format!("{base} sslmode=verify-full sslrootcert={cert}"),
        "SELECT count(*) FROM members",
    );
    assert!(ok && out.trim() == "0", "{out}");
    let (ok, out) = psql(&format!("{base} sslmode=require"), "\\conninfo");
    assert!(ok && out.contains("SSL connection"), "{out}");

    // Plain text is refused before any password is asked.
    let (ok, out) = psql(&format!("{base} sslmode=disable"), "SELECT 1");
    assert!(!ok && out.contains("only TLS connections"), "{out}");
    // A wrong password over TLS is still refused.
    let (ok, _) = psql(
        &format!("{base} sslmode=require password=wrong-password"),
        "SELECT 1",
    );
    assert!(!ok, "a wrong password must not log in");
}

#[test]
fn tls_is_offered_not_forced_unless_required() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = make_certificate(dir.path());
    let cfg = write_config(
        dir.path(),
        &format!("[server]\ntls_cert = \"{cert}\"\ntls_key = \"{key}\"\n"),
    );
    let server = Server::start_with(&dir.path().join("data"), &["--config", &cfg]);
    let base = format!("host=127.0.0.1 port={} user=cip dbname=cip", server.port);
    let (ok, out) = psql(&format!("{base} sslmode=require"), "\\conninfo");
    assert!(ok && out.contains("SSL connection"), "{out}");
    let (ok, out) = psql(&format!("{base} sslmode=disable"), "\\conninfo");
    assert!(ok && !out.contains("SSL connection"), "{out}");
    // pg_stat_ssl tells each session whether its own connection is encrypted.
    let own = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    let (ok, out) = psql(&format!("{base} sslmode=require"), own);
    assert!(ok && out.trim() == "t", "{out}");
    let (ok, out) = psql(&format!("{base} sslmode=disable"), own);
    assert!(ok && out.trim() == "f", "{out}");
}

#[test]
fn bad_tls_settings_stop_the_server_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = make_certificate(dir.path());
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").expect("write");
    let not_pem = not_pem.to_str().expect("path").to_string();
    for (body, expected) in [
        (format!("[server]\ntls_cert = \"{cert}\"\n"), "go together"),
        (
            "[server]\ntls_required = true\n".to_string(),
            "tls_required needs",
        ),
        (
            format!("[server]\ntls_cert = \"{not_pem}\"\ntls_key = \"{key}\"\n"),
            "no certificate",
        ),
        (
            format!("[server]\ntls_cert = \"{cert}\"\ntls_key = \"{not_pem}\"\n"),
            "not a PEM private key",
        ),
    ] {
        let cfg = write_config(dir.path(), &body);
        let out = Command::new(common::cip_bin())
            .args(["--config", &cfg, "--data"])
            .arg(dir.path().join("data"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("CIP_LOG", "warn")
            .output()
            .expect("run cip serve");
        let err = common::stderr(&out);
        assert!(
            !out.status.success() && err.contains(expected),
            "{body}: {err}"
        );
    }
}
