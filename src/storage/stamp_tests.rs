//! A reader that trusts a settled manifest's stamp still sees every later commit, whether
//! it is this object's or another process's on the same directory.

use super::tests::{id_and_n, number, numbers_table};
use super::*;

fn rows(table: &Table) -> u64 {
    table.snapshot().expect("snapshot").rows()
}

#[test]
fn a_settled_manifest_is_not_read_again_yet_every_commit_is_seen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = id_and_n();
    let opts = StoreOptions {
        flush_rows: 2,
        ..StoreOptions::default()
    };
    // Two stores on one directory stand for two processes: neither sees the other's cache.
    let reader = Store::open(
        dir.path(),
        opts.clone(),
        vec![numbers_table(&schema, false)],
    )
    .expect("open");
    let writer = Store::open(dir.path(), opts, vec![numbers_table(&schema, false)]).expect("open");
    let (r, w) = (
        reader.table("numbers").expect("table"),
        writer.table("numbers").expect("table"),
    );
    w.append(&[number(&schema, 1)]).expect("append");
    w.append(&[number(&schema, 2)]).expect("append");
    assert_eq!(rows(&r), 2);
    assert!(
        r.snapshot().expect("snapshot").stamp.is_none(),
        "a new manifest is not trusted"
    );
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let settled = r.snapshot().expect("snapshot");
    assert!(settled.stamp.is_some());
    // Unchanged: the very snapshot cached, not one read again.
    assert!(Arc::ptr_eq(&settled, &r.snapshot().expect("snapshot")));
    // The other process appends to the log, then its flush commits a new manifest.
    w.append(&[number(&schema, 3)]).expect("append");
    assert_eq!(rows(&r), 3);
    w.append(&[number(&schema, 4)]).expect("append");
    assert_eq!(rows(&r), 4);
    w.rewrite(None, &[number(&schema, 9)]).expect("rewrite");
    assert_eq!(rows(&r), 5);
    // Two quick commits in a row are both seen.
    w.rewrite(None, &[number(&schema, 7), number(&schema, 8)])
        .expect("rewrite");
    w.rewrite(None, &[number(&schema, 6)]).expect("rewrite");
    let snap = r.snapshot().expect("snapshot");
    assert_eq!(snap.rows(), 8);
    assert_eq!(snap.manifest, manifest::read(&r.dir).expect("manifest"));
}
