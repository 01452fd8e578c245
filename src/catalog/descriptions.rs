//! pg_description's rows for what COMMENT ON said of the tables created with SQL (storage
//! keeps it with the table's definition), of the views users saved (kept with the view,
//! user_views.rs) and of their columns, beside the built-in objects' that
//! datafusion-pg-catalog lists. obj_description / col_description read them
//! (statement/rules/definitions.rs), as psql's `\d+` / `\dt+`, SQLAlchemy's
//! get_table_comment and dbt's catalog do.

use super::keys::Relation;
use super::user_views::Saved;
use crate::storage::Description;
use crate::warehouse::stored_definition;
use datafusion::common::ScalarValue;

/// One description: of a table (attnum 0) or of one of its columns.
#[derive(Debug, Clone)]
pub struct Described {
    /// pg_class's OID (the class of a table's description) as this session numbers it.
    class_oid: i32,
    table_oid: i32,
    attnum: i32,
    text: String,
}

/// The descriptions of `relations` and their columns — tables' from their definitions,
/// views' from the saved set — ; `class_oid` is pg_class's OID.
pub fn declared(relations: &[Relation], saved: &Saved, class_oid: i32) -> Vec<Described> {
    let mut out = Vec::new();
    for r in relations {
        let said: &[Description] = match stored_definition(&r.provider) {
            Some(def) => def.descriptions,
            None => match saved.view(&format!("{}.{}", r.schema, r.table)) {
                Some(v) => &v.descriptions,
                None => continue,
            },
        };
        let schema = r.provider.schema();
        for d in said {
            let attnum = match &d.column {
                None => Some(0),
                Some(c) => schema.index_of(c).ok().map(|i| i as i32 + 1),
            };
            if let Some(attnum) = attnum {
                out.push(Described {
                    class_oid,
                    table_oid: r.table_oid,
                    attnum,
                    text: d.text.clone(),
                });
            }
        }
    }
    out
}

/// A pg_description value of `d`.
pub fn description_value(d: &Described, column: &str) -> Option<ScalarValue> {
    match column {
        "objoid" => Some(ScalarValue::Int32(Some(d.table_oid))),
        "classoid" => Some(ScalarValue::Int32(Some(d.class_oid))),
        "objsubid" => Some(ScalarValue::Int32(Some(d.attnum))),
        "description" => Some(ScalarValue::Utf8(Some(d.text.clone()))),
        _ => None,
    }
}
