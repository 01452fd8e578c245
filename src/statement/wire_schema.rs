//! A result's schema as it is described to a client. arrow-pg describes any field tagged
//! `pg.oid_alias` as that reg* / oid type and then encodes the values by their Arrow type;
//! the tag means an Int32 OID, but DataFusion keeps a column's metadata through a cast, so
//! `oid::text` was described as oid while its rows were text (asyncpg read '2200' as the
//! number 842149936) and `attrelid::bigint` as regclass with eight-byte values. A field whose
//! values are no longer an Int32 loses the tag and is described by its values.

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion_postgres::arrow_pg::datatypes::PG_OID_ALIAS_KEY;
use std::sync::Arc;

pub fn described(schema: &Schema) -> Schema {
    let fields: Vec<Arc<Field>> = schema
        .fields()
        .iter()
        .map(|f| {
            if f.data_type() == &DataType::Int32 || !f.metadata().contains_key(PG_OID_ALIAS_KEY) {
                return f.clone();
            }
            let mut metadata = f.metadata().clone();
            metadata.remove(PG_OID_ALIAS_KEY);
            Arc::new(f.as_ref().clone().with_metadata(metadata))
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn tagged(name: &str, t: DataType) -> Field {
        let kind = HashMap::from([(PG_OID_ALIAS_KEY.to_string(), "regclass".to_string())]);
        Field::new(name, t, true).with_metadata(kind)
    }

    #[test]
    fn only_int32_fields_keep_the_oid_tag() {
        let schema = Schema::new(vec![
            tagged("attrelid", DataType::Int32),
            tagged("as_text", DataType::Utf8),
            tagged("as_bigint", DataType::Int64),
            Field::new("plain", DataType::Int32, true),
        ]);
        let out = described(&schema);
        let tagged: Vec<bool> = out
            .fields()
            .iter()
            .map(|f| f.metadata().contains_key(PG_OID_ALIAS_KEY))
            .collect();
        assert_eq!(tagged, [true, false, false, false]);
        assert_eq!(out.field(1).data_type(), &DataType::Utf8);
    }
}
