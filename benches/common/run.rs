//! What several benches do the same way: read a size from the environment, run a Python
//! script (the comparisons: DuckDB, lifetimes), run the cip binary on a chain.
// Each bench includes this file and uses part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// The environment variable `name` as a number, else `default`.
pub fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What `script` printed; the bench stops with Python's error when it failed.
pub fn python(script: &str) -> String {
    succeeded(Command::new("python3").arg("-c").arg(script), "python")
}

/// `cip --data DATA ARGS…`; the bench stops with cip's error when it failed.
pub fn cip(data: &Path, args: &[&str]) {
    let what = format!("cip {args:?}");
    succeeded(
        Command::new(env!("CARGO_BIN_EXE_cip"))
            .arg("--data")
            .arg(data)
            .args(args),
        &what,
    );
}

/// What `command` printed, once it exited successfully; else the bench stops with its error.
fn succeeded(command: &mut Command, what: &str) -> String {
    let out = command.output().expect(what);
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
