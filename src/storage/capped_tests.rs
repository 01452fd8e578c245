//! A table laid out for point reads: replaced and compacted in parts of at most its cap, and
//! a rewrite scoped by a column's bounds reads only the parts that may hold what it changes.

use super::tests::{files_in, id_and_n, number, numbers_table, rows_of};
use super::*;
use datafusion::arrow::array::{ArrayRef, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::{concat_batches, filter_record_batch};
use datafusion::arrow::datatypes::Int64Type;

/// The store of a `numbers` table laid out for point reads, its parts capped at `cap` rows.
fn open(dir: &std::path::Path, cap: u64, max_parts: usize) -> Store {
    let mut def = numbers_table(&id_and_n(), false);
    def.layout = Layout::PointReads;
    let opts = StoreOptions {
        point_read_part_rows: cap,
        max_parts,
        flush_rows: 1,
        ..StoreOptions::default()
    };
    Store::open(dir, opts, vec![def]).expect("open")
}

/// The rows n = `ns` as one batch.
fn numbers(table: &Table, ns: std::ops::Range<i64>) -> RecordBatch {
    let rows: Vec<RecordBatch> = ns.map(|n| number(&table.def.schema, n)).collect();
    concat_batches(&table.def.schema, &rows).expect("concat")
}

fn ns(table: &Arc<Table>) -> Vec<i64> {
    let mut out: Vec<i64> = rows_of(table, None).into_iter().map(|(_, n)| n).collect();
    out.sort();
    out
}

fn part_rows(table: &Table) -> Vec<u64> {
    let snap = table.snapshot().expect("snapshot");
    snap.manifest.files.iter().map(|f| f.rows).collect()
}

#[test]
fn a_replacement_is_cut_into_parts_of_the_cap_and_a_scoped_rewrite_reads_only_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path(), 3, 16);
    let table = store.table("numbers").expect("table");
    let mut r = table.replacement().expect("replacement");
    r.write(&numbers(&table, 0..7)).expect("write");
    r.write(&numbers(&table, 7..8)).expect("write");
    assert_eq!(r.rows(), 8);
    r.commit().expect("commit");
    assert_eq!(part_rows(&table), vec![3, 3, 2]);
    assert_eq!(ns(&table), (0..8).collect::<Vec<_>>());
    let before = table.snapshot().expect("snapshot").manifest.files.clone();

    // Drop n = 4: only the part of n 3..=5 may hold it, so only it is read and rewritten.
    let mut asked = 0;
    let mut drop_four = |b: &RecordBatch| -> crate::error::Result<Rewrite> {
        asked += 1;
        let n = b.column(1).as_primitive::<Int64Type>();
        let keep: BooleanArray = (0..n.len()).map(|i| Some(n.value(i) != 4)).collect();
        let removed = keep.false_count() as u64;
        Ok(Rewrite::Replace(filter_record_batch(b, &keep)?, removed))
    };
    let mut holds_four = |least: &ArrayRef, greatest: &ArrayRef| -> crate::error::Result<bool> {
        let (least, greatest) = (
            least.as_primitive::<Int64Type>(),
            greatest.as_primitive::<Int64Type>(),
        );
        Ok((0..least.len()).any(|i| least.value(i) <= 4 && 4 <= greatest.value(i)))
    };
    let mut scope = PartScope {
        column: "n",
        may_change: &mut holds_four,
    };
    let removed = table
        .rewrite_in(&mut scope, &mut drop_four, &[])
        .expect("rewrite");
    assert_eq!(removed, 1);
    assert_eq!(asked, 1, "only the one part's batch is read");
    assert_eq!(ns(&table), vec![0, 1, 2, 3, 5, 6, 7]);
    let after = table.snapshot().expect("snapshot").manifest.files.clone();
    assert_eq!(after[0], before[0]);
    assert_eq!(after[1].rows, 2, "the rewritten part, in its place");
    assert_eq!(after[2], before[2]);
    assert!(!files_in(&table.dir).contains(&before[1].name));
}

#[test]
fn small_parts_of_a_capped_table_merge_into_parts_of_the_cap() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Each append flushes into a part of its own (flush_rows 1): nine one-row parts.
    let store = open(dir.path(), 4, 100);
    let table = store.table("numbers").expect("table");
    for n in 0..9 {
        table.append(&[numbers(&table, n..n + 1)]).expect("append");
    }
    assert_eq!(part_rows(&table), vec![1; 9]);
    drop((table, store));
    // Past two parts, the small ones (under half the cap) merge: ten rows into parts of four.
    let store = open(dir.path(), 4, 2);
    let table = store.table("numbers").expect("table");
    table.append(&[numbers(&table, 9..10)]).expect("append");
    assert_eq!(part_rows(&table), vec![4, 4, 2]);
    assert_eq!(ns(&table), (0..10).collect::<Vec<_>>());
}

#[test]
fn the_parts_of_the_cap_do_not_count_towards_compaction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path(), 4, 2);
    let table = store.table("numbers").expect("table");
    let mut r = table.replacement().expect("replacement");
    r.write(&numbers(&table, 0..12)).expect("write");
    r.commit().expect("commit");
    assert_eq!(part_rows(&table), vec![4, 4, 4]);
    // Five parts, more than max_parts, but only two small ones: nothing is merged, so a
    // change to a few rows does not rewrite a tail of parts every time.
    table.append(&[numbers(&table, 12..13)]).expect("append");
    table.append(&[numbers(&table, 13..14)]).expect("append");
    assert_eq!(part_rows(&table), vec![4, 4, 4, 1, 1]);
    // A third small part is one more than max_parts: the small ones merge.
    table.append(&[numbers(&table, 14..15)]).expect("append");
    assert_eq!(part_rows(&table), vec![4, 4, 4, 3]);
    assert_eq!(ns(&table), (0..15).collect::<Vec<_>>());
}
