//! A Replacement: rows streamed into a staged part replace the table in one commit; dropped
//! uncommitted, the table is as it was and no file of it is left.

use super::tests::{files_in, id_and_n, number, numbers_table, rows_of};
use super::*;

/// The table's n values, ascending.
fn ns(table: &Arc<Table>) -> Vec<i64> {
    let mut out: Vec<i64> = rows_of(table, None).into_iter().map(|(_, n)| n).collect();
    out.sort();
    out
}

/// The store of one unique `numbers` table in `dir`.
fn open(dir: &std::path::Path) -> Store {
    let def = numbers_table(&id_and_n(), true);
    Store::open(dir, StoreOptions::default(), vec![def]).expect("open")
}

#[test]
fn streamed_rows_replace_the_table_in_one_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = id_and_n();
    let store = open(dir.path());
    let table = store.table("numbers").expect("table");
    table
        .append(&[number(&schema, 1), number(&schema, 2)])
        .expect("append");
    table.flush().expect("flush");
    table.append(&[number(&schema, 3)]).expect("append");
    let before = table.version().expect("version");

    // Abandoned: nothing changes, nothing is left behind.
    let files = files_in(&table.dir);
    let mut r = table.replacement().expect("replacement");
    r.write(&number(&schema, 10)).expect("write");
    drop(r);
    assert_eq!(ns(&table), vec![1, 2, 3]);
    assert_eq!(table.version().expect("version"), before);
    assert_eq!(files_in(&table.dir), files);

    // Committed: only the streamed rows, with ids past the old ones; the old files are gone.
    let mut r = table.replacement().expect("replacement");
    for n in 10..13 {
        r.write(&number(&schema, n)).expect("write");
    }
    assert_eq!(r.rows(), 3);
    assert_eq!(ns(&table), vec![1, 2, 3], "not visible before the commit");
    r.commit().expect("commit");
    assert_eq!(ns(&table), vec![10, 11, 12]);
    assert!(table.changes_since(before).expect("changes").is_none());
    let parts: Vec<String> = files_in(&table.dir)
        .into_iter()
        .filter(|n| n.ends_with(".parquet"))
        .collect();
    assert_eq!(parts.len(), 1, "{parts:?}");
    table
        .append(&[number(&schema, 13)])
        .expect("a new id after the streamed ones");
    drop(store);
    let store = open(dir.path());
    let table = store.table("numbers").expect("table");
    assert_eq!(ns(&table), vec![10, 11, 12, 13]);

    // Nothing written: the table ends empty.
    table
        .replacement()
        .expect("replacement")
        .commit()
        .expect("commit");
    assert!(ns(&table).is_empty());
}
