//! A read of one key (point_read.rs) returns what a scan filtered on it returns: across
//! parts, pages, the log, absent keys, NULL, and parts older than a column.

use super::provider::CipTable;
use super::*;
use datafusion::arrow::array::{Array, AsArray, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use datafusion::common::ScalarValue;
use datafusion::prelude::SessionContext;

fn keyed(fields: Vec<Field>) -> TableDef {
    TableDef {
        name: "keyed",
        schema: Arc::new(Schema::new(fields)),
        key: &["k"],
        unique: false,
        defaults: &[],
        domains: &[],
        references: &[],
        indexes: &[],
        descriptions: &[],
        layout: Layout::PointReads,
    }
}

fn k_and_n() -> Vec<Field> {
    vec![
        Field::new("k", DataType::Utf8, true),
        Field::new("n", DataType::Int64, true),
    ]
}

fn rows(def: &TableDef, keys: &[Option<String>], n: impl Fn(usize) -> i64) -> RecordBatch {
    let ns: Vec<i64> = (0..keys.len()).map(n).collect();
    RecordBatch::try_new(
        def.schema.clone(),
        vec![
            Arc::new(StringArray::from(keys.to_vec())),
            Arc::new(Int64Array::from(ns)),
        ],
    )
    .expect("batch")
}

/// The n of the rows whose k is `key`, by a read of the key and by a scan, sorted.
async fn both_ways(table: &Arc<Table>, key: Option<&str>) -> (Vec<i64>, Vec<i64>) {
    let value = ScalarValue::Utf8(key.map(str::to_string));
    let read = table.read_key(0, &value, &[1]).expect("read key");
    assert_eq!(read.schema().field(0).name(), "n");
    let mut by_key: Vec<i64> = read.column(0).as_primitive::<Int64Type>().values().to_vec();
    by_key.sort();
    let ctx = SessionContext::new();
    ctx.register_table("keyed", Arc::new(CipTable::new(table.clone())))
        .expect("register");
    let sql = match key {
        Some(k) => format!("SELECT n FROM keyed WHERE k = '{k}'"),
        None => "SELECT n FROM keyed WHERE k = NULL".to_string(),
    };
    let mut scanned = Vec::new();
    for b in ctx
        .sql(&sql)
        .await
        .expect("plan")
        .collect()
        .await
        .expect("rows")
    {
        scanned.extend(
            b.column(0)
                .as_primitive::<Int64Type>()
                .values()
                .iter()
                .copied(),
        );
    }
    scanned.sort();
    (by_key, scanned)
}

#[tokio::test]
async fn a_read_of_one_key_returns_what_a_scan_filtered_on_it_returns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let def = keyed(k_and_n());
    // Parts of 700 rows, pages of 256: a key is in one part and one page of each column.
    let opts = StoreOptions {
        point_read_part_rows: 700,
        flush_rows: 1_000_000,
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), opts, vec![def.clone()]).expect("open");
    let table = store.table("keyed").expect("table");
    let keys: Vec<Option<String>> = (0..2000).map(|i| Some(format!("k{i:05}"))).collect();
    let mut r = table.replacement().expect("replacement");
    r.write(&rows(&def, &keys, |i| i as i64)).expect("write");
    r.commit().expect("commit");
    assert_eq!(table.snapshot().expect("snapshot").manifest.files.len(), 3);
    // The log: a key of a part again (the table is not unique), a new one, a NULL key.
    let logged = [Some("k00699".to_string()), Some("k99999".to_string()), None];
    table
        .append(&[rows(&def, &logged, |i| 10_000 + i as i64)])
        .expect("append");

    for key in [
        "k00000", "k00255", "k00256", "k00699", "k00700", "k01999", "k99999",
    ] {
        let (by_key, scanned) = both_ways(&table, Some(key)).await;
        assert_eq!(by_key, scanned, "{key}");
        assert!(!by_key.is_empty(), "{key}");
    }
    assert_eq!(both_ways(&table, Some("k00699")).await.0, vec![699, 10_000]);
    // Absent: below, between and above the parts' keys; and NULL matches nothing.
    for key in ["a", "k00699x", "zz"] {
        assert_eq!(
            both_ways(&table, Some(key)).await,
            (vec![], vec![]),
            "{key}"
        );
    }
    assert_eq!(both_ways(&table, None).await, (vec![], vec![]));
}

/// A part written before the table gained a column reads NULL in it.
#[tokio::test]
async fn a_part_older_than_a_column_reads_null_in_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let def = keyed(k_and_n());
    let opts = StoreOptions::default();
    let store = Store::open(dir.path(), opts.clone(), vec![def.clone()]).expect("open");
    let table = store.table("keyed").expect("table");
    let keys: Vec<Option<String>> = (0..10).map(|i| Some(format!("k{i}"))).collect();
    let mut r = table.replacement().expect("replacement");
    r.write(&rows(&def, &keys, |i| i as i64)).expect("write");
    r.commit().expect("commit");
    drop((table, store));
    let mut fields = k_and_n();
    fields.push(Field::new("m", DataType::Int64, true));
    let store = Store::open(dir.path(), opts, vec![keyed(fields)]).expect("reopen wider");
    let table = store.table("keyed").expect("table");
    let value = ScalarValue::Utf8(Some("k3".into()));
    let read = table.read_key(0, &value, &[2, 1, 0]).expect("read key");
    assert_eq!(read.num_rows(), 1);
    assert!(read.column(0).is_null(0));
    assert_eq!(read.column(1).as_primitive::<Int64Type>().value(0), 3);
    assert_eq!(read.column(2).as_string::<i32>().value(0), "k3");
}

/// A part that stores the key in an older integer type than the table's is read by the
/// table's: its page statistics are compared in its own type.
#[tokio::test]
async fn a_part_with_an_older_key_type_is_read_in_the_tables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let narrow = keyed(vec![
        Field::new("k", DataType::Int32, true),
        Field::new("n", DataType::Int64, true),
    ]);
    let opts = StoreOptions::default();
    let store = Store::open(dir.path(), opts.clone(), vec![narrow.clone()]).expect("open");
    let table = store.table("keyed").expect("table");
    let rows = RecordBatch::try_new(
        narrow.schema.clone(),
        vec![
            Arc::new(datafusion::arrow::array::Int32Array::from_iter_values(
                0..600,
            )),
            Arc::new(Int64Array::from_iter_values(1000..1600)),
        ],
    )
    .expect("batch");
    let mut r = table.replacement().expect("replacement");
    r.write(&rows).expect("write");
    r.commit().expect("commit");
    drop((table, store));
    let wide = keyed(vec![
        Field::new("k", DataType::Int64, true),
        Field::new("n", DataType::Int64, true),
    ]);
    let store = Store::open(dir.path(), opts, vec![wide]).expect("reopen wider");
    let table = store.table("keyed").expect("table");
    for (k, n) in [
        (0, Some(1000)),
        (300, Some(1300)),
        (599, Some(1599)),
        (600, None),
    ] {
        let read = table
            .read_key(0, &ScalarValue::Int64(Some(k)), &[1])
            .expect("read key");
        let got =
            (read.num_rows() == 1).then(|| read.column(0).as_primitive::<Int64Type>().value(0));
        assert_eq!(got, n, "{k}");
    }
}
