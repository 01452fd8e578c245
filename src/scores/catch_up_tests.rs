//! The plan a scan of member_scores makes: members named by new rows, however many, and made
//! once per change of the tables.

use super::*;
use crate::storage::{Layout, StoreOptions, TableDef};
use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};

fn def(name: &'static str, schema: &SchemaRef) -> TableDef {
    TableDef {
        name,
        schema: schema.clone(),
        key: &[],
        unique: false,
        defaults: &[],
        domains: &[],
        references: &[],
        indexes: &[],
        descriptions: &[],
        layout: Layout::Scans,
    }
}

fn members(schema: &SchemaRef, ids: impl Iterator<Item = String>) -> RecordBatch {
    let ids: StringArray = ids.map(Some).collect();
    RecordBatch::try_new(schema.clone(), vec![Arc::new(ids)]).expect("batch")
}

#[test]
fn a_batch_naming_more_members_than_a_catch_up_takes_still_names_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema: SchemaRef = Arc::new(Schema::new(vec![Field::new(
        "member_id",
        DataType::Utf8,
        true,
    )]));
    let defs = vec![def("order_items", &schema), def(TABLE, &schema)];
    let store = Store::open(dir.path(), StoreOptions::default(), defs).expect("open");
    let names = vec!["order_items".to_string(), TABLE.to_string()];
    let as_of = NaiveDate::from_ymd_opt(2026, 12, 6).expect("date");
    let basis = Basis {
        as_of: as_of.to_string(),
        settings: "s".into(),
        tables: freshness::versions(&store, &names).expect("versions"),
    };
    freshness::record(&store, &basis).expect("record");
    assert_eq!(*plan(&store, as_of, "s").expect("plan"), CatchUp::Current);
    assert_eq!(
        *plan(&store, as_of, "other").expect("plan"),
        CatchUp::Full,
        "other settings"
    );

    // A batch job's rows naming more members than one catch-up rescores: a lookup of any
    // other member still reads the snapshot (answer.rs), so the plan names them all.
    let many = MAX_MEMBERS + 1;
    let items = store.table("order_items").expect("order_items");
    items
        .append(&[members(&schema, (0..many).map(|i| format!("M{i:08}")))])
        .expect("append");
    let first = plan(&store, as_of, "s").expect("plan");
    match &*first {
        CatchUp::Members(named, _) => assert_eq!(named.len(), many),
        other => panic!("{other:?}"),
    }
    // Made once for these versions, again after the next write.
    assert!(Arc::ptr_eq(
        &first,
        &plan(&store, as_of, "s").expect("plan")
    ));
    items
        .append(&[members(&schema, std::iter::once("N1".to_string()))])
        .expect("append");
    match &*plan(&store, as_of, "s").expect("plan") {
        CatchUp::Members(named, _) => {
            assert_eq!(named.len(), many + 1);
            assert!(named.contains("N1"));
        }
        other => panic!("{other:?}"),
    }
    // A change to the snapshot itself other than through a refresh: everyone.
    let own = store.table(TABLE).expect("snapshot");
    own.append(&[members(&schema, std::iter::once("X".to_string()))])
        .expect("append");
    assert_eq!(*plan(&store, as_of, "s").expect("plan"), CatchUp::Full);
}
