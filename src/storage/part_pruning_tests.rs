//! A scan plans over only the parts its filters may need (part_pruning.rs).

use super::provider::CipTable;
use super::tests::{id_and_n, number, numbers_table};
use super::*;
use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::Int64Type;
use datafusion::physical_plan::displayable;
use datafusion::prelude::SessionContext;

/// The values of n a query answers, and how many parts its plan names.
async fn answer(ctx: &SessionContext, sql: &str) -> (Vec<i64>, usize) {
    let df = ctx.sql(sql).await.expect("plan");
    let plan = df
        .clone()
        .create_physical_plan()
        .await
        .expect("physical plan");
    let text = displayable(plan.as_ref()).indent(true).to_string();
    let parts = text.matches(".parquet").count();
    let mut ns = Vec::new();
    for b in df.collect().await.expect("rows") {
        ns.extend(
            b.column(0)
                .as_primitive::<Int64Type>()
                .values()
                .iter()
                .copied(),
        );
    }
    ns.sort();
    (ns, parts)
}

/// A table of n = 0..8 in parts of three rows (n 0..=2, 3..=5 and 6..=7), and its options.
fn numbers_in_parts(dir: &std::path::Path) -> (Store, TableDef, StoreOptions) {
    let mut def = numbers_table(&id_and_n(), false);
    def.layout = Layout::PointReads;
    let opts = StoreOptions {
        point_read_part_rows: 3,
        ..StoreOptions::default()
    };
    let store = Store::open(dir, opts.clone(), vec![def.clone()]).expect("open");
    let table = store.table("numbers").expect("table");
    let rows: Vec<_> = (0..8).map(|n| number(&table.def.schema, n)).collect();
    let rows = concat_batches(&table.def.schema, &rows).expect("concat");
    let mut r = table.replacement().expect("replacement");
    r.write(&rows).expect("write");
    r.commit().expect("commit");
    (store, def, opts)
}

#[tokio::test]
async fn a_scan_plans_over_the_parts_its_filters_may_need() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _, _) = numbers_in_parts(dir.path());
    let table = store.table("numbers").expect("table");
    let ctx = SessionContext::new();
    ctx.register_table("numbers", Arc::new(CipTable::new(table)))
        .expect("register");

    // Parts of n 0..=2, 3..=5 and 6..=7: a key names one.
    assert_eq!(
        answer(&ctx, "SELECT n FROM numbers WHERE n = 4").await,
        (vec![4], 1)
    );
    assert_eq!(
        answer(&ctx, "SELECT n FROM numbers WHERE n >= 5").await,
        (vec![5, 6, 7], 2)
    );
    // None, and no filter or one the statistics cannot rule on: every part.
    assert_eq!(
        answer(&ctx, "SELECT n FROM numbers WHERE n = 40").await.0,
        Vec::<i64>::new()
    );
    assert_eq!(
        answer(&ctx, "SELECT n FROM numbers").await,
        ((0..8).collect::<Vec<i64>>(), 3)
    );
    assert_eq!(
        answer(&ctx, "SELECT n FROM numbers WHERE n % 2 = 1").await,
        (vec![1, 3, 5, 7], 3)
    );
    // NULLs: a part's null count rules it in or out.
    assert_eq!(
        answer(&ctx, "SELECT n FROM numbers WHERE n IS NULL")
            .await
            .0,
        Vec::<i64>::new()
    );
}

/// Parts written before the table gained a column hold no statistics for it: they read NULL
/// there, so `IS NULL` keeps them and a value rules them out.
#[tokio::test]
async fn parts_without_a_column_read_null_in_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, mut def, opts) = numbers_in_parts(dir.path());
    drop(store);
    let mut fields = id_and_n().fields().to_vec();
    fields.push(Arc::new(datafusion::arrow::datatypes::Field::new(
        "m",
        datafusion::arrow::datatypes::DataType::Int64,
        true,
    )));
    def.schema = Arc::new(datafusion::arrow::datatypes::Schema::new(fields));
    let store = Store::open(dir.path(), opts, vec![def]).expect("reopen wider");
    let table = store.table("numbers").expect("table");
    let ctx = SessionContext::new();
    ctx.register_table("numbers", Arc::new(CipTable::new(table)))
        .expect("register");

    assert_eq!(
        answer(&ctx, "SELECT n FROM numbers WHERE m IS NULL").await,
        ((0..8).collect::<Vec<i64>>(), 3)
    );
    assert_eq!(
        answer(&ctx, "SELECT n FROM numbers WHERE m = 1 OR n = 1").await,
        (vec![1], 1)
    );
}
