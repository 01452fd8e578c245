//! The two servers of the wire bench: `cip serve` on generated data, and a throwaway
//! PostgreSQL 15 cluster (initdb into a temporary folder, run as the `postgres` user when
//! the bench runs as root, since PostgreSQL refuses root).

use futures::{SinkExt, StreamExt};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_postgres::Client;

fn cip_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cip"))
}

pub fn postgres_bin() -> Option<PathBuf> {
    let dir = PathBuf::from("/usr/lib/postgresql/15/bin");
    dir.join("postgres").exists().then_some(dir)
}

/// A temporary folder others (the postgres user) may enter.
pub fn shared_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    set_mode(dir.path(), 0o755);
    dir
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

pub fn generate(out: &Path, members: u32) {
    let status = Command::new(cip_bin())
        .args(["generate", "--members", &members.to_string(), "--seed", "7"])
        .args(["--until", "2026-10-31", "--out"])
        .arg(out)
        .env("CIP_LOG", "warn")
        .status()
        .expect("run cip generate");
    assert!(status.success(), "cip generate failed");
}

pub struct Cip {
    child: Child,
    pub port: u16,
}

impl Cip {
    pub fn serve(data: &Path) -> Cip {
        let mut child = Command::new(cip_bin())
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("CIP_LOG", "warn")
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn cip serve");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let port = loop {
            let line = lines.next().expect("cip serve exited").expect("stderr");
            if let Some(addr) = line.strip_prefix("listening: postgresql://") {
                break addr.rsplit(':').next().and_then(|p| p.parse().ok());
            }
        }
        .expect("port");
        std::thread::spawn(move || for _ in lines {});
        Cip { child, port }
    }

    /// The server's process, whose memory the soak bench samples.
    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Cip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    pub port: u16,
}

fn as_postgres_user(program: &Path) -> Command {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

impl Postgres {
    pub fn start(bin: &Path, data: &Path) -> Postgres {
        std::fs::create_dir_all(data).expect("pg dir");
        set_mode(data, 0o700);
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            let ok = Command::new("chown")
                .arg("postgres:postgres")
                .arg(data)
                .status()
                .expect("chown");
            assert!(ok.success(), "chown postgres {}", data.display());
        }
        let ok = as_postgres_user(&bin.join("initdb"))
            .arg("-D")
            .arg(data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
            .stdout(Stdio::null())
            .status()
            .expect("initdb");
        assert!(ok.success(), "initdb failed");
        let port = free_port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c shared_buffers=1GB",
            data.display()
        );
        let ok = as_postgres_user(&bin.join("pg_ctl"))
            .arg("-D")
            .arg(data)
            .args(["-o", &options, "-l"])
            .arg(data.join("server.log"))
            .args(["-w", "start"])
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl start");
        assert!(ok.success(), "PostgreSQL did not start");
        Postgres {
            bin: bin.to_path_buf(),
            data: data.to_path_buf(),
            port,
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = as_postgres_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .status();
    }
}

pub async fn connect(port: u16, user: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user={user} dbname={user}"),
        tokio_postgres::NoTls,
    )
    .await
    .expect("connect");
    tokio::spawn(connection);
    client
}

/// A PostgreSQL table with `relation`'s columns, types and rows, read from cip; its row count.
pub async fn mirror(cip: &Client, pg: &Client, relation: &str) -> usize {
    let query = format!("SELECT * FROM {relation}");
    create_like(cip, pg, relation, &query).await;
    let csv = export_csv(cip, &query).await;
    copy_in(pg, relation, &csv).await;
    pg.batch_execute(&format!("VACUUM ANALYZE {relation}"))
        .await
        .expect("vacuum");
    csv.iter().filter(|b| **b == b'\n').count() - 1
}

/// Creates (afresh) a PostgreSQL table named `name` with the columns `query` has on cip.
pub async fn create_like(cip: &Client, pg: &Client, name: &str, query: &str) {
    let statement = cip.prepare(query).await.expect("describe");
    let columns: Vec<String> = statement
        .columns()
        .iter()
        .map(|c| format!("\"{}\" {}", c.name(), c.type_().name()))
        .collect();
    pg.batch_execute(&format!(
        "DROP TABLE IF EXISTS {name}; CREATE TABLE {name} ({})",
        columns.join(", ")
    ))
    .await
    .expect("create table");
}

pub async fn export_csv(cip: &Client, query: &str) -> Vec<u8> {
    let out = cip
        .copy_out(&format!(
            "COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)"
        ))
        .await
        .expect("copy out");
    futures::pin_mut!(out);
    let mut csv = Vec::new();
    while let Some(chunk) = out.next().await {
        csv.extend_from_slice(&chunk.expect("chunk"));
    }
    csv
}

/// Empties `table` and loads `csv` into it with COPY FROM STDIN; the time the COPY took.
pub async fn copy_in(client: &Client, table: &str, csv: &[u8]) -> Duration {
    client
        .batch_execute(&format!("TRUNCATE {table}"))
        .await
        .expect("truncate");
    let t = Instant::now();
    let sink = client
        .copy_in::<_, bytes::Bytes>(&format!(
            "COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)"
        ))
        .await
        .expect("copy in");
    futures::pin_mut!(sink);
    for chunk in csv.chunks(64 * 1024) {
        sink.send(bytes::Bytes::copy_from_slice(chunk))
            .await
            .expect("send");
    }
    sink.finish().await.expect("finish");
    t.elapsed()
}
