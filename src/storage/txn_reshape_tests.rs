//! Rows follow ALTER TABLE's column changes in a block (txn_reshape.rs).

use super::super::{Declared, Store, StoreOptions};
use super::*;
use datafusion::arrow::array::{AsArray, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Schema};

fn staged(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .expect("list")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("txn-"))
        .count()
}

/// Rows in parts and in the log follow a drop, a rename and a type change; a value that
/// does not convert fails the change and leaves no staged file; ROLLBACK TO a savepoint
/// gives the old shape back; the committed shape reopens.
#[test]
fn rows_follow_their_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), StoreOptions::default(), vec![]).expect("open");
    let schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int64, true),
        Field::new("v", DataType::Utf8, true),
        Field::new("w", DataType::Utf8, true),
    ]));
    let table = store
        .create_table("t", &schema, &Declared::default())
        .expect("create");
    let rows = |k: i64, w: &str| {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![k])),
            Arc::new(StringArray::from(vec![Some("x")])),
            Arc::new(StringArray::from(vec![w])),
        ];
        RecordBatch::try_new(schema.clone(), columns).expect("batch")
    };
    let mut txn = store.begin();
    txn.append(&table, &[rows(1, "10")]).expect("part");
    txn.commit().expect("commit");
    table.append(&[rows(2, "oops")]).expect("log");

    let before = staged(&table.dir);
    let mut txn = store.begin();
    let to_int = ColumnChange::Type {
        column: "w".into(),
        to: Field::new("", DataType::Int32, true),
    };
    let e = txn
        .alter_columns("t", std::slice::from_ref(&to_int))
        .expect_err("oops");
    assert_eq!(e.sqlstate(), "22P02");
    assert_eq!(
        staged(&table.dir),
        before,
        "the failed change's parts are gone"
    );
    txn.savepoint();
    let dropped = txn
        .alter_columns("t", &[ColumnChange::Drop("v".into())])
        .expect("drop");
    assert_eq!(dropped.def.schema.fields().len(), 2);
    txn.rollback_to(0);
    let renamed = ColumnChange::Rename {
        from: "v".into(),
        to: "label".into(),
    };
    txn.alter_columns("t", &[renamed, ColumnChange::Drop("w".into())])
        .expect("rename and drop");
    txn.commit().expect("commit");
    drop(store);

    let store = Store::open(dir.path(), StoreOptions::default(), vec![]).expect("reopen");
    let table = store.table("t").expect("t");
    let names: Vec<&str> = table
        .def
        .schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(names, ["k", "label"]);
    let mut txn = store.begin();
    let w = ColumnChange::Type {
        column: "k".into(),
        to: Field::new("", DataType::Int32, true),
    };
    let t = txn.alter_columns("t", &[w]).expect("k to int");
    txn.commit().expect("commit");
    let snap = t.snapshot().expect("snapshot");
    let mut ks = Vec::new();
    for f in &snap.manifest.files {
        for b in read_part(&t.path_of(&f.name), &t.def.schema).expect("part") {
            let b = b.expect("batch");
            let k = b.column(0).as_primitive::<Int32Type>();
            ks.extend((0..k.len()).map(|i| k.value(i)));
        }
    }
    ks.sort();
    assert_eq!(ks, [1, 2]);
}

/// A row in the committed log, then a type change: the commit reads the committed state
/// in its stored shape (Sequelize's sync({alter}) found it read through the new one).
#[test]
fn a_logged_row_follows_a_type_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), StoreOptions::default(), vec![]).expect("open");
    let schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int32, true),
        Field::new("v", DataType::Utf8, true),
    ]));
    let table = store
        .create_table("t", &schema, &Declared::default())
        .expect("create");
    let columns: Vec<ArrayRef> = vec![
        Arc::new(datafusion::arrow::array::Int32Array::from(vec![7])),
        Arc::new(StringArray::from(vec![Some("x")])),
    ];
    let row = RecordBatch::try_new(schema.clone(), columns).expect("batch");
    table.append(&[row]).expect("logged");
    for change in [
        ColumnChange::Type {
            column: "k".into(),
            to: Field::new("", DataType::Int64, true),
        },
        ColumnChange::Drop("v".into()),
    ] {
        let mut txn = store.begin();
        txn.alter_columns("t", &[change]).expect("alter");
        txn.commit().expect("commit");
    }
    let t = store.table("t").expect("t");
    assert_eq!(t.def.schema.fields().len(), 1);
    let snap = t.snapshot().expect("snapshot");
    let mut ks = Vec::new();
    for f in &snap.manifest.files {
        for b in read_part(&t.path_of(&f.name), &t.def.schema).expect("part") {
            let b = b.expect("batch");
            ks.extend(
                b.column(0)
                    .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                    .values()
                    .to_vec(),
            );
        }
    }
    assert_eq!(ks, [7]);
}
