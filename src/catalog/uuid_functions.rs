//! `uuid_in(text)` — what a cast to uuid becomes (rules/type_names.rs) — and PostgreSQL's
//! `gen_random_uuid()`, the default ORMs give uuid keys. Both answer a uuid column
//! (crate::column_types): described to clients as uuid, kept in PostgreSQL's output form.

use crate::column_types::{random_uuid, uuid_text, ColumnType};
use cip_udfs::error::sql_error;
use cip_udfs::sqlstate;
use datafusion::arrow::array::{AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, Volatility,
};
use std::sync::{Arc, LazyLock};

fn uuid_field(name: &str) -> FieldRef {
    Arc::new(ColumnType::Uuid.tag(Field::new(name, DataType::Utf8, true)))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct UuidIn {
    signature: Signature,
}

static UUID_IN_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "The text as a uuid, in PostgreSQL's output form (lower case, hyphenated); accepts \
         PostgreSQL's input forms (upper case, braces, hyphens after any four digits or none). \
         `x::uuid` and `uuid 'x'` call it. 22P02 for text that is not a uuid; NULL for NULL.",
        "uuid_in(text)",
    )
    .with_sql_example(
        "SELECT uuid_in('{A0EEBC99-9C0B4EF8-BB6D6BB9-BD380A11}'); -- a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    )
    .with_argument("text", "A uuid's text.")
    .build()
});

impl ScalarUDFImpl for UuidIn {
    fn name(&self) -> &str {
        "uuid_in"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn return_field_from_args(&self, _: ReturnFieldArgs) -> Result<FieldRef> {
        Ok(uuid_field(self.name()))
    }
    fn documentation(&self) -> Option<&Documentation> {
        Some(&UUID_IN_DOC)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [text] = args.args.as_slice() else {
            return Err(sql_error(
                sqlstate::UNDEFINED_FUNCTION,
                "uuid_in takes one argument",
            ));
        };
        let text = cast(&text.to_array(args.number_rows)?, &DataType::Utf8)?;
        let out = text
            .as_string::<i32>()
            .iter()
            .map(|v| match v {
                None => Ok(None),
                Some(v) => uuid_text(v).map(Some).ok_or_else(|| {
                    sql_error(
                        sqlstate::INVALID_TEXT_REPRESENTATION,
                        format!("invalid input syntax for type uuid: \"{v}\""),
                    )
                }),
            })
            .collect::<Result<StringArray>>()?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct GenRandomUuid {
    signature: Signature,
}

static GEN_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "A new random (version 4) uuid, another for every row.",
        "gen_random_uuid()",
    )
    .with_sql_example("CREATE TABLE t (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), n int);")
    .build()
});

impl ScalarUDFImpl for GenRandomUuid {
    fn name(&self) -> &str {
        "gen_random_uuid"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn return_field_from_args(&self, _: ReturnFieldArgs) -> Result<FieldRef> {
        Ok(uuid_field(self.name()))
    }
    fn documentation(&self) -> Option<&Documentation> {
        Some(&GEN_DOC)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let mut rng = rand::rng();
        let out: StringArray = (0..args.number_rows.max(1))
            .map(|_| Some(random_uuid(&mut rng)))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

pub fn register(ctx: &datafusion::prelude::SessionContext) {
    ctx.register_udf(ScalarUDF::from(UuidIn {
        signature: Signature::string(1, Volatility::Immutable),
    }));
    ctx.register_udf(ScalarUDF::from(GenRandomUuid {
        signature: Signature::nullary(Volatility::Volatile),
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Array;

    #[test]
    fn random_uuids_are_version_4_and_differ() {
        let ctx = datafusion::prelude::SessionContext::new();
        register(&ctx);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let batches = rt
            .block_on(async {
                let df = ctx
                    .sql("SELECT gen_random_uuid() AS u FROM (VALUES (1), (2), (3)) t(x)")
                    .await?;
                df.collect().await
            })
            .expect("runs");
        let u = batches[0].column(0).as_string::<i32>();
        assert_eq!(u.len(), 3);
        assert_ne!(u.value(0), u.value(1));
        for v in u.iter().flatten() {
            assert_eq!(uuid_text(v).as_deref(), Some(v));
            assert_eq!(&v[14..15], "4");
            assert!(matches!(&v[19..20], "8" | "9" | "a" | "b"));
        }
        assert_eq!(u.null_count(), 0);
    }
}
