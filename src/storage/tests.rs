//! Storage's own tests: any table definition, older files read at a newer width, changes
//! followed since a version (steps_tests.rs).

use super::*;
use datafusion::arrow::array::{Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef as SchemaRefAlias};

/// One row (id left to the table, n) of a table whose first columns are id and n.
pub(super) fn number(schema: &SchemaRefAlias, n: i64) -> RecordBatch {
    let mut columns: Vec<datafusion::arrow::array::ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![None::<i64>])),
        Arc::new(Int64Array::from(vec![n])),
    ];
    for f in schema.fields().iter().skip(2) {
        columns.push(datafusion::arrow::array::new_null_array(f.data_type(), 1));
    }
    RecordBatch::try_new(schema.clone(), columns).expect("batch")
}

/// The names of the files in `dir`, sorted.
pub(super) fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The schema (id, n) of the tables here.
pub(super) fn id_and_n() -> SchemaRefAlias {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("n", DataType::Int64, true),
    ]))
}

/// A table `numbers` of `schema` keyed by an AUTO_INCREMENT id.
pub(super) fn numbers_table(schema: &SchemaRefAlias, unique: bool) -> TableDef {
    TableDef {
        name: "numbers",
        schema: schema.clone(),
        key: &["id"],
        unique,
        defaults: &[("id", ColumnDefault::AutoId)],
        domains: &[],
        references: &[],
        indexes: &[],
        descriptions: &[],
        layout: Layout::Scans,
    }
}

/// Storage needs nothing of the business: a table defined here is kept durably.
#[test]
fn any_table_definition_is_kept_across_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = id_and_n();
    let def = || numbers_table(&schema, true);
    let opts = StoreOptions {
        flush_rows: 2,
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), opts.clone(), vec![def()]).expect("open");
    assert!(store.created("numbers"));
    let table = store.table("numbers").expect("table");
    for n in 0..5 {
        table.append(&[number(&schema, n)]).expect("append");
    }
    drop(store);
    let store = Store::open(dir.path(), opts, vec![def()]).expect("reopen");
    assert!(!store.created("numbers"));
    let snap = store
        .table("numbers")
        .expect("table")
        .snapshot()
        .expect("snapshot");
    assert_eq!(snap.rows(), 5);
    assert_eq!(snap.next_id, 6);
    assert!(store.table("members").is_err());
}

/// A table whose definition gained trailing nullable columns reads its older parts and
/// logged batches at the new width (NULLs), takes new rows, and rewrites them all.
#[test]
fn a_table_that_gained_a_column_reads_its_older_files() {
    use datafusion::arrow::array::{Array, AsArray};
    let dir = tempfile::tempdir().expect("tempdir");
    let two = id_and_n();
    let three = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("n", DataType::Int64, true),
        Field::new("note", DataType::Utf8, true),
    ]));
    let def = |schema: &SchemaRefAlias| numbers_table(schema, false);
    let opts = StoreOptions {
        flush_rows: 3,
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), opts.clone(), vec![def(&two)]).expect("open");
    let table = store.table("numbers").expect("table");
    for n in 0..5 {
        table.append(&[number(&two, n)]).expect("append");
    }
    // three rows went into a part, two are in the log (bare frames)
    let snap = table.snapshot().expect("snapshot");
    assert_eq!((snap.manifest.files.len(), snap.wal_rows()), (1, 2));
    drop((table, snap, store));

    let store = Store::open(dir.path(), opts, vec![def(&three)]).expect("reopen wider");
    let table = store.table("numbers").expect("table");
    let snap = table.snapshot().expect("snapshot");
    assert_eq!(snap.rows(), 5);
    for b in snap.wal_batches.iter() {
        assert_eq!(b.schema(), three);
        assert_eq!(b.column(2).null_count(), b.num_rows());
    }
    let batch = RecordBatch::try_new(
        three.clone(),
        vec![
            Arc::new(Int64Array::from(vec![None::<i64>])),
            Arc::new(Int64Array::from(vec![9])),
            Arc::new(datafusion::arrow::array::StringArray::from(vec!["new"])),
        ],
    )
    .expect("batch");
    table.append(&[batch]).expect("append wider");
    table
        .rewrite(None, &[])
        .expect("rewrite reads the older part");
    let snap = table.snapshot().expect("snapshot");
    let mut batches: Vec<RecordBatch> = snap.wal_batches.to_vec();
    for f in &snap.manifest.files {
        let part = parquet_io::read_part(&table.path_of(&f.name), &three).expect("part");
        batches.extend(part.map(|b| b.expect("batch")));
    }
    let mut rows = Vec::new();
    for b in &batches {
        let n = b
            .column(1)
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        let note = b.column(2).as_string::<i32>();
        for i in 0..b.num_rows() {
            rows.push((
                n.value(i),
                note.is_valid(i).then(|| note.value(i).to_string()),
            ));
        }
    }
    rows.sort();
    let expected: Vec<(i64, Option<String>)> = (0..5)
        .map(|n| (n, None))
        .chain(std::iter::once((9, Some("new".to_string()))))
        .collect();
    assert_eq!(rows, expected);
}

/// Appends alone can be followed row by row; anything else (here a flush of the log into a
/// part) says so, and the caller starts over.
#[test]
fn appended_rows_are_read_since_a_version_across_a_flush() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = id_and_n();
    let def = numbers_table(&schema, false);
    let opts = StoreOptions {
        flush_rows: 4,
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), opts, vec![def]).expect("open");
    let table = store.table("numbers").expect("table");
    let n_of = |batches: Vec<RecordBatch>| -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| {
                let c = b
                    .column(1)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .expect("n");
                c.values().to_vec()
            })
            .collect()
    };
    let changed = |v| table.changes_since(v).expect("read").expect("told").added;
    table.append(&[number(&schema, 1)]).expect("append");
    let v1 = table.version().expect("version");
    assert!(changed(v1).is_empty());
    table.append(&[number(&schema, 2)]).expect("append");
    table.append(&[number(&schema, 3)]).expect("append");
    assert_eq!(n_of(changed(v1)), vec![2, 3]);
    // The fourth row fills the log: it is flushed into a part, a move that changes no row,
    // and the rows appended to the old log after v1 are still told.
    table.append(&[number(&schema, 4)]).expect("append");
    assert_ne!(table.version().expect("version").manifest, v1.manifest);
    assert_eq!(n_of(changed(v1)), vec![2, 3, 4]);
    let v2 = table.version().expect("version");
    assert!(changed(v2).is_empty());
    table.append(&[number(&schema, 5)]).expect("append");
    assert_eq!(n_of(changed(v2)), vec![5]);
    assert_eq!(n_of(changed(v1)), vec![2, 3, 4, 5]);
}

/// Rewrites that each add a part (a caller replacing a few rows again and again) are
/// compacted like flushes, so the parts do not pile up.
#[test]
fn repeated_rewrites_keep_the_parts_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = id_and_n();
    let def = numbers_table(&schema, false);
    let opts = StoreOptions {
        max_parts: 4,
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), opts, vec![def]).expect("open");
    let table = store.table("numbers").expect("table");
    for n in 0..20 {
        table.rewrite(None, &[number(&schema, n)]).expect("rewrite");
        let snap = table.snapshot().expect("snapshot");
        assert!(
            snap.manifest.files.len() <= 4,
            "{} parts",
            snap.manifest.files.len()
        );
        assert_eq!(snap.rows(), n as u64 + 1);
    }
}

/// A table created at run time keeps what it declared — key, serial id, constant default —
/// across a reopen, and an integer (not bigint) id is filled in its own width.
#[test]
fn declared_keys_and_defaults_survive_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int32, true),
        Field::new("n", DataType::Int64, true),
    ]);
    let declared = Declared {
        key: vec!["id".into()],
        defaults: vec![
            ("id".into(), DeclaredDefault::Serial),
            ("n".into(), DeclaredDefault::Value("7".into())),
        ],
        ..Default::default()
    };
    let store = Store::open(dir.path(), StoreOptions::default(), vec![]).expect("open");
    let table = store
        .create_table("made", &schema, &declared)
        .expect("create");
    // A serial key stays nullable to the planner: storage fills it (rows.rs).
    assert!(table.def.schema.field(0).is_nullable());
    let row = |id: Option<i32>| {
        let columns: Vec<datafusion::arrow::array::ArrayRef> = vec![
            Arc::new(datafusion::arrow::array::Int32Array::from(vec![id])),
            Arc::new(Int64Array::from(vec![1])),
        ];
        RecordBatch::try_new(table.def.input_schema(), columns).expect("batch")
    };
    table.append(&[row(None), row(None)]).expect("serial ids");
    drop(store);
    let store = Store::open(dir.path(), StoreOptions::default(), vec![]).expect("reopen");
    let table = store.table("made").expect("table");
    assert_eq!(created::Declared::of(&table.def), declared);
    assert!(table.def.unique);
    let err = table.append(&[row(Some(2))]).expect_err("a repeated key");
    assert_eq!(err.sqlstate(), "23505");
    table.append(&[row(None)]).expect("the next id");
    assert_eq!(table.snapshot().expect("snapshot").next_id, 4);
}

/// Rows (id, n) with explicit ids.
fn pairs(schema: &SchemaRefAlias, rows: &[(i64, i64)]) -> RecordBatch {
    let ids: Int64Array = rows.iter().map(|r| Some(r.0)).collect();
    let ns: Int64Array = rows.iter().map(|r| Some(r.1)).collect();
    RecordBatch::try_new(schema.clone(), vec![Arc::new(ids), Arc::new(ns)]).expect("batch")
}

/// The table's rows as (id, n), by id: as committed, or as `txn` sees them.
pub(super) fn rows_of(table: &Arc<Table>, txn: Option<&mut Txn>) -> Vec<(i64, i64)> {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Int64Type;
    let (parts, mut batches) = match txn {
        Some(txn) => {
            let view = txn.view(table).expect("view");
            (view.parts, view.rows)
        }
        None => {
            let snap = table.snapshot().expect("snapshot");
            (table.part_paths(&snap), snap.wal_batches.to_vec())
        }
    };
    for p in parts {
        for b in parquet_io::read_part(&p, &table.def.schema).expect("part") {
            batches.push(b.expect("batch"));
        }
    }
    let mut out = Vec::new();
    for b in batches {
        let ids = b.column(0).as_primitive::<Int64Type>();
        let ns = b.column(1).as_primitive::<Int64Type>();
        out.extend((0..b.num_rows()).map(|i| (ids.value(i), ns.value(i))));
    }
    out.sort();
    out
}

/// ON CONFLICT: DO NOTHING skips taken keys (and a key repeated in the statement), DO UPDATE
/// merges into the stored row wherever it lies (a part or the log), in a transaction too.
#[test]
fn insert_on_conflict_skips_or_merges_by_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = id_and_n();
    let opts = StoreOptions {
        flush_rows: 2,
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), opts, vec![numbers_table(&schema, true)]).expect("open");
    let table = store.table("numbers").expect("table");
    table
        .append(&[pairs(&schema, &[(1, 10), (2, 20)])])
        .expect("part");
    table.append(&[pairs(&schema, &[(3, 30)])]).expect("log");
    let stored = table
        .insert_on_conflict(
            &[pairs(&schema, &[(1, 0), (4, 40), (4, 41)])],
            &OnConflict::Nothing,
        )
        .expect("do nothing");
    assert_eq!(stored.map(|b| b.num_rows()), Some(1));
    // n = stored n + proposed n, only where the proposed n is over 1.
    let sum: Arc<MergeFn> = Arc::new(|stored: &RecordBatch, proposed: &RecordBatch| {
        use datafusion::arrow::array::AsArray;
        use datafusion::arrow::datatypes::Int64Type;
        let a = stored.column(1).as_primitive::<Int64Type>();
        let b = proposed.column(1).as_primitive::<Int64Type>();
        let n: Int64Array = a.iter().zip(b.iter()).map(|(x, y)| Some(x? + y?)).collect();
        let chosen: datafusion::arrow::array::BooleanArray =
            b.iter().map(|y| y.map(|y| y > 1)).collect();
        let out = RecordBatch::try_new(
            stored.schema(),
            vec![proposed.column(0).clone(), Arc::new(n)],
        )?;
        Ok((out, chosen))
    });
    let update = OnConflict::Update(sum);
    let stored = table
        .insert_on_conflict(&[pairs(&schema, &[(1, 5), (3, 1), (5, 50)])], &update)
        .expect("do update");
    // 5 inserted, 1 updated; 3 kept (its proposed n is not over 1).
    assert_eq!(stored.map(|b| b.num_rows()), Some(2));
    let expected = vec![(1, 15), (2, 20), (3, 30), (4, 40), (5, 50)];
    assert_eq!(rows_of(&table, None), expected);
    let twice = table.insert_on_conflict(&[pairs(&schema, &[(2, 2), (2, 3)])], &update);
    assert_eq!(twice.expect_err("twice").sqlstate(), "21000");
    assert_eq!(rows_of(&table, None), expected);

    let mut txn = store.begin();
    txn.insert_on_conflict(&table, &[pairs(&schema, &[(6, 60)])], &update)
        .expect("in a block");
    txn.insert_on_conflict(&table, &[pairs(&schema, &[(6, 6), (2, 2)])], &update)
        .expect("the block's own row");
    let seen = rows_of(&table, Some(&mut txn));
    assert_eq!(
        seen,
        vec![(1, 15), (2, 22), (3, 30), (4, 40), (5, 50), (6, 66)]
    );
    assert_eq!(rows_of(&table, None), expected, "not before the commit");
    txn.commit().expect("commit");
    assert_eq!(rows_of(&table, None), seen);
}
