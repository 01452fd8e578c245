//! Embeds queries/*.sql into the binary, so `cip` works from any folder; a queries/ folder
//! next to where it runs (or `queries_dir` in the config) takes precedence.

use std::fmt::Write;

fn main() {
    println!("cargo:rerun-if-changed=queries");
    let mut files: Vec<_> = std::fs::read_dir("queries")
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "sql"));
    files.sort();
    let mut out = String::from("pub static EMBEDDED_VIEWS: &[(&str, &str)] = &[\n");
    for p in files {
        // The text itself, not include_str! of an absolute path: a target directory shared
        // by several checkouts must not point one checkout's build at another's files.
        let sql = std::fs::read_to_string(&p).expect("read a view file");
        let name = p
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        writeln!(out, "    ({name:?}, {sql:?}),").expect("write to string");
    }
    out.push_str("];\n");
    let dest =
        std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("embedded_views.rs");
    std::fs::write(dest, out).expect("write embedded_views.rs");
}
