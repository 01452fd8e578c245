//! Changed rows followed since a version (steps.rs) across flushes, transactions and a
//! reopening; updates and deletes told by the process that made them (changes.rs) and by no
//! other; a version beyond the kept history not followed; nothing erased kept on disk.

use super::tests::{id_and_n, number, numbers_table};
use super::*;
use datafusion::arrow::array::{Array, BooleanArray, Int64Array, RecordBatch};

fn n_of(batches: &[RecordBatch]) -> Vec<i64> {
    let mut n: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            let c = b.column(1).as_any().downcast_ref::<Int64Array>();
            c.expect("n").values().to_vec()
        })
        .collect();
    n.sort();
    n
}

/// Rows whose n is `from` get n = `to`.
fn set_n(from: i64, to: i64) -> impl FnMut(&RecordBatch) -> crate::error::Result<Rewrite> {
    move |b| {
        let n = b.column(1).as_any().downcast_ref::<Int64Array>();
        let n = n.expect("n");
        if !n.values().contains(&from) {
            return Ok(Rewrite::Keep);
        }
        let new: Int64Array = n
            .iter()
            .map(|v| v.map(|v| if v == from { to } else { v }))
            .collect();
        let columns = vec![b.column(0).clone(), Arc::new(new) as _];
        Ok(Rewrite::Replace(
            RecordBatch::try_new(b.schema(), columns)?,
            1,
        ))
    }
}

/// Rows whose n is `gone` are deleted; the others' mask is NULL, which keeps a row.
fn delete_n(gone: i64) -> impl FnMut(&RecordBatch) -> crate::error::Result<Rewrite> {
    move |b| {
        let n = b.column(1).as_any().downcast_ref::<Int64Array>();
        let gone: BooleanArray = n
            .expect("n")
            .iter()
            .map(|v| (v == Some(gone)).then_some(true))
            .collect();
        Ok(Rewrite::Remove(gone))
    }
}

fn open(dir: &std::path::Path) -> Store {
    let schema = id_and_n();
    let opts = StoreOptions {
        flush_rows: 1000,
        ..StoreOptions::default()
    };
    Store::open(dir, opts, vec![numbers_table(&schema, false)]).expect("open")
}

#[test]
fn appends_inserts_and_loads_are_told_across_flushes_and_a_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = id_and_n();
    let store = open(dir.path());
    let table = store.table("numbers").expect("table");
    for n in 1..=3 {
        table.append(&[number(&schema, n)]).expect("append");
    }
    let v = table.version().expect("version");
    let added = |v| n_of(&told(&table, v).added);
    table.append(&[number(&schema, 4)]).expect("append");
    // The flush moves 1..4 into a part: only 4 is new to v.
    table.flush().expect("flush");
    assert_eq!(added(v), vec![4]);
    let mut txn = store.begin();
    txn.append(&table, &[number(&schema, 5)]).expect("append");
    txn.append(&table, &[number(&schema, 6)]).expect("append");
    txn.commit().expect("commit");
    table.append(&[number(&schema, 7)]).expect("append");
    assert_eq!(added(v), vec![4, 5, 6, 7]);
    // An UPDATE that changes no row is no change.
    let w = table.version().expect("version");
    table
        .rewrite(Some(&mut set_n(100, 1)), &[])
        .expect("update");
    assert_eq!(told(&table, w), Changes::default());
    // The shutdown checkpoint moves rows; after reopening the new rows are still told.
    table.append(&[number(&schema, 8)]).expect("append");
    drop(table);
    store.shutdown().expect("shutdown");
    drop(store);
    let store = open(dir.path());
    let table = store.table("numbers").expect("table");
    assert_eq!(n_of(&told(&table, v).added), vec![4, 5, 6, 7, 8]);
    assert_eq!(n_of(&told(&table, w).added), vec![8]);
}

fn told(table: &Table, since: TableVersion) -> Changes {
    table.changes_since(since).expect("read").expect("told")
}

/// (added, removed) since `since`, as n values.
fn both(table: &Table, since: TableVersion) -> (Vec<i64>, Vec<i64>) {
    let c = told(table, since);
    (n_of(&c.added), n_of(&c.removed))
}

/// Whether any file of the table's folder holds `needle`.
fn on_disk(dir: &std::path::Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).expect("list").any(|e| {
        let bytes = std::fs::read(e.expect("entry").path()).unwrap_or_default();
        bytes.windows(needle.len()).any(|w| w == needle)
    })
}

#[test]
fn updates_and_deletes_are_told_by_their_process_and_keep_no_file_holding_what_they_erased() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = id_and_n();
    let store = open(dir.path());
    let table = store.table("numbers").expect("table");
    // A value to find in the files: kept logs hold it until the delete.
    let secret = 0x5EC2_E7AB_CDEF_0123_i64;
    table.append(&[number(&schema, secret)]).expect("append");
    table.flush().expect("flush");
    table.append(&[number(&schema, 2)]).expect("append");
    table.flush().expect("flush");
    let v = table.version().expect("version");
    assert!(on_disk(&table.dir, &secret.to_le_bytes()));
    table
        .rewrite(Some(&mut delete_n(secret)), &[])
        .expect("delete");
    assert_eq!(both(&table, v), (vec![], vec![secret]));
    assert!(!on_disk(&table.dir, &secret.to_le_bytes()));
    // Appends after it, and an update: old and new images.
    let w = table.version().expect("version");
    table.append(&[number(&schema, 3)]).expect("append");
    table.flush().expect("flush");
    assert_eq!(both(&table, w), (vec![3], vec![]));
    let x = table.version().expect("version");
    table.rewrite(Some(&mut set_n(3, 30)), &[]).expect("update");
    assert_eq!(both(&table, x), (vec![30], vec![3]));
    // Only a reader one rewrite behind follows: the delete forgot the steps before it.
    assert_eq!(table.changes_since(w).expect("read"), None);
    // A block's delete; a block's own rows, updated in it, are added (a superset is right).
    let y = table.version().expect("version");
    let mut before: Vec<i64> = super::tests::rows_of(&table, None)
        .iter()
        .map(|r| r.1)
        .collect();
    assert!(before.contains(&2) && before.len() > 1);
    let mut txn = store.begin();
    txn.rewrite(&table, &mut delete_n(2)).expect("delete");
    txn.commit().expect("commit");
    assert_eq!(both(&table, y), (vec![], vec![2]));
    // The rows the mask left NULL stayed.
    let left: Vec<i64> = super::tests::rows_of(&table, None)
        .iter()
        .map(|r| r.1)
        .collect();
    before.retain(|n| *n != 2);
    assert_eq!(left, before);
    let z = table.version().expect("version");
    let mut txn = store.begin();
    txn.append(&table, &[number(&schema, 7)]).expect("append");
    txn.rewrite(&table, &mut set_n(7, 70)).expect("update");
    txn.append(&table, &[number(&schema, 8)]).expect("append");
    txn.commit().expect("commit");
    assert_eq!(both(&table, z), (vec![7, 8, 70], vec![7]));
}

#[test]
fn a_rewrite_is_not_told_to_a_reader_that_missed_rows_or_by_another_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = id_and_n();
    let store = open(dir.path());
    let table = store.table("numbers").expect("table");
    table.append(&[number(&schema, 1)]).expect("append");
    let v = table.version().expect("version");
    // 2 is in the log the delete folds into a part: a reader at v has not seen it.
    table.append(&[number(&schema, 2)]).expect("append");
    let w = table.version().expect("version");
    table.rewrite(Some(&mut delete_n(1)), &[]).expect("delete");
    assert_eq!(table.changes_since(v).expect("read"), None);
    assert_eq!(both(&table, w), (vec![], vec![1]));
    // Another store object on the folder stands for another process.
    let other = open(dir.path());
    let x = table.version().expect("version");
    other
        .table("numbers")
        .expect("table")
        .rewrite(Some(&mut delete_n(2)), &[])
        .expect("delete");
    assert_eq!(table.changes_since(x).expect("read"), None);
    // Too many rows to tell.
    let y = table.version().expect("version");
    let many: Vec<RecordBatch> = (0..=super::changes::MAX_ROWS as i64)
        .map(|n| number(&schema, 1000 + n))
        .collect();
    let mut txn = store.begin();
    txn.append(&table, &many).expect("append");
    txn.rewrite(&table, &mut delete_n(1000)).expect("delete");
    txn.commit().expect("commit");
    assert_eq!(table.changes_since(y).expect("read"), None);
}

#[test]
fn a_version_older_than_the_kept_steps_or_a_replacement_of_every_row_tells_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = id_and_n();
    let store = open(dir.path());
    let table = store.table("numbers").expect("table");
    table.append(&[number(&schema, 1)]).expect("append");
    let v = table.version().expect("version");
    let files = |dir: &std::path::Path| std::fs::read_dir(dir).expect("list").count();
    let mut counts = Vec::new();
    for n in 2..(2 + 3 * steps::KEPT as i64) {
        table.append(&[number(&schema, n)]).expect("append");
        table.flush().expect("flush");
        counts.push(files(&table.dir));
    }
    assert_eq!(table.changes_since(v).expect("read"), None);
    // The logs the forgotten steps kept are removed: the folder stops growing (the manifest,
    // lock, the parts, the kept logs, the current log).
    let bound = steps::KEPT + table.opts.max_parts + 4;
    assert!(counts.iter().all(|c| *c <= bound), "files: {counts:?}");
    let w = table.version().expect("version");
    table.replace_all(&[number(&schema, 100)]).expect("replace");
    assert_eq!(table.changes_since(w).expect("read"), None);
    let x = table.version().expect("version");
    table.append(&[number(&schema, 101)]).expect("append");
    assert_eq!(both(&table, x), (vec![101], vec![]));
}
